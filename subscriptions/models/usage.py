"""Usage as reported by the network in CDR files."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.international import InternationalRate
from subscriptions.models.lines import Line, ServicePeriod


class UsageKind(models.TextChoices):
    DATA = "data", _("Data")
    VOICE = "voice", _("Calls")
    SMS = "sms", _("Text messages")


class CdrImport(models.Model):
    """One CDR file as imported, with its report."""

    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_imported = models.PositiveIntegerField(_("imported"), default=0)
    rows_duplicate = models.PositiveIntegerField(_("already imported"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rejected"), default=0)
    report = models.TextField(_("report"), blank=True)
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("CDR import")
        verbose_name_plural = _("CDR imports")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return self.filename


class UsageRecord(models.Model):
    """One call, text or data session. ``quantity`` is kilobytes for data,
    seconds for calls and a count for texts; ``charge_ore`` is what was
    charged to the prepaid balance for the part outside the bundle.

    A call or text to a country outside Norway and the EU/EEA is
    ``international``: outside the bundle as a whole (it spends none of the
    allowance) and charged at ``rate``, or at the default rate when no rate
    matched (``rate`` empty)."""

    record_id = models.CharField(_("record ID"), max_length=64, unique=True)
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="usage", verbose_name=_("line"))
    period = models.ForeignKey(ServicePeriod, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage")
    kind = models.CharField(_("kind"), max_length=8, choices=UsageKind.choices)
    quantity = models.PositiveBigIntegerField(_("quantity"))
    out_of_bundle = models.PositiveBigIntegerField(_("outside the bundle"), default=0)
    charge_ore = models.PositiveIntegerField(_("charge (øre)"), default=0)
    occurred_at = models.DateTimeField(_("when"))
    destination = models.CharField(_("destination"), max_length=40, blank=True)
    international = models.BooleanField(_("international"), default=False)
    rate = models.ForeignKey(
        InternationalRate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage",
        verbose_name=_("international rate"),
    )
    cdr_import = models.ForeignKey(CdrImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="records")

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["line", "occurred_at"]),
            models.Index(fields=["period", "kind"]),
        ]

    def __str__(self) -> str:
        return self.record_id
