"""Receipts: numbered in the paying transaction, so the numbers of a year
run without gaps (a payment that rolls back gives its number back); emailed
once the payment commits, and again by a sweep if the email never left (the
task queue down at that moment, or the mail server for longer than the
task's retries)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import KombuError

from accounts.models import NotificationChannel, NotificationKind
from accounts.notifications import notification_enabled, unsubscribe_headers
from subscriptions.models import Order, OrderKind, Receipt, ReceiptSequence
from subscriptions.models.plans import VAT_RATE_PERCENT, vat_inside
from subscriptions.models.receipts import seller_now
from subscriptions.periods import OSLO

logger = logging.getLogger(__name__)

# A receipt whose email the queue did not take is queued again after this.
EMAIL_NOT_QUEUED_GRACE = timedelta(minutes=5)
# A receipt queued and still not sent after this is queued again: longer
# than send_receipt's retries take (about two hours), so a task still
# retrying is not doubled.
EMAIL_QUEUED_GRACE = timedelta(hours=3)
# Older than this, an unsent receipt email is left alone (it stays on the
# receipts page): news of a payment days late would confuse more than help.
EMAIL_GIVE_UP_AFTER = timedelta(days=3)
EMAIL_SWEEP_BATCH = 500


def receipt_issue(*, order: Order, now: datetime) -> Receipt:
    """The receipt for a paid order. Call it inside the paying transaction,
    holding the order's lock.

    1. Take the next number of the Oslo calendar year under a lock on the
       year's sequence row (created at the year's first receipt).
    2. Copy the customer, line, plan (its name in each language), period
       and seller as they are now: the receipt keeps them as they were.
    3. VAT: 25 % inside the price of a renewal. A top-up of the prepaid
       balance carries none: VAT is charged when the balance is spent.
    """
    assert transaction.get_connection().in_atomic_block, "receipt_issue needs the paying transaction"
    year = now.astimezone(OSLO).year
    ReceiptSequence.objects.get_or_create(year=year)
    sequence = ReceiptSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    rate = 0 if order.kind == OrderKind.TOPUP else VAT_RATE_PERCENT
    period = order.period
    plan = order.plan
    return Receipt.objects.create(
        order=order,
        owner_id=order.owner_id,
        year=year,
        sequence=sequence.last_number,
        issued_at=now,
        kind=order.kind,
        method=order.method,
        customer_name=order.billing_name,
        customer_address="\n".join(order.billing_address_lines),
        line_number=order.line.number,
        plan=plan,
        plan_name_en=plan.name_en if plan else "",
        plan_name_nb=plan.name_nb if plan else "",
        plan_name_zh_hans=plan.name_zh_hans if plan else "",
        period_starts_at=period.starts_at if period else None,
        period_ends_at=period.ends_at if period else None,
        discount_ore=order.discount_ore,
        total_ore=order.amount_ore,
        vat_ore=vat_inside(order.amount_ore, rate),
        vat_rate_percent=rate,
        seller=seller_now(),
        # The caller queues the email when the payment commits.
        email_queued_at=now,
    )


def receipt_email_queue(*, receipt_id: int) -> None:
    """Hand the receipt's email to the task queue; call it once the paying
    transaction has committed. A queue that cannot take it does not undo
    the payment nor give the customer an error page: it is logged, and the
    receipt is left to ``receipts_email_due``."""
    from subscriptions.tasks import send_receipt

    try:
        send_receipt.delay(receipt_id)
    except (KombuError, OSError):
        logger.exception("the email of receipt %s could not be queued; the sweep will queue it again", receipt_id)
        Receipt.objects.filter(pk=receipt_id, emailed_at__isnull=True).update(email_queued_at=None)


def receipt_email_send(*, receipt_id: int) -> bool:
    """Email the receipt with its PDF in the customer's language, unless it
    was sent already (a task queued twice); then note it sent. True if an
    email left. An owner without an email address, or who turned receipt
    emails off, gets none, and the receipt counts as done (it is on the
    receipts page). The email carries the one-click unsubscribe headers."""
    from subscriptions.receipt_mail import receipt_email

    receipt = Receipt.objects.select_related("owner").get(pk=receipt_id)
    if receipt.emailed_at is not None:
        return False
    owner = receipt.owner
    wanted = notification_enabled(user_id=owner.pk, kind=NotificationKind.RECEIPT, channel=NotificationChannel.EMAIL)
    message = None
    if wanted:
        with translation.override(owner.language):
            message = receipt_email(receipt, receipts_url=settings.SITE_URL + reverse("receipt_list"))
    if message is not None:
        message.extra_headers.update(unsubscribe_headers(user_id=owner.pk, kind=NotificationKind.RECEIPT))
        message.send()
    Receipt.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return message is not None


def receipts_email_due(*, now: datetime | None = None) -> list[int]:
    """The receipts whose email should be queued again, claimed for this
    sweep: not sent, issued in the last EMAIL_GIVE_UP_AFTER, and either not
    queued (the queue refused it) for EMAIL_NOT_QUEUED_GRACE, or queued more
    than EMAIL_QUEUED_GRACE ago. Each is claimed by a conditional update of
    its queue time, so two sweeps side by side queue it once."""
    now = now or timezone.now()
    unsent = Receipt.objects.filter(emailed_at__isnull=True, issued_at__gte=now - EMAIL_GIVE_UP_AFTER)
    due = unsent.filter(
        Q(email_queued_at__isnull=True, issued_at__lte=now - EMAIL_NOT_QUEUED_GRACE)
        | Q(email_queued_at__lte=now - EMAIL_QUEUED_GRACE)
    )
    claimed = []
    for receipt_id, queued_at in due.order_by("issued_at").values_list("pk", "email_queued_at")[:EMAIL_SWEEP_BATCH]:
        if Receipt.objects.filter(pk=receipt_id, email_queued_at=queued_at).update(email_queued_at=now) == 1:
            claimed.append(receipt_id)
    return claimed
