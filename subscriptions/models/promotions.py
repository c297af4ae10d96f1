"""Promotion codes: a discount at checkout, within limits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.plans import Plan


class DiscountKind(models.TextChoices):
    PERCENT = "percent", _("Percentage")
    FIXED = "fixed", _("Fixed amount")


class PromoCode(models.Model):
    """A code customers type at checkout. The row is locked while an order
    takes a use, so the total and per-customer limits hold under load."""

    code = models.CharField(_("code"), max_length=32, unique=True, help_text=_("Stored in capitals."))
    kind = models.CharField(_("discount"), max_length=10, choices=DiscountKind.choices)
    percent = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    amount_ore = models.PositiveIntegerField(_("amount off (øre)"), null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    first_purchase_only = models.BooleanField(_("first purchase only"), default=False)
    plans = models.ManyToManyField(
        Plan, blank=True, related_name="+", verbose_name=_("plans"), help_text=_("None chosen: every plan.")
    )
    max_uses = models.PositiveIntegerField(_("uses in all"), null=True, blank=True, help_text=_("Empty: no limit."))
    max_uses_per_customer = models.PositiveIntegerField(_("uses per customer"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("promotion code")
        verbose_name_plural = _("promotion codes")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="percent", percent__gte=1, percent__lte=100, amount_ore__isnull=True)
                    | models.Q(kind="fixed", amount_ore__gt=0, percent__isnull=True)
                ),
                name="promo_code_one_discount",
            ),
            models.CheckConstraint(condition=models.Q(valid_until__gt=models.F("valid_from")), name="promo_window"),
        ]

    def __str__(self) -> str:
        return self.code

    def discount_for(self, price_ore: int) -> int:
        """What comes off ``price_ore``: never more than the price."""
        if self.kind == DiscountKind.PERCENT:
            assert self.percent is not None
            return min(price_ore, round(price_ore * self.percent / 100))
        assert self.amount_ore is not None
        return min(price_ore, self.amount_ore)


class PromoUse(models.Model):
    """A use of a code by an order. Uses of orders that were declined or
    abandoned do not count against the limits."""

    promo = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="uses")
    order = models.OneToOneField("subscriptions.Order", on_delete=models.CASCADE, related_name="promo_use")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    discount_ore = models.PositiveIntegerField(_("discount (øre)"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("promotion code use")
        verbose_name_plural = _("promotion code uses")
        indexes = [models.Index(fields=["promo", "user"])]

    def __str__(self) -> str:
        return f"{self.promo} → {self.order_id}"


class PromoAttemptResult(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown code")
    REFUSED = "refused", _("Known code, not usable here")
    THROTTLED = "throttled", _("Too many attempts")


class PromoAttempt(models.Model):
    """A promotion code refused at checkout: the throttle counts the recent
    unknown ones per customer and IP address."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=12, choices=PromoAttemptResult.choices)
    promo = models.ForeignKey(PromoCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("promotion code attempt")
        verbose_name_plural = _("promotion code attempts")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["ip_address", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_result_display()} {self.created_at:%Y-%m-%d %H:%M}"
