"""Vouchers sold in shops (充值卡): 16-digit codes, each worth an amount or
one period of a plan, redeemed once. Codes are kept only as keyed hashes;
the printer's CSV is the one time the codes are seen whole."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from subscriptions.models.lines import Line
from subscriptions.models.plans import Plan


class VoucherValue(models.TextChoices):
    AMOUNT = "amount", _("An amount for the prepaid balance")
    PLAN = "plan", _("One period of a plan")


class VoucherBatch(models.Model):
    """Codes made together for one retailer, all of one value."""

    label = models.CharField(_("retailer label"), max_length=100)
    value_kind = models.CharField(_("value"), max_length=10, choices=VoucherValue.choices)
    amount_ore = models.PositiveIntegerField(_("amount (øre)"), null=True, blank=True)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("plan")
    )
    count = models.PositiveIntegerField(_("number of codes"))
    expires_on = models.DateField(_("valid until"), help_text=_("The last day a code can be redeemed (Oslo time)."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(_("why voided"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("voucher batch")
        verbose_name_plural = _("voucher batches")
        ordering = ["-created_at"]
        permissions = [("void_voucher", "Can void vouchers")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(value_kind="amount", amount_ore__gt=0, plan__isnull=True)
                    | models.Q(value_kind="plan", amount_ore__isnull=True, plan__isnull=False)
                ),
                name="voucher_batch_one_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.created_at:%Y-%m-%d})"


class VoucherStatus(models.TextChoices):
    ACTIVE = "active", _("Not used")
    REDEEMED = "redeemed", _("Redeemed")
    VOIDED = "voided", _("Voided")


class Voucher(models.Model):
    """One code, known by its keyed hash and by its serial in the batch
    (printed on the card beside the code, so staff can name it)."""

    batch = models.ForeignKey(VoucherBatch, on_delete=models.PROTECT, related_name="vouchers")
    serial = models.PositiveIntegerField(_("serial"))
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ACTIVE)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="vouchers", verbose_name=_("line")
    )
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["batch", "serial"]
        constraints = [models.UniqueConstraint(fields=["batch", "serial"], name="voucher_serial_once_per_batch")]

    def __str__(self) -> str:
        return f"{self.batch_id}-{self.serial:06d}"


class RedemptionResult(models.TextChoices):
    CREDITED = "credited", _("Credited")
    UNKNOWN = "unknown", _("Unknown code")
    USED = "used", _("Already used")
    EXPIRED = "expired", pgettext_lazy("voucher status", "Expired")
    VOIDED = "voided", _("Voided")
    WRONG_KIND = "wrong_kind", _("Wrong kind for the line")
    THROTTLED = "throttled", _("Too many attempts")


class VoucherAttempt(models.Model):
    """Every redemption attempt, good or bad: the throttle counts the recent
    failures per customer, IP address and line, and staff see them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, default="web")
    result = models.CharField(_("result"), max_length=12, choices=RedemptionResult.choices)
    voucher = models.ForeignKey(Voucher, on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("voucher attempt")
        verbose_name_plural = _("voucher attempts")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["ip_address", "created_at"]),
            models.Index(fields=["line", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_result_display()} {self.created_at:%Y-%m-%d %H:%M}"
