"""The customer's voucher page (充值卡), as a customer meets it: a good code
goes back to the line saying what was credited, every refusal is explained
next to the field in the customer's language and credits nothing, and only
the line's owner can reach the page or use a code on the line."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext

from subscriptions.formatting import format_nok
from subscriptions.iccid import luhn_check_digit
from subscriptions.models import (
    LedgerEntry,
    LedgerKind,
    LineStatus,
    PlanKind,
    RedemptionResult,
    ServicePeriod,
    Voucher,
    VoucherAttempt,
    VoucherBatch,
    VoucherStatus,
    VoucherValue,
)
from subscriptions.periods import OSLO
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import (
    oslo_today,
    voucher_batch_create,
    voucher_batch_void,
    voucher_redeem,
    voucher_void,
)
from tests.factories import LedgerEntryFactory, LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nb", "zh-hans"]

UNKNOWN = "We do not know this voucher code. Check the 16 digits and try again."
USED = "This voucher has already been used."
# The line's number as the messages write it, with no-break spaces.
NUMBER = "+47\xa0912\xa034\xa0567"
USED_BY_YOU = "You already used this voucher on %(number)s (%(when)s)."
VOIDED = "This voucher has been cancelled and cannot be used. The shop that sold it can help."
EXPIRED = "This voucher was valid until %(date)s and has expired."
KEEPING_ONLY = "This voucher is for a number-keeping plan, so it can only be used on a number-keeping line."
BAD_FORMAT = "A voucher code has 16 digits."
CREDITED_AMOUNT = "%(amount)s is added to the balance of %(number)s. The balance is now %(balance)s."
CREDITED_PLAN = "%(plan)s is added to %(number)s. It is now valid until %(expiry)s."
CLOSED = "This line is being cancelled or is cancelled, so a voucher cannot be used on it."


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def line(customer):
    return LineFactory(owner=customer, number="+4791234567", with_period=True)


def page_url(line: Any) -> str:
    return f"/lines/{line.pk}/voucher/"


def later(days: int = 90) -> date:
    return oslo_today() + timedelta(days=days)


def amount_codes(staff: Any, *, count: int = 2, amount_ore: int = 200_00) -> list[str]:
    _batch, codes = voucher_batch_create(
        label="Narvesen Oslo S",
        value_kind=VoucherValue.AMOUNT,
        amount_ore=amount_ore,
        plan=None,
        count=count,
        expires_on=later(),
        by=staff,
    )
    return [code for _serial, code in codes]


def plan_codes(staff: Any, plan: Any) -> list[str]:
    _batch, codes = voucher_batch_create(
        label="Rema 1000 Grünerløkka",
        value_kind=VoucherValue.PLAN,
        amount_ore=None,
        plan=plan,
        count=1,
        expires_on=later(),
        by=staff,
    )
    return [code for _serial, code in codes]


def spaced(code: str) -> str:
    """The code as printed on the card and typed off it."""
    return " ".join(code[start : start + 4] for start in range(0, 16, 4))


def not_issued(code: str) -> str:
    """A code with a good check digit that no batch holds."""
    payload = f"{(int(code[:15]) + 1) % 10**15:015d}"
    return payload + luhn_check_digit(payload)


def text(fragment: str) -> str:
    """What a person reads in an HTML fragment: no tags, entities decoded,
    runs of white space as one space (no-break spaces, inside amounts, kept)."""
    return re.sub(r"[ \t\r\n]+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def code_error(response: Any) -> str:
    """The error shown under the code field, or "" if there is none."""
    found = re.search(r'<div id="id_code_error"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    return text(found.group(1)) if found else ""


def success_messages(response: Any) -> list[str]:
    return [
        text(alert)
        for alert in re.findall(r'class="alert alert-success"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    ]


def balance_shown(response: Any) -> str:
    """The "Prepaid balance" line at the top of a line's page."""
    found = re.search(r'<p class="line-balance[^"]*">(.*?)</p>', response.content.decode(), re.S)
    return text(found.group(1)) if found else ""


def in_language(language: str, message: str, **values: Any) -> str:
    """The message as the language's catalogue has it (which must have it)."""
    with translation.override(language):
        translated = gettext(message)
        if language != "en":
            assert translated != message, f"no {language} translation of {message!r}"
        return translated % {key: value() if callable(value) else value for key, value in values.items()}


def nok(ore: int) -> str:
    return format_nok(ore)


def shown_at(moment: Any) -> str:
    return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


def speaks(customer: Any, language: str) -> None:
    customer.language = language
    customer.save(update_fields=["language"])


# --- the page -------------------------------------------------------------------------------


