"""Orders: what a customer asked to buy (a renewal, a top-up or a replacement
eSIM's fee) and how the payment for it went."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line, ServicePeriod
from subscriptions.models.plans import Plan
from subscriptions.models.replacements import ReplacementRequest


class OrderKind(models.TextChoices):
    RENEWAL = "renewal", _("Renewal")
    TOPUP = "topup", _("Top-up")
    REPLACEMENT = "replacement", _("eSIM replacement")
    NEW_LINE = "new_line", _("New line")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    DECLINED = "declined", _("Declined")
    ABANDONED = "abandoned", _("Abandoned")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    BALANCE = "balance", _("Prepaid balance")
    SAVED_CARD = "saved_card", _("Saved card (auto-renew)")
    VIPPS = "vipps", _("Vipps MobilePay")


# The providers whose saved method is a Vipps MobilePay agreement (Recurring
# API) rather than a card.
VIPPS_AGREEMENT_PROVIDERS = ("vipps_recurring", "sandbox_recurring")
# A saved method's charge (SAVED_CARD) through such an agreement, as people read it.
VIPPS_AUTO_RENEW = _("Vipps MobilePay (auto-renew)")


def payment_method_label(method: str, provider: str) -> str:
    """How an order was paid, in the active language. An auto-renew charge
    is a SAVED_CARD order whichever saved method it used (the services treat
    both alike); the provider tells a Vipps MobilePay agreement from a card."""
    if method == PaymentMethod.SAVED_CARD and provider in VIPPS_AGREEMENT_PROVIDERS:
        return str(VIPPS_AUTO_RENEW)
    return str(dict(PaymentMethod.choices).get(method, method))


class CaptureStatus(models.TextChoices):
    """Where a reserved payment (Vipps MobilePay) stands after its order was
    fulfilled: the reserved amount is captured when we deliver."""

    NONE = "", _("Not reserved")
    DUE = "due", _("To be captured")
    CAPTURED = "captured", _("Captured")
    # Released at the provider after we delivered: nothing left to capture.
    LOST = "lost", _("Released before capture")


class Order(models.Model):
    """One purchase. Created once per checkout form (``idempotency_key``),
    settled once under a row lock: paid (with its period or top-up and its
    receipt), declined or abandoned. The customer sees it by ``public_id``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="orders", verbose_name=_("line"))
    kind = models.CharField(_("kind"), max_length=12, choices=OrderKind.choices)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("plan")
    )
    amount_ore = models.PositiveIntegerField(_("amount (øre, VAT included)"))
    # What a promotion code took off the plan's price (amount_ore is after it).
    discount_ore = models.PositiveIntegerField(_("discount (øre)"), default=0)
    method = models.CharField(_("paid by"), max_length=10, choices=PaymentMethod.choices)
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    idempotency_key = models.CharField(_("checkout key"), max_length=64)
    provider = models.CharField(_("payment provider"), max_length=20, blank=True)
    provider_payment_id = models.CharField(_("provider's payment id"), max_length=255, blank=True)
    provider_url = models.URLField(_("payment page"), max_length=2000, blank=True)
    decline_reason = models.CharField(_("decline reason"), max_length=40, blank=True)
    # A reserved payment's capture (a card payment is taken at once: NONE).
    capture_status = models.CharField(
        _("capture"), max_length=10, choices=CaptureStatus.choices, default=CaptureStatus.NONE, blank=True
    )
    billing_name = models.CharField(_("name"), max_length=150)
    billing_street = models.CharField(_("street address"), max_length=200, blank=True)
    billing_postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    billing_city = models.CharField(_("city"), max_length=100, blank=True)
    # The replacement request whose fee this order pays (a declined payment
    # and a second try give one request several orders, at most one paid).
    replacement = models.ForeignKey(
        ReplacementRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fee_orders",
        verbose_name=_("replacement request"),
    )
    period = models.OneToOneField(
        ServicePeriod,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
        verbose_name=_("period bought"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="one_order_per_checkout"),
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"],
                condition=~Q(provider_payment_id=""),
                name="one_order_per_provider_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["owner", "created_at"]),
            models.Index(fields=["capture_status", "settled_at"], name="order_capture_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id}"

    @property
    def method_label(self) -> str:
        """How it was paid, for people (``payment_method_label``)."""
        return payment_method_label(self.method, self.provider)

    @property
    def billing_address_lines(self) -> list[str]:
        place = " ".join(part for part in (self.billing_postal_code, self.billing_city) if part)
        return [part for part in (self.billing_street, place) if part]
