"""The eSIM support admin for the staff groups: an agent works the queues
(looks at replacement and new-line requests, approves and rejects requests
in review, retries stopped provisioning jobs) and sees the number pool, the
stock page, the code showings and the SIM Swap API's clients; a supervisor
also uploads number pool files and manages the SIM Swap API's clients
(their tokens), as they upload eSIM inventory."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMISSIONS = [
    "view_replacementrequest",
    "change_replacementrequest",
    "view_newlinerequest",
    "view_provisioningjob",
    "retry_provisioningjob",
    "view_numberbatch",
    "view_poolnumber",
    "view_stocklevel",
    "view_esimcodeview",
    "view_simswapclient",
]
SUPERVISOR_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "add_numberbatch",
    "add_simswapclient",
    "change_simswapclient",
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
    dependencies = [("subscriptions", "0025_esim_admin_support")]

    operations = [migrations.RunPython(grant, revoke)]
