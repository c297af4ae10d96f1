"""What calls and texts to other countries cost: one row per destination,
by its country calling code."""

from __future__ import annotations

from datetime import date

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from subscriptions.models.plans import in_active_language

# A call may last a month (the importer's largest record): at this price per
# minute its charge still fits the usage record's column.
MAX_RATE_ORE = 10_000


class InternationalRate(models.Model):
    """The price of a call (per started minute) and a text to the numbers
    under ``prefix``: a country calling code (44), or a longer prefix of one
    for a part priced apart (1876, Jamaica, inside 1). Prices are øre and
    include VAT. A rate with no dates is always valid; a price change is a
    new row from a date, with the old one ended the day before, so the usage
    already charged keeps pointing at the price it was charged at."""

    prefix = models.CharField(
        _("calling code"),
        max_length=6,
        validators=[RegexValidator(r"^[1-9][0-9]{0,5}$", _("Digits only, without + or 00, e.g. 44."))],
        help_text=_("Without + or 00: 44 for the United Kingdom, 1 for the USA and Canada."),
    )
    name_en = models.CharField(_("destination (English)"), max_length=60)
    name_nb = models.CharField(_("destination (Norwegian)"), max_length=60)
    name_zh_hans = models.CharField(_("destination (Chinese)"), max_length=60)
    per_minute_ore = models.PositiveIntegerField(
        _("per started minute (øre incl. VAT)"), validators=[MaxValueValidator(MAX_RATE_ORE)]
    )
    per_text_ore = models.PositiveIntegerField(
        _("per text (øre incl. VAT)"), validators=[MaxValueValidator(MAX_RATE_ORE)]
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("Empty: from the start."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("The last day it applies (Norwegian time). Empty: open.")
    )

    class Meta:
        verbose_name = _("international rate")
        verbose_name_plural = _("international rates")
        ordering = ["prefix", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["prefix", "valid_from"], name="international_rate_once_per_start"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="international_rate_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.prefix} {self.name}"

    @property
    def name(self) -> str:
        return in_active_language(self, "name")

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )
