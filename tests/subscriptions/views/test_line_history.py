"""The line page as a summary, and the two pages its history moved to: the
usage history and the spending and balance page. Each is the owner's only,
each runs a fixed number of queries, and the line page's old usage links
lead to the usage history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscriptions.models import AutoRenewal, LedgerKind, Line, LineStatus, SavedCard, UsageKind
from subscriptions.services.lines import line_add_period
from tests.factories import LedgerEntryFactory, LineFactory, UserFactory, usage_bulk_create

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nb", "zh-hans"]
PAGES = ["usage", "spending"]


@pytest.fixture
def line():
    line = LineFactory(number="+4791234567", with_period=True)
    LedgerEntryFactory(line=line, amount_ore=150_00)
    return line


@pytest.fixture
def signed_in(client, line):
    client.force_login(line.owner)
    return client


def url(line, page=""):
    return f"/lines/{line.pk}/{page + '/' if page else ''}"


def page_queries(client, path):
    """The SQL a page runs for its own content: the session and the
    signed-in user are every page's and are left out."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return [
        query["sql"]
        for query in queries.captured_queries
        if '"django_session"' not in query["sql"] and 'FROM "accounts_user"' not in query["sql"]
    ]


def lots_of_history(line):
    usage_bulk_create(line, 10_000, kind=UsageKind.DATA, step=timedelta(minutes=13))
    now = timezone.now()
    LedgerEntryFactory.create_batch(
        200, line=line, kind=LedgerKind.USAGE, amount_ore=-1_00, created_at=now - timedelta(days=100)
    )
    LedgerEntryFactory.create_batch(30, line=line, kind=LedgerKind.RENEWAL, amount_ore=-99_00)


# --- who may see them ------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_another_customers_line_is_a_404_on_each_history_page(client, line, page):
    client.force_login(UserFactory())

    assert client.get(url(line, page)).status_code == 404
    assert client.get(url(line, page) + "?kind=data&page=2").status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_a_missing_line_is_a_404_on_each_history_page(signed_in, page):
    assert signed_in.get(f"/lines/999999/{page}/").status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_each_history_page_needs_sign_in(client, line, page):
    response = client.get(url(line, page))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", PAGES)
def test_each_history_page_takes_only_get(signed_in, line, page):
    assert signed_in.post(url(line, page)).status_code == 405


# --- the line page's old usage links ---------------------------------------------------


@pytest.mark.parametrize(
    "query", ["?kind=voice&month=2026-11&page=2", "?page=3", "?month=2026-10", "?kind=sms&month=1999-13"]
)
def test_a_usage_link_to_the_line_page_goes_on_to_the_usage_history_with_its_query(signed_in, line, query):
    response = signed_in.get(url(line) + query)

    assert response.status_code == 301
    assert response["Location"] == url(line, "usage") + query


def test_the_line_page_without_a_usage_query_is_not_redirected(signed_in, line):
    assert signed_in.get(url(line) + "?utm_source=sms").status_code == 200


def test_another_customers_usage_link_is_a_404_not_a_redirect(client, line):
    client.force_login(UserFactory())

    assert client.get(url(line) + "?kind=data&month=2026-01&page=2").status_code == 404


# --- the line page: a summary with its actions first ------------------------------------


def test_the_line_page_puts_its_actions_before_the_figures(signed_in, line):
    html = signed_in.get(url(line)).content.decode()

    bar = html.index('class="line-actions')
    for action in ("renew", "top-up", "voucher", "auto-renew"):
        assert bar < html.index(f'href="/lines/{line.pk}/{action}/"') < html.index("line-balance")
    assert 'data-state="off"' in html[bar:]


def test_a_closed_line_offers_no_renewal_top_up_or_voucher(client):
    closed = LineFactory(with_period=True)
    Line.objects.filter(pk=closed.pk).update(status=LineStatus.CANCELLED)
    client.force_login(closed.owner)

    html = client.get(url(closed)).content.decode()

    assert "line-actions" not in html
    assert f"/lines/{closed.pk}/top-up/" not in html
    assert f'href="{url(closed, "usage")}"' in html


