"""Texts to the service number, posted by the SMS gateway to /sms/inbound/
and answered (tasks run eagerly here; tests/services/test_sms_commands_worker.py
does the same with a real worker and gateway)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import (
    AuditEvent,
    InboundSms,
    InboundStatus,
    LedgerKind,
    Line,
    RedemptionResult,
    VoucherAttempt,
    VoucherValue,
)
from subscriptions.selectors.sms_commands import texts_stopped
from subscriptions.services import sms_commands
from subscriptions.tasks import finish_lost_customer_work
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory, usage_bulk_create
from tests.services.vouchers import codes
from tests.sms_texts import URL, signed, text_body

pytestmark = pytest.mark.django_db


def make_line(language: str, number: str) -> Any:
    owner = UserFactory(language=language)
    plan = PlanFactory(
        code=f"fjord-{language}", name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB"
    )
    line = LineFactory(owner=owner, number=number, with_period=plan)
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=123_45)
    usage_bulk_create(line, 2, quantity=1024 * 1024)  # 2 GB used of 10
    return line


@pytest.fixture
def wang():
    return make_line("zh-hans", "+4791234567")


@pytest.fixture
def kari():
    return make_line("nb", "+4741234567")


@pytest.fixture
def alex():
    return make_line("en", "+4746123456")


@pytest.fixture
def text(client: Client, django_capture_on_commit_callbacks: Any, sms_outbox: list) -> Any:
    """``text(sender, words)`` posts a signed text as the gateway would and
    returns the replies the sender got, in order."""

    def text(sender: str, words: str, **changes: Any) -> list[str]:
        before = len(sms_outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, **signed(text_body(sender, words, **changes)))
        assert response.status_code == 200
        return [message.body for message in sms_outbox[before:] if message.to == sender]

    return text


# --- the commands, in the owner's language ---------------------------------------------


@pytest.mark.parametrize("words", ["余额", "BALANCE", "saldo", "ＢＡＬＡＮＣＥ"])
def test_balance_answers_in_the_owners_language_whatever_the_word(text, wang, words):
    assert text(wang.number, words) == ["号码 +47 912 34 567 余额：123.45 克朗。"]


def test_balance_in_norwegian_and_english(text, kari, alex):
    assert text(kari.number, "SALDO") == ["Saldo på +47 412 34 567: 123,45 kr."]
    assert text(alex.number, "balance") == ["Balance on +47 461 23 456: NOK 123.45."]


def test_status_gives_the_plan_the_expiry_and_the_data_left(text, wang, kari, alex):
    [chinese] = text(wang.number, "状态")
    [norwegian] = text(kari.number, "status")
    [english] = text(alex.number, "STATUS")

    assert chinese.startswith("+47 912 34 567：峡湾 10 GB，使用中。有效期至 ")
    assert chinese.endswith("剩余流量：8 GB。")
    assert norwegian.startswith("+47 412 34 567: Fjord 10 GB, aktiv. Gyldig til ")
    assert norwegian.endswith("Data igjen: 8 GB.")
    assert english.startswith("+47 461 23 456: Fjord 10 GB, active. Valid until ")
    assert english.endswith("Data left: 8 GB.")


@pytest.mark.parametrize("words", ["HELP", "hjelp", "帮助", "what?"])
def test_help_and_any_unknown_text_get_the_help_text(text, kari, words):
    [reply] = text(kari.number, words)

    assert reply.startswith("Send SALDO, STATUS, PÅFYLL og en kode, STOPP eller START til 2290.")


def test_every_command_is_in_the_lines_audit_trail(text, wang):
    text(wang.number, "余额")
    text(wang.number, "nonsense")

    events = AuditEvent.objects.filter(line=wang, action="sms_command").order_by("created_at", "id")
    assert [event.data["command"] for event in events] == ["balance", "unknown"]
    assert events[0].actor == wang.owner


# --- exactly once, and only from the gateway ----------------------------------------------


def test_a_replayed_message_id_is_taken_and_answered_once(text, wang):
    assert len(text(wang.number, "余额", message_id="gw-1")) == 1

    assert text(wang.number, "余额", message_id="gw-1") == []
    assert InboundSms.objects.filter(message_id="gw-1").count() == 1
    assert AuditEvent.objects.filter(line=wang, action="sms_command").count() == 1


def test_a_forged_signature_is_refused_and_nothing_is_stored(client, wang, sms_outbox):
    response = client.post(URL, **signed(text_body(wang.number, "余额"), secret="not-the-key"))

    assert response.status_code == 400
    assert not InboundSms.objects.exists()
    assert sms_outbox == []


def test_an_old_signature_is_refused(client, wang):
    response = client.post(URL, **signed(text_body(wang.number, "余额"), at=time.time() - 3600))

    assert response.status_code == 400


def test_a_post_without_a_signature_is_refused(client, wang):
    body = json.dumps(text_body(wang.number, "余额")).encode()

    assert client.post(URL, data=body, content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"from": "91234567"},
        {"from": 4791234567},
        {"to": "+4799999999"},
        {"text": 7},
        {"text": "x" * 1601},
        {"text": "BALANCE\x00"},
        {"id": ""},
        {"id": "x" * 101},
        {"received_at": "yesterday"},
    ],
)
def test_a_signed_body_with_a_bad_field_is_refused(client, wang, changes):
    response = client.post(URL, **signed(text_body(wang.number, "余额", **changes)))

    assert response.status_code == 400
    assert not InboundSms.objects.exists()


def test_a_body_that_is_not_json_is_refused(client):
    assert client.post(URL, **signed(b"BALANCE")).status_code == 400


def test_the_endpoint_is_gone_when_sms_commands_are_off(client, settings, wang):
    settings.SMS_INBOUND_ENABLED = False

    assert client.post(URL, **signed(text_body(wang.number, "余额"))).status_code == 404


# --- strangers ----------------------------------------------------------------------------


def test_a_number_that_is_not_ours_gets_a_short_help_text_and_no_data(text, wang):
    [reply] = text("+4790000001", "BALANCE")

    assert reply == "This number is not a Nordlys Mobil line. Help: http://127.0.0.1:8000/help/"
    stored = InboundSms.objects.get()
    assert stored.line is None
    assert AuditEvent.objects.filter(action="sms_command").count() == 0


def test_a_stranger_is_answered_in_the_language_of_the_word_or_in_norwegian_and_english(text):
    assert text("+4790000001", "余额") == ["此号码不是 Nordlys Mobil 的号码。帮助：http://127.0.0.1:8000/help/"]
    [both] = text("+4790000002", "hei")
    assert both.splitlines() == [
        "Dette nummeret er ikke hos Nordlys Mobil. Hjelp: http://127.0.0.1:8000/help/",
        "This number is not a Nordlys Mobil line. Help: http://127.0.0.1:8000/help/",
    ]


def test_a_cancelled_and_quarantined_number_is_nobodys(text):
    line = make_line("en", "+4790000003")
    line.status = "quarantined"
    line.save(update_fields=["status"])

    assert text(line.number, "BALANCE") == [
        "This number is not a Nordlys Mobil line. Help: http://127.0.0.1:8000/help/"
    ]


# --- STOP and START ---------------------------------------------------------------------


def test_stop_then_start_turns_our_texts_off_and_on_for_the_number(text, kari):
    assert text(kari.number, "STOPP") == [
        "Du får ikke flere påminnelser eller varsler på SMS fra oss. Send START for å få dem igjen."
    ]
    assert texts_stopped(msisdn=kari.number) is True
    assert texts_stopped(msisdn="+4790000009") is False

    text(kari.number, "停止")  # a second STOP changes nothing
    assert texts_stopped(msisdn=kari.number) is True

    assert text(kari.number, "start") == ["Du får påminnelser og varsler på SMS igjen. Send STOPP for å stoppe dem."]
    assert texts_stopped(msisdn=kari.number) is False


# --- TOPUP ---------------------------------------------------------------------------------


def test_topup_with_a_good_code_credits_the_balance_once(text, kari):
    [code] = codes(VoucherValue.AMOUNT, None)

    [reply] = text(kari.number, f"PÅFYLL {code}")

    assert reply == "200,00 kr er lagt til på saldoen til +47 412 34 567. Saldoen er nå 323,45 kr."
    assert VoucherAttempt.objects.get().channel == "sms"
    assert AuditEvent.objects.filter(line=kari, action="voucher_redeemed").count() == 1
    # The stored text keeps only the code's last four digits.
    assert InboundSms.objects.get().text == f"TOPUP ****{code[-4:]}"

    [again] = text(kari.number, f"PÅFYLL {code}")
    assert "allerede" in again


def test_topup_with_a_bad_code_is_refused_and_counted(text, wang):
    [reply] = text(wang.number, "充值 1234 5678 9012 3456")

    assert reply == "无法识别此充值码。请检查 16 位数字后重试。"
    assert VoucherAttempt.objects.get().result == RedemptionResult.UNKNOWN


def test_topup_guesses_by_text_stop_at_the_voucher_limit(text, alex, settings):
    settings.SMS_COMMANDS_PER_WINDOW = 100
    for guess in range(5):
        text(alex.number, f"TOPUP 0000 0000 0000 000{guess}")

    [reply] = text(alex.number, "TOPUP 0000 0000 0000 0009")

    assert reply.startswith("Too many wrong voucher codes.")
    assert VoucherAttempt.objects.filter(result=RedemptionResult.THROTTLED).count() == 1


@pytest.mark.parametrize("words", ["PÅFYLL", "SALDO", "STOPP"])
def test_a_text_whose_worker_died_answering_is_answered_by_the_sweep_once(
    text, kari, words, monkeypatch, django_capture_on_commit_callbacks, sms_outbox
):
    [code] = codes(VoucherValue.AMOUNT, None)
    words = f"{words} {code}" if words == "PÅFYLL" else words
    real_record = sms_commands._answer_record

    def worker_dies(**kwargs: Any) -> Any:
        raise SystemExit("worker killed")  # after the command ran, before its answer was kept

    monkeypatch.setattr(sms_commands, "_answer_record", worker_dies)
    with pytest.raises(SystemExit):
        text(kari.number, words)
    monkeypatch.setattr(sms_commands, "_answer_record", real_record)
    inbound = InboundSms.objects.get()
    assert inbound.status == InboundStatus.RUNNING and inbound.claimed_at is not None
    assert finish_lost_customer_work() == 0  # not yet: it might still be running

    later = inbound.claimed_at + sms_commands.STUCK_AFTER + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with django_capture_on_commit_callbacks(execute=True):
        assert finish_lost_customer_work() == 1
    assert finish_lost_customer_work() == 0

    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.ANSWERED
    [reply] = [message.body for message in sms_outbox if message.to == kari.number]
    assert AuditEvent.objects.filter(line=kari, action="sms_command").count() == 1
    if words.startswith("PÅFYLL"):
        # The first run credited the voucher; the second finds it used by this line and says so.
        assert reply.startswith("Du har allerede brukt denne påfyllingskoden på +47 412 34 567")
        assert Line.objects.with_balance().get(pk=kari.pk).balance_ore == 323_45
    elif words == "SALDO":
        assert reply == "Saldo på +47 412 34 567: 123,45 kr."
    else:
        assert texts_stopped(msisdn=kari.number)


def test_topup_without_a_code_says_how(text, alex):
    assert text(alex.number, "topup") == ["Send TOPUP followed by the 16-digit voucher code."]


# --- the rate limit -----------------------------------------------------------------------


def test_a_number_gets_a_few_answers_per_window_and_then_none(text, alex, settings):
    settings.SMS_COMMANDS_PER_WINDOW = 3

    answered = [len(text(alex.number, "BALANCE")) for _ in range(5)]

    assert answered == [1, 1, 1, 0, 0]
    statuses = list(InboundSms.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [InboundStatus.ANSWERED] * 3 + [InboundStatus.THROTTLED] * 2
    # Another number is not held back by this one.
    assert len(text("+4790000001", "HELP")) == 1


def test_a_throttled_topup_keeps_only_the_end_of_its_code(text, alex, settings):
    settings.SMS_COMMANDS_PER_WINDOW = 1
    text(alex.number, "BALANCE")

    assert text(alex.number, "TOPUP 1234-5678-9012-3456") == []

    kept = InboundSms.objects.get(status=InboundStatus.THROTTLED)
    assert kept.text == "TOPUP ****3456"
