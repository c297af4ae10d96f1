"""Uploading identity documents in parallel, on PostgreSQL: ten uploads by
one customer at the same moment store exactly as many as the hourly limit
allows; the others are told on the page, in the customer's language, and
leave no file behind. Another customer's uploads meanwhile are not held up.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import ngettext

from accounts.models import IdentityDocument
from portal.celery import app
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.identity_files import jpeg_bytes, upload

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

UPLOADS = 10
LIMIT = 3
LANGUAGE = "nb"


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


def send(customer: Any) -> Callable[[], Any]:
    client = signed_in_client(customer)
    content = jpeg_bytes()
    return lambda: client.post(
        "/account/identity/",
        {"kind": "passport", "purpose": "replacement", "file": upload("passport.jpg", content, "image/jpeg")},
    )


def outcome(response: Any) -> str:
    if response.status_code == 302:
        return "stored"
    return " ".join(response.context["form"].non_field_errors())


def test_ten_uploads_at_once_by_one_customer_store_only_the_limit(settings):
    settings.IDENTITY_DOCUMENT_UPLOADS_PER_HOUR = LIMIT
    customer = UserFactory(language=LANGUAGE)
    other = UserFactory(language=LANGUAGE)

    responses = at_once([send(customer) for _ in range(UPLOADS)] + [send(other)])

    with translation.override(LANGUAGE):
        refusal = ngettext(
            "You have uploaded %(count)d document in the last hour. Try again in an hour.",
            "You have uploaded %(count)d documents in the last hour. Try again in an hour.",
            LIMIT,
        ) % {"count": LIMIT}
    assert refusal.startswith("Du har lastet opp 3 dokumenter")
    assert Counter(outcome(response) for response in responses) == {"stored": LIMIT + 1, refusal: UPLOADS - LIMIT}
    assert IdentityDocument.objects.filter(owner=customer).count() == LIMIT
    assert IdentityDocument.objects.filter(owner=other).count() == 1
    files = {
        path.relative_to(settings.PRIVATE_MEDIA_ROOT).as_posix()
        for path in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*.jpg")
    }
    assert files == set(IdentityDocument.objects.values_list("file", flat=True))
