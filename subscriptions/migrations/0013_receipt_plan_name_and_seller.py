"""Receipts keep their own copy of the plan's name (in each language) and of
the seller, so renaming a plan or changing settings.SELLER no longer
rewrites receipts already issued.

Existing receipts get the seller as settings.SELLER says while this runs
(the column's default, set in the same ALTER), which is what they show
today. Their plan names are copied from their plan with one set-based
UPDATE ... FROM per range of ids, each range in its own transaction: the
migration is not atomic, so the receipts table is not locked for the whole
copy (about 730,000 rows in the benchmark database) and each statement
stays small. Only receipts without a copied name are touched, so a copy
stopped half way can be run again (the columns are there by then: apply
the copy by hand and fake the migration).
"""

from django.db import migrations, models, transaction

import subscriptions.models.receipts

BATCH = 20_000

# Both PostgreSQL and SQLite (3.33 and later) take UPDATE ... FROM: one join
# instead of a subquery per row and name.
COPY_RANGE = """
UPDATE subscriptions_receipt
SET plan_name_en = plan.name_en, plan_name_nb = plan.name_nb, plan_name_zh_hans = plan.name_zh_hans
FROM subscriptions_plan AS plan
WHERE plan.id = subscriptions_receipt.plan_id
  AND subscriptions_receipt.plan_name_en = ''
  AND subscriptions_receipt.id >= %s AND subscriptions_receipt.id < %s
"""


def copy_plan_names(apps, schema_editor):
    Receipt = apps.get_model("subscriptions", "Receipt")
    connection = schema_editor.connection
    receipts = Receipt.objects.using(connection.alias)
    start = receipts.order_by("pk").values_list("pk", flat=True).first()
    # The last id is read again after each range: receipts paid while the
    # copy runs (by the code still deployed) are copied too.
    while start is not None and start <= (receipts.order_by("-pk").values_list("pk", flat=True).first() or 0):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(COPY_RANGE, [start, start + BATCH])
        start += BATCH


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("subscriptions", "0012_receipt_email_sweep_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="receipt",
            name="plan_name_en",
            field=models.CharField(blank=True, max_length=80, verbose_name="plan name (English)"),
        ),
        migrations.AddField(
            model_name="receipt",
            name="plan_name_nb",
            field=models.CharField(blank=True, max_length=80, verbose_name="plan name (Norwegian)"),
        ),
        migrations.AddField(
            model_name="receipt",
            name="plan_name_zh_hans",
            field=models.CharField(blank=True, max_length=80, verbose_name="plan name (Chinese)"),
        ),
        migrations.AddField(
            model_name="receipt",
            name="seller",
            field=models.JSONField(default=subscriptions.models.receipts.seller_now, verbose_name="seller"),
        ),
        migrations.RunPython(copy_plan_names, migrations.RunPython.noop, elidable=True),
    ]