def test_the_line_page_links_to_the_voucher_page(signed_in, line):
    html = signed_in.get(f"/lines/{line.pk}/").content.decode()

    assert re.search(rf'class="[^"]*voucher-link[^"]*" href="{page_url(line)}"', html)


def test_the_page_shows_the_line_its_balance_and_an_empty_code_field(signed_in, line):
    LedgerEntryFactory(line=line, amount_ore=50_00)

    response = signed_in.get(page_url(line))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Redeem a voucher for +47\xa0912\xa034\xa0567" in text(html)
    assert f"Prepaid balance: {nok(50_00)}" in text(html)
    assert re.search(r'<input type="text" name="code"(?![^>]*value=)[^>]*id="id_code"', html)


# --- credited ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_amount_voucher_typed_with_spaces_goes_back_to_the_line_with_the_new_balance(
    signed_in, staff, customer, line, language
):
    speaks(customer, language)
    LedgerEntryFactory(line=line, amount_ore=50_00)
    code = amount_codes(staff)[0]

    response = signed_in.post(page_url(line), {"code": f" {spaced(code)} "})

    assert response.status_code == 302
    assert response["Location"] == f"/lines/{line.pk}/"
    page = signed_in.get(response["Location"])
    with translation.override(language):
        amount, balance = nok(200_00), nok(250_00)
    assert success_messages(page) == [
        in_language(language, CREDITED_AMOUNT, amount=amount, number=NUMBER, balance=balance)
    ]
    assert balance in balance_shown(page)
    assert ledger_balance(line=line) == 250_00
    voucher = Voucher.objects.get(serial=1)
    assert (voucher.status, voucher.redeemed_by, voucher.line) == (VoucherStatus.REDEEMED, customer, line)
    attempt = VoucherAttempt.objects.get()
    assert (attempt.result, attempt.ip_address, attempt.channel) == (RedemptionResult.CREDITED, "127.0.0.1", "web")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_plan_voucher_goes_back_to_the_line_with_its_new_expiry(signed_in, staff, customer, line, language):
    speaks(customer, language)
    plan = PlanFactory(
        code="fjord-month-voucher", name_en="Fjord 10 GB", name_nb="Fjord 10 GB i måneden", name_zh_hans="峡湾 10 GB"
    )
    before = line.expires_at
    code = plan_codes(staff, plan)[0]

    response = signed_in.post(page_url(line), {"code": code}, follow=True)

    line.refresh_from_db()
    assert response.redirect_chain == [(f"/lines/{line.pk}/", 302)]
    assert line.expires_at == plan.end_of_period_starting(before)
    plan_name = {"en": "Fjord 10 GB", "nb": "Fjord 10 GB i måneden", "zh-hans": "峡湾 10 GB"}[language]
    with translation.override(language):
        expiry = shown_at(line.expires_at)
    assert success_messages(response) == [
        in_language(language, CREDITED_PLAN, plan=plan_name, number=NUMBER, expiry=expiry)
    ]
    assert ServicePeriod.objects.filter(line=line, source="voucher", plan=plan).count() == 1
    assert not LedgerEntry.objects.filter(kind=LedgerKind.VOUCHER).exists()


# --- refused ----------------------------------------------------------------------------------


