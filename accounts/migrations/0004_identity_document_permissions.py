"""Identity documents for the staff groups: both list them, look at their
files (each look is logged), approve or reject them, and see the log of
who looked."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [
    "view_identitydocument",
    "view_identity_document_file",
    "review_identity_document",
    "view_identitydocumentaccess",
]
GROUPS = ["Support agent", "Supervisor"]


def grant(apps, schema_editor):
    create_permissions(
        global_apps.get_app_config("accounts"), apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="accounts", codename__in=PERMISSIONS)
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*wanted)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="accounts", codename__in=PERMISSIONS)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_identity_documents"),
        # The staff groups are made there.
        ("subscriptions", "0003_support_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
