"""Reads for the replacement pages: a customer's own request, its timeline,
the open requests the dashboard links to, and a line's last SIM change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, OuterRef, Q, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.models import EsimProfile, EsimState, Line, ReplacementRequest, ReplacementStatus
from subscriptions.models.replacements import OPEN_STATUSES

__all__ = [
    "LineReplacements",
    "TimelineStep",
    "line_last_sim_change",
    "line_open_replacement",
    "line_replacements",
    "replacement_esim_installed",
    "replacement_get_owned",
    "replacement_timeline",
    "replacements_open",
]

S = ReplacementStatus


def replacement_get_owned(*, user: User, public_id: uuid.UUID) -> ReplacementRequest:
    """The request if ``user`` holds its line; Http404 otherwise."""
    try:
        return ReplacementRequest.objects.select_related("line", "requested_by").get(
            public_id=public_id, line__owner=user
        )
    except ReplacementRequest.DoesNotExist:
        raise Http404("No such replacement request") from None


def replacements_open(*, user: User) -> list[ReplacementRequest]:
    """The customer's open requests, for the dashboard."""
    return list(
        ReplacementRequest.objects.filter(line__owner=user, status__in=OPEN_STATUSES)
        .select_related("line")
        .order_by("-requested_at")
    )


def line_open_replacement(*, line: Line) -> ReplacementRequest | None:
    return ReplacementRequest.objects.filter(line=line, status__in=OPEN_STATUSES).first()


def line_last_sim_change(*, line: Line) -> datetime | None:
    """When the line's latest replacement was fulfilled (None: never here)."""
    found: datetime | None = ReplacementRequest.objects.filter(line=line, status=S.FULFILLED).aggregate(
        last=Max("fulfilled_at")
    )["last"]
    return found


@dataclass(frozen=True)
class LineReplacements:
    open: ReplacementRequest | None
    last_sim_change: datetime | None


def line_replacements(*, line: Line) -> LineReplacements:
    """The line's open request and its last SIM change, in one query: the
    open request and the latest fulfilled one (at most two rows)."""
    latest_fulfilled = (
        ReplacementRequest.objects.filter(line=OuterRef("line"), status=S.FULFILLED)
        .order_by("-fulfilled_at")
        .values("pk")[:1]
    )
    rows = list(
        ReplacementRequest.objects.filter(line=line).filter(
            Q(status__in=OPEN_STATUSES) | Q(pk=Subquery(latest_fulfilled))
        )
    )
    open_request = next((row for row in rows if row.status in OPEN_STATUSES), None)
    fulfilled = next((row for row in rows if row.status == S.FULFILLED), None)
    return LineReplacements(open=open_request, last_sim_change=fulfilled.fulfilled_at if fulfilled else None)


@dataclass(frozen=True)
class TimelineStep:
    key: str
    label: str
    at: datetime | None
    state: str  # "done", "current", "todo" or "stopped"


def replacement_timeline(replacement: ReplacementRequest) -> list[TimelineStep]:
    """The steps a customer sees, each done (with its moment), current or to
    come; a stopped, rejected or failed request ends with that step."""
    r = replacement
    identity_done = r.identity_checked_at is not None
    if not identity_done and r.status == S.REVIEW:
        # A lost phone's document is with support: nothing is checked yet.
        identity_label = _("Identity check: waiting for support review")
    else:
        identity_label = _("Identity checked")
    steps: list[tuple[str, str, datetime | None, bool]] = [
        ("requested", _("Requested"), r.requested_at, True),
        ("identity", identity_label, r.identity_checked_at, identity_done),
    ]
    if r.fee_ore:
        steps.append(("paid", _("Paid"), r.paid_at, r.paid_at is not None))
    if r.cooling_off_until is not None or (not r.review_cause and r.status not in (S.STOPPED, S.REJECTED, S.FAILED)):
        passed = r.ready_at is not None
        steps.append(("cooling_off", _("Cooling-off hour"), r.cooling_off_until, passed))
    # Prepared and ready to install come from the fulfilment; installed
    # from the new profile's download notification.
    steps += [
        ("prepared", _("eSIM prepared"), r.fulfilled_at, r.fulfilled_at is not None),
        ("ready_to_install", _("Ready to install"), r.fulfilled_at, r.fulfilled_at is not None),
        ("installed", _("Installed"), None, False),
    ]
    result: list[TimelineStep] = []
    closed = r.status in (S.STOPPED, S.REJECTED, S.FAILED)
    current_given = False
    for key, label, at, done in steps:
        if done:
            result.append(TimelineStep(key, label, at, "done"))
        elif closed:
            break
        elif not current_given:
            result.append(TimelineStep(key, label, at, "current"))
            current_given = True
        else:
            result.append(TimelineStep(key, label, None, "todo"))
    if closed:
        result.append(TimelineStep(r.status, r.get_status_display(), r.closed_at, "stopped"))
        if r.unblocked_at is not None:
            result.append(TimelineStep("unblocked", _("Number unblocked"), r.unblocked_at, "done"))
        elif r.unblock_requested_at is not None:
            result.append(TimelineStep("unblocked", _("Number being unblocked"), None, "current"))
    return result


def replacement_esim_installed(replacement: ReplacementRequest) -> bool:
    """Whether the request's line has an eSIM installed on a phone (after
    support unblocked a stopped request's number, it works there)."""
    return EsimProfile.objects.filter(line=replacement.line_id, state=EsimState.INSTALLED).exists()
