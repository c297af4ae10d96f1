"""What "My eSIM" shows about a line's eSIM profile: which one is in use, in
which state since when, and whether its activation code may be shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.models import EsimConfirmationCode, EsimProfile, EsimState, Line
from subscriptions.selectors.lines import line_get_owned

# A profile assigned to a line and not yet installed can be downloaded:
# ASSIGNED from stock, RELEASED once the SM-DP+ has released it.
READY_STATES = frozenset({EsimState.ASSIGNED, EsimState.RELEASED})
IN_USE_STATES = READY_STATES | {EsimState.INSTALLED}

STATE_LABELS = {
    EsimState.ASSIGNED: _("Ready to install"),
    EsimState.RELEASED: _("Ready to install"),
    EsimState.INSTALLED: _("Installed"),
    EsimState.DISABLED: _("Disabled"),
}


@dataclass(frozen=True)
class LineEsim:
    """A line and the eSIM profile in use on it (None if it has none)."""

    line: Line
    profile: EsimProfile | None

    @property
    def iccid_last4(self) -> str:
        return self.profile.iccid[-4:] if self.profile else ""

    @property
    def state(self) -> str:
        if self.profile is None:
            return ""
        return "ready" if self.profile.state in READY_STATES else str(self.profile.state)

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(EsimState(self.profile.state), "")) if self.profile else ""

    @property
    def since(self) -> datetime | None:
        return self.profile.state_changed_at if self.profile else None

    @property
    def installable(self) -> bool:
        """The code may be shown: a profile ready to download on a line that
        is not closed. An installed profile's code is never shown again."""
        return self.profile is not None and self.profile.state in READY_STATES and not self.line.is_closed


def line_esim(*, line: Line) -> LineEsim:
    """The profile in use on ``line``: a ready or installed one first, else the
    last one disabled; the latest assigned among equals. One query."""
    rank = Case(When(state__in=IN_USE_STATES, then=Value(0)), default=Value(1), output_field=IntegerField())
    profile = (
        EsimProfile.objects.filter(line=line, state__in=IN_USE_STATES | {EsimState.DISABLED})
        .order_by(rank, "-assigned_at", "-id")
        .first()
    )
    return LineEsim(line=line, profile=profile)


def line_esim_get_owned(*, user: User, line_id: int) -> LineEsim:
    """``line_esim`` of a line ``user`` holds; Http404 for any other. Two queries."""
    return line_esim(line=line_get_owned(user=user, line_id=line_id))


def esim_confirmation_code_sent(*, profile: EsimProfile) -> EsimConfirmationCode | None:
    """When and to where the profile's confirmation code was emailed, if it was."""
    return (
        EsimConfirmationCode.objects.filter(profile=profile)
        .exclude(sent_at=None)
        .only("sent_to", "sent_at", "profile")
        .first()
    )
