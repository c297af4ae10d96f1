"""Add the SIM vendor's eSIM profile batch files to the inventory:
``manage.py import_esim_inventory FILE [FILE...]``.

Each file is taken whole or not at all; a rejected file's errors are printed
row by row, and the command then exits non-zero (the other files are still
imported)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from subscriptions.errors import CustomerError
from subscriptions.services.inventory import InventoryFileRejected, inventory_import


class Command(BaseCommand):
    help = "Add eSIM profiles from the SIM vendor's CSV batch files to the inventory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        refused = 0
        for path in options["files"]:
            try:
                batch = inventory_import(filename=path.name, content=path.read_bytes(), by=None)
            except (OSError, CustomerError) as error:
                refused += 1
                message = error.strerror if isinstance(error, OSError) else str(error)
                self.stderr.write(_("%(file)s: not imported: %(error)s") % {"file": path, "error": message})
                if isinstance(error, InventoryFileRejected):
                    for row_error in error.errors:
                        self.stderr.write(f"  {row_error}")
                continue
            self.stdout.write(
                _("%(file)s: %(added)d profiles added, %(skipped)d already in stock")
                % {"file": path, "added": batch.profile_count, "skipped": batch.profiles_skipped}
            )
        if refused:
            raise CommandError(_("%(count)d file(s) could not be imported.") % {"count": refused})
