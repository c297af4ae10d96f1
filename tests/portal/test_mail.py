"""The embedded default's mail backend: the whole message in a file under
var/mail, one line about it on the console."""

from io import StringIO
from pathlib import Path

from django.core.mail import EmailMessage

from portal.mail import FileAndConsoleBackend


def test_a_receipt_email_is_filed_whole_and_named_in_one_console_line(tmp_path: Path) -> None:
    console = StringIO()
    message = EmailMessage("Kvittering 2026-000012", "Takk for kjøpet.", "kundeservice@nordlys.test", ["kari@x.test"])
    message.attach("kvittering-2026-000012.pdf", b"%PDF-1.4 " * 500, "application/pdf")

    sent = FileAndConsoleBackend(file_path=str(tmp_path), console=console).send_messages([message])

    [filed] = list(tmp_path.iterdir())
    assert sent == 1
    assert "Takk for kj" in filed.read_text() and "application/pdf" in filed.read_text()
    assert console.getvalue() == (
        f"Mail to kari@x.test: Kvittering 2026-000012 [kvittering-2026-000012.pdf] -> {filed}\n"
    )
