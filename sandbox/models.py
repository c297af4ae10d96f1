"""The pretend payment provider's own book. It stands in for a third party's
database: the portal's code reaches it only through its adapter,
``subscriptions.payments.sandbox``, the way it reaches a real provider's API."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.payments import PaymentState


class SandboxOutcome(models.TextChoices):
    """What the tester picks on the sandbox's hosted page."""

    APPROVE = "approve", _("Approve")
    DECLINE = "decline", _("Decline")
    INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient funds")
    NEVER_ANSWER = "never_answer", _("Never answer")
    CANCEL = "cancel", _("Cancel")
    # Saving a card (setup mode): a card that pays, or one whose later
    # off-session charges are declined.
    SAVE_CARD = "save_card", _("Save card")
    SAVE_DECLINING_CARD = "save_declining_card", _("Save a card that will decline")


class SandboxMode(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    SETUP = "setup", _("Save a card")


class SandboxCard(models.Model):
    """A card the sandbox keeps for off-session charges."""

    method_id = models.CharField(max_length=40, unique=True)
    customer_ref = models.CharField(max_length=64)
    brand = models.CharField(max_length=20, default="visa")
    last4 = models.CharField(max_length=4, default="4242")
    exp_month = models.PositiveSmallIntegerField(default=12)
    exp_year = models.PositiveSmallIntegerField(default=2030)
    declines = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.method_id


class SandboxPayment(models.Model):
    payment_id = models.CharField(max_length=40, unique=True)
    mode = models.CharField(max_length=10, choices=SandboxMode.choices, default=SandboxMode.PAYMENT)
    # A setup's saved card, or the saved card an off-session payment charged.
    card = models.ForeignKey(SandboxCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=64)
    amount_ore = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    return_url = models.URLField(max_length=2000)
    notify_url = models.URLField(max_length=2000)
    language = models.CharField(max_length=10, default="en")
    state = models.CharField(max_length=10, choices=PaymentState.choices, default=PaymentState.PENDING)
    outcome = models.CharField(max_length=24, choices=SandboxOutcome.choices, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    callbacks_sent = models.PositiveIntegerField(default=0)
    refunded_ore = models.PositiveIntegerField(default=0)
    refund_ids = models.JSONField(default=list)

    class Meta:
        verbose_name = "sandbox payment"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.payment_id
