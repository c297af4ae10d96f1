"""Ordering a new line: pick a plan and a number, have the identity check
approved, pay, then follow the eSIM being prepared to the install page. A
request is shown only to the customer who made it: anyone else gets a 404."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.views import AuthenticatedRequest
from subscriptions.errors import CustomerError
from subscriptions.forms.checkout import HostedPaymentForm
from subscriptions.models import OrderStatus
from subscriptions.services import new_lines


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 10 else 0


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def new_line_start(request: AuthenticatedRequest) -> HttpResponse:
    """The plans on sale and the numbers offered to this customer."""
    error = ""
    chosen = {"plan": _int(request.POST.get("plan")), "number": _int(request.POST.get("number"))}
    if request.method == "POST":
        try:
            made = new_lines.new_line_request_create(
                owner=request.user, plan_id=chosen["plan"], number_id=chosen["number"]
            )
            return redirect("new_line_detail", public_id=made.public_id)
        except CustomerError as refused:
            error = str(refused)
    context = {
        "plans": new_lines.new_line_plans(),
        "numbers": new_lines.numbers_offer(user=request.user),
        "chosen": chosen,
        "error": error,
        "offer_minutes": settings.NEW_LINE_OFFER_MINUTES,
    }
    return render(request, "subscriptions/new_line_start.html", context, status=400 if error else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def new_line_detail(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Where the new line stands, and the payment once the identity check
    is approved."""
    wanted = new_lines.new_line_request_get_owned(user=request.user, public_id=public_id)
    form = HostedPaymentForm(request.POST) if request.method == "POST" else HostedPaymentForm.for_customer(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            order = new_lines.new_line_checkout(
                request=wanted,
                billing=form.billing,
                idempotency_key=form.cleaned_data["idempotency_key"],
                site_url=request.build_absolute_uri("/").rstrip("/"),
                method=form.cleaned_data["method"],
            )
            if order.status == OrderStatus.PENDING and order.provider_url:
                return redirect(order.provider_url)
            return redirect("new_line_detail", public_id=wanted.public_id)
        except CustomerError as error:
            form.add_error(None, str(error))
    paid = new_lines.new_line_paid_order(request=wanted)
    context = {
        "wanted": wanted,
        "form": form,
        "approved": new_lines.new_line_identity_approved(owner=request.user),
        "identity_pending": new_lines.new_line_identity_pending(owner=request.user),
        "paid": paid,
        "job": new_lines.new_line_job(request=wanted),
        "vipps_offered": bool(settings.VIPPS_PAYMENT_PROVIDER),
    }
    return render(request, "subscriptions/new_line_detail.html", context)
