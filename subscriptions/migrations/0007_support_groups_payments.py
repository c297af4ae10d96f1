"""Orders, payment events and receipts for the staff groups: both look them
up; only a supervisor can refund a payment flagged for a refund."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMISSIONS = ["view_order", "view_paymentevent", "view_receipt"]
SUPERVISOR_PERMISSIONS = [*AGENT_PERMISSIONS, "refund_payment"]
GROUPS = {"Support agent": AGENT_PERMISSIONS, "Supervisor": SUPERVISOR_PERMISSIONS}


def grant(apps, schema_editor):
    create_permissions(
        global_apps.get_app_config("subscriptions"), apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="subscriptions", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="subscriptions", codename__in=SUPERVISOR_PERMISSIONS)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0006_reconcile_orders_schedule")]

    operations = [migrations.RunPython(grant, revoke)]
