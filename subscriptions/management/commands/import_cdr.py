"""Import the network's CDR files: ``manage.py import_cdr FILE [FILE...]``.

Prints a one-line summary per file and its rejected rows. Exits non-zero if
a file could not be read at all (the other files are still imported)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from subscriptions.errors import CustomerError
from subscriptions.services.usage import cdr_import


class Command(BaseCommand):
    help = "Import CDR files from the network: usage records, with out-of-bundle charges to the prepaid balance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        unread = 0
        for path in options["files"]:
            try:
                result = cdr_import(filename=path.name, content=path.read_bytes())
            except (OSError, CustomerError) as error:
                unread += 1
                message = error.strerror if isinstance(error, OSError) else str(error)
                self.stderr.write(_("%(file)s: not imported: %(error)s") % {"file": path, "error": message})
                continue
            self.stdout.write(
                _(
                    "%(file)s: %(total)d rows, %(imported)d imported, "
                    "%(duplicate)d already imported, %(rejected)d rejected"
                )
                % {
                    "file": path,
                    "total": result.rows_total,
                    "imported": result.rows_imported,
                    "duplicate": result.rows_duplicate,
                    "rejected": result.rows_rejected,
                }
            )
            for line in result.report.splitlines():
                self.stdout.write(f"  {line}")
        if unread:
            raise CommandError(_("%(count)d file(s) could not be imported.") % {"count": unread})
