"""The sandbox's book moved from the subscriptions app to its own, rows and all."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sandbox.models import SandboxCard, SandboxPayment

BEFORE = [("subscriptions", "0014_beat_schedules_in_settings"), ("sandbox", None)]
AFTER = [("subscriptions", "0015_sandbox_moves_to_its_app"), ("sandbox", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1]]).apps


@pytest.mark.django_db(transaction=True)
def test_moving_the_sandbox_to_its_own_app_keeps_its_payments_and_cards():
    old = migrate(BEFORE)
    card = old.get_model("subscriptions", "SandboxCard").objects.create(method_id="pm_kept", customer_ref="cus_1")
    old.get_model("subscriptions", "SandboxPayment").objects.create(
        payment_id="sbx_kept",
        idempotency_key="key-1",
        reference="order-1",
        amount_ore=199_00,
        description="Month 10 GB",
        return_url="http://127.0.0.1:8000/orders/1/return/",
        notify_url="http://127.0.0.1:8000/payments/callback/sandbox/",
        card_id=card.pk,
        state="paid",
    )

    migrate(AFTER)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    payment = SandboxPayment.objects.select_related("card").get(payment_id="sbx_kept")
    assert (payment.amount_ore, payment.state, payment.card.method_id) == (199_00, "paid", "pm_kept")
    assert SandboxCard.objects.count() == 1
