"""Every email, text and receipt a customer gets, made through the code that
sends it, in English, Norwegian and Chinese: no English sentence is left in
the Norwegian or Chinese one, and Chinese uses its own punctuation.

Each run writes what it made under var/test-artifacts/words/messages/ (the
receipt's PDF also as a picture when pdftoppm is installed), to be read as a
customer reads them."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import translation
from pypdf import PdfReader

from accounts.identity import identity_document_approve, identity_document_reject, identity_document_upload
from accounts.identity_files import document_file_check
from accounts.models import IdentityDocument
from accounts.tasks import send_welcome
from subscriptions.models import EsimState, Line, OrderKind, ReplacementReason, ReplacementRequest, ReplacementStatus
from subscriptions.receipt_mail import receipt_email
from subscriptions.services.esim_confirmation import esim_confirmation_code_issue, esim_confirmation_code_send
from subscriptions.services.esim_install import esim_code_email_send, esim_code_view_record
from subscriptions.services.provisioning import provisioning_start
from subscriptions.services.replacements import replacement_code_check, replacement_code_send, replacement_request
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.identity_files import good_jpeg
from tests.subscriptions.receipts import make_receipt
from tests.subscriptions.services.test_autorenew import sweep_and_charge, turn_on

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "words" / "messages"
LANGUAGES = ["en", "nb", "zh-hans"]

# Words that stay the same in every language: names (of the company, the
# customer, streets, the test server, a card brand), units and technical
# terms, and the organisation number's "NO … MVA".
NAMES = {
    "nordlys", "mobil", "as", "kari", "nordmann", "storgata", "oslo", "norge", "europe", "testserver", "visa",
    "fjord", "gb", "nok", "no", "mva", "esim", "sm", "dp", "smdp", "iphone", "ios", "pdf", "svg", "iccid", "lpa",
    "match", "secret", "test",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
ADDRESS = re.compile(r"\S+://\S+|\S+@\S+|\S+\.test\S*")
CJK = "\u3400-\u9fff"
ASCII_PUNCTUATION_BY_CHINESE = re.compile(rf"[{CJK}][,:;!?]|[{CJK}]\.(?!\d)|[,:;!?][{CJK}]|[。，：；][ ]")


def pieces_of(emails: list[Any], texts: list[str]) -> dict[str, str]:
    """Each piece a customer reads (subject, body, HTML, the receipt's PDF,
    a text), by a name that is the same in every language."""
    found: dict[str, str] = {}
    for index, email in enumerate(emails):
        found[f"email{index}.subject"] = email.subject
        found[f"email{index}.body"] = email.body
        for _name, content, mimetype in email.attachments:
            if mimetype == "application/pdf":
                found[f"email{index}.pdf"] = pdf_text(content)
        for content, mimetype in getattr(email, "alternatives", []):
            found[f"email{index}.{mimetype.replace('/', '-')}"] = str(content)
    for index, text in enumerate(texts):
        found[f"sms{index}"] = text
    return found


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


# --- the scenarios: each makes its messages through the code that sends them -------------


def customer(language: str, **fields: Any) -> Any:
    values = {"full_name": "Kari Nordmann", "language": language, **fields}
    return UserFactory(**values)


def plan() -> Any:
    return PlanFactory(name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB", price_ore=199_00)


def welcome(language: str, capture: Any) -> None:
    send_welcome.apply(args=[customer(language).pk])


def welcome_by_text(language: str, capture: Any) -> None:
    send_welcome.apply(args=[customer(language, email=None).pk])


def _document(owner: Any) -> IdentityDocument:
    return identity_document_upload(
        owner=owner,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.NEW_LINE,
        file=document_file_check(good_jpeg()),
    )


def identity_approved(language: str, capture: Any) -> None:
    for owner in (customer(language), customer(language, email=None)):
        with capture(execute=True):
            identity_document_approve(document=_document(owner), by=UserFactory(is_staff=True))


def identity_rejected(language: str, capture: Any) -> None:
    for owner in (customer(language), customer(language, email=None)):
        with capture(execute=True):
            identity_document_reject(document=_document(owner), by=UserFactory(is_staff=True), reason="expired")


def replacement(language: str, capture: Any) -> None:
    owner = customer(language)
    line = LineFactory(owner=owner, with_period=plan())
    EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    with capture(execute=True):
        request = replacement_request(line=line, by=owner, reason=ReplacementReason.NEW_PHONE, idempotency_key="k")
        replacement_code_send(replacement=request)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert code
    with capture(execute=True):
        replacement_code_check(replacement=request, code=code[1])


def esim_ready(language: str, capture: Any) -> None:
    line = LineFactory(owner=customer(language), with_period=plan())
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    EsimProfileFactory()
    request = ReplacementRequest.objects.create(
        line=line, requested_by=line.owner, reason=ReplacementReason.NEW_PHONE, status=ReplacementStatus.READY
    )
    with capture(execute=True):
        provisioning_start(line=line, replacing=old, key=f"replacement:{request.public_id}")


def esim_codes(language: str, capture: Any) -> None:
    owner = customer(language)
    line = LineFactory(owner=owner, with_period=plan())
    profile = EsimProfileFactory(line=line, state=EsimState.ASSIGNED, confirmation_code_required=True)
    view = esim_code_view_record(
        profile=profile, line=line, by=owner, channel="email", ip_address=None, user_agent="test"
    )
    esim_code_email_send(code_view_id=view.pk)
    esim_confirmation_code_issue(profile=profile)
    esim_confirmation_code_send(profile_id=profile.pk)


def auto_renew_failed(language: str, capture: Any) -> None:
    """A declined card tried a day before the end, then an hour later for the last time."""
    fjord = plan()
    line = LineFactory(owner=customer(language), with_period=fjord, with_period__days_ago=5)
    turn_on(line, fjord, declining=True)
    start = line.expires_at - timedelta(days=1)
    with override_settings(AUTO_RENEW_DAYS_BEFORE=1), capture(execute=True):
        sweep_and_charge(start)
        sweep_and_charge(start + timedelta(hours=1))


def receipts(language: str, capture: Any) -> None:
    owner = customer(language)
    with translation.override(language):
        for kind in (OrderKind.RENEWAL, OrderKind.TOPUP):
            receipt = make_receipt(kind=kind, owner=owner)
            Line.objects.filter(pk=receipt.order.line_id).update(number=f"+479999{Line.objects.count():04d}")
            message = receipt_email(receipt, receipts_url="https://nordlys.test/receipts/")
            assert message is not None
            message.send()


def sign_in_texts(language: str, capture: Any) -> None:
    """allauth's pages send these: a sign-in code by text, and the text to a
    number someone tried to sign up with again."""
    phone = f"+474123456{LANGUAGES.index(language)}"
    customer(language, phone=phone, phone_verified=True)
    again = {"full_name": "Kari", "phone": phone, "password1": "fjord-bike-2026", "password2": "fjord-bike-2026"}
    for url, data in (("/accounts/login/code/", {"phone": phone}), ("/accounts/signup/", again)):
        with capture(execute=True):
            Client().post(
                url, data, HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=f"203.0.113.{LANGUAGES.index(language) + 1}"
            )


def account_emails(language: str, capture: Any) -> None:
    """allauth's emails: the sign-up's address check, a password reset, a
    reset asked for an unknown address and a second sign-up with the same
    address."""
    email = f"kari.{language}@example.test"
    signup = {
        "full_name": "Kari Nordmann",
        "email": email,
        "password1": "fjord-bike-2026",
        "password2": "fjord-bike-2026",
    }
    for url, data in (
        ("/accounts/signup/", signup),
        ("/accounts/password/reset/", {"email": email}),
        ("/accounts/password/reset/", {"email": f"nobody.{language}@example.test"}),
        ("/accounts/signup/", signup),
    ):
        with capture(execute=True):
            Client().post(url, data, HTTP_ACCEPT_LANGUAGE=language)


SCENARIOS: dict[str, Callable[..., None]] = {
    "welcome": welcome,
    "welcome_by_text": welcome_by_text,
    "identity_approved": identity_approved,
    "identity_rejected": identity_rejected,
    "replacement": replacement,
    "esim_ready": esim_ready,
    "esim_codes": esim_codes,
    "auto_renew_failed": auto_renew_failed,
    "receipts": receipts,
    "sign_in_texts": sign_in_texts,
    "account_emails": account_emails,
}


@pytest.fixture
def make(django_capture_on_commit_callbacks, sms_outbox) -> Callable[[str, str], dict[str, str]]:
    def run(scenario: str, language: str) -> dict[str, str]:
        mail.outbox.clear()
        sms_outbox.clear()
        cache.clear()  # allauth's rate limits
        SCENARIOS[scenario](language, django_capture_on_commit_callbacks)
        # Only what customers get: a low-stock alert to support is in English.
        emails = [email for email in mail.outbox if email.to != [settings.SUPPORT_EMAIL]]
        pieces = pieces_of(emails, [text.body for text in sms_outbox])
        keep(scenario, language, pieces, emails)
        return pieces

    return run


def keep(scenario: str, language: str, pieces: dict[str, str], emails: list[Any]) -> None:
    """Write what was made where a person can read it."""
    folder = ARTIFACTS / language
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{scenario}.txt").write_text(
        "".join(f"===== {name}\n{text}\n\n" for name, text in pieces.items()), encoding="utf-8"
    )
    for index, email in enumerate(emails):
        for _name, content, mimetype in email.attachments:
            if mimetype != "application/pdf":
                continue
            pdf = folder / f"{scenario}-{index}.pdf"
            pdf.write_bytes(content)
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(pdf.with_suffix(""))], check=True)


# --- the checks -----------------------------------------------------------------------------


def english_phrases(text: str, size: int) -> set[tuple[str, ...]]:
    """Every run of ``size`` words in ``text`` (addresses left out) with at
    most one name in it. Chinese has no English word of its own, so any one
    is left over; Norwegian shares a word or two with English ("for",
    "i"), so it takes three in a row."""
    words = [word.lower() for word in WORD.findall(ADDRESS.sub(" ", text))]
    runs = (tuple(words[i : i + size]) for i in range(len(words) - size + 1))
    return {run for run in runs if len([word for word in run if word not in NAMES]) >= min(size, 2)}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_english_sentence_is_left_in_a_norwegian_or_chinese_message(make, scenario):
    english = make(scenario, "en")
    assert english, f"{scenario} sent nothing"

    for language, size in (("nb", 3), ("zh-hans", 1)):
        translated = make(scenario, language)
        assert translated.keys() == english.keys(), language
        for piece, text in translated.items():
            left = english_phrases(english[piece], size) & english_phrases(text, size)
            assert not left, (language, piece, sorted(left)[:5], text)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_chinese_messages_use_chinese_punctuation(make, scenario):
    for piece, text in make(scenario, "zh-hans").items():
        found = ASCII_PUNCTUATION_BY_CHINESE.findall(text)
        assert not found, (piece, found, text)
