"""Email backends of our own."""

import sys
from typing import Any

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend
from django.core.mail.message import EmailMessage


class FileAndConsoleBackend(FileEmailBackend):
    """The embedded default: every message is written under EMAIL_FILE_PATH
    (one file per connection, as Django's file backend does), and the console
    gets one line per message naming the recipient, the subject and the file:
    a receipt's PDF printed as base64 would bury everything else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.console = kwargs.pop("console", None) or sys.stdout
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages: Any) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages:
            self.console.write(f"{_summary(message)} -> {self._get_filename()}\n")  # type: ignore[attr-defined]
        self.console.flush()
        return sent


def _summary(message: EmailMessage) -> str:
    attachments = [item[0] for item in message.attachments if isinstance(item, tuple) and item[0]]
    attached = f" [{', '.join(attachments)}]" if attachments else ""
    return f"Mail to {', '.join(message.recipients())}: {message.subject}{attached}"
