"""Support read who saw an eSIM's code and how, and never the code."""

from __future__ import annotations

import pytest
from django.utils import timezone

from subscriptions.models import EsimCodeChannel, EsimState
from subscriptions.services.esim_install import esim_code_view_record
from tests.factories import EsimProfileFactory, LineFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db


def test_staff_see_each_showing_without_the_code(client):
    staff_sign_in(client, UserFactory(is_staff=True, is_superuser=True))
    line = LineFactory(with_period=True)
    profile = EsimProfileFactory(line=line, state=EsimState.ASSIGNED, assigned_at=timezone.now())
    esim_code_view_record(
        profile=profile,
        line=line,
        by=line.owner,
        channel=EsimCodeChannel.QR_SVG,
        ip_address="203.0.113.9",
        user_agent="Pixel test browser",
    )
    listing = client.get("/admin/subscriptions/esimcodeview/").content.decode()
    assert "203.0.113.9" in listing and "Pixel test browser" in listing and profile.iccid in listing
    assert profile.matching_id not in listing
    profile_page = client.get(f"/admin/subscriptions/esimprofile/{profile.pk}/change/").content.decode()
    assert profile.iccid in profile_page and profile.matching_id not in profile_page
    assert client.get("/admin/subscriptions/esimcodeview/add/").status_code == 403
