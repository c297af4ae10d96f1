"""A receipt is a copy of the facts at payment: renaming the plan or changing
the seller afterwards does not change what an old receipt says, on the
receipts page, in its PDF or in its email, in any language."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from sandbox.models import SandboxOutcome
from sandbox.provider import sandbox_decide
from subscriptions.models import Receipt
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.receipt_mail import receipt_email
from subscriptions.services.checkout import Billing, order_place, renewal_request, topup_request
from subscriptions.services.settlement import payment_update_apply
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.subscriptions.receipts import pdf_text

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
OLD_NAMES = {"en": "Fjord 10 GB", "nb": "Fjord 10 GB måned", "zh-hans": "峡湾 10 GB"}
NEW_NAMES = {"en": "Aurora Max", "nb": "Nordlys Maks", "zh-hans": "极光无限"}


def pay_for_renewal(owner, plan, *, key: str = "k1") -> Receipt:
    """A card renewal paid on the sandbox, its callback applied."""
    line = LineFactory(owner=owner, with_period=plan)
    request = renewal_request(line=line, plan=plan, method="card")
    order = order_place(owner=owner, request=request, billing=Billing(name="Kari"), idempotency_key=key, site_url=SITE)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    payment_update_apply(
        provider="sandbox", update=SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    )
    return Receipt.objects.get(order=order)


def rename(plan) -> None:
    """What support does in the admin: a new name in every language."""
    plan.name_en, plan.name_nb, plan.name_zh_hans = NEW_NAMES["en"], NEW_NAMES["nb"], NEW_NAMES["zh-hans"]
    plan.save(update_fields=["name_en", "name_nb", "name_zh_hans"])


@pytest.fixture
def plan():
    return PlanFactory(name_en=OLD_NAMES["en"], name_nb=OLD_NAMES["nb"], name_zh_hans=OLD_NAMES["zh-hans"])


@pytest.mark.parametrize("language", OLD_NAMES)
def test_the_receipts_page_and_pdf_keep_the_plan_name_paid_for_after_a_rename(client, plan, language):
    owner = UserFactory(language=language)
    receipt = pay_for_renewal(owner, plan)
    rename(plan)
    client.force_login(owner)

    page = client.get("/receipts/").content.decode()
    pdf = pdf_text(client.get(f"/receipts/{receipt.pk}/pdf/").content)

    assert OLD_NAMES[language] in page
    assert NEW_NAMES[language] not in page
    assert OLD_NAMES[language] in pdf
    assert NEW_NAMES[language] not in pdf


def test_a_receipt_paid_after_the_rename_has_the_new_name(client, plan):
    owner = UserFactory(language="en")
    pay_for_renewal(owner, plan, key="before")
    rename(plan)
    pay_for_renewal(owner, plan, key="after")
    client.force_login(owner)

    page = client.get("/receipts/").content.decode()

    assert OLD_NAMES["en"] in page
    assert NEW_NAMES["en"] in page


@pytest.mark.parametrize("language", OLD_NAMES)
def test_the_receipt_email_sent_later_keeps_the_plan_name_paid_for(plan, language):
    owner = UserFactory(language=language, email="kari@example.test")
    receipt = pay_for_renewal(owner, plan)
    rename(plan)
    receipt = Receipt.objects.select_related("owner").get(pk=receipt.pk)

    with translation.override(language):
        message = receipt_email(receipt, receipts_url=f"{SITE}/receipts/")

    assert message is not None
    assert OLD_NAMES[language] in message.body
    assert NEW_NAMES[language] not in message.body
    assert OLD_NAMES[language] in pdf_text(message.attachments[0][1])


@pytest.mark.parametrize("language", OLD_NAMES)
def test_the_pdf_keeps_the_seller_as_it_was_at_payment(client, plan, settings, language):
    owner = UserFactory(language=language)
    receipt = pay_for_renewal(owner, plan)
    settings.SELLER = {
        "name": "Nordlys Telekom ASA",
        "organisation_number": "NO 999 888 777 MVA",
        "address": ["Karl Johans gate 9", "0162 Oslo", "Norge"],
        "email": "hjelp@nordlys.test",
    }
    client.force_login(owner)

    pdf = pdf_text(client.get(f"/receipts/{receipt.pk}/pdf/").content)

    assert "Nordlys Mobil AS" in pdf
    assert "NO 929 384 756 MVA" in pdf
    assert "Storgata 1" in pdf
    assert "Nordlys Telekom ASA" not in pdf
    assert "Karl Johans gate 9" not in pdf


def test_a_receipt_paid_after_the_seller_changes_shows_the_new_seller(client, plan, settings):
    owner = UserFactory(language="nb")
    settings.SELLER = {**settings.SELLER, "name": "Nordlys Telekom ASA", "address": ["Karl Johans gate 9"]}
    receipt = pay_for_renewal(owner, plan)
    client.force_login(owner)

    pdf = pdf_text(client.get(f"/receipts/{receipt.pk}/pdf/").content)

    assert "Nordlys Telekom ASA" in pdf
    assert "Karl Johans gate 9" in pdf


def test_the_migration_copies_each_receipts_plan_name_from_its_plan_range_by_range(plan, monkeypatch):
    other = PlanFactory(name_en="Keep", name_nb="Behold", name_zh_hans="保号")
    owner = UserFactory()
    first = pay_for_renewal(owner, plan, key="a")
    second = pay_for_renewal(owner, other, key="b")
    line = LineFactory(owner=owner, with_period=plan)
    top_up = order_place(
        owner=owner,
        request=topup_request(line=line, amount_ore=100_00),
        billing=Billing(name="Kari"),
        idempotency_key="c",
        site_url=SITE,
    )
    sandbox_decide(payment_id=top_up.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    payment_update_apply(
        provider="sandbox", update=SandboxProvider().fetch_status(payment_id=top_up.provider_payment_id)
    )
    # The receipts as they were before they had copies of their own.
    Receipt.objects.update(plan_name_en="", plan_name_nb="", plan_name_zh_hans="")
    migration = importlib.import_module("subscriptions.migrations.0013_receipt_plan_name_and_seller")
    monkeypatch.setattr(migration, "BATCH", 1)

    migration.copy_plan_names(apps, SimpleNamespace(connection=connection))

    copied = {r.pk: (r.plan_name_en, r.plan_name_nb, r.plan_name_zh_hans) for r in Receipt.objects.all()}
    assert copied == {
        first.pk: (OLD_NAMES["en"], OLD_NAMES["nb"], OLD_NAMES["zh-hans"]),
        second.pk: ("Keep", "Behold", "保号"),
        Receipt.objects.get(order=top_up).pk: ("", "", ""),
    }


def test_a_receipt_issued_without_the_copies_shows_its_plans_name_rather_than_none(plan):
    """A receipt written by code older than the copies during a deploy."""
    receipt = pay_for_renewal(UserFactory(), plan)
    Receipt.objects.filter(pk=receipt.pk).update(plan_name_en="", plan_name_nb="", plan_name_zh_hans="")
    receipt.refresh_from_db()

    assert receipt.plan_name == plan.name_en


def test_the_receipts_page_reads_one_query_of_receipts_with_legacy_ones_among_them(client, plan):
    """Twenty receipts, one of them from before the copies (its name comes
    from the plan): the same queries as for one, and every name shown."""
    owner = UserFactory(language="nb")
    first = pay_for_renewal(owner, plan, key="first")
    client.force_login(owner)
    with CaptureQueriesContext(connection) as one:
        client.get("/receipts/")
    for index in range(19):
        pay_for_renewal(owner, plan, key=f"more-{index}")
    Receipt.objects.filter(pk=first.pk).update(plan_name_en="", plan_name_nb="", plan_name_zh_hans="")

    with CaptureQueriesContext(connection) as twenty:
        page = client.get("/receipts/").content.decode()

    assert len(twenty) == len(one)
    assert page.count(OLD_NAMES["nb"]) == 20