def refusal(case: str, *, staff: Any, line: Any) -> tuple[str, Callable[[str], str], str | None]:
    """Make a code refused for the reason ``case`` names. Returns the code
    as the customer types it, the message the page should show (in a given
    language) and the result the attempt is recorded with (None: the form
    refuses it, nothing is looked up or counted)."""
    codes = amount_codes(staff)
    if case == "unknown":
        return spaced(not_issued(codes[0])), lambda lang: in_language(lang, UNKNOWN), RedemptionResult.UNKNOWN
    if case == "mistyped check digit":
        mistyped = codes[0][:-1] + str((int(codes[0][-1]) + 1) % 10)
        return mistyped, lambda lang: in_language(lang, UNKNOWN), RedemptionResult.UNKNOWN
    if case == "used by someone else":
        other = LineFactory(with_period=True)
        voucher_redeem(user=other.owner, line=other, code=codes[0], ip_address="198.51.100.1")
        return codes[0], lambda lang: in_language(lang, USED), RedemptionResult.USED
    if case == "used by you":
        voucher_redeem(user=line.owner, line=line, code=codes[0], ip_address="198.51.100.1")
        redeemed_at = Voucher.objects.get(serial=1).redeemed_at
        return (
            codes[0],
            lambda lang: in_language(lang, USED_BY_YOU, number=NUMBER, when=lambda: shown_at(redeemed_at)),
            RedemptionResult.USED,
        )
    if case == "expired":
        yesterday = oslo_today() - timedelta(days=1)
        VoucherBatch.objects.update(expires_on=yesterday)
        return (
            codes[0],
            lambda lang: in_language(lang, EXPIRED, date=lambda: formats.date_format(yesterday, "DATE_FORMAT")),
            RedemptionResult.EXPIRED,
        )
    if case == "wrong kind":
        keep = plan_codes(staff, NumberKeepingPlanFactory(code="keep-quarter-voucher"))
        return keep[0], lambda lang: in_language(lang, KEEPING_ONLY), RedemptionResult.WRONG_KIND
    if case == "voided":
        voucher_void(voucher=Voucher.objects.get(serial=1), by=staff, reason="Card stolen from the shop")
        return codes[0], lambda lang: in_language(lang, VOIDED), RedemptionResult.VOIDED
    if case == "batch voided":
        voucher_batch_void(batch=Voucher.objects.get(serial=1).batch, by=staff, reason="Shop closed")
        return codes[0], lambda lang: in_language(lang, VOIDED), RedemptionResult.VOIDED
    if case == "throttled":
        # Five wrong codes twenty minutes ago: the sixth try waits forty minutes.
        twenty_minutes_ago = timezone.now() - timedelta(minutes=20)
        for _ in range(5):
            VoucherAttempt.objects.create(
                user=line.owner, line=line, result=RedemptionResult.UNKNOWN, created_at=twenty_minutes_ago
            )

        def wait(lang: str) -> str:
            singular = "Too many wrong voucher codes. Try again in %(minutes)d minute."
            plural = "Too many wrong voucher codes. Try again in %(minutes)d minutes."
            with translation.override(lang):
                translated = ngettext(singular, plural, 40)
            if lang != "en":
                assert translated != plural, f"no {lang} translation of {plural!r}"
            return translated % {"minutes": 40}

        return codes[0], wait, RedemptionResult.THROTTLED
    assert case == "bad format"
    return codes[0][:12], lambda lang: in_language(lang, BAD_FORMAT), None


CASES = [
    "unknown",
    "mistyped check digit",
    "used by someone else",
    "used by you",
    "expired",
    "wrong kind",
    "voided",
    "batch voided",
    "throttled",
    "bad format",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES)
def test_a_refused_code_is_explained_next_to_the_field_and_credits_nothing(
    signed_in, staff, customer, line, case, language
):
    typed, message, result = refusal(case, staff=staff, line=line)
    speaks(customer, language)
    balance, expiry = ledger_balance(line=line), line.expires_at
    statuses = dict(Voucher.objects.values_list("pk", "status"))
    attempts = VoucherAttempt.objects.count()

    response = signed_in.post(page_url(line), {"code": typed})

    html = response.content.decode()
    assert response.status_code == 200
    assert code_error(response) == message(language)
    assert 'aria-invalid="true"' in html
    line.refresh_from_db()
    assert (ledger_balance(line=line), line.expires_at) == (balance, expiry)
    assert dict(Voucher.objects.values_list("pk", "status")) == statuses
    if result is None:
        assert VoucherAttempt.objects.count() == attempts
    else:
        assert VoucherAttempt.objects.count() == attempts + 1
        newest = VoucherAttempt.objects.order_by("-id").first()
        assert newest is not None
        assert (newest.result, newest.user, newest.line) == (result, customer, line)


def test_a_code_that_is_refused_can_still_be_corrected_on_the_same_page(signed_in, staff, line):
    code = amount_codes(staff)[0]
    signed_in.post(page_url(line), {"code": spaced(not_issued(code))})

    response = signed_in.post(page_url(line), {"code": spaced(code)})

    assert response.status_code == 302
    assert ledger_balance(line=line) == 200_00


@pytest.mark.parametrize("status", [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED])
def test_a_line_being_cancelled_says_so_and_takes_no_code(signed_in, staff, line, status):
    code = amount_codes(staff)[0]
    line.status = status
    line.save(update_fields=["status"])

    page = signed_in.get(page_url(line))
    sent = signed_in.post(page_url(line), {"code": code})

    for response in (page, sent):
        assert response.status_code == 200
        assert CLOSED in text(response.content.decode())
        assert 'name="code"' not in response.content.decode()
    assert Voucher.objects.get(serial=1).status == VoucherStatus.ACTIVE
    assert not VoucherAttempt.objects.exists()
    assert ledger_balance(line=line) == 0


# --- only the owner ---------------------------------------------------------------------------


def test_another_customer_gets_a_404_for_the_page(line):
    stranger = Client()
    stranger.force_login(UserFactory())

    assert stranger.get(page_url(line)).status_code == 404


