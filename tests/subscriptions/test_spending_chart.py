"""The spending chart's SVG as a customer reads it: a month per row with its
short name and its total, bars on a scale of round sums with gridlines, text
drawn at a size that stays readable on a phone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.template import Context, Template
from django.utils import translation

from subscriptions.selectors import MonthSpending
from subscriptions.templatetags.charts import FONT_SIZE, WIDTH, scale_step, spending_chart

# The width of a card's content on a 390 px wide phone.
PHONE_CARD_PX = 332


def months_of(*totals_kr: float, first: date = date(2025, 12, 1)) -> list[MonthSpending]:
    """One month per total, oldest first, from ``first``."""
    months = []
    for offset, kroner in enumerate(totals_kr):
        year, month0 = divmod(first.month - 1 + offset, 12)
        months.append(MonthSpending(month=date(first.year + year, month0 + 1, 1), usage_ore=round(kroner * 100)))
    return months


def svg_of(months: list[MonthSpending], language: str = "en") -> str:
    with translation.override(language):
        html = Template("{% load charts %}{% spending_chart months %}").render(Context({"months": months}))
    return html[html.index("<svg") : html.index("</svg>")]


def texts(svg: str, css_class: str) -> list[str]:
    return re.findall(rf'<text class="{css_class}[^"]*"[^>]*>([^<]*)</text>', svg)


def test_each_month_is_a_row_newest_first_with_a_bar_scaled_to_the_scale():
    context = spending_chart(months_of(50, 0, 100))
    march, february, january = context["bars"]

    assert [bar.month for bar in context["bars"]] == [date(2026, 2, 1), date(2026, 1, 1), date(2025, 12, 1)]
    assert march.width == 2 * january.width > 0
    assert february.width == 0
    assert march.y < february.y < january.y


def test_the_scale_has_a_few_round_steps_up_to_past_the_dearest_month():
    context = spending_chart(months_of(12.5, 111, 40))

    assert [tick.label for tick in context["ticks"]] == ["0", "50", "100", "150"]
    dearest = next(bar for bar in context["bars"] if bar.total_ore == 111_00)
    full = context["ticks"][-1].x - context["ticks"][0].x
    assert dearest.width == pytest.approx(full * 111 / 150, abs=0.1)


@pytest.mark.parametrize(
    ("top_ore", "step"),
    [(111_00, 50_00), (100_00, 50_00), (12_50, 5_00), (4_00, 1_00), (30, 10), (1, 1), (9_999_00, 5_000_00)],
)
def test_the_scale_step_is_round_and_needs_at_most_four_steps(top_ore, step):
    assert scale_step(top_ore) == step
    assert step * 4 >= top_ore


def test_a_scale_below_one_krone_shows_the_ore():
    with translation.override("nb"):
        context = spending_chart(months_of(0.3))

    assert [tick.label for tick in context["ticks"]] == ["0,00", "0,10", "0,20", "0,30"]


def test_the_svg_draws_a_gridline_and_a_label_per_step_and_names_the_unit():
    svg = svg_of(months_of(12.5, 111, 40), "nb")

    assert svg.count('class="spending-grid"') == 4
    assert texts(svg, "spending-tick") == ["0", "50", "100", "150"]
    assert texts(svg, "spending-unit") == ["kr"]


def test_every_month_shows_its_total_beside_its_bar_and_a_month_without_spending_a_dash():
    svg = svg_of(months_of(12.5, 0, 111))

    assert texts(svg, "spending-value") == ["NOK\xa0111.00", "\u2013", "NOK\xa012.50"]
    assert "<title>January 2026: NOK\xa00.00</title>" in svg
    bars = re.findall(r'<rect class="spending-bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    values_x = [float(x) for x in re.findall(r'<text class="spending-value[^"]*" x="([\d.]+)"', svg)]
    assert len(bars) == 2  # no bar for the month without spending
    assert values_x[0] > float(bars[0][0]) + float(bars[0][1])
    assert values_x[0] <= WIDTH - 80  # room left for "NOK 111.00" inside the chart


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("en", ["Feb", "Jan", "Dec"]),
        ("nb", ["feb", "jan", "des"]),
        ("zh-hans", ["2月", "1月", "12月"]),
    ],
)
def test_months_are_named_short_each_in_its_own_label(language, labels):
    svg = svg_of(months_of(1, 2, 3), language)

    assert texts(svg, "spending-label") == labels


def test_chinese_month_labels_use_digits_not_the_long_names_that_ran_together():
    svg = svg_of(months_of(*range(1, 13)), "zh-hans")

    labels = texts(svg, "spending-label")
    assert labels[:2] == ["11月", "10月"]
    assert not any("十" in label for label in labels)


def test_the_text_is_at_least_12_px_in_a_phones_card():
    svg = svg_of(months_of(*range(1, 13)))

    assert re.search(rf'viewBox="0 0 {WIDTH} \d+"', svg)
    assert f'font-size="{FONT_SIZE}"' in svg
    assert FONT_SIZE * PHONE_CARD_PX / WIDTH >= 12
    assert "font-size" not in svg.split(">", 1)[1]  # no smaller size set further in


def test_no_spending_draws_no_chart_and_says_so():
    with translation.override("en"):
        html = Template("{% load charts %}{% spending_chart months %}").render(Context({"months": months_of(0, 0)}))

    assert "<svg" not in html
    assert "Nothing was spent from the balance in the last twelve months." in html
    assert spending_chart(months_of(0, 0))["ticks"] == []
