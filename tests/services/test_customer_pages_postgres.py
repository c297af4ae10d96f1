"""The customer pages again, on PostgreSQL with the prepared statements
production runs with (settings/base.py): the dashboard's, the line page's and
the receipts' reads are partly written out in SQL, which SQLite accepts where
PostgreSQL may not, and a prepared statement must give the same rows the
fifth time (prepared) as the first (not yet).

Each test here is one of the default run's, collected a second time."""

import pytest
from django.db import connection

from tests.subscriptions.test_plan_catalogue import *  # noqa: F403
from tests.subscriptions.test_receipt_copies import *  # noqa: F403
from tests.subscriptions.test_selectors import *  # noqa: F403
from tests.subscriptions.test_views import *  # noqa: F403

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_it_runs_on_postgresql_with_prepared_statements():
    assert connection.vendor == "postgresql"
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
