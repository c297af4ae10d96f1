"""Replacement eSIM pages: choosing the reason from the line, the identity
code, the fee, the status page with its timeline, and the stop link from the
notice (which works without a sign-in). Every signed-in view fetches the line
or request only if the customer holds it: anyone else gets a 404."""

from __future__ import annotations

import uuid

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_nok
from subscriptions.forms.replacements import ReplacementCodeForm, ReplacementFeeForm, ReplacementReasonForm
from subscriptions.models import OrderStatus, ReplacementRequest
from subscriptions.services.checkout import order_place, replacement_fee_request
from subscriptions.services.replacements import (
    replacement_code_check,
    replacement_code_send,
    replacement_request,
    replacement_stop,
    replacement_stop_by_link,
    replacement_stop_link_language,
    replacement_stop_token_read,
)


@login_required
@require_http_methods(["GET", "POST"])
def replacement_start(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Choose why a new eSIM is needed; an open request is shown instead."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    open_request = selectors.line_open_replacement(line=line)
    if open_request is not None and request.method == "GET":
        return redirect("replacement_detail", public_id=open_request.public_id)
    form = ReplacementReasonForm(request.POST) if request.method == "POST" else ReplacementReasonForm.fresh()
    if form.is_valid():
        try:
            replacement = replacement_request(
                line=line,
                by=request.user,
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except CustomerError as error:
            form.add_error(None, str(error))
        else:
            return redirect("replacement_detail", public_id=replacement.public_id)
    context = {"line": line, "form": form, "fee": format_nok(settings.REPLACEMENT_FEE_ORE)}
    return render(request, "subscriptions/replacement_start.html", context)


@login_required
@require_GET
def replacement_detail(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """The request's status page: its timeline and the step it waits for."""
    replacement = selectors.replacement_get_owned(user=request.user, public_id=public_id)
    return _detail_page(request, replacement, code_form=None, fee_form=None)


def _detail_page(
    request: AuthenticatedRequest,
    replacement: ReplacementRequest,
    *,
    code_form: ReplacementCodeForm | None,
    fee_form: ReplacementFeeForm | None,
) -> HttpResponse:
    context = {
        "replacement": replacement,
        "line": replacement.line,
        "timeline": selectors.replacement_timeline(replacement),
        "code_form": code_form or ReplacementCodeForm(),
        "fee_form": fee_form or ReplacementFeeForm.for_customer(request.user),
        "code_sent": replacement.code_expires_at is not None,
        "esim_installed": replacement.unblocked_at is not None and selectors.replacement_esim_installed(replacement),
        "vipps_offered": bool(settings.VIPPS_PAYMENT_PROVIDER),
    }
    return render(request, "subscriptions/replacement_detail.html", context)


@login_required
@reauthentication_required
@require_POST
def replacement_code_request(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Email an identity code to the account; a sign-in within the last few
    minutes comes first (allauth's reauthentication)."""
    replacement = selectors.replacement_get_owned(user=request.user, public_id=public_id)
    try:
        replacement_code_send(replacement=replacement)
    except CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("We have emailed you a code. Enter it below."))
    return redirect("replacement_detail", public_id=replacement.public_id)


@login_required
@reauthentication_required
@require_POST
def replacement_code_enter(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    replacement = selectors.replacement_get_owned(user=request.user, public_id=public_id)
    form = ReplacementCodeForm(request.POST)
    if form.is_valid():
        try:
            replacement_code_check(replacement=replacement, code=form.cleaned_data["code"])
        except CustomerError as error:
            form.add_error("code", str(error))
        else:
            return redirect("replacement_detail", public_id=replacement.public_id)
    replacement.refresh_from_db()
    return _detail_page(request, replacement, code_form=form, fee_form=None)


@login_required
@require_POST
def replacement_pay(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Pay the fee through the checkout (an order of its own kind)."""
    replacement = selectors.replacement_get_owned(user=request.user, public_id=public_id)
    form = ReplacementFeeForm(request.POST)
    if form.is_valid():
        try:
            order = order_place(
                owner=request.user,
                request=replacement_fee_request(replacement=replacement, method=form.cleaned_data["method"]),
                billing=form.billing,
                idempotency_key=form.cleaned_data["idempotency_key"],
                site_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except CustomerError as error:
            form.add_error(None, str(error))
        else:
            if order.status == OrderStatus.PENDING and order.provider_url:
                return redirect(order.provider_url)
            return redirect("order_detail", public_id=order.public_id)
    return _detail_page(request, replacement, code_form=None, fee_form=form)


@login_required
@require_POST
def replacement_cancel(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    replacement = selectors.replacement_get_owned(user=request.user, public_id=public_id)
    try:
        replacement_stop(replacement=replacement, by=request.user, why="stopped by the customer")
    except CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The replacement is stopped. Your current eSIM stays as it is."))
    return redirect("replacement_detail", public_id=replacement.public_id)


@never_cache
@require_http_methods(["GET", "POST"])
def replacement_stop_link(request: HttpRequest, token: str) -> HttpResponse:
    """The stop link from the notice: a page with one button (a link
    preview or a mail scanner fetching the address stops nothing), then the
    request is stopped. No sign-in: the phone may be in someone else's hands.
    The page speaks the account owner's language, as the notice did."""
    language = replacement_stop_link_language(token) or translation.get_language()
    with translation.override(language):
        error = ""
        stopped = False
        try:
            if request.method == "POST":
                replacement_stop_by_link(token=token)
                stopped = True
            else:
                replacement_stop_token_read(token)
        except CustomerError as refusal:
            error = str(refusal)
        status = 400 if error and request.method == "POST" else 200
        context = {"error": error, "stopped": stopped}
        response = render(request, "subscriptions/replacement_stop.html", context, status=status)
    response.headers["Content-Language"] = language
    return response
