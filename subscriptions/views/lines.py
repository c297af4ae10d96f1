"""The line page (a summary with the line's actions), its usage history,
its spending and balance page, and the low-balance alert form. Every view
fetches the line only if the signed-in customer holds it: anyone else gets a
404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.forms.lines import LowBalanceThresholdForm, UsageFilterForm
from subscriptions.selectors.esim_install import line_esim
from subscriptions.selectors.suspensions import line_suspension
from subscriptions.services.cancellations import CANCELLABLE
from subscriptions.services.lines import line_set_low_balance_threshold

SPENDING_MONTHS = 12

LEDGER_ROWS = 20
# The usage history's filter and paging: a line page address that carries
# them (a bookmark, a link in a mail) is sent on to the usage history.
USAGE_QUERY = ("kind", "month", "page")


@login_required
@require_GET
def line_detail(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    if any(name in request.GET for name in USAGE_QUERY):
        line = selectors.line_get_owned(user=request.user, line_id=line_id)
        return redirect(f"{reverse('line_usage', args=[line.pk])}?{request.GET.urlencode()}", permanent=True)
    return _line_page(request, line_id, threshold_form=None)


@login_required
@require_GET
def line_usage(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """The usage history, paged, by kind and month; a bad filter is shown
    as an error above the unfiltered history."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    usage_filter = UsageFilterForm(request.GET or None)
    kind, month = usage_filter.filters()
    context = {
        "line": line,
        "usage": selectors.line_usage_page(line=line, kind=kind, month=month, page=request.GET.get("page", 1)),
        "usage_filter": usage_filter,
    }
    return render(request, "subscriptions/line_usage.html", context)


@login_required
@require_GET
def line_spending(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """The balance, spending by month and the latest movements on the balance."""
    line = selectors.line_with_balance_get_owned(user=request.user, line_id=line_id)
    context = {
        "line": line,
        "can_top_up": not line.is_closed,
        "spending": selectors.line_spending_by_month(line=line, months=SPENDING_MONTHS),
        "ledger": selectors.line_ledger(line=line, limit=LEDGER_ROWS),
    }
    return render(request, "subscriptions/line_spending.html", context)


@login_required
@require_POST
def line_low_balance_threshold(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Set or clear the alert; bad input comes back on the line page."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    form = LowBalanceThresholdForm(request.POST)
    if form.is_valid():
        try:
            line_set_low_balance_threshold(line=line, threshold_ore=form.threshold_ore, by=request.user)
        except CustomerError as error:
            form.add_error("amount", str(error))
        else:
            if form.threshold_ore is None:
                messages.success(request, _("The low-balance alert is off."))
            else:
                messages.success(request, _("Your low-balance alert is saved."))
            return redirect(reverse("line_detail", args=[line.pk]) + "#low-balance")
    return _line_page(request, line_id, threshold_form=form)


def _line_page(
    request: AuthenticatedRequest, line_id: int, *, threshold_form: LowBalanceThresholdForm | None
) -> HttpResponse:
    detail = selectors.line_detail(user=request.user, line_id=line_id)
    auto_renew = selectors.line_auto_renew(line=detail.line)
    context = {
        "detail": detail,
        "card": detail.card,
        "can_renew": not detail.line.is_closed,
        "auto_renew": auto_renew,
        "auto_renew_days": settings.AUTO_RENEW_DAYS_BEFORE,
        "esim": line_esim(line=detail.line),
        "threshold_form": threshold_form
        or LowBalanceThresholdForm.for_threshold(detail.line.low_balance_threshold_ore),
        "replacements": selectors.line_replacements(line=detail.line),
        "suspension": line_suspension(line=detail.line),
        "cancellation": selectors.line_cancellation(line=detail.line),
        "can_cancel": detail.line.status in CANCELLABLE,
    }
    return render(request, "subscriptions/line_detail.html", context)
