"""Ordering a new line: numbers from the pool offered and taken once, the
identity check before payment, the NEW_LINE order fulfilled once into a
pending line whose eSIM is prepared, then the line active; and nobody
else's request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.identity import identity_document_approve
from accounts.models import IdentityDocument
from sandbox.models import SandboxOutcome
from sandbox.provider import sandbox_decide
from subscriptions.errors import CustomerError
from subscriptions.models import (
    EsimState,
    LineStatus,
    NewLineRequest,
    Order,
    OrderKind,
    OrderStatus,
    PoolNumber,
    ProvisioningJob,
    ProvisioningStatus,
    Receipt,
)
from subscriptions.payments import PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.checkout import Billing
from subscriptions.services.inventory import InventoryFileRejected
from subscriptions.services.new_lines import (
    new_line_checkout,
    new_line_request_create,
    number_pool_import,
    numbers_offer,
)
from subscriptions.services.settlement import payment_update_apply
from tests.factories import EsimProfileFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
BILLING = Billing(name="王小明", street="Storgata 5", postal_code="0155", city="Oslo")


def pool_file(*numbers: str) -> bytes:
    return ("number\n" + "\n".join(numbers) + "\n").encode()


@pytest.fixture
def pool():
    number_pool_import(filename="pool.csv", content=pool_file(*(f"4{n:07d}" for n in range(10, 20))), by=None)
    return PoolNumber.objects.all()


@pytest.fixture
def plan():
    return PlanFactory(code="fjord-month", price_ore=199_00)


@pytest.fixture
def customer():
    return UserFactory(email="xiaoming@example.test", full_name="王小明")


def approved_identity(owner):
    document = IdentityDocument.objects.create(
        owner=owner, kind="passport", purpose="new_line", content_type="image/png", size=1
    )
    return identity_document_approve(document=document, by=UserFactory(is_staff=True))


def pay(order, outcome=SandboxOutcome.APPROVE) -> PaymentUpdate:
    """The tester's choice on the sandbox page, then its callback applied;
    returns the callback, to send it again."""
    sandbox_decide(payment_id=order.provider_payment_id, outcome=outcome)
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    callback = PaymentUpdate(
        event_id=f"evt_{update.payment_id}_{update.state}",
        payment_id=update.payment_id,
        reference=update.reference,
        state=update.state,
        amount_ore=update.amount_ore,
        reason=update.reason,
    )
    payment_update_apply(provider="sandbox", update=callback)
    return callback


def test_a_pool_file_adds_norwegian_mobile_numbers_in_e164():
    batch = number_pool_import(filename="p.csv", content=pool_file("912 34 567", "+47 41234567"), by=None)

    assert batch.number_count == 2
    assert sorted(PoolNumber.objects.values_list("number", flat=True)) == ["+4741234567", "+4791234567"]


@pytest.mark.parametrize("bad", ["22 22 22 22", "+46 70 123 45 67", "12345", "912 34 567\n91234567"])
def test_a_pool_file_with_a_number_that_is_not_a_norwegian_mobile_is_rejected_whole(bad):
    with pytest.raises(InventoryFileRejected) as caught:
        number_pool_import(filename="p.csv", content=pool_file("93456789", bad), by=None)

    assert caught.value.errors
    assert not PoolNumber.objects.exists()


def test_two_customers_are_offered_different_numbers(pool):
    first = numbers_offer(user=UserFactory())
    second = numbers_offer(user=UserFactory())

    assert len(first) == len(second) == 3
    assert not {number.pk for number in first} & {number.pk for number in second}


def test_an_offer_is_kept_for_a_while_and_then_goes_back_to_the_pool(pool, settings):
    kari = UserFactory()
    offered = numbers_offer(user=kari)

    assert numbers_offer(user=kari) == offered
    later = timezone.now() + timedelta(minutes=settings.NEW_LINE_OFFER_MINUTES + 1)
    others = numbers_offer(user=UserFactory(), now=later)
    assert {number.pk for number in others} == {number.pk for number in offered}


def test_a_number_offered_to_someone_else_cannot_be_taken(pool, plan, customer):
    theirs = numbers_offer(user=UserFactory())[0]

    with pytest.raises(CustomerError, match="taken meanwhile"):
        new_line_request_create(owner=customer, plan_id=plan.pk, number_id=theirs.pk)
    assert not NewLineRequest.objects.exists()


def test_a_number_is_taken_once_and_the_same_form_again_finds_the_request(pool, plan, customer):
    mine = numbers_offer(user=customer)[0]

    first = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=mine.pk)
    again = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=mine.pk)

    assert again == first
    mine.refresh_from_db()
    assert mine.taken_at is not None
    assert numbers_offer(user=UserFactory())[0] != mine
    with pytest.raises(CustomerError, match="taken meanwhile"):
        new_line_request_create(owner=UserFactory(), plan_id=plan.pk, number_id=mine.pk)


def test_a_plan_no_longer_sold_is_refused(pool, plan, customer):
    plan.is_active = False
    plan.save()

    with pytest.raises(CustomerError, match="no longer sold"):
        new_line_request_create(owner=customer, plan_id=plan.pk, number_id=numbers_offer(user=customer)[0].pk)


def test_payment_waits_for_the_identity_document_to_be_approved(pool, plan, customer):
    request = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=numbers_offer(user=customer)[0].pk)

    with pytest.raises(CustomerError, match="not approved yet"):
        new_line_checkout(request=request, billing=BILLING, idempotency_key="k", site_url=SITE)
    assert not Order.objects.exists()


def test_a_paid_new_line_is_fulfilled_once_into_an_active_line_with_its_esim(
    pool, plan, customer, django_capture_on_commit_callbacks
):
    EsimProfileFactory()
    approved_identity(customer)
    request = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=numbers_offer(user=customer)[0].pk)
    order = new_line_checkout(request=request, billing=BILLING, idempotency_key="k", site_url=SITE)
    assert order.kind == OrderKind.NEW_LINE
    assert order.line.status == LineStatus.PENDING
    assert order.line.number == request.number.number

    with django_capture_on_commit_callbacks(execute=True):
        callback = pay(order)
    with django_capture_on_commit_callbacks(execute=True):
        payment_update_apply(provider="sandbox", update=callback)

    order.refresh_from_db()
    line = order.line
    line.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert ProvisioningJob.objects.count() == 1
    assert Receipt.objects.filter(order=order).count() == 1
    assert ProvisioningJob.objects.get(line=line).status == ProvisioningStatus.READY
    assert line.esim_profiles.get().state == EsimState.RELEASED
    assert line.status == LineStatus.ACTIVE
    assert order.period is not None and line.expires_at == order.period.ends_at


def test_a_paid_new_line_with_no_stock_waits_and_stays_pending(
    pool, plan, customer, django_capture_on_commit_callbacks
):
    approved_identity(customer)
    request = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=numbers_offer(user=customer)[0].pk)
    order = new_line_checkout(request=request, billing=BILLING, idempotency_key="k", site_url=SITE)

    with django_capture_on_commit_callbacks(execute=True):
        pay(order)

    order.line.refresh_from_db()
    assert order.line.status == LineStatus.PENDING
    assert order.line.expires_at is None
    assert ProvisioningJob.objects.get(line=order.line).status == ProvisioningStatus.WAITING


# --- the pages -----------------------------------------------------------------------------


def test_the_dashboard_of_a_customer_without_lines_offers_a_new_line(client, customer):
    client.force_login(customer)

    page = client.get("/dashboard/").content.decode()

    assert 'href="/lines/new/"' in page


def test_the_order_page_takes_a_number_and_shows_the_identity_step(client, pool, plan, customer):
    client.force_login(customer)
    page = client.get("/lines/new/")
    number = page.context["numbers"][0]

    answer = client.post("/lines/new/", {"plan": plan.pk, "number": number.pk})

    request = NewLineRequest.objects.get(owner=customer)
    assert answer.status_code == 302 and answer["Location"] == f"/lines/new/{request.public_id}/"
    detail = client.get(answer["Location"]).content.decode()
    assert number.number_display in detail
    assert "/account/identity/?for=new_line" in detail


def test_a_number_taken_meanwhile_is_a_translated_error_on_the_same_page(client, pool, plan, customer):
    customer.language = "nb"
    customer.save()
    client.force_login(customer)
    theirs = numbers_offer(user=UserFactory())[0]

    answer = client.post("/lines/new/", {"plan": plan.pk, "number": theirs.pk})

    assert answer.status_code == 400
    assert "Dette nummeret ble tatt i mellomtiden" in answer.content.decode()


def test_another_customers_new_line_request_is_not_found(client, pool, plan, customer):
    request = new_line_request_create(owner=customer, plan_id=plan.pk, number_id=numbers_offer(user=customer)[0].pk)
    client.force_login(UserFactory())

    assert client.get(f"/lines/new/{request.public_id}/").status_code == 404
    assert client.post(f"/lines/new/{request.public_id}/", {"full_name": "X"}).status_code == 404
