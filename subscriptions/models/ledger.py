"""The prepaid balance of a line: an append-only ledger, summed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from subscriptions.formatting import format_number
from subscriptions.models.lines import Line


class LedgerKind(models.TextChoices):
    TOPUP = "topup", _("Top-up")
    VOUCHER = "voucher", _("Voucher")
    USAGE = "usage", _("Usage charge")
    RENEWAL = "renewal", _("Renewal paid from balance")
    REFUND = "refund", _("Refund")
    ADJUSTMENT = "adjustment", _("Adjustment")


class LedgerText(models.TextChoices):
    """What an entry says happened, written out in the reader's language
    from ``LedgerEntry.params``."""

    CARD_TOPUP = "card_topup"
    VOUCHER = "voucher"
    ORDER = "order"
    INTERNATIONAL = "international"
    CANCELLATION_REFUND = "cancellation_refund"
    BALANCE_GIVEN_UP = "balance_given_up"


def ledger_params_for_order(*, plan_names: dict[str, str], number: str) -> dict[str, object]:
    """An order paid from the balance: the plan's name in each language (as
    it was when bought) and the line's number."""
    return {"text": LedgerText.ORDER, "plan": plan_names, "number": number}


def ledger_params_for_international(
    *, usage: str, country: dict[str, str], number: str, units: int
) -> dict[str, object]:
    """A call or text to another country: its kind (voice or sms), the
    country's name in each language (as it was when charged), the number and
    the minutes or texts charged."""
    return {"text": LedgerText.INTERNATIONAL, "usage": usage, "country": country, "number": number, "units": units}


def _in_language(names: dict[str, str]) -> str:
    language = (translation.get_language() or "en").replace("-", "_").lower()
    return names.get(language) or names.get("en", "")


class LedgerEntry(models.Model):
    """Money in (positive) or out (negative) of a line's balance, in øre.
    Never updated: a correction is a new entry. ``reference`` (unique per
    kind) makes a repeated import or callback add nothing twice. What
    happened is kept as ``params`` (a ``LedgerText`` and its values) and
    written out when read, so a customer who changes language reads the
    whole history in the new one; ``description`` is free text (staff
    adjustments, and entries made before ``params``)."""

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("line"))
    kind = models.CharField(_("kind"), max_length=12, choices=LedgerKind.choices)
    amount_ore = models.IntegerField(_("amount (øre)"))
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    params = models.JSONField(_("what happened"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"], condition=~Q(reference=""), name="ledger_reference_once_per_kind"
            ),
        ]
        indexes = [models.Index(fields=["line", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_ore / 100:.2f} NOK"

    @property
    def text(self) -> str:
        """What happened, in the active language."""
        params = self.params or {}
        what = params.get("text")
        if what == LedgerText.CARD_TOPUP:
            return gettext("Card top-up")
        if what == LedgerText.VOUCHER:
            return gettext("Voucher %(serial)s") % {"serial": params.get("serial", "")}
        if what == LedgerText.ORDER:
            plan = _in_language(params.get("plan") or {})
            return gettext("%(plan)s for %(number)s") % {
                "plan": plan,
                "number": format_number(params.get("number", "")),
            }
        if what == LedgerText.INTERNATIONAL:
            values = {
                "country": _in_language(params.get("country") or {}),
                "number": format_number(params.get("number", "")),
                "count": params.get("units", 0),
            }
            if params.get("usage") == "voice":
                return gettext("Call to %(country)s (%(number)s), %(count)s min") % values
            return (
                ngettext(
                    "%(count)s text to %(country)s (%(number)s)",
                    "%(count)s texts to %(country)s (%(number)s)",
                    values["count"],
                )
                % values
            )
        if what == LedgerText.CANCELLATION_REFUND:
            return gettext("Refund on cancellation, credit note %(number)s") % {"number": params.get("credit_note", "")}
        if what == LedgerText.BALANCE_GIVEN_UP:
            return gettext("Balance given up on cancellation")
        return self.description
