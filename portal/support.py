"""Customer service's contact details, from ``settings.SUPPORT``, for every
page (the footer and the help page) through a template context processor."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from accounts.phone import format_phone


@dataclass(frozen=True)
class SupportContact:
    phone: str  # E.164, for tel: links
    email: str
    opens: str  # every day, Oslo time
    closes: str

    @property
    def phone_display(self) -> str:
        """The number grouped for reading: +47 800 12 345."""
        return format_phone(self.phone)


def support_contact_get() -> SupportContact:
    support = settings.SUPPORT
    return SupportContact(
        phone=support["phone"], email=support["email"], opens=support["opens"], closes=support["closes"]
    )


def support_contact(request: HttpRequest) -> dict[str, SupportContact]:
    return {"support": support_contact_get()}
