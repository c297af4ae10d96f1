"""The staff groups and their permissions as the data migrations make them.

A transactional test's flush empties every table, data migrations' rows
included, so a later transactional test that signs a support agent in puts
the groups back with this first."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

# Each data migration that makes or fills a staff group, with its function.
GRANTS = [
    ("subscriptions.migrations.0003_support_groups", "create_groups"),
    ("subscriptions.migrations.0007_support_groups_payments", "grant"),
    ("subscriptions.migrations.0009_support_groups_vouchers_promotions", "grant"),
    ("accounts.migrations.0002_sent_texts", "grant"),
    ("accounts.migrations.0004_identity_document_permissions", "grant"),
    ("subscriptions.migrations.0026_support_groups_esim_admin", "grant"),
    ("subscriptions.migrations.0028_international_rates_seed", "grant"),
    ("subscriptions.migrations.0030_support_groups_sms_commands", "grant"),
    ("subscriptions.migrations.0036_support_groups_notifications", "grant"),
    ("subscriptions.migrations.0038_support_groups_cancellations", "grant"),
    ("subscriptions.migrations.0040_support_groups_credit_note_payout", "grant"),
    ("subscriptions.migrations.0049_support_groups_promo_attempts", "grant"),
]


def staff_groups_restore() -> None:
    """Run the migrations' grants again (each is safe to run twice)."""
    editor = SimpleNamespace(connection=connection)
    for module, function in GRANTS:
        getattr(importlib.import_module(module), function)(apps, editor)
