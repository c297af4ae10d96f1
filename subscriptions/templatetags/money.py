"""Money on pages: ``{{ order.amount_ore|nok }}``, and a plan's price with
its period: ``{{ plan|price_for_period }}`` ("NOK 39.00 for one day"),
``{{ plan|recurring_cost }}`` ("NOK 39.00 every day, that is about NOK
1,170.00 a month"). The wording is subscriptions.formatting's."""

from __future__ import annotations

from django import template

from subscriptions.formatting import format_nok, format_price_for_period, format_recurring_cost
from subscriptions.models import Plan

register = template.Library()


@register.filter
def nok(ore: int | None) -> str:
    if ore is None or ore == "":
        return ""
    return format_nok(int(ore))


@register.filter
def price_for_period(plan: Plan) -> str:
    return format_price_for_period(plan.price_ore, plan.period)


@register.filter
def recurring_cost(plan: Plan) -> str:
    return format_recurring_cost(plan.price_ore, plan.period)
