"""Refused promotion codes for the staff groups: agents and supervisors see
them, as they see failed voucher attempts (0009)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["view_promoattempt"]
GROUPS = ["Support agent", "Supervisor"]


def grant(apps, schema_editor):
    create_permissions(
        global_apps.get_app_config("subscriptions"), apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="subscriptions", codename__in=PERMISSIONS)
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*wanted)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="subscriptions", codename__in=PERMISSIONS)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0048_promo_attempt")]

    operations = [migrations.RunPython(grant, revoke)]
