"""The pretend payment provider's book, taken over from the subscriptions
app as it is: its tables were renamed to this app's names there (0015), so
this migration only records the models."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("subscriptions", "0015_sandbox_moves_to_its_app")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='SandboxCard',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('method_id', models.CharField(max_length=40, unique=True)),
                        ('customer_ref', models.CharField(max_length=64)),
                        ('brand', models.CharField(default='visa', max_length=20)),
                        ('last4', models.CharField(default='4242', max_length=4)),
                        ('exp_month', models.PositiveSmallIntegerField(default=12)),
                        ('exp_year', models.PositiveSmallIntegerField(default=2030)),
                        ('declines', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                ),
                migrations.CreateModel(
                    name='SandboxPayment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('payment_id', models.CharField(max_length=40, unique=True)),
                        ('mode', models.CharField(choices=[('payment', 'Payment'), ('setup', 'Save a card')], default='payment', max_length=10)),
                        ('idempotency_key', models.CharField(max_length=128, unique=True)),
                        ('reference', models.CharField(max_length=64)),
                        ('amount_ore', models.PositiveIntegerField()),
                        ('description', models.CharField(max_length=200)),
                        ('return_url', models.URLField(max_length=2000)),
                        ('notify_url', models.URLField(max_length=2000)),
                        ('language', models.CharField(default='en', max_length=10)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('paid', 'Paid'), ('declined', 'Declined'), ('cancelled', 'Cancelled')], default='pending', max_length=10)),
                        ('outcome', models.CharField(blank=True, choices=[('approve', 'Approve'), ('decline', 'Decline'), ('insufficient_funds', 'Insufficient funds'), ('never_answer', 'Never answer'), ('cancel', 'Cancel'), ('save_card', 'Save card'), ('save_declining_card', 'Save a card that will decline')], max_length=24)),
                        ('reason', models.CharField(blank=True, max_length=40)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('callbacks_sent', models.PositiveIntegerField(default=0)),
                        ('refunded_ore', models.PositiveIntegerField(default=0)),
                        ('refund_ids', models.JSONField(default=list)),
                        ('card', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='sandbox.sandboxcard')),
                    ],
                    options={
                        'verbose_name': 'sandbox payment',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
        )
    ]
