"""Auto-renew (自动扣款): a saved card per customer, the choice per line, and
one charge record per line and paid period, which makes the charge happen
once whatever the scheduler does."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line
from subscriptions.models.orders import Order
from subscriptions.models.plans import Plan

# Providers name a card's brand by a lowercase code ("visa"); customers know
# it by the name on the card.
CARD_BRAND_NAMES = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "vipps": "Vipps MobilePay",
}


class SavedCard(models.Model):
    """A card the provider keeps for off-session charges; we keep its id and
    what the customer needs to recognise it, never the card number."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="saved_cards", verbose_name=_("customer")
    )
    provider = models.CharField(_("provider"), max_length=20)
    provider_customer_id = models.CharField(_("provider's customer id"), max_length=255, blank=True)
    method_id = models.CharField(_("provider's payment method id"), max_length=255)
    brand = models.CharField(_("brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), null=True, blank=True)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    # Taken off the customer at the provider too (after the account was
    # deleted), so it can never be charged again.
    detached_at = models.DateTimeField(_("detached at the provider"), null=True, blank=True)

    class Meta:
        verbose_name = _("saved card")
        verbose_name_plural = _("saved cards")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "method_id"], name="saved_card_once")]

    def __str__(self) -> str:
        brand = CARD_BRAND_NAMES.get(self.brand, self.brand) or gettext("card")
        # A Vipps MobilePay agreement has no digits to show.
        return f"{brand} •••• {self.last4}" if self.last4 else brand


class SetupStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the card")
    SAVED = "saved", _("Card saved")
    FAILED = "failed", _("Not saved")


class CardSetup(models.Model):
    """Turning auto-renew on for a line: the provider's page where the
    customer saves a card, and what to do once it is saved."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="card_setups")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=20)
    setup_id = models.CharField(max_length=255, blank=True)
    provider_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=SetupStatus.choices, default=SetupStatus.PENDING)
    card = models.ForeignKey(SavedCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.public_id)


class AutoRenewal(models.Model):
    """A line's auto-renew choice: which plan, on which card. ``Line.auto_renew``
    mirrors ``enabled`` for the sweep's index."""

    line = models.OneToOneField(Line, on_delete=models.CASCADE, related_name="auto_renewal")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    card = models.ForeignKey(SavedCard, on_delete=models.PROTECT, related_name="+", verbose_name=_("card"))
    enabled = models.BooleanField(_("on"), default=True)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("auto-renew setting")
        verbose_name_plural = _("auto-renew settings")

    def __str__(self) -> str:
        return f"{self.line} → {self.plan}"


class ChargeStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CHARGING = "charging", _("Charging")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", pgettext_lazy("auto-renew charge status", "Cancelled")


class AutoRenewCharge(models.Model):
    """The charge that renews one paid period of a line. Unique per (line,
    period end): a second sweep, a task run twice or a retry after a killed
    worker all find this row instead of charging again."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="auto_renew_charges")
    period_end = models.DateTimeField(_("renews the period ending"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    card = models.ForeignKey(SavedCard, on_delete=models.PROTECT, related_name="+", verbose_name=_("card"))
    status = models.CharField(_("status"), max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    last_error = models.CharField(_("last failure"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("auto-renew charge")
        verbose_name_plural = _("auto-renew charges")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["line", "period_end"], name="one_auto_renew_charge_per_period")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["scheduled", "charging"]),
                name="auto_renew_charge_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.line} {self.period_end:%Y-%m-%d}"
