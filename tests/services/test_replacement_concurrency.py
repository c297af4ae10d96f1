"""Replacement requests under fire, on PostgreSQL: two requests for one line
sent at once, from two forms (two tabs) or the same form twice, make one
open request; the partial unique constraint decides the race and the loser
is told on the page that a replacement is already in progress.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.celery import app
from subscriptions.models import ReplacementRequest
from tests.clients import signed_in_client
from tests.concurrency import at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


@pytest.mark.parametrize("keys", [("tab-1", "tab-2"), ("same", "same")])
def test_two_requests_for_one_line_at_once_make_one(customer, line, keys):
    clients = [signed_in_client(customer) for _ in keys]
    url = f"/lines/{line.pk}/replacement/"

    responses = at_once(
        [
            (lambda c=c, k=k: c.post(url, {"reason": "new_phone", "idempotency_key": k}))
            for c, k in zip(clients, keys, strict=True)
        ]
    )

    assert ReplacementRequest.objects.filter(line=line).count() == 1
    replacement = ReplacementRequest.objects.get(line=line)
    redirected = [r for r in responses if r.status_code == 302]
    assert all(r["Location"] == f"/replacements/{replacement.public_id}/" for r in redirected)
    refused = [r for r in responses if r.status_code == 200]
    assert all("already in progress" in r.content.decode() for r in refused)
    assert len(redirected) + len(refused) == 2
