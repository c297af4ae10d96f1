"""Support see the texts sent to the service number (a voucher code never
whole) and the numbers that stopped our texts; nobody edits them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from subscriptions.models import InboundSms, InboundStatus, TextsStop
from tests.factories import LineFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

TEXTS = "/admin/subscriptions/inboundsms/"
STOPS = "/admin/subscriptions/textsstop/"


@pytest.fixture
def agent_client(client):
    agent = UserFactory(is_staff=True, language="en")
    agent.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, agent)
    return client


def test_an_agent_finds_a_numbers_texts_by_the_number_typed_any_way(agent_client):
    line = LineFactory(number="+4791234567")
    InboundSms.objects.create(message_id="gw-1", sender=line.number, text="BALANCE", line=line)
    InboundSms.objects.create(message_id="gw-2", sender="+4790000001", text="HELP")

    page = agent_client.get(TEXTS, {"q": "912 34 567"}).content.decode()

    assert "gw-1" not in page  # the list shows the text, not the id
    assert "BALANCE" in page
    assert "HELP" not in page


def test_a_voucher_code_in_a_text_not_yet_answered_is_not_shown_whole(agent_client):
    inbound = InboundSms.objects.create(
        message_id="gw-1", sender="+4790000001", text="TOPUP 1234 5678 9012 3456", status=InboundStatus.RUNNING
    )

    page = agent_client.get(f"{TEXTS}{inbound.pk}/change/").content.decode()

    assert "TOPUP ****3456" in page
    assert "1234 5678" not in page


def test_an_agent_sees_the_numbers_that_stopped_texts_and_cannot_change_them(agent_client):
    TextsStop.objects.create(number="+4791234567")

    assert "+4791234567" in agent_client.get(STOPS).content.decode()
    assert agent_client.get(f"{STOPS}add/").status_code == 403
