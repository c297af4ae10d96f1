"""Email backends of our own."""

from typing import Any

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend


class FileAndConsoleBackend(FileEmailBackend):
    """The embedded default: every message is written under EMAIL_FILE_PATH
    (one file per connection, as Django's file backend does) and printed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.console = ConsoleEmailBackend(*args, **kwargs)

    def send_messages(self, email_messages: Any) -> int:
        sent = super().send_messages(email_messages)
        self.console.send_messages(email_messages)
        return sent
