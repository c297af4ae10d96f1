"""Download notifications under fire, on PostgreSQL: an SM-DP+ that sends
the same install notification many times at once (and a few others with
their own request ids) installs the profile once, with one audit row."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import AuditEvent, EsimState
from subscriptions.services.esim import esim_profile_installed
from tests.concurrency import at_once
from tests.esim_notifications import progress_body, signed
from tests.factories import EsimProfileFactory, LineFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
URL = "/esim/notify/sandbox/"
COPIES = 12


def test_parallel_duplicate_notifications_install_the_profile_once():
    profile = EsimProfileFactory(line=LineFactory(), state=EsimState.RELEASED)
    same = signed(progress_body(profile.iccid))
    others = [signed(progress_body(profile.iccid)) for _ in range(4)]

    def post(kwargs):
        return lambda: Client().post(URL, **kwargs).status_code

    statuses = at_once([post(same) for _ in range(COPIES)] + [post(kwargs) for kwargs in others])

    assert statuses == [200] * (COPIES + len(others))
    profile.refresh_from_db()
    assert profile.state == EsimState.INSTALLED
    assert AuditEvent.objects.filter(line=profile.line, action="esim_installed").count() == 1


def test_parallel_service_calls_report_exactly_one_move():
    profile = EsimProfileFactory(line=LineFactory(), state=EsimState.ASSIGNED)
    moved = at_once([lambda: esim_profile_installed(iccid=profile.iccid, at=timezone.now()) for _ in range(COPIES)])

    assert moved.count(True) == 1
    assert AuditEvent.objects.filter(line=profile.line).count() == 1
