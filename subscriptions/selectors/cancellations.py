"""Reads for the cancellation pages: a customer's own request and credit
note, the request's timeline, the open requests the dashboard links to, and
what the line page says about a cancellation."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.models import CancellationRequest, CancellationStatus, CreditNote, Line
from subscriptions.models.cancellations import OPEN_STATUSES
from subscriptions.selectors.replacements import TimelineStep

__all__ = [
    "cancellation_get_owned",
    "cancellation_timeline",
    "cancellations_open",
    "credit_note_get_owned",
    "line_cancellation",
]

S = CancellationStatus


def cancellation_get_owned(*, user: User, public_id: uuid.UUID) -> CancellationRequest:
    """The request if ``user`` holds its line; Http404 otherwise."""
    try:
        return CancellationRequest.objects.select_related("line", "identity_document").get(
            public_id=public_id, line__owner=user
        )
    except CancellationRequest.DoesNotExist:
        raise Http404("No such cancellation request") from None


def credit_note_get_owned(*, user: User, public_id: uuid.UUID) -> CreditNote:
    """The credit note of the customer's own request; Http404 otherwise."""
    try:
        return CreditNote.objects.select_related("cancellation").get(cancellation__public_id=public_id, owner=user)
    except CreditNote.DoesNotExist:
        raise Http404("No such credit note") from None


def cancellations_open(*, user: User) -> list[CancellationRequest]:
    """The customer's open requests, for the dashboard."""
    return list(
        CancellationRequest.objects.filter(line__owner=user, status__in=OPEN_STATUSES)
        .select_related("line")
        .order_by("-requested_at")
    )


def line_cancellation(*, line: Line) -> CancellationRequest | None:
    """The line's open request, or else its latest finished one (the line
    page says until when a cancelled line can come back)."""
    return (
        CancellationRequest.objects.filter(line=line, status__in=[*OPEN_STATUSES, S.DONE])
        .order_by("-requested_at", "-id")
        .first()
    )


def cancellation_timeline(cancellation: CancellationRequest) -> list[TimelineStep]:
    """The steps a customer sees, each done (with its moment), current or to
    come; a withdrawn, rejected or failed request ends with that step."""
    c = cancellation
    steps: list[tuple[str, str, datetime | None, bool]] = [
        ("requested", _("Requested"), c.requested_at, True),
        ("document", _("Identity document received"), c.document_at, c.document_at is not None),
        ("identity", _("Identity checked"), c.identity_checked_at, c.identity_checked_at is not None),
        ("approved", _("Approved by support"), c.approved_at, c.approved_at is not None),
        ("deactivated", _("Number and eSIM deactivated"), c.line_cancelled_at, c.line_cancelled_at is not None),
        ("balance", _("Balance settled"), c.balance_settled_at, c.balance_settled_at is not None),
        ("done", _("Cancelled, confirmation emailed"), c.done_at, c.done_at is not None),
    ]
    if c.reactivated_at is not None:
        steps.append(("reactivated", _("Reactivated"), c.reactivated_at, True))
    result: list[TimelineStep] = []
    closed = c.status in (S.WITHDRAWN, S.REJECTED)
    current_given = False
    for key, label, at, done in steps:
        if done:
            result.append(TimelineStep(key, label, at, "done"))
        elif closed:
            break
        elif not current_given:
            state = "stopped" if c.status == S.FAILED else "current"
            result.append(TimelineStep(key, label, None, state))
            current_given = True
        else:
            result.append(TimelineStep(key, label, None, "todo"))
    if closed:
        result.append(TimelineStep(c.status, c.get_status_display(), c.closed_at, "stopped"))
    return result
