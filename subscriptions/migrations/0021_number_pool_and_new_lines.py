import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0020_esim_provisioning_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="kind",
            field=models.CharField(
                choices=[("renewal", "Renewal"), ("topup", "Top-up"), ("new_line", "New line")],
                max_length=10,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="receipt",
            name="kind",
            field=models.CharField(
                choices=[("renewal", "Renewal"), ("topup", "Top-up"), ("new_line", "New line")],
                max_length=10,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="NumberBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("filename", models.CharField(max_length=200, verbose_name="file name")),
                ("sha256", models.CharField(max_length=64, unique=True, verbose_name="SHA-256")),
                ("number_count", models.PositiveIntegerField(default=0, verbose_name="numbers added")),
                ("uploaded_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="uploaded")),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "number pool file",
                "verbose_name_plural": "number pool files",
                "ordering": ["-uploaded_at"],
            },
        ),
        migrations.CreateModel(
            name="PoolNumber",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.CharField(max_length=16, unique=True, verbose_name="phone number")),
                ("offered_until", models.DateTimeField(blank=True, null=True, verbose_name="offered until")),
                ("taken_at", models.DateTimeField(blank=True, null=True, verbose_name="taken")),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="numbers",
                        to="subscriptions.numberbatch",
                    ),
                ),
                (
                    "offered_to",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="offered to",
                    ),
                ),
            ],
            options={
                "verbose_name": "pool number",
                "verbose_name_plural": "number pool",
                "ordering": ["number"],
            },
        ),
        migrations.CreateModel(
            name="NewLineRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                (
                    "line",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="new_line_request",
                        to="subscriptions.line",
                        verbose_name="line",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="new_line_requests",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="customer",
                    ),
                ),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="subscriptions.plan",
                        verbose_name="plan",
                    ),
                ),
                (
                    "number",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="new_line_request",
                        to="subscriptions.poolnumber",
                        verbose_name="number",
                    ),
                ),
            ],
            options={
                "verbose_name": "new-line request",
                "verbose_name_plural": "new-line requests",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="poolnumber",
            index=models.Index(fields=["taken_at", "offered_until"], name="subscriptio_taken_a_812dc6_idx"),
        ),
    ]
