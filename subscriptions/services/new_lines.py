"""Ordering a new line, and the number pool it draws from.

A signed-in customer:

1. is offered a few free numbers from the pool (``numbers_offer``): each is
   kept for them for ``NEW_LINE_OFFER_MINUTES`` and shown to no one else;
2. picks a plan and one of them (``new_line_request_create``): the number is
   taken once, by a conditional update that only one request can win;
3. has an identity document for a new line approved by support;
4. pays (``new_line_checkout``): the line is made PENDING with the number,
   and paid for through the usual checkout as an order of kind NEW_LINE;
5. the paid order starts provisioning (``order_fulfil`` in settlement.py);
   when the eSIM is ready the line gets its first period of the plan and
   becomes ACTIVE (``new_line_activate``, on the provisioning worker's
   ``provisioning_ready``), so the paid time starts when the customer can use it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import IdentityDocument, User
from accounts.phone import normalize_phone
from subscriptions.csv_files import UnreadableCsvFile, read_csv
from subscriptions.errors import CustomerError
from subscriptions.models import (
    Line,
    LineStatus,
    NewLineRequest,
    NumberBatch,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Plan,
    PlanKind,
    PoolNumber,
    ProvisioningJob,
)
from subscriptions.services.audit import audit_record
from subscriptions.services.checkout import Billing, OrderRequest, order_place, order_provider_name
from subscriptions.services.inventory import InventoryFileRejected, RowError
from subscriptions.services.lines import line_add_period

logger = logging.getLogger(__name__)

NORWAY = "+47"


class NumberFileAlreadyImported(CustomerError):
    """The very same number-pool file (by its SHA-256) was uploaded before."""

    def __init__(self, batch: NumberBatch) -> None:
        self.batch = batch
        super().__init__(
            _(
                "This file was already uploaded as “%(filename)s” (%(count)d numbers added); "
                "nothing was added this time."
            )
            % {"filename": batch.filename, "count": batch.number_count}
        )


# --- the pool ------------------------------------------------------------------------------


def number_pool_import(*, filename: str, content: bytes, by: User | None) -> NumberBatch:
    """Add the numbers of a CSV file (one column, ``number``) to the pool:
    each must be a Norwegian mobile number; any error rejects the whole
    file; numbers already in the pool or on a line are skipped."""
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = NumberBatch.objects.filter(sha256=sha256).first()
    if earlier is not None:
        raise NumberFileAlreadyImported(earlier)
    numbers: list[str] = []
    errors: list[RowError] = []
    try:
        table = read_csv(content, required=("number",))
        seen: dict[str, int] = {}
        for row in table.rows:
            try:
                number = normalize_phone(row.values["number"])
                if not number.startswith(NORWAY):
                    raise ValidationError(_("Not a Norwegian number: it must start with +47."))
            except ValidationError as error:
                errors.append(RowError(row=row.number, column="number", message=" ".join(error.messages)))
                continue
            if number in seen:
                message = _("The same value as row %(row)d.") % {"row": seen[number]}
                errors.append(RowError(row=row.number, column="number", message=message))
                continue
            seen[number] = row.number
            numbers.append(number)
    except UnreadableCsvFile as error:
        errors = [RowError(row=error.row or 1, column="", message=str(error))]
    if not numbers and not errors:
        errors = [RowError(row=2, column="", message=_("The file holds no numbers."))]
    if errors:
        raise InventoryFileRejected(errors)
    known = set(PoolNumber.objects.filter(number__in=numbers).values_list("number", flat=True))
    known |= set(Line.objects.filter(number__in=numbers).values_list("number", flat=True))
    new = [number for number in numbers if number not in known]
    try:
        with transaction.atomic():
            batch = NumberBatch.objects.create(
                filename=filename[:200],
                sha256=sha256,
                number_count=len(new),
                uploaded_by=by if by is not None and by.pk else None,
            )
            PoolNumber.objects.bulk_create([PoolNumber(number=number, batch=batch) for number in new])
    except IntegrityError:
        raise CustomerError(
            _("Another upload added some of these numbers at the same moment. Upload the file again.")
        ) from None
    batch.numbers_skipped = len(numbers) - len(new)
    return batch


def _free(now: datetime) -> Q:
    return Q(taken_at=None) & (Q(offered_until=None) | Q(offered_until__lt=now))


def numbers_offer(*, user: User, now: datetime | None = None) -> list[PoolNumber]:
    """The free numbers offered to ``user``: those still kept for them, topped
    up to ``NEW_LINE_NUMBERS_OFFERED`` from the pool under row locks that
    skip what another customer is being offered at the same moment. Each
    is kept for them for ``NEW_LINE_OFFER_MINUTES`` from now."""
    now = now or timezone.now()
    until = now + timedelta(minutes=settings.NEW_LINE_OFFER_MINUTES)
    wanted = settings.NEW_LINE_NUMBERS_OFFERED
    with transaction.atomic():
        mine = list(
            PoolNumber.objects.select_for_update(skip_locked=True)
            .filter(taken_at=None, offered_to=user, offered_until__gte=now)
            .order_by("number")[:wanted]
        )
        if len(mine) < wanted:
            more = (
                PoolNumber.objects.select_for_update(skip_locked=True)
                .filter(_free(now))
                .exclude(pk__in=[number.pk for number in mine])
                .order_by("number")[: wanted - len(mine)]
            )
            mine += list(more)
        PoolNumber.objects.filter(pk__in=[number.pk for number in mine]).update(offered_to=user, offered_until=until)
    return sorted(mine, key=lambda number: number.number)


# --- the request ---------------------------------------------------------------------------


def new_line_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True, kind=PlanKind.ESIM).order_by("price_ore", "code"))


@transaction.atomic
def new_line_request_create(*, owner: User, plan_id: int, number_id: int) -> NewLineRequest:
    """Take the number for ``owner`` (once: a conditional update from free or
    offered to them) and record the request. The same form sent twice finds
    the request made by the first."""
    plan = Plan.objects.filter(pk=plan_id, is_active=True, kind=PlanKind.ESIM).first()
    if plan is None:
        raise CustomerError(_("This plan is no longer sold. Please pick another."))
    mine = NewLineRequest.objects.filter(owner=owner, number_id=number_id, line=None).first()
    if mine is not None:
        return mine
    now = timezone.now()
    taken = (
        PoolNumber.objects.filter(pk=number_id, taken_at=None)
        .filter(Q(offered_to=owner, offered_until__gte=now) | _free(now))
        .update(taken_at=now, offered_to=owner)
    )
    if taken != 1:
        raise CustomerError(_("This number was taken meanwhile. Please pick another."))
    request = NewLineRequest.objects.create(owner=owner, plan=plan, number_id=number_id)
    # Let the other numbers kept for this customer go back to the pool.
    PoolNumber.objects.filter(offered_to=owner, taken_at=None).update(offered_to=None, offered_until=None)
    logger.info("new-line request %s: number taken", request.public_id)
    return request


def new_line_request_get_owned(*, user: User, public_id: uuid.UUID) -> NewLineRequest:
    request = (
        NewLineRequest.objects.select_related("plan", "number", "line").filter(owner=user, public_id=public_id).first()
    )
    if request is None:
        raise Http404
    return request


def new_line_identity_approved(*, owner: User) -> bool:
    return IdentityDocument.objects.filter(
        owner=owner, purpose=IdentityDocument.Purpose.NEW_LINE, status=IdentityDocument.Status.APPROVED
    ).exists()


def new_line_identity_pending(*, owner: User) -> bool:
    return IdentityDocument.objects.filter(
        owner=owner, purpose=IdentityDocument.Purpose.NEW_LINE, status=IdentityDocument.Status.PENDING
    ).exists()


def new_line_checkout(
    *,
    request: NewLineRequest,
    billing: Billing,
    idempotency_key: str,
    site_url: str,
    method: PaymentMethod = PaymentMethod.CARD,
) -> Order:
    """Pay for the new line: refused until support approved an identity
    document for it, or when the plan is no longer sold; the line is made
    PENDING with the number (once), then the usual checkout."""
    if not new_line_identity_approved(owner=request.owner):
        raise CustomerError(_("Your identity document is not approved yet. We will email you when it is."))
    plan = request.plan
    if not plan.is_active:
        raise CustomerError(_("This plan is no longer sold. Please pick another."))
    order_provider_name(method)
    line = _line_for(request)
    return order_place(
        owner=request.owner,
        request=OrderRequest(line=line, kind=OrderKind.NEW_LINE, amount_ore=plan.price_ore, method=method, plan=plan),
        billing=billing,
        idempotency_key=idempotency_key,
        site_url=site_url,
    )


@transaction.atomic
def _line_for(request: NewLineRequest) -> Line:
    locked = NewLineRequest.objects.select_for_update(of=("self",)).select_related("number", "line").get(pk=request.pk)
    if locked.line is None:
        locked.line = Line.objects.create(
            owner=request.owner, number=locked.number.number, kind=request.plan.kind, status=LineStatus.PENDING
        )
        locked.save(update_fields=["line"])
        audit_record(
            line=locked.line, action="new_line_created", by=request.owner, data={"request": str(locked.public_id)}
        )
    request.line = locked.line
    return locked.line


def new_line_activate(*, line: Line) -> None:
    """The line's first eSIM is ready: its first period of the plan it was
    paid for starts now, and the line becomes ACTIVE. A line that is not
    pending, or has no paid new-line order, is left as it is."""
    if line.status != LineStatus.PENDING:
        return
    order = (
        Order.objects.filter(line=line, kind=OrderKind.NEW_LINE, status=OrderStatus.PAID, period=None)
        .select_related("plan")
        .first()
    )
    if order is None or order.plan is None:
        return
    order.period = line_add_period(line=line, plan=order.plan, by=None, reason=f"new line, order {order.public_id}")
    order.save(update_fields=["period"])


def new_line_job(*, request: NewLineRequest) -> ProvisioningJob | None:
    if request.line_id is None:
        return None
    return ProvisioningJob.objects.filter(key=f"new-line:{request.line_id}").first()


def new_line_paid_order(*, request: NewLineRequest) -> Order | None:
    if request.line_id is None:
        return None
    return Order.objects.filter(line_id=request.line_id, kind=OrderKind.NEW_LINE, status=OrderStatus.PAID).first()
