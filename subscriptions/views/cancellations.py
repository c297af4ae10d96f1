"""Cancellation pages: the request form on the line (after a fresh
sign-in), the request's status page with its timeline, withdrawing it, and
the credit note of a refunded balance. Every view fetches the line or
request only if the customer holds it: anyone else gets a 404."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauthentication import reauthentication_response
from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.credit_note_pdf import credit_note_pdf
from subscriptions.errors import CustomerError
from subscriptions.forms.cancellations import CancellationForm
from subscriptions.services.cancellations import cancellation_decide_by, cancellation_request, cancellation_withdraw
from subscriptions.services.ledger import ledger_balance


@login_required
@require_http_methods(["GET", "POST"])
def cancellation_start(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """What cancelling means and the request's form, after a fresh sign-in;
    an open request (or the one that cancelled the line) is shown instead.
    Someone else's line is a 404 before any sign-in is asked for."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
        return reauthenticate
    current = selectors.line_cancellation(line=line)
    if current is not None and (current.is_open or line.is_closed) and request.method == "GET":
        return redirect("cancellation_detail", public_id=current.public_id)
    balance = ledger_balance(line=line)
    if request.method == "POST":
        form = CancellationForm(request.POST, balance_ore=balance)
    else:
        form = CancellationForm.fresh(balance_ore=balance)
    if form.is_valid():
        try:
            data = form.cleaned_data
            cancellation = cancellation_request(
                line=line,
                by=request.user,
                reason=data["reason"],
                balance_choice=data["balance_choice"],
                refund_account=data["refund_account"],
                idempotency_key=data["idempotency_key"],
            )
        except CustomerError as error:
            form.add_error(None, str(error))
        else:
            return redirect("cancellation_detail", public_id=cancellation.public_id)
    context = {
        "line": line,
        "form": form,
        "balance_ore": balance,
        "decide_by": cancellation_decide_by(requested_at=timezone.now()),
        "grace_days": settings.CANCELLATION_GRACE_DAYS,
    }
    return render(request, "subscriptions/cancellation_start.html", context)


@login_required
@require_GET
def cancellation_detail(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """The request's status page: its timeline and the step it waits for."""
    cancellation = selectors.cancellation_get_owned(user=request.user, public_id=public_id)
    context = {
        "cancellation": cancellation,
        "line": cancellation.line,
        "timeline": selectors.cancellation_timeline(cancellation),
        "credit_note": getattr(cancellation, "credit_note", None),
    }
    return render(request, "subscriptions/cancellation_detail.html", context)


@login_required
@require_POST
def cancellation_withdraw_view(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    cancellation = selectors.cancellation_get_owned(user=request.user, public_id=public_id)
    try:
        cancellation_withdraw(cancellation=cancellation, by=request.user)
    except CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your cancellation request is withdrawn. The line stays as it was."))
    return redirect("cancellation_detail", public_id=cancellation.public_id)


@login_required
@require_GET
def credit_note_download(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    note = selectors.credit_note_get_owned(user=request.user, public_id=public_id)
    response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="credit-note-{note.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
