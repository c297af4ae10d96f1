"""Migrations that move data: each keeps what was there."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from subscriptions.models import EsimProfile

BEFORE = [("subscriptions", "0016_esim_code_views")]
AFTER = [("subscriptions", "0017_esim_profile_state_changed_at")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_profile_in_use_is_in_its_state_since_it_was_assigned_and_a_spare_one_since_the_migration():
    old = migrate(BEFORE)
    batch = old.get_model("subscriptions", "InventoryBatch").objects.create(filename="v.csv", sha256="a" * 64)
    profiles = old.get_model("subscriptions", "EsimProfile").objects
    assigned = datetime(2025, 5, 17, 8, 30, tzinfo=UTC)
    profiles.create(iccid="8947000000000000015", imsi="242010000000001", batch=batch, assigned_at=assigned)
    profiles.create(iccid="8947000000000000023", imsi="242010000000002", batch=batch)
    before = timezone.now()

    migrate(AFTER)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    in_use, spare = EsimProfile.objects.order_by("iccid")
    assert in_use.state_changed_at == assigned
    assert before <= spare.state_changed_at <= timezone.now()
