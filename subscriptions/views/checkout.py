"""Buying: the plan catalogue, renewing a line, topping up its balance, and
the page that says how the payment went. Every view fetches the line or
order only if the signed-in customer holds it: anyone else gets a 404."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.forms.checkout import RenewalForm, TopUpForm
from subscriptions.models import EventResult, OrderStatus, PaymentMethod, Plan
from subscriptions.models.plans import vat_inside
from subscriptions.payments import decline_message
from subscriptions.services.checkout import CANCELLED_MARK, OrderRequest, order_place, renewal_request, topup_request
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.promotions import PromoError, Quote, promo_check
from subscriptions.services.reconcile import order_cancel
from subscriptions.services.settlement import order_refresh
from subscriptions.views.vouchers import client_ip

# How often the result page of a pending payment first asks for the order's
# status, in seconds (its script asks less often as the wait grows).
PENDING_POLL_SECONDS = 3
# Where a renewal's step indicator stands for each order status, and whether
# the payment stopped there: one still open is in step 2; one declined or
# abandoned ends in a step of its own, never "Done".
RESULT_STEPS: dict[str, tuple[int, bool]] = {
    OrderStatus.PENDING: (2, False),
    OrderStatus.PAID: (3, False),
    OrderStatus.DECLINED: (3, True),
    OrderStatus.ABANDONED: (3, True),
}


@require_GET
def plan_catalogue(request: HttpRequest) -> HttpResponse:
    """Every plan on sale, for anyone (no sign-in needed)."""
    plans = selectors.plans_on_sale()
    context = {"plans": plans, "plans_version": selectors.plans_version(plans)}
    return render(request, "subscriptions/plan_catalogue.html", context)


@login_required
@require_GET
def renew(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Step 1: choose a plan for the line. The line's current plan comes
    first, marked as the customer's; a plan no longer sold is named so the
    customer knows why it is missing."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    choice = selectors.renewal_plans(line=line)
    context = {
        "line": line,
        "plans": choice.plans,
        "current": choice.current,
        "withdrawn": choice.withdrawn,
        "closed": line.is_closed and not line.can_reactivate(),
        # Renewing by hand on top of auto-renew buys a second period: said
        # before the customer pays twice by mistake (a Vipps MobilePay charge
        # waits days for its due date).
        "auto_renew": selectors.line_auto_renew(line=line),
    }
    return render(request, "subscriptions/renew.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def renew_checkout(request: AuthenticatedRequest, line_id: int, plan_code: str) -> HttpResponse:
    """Steps 2 and 3: confirm name and address, apply a promotion code (the
    discount is shown before paying), choose how to pay, pay."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    plan = get_object_or_404(Plan, code=plan_code, kind=line.kind, is_active=True)
    balance = ledger_balance(line=line)
    quote = None
    if request.method == "POST":
        form = RenewalForm(request.POST)
        if form.is_valid():
            # A form sent again finds its order: its code was taken and its
            # balance spent by the first send, so neither is checked again.
            sent_before = "apply" not in request.POST and selectors.order_exists_for_checkout(
                user=request.user, idempotency_key=form.cleaned_data["idempotency_key"]
            )
            quote = None if sent_before else _quote(request, form, plan)
            total = quote.total_ore if quote else plan.price_ore
            if form.cleaned_data["method"] == PaymentMethod.BALANCE and balance < total and not sent_before:
                form.add_error(
                    "method", _("The prepaid balance does not cover the price. Pay by card or top up first.")
                )
        if form.is_valid() and "apply" not in request.POST:
            try:
                wanted = renewal_request(
                    line=line, plan=plan, method=form.cleaned_data["method"], promo_code=form.cleaned_data["promo_code"]
                )
                return _place(request, wanted, form)
            except PromoError as error:
                form.add_error("promo_code", str(error))
            except CustomerError as error:
                form.add_error(None, str(error))
    else:
        form = RenewalForm.for_customer(request.user)
    total = quote.total_ore if quote else plan.price_ore
    current = selectors.line_current_plan(line=line)
    context = {
        "line": line,
        "plan": plan,
        "is_current_plan": current is not None and current.pk == plan.pk,
        "current_plan": current,
        "form": form,
        "quote": quote,
        "total_ore": total,
        "vat_ore": vat_inside(total),
        "net_ore": total - vat_inside(total),
        "balance_ore": balance,
        "balance_covers": balance >= total,
        "vipps_offered": bool(settings.VIPPS_PAYMENT_PROVIDER),
    }
    return render(request, "subscriptions/renew_checkout.html", context)