def test_another_customer_cannot_redeem_on_a_line_not_theirs_and_the_code_stays_unused(staff, line):
    code = amount_codes(staff)[0]
    stranger = Client()
    stranger.force_login(UserFactory())

    response = stranger.post(page_url(line), {"code": code})

    assert response.status_code == 404
    assert Voucher.objects.get(serial=1).status == VoucherStatus.ACTIVE
    assert not VoucherAttempt.objects.exists()
    assert not LedgerEntry.objects.exists()
    # The owner can still use it.
    owner = Client()
    owner.force_login(line.owner)
    assert owner.post(page_url(line), {"code": code}).status_code == 302
    assert ledger_balance(line=line) == 200_00


def test_a_line_that_does_not_exist_is_a_404(signed_in):
    assert signed_in.get("/lines/999999/voucher/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_and_nothing_is_redeemed(client, staff, line):
    code = amount_codes(staff)[0]

    page = client.get(page_url(line))
    sent = client.post(page_url(line), {"code": code})

    for response in (page, sent):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={page_url(line)}"
    assert Voucher.objects.get(serial=1).status == VoucherStatus.ACTIVE
    assert not VoucherAttempt.objects.exists()


def test_the_plan_voucher_of_a_number_keeping_line_is_taken_on_it(signed_in, staff, customer):
    # The other direction of "wrong kind": the right line takes the same code.
    plan = NumberKeepingPlanFactory(code="keep-quarter-voucher")
    keeping = LineFactory(owner=customer, kind=PlanKind.NUMBER_KEEPING, number="+4741234567", with_period=plan)
    code = plan_codes(staff, plan)[0]

    response = signed_in.post(page_url(keeping), {"code": code}, follow=True)

    keeping.refresh_from_db()
    assert success_messages(response) == [
        f"Keep my number, 3 months is added to +47\xa0412\xa034\xa0567. Your number is now kept until "
        f"{shown_at(keeping.expires_at)}."
    ]


# --- the address the throttle counts by ------------------------------------------------------

PROXY = "10.0.0.2"


def through_the_proxy(client: Client, line: Any, code: str, *, address: str) -> Any:
    """A post the way it reaches us in production: from the TLS proxy, which
    appends the customer's address to X-Forwarded-For."""
    return client.post(page_url(line), {"code": code}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


def test_behind_the_proxy_wrong_codes_of_others_do_not_throttle_a_new_customer(settings, staff, customer, line):
    """Twenty wrong codes an hour from four customers behind the one proxy
    reach the per-address limit only if all of them count as the proxy."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    [good, unknown] = amount_codes(staff)
    unknown = not_issued(unknown)
    for n in range(4):
        guesser = LineFactory(with_period=True)
        client = Client()
        client.force_login(guesser.owner)
        for _ in range(5):
            assert code_error(through_the_proxy(client, guesser, unknown, address=f"198.51.100.{n + 1}"))
    assert VoucherAttempt.objects.filter(result=RedemptionResult.UNKNOWN).count() == 20

    client = Client()
    client.force_login(customer)
    response = through_the_proxy(client, line, good, address="203.0.113.9")

    assert response.status_code == 302
    assert ledger_balance(line=line) == 200_00
    attempt = VoucherAttempt.objects.get(result=RedemptionResult.CREDITED)
    assert attempt.ip_address == "203.0.113.9"
    assert set(VoucherAttempt.objects.filter(result=RedemptionResult.UNKNOWN).values_list("ip_address", flat=True)) == {
        f"198.51.100.{n + 1}" for n in range(4)
    }


def test_behind_the_proxy_twenty_wrong_codes_from_one_address_throttle_that_address(settings, staff, customer, line):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    [good, unknown] = amount_codes(staff)
    for _ in range(4):
        guesser = LineFactory(with_period=True)
        client = Client()
        client.force_login(guesser.owner)
        for _ in range(5):
            through_the_proxy(client, guesser, not_issued(unknown), address="198.51.100.7")

    client = Client()
    client.force_login(customer)
    response = through_the_proxy(client, line, good, address="198.51.100.7")

    assert response.status_code == 200
    assert code_error(response).startswith("Too many wrong voucher codes.")
    assert ledger_balance(line=line) == 0


def test_without_a_trusted_proxy_a_forwarded_address_the_client_wrote_is_ignored(staff, signed_in, line):
    [good, _other] = amount_codes(staff)

    signed_in.post(page_url(line), {"code": good}, REMOTE_ADDR="192.0.2.44", HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert VoucherAttempt.objects.get().ip_address == "192.0.2.44"
