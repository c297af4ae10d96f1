"""SMS commands end to end, on PostgreSQL: the gateway's signed post to
/sms/inbound/, the real worker answering over Redis, and the reply reaching
the gateway's fake server (tests/fakes/sms_gateway.py) through
portal.sms.HttpGatewayBackend. Replays and parallel texts from one number
are answered once and within the number's limit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from subscriptions.models import AuditEvent, InboundSms, InboundStatus, LedgerKind, VoucherAttempt, VoucherValue
from subscriptions.selectors.sms_commands import texts_stopped
from tests.concurrency import at_once
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory
from tests.fakes.sms_gateway import LocalSmsGateway
from tests.services.vouchers import codes
from tests.sms_texts import URL, signed, text_body

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"zh-hans": "+4791234567", "nb": "+4741234567", "en": "+4746123456"}


@pytest.fixture
def lines() -> dict[str, Any]:
    plan = PlanFactory(code="fjord-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB")
    made = {}
    for language, number in LANGUAGES.items():
        line = LineFactory(owner=UserFactory(language=language), number=number, with_period=plan)
        LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=123_45)
        made[language] = line
    return made


@pytest.fixture
def replies(sms_gateway: LocalSmsGateway, wait_until: Any) -> Any:
    """``replies(number, count)`` waits until the gateway got ``count``
    texts for the number and returns them."""

    def replies(number: str, count: int = 1) -> list[str]:
        def got() -> list[str]:
            texts = [request["json"]["text"] for request in sms_gateway.received if request["json"]["to"] == number]
            return texts if len(texts) >= count else []

        return wait_until(got, what=f"{count} replies to {number}")

    return replies


def post(sender: str, words: str, **changes: Any) -> int:
    return Client().post(URL, **signed(text_body(sender, words, **changes))).status_code


EXPECTED = [
    ("zh-hans", "余额", "号码 +47 912 34 567 余额：123.45 克朗。"),
    ("nb", "SALDO", "Saldo på +47 412 34 567: 123,45 kr."),
    ("en", "ＢＡＬＡＮＣＥ", "Balance on +47 461 23 456: NOK 123.45."),
    ("zh-hans", "状态", "+47 912 34 567：峡湾 10 GB，使用中。"),
    ("nb", "Status", "+47 412 34 567: Fjord 10 GB, aktiv."),
    ("en", "status", "+47 461 23 456: Fjord 10 GB, active."),
    ("zh-hans", "帮助", "发送 余额、状态、充值+充值卡号、停止 或 开始 到 2290。"),
    ("nb", "hjelp", "Send SALDO, STATUS, PÅFYLL og en kode, STOPP eller START til 2290."),
    ("en", "HELP", "Text BALANCE, STATUS, TOPUP and a voucher code, STOP or START to 2290."),
    ("zh-hans", "停止", "我们将不再通过短信向您发送提醒和通知。"),
    ("nb", "STOPP", "Du får ikke flere påminnelser eller varsler på SMS fra oss."),
    ("en", "stop", "You will get no more reminders or alerts by text from us."),
]


@pytest.mark.parametrize(("language", "words", "beginning"), EXPECTED)
def test_each_command_is_answered_by_the_worker_through_the_gateway_in_the_owners_language(
    celery_worker, lines, replies, language, words, beginning
):
    line = lines[language]

    assert post(line.number, words) == 200

    [reply] = replies(line.number)
    assert reply.startswith(beginning)
    assert AuditEvent.objects.filter(line=line, action="sms_command").count() == 1


def test_a_reply_comes_from_the_service_number_so_the_customer_can_text_back(
    celery_worker, lines, sms_gateway, replies, settings
):
    number = lines["nb"].number
    post(number, "SALDO")
    replies(number)

    [request] = [request for request in sms_gateway.received if request["json"]["to"] == number]
    assert request["json"]["from"] == settings.SMS_SERVICE_NUMBER == "2290"


def test_stop_then_start_by_text(celery_worker, lines, replies):
    number = lines["en"].number
    post(number, "STOP")
    replies(number, 1)
    assert texts_stopped(msisdn=number)

    post(number, "START")

    assert replies(number, 2)[1].startswith("You will get reminders and alerts by text again.")
    assert not texts_stopped(msisdn=number)


def test_topup_by_text_with_a_good_and_a_bad_code(celery_worker, lines, replies):
    [code] = codes(VoucherValue.AMOUNT, None)
    number = lines["nb"].number

    post(number, f"påfyll {code}")
    [credited] = replies(number, 1)
    post(number, "påfyll 1234 5678 9012 3456")

    refused = replies(number, 2)[1]
    assert credited.startswith("200,00 kr er lagt til")
    assert refused == "Vi kjenner ikke igjen denne påfyllingskoden. Sjekk de 16 sifrene og prøv igjen."
    assert sorted(VoucherAttempt.objects.values_list("result", flat=True)) == ["credited", "unknown"]


def test_an_unknown_number_gets_the_short_help_text(celery_worker, lines, replies):
    assert post("+4790000001", "余额") == 200

    assert replies("+4790000001") == ["此号码不是 Nordlys Mobil 的号码。帮助：http://127.0.0.1:8000/help/"]


def test_a_forged_signature_is_refused_and_nothing_is_sent(celery_worker, lines, sms_gateway):
    status = Client().post(URL, **signed(text_body(lines["en"].number, "BALANCE"), secret="forged")).status_code

    assert status == 400
    assert not InboundSms.objects.exists()
    assert sms_gateway.received == []


def test_parallel_replays_of_one_message_id_are_answered_once(celery_worker, lines, replies, finished_tasks):
    number = lines["zh-hans"].number
    body = text_body(number, "余额", message_id="gw-replayed")

    statuses = at_once([lambda: Client().post(URL, **signed(body)).status_code for _ in range(8)])

    assert statuses == [200] * 8
    assert len(replies(number)) == 1
    assert InboundSms.objects.filter(message_id="gw-replayed").count() == 1
    assert AuditEvent.objects.filter(action="sms_command").count() == 1


def test_parallel_texts_from_one_number_are_answered_only_up_to_its_limit(
    celery_worker, lines, replies, settings, sms_gateway, wait_until
):
    settings.SMS_COMMANDS_PER_WINDOW = 3
    number = lines["en"].number

    statuses = at_once([lambda: post(number, "BALANCE") for _ in range(10)])

    assert statuses == [200] * 10
    assert len(replies(number, 3)) == 3
    counts = {status: InboundSms.objects.filter(status=status).count() for status in InboundStatus.values}
    assert counts[InboundStatus.THROTTLED] == 7
    wait_until(lambda: InboundSms.objects.filter(status=InboundStatus.ANSWERED).count() == 3, what="three answers")
    assert len([request for request in sms_gateway.received if request["json"]["to"] == number]) == 3
