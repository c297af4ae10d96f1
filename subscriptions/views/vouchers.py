"""Redeeming a voucher (充值卡) for a line. The line is fetched only if the
signed-in customer holds it: anyone else gets a 404."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.forms.vouchers import VoucherRedeemForm
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import voucher_redeem


def client_ip(request: HttpRequest) -> str | None:
    """The address the guessing limits (vouchers, promotion codes) count by:
    the customer's, as allauth finds it for its own sign-in limits. Behind
    the TLS proxy REMOTE_ADDR is the proxy, so the address comes from the
    X-Forwarded-For entry the trusted proxies added
    (ALLAUTH_TRUSTED_PROXY_COUNT); with none trusted the header is ignored,
    since a client can write anything in it. None if there is no address."""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None


@login_required
@sensitive_post_parameters("code")  # an unused code is as good as money: kept out of error reports
@require_http_methods(["GET", "POST"])
def redeem(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """The code for a line; on success back to the line with what was
    credited, otherwise the reason on this page."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    form = VoucherRedeemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            redemption = voucher_redeem(
                user=request.user, line=line, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except CustomerError as error:
            form.add_error("code", str(error))
        else:
            messages.success(request, redemption.message)
            return redirect(reverse("line_detail", args=[line.pk]))
    context = {"line": line, "form": form, "balance_ore": ledger_balance(line=line), "closed": line.is_closed}
    return render(request, "subscriptions/voucher_redeem.html", context)
