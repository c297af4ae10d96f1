"""The periodic sweeps are now scheduled by CELERY_BEAT_SCHEDULE in the
settings, which beat writes into its tables as it starts. Remove the rows
earlier migrations made, so that no sweep is scheduled twice."""

from django.db import migrations

MADE_BY_MIGRATIONS = (
    "Expire lines whose paid period ended",
    "Reconcile pending card payments",
    "Charge lines due for auto-renew",
    "Send receipt emails not sent yet",
)


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=MADE_BY_MIGRATIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0013_receipt_plan_name_and_seller"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Going back leaves the table to beat, which fills it from the settings.
    operations = [migrations.RunPython(remove, migrations.RunPython.noop)]
