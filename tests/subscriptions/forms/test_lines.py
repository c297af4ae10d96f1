from datetime import UTC, datetime

import pytest
from django.utils import translation

from subscriptions.forms.lines import UsageFilterForm

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "november"),
    [("en", "November 2026"), ("nb", "november 2026"), ("zh-hans", "2026年11月")],
)
def test_the_month_filter_names_the_last_twelve_months_in_each_language(language, november):
    for other in ("en", "nb", "zh-hans"):  # whichever language asked first
        with translation.override(other):
            UsageFilterForm(now=NOW)

    with translation.override(language):
        choices = list(UsageFilterForm(now=NOW).fields["month"].choices)

    assert choices[1] == ("2026-11", november)
    assert [value for value, _label in choices[1:]][-1] == "2025-12"
    assert len(choices) == 13


def test_the_month_filter_moves_on_with_the_month():
    this_month = UsageFilterForm(now=NOW).fields["month"].choices
    next_month = UsageFilterForm(now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC)).fields["month"].choices

    assert this_month[1][0] == "2026-11"
    assert next_month[1][0] == "2026-12"
