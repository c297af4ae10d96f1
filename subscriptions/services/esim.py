"""eSIM profiles' state changes, each with an audit row on the line."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from subscriptions.models import EsimProfile, EsimState
from subscriptions.services.audit import audit_record

# A profile the SM-DP+ may report installed: given to a line, or released
# for download.
INSTALLABLE = (EsimState.ASSIGNED, EsimState.RELEASED)


@transaction.atomic
def esim_profile_installed(*, iccid: str, at: datetime) -> bool:
    """The SM-DP+ says the profile is installed on a phone: move it to
    INSTALLED once, as of ``at`` (never later than now), with an audit row
    on its line. A conditional update from the state read decides it, so
    of two notifications at once exactly one moves it. False when nothing
    changed: a repeat, a profile of no line, or one in another state."""
    profile = EsimProfile.objects.select_related("line").filter(iccid=iccid).first()
    if profile is None or profile.line is None or profile.state not in INSTALLABLE:
        return False
    at = min(at, timezone.now())
    moved = EsimProfile.objects.filter(pk=profile.pk, state=profile.state, line=profile.line).update(
        state=EsimState.INSTALLED, state_changed_at=at
    )
    if moved != 1:
        return False
    audit_record(
        line=profile.line,
        action="esim_installed",
        by=None,
        from_status=profile.state,
        to_status=EsimState.INSTALLED,
        data={"iccid": iccid, "installed_at": at.isoformat()},
    )
    return True
