"""The dashboard and the line page as a customer sees them: their own lines
only, a fixed number of queries, forms that answer bad input on the page."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import AuditEvent, LedgerKind, Line, PlanPeriod, UsageKind
from tests.factories import (
    LedgerEntryFactory,
    LineFactory,
    NumberKeepingPlanFactory,
    PlanFactory,
    UsageRecordFactory,
    UserFactory,
    usage_bulk_create,
)

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
LANGUAGES = ["en", "nb", "zh-hans"]


@pytest.fixture
def line(customer):
    line = LineFactory(
        owner=customer, number="+4791234567", with_period=PlanFactory(name_en="Fjord 10 GB", data_mb=10_240)
    )
    LedgerEntryFactory(line=line, amount_ore=150_00)
    return line


def page_url(line):
    return f"/lines/{line.pk}/"


def usage_url(line):
    return f"/lines/{line.pk}/usage/"


def spending_url(line):
    return f"/lines/{line.pk}/spending/"


def threshold_url(line):
    return f"/lines/{line.pk}/low-balance-alert/"


def add_usage(line, count, *, kind=UsageKind.DATA, start=None):
    usage_bulk_create(line, count, kind=kind, quantity=2048, start=start)


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- the dashboard ------------------------------------------------------------


def test_the_dashboard_shows_a_card_per_line(signed_in, line):
    LineFactory(owner=line.owner, kind="number_keeping", with_period=NumberKeepingPlanFactory())

    html = signed_in.get("/dashboard/").content.decode()

    assert html.count('class="card h-100 line-card') == 2
    assert "+47\xa0912\xa034\xa0567" in html
    assert "Fjord 10 GB" in html
    assert "NOK\xa0150.00" in html
    assert f'href="/lines/{line.pk}/"' in html
    assert "<progress" in html
    assert "Your number is kept" in html
    assert "You have no lines yet" not in html


def test_the_dashboard_shows_nobody_elses_lines(signed_in, line):
    stranger = LineFactory(number="+4798765432", with_period=True)

    html = signed_in.get("/dashboard/").content.decode()

    assert "+47\xa0987\xa065\xa0432" not in html
    assert f"/lines/{stranger.pk}/" not in html


def test_the_dashboard_calls_for_renewal_of_the_same_plan_when_a_line_is_near_expiry(signed_in, customer):
    week = PlanFactory(code="fjord-week", period=PlanPeriod.WEEK)
    soon = LineFactory(owner=customer, with_period=week, with_period__days_ago=6)

    html = signed_in.get("/dashboard/").content.decode()

    assert 'data-alert="near-expiry"' in html
    assert "Expires in 1 day." in html
    assert f'href="/lines/{soon.pk}/renew/fjord-week/">Renew</a>' in html


def test_the_dashboard_calls_for_renewal_of_an_expired_line_with_its_last_plan(signed_in, customer):
    expired = LineFactory(owner=customer, with_period=PlanFactory(code="fjord-month"), with_period__days_ago=40)

    html = signed_in.get("/dashboard/").content.decode()

    assert 'data-alert="expired"' in html
    assert f'href="/lines/{expired.pk}/renew/fjord-month/">Renew</a>' in html


def test_a_line_whose_plan_is_no_longer_sold_is_sent_to_the_list_of_plans(signed_in, customer):
    retired = PlanFactory(code="retired-week", period=PlanPeriod.WEEK)
    soon = LineFactory(owner=customer, with_period=retired, with_period__days_ago=6)
    retired.is_active = False
    retired.save()

    html = signed_in.get("/dashboard/").content.decode()

    assert f'href="/lines/{soon.pk}/renew/">Renew</a>' in html
    assert "/renew/retired-week/" not in html


def test_the_dashboard_warns_of_a_low_balance(signed_in, line):
    Line.objects.filter(pk=line.pk).update(low_balance_threshold_ore=200_00)

    html = signed_in.get("/dashboard/").content.decode()

    assert 'data-alert="low-balance"' in html
    assert "Your balance is NOK\xa0150.00, below the NOK\xa0200.00" in html


def test_unlimited_allowances_say_so_instead_of_a_bar(signed_in, customer):
    LineFactory(owner=customer, with_period=PlanFactory(data_mb=None, voice_minutes=None, sms_count=None))

    html = signed_in.get("/dashboard/").content.decode()

    assert html.count("Unlimited") == 3
    assert "<progress" not in html


def test_the_dashboard_shows_expiry_in_oslo_time(signed_in, customer):
    start = datetime(2030, 1, 14, 23, 30, tzinfo=UTC)  # 00:30 on 15 January in Oslo
    LineFactory(owner=customer, with_period=PlanFactory(period=PlanPeriod.MONTH), with_period__start=start)

    html = signed_in.get("/dashboard/").content.decode()

    assert "Feb. 15, 2030, 12:30 AM" in html


def test_the_dashboard_query_count_is_the_same_for_one_line_and_twenty(client):
    one, many = UserFactory(), UserFactory()
    for owner, count in ((one, 1), (many, 20)):
        for _ in range(count):
            line = LineFactory(owner=owner, with_period=True)
            add_usage(line, 3)
            LedgerEntryFactory(line=line)

    client.force_login(one)
    queries_one = queries_for(client, "/dashboard/")
    client.force_login(many)
    queries_many = queries_for(client, "/dashboard/")

    assert queries_one == queries_many


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_renders_in_each_language(client, language):
    customer = UserFactory(language=language)
    LineFactory(owner=customer, with_period=True, low_balance_threshold_ore=10_00)
    client.force_login(customer)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


def test_the_dashboard_needs_sign_in(client):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- the line page --------------------------------------------------------------


def test_the_line_page_shows_the_line_to_its_owner(signed_in, line):
    add_usage(line, 3)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_50, description="Data outside the bundle")

    response = signed_in.get(page_url(line))
    html = response.content.decode()

    assert response.status_code == 200
    assert "+47\xa0912\xa034\xa0567" in html
    assert "NOK\xa0137.50" in html  # 150.00 − 12.50
    for action in ("renew", "top-up", "voucher", "auto-renew"):
        assert f'href="/lines/{line.pk}/{action}/"' in html
    assert f'href="{usage_url(line)}"' in html and f'href="{spending_url(line)}"' in html
    assert 'name="amount"' in html
    # The history and the spending have pages of their own.
    assert "usage-row" not in html and "Data outside the bundle" not in html
    assert "<svg" not in html


def test_the_line_page_of_another_customers_line_is_a_404(client, line):
    client.force_login(UserFactory())

    assert client.get(page_url(line)).status_code == 404
    assert client.get(page_url(line) + "?kind=data&month=2026-01&page=2").status_code == 404


def test_a_missing_line_is_a_404(signed_in):
    assert signed_in.get("/lines/999999/").status_code == 404


def test_the_line_page_needs_sign_in(client, line):
    response = client.get(page_url(line))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_line_page_renders_in_each_language(client, language):
    customer = UserFactory(language=language)
    line = LineFactory(owner=customer, with_period=True, low_balance_threshold_ore=10_00)
    add_usage(line, 2)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-3_00)
    client.force_login(customer)

    response = client.get(page_url(line))

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


def test_the_spending_chart_uses_dots_in_svg_numbers_in_norwegian(client):
    customer = UserFactory(language="nb")
    line = LineFactory(owner=customer, with_period=True)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-3_00)
    client.force_login(customer)

    html = client.get(spending_url(line)).content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]

    assert re.search(r'<rect[^>]* width="\d+(\.\d+)?"', svg)
    assert not re.search(r'="\d+,\d+"', svg)
    assert "3,00" in html


def test_a_number_keeping_line_says_the_number_is_kept_and_shows_no_bars(signed_in, customer):
    line = LineFactory(owner=customer, kind="number_keeping", with_period=NumberKeepingPlanFactory())

    html = signed_in.get(page_url(line)).content.decode()

    assert "Your number is kept" in html
    assert "<progress" not in html
    assert "Keep my number, 3 months" in html


def test_the_line_page_query_count_does_not_grow_with_usage(client):
    few, lots = LineFactory(with_period=True), LineFactory(with_period=True)
    add_usage(few, 10)
    add_usage(lots, 10_000)
    for line in (few, lots):
        for _ in range(3):
            LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-1_00)

    counts = []
    for line in (few, lots):
        client.force_login(line.owner)
        counts.append(queries_for(client, page_url(line)))

    assert counts[0] == counts[1]


# --- usage filter and paging -------------------------------------------------------


def test_the_usage_history_filters_by_kind(signed_in, line):
    add_usage(line, 2, kind=UsageKind.DATA)
    add_usage(line, 3, kind=UsageKind.SMS)

    html = signed_in.get(usage_url(line) + "?kind=sms").content.decode()

    assert html.count('usage-row" data-kind="sms"') == 3
    assert 'usage-row" data-kind="data"' not in html
    assert '<option value="sms" selected>' in html


def test_the_usage_history_filters_by_month(signed_in, line):
    UsageRecordFactory(line=line, occurred_at=datetime(2026, 1, 20, 12, tzinfo=UTC), destination="Bergen")
    UsageRecordFactory(line=line, occurred_at=datetime(2026, 2, 20, 12, tzinfo=UTC), destination="Tromsø")

    html = signed_in.get(usage_url(line) + "?month=2026-01").content.decode()

    assert "Bergen" in html
    assert "Tromsø" not in html


def test_a_bad_filter_is_an_error_on_the_page_not_a_500(signed_in, line):
    add_usage(line, 2)

    response = signed_in.get(usage_url(line) + "?kind=mms&month=1999-13")
    html = response.content.decode()

    assert response.status_code == 200
    assert "Select a valid choice" in html
    assert html.count("usage-row") == 2  # shown unfiltered


def test_the_usage_history_is_paged_and_keeps_the_filter(signed_in, line):
    add_usage(line, 30, kind=UsageKind.DATA)

    first = signed_in.get(usage_url(line) + "?kind=data").content.decode()
    second = signed_in.get(usage_url(line) + "?kind=data&page=2").content.decode()

    assert first.count("usage-row") == 25
    assert 'href="?kind=data&amp;page=2"' in first
    assert second.count("usage-row") == 5
    assert "Page 2 of 2" in second


# --- the low-balance alert ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "ore"),
    [("50", 50_00), ("49,90", 49_90), ("1 000,50", 1000_50), ("1.000,50", 1000_50), ("1,000", 1000_00), ("0", 0)],
)
def test_setting_the_low_balance_alert_saves_it_in_ore(signed_in, line, typed, ore):
    response = signed_in.post(threshold_url(line), {"amount": typed})

    assert response.status_code == 302
    assert response["Location"] == f"/lines/{line.pk}/#low-balance"
    line.refresh_from_db()
    assert line.low_balance_threshold_ore == ore
    assert AuditEvent.objects.filter(line=line, action="low_balance_threshold").count() == 1
    assert "Your low-balance alert is saved." in signed_in.get(response["Location"]).content.decode()


def test_an_empty_amount_turns_the_alert_off(signed_in, line):
    Line.objects.filter(pk=line.pk).update(low_balance_threshold_ore=50_00)

    response = signed_in.post(threshold_url(line), {"amount": ""}, follow=True)

    line.refresh_from_db()
    assert line.low_balance_threshold_ore is None
    assert "The low-balance alert is off." in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "Choose an amount between NOK\xa00.00 and NOK\xa0100,000.00."),
        ("100000.01", "Choose an amount between NOK\xa00.00 and NOK\xa0100,000.00."),
        ("fifty", "Enter an amount in kroner, for example 50 or 49.90."),
        ("12.345", "Use at most two decimals."),
    ],
)
def test_a_bad_amount_is_shown_on_the_line_page(signed_in, line, typed, message):
    response = signed_in.post(threshold_url(line), {"amount": typed})
    html = response.content.decode()

    assert response.status_code == 200
    assert message in html
    assert "is-invalid" in html
    assert f'value="{typed}"' in html
    line.refresh_from_db()
    assert line.low_balance_threshold_ore is None
    assert not AuditEvent.objects.filter(line=line, action="low_balance_threshold").exists()


def test_a_bad_amount_is_answered_in_the_customers_language(client):
    customer = UserFactory(language="nb")
    line = LineFactory(owner=customer, with_period=True)
    client.force_login(customer)

    response = client.post(threshold_url(line), {"amount": "femti"})

    assert response.status_code == 200
    assert '<html lang="nb">' in response.content.decode()
    assert "Skriv et beløp i kroner, for eksempel 50 eller 49,90." in response.content.decode()


def test_another_customer_cannot_set_the_alert(client, line):
    client.force_login(UserFactory())

    response = client.post(threshold_url(line), {"amount": "10"})

    assert response.status_code == 404
    line.refresh_from_db()
    assert line.low_balance_threshold_ore is None


def test_the_alert_form_takes_only_post(signed_in, line):
    assert signed_in.get(threshold_url(line)).status_code == 405


def test_the_alert_form_needs_sign_in(client, line):
    response = client.post(threshold_url(line), {"amount": "10"})

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.low_balance_threshold_ore is None


def test_the_form_shows_the_current_threshold(signed_in, line):
    Line.objects.filter(pk=line.pk).update(low_balance_threshold_ore=75_50)

    html = signed_in.get(page_url(line)).content.decode()

    assert 'value="75.50"' in html
