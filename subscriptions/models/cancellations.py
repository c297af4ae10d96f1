"""Cancelling a line (注销): the customer's request, support's decision, the
worker's deactivation, and the credit note for a refunded balance."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.phone import format_phone
from subscriptions.models.lines import Line
from subscriptions.models.receipts import seller_now


class CancellationReason(models.TextChoices):
    MOVING_ABROAD = "moving_abroad", _("I am moving away from Norway")
    OTHER_OPERATOR = "other_operator", _("I am moving to another operator")
    NOT_USED = "not_used", _("I no longer use this number")
    TOO_EXPENSIVE = "too_expensive", _("It costs too much")
    OTHER = "other", pgettext_lazy("cancellation reason", "Something else")


class CancellationSource(models.TextChoices):
    CUSTOMER = "customer", _("The customer's request")
    PORT_OUT = "port_out", _("Port-out to another operator")


class BalanceChoice(models.TextChoices):
    NONE = "none", _("No balance")
    REFUND = "refund", _("Refund to a bank account")
    GIVE_UP = "give_up", _("Given up")


class CancellationStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for your identity document")
    REVIEW = "review", _("Waiting for support's decision")
    APPROVED = "approved", pgettext_lazy("cancellation status", "Approved")
    DEACTIVATING = "deactivating", _("Being deactivated")
    DONE = "done", pgettext_lazy("cancellation status", "Cancelled")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REJECTED = "rejected", pgettext_lazy("cancellation status", "Rejected")
    FAILED = "failed", _("Stopped by a fault")


class CancellationRejectReason(models.TextChoices):
    """Why support did not approve, as the customer reads it (translated)."""

    IDENTITY = "identity", _("We could not confirm that you are the holder of this line.")
    PORT_OUT = "port_out", _("A port-out of this number to another operator is in progress; it will end the line.")
    AMOUNT_OWED = "amount_owed", _("There is an unpaid amount on the line. Pay it first, then ask again.")
    OTHER = "other", _("We could not approve the request. Customer service can tell you why.")


C = CancellationStatus
# The only moves a cancellation request may make (subscriptions.services.
# cancellations refuses any other). An identity document sends it to
# support; a rejected document sends it back for another one. A failed
# deactivation is retried by support from where it stopped. A port-out
# support marks approves a request that still waits for its document.
TRANSITIONS: dict[str, frozenset[str]] = {
    C.REQUESTED: frozenset({C.REVIEW, C.APPROVED, C.WITHDRAWN, C.REJECTED}),
    C.REVIEW: frozenset({C.REQUESTED, C.APPROVED, C.WITHDRAWN, C.REJECTED}),
    C.APPROVED: frozenset({C.DEACTIVATING, C.FAILED}),
    C.DEACTIVATING: frozenset({C.DONE, C.FAILED}),
    C.FAILED: frozenset({C.DEACTIVATING}),
    C.DONE: frozenset(),
    C.WITHDRAWN: frozenset(),
    C.REJECTED: frozenset(),
}
# A line has at most one request in these states (a partial unique constraint).
OPEN_STATUSES = frozenset({C.REQUESTED, C.REVIEW, C.APPROVED, C.DEACTIVATING, C.FAILED})
# Until support approves, the customer may withdraw.
WITHDRAWABLE_STATUSES = frozenset({C.REQUESTED, C.REVIEW})
# The deactivation's steps, in order, each with the moment it was done.
STEPS = (
    "network_blocked_at",
    "imsi_released_at",
    "profile_disabled_at",
    "line_cancelled_at",
    "orders_closed_at",
    "balance_settled_at",
    "email_sent_at",
)


class CancellationRequest(models.Model):
    """One request to cancel a line, from the form (or support's port-out)
    to the worker's last step.

    ``public_id`` names it on the customer's status page and in every call
    to the network and the SM-DP+ (a retry is harmless). ``line_status_before``
    is where a withdrawn or rejected request puts the line back. Each step of
    the deactivation records its moment, so a worker cut off anywhere
    resumes at the first step not done. The refund account is kept only
    until the credit note is issued (it is printed there)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="cancellation_requests", verbose_name=_("line")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    source = models.CharField(
        _("source"), max_length=10, choices=CancellationSource.choices, default=CancellationSource.CUSTOMER
    )
    reason = models.CharField(_("reason"), max_length=20, choices=CancellationReason.choices)
    status = models.CharField(_("status"), max_length=14, choices=CancellationStatus.choices, default=C.REQUESTED)
    idempotency_key = models.CharField(_("form key"), max_length=64)
    line_status_before = models.CharField(_("line status before"), max_length=24)

    balance_choice = models.CharField(
        _("prepaid balance"), max_length=10, choices=BalanceChoice.choices, default=BalanceChoice.NONE
    )
    refund_account = models.CharField(_("refund to bank account"), max_length=11, blank=True)
    identity_document = models.ForeignKey(
        "accounts.IdentityDocument",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("identity document"),
    )
    decide_by = models.DateField(_("support decides by"))
    reject_reason = models.CharField(
        _("rejected because"), max_length=20, choices=CancellationRejectReason.choices, blank=True
    )
    why = models.CharField(_("note (staff only)"), max_length=300, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("deactivation runs"), default=0)

    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    document_at = models.DateTimeField(_("identity document received"), null=True, blank=True)
    identity_checked_at = models.DateTimeField(_("identity checked"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    deactivation_started_at = models.DateTimeField(_("deactivation started"), null=True, blank=True)
    network_blocked_at = models.DateTimeField(_("blocked on the network"), null=True, blank=True)
    imsi_released_at = models.DateTimeField(_("IMSI released"), null=True, blank=True)
    profile_disabled_at = models.DateTimeField(_("eSIM profile disabled"), null=True, blank=True)
    line_cancelled_at = models.DateTimeField(_("line cancelled"), null=True, blank=True)
    orders_closed_at = models.DateTimeField(_("open orders closed"), null=True, blank=True)
    balance_settled_at = models.DateTimeField(_("balance settled"), null=True, blank=True)
    email_sent_at = models.DateTimeField(_("confirmation emailed"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    closed_at = models.DateTimeField(_("withdrawn, rejected or failed"), null=True, blank=True)
    reactivated_at = models.DateTimeField(_("reactivated"), null=True, blank=True)
    unblocked_at = models.DateTimeField(_("unblocked after reactivation"), null=True, blank=True)

    class Meta:
        verbose_name = _("cancellation request")
        verbose_name_plural = _("cancellation requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["requested_by", "idempotency_key"], name="one_cancellation_per_form"),
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="one_open_cancellation_per_line",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "requested_at"]),
            models.Index(fields=["line", "requested_at"]),
        ]
        permissions = [("decide_cancellation", "Can approve, reject and retry cancellations and mark port-outs")]

    def __str__(self) -> str:
        return f"{format_phone(self.line.number)} {self.public_id}" if self.line_id else str(self.public_id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def can_withdraw(self) -> bool:
        return self.status in WITHDRAWABLE_STATUSES


class CreditNoteSequence(models.Model):
    """The last credit note number given in a year: a series of its own,
    apart from the receipts', without gaps (the row is locked in the
    issuing transaction)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class CreditNote(models.Model):
    """The prepaid balance a cancelled line gave back: to be paid to the
    customer's bank account. A copy of the facts when it was issued.

    Support pays it out from the bank and marks it here once: the day the
    bank paid, the bank's reference, who marked it and when."""

    cancellation = models.OneToOneField(
        CancellationRequest, on_delete=models.PROTECT, related_name="credit_note", verbose_name=_("cancellation")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("customer")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in the year"))
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    customer_name = models.CharField(_("customer"), max_length=150)
    line_number = models.CharField(_("phone number"), max_length=16)
    amount_ore = models.PositiveIntegerField(_("amount (øre)"))
    bank_account = models.CharField(_("bank account"), max_length=11, blank=True)
    seller = models.JSONField(_("seller"), default=seller_now)
    # The name and bank account blanked, as on the receipts (see there).
    anonymised_at = models.DateTimeField(_("name and address erased"), null=True, blank=True)
    paid_out_at = models.DateTimeField(_("marked paid out"), null=True, blank=True)
    paid_out_on = models.DateField(_("paid out on"), null=True, blank=True)
    paid_out_reference = models.CharField(_("bank reference"), max_length=64, blank=True)
    paid_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked paid out by"),
    )

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-year", "-sequence"]
        constraints = [models.UniqueConstraint(fields=["year", "sequence"], name="one_credit_note_per_number")]
        permissions = [("pay_out_creditnote", "Can mark credit notes as paid out")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"K{self.year}-{self.sequence:06d}"
