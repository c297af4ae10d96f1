"""What payment providers told us, kept whole: every callback and status
answer once, by the provider's event id."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from subscriptions.models.orders import Order


class PaymentState(models.TextChoices):
    """A payment as the provider sees it."""

    PENDING = "pending", pgettext_lazy("payment status", "Pending")
    PAID = "paid", _("Paid")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", pgettext_lazy("payment status", "Cancelled")
    # Approved and the money reserved, not yet captured (Vipps MobilePay).
    AUTHORIZED = "authorized", pgettext_lazy("payment status", "Reserved")
    # Money given back (reported by Vipps MobilePay's webhooks).
    REFUNDED = "refunded", pgettext_lazy("payment status", "Refunded")


class EventResult(models.TextChoices):
    """What recording the event did to our books."""

    APPLIED = "applied", _("Applied to the order")
    NO_CHANGE = "no_change", _("Nothing to change")
    REFUND_DUE = "refund_due", _("Money received, to be refunded")
    REFUNDED = "refunded", _("Refunded")


class PaymentEvent(models.Model):
    """One thing a provider told us about a payment. The unique (provider,
    event id) pair makes a repeated callback a no-op. A payment we cannot
    fulfil (its order already paid or abandoned, the amount wrong) stays here
    as ``refund_due`` until support refunds it: money is never lost."""

    provider = models.CharField(_("provider"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=255)
    payment_id = models.CharField(_("provider's payment id"), max_length=255)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_events",
        verbose_name=_("order"),
    )
    state = models.CharField(_("state"), max_length=10, choices=PaymentState.choices)
    amount_ore = models.PositiveIntegerField(_("amount (øre)"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    result = models.CharField(_("result"), max_length=12, choices=EventResult.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    refund_id = models.CharField(_("provider's refund id"), max_length=255, blank=True)
    payload = models.JSONField(_("as received"), default=dict)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_once"),
        ]
        indexes = [models.Index(fields=["result", "received_at"])]
        permissions = [("refund_payment", "Can refund payments flagged for a refund")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"
