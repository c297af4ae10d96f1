"""The customer pages again, on PostgreSQL with the prepared statements
production runs with (settings/base.py): the pages' queries (grouping by Oslo
month, filtered joins, subqueries) must mean on PostgreSQL what they mean on
SQLite, and a prepared statement must give the same rows the fifth time
(prepared) as the first (not yet).

Each test here is one of the default run's, collected a second time."""

import re

import pytest
from django.db import connection

from tests.subscriptions.selectors.test_lines import *  # noqa: F403
from tests.subscriptions.views.test_lines import *  # noqa: F403
from tests.subscriptions.views.test_plan_catalogue import *  # noqa: F403
from tests.subscriptions.views.test_receipts import *  # noqa: F403

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_it_runs_on_postgresql_with_prepared_statements():
    assert connection.vendor == "postgresql"
    assert connection.features.uses_server_side_binding  # without it psycopg prepares nothing
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_pages_show_the_same_once_postgresql_runs_their_queries_prepared(signed_in, line):
    # A test's rollback drops what psycopg prepared, so the queries are run
    # here often enough within one test to be prepared, then once more.
    pages = [
        f"/lines/{line.pk}/",
        f"/lines/{line.pk}/usage/",
        f"/lines/{line.pk}/spending/",
        "/dashboard/",
        "/receipts/",
    ]
    first = {url: signed_in.get(url).content.decode() for url in pages}
    for _ in range(6):
        for url in pages:
            signed_in.get(url)

    prepared = _prepared_statements()
    again = {url: signed_in.get(url).content.decode() for url in pages}

    assert any("subscriptions_ledgerentry" in statement for statement in prepared)  # the balance, on both line views
    assert any("subscriptions_receipt" in statement for statement in prepared)
    for url in pages:
        # The same page but for its per-request CSRF tokens.
        assert _without_tokens(again[url]) == _without_tokens(first[url]), url
    assert line.number_display.replace(" ", "\xa0") in again["/dashboard/"]  # never wrapped (the phone filter)
    assert "NOK\xa0150.00" in again["/dashboard/"] and "NOK\xa0150.00" in again[f"/lines/{line.pk}/"]
    assert "NOK\xa0150.00" in again[f"/lines/{line.pk}/spending/"]


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
