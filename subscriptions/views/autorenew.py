"""Auto-renew on a line's page: turn it on (with a saved card or a new one),
change the plan or card, turn it off, and the provider's return after a card
is saved. Only the line's owner; anyone else gets a 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_recurring_cost, join_sentences
from subscriptions.forms.autorenew import AutoRenewForm
from subscriptions.models import (
    VIPPS_AGREEMENT_PROVIDERS,
    AutoRenewal,
    CardSetup,
    Line,
    PaymentMethod,
    Plan,
    PlanPeriod,
    SetupStatus,
)
from subscriptions.services.autorenew import (
    auto_renew_disable,
    auto_renew_enable,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_window,
    vipps_renews_in_time,
)


def _back(line_id: int) -> HttpResponse:
    return redirect(reverse("line_detail", args=[line_id]) + "#auto-renew")


@login_required
@require_http_methods(["GET", "POST"])
def auto_renew_manage(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Turn auto-renew on, or change its plan or card: a saved card is used
    at once; "a new card" goes to the provider's page to save one."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    choice = selectors.renewal_plans(line=line)
    if request.method == "POST":
        form = AutoRenewForm(request.POST, line=line, user=request.user)
        if form.is_valid():
            plan, card = form.cleaned_data["plan"], form.cleaned_data["card"]
            try:
                with_vipps = request.POST.get("with") == PaymentMethod.VIPPS
                if card is None or with_vipps:
                    site_url = request.build_absolute_uri("/").rstrip("/")
                    method = PaymentMethod.VIPPS if with_vipps else PaymentMethod.CARD
                    setup = auto_renew_start(owner=request.user, line=line, plan=plan, site_url=site_url, method=method)
                    return redirect(setup.provider_url)
                auto_renew_enable(line=line, plan=plan, card=card, by=request.user)
            except CustomerError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Auto-renew is on: %(cost)s.") % {"cost": _cost(plan)})
                return _back(line.pk)
    else:
        form = AutoRenewForm(line=line, user=request.user, initial=_initial(line, current=choice.current))
    state = selectors.line_auto_renew(line=line)
    # Plans Vipps MobilePay cannot renew before the line runs out (each says so).
    card_only = {plan.pk for plan in choice.plans if not vipps_renews_in_time(plan.period)}
    vipps_available = bool(settings.VIPPS_RECURRING_PROVIDER)
    context = {
        "line": line,
        "form": form,
        "plans": choice.plans,
        "current": choice.current,
        "withdrawn": choice.withdrawn,
        "chosen": str(form["plan"].value() or ""),
        "auto_renew": state,
        "days": settings.AUTO_RENEW_DAYS_BEFORE,
        "terms": _terms(settings.AUTO_RENEW_DAYS_BEFORE),
        "vipps_available": vipps_available,
        "vipps_offered": vipps_available and len(card_only) < len(choice.plans),
        "card_only": card_only,
    }
    return render(request, "subscriptions/auto_renew.html", context)


# One sentence per period: the period's label alone ("Day", "Month") does
# not fit inside a sentence in Norwegian or Chinese.
SHORTER_WINDOW = {
    PlanPeriod.DAY: gettext_lazy("Day plans are charged %(wait)s before the line expires."),
    PlanPeriod.WEEK: gettext_lazy("Week plans are charged %(wait)s before the line expires."),
    PlanPeriod.MONTH: gettext_lazy("Month plans are charged %(wait)s before the line expires."),
    PlanPeriod.QUARTER: gettext_lazy("Quarter plans are charged %(wait)s before the line expires."),
    PlanPeriod.YEAR: gettext_lazy("Year plans are charged %(wait)s before the line expires."),
}


def _terms(days: int) -> str:
    """When the card is charged, for which plans sooner, and what happens
    after a failed charge: one paragraph in the active language."""
    charged = ngettext(
        "We charge the card %(days)s day before the line expires, for the plan you choose here, "
        "and email you the receipt.",
        "We charge the card %(days)s days before the line expires, for the plan you choose here, "
        "and email you the receipt.",
        days,
    ) % {"days": days}
    return join_sentences(charged, _shorter_windows(), _retry_schedule(settings.AUTO_RENEW_RETRY_DELAYS_SECONDS))


def _shorter_windows() -> str:
    """The plans charged nearer their end than AUTO_RENEW_DAYS_BEFORE days
    (at most half their period ahead, so one period is bought at a time),
    in the active language, e.g. "Day plans are charged 12 hours before the
    line expires."."""
    configured = timedelta(days=settings.AUTO_RENEW_DAYS_BEFORE)
    sentences = []
    for period in PlanPeriod:
        window = auto_renew_window(period.value)
        if window < configured:
            sentences.append(str(SHORTER_WINDOW[period]) % {"wait": _wait(int(window.total_seconds()))})
    return join_sentences(*sentences)


def _retry_schedule(delays: list[int]) -> str:
    """What happens after a failed charge, in the active language, from the
    retry delays (seconds, each counted from the try before), e.g. "If a
    charge fails, we try again after 1 hour, then again 1 day after that,
    and we tell you each time."
    """
    if not delays:
        return _("If a charge fails we do not try again; we tell you by email.")
    schedule = _("we try again after %(wait)s") % {"wait": _wait(delays[0])}
    for seconds in delays[1:]:
        schedule = _("%(earlier)s, then again %(wait)s after that") % {"earlier": schedule, "wait": _wait(seconds)}
    return _("If a charge fails, %(schedule)s, and we tell you each time.") % {"schedule": schedule}


def _wait(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = max(1, round(seconds / 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _cost(plan: Plan) -> str:
    return format_recurring_cost(plan.price_ore, plan.period)


def _initial(line: Line, *, current: Plan | None) -> dict[str, int | None]:
    """While auto-renew is on, its choice; otherwise the plan the line is on
    (None when that is no longer sold: the customer chooses)."""
    plan_id = current.pk if current is not None else None
    try:
        setting = line.auto_renewal
    except AutoRenewal.DoesNotExist:
        return {"plan": plan_id, "card": None}
    return {"plan": setting.plan_id if setting.enabled else plan_id, "card": setting.card_id}


@login_required
@require_POST
def auto_renew_off(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    auto_renew_disable(line=line, by=request.user)
    messages.success(request, _("Auto-renew is off. Nothing will be charged automatically."))
    return _back(line.pk)


@login_required
@require_GET
def auto_renew_return(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Back from the provider's page: ask it whether the card was saved."""
    setup = get_object_or_404(CardSetup, public_id=public_id, owner=request.user)
    try:
        setup = auto_renew_setup_finish(setup=setup)
    except CustomerError as error:
        # The line or plan changed while the customer was on the card page.
        messages.error(request, str(error))
        return _back(setup.line_id)
    vipps = setup.provider in VIPPS_AGREEMENT_PROVIDERS
    if setup.status == SetupStatus.SAVED and vipps:
        messages.success(
            request,
            _("Your Vipps MobilePay agreement is approved and auto-renew is on: %(cost)s.")
            % {"cost": _cost(setup.plan)},
        )
    elif setup.status == SetupStatus.SAVED:
        messages.success(request, _("Your card is saved and auto-renew is on: %(cost)s.") % {"cost": _cost(setup.plan)})
    elif setup.status == SetupStatus.FAILED and vipps:
        messages.error(request, _("The agreement was not approved in Vipps MobilePay, so auto-renew is still off."))
    elif setup.status == SetupStatus.FAILED:
        messages.error(request, _("The card was not saved, so auto-renew is still off."))
    else:
        messages.info(request, _("The payment service has not confirmed the card yet. Try again in a moment."))
    return _back(setup.line_id)
