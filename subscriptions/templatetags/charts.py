"""The spending chart: server-rendered SVG (the content security policy
allows no script or inline style), sized by SVG attributes.

One horizontal bar per month, newest at the top: on a phone each month gets
a full-width row, so its label and its value are written at a readable size
beside the bar instead of squeezed under it. Units are SVG user units drawn
for the 332 px a card has at a 390 px wide phone, so a unit is about a pixel
there and the font sizes are what the customer reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import template
from django.utils import formats
from django.utils.translation import pgettext

from subscriptions.formatting import format_moment, format_nok
from subscriptions.selectors import MonthSpending

register = template.Library()

WIDTH = 332
FONT_SIZE = 13
LABEL_WIDTH = 52  # month names, right-aligned against the bars
VALUE_WIDTH = 96  # room after the longest bar for its value ("NOK 1,234.50")
SCALE_HEIGHT = 22  # the row of scale labels above the bars
ROW_HEIGHT = 26
BAR_HEIGHT = 16
GAP = 6  # between a month's name and its bar, and a bar and its value
PLOT_LEFT = LABEL_WIDTH + GAP
PLOT_WIDTH = WIDTH - PLOT_LEFT - VALUE_WIDTH
# Steps of the scale, in øre, times powers of ten: 1, 2 and 5 kroner, 10, 20, 50…
NICE_STEPS = (1, 2, 5)
MAX_INTERVALS = 4
NOTHING = "\u2013"


@dataclass(frozen=True)
class Bar:
    month: date
    total_ore: int
    label: str
    value: str  # beside the bar: a dash for a month without spending
    total: str  # the month's total, also when nothing (its title)
    y: float
    width: float
    text_y: float
    value_x: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@register.inclusion_tag("includes/spending_chart.html")
def spending_chart(months: list[MonthSpending]) -> dict[str, Any]:
    """Bars on a scale of round sums with gridlines, each month labelled
    with its short name and its total; a month without spending gets no bar."""
    dearest = max((month.total_ore for month in months), default=0)
    step = scale_step(dearest)
    intervals = -(-dearest // step) if dearest else 0  # the scale ends at the first step at or past the dearest month
    scale_top = step * intervals
    decimals = 0 if step % 100 == 0 else 2
    ticks = (
        [
            Tick(x=round(PLOT_LEFT + PLOT_WIDTH * n / intervals, 1), label=_kroner(step * n, decimals))
            for n in range(intervals + 1)
        ]
        if intervals
        else []
    )
    # Translators: a month in the spending chart's rows, as a date format
    # (Django's "date" filter letters, e.g. M = "Nov", b = "nov", n = "11").
    month_format = pgettext("spending chart month", "M")
    bars = []
    for row, month in enumerate(reversed(months)):
        width = round(PLOT_WIDTH * month.total_ore / scale_top, 1) if scale_top else 0
        top = SCALE_HEIGHT + row * ROW_HEIGHT
        bars.append(
            Bar(
                month=month.month,
                total_ore=month.total_ore,
                label=format_moment(month.month, month_format),
                value=format_nok(month.total_ore) if month.total_ore else NOTHING,
                total=format_nok(month.total_ore),
                y=top + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                width=width,
                text_y=top + ROW_HEIGHT / 2,
                value_x=round(PLOT_LEFT + width + GAP, 1),
            )
        )
    return {
        "bars": bars,
        "ticks": ticks,
        "months": months,
        "top_ore": dearest,
        "unit": pgettext("spending chart scale", "NOK"),
        "width": WIDTH,
        "height": SCALE_HEIGHT + len(bars) * ROW_HEIGHT + 2,
        "font_size": FONT_SIZE,
        "bar_height": BAR_HEIGHT,
        "plot_left": PLOT_LEFT,
        "label_x": LABEL_WIDTH,
        # Clear of the scale's "0", which is centred on the bars' left edge.
        "unit_x": PLOT_LEFT - 2 * GAP,
        "scale_y": SCALE_HEIGHT / 2,
        "grid_top": SCALE_HEIGHT - 2,
        "grid_bottom": SCALE_HEIGHT + len(bars) * ROW_HEIGHT,
    }


def scale_step(top_ore: int) -> int:
    """The smallest round step (1, 2 or 5 times a power of ten øre) that
    covers ``top_ore`` in at most ``MAX_INTERVALS`` steps."""
    power = 1
    while True:
        for step in NICE_STEPS:
            if step * power * MAX_INTERVALS >= top_ore:
                return step * power
        power *= 10


def _kroner(ore: int, decimals: int) -> str:
    return formats.number_format(Decimal(ore) / 100, decimals, use_l10n=True, force_grouping=True)