def test_periods_paid_ahead_are_listed_and_a_lone_current_one_is_left_to_the_summary(signed_in, line):
    alone = signed_in.get(url(line)).content.decode()
    line_add_period(line=line, plan=line.periods.get().plan, by=None)
    ahead = signed_in.get(url(line)).content.decode()

    assert 'id="periods"' not in alone
    assert "Renewing before expiry loses no days" in alone
    assert 'id="periods"' in ahead and ahead.count("service-period") == 2


def test_the_line_page_reads_only_the_line_and_its_periods_however_much_history(client):
    quiet, busy = LineFactory(with_period=True), LineFactory(with_period=True)
    lots_of_history(busy)

    counts = []
    for line in (quiet, busy):
        client.force_login(line.owner)
        queries = page_queries(client, url(line))
        counts.append(len(queries))
        assert not any("subscriptions_usagerecord" in sql and "ORDER BY" in sql and "LIMIT" in sql for sql in queries)

    # The line with its balance and auto-renew choice; its periods with what was used in
    # them; the eSIM profile it uses (My eSIM); its open replacement and last SIM change;
    # its open or latest cancellation.
    assert counts == [5, 5]


def test_the_line_page_reads_the_auto_renew_charge_only_when_auto_renew_is_on(client):
    line = LineFactory(with_period=True)
    card = SavedCard.objects.create(owner=line.owner, provider="sandbox", method_id="pm_1", brand="visa", last4="4242")
    AutoRenewal.objects.create(line=line, plan=line.periods.get().plan, card=card)
    client.force_login(line.owner)

    # The line page's five (see above) and the charge.
    assert len(page_queries(client, url(line))) == 6


# --- the usage history -----------------------------------------------------------------


def test_the_usage_history_runs_three_queries_for_ten_records_and_for_ten_thousand(client):
    few, lots = LineFactory(with_period=True), LineFactory(with_period=True)
    usage_bulk_create(few, 10)
    lots_of_history(lots)

    counts = []
    for line in (few, lots):
        client.force_login(line.owner)
        counts.append(len(page_queries(client, url(line, "usage") + "?kind=data&page=2")))

    # The line, a count of at most the capped number of records, the page.
    assert counts == [3, 3]


def test_the_usage_history_names_its_line_and_leads_back_to_it(signed_in, line):
    usage_bulk_create(line, 3)

    html = signed_in.get(url(line, "usage")).content.decode()

    assert "+47\xa0912\xa034\xa0567" in html
    assert f'<a href="{url(line)}">+47\xa0912\xa034\xa0567</a>' in html
    assert html.count('usage-row" data-kind="data"') == 3


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_history_pages_render_in_each_language(client, language):
    customer = UserFactory(language=language)
    line = LineFactory(owner=customer, with_period=True)
    usage_bulk_create(line, 30)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-3_00)
    client.force_login(customer)

    for page in PAGES:
        response = client.get(url(line, page))
        assert response.status_code == 200
        assert f'<html lang="{language}">' in response.content.decode()


# --- spending and balance --------------------------------------------------------------


def test_the_spending_page_runs_three_queries_however_long_the_ledger(client):
    short, long = LineFactory(with_period=True), LineFactory(with_period=True)
    LedgerEntryFactory(line=short, kind=LedgerKind.USAGE, amount_ore=-1_00)
    lots_of_history(long)

    counts = []
    for line in (short, long):
        client.force_login(line.owner)
        counts.append(len(page_queries(client, url(line, "spending"))))

    # The line with its balance, the sums by month, the latest movements.
    assert counts == [3, 3]


def test_the_spending_page_shows_the_balance_the_chart_and_the_movements(signed_in, line):
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_50, description="Data outside the bundle")

    html = signed_in.get(url(line, "spending")).content.decode()

    assert "Prepaid balance: NOK\xa0137.50" in html
    assert '<svg class="spending-chart"' in html
    assert "Data outside the bundle" in html
    assert html.count("ledger-row") == 2
    assert f'href="/lines/{line.pk}/top-up/"' in html and f'href="/lines/{line.pk}/voucher/"' in html


def test_the_spending_figures_are_not_a_scrolling_region(signed_in, line):
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_50)

    html = signed_in.get(url(line, "spending")).content.decode()

    # A scrolling box around the table would need to be focusable and named;
    # the table stacks on a phone instead.
    assert "table-responsive" not in html
    assert 'data-label="Total"' in html
