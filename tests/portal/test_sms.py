import json

import pytest

from portal import sms


def test_the_file_backend_writes_one_json_file_per_message(settings, tmp_path, capsys):
    settings.SMS_BACKEND = "portal.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path
    settings.SMS_FILE_ECHO = True
    sent = sms.send(to="+4791234567", body="Koden din er 123456")
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text(encoding="utf-8"))
    assert stored["to"] == "+4791234567"
    assert stored["body"] == "Koden din er 123456"
    assert stored["id"] == sent.id
    assert "+4791234567: Koden din er 123456" in capsys.readouterr().out


def test_the_console_backend_prints(settings, capsys):
    settings.SMS_BACKEND = "portal.sms.ConsoleBackend"
    sms.send(to="+4791234567", body="您的验证码是 123456")
    assert "to +4791234567: 您的验证码是 123456" in capsys.readouterr().out


def test_the_locmem_backend_collects_messages(sms_outbox):
    sms.send(to="+4741234567", body="hei")
    assert [(m.to, m.body, m.sender) for m in sms_outbox] == [("+4741234567", "hei", "Nordlys")]


def test_the_gateway_backend_refuses_to_send_without_an_address(settings):
    settings.SMS_BACKEND = "portal.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(sms.SmsDeliveryError):
        sms.send(to="+4741234567", body="hei")


def test_the_gateway_backend_reports_an_unreachable_gateway_as_retryable(settings):
    settings.SMS_BACKEND = "portal.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    with pytest.raises(sms.SmsDeliveryError, match="unreachable"):
        sms.send(to="+4741234567", body="hei")
