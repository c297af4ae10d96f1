"""Demo people for `make run`: a support agent, a supervisor and a few
customers. The passwords and the staff's TOTP secrets are public (the README
and the start-up banner print them) and only ever used locally."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from django.contrib.auth.models import Group
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
    # Staff: the group that gives their permissions, and the TOTP secret the
    # admin's two-factor asks for (base32, as an authenticator app takes it).
    group: str = ""
    totp_secret: str = ""
    street_address: str = ""
    postal_code: str = ""
    city: str = ""

    @property
    def is_staff(self) -> bool:
        return bool(self.group)


DEMO_LOGINS = [
    DemoLogin(
        "support agent",
        "support@nordlys.test",
        "support-demo-2026",
        "Siri Support",
        None,
        "nb",
        group="Support agent",
        totp_secret="NORDLYSDEMOSUPPORTAGENTTWOFACTOR",  # noqa: S106 (public, like the password)
    ),
    DemoLogin(
        "supervisor",
        "supervisor@nordlys.test",
        "supervisor-demo-2026",
        "Sverre Supervisor",
        None,
        "nb",
        group="Supervisor",
        totp_secret="NORDLYSDEMOSUPERVISORTWOFACTORXX",  # noqa: S106 (public, like the password)
    ),
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
    Running it again changes nothing but resets the demo passwords, the staff's
    groups and their TOTP secrets."""
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
                "is_superuser": False,
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
        if login.is_staff:
            user.groups.set([Group.objects.get(name=login.group)])
            _set_demo_totp(user, login.totp_secret)
        results.append((login, created))
    return results


def _set_demo_totp(user: User, secret: str) -> None:
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is not None and decrypt(totp.data["secret"]) == secret:
        return
    if totp is not None:
        totp.delete()
    TOTP.activate(user, secret)
