"""The spending chart: server-rendered SVG (the content security policy
allows no script or inline style), sized by SVG attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import template

from subscriptions.selectors import MonthSpending

register = template.Library()

WIDTH = 360
HEIGHT = 180
TOP = 16  # room for the scale label
BOTTOM = 22  # room for the month labels
BAR_SHARE = 0.64  # of each month's slot


@dataclass(frozen=True)
class Bar:
    month: date
    total_ore: int
    x: float
    y: float
    width: float
    height: float
    label_x: float


@register.inclusion_tag("includes/spending_chart.html")
def spending_chart(months: list[MonthSpending]) -> dict[str, Any]:
    """Bars scaled to the dearest month; a month without spending gets none."""
    plot = HEIGHT - TOP - BOTTOM
    top = max((month.total_ore for month in months), default=0)
    slot = WIDTH / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        height = round(plot * month.total_ore / top, 1) if top else 0
        bars.append(
            Bar(
                month=month.month,
                total_ore=month.total_ore,
                x=round(index * slot + slot * (1 - BAR_SHARE) / 2, 1),
                y=round(TOP + plot - height, 1),
                width=round(slot * BAR_SHARE, 1),
                height=height,
                label_x=round(index * slot + slot / 2, 1),
            )
        )
    return {
        "bars": bars,
        "months": months,
        "top_ore": top,
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": TOP + plot,
        "label_y": HEIGHT - 6,
    }
