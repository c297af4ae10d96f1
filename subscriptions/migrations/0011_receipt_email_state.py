"""Receipts remember whether their email was queued and sent. Receipts made
before were emailed when they were paid (as far as anyone can tell now), so
they are marked sent: the sweep that sends unsent ones must not mail the
whole history again."""

from django.db import migrations, models
from django.db.models import F


def mark_earlier_receipts_sent(apps, schema_editor):
    Receipt = apps.get_model("subscriptions", "Receipt")
    Receipt.objects.filter(emailed_at__isnull=True).update(emailed_at=F("issued_at"), email_queued_at=F("issued_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0010_auto_renew_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="receipt",
            name="email_queued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="email queued"),
        ),
        migrations.AddField(
            model_name="receipt",
            name="emailed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="emailed"),
        ),
        migrations.AddIndex(
            model_name="receipt",
            index=models.Index(
                condition=models.Q(("emailed_at__isnull", True)), fields=["issued_at"], name="receipt_not_emailed"
            ),
        ),
        migrations.RunPython(mark_earlier_receipts_sent, migrations.RunPython.noop),
    ]
