"""The ES2+ adapter against an SM-DP+ played by a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from subscriptions.smdp import SmdpRefused, SmdpUnavailable, get_smdp
from subscriptions.smdp.base import ConfirmedOrder
from tests.factories import make_iccid
from tests.fakes.json_api import json_api_serving
from tests.fakes.smdp import ADDRESS, MATCHING_ID, FakeSmdp, failed, success

ICCID = make_iccid(7)


@pytest.fixture
def smdp(settings) -> Iterator[FakeSmdp]:
    fake = FakeSmdp()
    with json_api_serving(fake) as url:
        settings.SMDP_URL = url
        settings.SMDP_FUNCTION_REQUESTER_ID = "1.3.6.1.4.1.99999.nordlys"
        settings.SMDP_TOKEN = "smdp-token"
        settings.SMDP_TIMEOUT_SECONDS = 1
        yield fake


def es2plus():
    return get_smdp("es2plus")


def test_download_order_posts_es2plus_json_with_our_request_id(smdp):
    assert es2plus().download_order(iccid=ICCID, request_id="req-1") == ICCID

    [request] = smdp.requests
    assert request.path == "/gsma/rsp2/es2plus/downloadOrder"
    assert request.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    assert request.headers["Authorization"] == "Bearer smdp-token"
    assert request.json == {
        "header": {"functionRequesterIdentifier": "1.3.6.1.4.1.99999.nordlys", "functionCallIdentifier": "req-1"},
        "iccid": ICCID,
    }


def test_confirm_order_returns_the_matching_id_and_address(smdp):
    confirmed = es2plus().confirm_order(iccid=ICCID, request_id="req-2")

    assert confirmed == ConfirmedOrder(matching_id=MATCHING_ID, smdp_address=ADDRESS)
    assert smdp.requests[0].json["releaseFlag"] is True


def test_confirm_order_hands_the_smdp_the_confirmation_code_only_when_there_is_one(smdp):
    es2plus().confirm_order(iccid=ICCID, request_id="req-cc-1", confirmation_code="24681357")
    other = make_iccid(8)
    es2plus().confirm_order(iccid=other, request_id="req-cc-2")

    assert smdp.requests[0].json["confirmationCode"] == "24681357"
    assert "confirmationCode" not in smdp.requests[1].json
    assert smdp.confirmation_codes == {ICCID: "24681357"}


def test_a_confirmation_code_the_smdp_will_not_take_is_a_refusal(smdp):
    with pytest.raises(SmdpRefused) as refused:
        es2plus().confirm_order(iccid=ICCID, request_id="req-cc-3", confirmation_code="12ab")

    assert (refused.value.subject_code, refused.value.reason_code) == ("8.2.7", "2.1")


def test_cancel_and_release_are_sent_with_their_fields(smdp):
    es2plus().cancel_order(iccid=ICCID, request_id="req-3", final_status="Available")
    es2plus().release_profile(iccid=ICCID, request_id="req-4")

    assert [r.path.rsplit("/", 1)[1] for r in smdp.requests] == ["cancelOrder", "releaseProfile"]
    assert smdp.requests[0].json["finalProfileStatusIndicator"] == "Available"


def test_a_retry_with_the_same_request_id_gets_the_same_answer_and_does_nothing_twice(smdp):
    first = es2plus().confirm_order(iccid=ICCID, request_id="req-5", matching_id="OURS-1")
    again = es2plus().confirm_order(iccid=ICCID, request_id="req-5", matching_id="OURS-1")

    assert first == again == ConfirmedOrder(matching_id="OURS-1", smdp_address=ADDRESS)
    assert smdp.performed == 1
    assert {r.json["header"]["functionCallIdentifier"] for r in smdp.requests} == {"req-5"}


def test_a_failed_status_is_a_refusal_with_sgp22_codes(smdp):
    smdp.planned.append((200, failed("8.2.1", "3.9", "Unknown ICCID")))

    with pytest.raises(SmdpRefused) as refused:
        es2plus().download_order(iccid=ICCID, request_id="req-6")

    assert (refused.value.subject_code, refused.value.reason_code) == ("8.2.1", "3.9")
    assert refused.value.message == "Unknown ICCID"


def test_a_refusal_answered_with_a_4xx_is_still_read_as_one(smdp):
    smdp.planned.append((400, failed("8.2.6", "3.3")))

    with pytest.raises(SmdpRefused):
        es2plus().confirm_order(iccid=ICCID, request_id="req-7")


@pytest.mark.parametrize(
    "reply",
    [
        (500, {"error": "internal"}),
        (503, b"<html>busy</html>"),
        (200, b"not json"),
        (200, {"header": {}}),
        (200, {"header": {"functionExecutionStatus": {"status": "Expired"}}}),
        (200, {"header": {"functionExecutionStatus": {"status": "Maybe"}}}),
        (401, b""),
    ],
    ids=["500", "503-html", "not-json", "no-status", "expired", "unknown-status", "401-empty"],
)
def test_a_server_error_or_unreadable_answer_is_transient(smdp, reply):
    smdp.planned.append(reply)

    with pytest.raises(SmdpUnavailable):
        es2plus().release_profile(iccid=ICCID, request_id="req-8")


def test_a_timeout_is_transient_and_the_retry_succeeds(smdp):
    smdp.planned.append(("sleep", 1.5))

    with pytest.raises(SmdpUnavailable):
        es2plus().download_order(iccid=ICCID, request_id="req-9")
    assert es2plus().download_order(iccid=ICCID, request_id="req-9") == ICCID


def test_an_smdp_not_listening_is_transient(settings):
    settings.SMDP_URL = "http://127.0.0.1:9"
    settings.SMDP_TIMEOUT_SECONDS = 1

    with pytest.raises(SmdpUnavailable):
        es2plus().download_order(iccid=ICCID, request_id="req-10")


@pytest.mark.parametrize(
    "fields", [{"matchingId": "HAS$DOLLAR"}, {"smdpAddress": "not a host"}, {"matchingId": 7}], ids=str
)
def test_a_confirmation_that_would_break_the_activation_code_is_not_taken(smdp, fields):
    smdp.planned.append((200, success(**{"matchingId": "GOOD-1", "smdpAddress": ADDRESS, **fields})))

    with pytest.raises(SmdpUnavailable):
        es2plus().confirm_order(iccid=ICCID, request_id="req-11")


def test_an_answer_naming_another_iccid_that_is_not_one_is_not_taken(smdp):
    smdp.planned.append((200, success(iccid="1234")))

    with pytest.raises(SmdpUnavailable):
        es2plus().download_order(iccid=ICCID, request_id="req-12")


def test_an_unknown_smdp_name_is_a_lookup_error():
    with pytest.raises(LookupError):
        get_smdp("nonesuch")
