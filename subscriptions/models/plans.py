"""What the operator sells."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from subscriptions.periods import period_end

VAT_RATE_PERCENT = 25


def vat_inside(total_ore: int, rate_percent: int = VAT_RATE_PERCENT) -> int:
    """The VAT contained in a VAT-inclusive price, rounded to the øre."""
    return round(total_ore * rate_percent / (100 + rate_percent))


# The languages a plan's (and a receipt's copied) names and descriptions are
# kept in, as the suffixes of their fields: ``name_en``, ``name_zh_hans``.
FIELD_LANGUAGES = ("en", "nb", "zh_hans")


def in_active_language(instance: models.Model, field: str) -> str:
    """``instance.<field>_<language>`` for the active language (``name_nb``,
    ``name_zh_hans``), or the English one where that is empty."""
    language = (translation.get_language() or "en").replace("-", "_").lower()
    value: str = getattr(instance, f"{field}_{language}", "") or getattr(instance, f"{field}_en")
    return value


class PlanKind(models.TextChoices):
    ESIM = "esim", _("eSIM line")
    NUMBER_KEEPING = "number_keeping", _("Number-keeping plan")


class PlanPeriod(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", pgettext_lazy("plan period", "Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class Plan(models.Model):
    """A plan in the catalogue. Allowances left empty mean unlimited; the
    price includes 25 % VAT (MVA) and is in øre."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind.choices)
    period = models.CharField(_("period"), max_length=10, choices=PlanPeriod.choices)
    data_mb = models.PositiveIntegerField(_("data (MB)"), null=True, blank=True, help_text=_("Empty means unlimited."))
    voice_minutes = models.PositiveIntegerField(
        _("voice minutes"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    sms_count = models.PositiveIntegerField(
        _("text messages"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    price_ore = models.PositiveIntegerField(_("price (øre, VAT included)"))
    is_active = models.BooleanField(_("on sale"), default=True)
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_nb = models.CharField(_("name (Norwegian)"), max_length=80)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=80)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_nb = models.TextField(_("description (Norwegian)"), blank=True)
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["kind", "price_ore"]

    def __str__(self) -> str:
        return self.name

    def _localized(self, field: str) -> str:
        return in_active_language(self, field)

    @property
    def name(self) -> str:
        return self._localized("name")

    @property
    def description(self) -> str:
        return self._localized("description")

    @property
    def vat_ore(self) -> int:
        return vat_inside(self.price_ore)

    @property
    def net_ore(self) -> int:
        return self.price_ore - self.vat_ore

    def end_of_period_starting(self, start: datetime) -> datetime:
        return period_end(start, self.period)
