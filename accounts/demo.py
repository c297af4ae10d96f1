"""Demo people for `make run`: one support agent and a few customers. The
passwords are public (they are in the README) and only ever used locally."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from accounts.models import User


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    full_name: str
    phone: str | None
    language: str
    is_staff: bool = False
    street_address: str = ""
    postal_code: str = ""
    city: str = ""


DEMO_LOGINS = [
    DemoLogin("support (staff)", "support@nordlys.test", "support-demo-2026", "Siri Support", None, "nb", True),
    DemoLogin(
        "customer (中文)",
        "wang.xiaoming@nordlys.test",
        "demo-wang-2026",
        "王小明",
        "+4791234567",
        "zh-hans",
        street_address="Sognsveien 218",
        postal_code="0864",
        city="Oslo",
    ),
    DemoLogin(
        "customer (norsk)",
        "kari.nordmann@nordlys.test",
        "demo-kari-2026",
        "Kari Nordmann",
        "+4741234567",
        "nb",
        street_address="Storgata 1",
        postal_code="0155",
        city="Oslo",
    ),
    DemoLogin("customer (English)", "alex.smith@nordlys.test", "demo-alex-2026", "Alex Smith", "+4746123456", "en"),
]


@transaction.atomic
def demo_seed() -> list[tuple[DemoLogin, bool]]:
    """Create or refresh the demo people; returns each with whether it was new.
    Running it again changes nothing but resets the demo passwords."""
    results = []
    for login in DEMO_LOGINS:
        user, created = User.objects.update_or_create(
            email=login.email,
            defaults={
                "full_name": login.full_name,
                "phone": login.phone,
                "phone_verified": bool(login.phone),
                "language": login.language,
                "is_staff": login.is_staff,
                "is_superuser": login.is_staff,
                "street_address": login.street_address,
                "postal_code": login.postal_code,
                "city": login.city,
            },
        )
        if created or not user.check_password(login.password):
            user.set_password(login.password)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=login.email, defaults={"verified": True, "primary": True}
        )
        results.append((login, created))
    return results
