"""The sandbox's pretend network, through our adapter as the portal uses it."""

from __future__ import annotations

import pytest

from sandbox.network import network_history, network_subscriber
from subscriptions.network import NetworkRefused, get_network

pytestmark = pytest.mark.django_db
NUMBER = "+4791234567"
OLD, NEW = "242010000000001", "242010000000002"


def network():
    return get_network("sandbox")


def test_a_block_and_an_unblock_are_recorded_on_the_number():
    network().block_line(msisdn=NUMBER, request_id="blk-1")
    assert network_subscriber(msisdn=NUMBER).blocked is True

    network().unblock_line(msisdn=NUMBER, request_id="unb-1")

    assert network_subscriber(msisdn=NUMBER).blocked is False
    assert [(r.action, r.error) for r in network_history(msisdn=NUMBER)] == [("block", ""), ("unblock", "")]


def test_an_imsi_swap_moves_the_number_once_however_often_it_is_retried():
    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-1")
    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-1")

    assert network_subscriber(msisdn=NUMBER).imsi == NEW
    assert len(network_history(msisdn=NUMBER)) == 1


def test_a_number_first_seen_by_a_block_can_then_move_to_a_new_imsi():
    network().block_line(msisdn=NUMBER, request_id="blk-lost")

    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-lost")

    assert network_subscriber(msisdn=NUMBER).imsi == NEW


def test_a_retried_block_after_an_unblock_does_not_block_again():
    network().block_line(msisdn=NUMBER, request_id="blk-2")
    network().unblock_line(msisdn=NUMBER, request_id="unb-2")

    network().block_line(msisdn=NUMBER, request_id="blk-2")

    assert network_subscriber(msisdn=NUMBER).blocked is False


def test_a_swap_from_an_imsi_the_number_is_not_on_is_refused_and_stays_refused():
    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-2")

    for _ in range(2):
        with pytest.raises(NetworkRefused) as refused:
            network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi="242010000000003", request_id="swp-3")
        assert refused.value.code == "imsi_mismatch"
    assert network_subscriber(msisdn=NUMBER).imsi == NEW


def test_a_swap_to_an_imsi_of_another_number_is_refused():
    network().swap_imsi(msisdn="+4791111111", old_imsi="242010000000009", new_imsi=NEW, request_id="swp-4")

    with pytest.raises(NetworkRefused) as refused:
        network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-5")

    assert refused.value.code == "imsi_in_use"


def test_a_request_id_reused_for_another_request_is_refused():
    network().block_line(msisdn=NUMBER, request_id="same")

    with pytest.raises(NetworkRefused) as refused:
        network().unblock_line(msisdn=NUMBER, request_id="same")

    assert refused.value.code == "request_id_reused"
    assert network_subscriber(msisdn=NUMBER).blocked is True


def test_releasing_the_imsi_takes_the_number_off_its_sim_once():
    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-r")

    network().release_imsi(msisdn=NUMBER, imsi=NEW, request_id="rel-1")
    network().release_imsi(msisdn=NUMBER, imsi=NEW, request_id="rel-1")

    assert network_subscriber(msisdn=NUMBER).imsi == ""
    assert [r.action for r in network_history(msisdn=NUMBER)] == ["imsi_swap", "release"]


def test_releasing_an_imsi_the_number_is_not_on_is_refused():
    network().swap_imsi(msisdn=NUMBER, old_imsi=OLD, new_imsi=NEW, request_id="swp-m")

    with pytest.raises(NetworkRefused) as refused:
        network().release_imsi(msisdn=NUMBER, imsi=OLD, request_id="rel-2")

    assert refused.value.code == "imsi_mismatch"
    assert network_subscriber(msisdn=NUMBER).imsi == NEW
