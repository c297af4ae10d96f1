"""The sandbox's pretend SM-DP+, through our adapter as the portal uses it,
and its pretend phone that installs a profile and tells the portal."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxSmdpCall, SandboxSmdpNotification, SandboxSmdpProfile, SmdpProfileState
from sandbox.smdp import es2plus, smdp_install
from subscriptions.models import AuditEvent, EsimState
from subscriptions.smdp import SmdpRefused, get_smdp
from subscriptions.smdp.base import ConfirmedOrder
from tests.factories import EsimProfileFactory, LineFactory, make_iccid

pytestmark = pytest.mark.django_db
ICCID = make_iccid(42)


def smdp():
    return get_smdp("sandbox")


def sandbox_state(iccid: str = ICCID) -> str:
    return SandboxSmdpProfile.objects.get(iccid=iccid).state


def released(iccid: str = ICCID, matching_id: str = "SBX-OURS-1") -> ConfirmedOrder:
    smdp().download_order(iccid=iccid, request_id=f"dl-{iccid}")
    return smdp().confirm_order(iccid=iccid, request_id=f"cf-{iccid}", matching_id=matching_id)


def test_an_ordered_and_confirmed_profile_is_released_with_our_matching_id(settings):
    assert released() == ConfirmedOrder(matching_id="SBX-OURS-1", smdp_address=settings.SANDBOX_SMDP_ADDRESS)
    assert sandbox_state() == SmdpProfileState.RELEASED


def test_confirmed_without_release_it_waits_for_release_profile():
    smdp().download_order(iccid=ICCID, request_id="dl-1")
    confirmed = smdp().confirm_order(iccid=ICCID, request_id="cf-1", release=False)
    assert confirmed.matching_id.startswith("SBX-")
    assert sandbox_state() == SmdpProfileState.CONFIRMED

    smdp().release_profile(iccid=ICCID, request_id="rl-1")

    assert sandbox_state() == SmdpProfileState.RELEASED


def test_the_same_request_id_answers_the_same_without_acting_twice():
    smdp().download_order(iccid=ICCID, request_id="dl-2")
    first = smdp().confirm_order(iccid=ICCID, request_id="cf-2")

    again = smdp().confirm_order(iccid=ICCID, request_id="cf-2")

    assert again == first
    assert smdp().download_order(iccid=ICCID, request_id="dl-2") == ICCID


def test_a_second_order_for_a_profile_in_use_is_refused_with_sgp22_codes():
    released()

    with pytest.raises(SmdpRefused) as refused:
        smdp().download_order(iccid=ICCID, request_id="dl-other")

    assert (refused.value.subject_code, refused.value.reason_code) == ("8.2.1", "3.5")


def test_a_request_id_reused_for_another_call_is_refused():
    smdp().download_order(iccid=ICCID, request_id="same-id")

    with pytest.raises(SmdpRefused) as refused:
        smdp().release_profile(iccid=ICCID, request_id="same-id")

    assert refused.value.subject_code == "1.2"


def test_a_matching_id_in_use_elsewhere_is_refused():
    released(make_iccid(1), matching_id="TAKEN-1")
    smdp().download_order(iccid=ICCID, request_id="dl-3")

    with pytest.raises(SmdpRefused) as refused:
        smdp().confirm_order(iccid=ICCID, request_id="cf-3", matching_id="TAKEN-1")

    assert (refused.value.subject_code, refused.value.reason_code) == ("8.2.6", "3.3")
    assert sandbox_state() == SmdpProfileState.ALLOCATED


@pytest.mark.parametrize(("final", "state"), [("Available", "available"), ("Unavailable", "unavailable")])
def test_a_cancelled_order_leaves_the_profile_as_asked(final, state):
    released()

    smdp().cancel_order(iccid=ICCID, request_id="cn-1", final_status=final)

    assert sandbox_state() == state


def test_an_iccid_that_is_not_one_is_unknown():
    with pytest.raises(SmdpRefused) as refused:
        smdp().download_order(iccid="1234", request_id="dl-4")

    assert refused.value.reason_code == "3.9"


def test_a_call_without_a_request_id_is_refused():
    answer = es2plus("downloadOrder", {"header": {}, "iccid": ICCID})

    assert answer["header"]["functionExecutionStatus"]["status"] == "Failed"


def test_the_pretend_phone_cannot_install_a_profile_not_released():
    smdp().download_order(iccid=ICCID, request_id="dl-5")

    smdp_install(iccid=ICCID)

    assert sandbox_state() == SmdpProfileState.ALLOCATED
    assert not SandboxSmdpNotification.objects.exists()


def test_a_confirmation_code_that_is_not_digits_is_refused_with_sgp22_codes():
    smdp().download_order(iccid=ICCID, request_id="dl-6")

    with pytest.raises(SmdpRefused) as refused:
        smdp().confirm_order(iccid=ICCID, request_id="cf-6", confirmation_code="12ab")

    assert (refused.value.subject_code, refused.value.reason_code) == ("8.2.7", "2.1")
    assert sandbox_state() == SmdpProfileState.ALLOCATED


def confirmed_with_code(code: str = "24681357") -> None:
    smdp().download_order(iccid=ICCID, request_id="dl-7")
    smdp().confirm_order(iccid=ICCID, request_id="cf-7", matching_id="SBX-CODE-1", confirmation_code=code)


def test_the_sandbox_keeps_only_a_hash_of_the_confirmation_code():
    confirmed_with_code("24681357")

    kept = SandboxSmdpProfile.objects.get(iccid=ICCID)
    assert kept.confirmation_code_hash and "24681357" not in kept.confirmation_code_hash
    assert "24681357" not in str(list(SandboxSmdpCall.objects.values()))


def test_the_pretend_phone_asks_for_the_confirmation_code_and_refuses_a_wrong_one(client):
    confirmed_with_code("24681357")

    page = client.get(f"/sandbox/esim/{ICCID}/").content.decode()
    wrong = client.post(f"/sandbox/esim/{ICCID}/", {"action": "install", "confirmation_code": "11111111"})
    empty = client.post(f"/sandbox/esim/{ICCID}/", {"action": "install"})

    assert 'id="sandphone-confirmation-code"' in page
    assert wrong.status_code == empty.status_code == 400
    assert "That is not the confirmation code." in wrong.content.decode()
    assert sandbox_state() == SmdpProfileState.RELEASED
    assert not SandboxSmdpNotification.objects.exists()


def test_the_pretend_phone_installs_with_the_right_confirmation_code(client, django_capture_on_commit_callbacks):
    confirmed_with_code("24681357")

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/sandbox/esim/{ICCID}/", {"action": "install", "confirmation_code": " 24681357 "})

    assert response.status_code == 302
    assert sandbox_state() == SmdpProfileState.INSTALLED


def test_the_pretend_phone_does_not_ask_for_a_code_a_profile_does_not_need(client):
    released()

    assert 'id="sandphone-confirmation-code"' not in client.get(f"/sandbox/esim/{ICCID}/").content.decode()


# --- the pretend phone's page, with the portal listening --------------------------------


@pytest.fixture
def portal_listening(live_server, settings):
    settings.SANDBOX_SMDP_NOTIFY_URL = f"{live_server.url}/esim/notify/sandbox/"
    return live_server


@pytest.mark.django_db(transaction=True)
def test_installing_on_the_pretend_phone_moves_the_portal_profile_to_installed(client, portal_listening):
    profile = EsimProfileFactory(iccid=ICCID, line=LineFactory(), state=EsimState.ASSIGNED)
    released()

    page = client.get(f"/sandbox/esim/{ICCID}/")
    assert b'id="sandphone-install"' in page.content
    response = client.post(f"/sandbox/esim/{ICCID}/", {"action": "install"})

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.state == EsimState.INSTALLED
    assert sandbox_state() == SmdpProfileState.INSTALLED
    assert list(SandboxSmdpNotification.objects.values_list("point", flat=True).exclude(delivered_at=None)) == [3, 4]
    assert AuditEvent.objects.filter(line=profile.line, action="esim_installed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_notifications_the_portal_did_not_take_are_sent_again_from_the_page(client, portal_listening, settings):
    profile = EsimProfileFactory(iccid=ICCID, line=LineFactory(), state=EsimState.ASSIGNED)
    released()
    settings.SANDBOX_SMDP_NOTIFY_URL = "http://127.0.0.1:9/esim/notify/sandbox/"

    client.post(f"/sandbox/esim/{ICCID}/", {"action": "install"})

    assert SandboxSmdpNotification.objects.filter(delivered_at=None).count() == 2
    assert b'id="sandphone-resend"' in client.get(f"/sandbox/esim/{ICCID}/").content
    profile.refresh_from_db()
    assert profile.state == EsimState.ASSIGNED

    settings.SANDBOX_SMDP_NOTIFY_URL = f"{portal_listening.url}/esim/notify/sandbox/"
    client.post(f"/sandbox/esim/{ICCID}/", {"action": "resend"})

    profile.refresh_from_db()
    assert profile.state == EsimState.INSTALLED
    assert not SandboxSmdpNotification.objects.filter(delivered_at=None).exists()


def test_the_page_of_a_profile_never_ordered_says_so(client):
    page = client.get(f"/sandbox/esim/{ICCID}/")

    assert page.status_code == 200
    assert b"never ordered" in page.content
    assert b'id="sandphone-install"' not in page.content


def test_the_page_of_something_that_is_not_an_iccid_is_not_found(client):
    assert client.get("/sandbox/esim/12345/").status_code == 404
