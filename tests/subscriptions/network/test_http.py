"""The provisioning API adapter against the network played by a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from subscriptions.network import NetworkRefused, NetworkUnavailable, get_network
from tests.fakes.json_api import json_api_serving
from tests.fakes.network import TOKEN, FakeNetwork

NUMBER = "+4791234567"


@pytest.fixture
def network(settings) -> Iterator[FakeNetwork]:
    fake = FakeNetwork(imsi={NUMBER: "242010000000001"})
    with json_api_serving(fake) as url:
        settings.NETWORK_URL = url + "/"
        settings.NETWORK_TOKEN = TOKEN
        settings.NETWORK_TIMEOUT_SECONDS = 1
        yield fake


def http():
    return get_network("http")


def test_blocking_posts_the_request_id_to_the_number_with_the_plus_encoded(network):
    http().block_line(msisdn=NUMBER, request_id="blk-1")

    [request] = network.requests
    assert request.path == "/v1/subscribers/%2B4791234567/block"
    assert request.headers["Idempotency-Key"] == "blk-1"
    assert request.json == {"requestId": "blk-1"}
    assert network.blocked == {NUMBER}


def test_unblocking_lifts_the_block(network):
    http().block_line(msisdn=NUMBER, request_id="blk-2")
    http().unblock_line(msisdn=NUMBER, request_id="unb-2")

    assert network.blocked == set()


def test_an_imsi_swap_moves_the_number_and_a_retry_changes_nothing(network):
    http().swap_imsi(msisdn=NUMBER, old_imsi="242010000000001", new_imsi="242010000000002", request_id="swp-3")
    http().swap_imsi(msisdn=NUMBER, old_imsi="242010000000001", new_imsi="242010000000002", request_id="swp-3")

    assert network.imsi[NUMBER] == "242010000000002"
    assert network.performed == 1


def test_a_swap_from_an_imsi_the_number_is_not_on_is_refused_with_the_code(network):
    with pytest.raises(NetworkRefused) as refused:
        http().swap_imsi(msisdn=NUMBER, old_imsi="242019999999999", new_imsi="242010000000002", request_id="swp-4")

    assert refused.value.code == "imsi_mismatch"
    assert network.imsi[NUMBER] == "242010000000001"


def test_a_wrong_token_is_a_refusal(network, settings):
    settings.NETWORK_TOKEN = "wrong"

    with pytest.raises(NetworkRefused) as refused:
        http().block_line(msisdn=NUMBER, request_id="blk-5")
    assert refused.value.code == "unauthorised"


@pytest.mark.parametrize(
    "reply",
    [
        (500, {"error": {"code": "internal"}}),
        (502, b"<html>bad gateway</html>"),
        (409, {"error": {"code": "request_in_progress"}}),
        (429, {"error": {"code": "slow_down"}}),
        (200, {"status": "queued"}),
        (200, b"not json"),
        (400, {"error": {"code": "bad\x00code"}}),
    ],
    ids=["500", "502-html", "in-progress", "429", "not-done", "not-json", "unreadable-code"],
)
def test_a_server_error_or_unclear_answer_is_transient(network, reply):
    network.planned.append(reply)

    with pytest.raises(NetworkUnavailable):
        http().block_line(msisdn=NUMBER, request_id="blk-6")


def test_a_timeout_is_transient_and_the_retry_does_it_once(network):
    network.planned.append(("sleep", 1.5))

    with pytest.raises(NetworkUnavailable):
        http().block_line(msisdn=NUMBER, request_id="blk-7")
    http().block_line(msisdn=NUMBER, request_id="blk-7")

    assert network.blocked == {NUMBER}
    assert network.performed == 1


def test_a_network_not_listening_is_transient(settings):
    settings.NETWORK_URL = "http://127.0.0.1:9"

    with pytest.raises(NetworkUnavailable):
        http().block_line(msisdn=NUMBER, request_id="blk-8")


def test_releasing_the_imsi_posts_it_and_a_retry_changes_nothing(network):
    http().release_imsi(msisdn=NUMBER, imsi="242010000000001", request_id="rel-5")
    http().release_imsi(msisdn=NUMBER, imsi="242010000000001", request_id="rel-5")

    assert network.requests[0].path == "/v1/subscribers/%2B4791234567/release"
    assert network.requests[0].json == {"requestId": "rel-5", "imsi": "242010000000001"}
    assert NUMBER not in network.imsi
    assert network.performed == 1


def test_releasing_an_imsi_the_number_is_not_on_is_refused_with_the_code(network):
    with pytest.raises(NetworkRefused) as refused:
        http().release_imsi(msisdn=NUMBER, imsi="242019999999999", request_id="rel-6")

    assert refused.value.code == "imsi_mismatch"
    assert network.imsi[NUMBER] == "242010000000001"
