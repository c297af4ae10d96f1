"""What the customer pages say, in each of the three languages: expired
lines, numbers, labels, the language menu, amounts and moments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import polib
import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from subscriptions.formatting import format_data, format_moment, format_nok, format_number, join_sentences
from subscriptions.models import (
    ChargeStatus,
    LedgerKind,
    LedgerText,
    LineStatus,
    Order,
    OrderKind,
    PaymentState,
    PlanKind,
    PlanPeriod,
    VoucherValue,
    ledger_params_for_order,
)
from subscriptions.periods import OSLO
from subscriptions.services.checkout import order_description
from subscriptions.services.vouchers import voucher_batch_create
from tests.factories import (
    LedgerEntryFactory,
    LineFactory,
    NumberKeepingPlanFactory,
    PlanFactory,
    UsageRecordFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nb", "zh-hans"]
NBSP = "\xa0"
# Each language's words for "renewing before expiry loses no days" and "so it
# never lapses": an expired line must show neither.
RENEW_EARLY = {"en": "loses no days", "nb": "mister du ingen dager", "zh-hans": "不会损失"}
NEVER_LAPSES = {"en": "never lapses", "nb": "aldri stanser", "zh-hans": "不会中断"}


def page(client, url, language):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return unescape(response.content.decode())


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def signed_in_as(client, language):
    customer = UserFactory(language=language)
    client.force_login(customer)
    return customer


# --- expired lines ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_expired_line_offers_neither_early_renewal_nor_never_ending_auto_renew(client, language):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True, with_period__days_ago=40)
    assert line.status == LineStatus.EXPIRED

    for url in (f"/lines/{line.pk}/", f"/lines/{line.pk}/auto-renew/", f"/lines/{line.pk}/renew/"):
        html = page(client, url, language)
        assert RENEW_EARLY[language] not in html, url
        assert NEVER_LAPSES[language] not in html, url


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_line_past_its_expiry_before_the_sweep_reads_as_expired_on_the_renew_page(client, language):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)
    line.expires_at -= timedelta(days=60)
    line.save(update_fields=["expires_at"])
    assert line.status == LineStatus.ACTIVE

    html = page(client, f"/lines/{line.pk}/renew/", language)

    assert RENEW_EARLY[language] not in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_line_that_has_not_expired_still_says_renewing_early_loses_nothing(client, language):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)

    assert RENEW_EARLY[language] in page(client, f"/lines/{line.pk}/", language)
    assert NEVER_LAPSES[language] in page(client, f"/lines/{line.pk}/auto-renew/", language)


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "to keep your number"), ("nb", "for å beholde nummeret"), ("zh-hans", "以保留号码")],
)
def test_an_expired_number_keeping_line_says_when_the_number_is_lost(client, settings, language, words):
    settings.NUMBER_KEEPING_GRACE_DAYS = 30
    customer = signed_in_as(client, language)
    line = LineFactory(
        owner=customer, kind=PlanKind.NUMBER_KEEPING, with_period=NumberKeepingPlanFactory(), with_period__days_ago=100
    )
    with translation.override(language):
        lost_on = format_moment((line.expires_at + timedelta(days=30)).astimezone(OSLO))

    for url in ("/dashboard/", f"/lines/{line.pk}/"):
        html = text_of(page(client, url, language))
        assert words in html, url
        assert lost_on in html, url


# --- numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_are_spaced_for_reading_and_never_split(client, language):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, number="+4746123456", with_period=True)
    UsageRecordFactory(line=line, kind="voice", quantity=60, destination="+4740811623")

    for url in ("/dashboard/", f"/lines/{line.pk}/", f"/lines/{line.pk}/renew/", f"/lines/{line.pk}/top-up/"):
        html = page(client, url, language)
        assert f"+47{NBSP}461{NBSP}23{NBSP}456" in html, url
        assert "+47 461 23 456" not in html, url
    usage = page(client, f"/lines/{line.pk}/usage/", language)
    assert f"+47{NBSP}408{NBSP}11{NBSP}623" in usage
    assert "+4740811623" not in usage


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sms_code_page_shows_the_number_spaced_and_unbroken(
    client, sms_outbox, django_capture_on_commit_callbacks, language
):
    UserFactory(phone="+4741234567", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/code/", {"phone": "412 34 567"}, HTTP_ACCEPT_LANGUAGE=language)

    html = page(client, response["Location"], language)

    assert f"+47{NBSP}412{NBSP}34{NBSP}567" in html
    assert ">+4741234567<" not in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_sentences_the_services_write_keep_a_number_on_one_line(client, language):
    """A voucher's message (and its "already used"), a balance-history entry
    and what an order buys name the number as the pages do: with no-break
    spaces, so a phone never wraps it."""
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, number="+4746123456", with_period=True)
    whole, broken = f"+47{NBSP}461{NBSP}23{NBSP}456", "+47 461 23 456"
    _batch, [(_serial, code)] = voucher_batch_create(
        label="Narvesen",
        value_kind=VoucherValue.AMOUNT,
        amount_ore=100_00,
        plan=None,
        count=1,
        expires_on=(timezone.now() + timedelta(days=30)).date(),
        by=UserFactory(is_staff=True),
    )
    LedgerEntryFactory(
        line=line,
        kind=LedgerKind.RENEWAL,
        amount_ore=-99_00,
        params=ledger_params_for_order(plan_names={"en": "Fjord"}, number=line.number),
    )
    order = Order.objects.create(
        owner=customer, line=line, kind=OrderKind.TOPUP, amount_ore=100_00, idempotency_key="top-up"
    )

    for attempt in ("credited", "already used"):
        response = client.post(f"/lines/{line.pk}/voucher/", {"code": code}, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        alerts = re.findall(
            r'class="[^"]*(?:alert|invalid-feedback)[^"]*"[^>]*>(.*?)</div>', unescape(response.content.decode()), re.S
        )
        said = " ".join(re.sub(r"<[^>]+>", "", alert) for alert in alerts)
        assert whole in said and broken not in said, attempt
    spending = page(client, f"/lines/{line.pk}/spending/", language)
    assert "Fjord" in spending and broken not in spending
    with translation.override(language):
        assert whole in order_description(order)


# --- labels and names --------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_field_is_labelled_for_what_it_takes_not_like_the_button(client, language):
    html = page(client, "/accounts/login/", language)

    label = re.search(r'<label[^>]*for="id_login"[^>]*>(.*?)</label>', html, re.S)
    button = re.search(r'<button[^>]*type="submit"[^>]*>(.*?)</button>', html, re.S)
    assert label and button
    label_text, button_text = text_of(label[1]).strip(), text_of(button[1]).strip()
    assert label_text and label_text != button_text
    assert {"en": "mobile", "nb": "mobil", "zh-hans": "手机"}[language] in label_text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_menu_names_each_language_in_itself(client, language):
    html = page(client, "/", language)

    names = re.findall(r'name="language" value="([\w-]+)"[^>]*>([^<]+)</button>', html)
    assert dict(names) == {"zh-hans": "简体中文", "nb": "Norsk bokmål", "en": "English"}


def test_chinese_pages_call_two_factor_by_one_name(client):
    signed_in_as(client, "zh-hans")

    html = page(client, "/accounts/2fa/", "zh-hans")

    assert "两步验证" in html
    assert "双因素" not in html and "双重" not in html


@pytest.mark.parametrize(
    "text",
    [
        "Two-Factor Authentication",
        "Your account is protected by two-factor authentication. Please enter an authenticator code:",
        "To protect your account with two-factor authentication, scan the QR code below with your "
        "authenticator app. Then, input the verification code generated by the app below.",
        "Set up two-factor authentication before you open the support admin.",
    ],
)
def test_the_authentication_library_pages_use_the_same_chinese_name_for_two_factor(text):
    with translation.override("zh-hans"):
        translated = gettext(text)
    assert "两步验证" in translated


# --- amounts and moments -------------------------------------------------------------


def test_an_english_moment_never_ends_in_a_full_stop():
    """A sentence that ends with a moment gets one full stop, not "p.m.."."""
    with translation.override("en"):
        written = format_moment(datetime(2026, 11, 22, 17, 45, tzinfo=OSLO))
    assert not written.endswith(".")


def test_chinese_sums_group_their_thousands():
    with translation.override("zh-hans"):
        assert format_nok(2199_00) == f"2,199.00{NBSP}克朗"


@pytest.mark.parametrize(
    ("language", "unit", "not_unit"), [("en", "NOK", " kr"), ("nb", "kr", "NOK"), ("zh-hans", "克朗", " kr")]
)
def test_the_top_up_error_writes_sums_as_the_rest_of_the_page(client, language, unit, not_unit):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)

    response = client.post(f"/lines/{line.pk}/top-up/", {"amount": "1"}, HTTP_ACCEPT_LANGUAGE=language)

    errors = " ".join(
        re.findall(
            r'class="[^"]*(?:invalid-feedback|alert-danger)[^"]*"[^>]*>(.*?)</',
            unescape(response.content.decode()),
            re.S,
        )
    )
    assert unit in errors
    assert not_unit not in errors


@pytest.mark.parametrize(("language", "unit"), [("en", "NOK"), ("nb", "kr"), ("zh-hans", "克朗")])
def test_the_low_balance_field_names_the_unit_the_page_uses(client, language, unit):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)
    LedgerEntryFactory(line=line, amount_ore=2199_00)

    html = page(client, f"/lines/{line.pk}/", language)

    assert re.search(rf'class="input-group-text amount-unit">{unit}</span>', html)
    with translation.override(language):
        assert format_nok(2199_00) in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_low_balance_amount_out_of_range_names_the_range_in_the_pages_sums(client, language):
    """Not Django's "less than or equal to 100000": the range in kroner,
    written as every sum on the page."""
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)

    response = client.post(f"/lines/{line.pk}/low-balance-alert/", {"amount": "200000"}, HTTP_ACCEPT_LANGUAGE=language)

    html = unescape(response.content.decode())
    with translation.override(language):
        assert format_nok(0) in html and format_nok(100_000_00) in html
    assert "100000" not in html


# --- one English text, two meanings ---------------------------------------------------


@pytest.mark.parametrize(
    ("language", "plan_period", "calendar_month"),
    [("en", "Month", "Month"), ("nb", "Måned", "Måned"), ("zh-hans", "月", "月份")],
)
def test_a_plans_month_and_the_usage_filters_month_are_each_worded_for_their_meaning(
    client, language, plan_period, calendar_month
):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=PlanFactory(period=PlanPeriod.MONTH))

    renew = page(client, f"/lines/{line.pk}/renew/", language)
    usage = page(client, f"/lines/{line.pk}/usage/", language)

    assert re.search(rf'<span class="badge text-bg-light border">{plan_period}</span>', renew)
    assert re.search(rf'<label[^>]*for="id_month"[^>]*>{calendar_month}</label>', usage)


@pytest.mark.parametrize(
    ("language", "line_word", "payment_word"), [("nb", "Oppsagt", "Avbrutt"), ("zh-hans", "已注销", "已取消")]
)
def test_a_cancelled_line_and_a_cancelled_payment_are_different_words(language, line_word, payment_word):
    with translation.override(language):
        assert str(LineStatus.CANCELLED.label) == line_word
        assert str(PaymentState.CANCELLED.label) == payment_word
        assert str(ChargeStatus.CANCELLED.label) == payment_word


# --- Chinese: the words customers in Norway use ---------------------------------------


def test_chinese_customer_pages_say_number_not_line_and_use_the_common_terms(client):
    customer = signed_in_as(client, "zh-hans")
    line = LineFactory(owner=customer, with_period=True)
    keeper = LineFactory(
        owner=customer, kind=PlanKind.NUMBER_KEEPING, with_period=NumberKeepingPlanFactory(), with_period__days_ago=100
    )
    urls = ["/help/", "/plans/", "/dashboard/", "/receipts/"]
    for pk in (line.pk, keeper.pk):
        urls += [
            f"/lines/{pk}/{rest}"
            for rest in ("", "usage/", "spending/", "renew/", "top-up/", "voucher/", "auto-renew/")
        ]

    for url in urls:
        html = page(client, url, "zh-hans")
        assert "我的号码" in html, url
        for calque in ("线路", "QR 码", "客户服务", "客户门户", "账目明细", "注销审核中"):
            assert calque not in html, (url, calque)


def test_no_chinese_text_a_customer_reads_uses_the_calques():
    """Emails and SMS too: every entry of the Chinese catalogue outside the
    (English-only) support admin."""
    catalogue = polib.pofile(str(settings.BASE_DIR / "locale/zh_Hans/LC_MESSAGES/django.po"))
    for entry in catalogue:
        places = [place for place, _ in entry.occurrences]
        if places and all("admin" in place for place in places):
            continue
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for calque in ("线路", "QR 码", "客户服务", "客户门户", "注销审核中"):
            assert not any(calque in text for text in texts), (entry.msgid, calque)


# --- the sign-in pages and Norwegian idiom ---------------------------------------------

SIGN_IN_PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/login/code/", "/accounts/password/reset/"]


@pytest.mark.parametrize(
    ("language", "unwanted"),
    [
        ("nb", ["Vennligst", " enda ", "epost", "Glemt ditt passord"]),
        ("zh-hans", ["你", "账号", "帐户", "请求码", "登录代码"]),
    ],
)
def test_the_sign_in_pages_speak_one_register(client, language, unwanted):
    for url in SIGN_IN_PAGES:
        text = text_of(page(client, url, language))
        for word in unwanted:
            assert word not in text, (url, word)


def test_norwegian_says_a_card_is_charged_mva_and_behold_nummeret():
    """Over every Norwegian text: a card is *belastet* (a card that is
    *trukket* is swiped), VAT is "mva.", the plan is "Behold nummeret"."""
    catalogue = polib.pofile(str(settings.BASE_DIR / "locale/nb/LC_MESSAGES/django.po"))
    unwanted = re.compile(
        r"trekke?r? (vi )?kortet|[Nn]este trekk|Trekkes|trukket kortet|\bMVA\b|[Nn]ummerbevaring|for livet"
    )
    for entry in catalogue:
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for text in texts:
            assert not unwanted.search(text), (entry.msgid, text)


# --- punctuation, spacing and numbers -------------------------------------------------


@pytest.mark.parametrize(
    ("language", "label"), [("en", "Prepaid balance:"), ("nb", "Forhåndsbetalt saldo:"), ("zh-hans", "预付余额：")]
)
def test_the_balance_label_carries_its_own_colon(client, language, label):
    customer = signed_in_as(client, language)
    line = LineFactory(owner=customer, with_period=True)

    for url in (
        "/dashboard/",
        f"/lines/{line.pk}/",
        f"/lines/{line.pk}/spending/",
        f"/lines/{line.pk}/top-up/",
        f"/lines/{line.pk}/voucher/",
    ):
        text = text_of(page(client, url, language))
        assert label in text, url
        assert "预付余额 :" not in text and "预付余额:" not in text


def test_chinese_sentences_follow_each_other_without_a_space():
    with translation.override("zh-hans"):
        assert join_sentences("第一句。", "", "第二句。") == "第一句。第二句。"
    with translation.override("nb"):
        assert join_sentences("Første.", "Andre.") == "Første. Andre."


def test_the_chinese_auto_renew_terms_have_no_space_after_a_full_stop(client):
    customer = signed_in_as(client, "zh-hans")
    line = LineFactory(owner=customer, with_period=True)

    html = page(client, f"/lines/{line.pk}/auto-renew/", "zh-hans")

    terms = re.search(r'class="[^"]*auto-renew-terms">(.*?)</p>', html, re.S)
    assert terms and "。" in terms[1]
    assert "。 " not in terms[1]
    assert "前 12 小时扣款" in terms[1]


@pytest.mark.parametrize(("kb", "shown"), [(10 * 1024 * 1024, "10 GB"), (1536 * 1024, "1.50 GB")])
def test_whole_gigabytes_need_no_decimals(kb, shown):
    with translation.override("en"):
        assert format_data(kb) == shown


# --- the balance history in the reader's language -----------------------------------------


def test_the_balance_history_follows_the_readers_language_not_the_writers(client, customer, plan):
    """A renewal paid from the balance while the customer read Norwegian,
    a card top-up, then the customer switches to Chinese: the whole history
    reads in Chinese, the plan under its Chinese name."""
    plan.name_zh_hans = "峡湾月套餐"
    plan.save()
    line = LineFactory(owner=customer, with_period=plan)
    LedgerEntryFactory(
        line=line,
        kind=LedgerKind.RENEWAL,
        amount_ore=-plan.price_ore,
        params=ledger_params_for_order(
            plan_names={"en": plan.name_en, "nb": plan.name_nb, "zh_hans": plan.name_zh_hans}, number=line.number
        ),
    )
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, params={"text": LedgerText.CARD_TOPUP})
    client.force_login(customer)

    for language in ("nb", "zh-hans"):
        customer.language = language
        customer.save(update_fields=["language"])
        html = page(client, f"/lines/{line.pk}/spending/", language)
        with translation.override(language):
            bought = gettext("%(plan)s for %(number)s") % {
                "plan": {"nb": plan.name_nb, "zh-hans": "峡湾月套餐"}[language],
                "number": format_number(line.number),
            }
            topped_up = gettext("Card top-up")
        assert bought in html and topped_up in html, language
