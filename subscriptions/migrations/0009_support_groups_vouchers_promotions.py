"""Vouchers, promotion codes and auto-renew for the staff groups: an agent
looks them up (and sees failed voucher attempts); a supervisor also makes
voucher batches and promotion codes and voids vouchers."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMISSIONS = [
    "view_voucherbatch",
    "view_voucher",
    "view_voucherattempt",
    "view_promocode",
    "view_promouse",
    "view_autorenewal",
    "view_autorenewcharge",
    "view_savedcard",
]
SUPERVISOR_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "add_voucherbatch",
    "void_voucher",
    "add_promocode",
    "change_promocode",
]
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
    dependencies = [("subscriptions", "0008_vouchers_promotions_auto_renew")]

    operations = [migrations.RunPython(grant, revoke)]
