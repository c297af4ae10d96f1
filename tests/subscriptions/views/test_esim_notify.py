"""The SM-DP+'s download-progress notifications at /esim/notify/<provider>/."""

from __future__ import annotations

import json
import time

import pytest

from subscriptions.models import AuditEvent, EsimState
from subscriptions.smdp.base import BPP_DOWNLOAD
from tests.esim_notifications import progress_body, signed
from tests.factories import EsimProfileFactory, LineFactory

pytestmark = pytest.mark.django_db
URL = "/esim/notify/sandbox/"


@pytest.fixture
def profile():
    return EsimProfileFactory(line=LineFactory(), state=EsimState.RELEASED)


def state_of(profile) -> str:
    profile.refresh_from_db()
    return profile.state


def test_a_signed_install_notification_installs_the_profile(client, profile):
    response = client.post(URL, **signed(progress_body(profile.iccid)))

    assert response.status_code == 200
    assert state_of(profile) == EsimState.INSTALLED
    assert profile.state_changed_at.isoformat() == "2026-03-01T12:00:00+00:00"
    assert AuditEvent.objects.filter(line=profile.line, action="esim_installed").count() == 1


def test_a_repeated_notification_is_taken_again_and_changes_nothing(client, profile):
    body = progress_body(profile.iccid)
    client.post(URL, **signed(body))

    response = client.post(URL, **signed(body))

    assert response.status_code == 200
    assert AuditEvent.objects.filter(line=profile.line).count() == 1


def test_the_es2plus_endpoint_takes_notifications_too(client, profile):
    assert client.post("/esim/notify/es2plus/", **signed(progress_body(profile.iccid))).status_code == 200
    assert state_of(profile) == EsimState.INSTALLED


def test_a_download_notification_is_taken_without_installing(client, profile):
    response = client.post(URL, **signed(progress_body(profile.iccid, point=BPP_DOWNLOAD)))

    assert response.status_code == 200
    assert state_of(profile) == EsimState.RELEASED


def test_a_failed_install_is_taken_without_installing(client, profile):
    response = client.post(URL, **signed(progress_body(profile.iccid, status="Failed")))

    assert response.status_code == 200
    assert state_of(profile) == EsimState.RELEASED


def test_a_notification_signed_with_another_key_is_refused(client, profile):
    response = client.post(URL, **signed(progress_body(profile.iccid), secret="forged-key"))

    assert response.status_code == 400
    assert state_of(profile) == EsimState.RELEASED


def test_an_unsigned_notification_is_refused(client, profile):
    response = client.post(URL, data=json.dumps(progress_body(profile.iccid)), content_type="application/json")

    assert response.status_code == 400
    assert state_of(profile) == EsimState.RELEASED


def test_a_body_changed_after_signing_is_refused(client, profile):
    other = EsimProfileFactory(line=LineFactory(), state=EsimState.RELEASED)
    kwargs = signed(progress_body(profile.iccid))
    kwargs["data"] = kwargs["data"].replace(profile.iccid.encode(), other.iccid.encode())

    assert client.post(URL, **kwargs).status_code == 400
    assert state_of(other) == EsimState.RELEASED


@pytest.mark.parametrize("seconds", [-301, 301])
def test_a_stale_or_future_signature_is_refused(client, profile, seconds):
    response = client.post(URL, **signed(progress_body(profile.iccid), at=time.time() + seconds))

    assert response.status_code == 400
    assert state_of(profile) == EsimState.RELEASED


MALFORMED = {
    "not-json": b"{not json",
    "not-utf8": b'{"iccid": "\xff"}',
    "a-list": b"[]",
    "no-header": {"header": None},
    "no-call-id": {"header": {}},
    "call-id-number": {"header": {"functionCallIdentifier": 7}},
    "call-id-too-long": {"header": {"functionCallIdentifier": "x" * 256}},
    "iccid-number": {"iccid": 8947000000000000007},
    "iccid-bad-luhn": {"iccid": "8947000000000000001"},
    "iccid-too-long": {"iccid": "8" * 21},
    "iccid-other-digits": {"iccid": "８９４７０００００００００００００００７"},
    "nul": {"profileType": "eSIM\x00"},
    "lone-surrogate": b"SURROGATE",
    "point-bool": {"notificationPointId": True},
    "point-string": {"notificationPointId": "4"},
    "point-zero": {"notificationPointId": 0},
    "status-unknown": {"notificationPointStatus": {"status": "Done"}},
    "status-not-object": {"notificationPointStatus": "Executed-Success"},
    "timestamp-naive": {"timestamp": "2026-03-01T12:00:00"},
    "timestamp-nonsense": {"timestamp": "yesterday"},
    "timestamp-number": {"timestamp": 1772366400},
    "eid-short": {"eid": "8904"},
    "too-deep": b"DEEP",
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_is_refused_even_when_signed(client, profile, change):
    if change == b"SURROGATE":
        body = json.dumps(progress_body(profile.iccid)).replace("Nordlys eSIM", "\\ud800").encode()
    elif change == b"DEEP":
        body = json.dumps(progress_body(profile.iccid, resultData=json.loads("[" * 40 + "]" * 40))).encode()
    elif isinstance(change, bytes):
        body = change
    else:
        body = json.dumps(progress_body(profile.iccid) | change).encode()

    response = client.post(URL, **signed(body))

    assert response.status_code == 400
    assert state_of(profile) == EsimState.RELEASED


def test_an_unknown_provider_is_not_found(client, profile):
    assert client.post("/esim/notify/nonesuch/", **signed(progress_body(profile.iccid))).status_code == 404


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405
