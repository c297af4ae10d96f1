"""New lines: the pool of free numbers staff import, and a customer's order
of a new line (a plan and one number from the pool)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.phone import format_phone
from subscriptions.models.lines import Line
from subscriptions.models.plans import Plan


class NumberBatch(models.Model):
    """One number-pool file as uploaded (its SHA-256 unique, like the eSIM inventory's)."""

    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    number_count = models.PositiveIntegerField(_("numbers added"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    # Not a column: set by the import on the batch it returns.
    numbers_skipped: int = 0

    class Meta:
        verbose_name = _("number pool file")
        verbose_name_plural = _("number pool files")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.number_count})"


class PoolNumber(models.Model):
    """A Norwegian mobile number the operator may give to a new line. Offered
    to one customer until ``offered_until`` (others are not shown it
    meanwhile), taken once (``taken_at``) by a new-line order."""

    number = models.CharField(_("phone number"), max_length=16, unique=True)
    batch = models.ForeignKey(NumberBatch, on_delete=models.PROTECT, related_name="numbers")
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered to"),
    )
    offered_until = models.DateTimeField(_("offered until"), null=True, blank=True)
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)

    class Meta:
        verbose_name = _("pool number")
        verbose_name_plural = _("number pool")
        ordering = ["number"]
        indexes = [models.Index(fields=["taken_at", "offered_until"])]

    def __str__(self) -> str:
        return format_phone(self.number)

    @property
    def number_display(self) -> str:
        return format_phone(self.number)


class NewLineRequest(models.Model):
    """A customer's order of a new line: the plan and the number taken for
    it. The line itself is made (PENDING) at checkout, paid for as an order
    of kind NEW_LINE, and becomes active when its eSIM is ready."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="new_line_requests", verbose_name=_("customer")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    number = models.OneToOneField(
        PoolNumber, on_delete=models.PROTECT, related_name="new_line_request", verbose_name=_("number")
    )
    line = models.OneToOneField(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="new_line_request", verbose_name=_("line")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("new-line request")
        verbose_name_plural = _("new-line requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.plan}"
