"""The sandbox's pretend phone, /sandbox/phone/: a text from a number goes
to the portal's /sms/inbound/ as the gateway would post it (signed), and the
replies to that number show on the page. The pretend gateway's HTTP post is
handed to Django's test client here."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sandbox.models import SandboxText
from subscriptions.models import InboundSms, LedgerKind
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGE = "/sandbox/phone/"


class Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


@pytest.fixture
def gateway_posts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Route the pretend gateway's posts to the portal through the test
    client, and keep what was posted."""
    posted: list[dict[str, Any]] = []

    def post(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> Answer:
        posted.append({"url": url, "headers": headers})
        extra = {name: value for name, value in headers.items() if name != "Content-Type"}
        response = Client().post(
            url.removeprefix("http://127.0.0.1:8000"), data=data, content_type="application/json", headers=extra
        )
        return Answer(response.status_code)

    monkeypatch.setattr("sandbox.sms.requests.post", post)
    return posted


@pytest.fixture
def wang():
    line = LineFactory(owner=UserFactory(language="zh-hans"), number="+4791234567", with_period=PlanFactory())
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=88_00)
    return line


def send(client: Client, capture: Any, number: str, text: str) -> Any:
    with capture(execute=True):
        return client.post(PAGE, {"number": number, "text": text})


def test_a_text_from_the_phone_reaches_the_portal_signed_and_the_reply_shows(
    client, wang, gateway_posts, sms_outbox, django_capture_on_commit_callbacks
):
    response = send(client, django_capture_on_commit_callbacks, "912 34 567", "余额")

    assert response.status_code == 302
    assert response["Location"] == "/sandbox/phone/?number=%2B4791234567#sandphone-latest"
    [posted] = gateway_posts
    assert posted["url"] == "http://127.0.0.1:8000/sms/inbound/"
    assert posted["headers"]["Nordlys-Signature"].startswith("t=")
    assert InboundSms.objects.get().line == wang
    assert SandboxText.objects.get().delivered_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "号码 +47 912 34 567 余额：88.00 克朗。" in page
    assert 'class="sandphone-bubble sandphone-out"' in page


def test_the_phone_shows_only_the_texts_of_its_own_number(
    client, wang, gateway_posts, sms_outbox, django_capture_on_commit_callbacks
):
    send(client, django_capture_on_commit_callbacks, "+4791234567", "余额")

    page = client.get(PAGE, {"number": "+4741234567"}).content.decode()

    assert "sandphone-bubble" not in page
    assert 'id="sandphone-empty"' in page


def test_a_number_that_is_not_a_mobile_number_is_refused_on_the_page(client, gateway_posts):
    response = client.post(PAGE, {"number": "12", "text": "余额"})

    assert response.status_code == 200
    assert gateway_posts == []
    assert not SandboxText.objects.exists()
