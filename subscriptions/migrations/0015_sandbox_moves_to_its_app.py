"""The pretend payment provider's book moves to the ``sandbox`` app: its two
tables are renamed to that app's names, with their rows, and leave this
app's models. The sandbox app's first migration takes them over as they are.
Where the sandbox app is not installed (production), the renamed tables
stay, empty and unused."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0014_beat_schedules_in_settings")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="sandboxpayment", table="sandbox_sandboxpayment"),
                migrations.AlterModelTable(name="sandboxcard", table="sandbox_sandboxcard"),
            ],
            state_operations=[
                migrations.DeleteModel(name="SandboxPayment"),
                migrations.DeleteModel(name="SandboxCard"),
            ],
        )
    ]
