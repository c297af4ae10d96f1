"""Receipts: one per paid order, numbered per year without gaps."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.phone import format_phone
from subscriptions.models.orders import Order, OrderKind, PaymentMethod, payment_method_label
from subscriptions.models.plans import Plan, in_active_language


def seller_now() -> dict[str, Any]:
    """The seller as settings.SELLER says now: name, organisation number,
    address lines and email. A receipt keeps its own copy."""
    return copy.deepcopy(dict(settings.SELLER))


class ReceiptSequence(models.Model):
    """The last receipt number given in a year. Its row is locked in the
    paying transaction, so a number is taken only by a payment that commits."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Receipt(models.Model):
    """What was sold, to whom, for how much: a copy of the facts at the moment
    of payment, so that a later change to the profile or the plan does not
    rewrite it."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt", verbose_name=_("order"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("customer")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in the year"))
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=12, choices=OrderKind.choices)
    method = models.CharField(_("paid by"), max_length=10, choices=PaymentMethod.choices)
    customer_name = models.CharField(_("customer"), max_length=150)
    customer_address = models.CharField(_("address"), max_length=320, blank=True)
    # The name and address blanked: the owner deleted the account and the
    # bookkeeping period (RECEIPT_RETENTION_YEARS after the year) is over.
    anonymised_at = models.DateTimeField(_("name and address erased"), null=True, blank=True)
    line_number = models.CharField(_("phone number"), max_length=16)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("plan")
    )
    # The plan's name in each language as it was at payment (empty for a
    # top-up): renaming the plan later does not rename what was bought.
    plan_name_en = models.CharField(_("plan name (English)"), max_length=80, blank=True)
    plan_name_nb = models.CharField(_("plan name (Norwegian)"), max_length=80, blank=True)
    plan_name_zh_hans = models.CharField(_("plan name (Chinese)"), max_length=80, blank=True)
    period_starts_at = models.DateTimeField(_("period starts"), null=True, blank=True)
    period_ends_at = models.DateTimeField(_("period ends"), null=True, blank=True)
    discount_ore = models.PositiveIntegerField(_("discount (øre)"), default=0)
    total_ore = models.PositiveIntegerField(_("total (øre)"))
    vat_ore = models.PositiveIntegerField(_("VAT (øre)"))
    vat_rate_percent = models.PositiveSmallIntegerField(_("VAT rate (%)"))
    # Who sold it, as settings.SELLER said at payment: a new address or
    # name of the company later does not rewrite old receipts.
    seller = models.JSONField(_("seller"), default=seller_now)
    # The receipt email: when it was last handed to the task queue, and when
    # it was sent (or found to have no address to go to). A receipt queued
    # long ago and still not sent is queued again by a sweep, so an outage
    # of the queue or the mail server does not lose it.
    email_queued_at = models.DateTimeField(_("email queued"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="one_receipt_per_number"),
        ]
        indexes = [
            models.Index(fields=["owner", "issued_at"]),
            models.Index(fields=["issued_at"], condition=models.Q(emailed_at__isnull=True), name="receipt_not_emailed"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def method_label(self) -> str:
        """How it was paid, for people: its method as issued, told apart by
        the order's provider (a saved card, or a Vipps MobilePay agreement),
        which never changes once paid."""
        return payment_method_label(self.method, self.order.provider)

    @property
    def number(self) -> str:
        return f"{self.year}-{self.sequence:06d}"

    @property
    def plan_name(self) -> str:
        """The plan's name as it was at payment, in the active language
        (English when there is none in it), like ``Plan.name``."""
        name = in_active_language(self, "plan_name")
        if not name and self.plan is not None:
            # Issued by code older than the copies while this was deployed:
            # the plan's name today rather than none.
            name = self.plan.name
        return name

    @property
    def line_number_display(self) -> str:
        return format_phone(self.line_number)

    @property
    def net_ore(self) -> int:
        return self.total_ore - self.vat_ore

    @property
    def address_lines(self) -> list[str]:
        return [part for part in self.customer_address.split("\n") if part]
