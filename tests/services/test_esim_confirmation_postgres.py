"""The confirmation code's email on PostgreSQL, which refuses to lock the
nullable side of an outer join (the profile's line may be empty)."""

from __future__ import annotations

import pytest
from django.core import mail

from subscriptions.models import EsimState
from subscriptions.services.esim_confirmation import esim_confirmation_code_issue, esim_confirmation_code_send
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_the_confirmation_code_is_emailed_once_to_the_lines_owner() -> None:
    line = LineFactory(with_period=PlanFactory())
    profile = EsimProfileFactory(line=line, state=EsimState.ASSIGNED, confirmation_code_required=True)
    code = esim_confirmation_code_issue(profile=profile)

    assert esim_confirmation_code_send(profile_id=profile.pk) is True
    assert esim_confirmation_code_send(profile_id=profile.pk) is False

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [line.owner.email] and code in mail.outbox[0].body
