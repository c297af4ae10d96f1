"""Promotion codes for supervisors: made and changed here (a code's text
and discount are fixed once it has been used), with how often each was used."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import ReadOnlyAdmin, SupportAdmin, nok
from subscriptions.models import DiscountKind, OrderStatus, PromoAttempt, PromoCode, PromoUse
from subscriptions.services.promotions import promo_normalize


class PromoCodeForm(forms.ModelForm):
    class Meta:
        model = PromoCode
        fields = [
            "code",
            "kind",
            "percent",
            "amount_ore",
            "valid_from",
            "valid_until",
            "first_purchase_only",
            "plans",
            "max_uses",
            "max_uses_per_customer",
            "is_active",
        ]

    def clean_code(self) -> str:
        code = promo_normalize(self.cleaned_data["code"])
        if not code.isalnum():
            raise forms.ValidationError(_("Use letters and digits only."))
        return code

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        kind = data.get("kind")
        if kind == DiscountKind.PERCENT:
            if not data.get("percent") or not 1 <= data["percent"] <= 100:
                self.add_error("percent", _("Give a percentage from 1 to 100."))
            data["amount_ore"] = None
        elif kind == DiscountKind.FIXED:
            if not data.get("amount_ore"):
                self.add_error("amount_ore", _("Give the amount in øre (50 kr is 5000)."))
            data["percent"] = None
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must come after the start."))
        return data


@admin.register(PromoCode)
class PromoCodeAdmin(SupportAdmin):
    form = PromoCodeForm
    list_display = ["code", "discount", "valid_from", "valid_until", "uses", "max_uses", "is_active"]
    list_filter = ["is_active", "kind", "first_purchase_only"]
    search_fields = ["code"]
    filter_horizontal = ["plans"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromoCode]:
        counted = Q(uses__order__status__in=[OrderStatus.PENDING, OrderStatus.PAID])
        return super().get_queryset(request).annotate(use_count=Count("uses", filter=counted))

    def get_readonly_fields(self, request: HttpRequest, obj: PromoCode | None = None) -> list[str]:
        # Receipts and orders name the code and its discount: fixed once used.
        if obj is not None and obj.uses.exists():
            return ["code", "kind", "percent", "amount_ore"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: PromoCode | None = None) -> bool:
        return False  # switch it off instead; orders keep pointing at it

    @admin.display(description=_("discount"))
    def discount(self, promo: PromoCode) -> str:
        return f"{promo.percent} %" if promo.kind == DiscountKind.PERCENT else nok(promo.amount_ore)

    @admin.display(description=_("uses"), ordering="use_count")
    def uses(self, promo: Any) -> int:
        return int(promo.use_count)


@admin.register(PromoUse)
class PromoUseAdmin(ReadOnlyAdmin):
    list_display = ["promo", "order", "user", "discount", "created_at"]
    list_filter = ["promo"]
    list_select_related = ["promo", "order", "user"]
    search_fields = ["promo__code", "user__email", "order__public_id"]

    @admin.display(description=_("discount"), ordering="discount_ore")
    def discount(self, use: PromoUse) -> str:
        return nok(use.discount_ore)


@admin.register(PromoAttempt)
class PromoAttemptAdmin(ReadOnlyAdmin):
    """Codes refused at checkout: the unknown ones are what the guessing
    limit counts (PROMO_FAILURES_PER_HOUR)."""

    list_display = ["created_at", "result", "user", "ip_address", "promo"]
    list_select_related = ["user", "promo"]
    list_filter = ["result"]
    search_fields = ["user__email", "user__full_name", "ip_address", "promo__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ("created_at", "result", "user", "ip_address", "promo")
    readonly_fields = fields
