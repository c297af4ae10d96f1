"""Demo people for `make run`: a support agent, a supervisor and a few
customers. The passwords and the staff's TOTP secrets are public (the README
and the start-up banner print them) and only ever used locally."""

from __future__ import annotations

import io
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from accounts.identity import identity_document_upload
from accounts.identity_files import document_file_check
from accounts.models import IdentityDocument, User


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


DEMO_DOCUMENT_OWNER = "wang.xiaoming@nordlys.test"


def demo_identity_seed() -> IdentityDocument | None:
    """A pending residence card for 王小明, so support can try the review.
    The picture is drawn here: a made-up card with SPECIMEN across it, no
    real person's data. Returns the document if it was made now (once: a
    customer who has any document gets none)."""
    owner = User.objects.get(email=DEMO_DOCUMENT_OWNER)
    if owner.identity_documents.exists():
        return None
    upload = SimpleUploadedFile("demo-card.png", demo_card_png(owner.full_name), content_type="image/png")
    return identity_document_upload(
        owner=owner,
        kind=IdentityDocument.Kind.RESIDENCE_CARD,
        purpose=IdentityDocument.Purpose.REPLACEMENT,
        file=document_file_check(upload),
    )


def demo_card_png(name: str) -> bytes:
    """A card-shaped PNG: a header band, a grey photo box, some lines of
    made-up text (in Latin letters: Pillow's default font has no Chinese)
    and SPECIMEN in red."""
    card = Image.new("RGB", (856, 540), (236, 242, 248))
    draw = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=28)
    small = ImageFont.load_default(size=22)
    draw.rectangle((0, 0, 856, 80), fill=(24, 66, 120))
    draw.text((30, 24), "RESIDENCE CARD  ·  DEMO", fill=(255, 255, 255), font=font)
    draw.rectangle((30, 120, 250, 400), fill=(190, 198, 206), outline=(120, 130, 140), width=3)
    draw.ellipse((95, 160, 185, 250), fill=(150, 160, 170))
    draw.rectangle((80, 265, 200, 380), fill=(150, 160, 170))
    latin = name if name.isascii() else "WANG XIAOMING"
    rows = [("Name", latin), ("Date of birth", "01.01.2000"), ("Card no.", "DEMO 000 000"), ("Valid to", "31.12.2030")]
    for row, (label, value) in enumerate(rows):
        draw.text((290, 130 + row * 64), label.upper(), fill=(90, 100, 110), font=small)
        draw.text((290, 156 + row * 64), value, fill=(20, 20, 20), font=font)
    draw.text((300, 440), "SPECIMEN · NOT A REAL DOCUMENT", fill=(200, 30, 30), font=font)
    output = io.BytesIO()
    card.save(output, format="PNG")
    return output.getvalue()
