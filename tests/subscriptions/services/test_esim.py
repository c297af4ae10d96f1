"""A profile the SM-DP+ reports installed moves to INSTALLED once, with an audit row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import AuditEvent, EsimProfile, EsimState
from subscriptions.services.esim import esim_profile_installed
from tests.factories import EsimProfileFactory, LineFactory

pytestmark = pytest.mark.django_db


def test_an_assigned_profile_becomes_installed_as_of_the_smdp_moment_with_an_audit_row():
    line = LineFactory()
    profile = EsimProfileFactory(line=line, state=EsimState.ASSIGNED, assigned_at=timezone.now())
    at = timezone.now() - timedelta(minutes=2)

    assert esim_profile_installed(iccid=profile.iccid, at=at) is True

    profile.refresh_from_db()
    assert (profile.state, profile.state_changed_at) == (EsimState.INSTALLED, at)
    [event] = AuditEvent.objects.filter(line=line)
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        "esim_installed",
        "assigned",
        "installed",
        None,
    )
    assert event.data["iccid"] == profile.iccid


def test_a_second_report_changes_nothing_and_writes_no_second_row():
    profile = EsimProfileFactory(line=LineFactory(), state=EsimState.RELEASED)
    esim_profile_installed(iccid=profile.iccid, at=timezone.now())
    first = EsimProfile.objects.get(pk=profile.pk).state_changed_at

    assert esim_profile_installed(iccid=profile.iccid, at=timezone.now()) is False

    profile.refresh_from_db()
    assert profile.state_changed_at == first
    assert AuditEvent.objects.filter(line=profile.line).count() == 1


@pytest.mark.parametrize("state", [EsimState.AVAILABLE, EsimState.DISABLED])
def test_a_profile_not_waiting_for_install_is_left_alone(state):
    profile = EsimProfileFactory(line=LineFactory(), state=state)

    assert esim_profile_installed(iccid=profile.iccid, at=timezone.now()) is False

    profile.refresh_from_db()
    assert profile.state == state
    assert not AuditEvent.objects.exists()


def test_a_profile_of_no_line_or_an_unknown_iccid_is_left_alone():
    spare = EsimProfileFactory(state=EsimState.ASSIGNED)

    assert esim_profile_installed(iccid=spare.iccid, at=timezone.now()) is False
    assert esim_profile_installed(iccid="8947000000000000000", at=timezone.now()) is False
    spare.refresh_from_db()
    assert spare.state == EsimState.ASSIGNED


def test_a_moment_in_the_future_is_recorded_as_now():
    profile = EsimProfileFactory(line=LineFactory(), state=EsimState.ASSIGNED)
    before = timezone.now()

    esim_profile_installed(iccid=profile.iccid, at=before + timedelta(days=3))

    profile.refresh_from_db()
    assert before <= profile.state_changed_at <= timezone.now()
