"""When each eSIM profile's state last changed. Existing profiles get the
moment they were assigned to a line, or the migration's moment."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def from_assigned_at(apps, schema_editor):
    EsimProfile = apps.get_model("subscriptions", "EsimProfile")
    EsimProfile.objects.filter(assigned_at__isnull=False).update(state_changed_at=F("assigned_at"))


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0016_esim_code_views")]

    operations = [
        migrations.AddField(
            model_name="esimprofile",
            name="state_changed_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="state since"),
        ),
        migrations.RunPython(from_assigned_at, migrations.RunPython.noop),
    ]
