import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0019_replacement_block_and_document"),
    ]

    operations = [
        migrations.CreateModel(
            name="EsimStockWatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("below", models.BooleanField(default=False)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "eSIM stock watch",
                "verbose_name_plural": "eSIM stock watch",
            },
        ),
        migrations.AlterField(
            model_name="esimprofile",
            name="state",
            field=models.CharField(
                choices=[
                    ("available", "Available"),
                    ("reserved", "Being prepared"),
                    ("assigned", "Assigned"),
                    ("installed", "Installed"),
                    ("released", "Released"),
                    ("disabled", "Disabled"),
                ],
                default="available",
                max_length=12,
                verbose_name="state",
            ),
        ),
        migrations.CreateModel(
            name="ProvisioningJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("key", models.CharField(max_length=100, unique=True, verbose_name="request key")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting for a profile in stock"),
                            ("running", "Being prepared"),
                            ("ready", "Ready to install"),
                            ("stopped", "Stopped"),
                        ],
                        default="waiting",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "profile_taken_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="profile taken from stock"),
                ),
                ("ordered_at", models.DateTimeField(blank=True, null=True, verbose_name="download ordered")),
                ("confirmed_at", models.DateTimeField(blank=True, null=True, verbose_name="order confirmed")),
                ("old_disabled_at", models.DateTimeField(blank=True, null=True, verbose_name="old profile disabled")),
                (
                    "number_moved_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="number moved to the new profile"),
                ),
                ("ready_at", models.DateTimeField(blank=True, null=True, verbose_name="ready to install")),
                ("stopped_at", models.DateTimeField(blank=True, null=True, verbose_name="stopped")),
                ("stop_reason", models.CharField(blank=True, max_length=300, verbose_name="why it stopped")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("last_error", models.CharField(blank=True, max_length=300, verbose_name="last transient error")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated")),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="provisioning_jobs",
                        to="subscriptions.line",
                        verbose_name="line",
                    ),
                ),
                (
                    "profile",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="provisioning_job",
                        to="subscriptions.esimprofile",
                        verbose_name="new profile",
                    ),
                ),
                (
                    "replacing",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="replaced_by_jobs",
                        to="subscriptions.esimprofile",
                        verbose_name="profile replaced",
                    ),
                ),
            ],
            options={
                "verbose_name": "eSIM provisioning job",
                "verbose_name_plural": "eSIM provisioning jobs",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["status", "updated_at"], name="subscriptio_status_22b9b4_idx")],
            },
        ),
    ]
