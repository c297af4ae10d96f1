"""The two staff groups. A support agent looks everything up and can suspend,
resume and extend lines (through the admin actions, which call the services);
a supervisor can also edit the plan catalogue and upload eSIM inventory and
CDR files. Give a staff member one of these groups, not single permissions."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENT = "Support agent"
SUPERVISOR = "Supervisor"

AGENT_PERMISSIONS = [
    ("accounts", "view_user"),
    ("subscriptions", "view_line"),
    ("subscriptions", "change_line"),
    ("subscriptions", "suspend_line"),
    ("subscriptions", "extend_line"),
    ("subscriptions", "view_plan"),
    ("subscriptions", "view_serviceperiod"),
    ("subscriptions", "view_esimprofile"),
    ("subscriptions", "view_inventorybatch"),
    ("subscriptions", "view_usagerecord"),
    ("subscriptions", "view_cdrimport"),
    ("subscriptions", "view_ledgerentry"),
    ("subscriptions", "view_auditevent"),
]
SUPERVISOR_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    ("subscriptions", "add_plan"),
    ("subscriptions", "change_plan"),
    ("subscriptions", "add_inventorybatch"),
    ("subscriptions", "add_cdrimport"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally made after the last migration (post_migrate);
    # make them now so that the groups can hold them on a fresh database.
    for label in ("accounts", "subscriptions"):
        create_permissions(
            global_apps.get_app_config(label), apps=apps, verbosity=0, using=schema_editor.connection.alias
        )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((SUPPORT_AGENT, AGENT_PERMISSIONS), (SUPERVISOR, SUPERVISOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for app_label, codename in wanted:
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[SUPPORT_AGENT, SUPERVISOR]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_line_permissions"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
