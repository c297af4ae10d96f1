"""Suspensions (停机): a line the customer (or support) stopped for a while,
with why, and how far the network got in blocking and unblocking it.

The line's status says whether it is suspended (the state machine in
``lines.py``); a row here says why, who did it, and the network's side:
the block is asked for when the line is suspended and the unblock when it
is resumed, each by a worker with a request id of this row's, each recorded
once (``blocked_at``, ``unblocked_at``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line


class SuspensionReason(models.TextChoices):
    LOST_PHONE = "lost_phone", _("My phone is lost")
    TRAVELLING = "travelling", _("I am travelling")
    OTHER = "other", _("Another reason")
    SUPPORT = "support", _("Suspended by customer service")


# The reasons a customer may pick; SUPPORT is for the admin's action.
CUSTOMER_REASONS = (SuspensionReason.LOST_PHONE, SuspensionReason.TRAVELLING, SuspensionReason.OTHER)


class LineSuspension(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="suspensions", verbose_name=_("line"))
    reason = models.CharField(_("reason"), max_length=12, choices=SuspensionReason.choices)
    # Support's words to the customer (shown on the line page); empty for a
    # customer's own suspension.
    note = models.CharField(_("note to the customer"), max_length=300, blank=True)
    by_support = models.BooleanField(_("by customer service"), default=False)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suspended by"),
    )
    suspended_at = models.DateTimeField(_("suspended"), default=timezone.now)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resumed by"),
    )
    resumed_at = models.DateTimeField(_("resumed"), null=True, blank=True)
    # The network's side. ``block_started_at`` is taken (by a conditional
    # update) before the block is asked for, and only while the suspension
    # is not resumed: an unblock waits for a block that started, and a
    # suspension resumed before its block started needs neither.
    block_started_at = models.DateTimeField(_("block asked for"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("blocked on the network"), null=True, blank=True)
    unblocked_at = models.DateTimeField(_("unblocked on the network"), null=True, blank=True)

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-suspended_at", "-id"]
        constraints = [
            # A line is suspended once at a time: a race of two suspensions
            # ends in one row.
            models.UniqueConstraint(fields=["line"], condition=Q(resumed_at=None), name="one_open_suspension_per_line"),
        ]

    def __str__(self) -> str:
        return f"{self.line} {self.get_reason_display()}"

    def request_id(self, step: str) -> str:
        """The network request id of ``step`` (block, unblock): the same on every retry."""
        return f"suspension-{self.public_id}-{step}"