def _quote(request: AuthenticatedRequest, form: RenewalForm, plan: Plan) -> Quote | None:
    """The promotion code's discount, or its error on the form (guesses
    are limited per customer and address, as for vouchers)."""
    code = form.cleaned_data["promo_code"]
    if not code:
        return None
    try:
        return promo_check(code=code, user=request.user, plan=plan, ip_address=client_ip(request))
    except PromoError as error:
        form.add_error("promo_code", str(error))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def top_up(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Add money to the line's prepaid balance by card."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    if request.method == "POST":
        form = TopUpForm(request.POST)
        if form.is_valid():
            try:
                wanted = topup_request(line=line, amount_ore=form.amount_ore, method=form.cleaned_data["method"])
                return _place(request, wanted, form)
            except CustomerError as error:
                form.add_error(None, str(error))
    else:
        form = TopUpForm.for_customer(request.user)
    context = {
        "line": line,
        "form": form,
        "balance_ore": ledger_balance(line=line),
        "closed": line.is_closed,
        "vipps_offered": bool(settings.VIPPS_PAYMENT_PROVIDER),
    }
    return render(request, "subscriptions/top_up.html", context)


def _place(request: AuthenticatedRequest, wanted: OrderRequest, form: RenewalForm | TopUpForm) -> HttpResponse:
    """Place the order (or find it again) and send the browser on: to the
    provider's page while the payment is open, else to the result."""
    order = order_place(
        owner=request.user,
        request=wanted,
        billing=form.billing,
        idempotency_key=form.cleaned_data["idempotency_key"],
        site_url=request.build_absolute_uri("/").rstrip("/"),
        on_phone=_on_phone(request),
    )
    if order.status == OrderStatus.PENDING and order.provider_url:
        return redirect(order.provider_url)
    return redirect("order_detail", public_id=order.public_id)


def _on_phone(request: HttpRequest) -> bool:
    """Whether the browser is a phone's (Vipps then opens its app directly).
    The client hint where the browser sends it, else the user agent."""
    hint = request.headers.get("Sec-CH-UA-Mobile", "")
    if hint:
        return hint == "?1"
    agent = request.headers.get("User-Agent", "")
    return "Mobi" in agent or "Android" in agent or "iPhone" in agent


@login_required
@require_GET
def order_return(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Where the provider sends the browser back. The browser's word proves
    nothing: ask the provider how the payment stands, then show the result.
    Back by the provider's cancel link, the payment is closed as well."""
    order = selectors.order_get_owned(user=request.user, public_id=public_id)
    if CANCELLED_MARK in request.GET:
        order_cancel(order=order)
    else:
        order_refresh(order=order)
    return redirect("order_detail", public_id=order.public_id)


@login_required
@require_GET
def order_detail(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """What is bought, for which line and how much, and how the payment
    went: paid (with the new expiry), declined (with why), still pending
    (its script asks for the status; a link asks without it) or abandoned."""
    order = selectors.order_get_owned(user=request.user, public_id=public_id)
    step, stopped = RESULT_STEPS[order.status]
    context = {
        "order": order,
        "line": order.line,
        "receipt": getattr(order, "receipt", None),
        "reason": decline_message(order.decline_reason) if order.decline_reason else "",
        # Why Vipps MobilePay did not take the payment (rejected, expired, stopped).
        "vipps_reason": decline_message(order.decline_reason) if order.decline_reason.startswith("vipps_") else "",
        "refund_due": order.payment_events.filter(result=EventResult.REFUND_DUE).exists(),
        "poll_seconds": PENDING_POLL_SECONDS,
        "step": step,
        "stopped": stopped,
    }
    return render(request, "subscriptions/order_detail.html", context)


@never_cache
@login_required
@require_GET
def order_status(request: AuthenticatedRequest, public_id: uuid.UUID) -> JsonResponse:
    """The order's status alone, for the result page's script; never cached,
    as it is asked again until it changes."""
    return JsonResponse({"status": selectors.order_status_owned(user=request.user, public_id=public_id)})
