"""Redeeming a voucher (充值卡) for a line. The line is fetched only if the
signed-in customer holds it: anyone else gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.orders import CLOSED
from subscriptions.services.vouchers import voucher_redeem
from subscriptions.voucher_forms import VoucherRedeemForm


def client_ip(request: HttpRequest) -> str | None:
    """The address the voucher throttle counts by.

    REMOTE_ADDR is the peer of this process. In production we sit behind one
    proxy, so unless the proxy (or gunicorn) puts the customer's address
    there, every customer shares the proxy's address and the per-IP limit
    becomes a limit for the whole site: the deployment must pass the client
    address through, and this is the one place to read it differently."""
    return request.META.get("REMOTE_ADDR") or None


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
    context = {"line": line, "form": form, "balance_ore": ledger_balance(line=line), "closed": line.status in CLOSED}
    return render(request, "subscriptions/voucher_redeem.html", context)
