"""Auto-renew for support staff, read-only: each line's choice (plan and
card), the saved cards (brand and last four digits only), and every charge
with its attempts and failures. Customers turn it on and off themselves."""

from __future__ import annotations

from django.contrib import admin

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.models import AutoRenewal, AutoRenewCharge, SavedCard


@admin.register(AutoRenewal)
class AutoRenewalAdmin(ReadOnlyAdmin):
    list_display = ["line", "plan", "card", "enabled", "updated_at"]
    list_filter = ["enabled", "plan"]
    list_select_related = ["line", "plan", "card"]
    phone_search_fields = ["line__number"]
    search_fields = ["line__owner__email", "line__owner__full_name"]


@admin.register(AutoRenewCharge)
class AutoRenewChargeAdmin(ReadOnlyAdmin):
    list_display = ["line", "period_end", "plan", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status"]
    list_select_related = ["line", "plan"]
    phone_search_fields = ["line__number"]
    search_fields = ["line__owner__email", "line__owner__full_name"]
    date_hierarchy = "period_end"


@admin.register(SavedCard)
class SavedCardAdmin(ReadOnlyAdmin):
    list_display = ["owner", "provider", "brand", "last4", "exp_month", "exp_year", "created_at", "removed_at"]
    list_filter = ["provider", "brand"]
    list_select_related = ["owner"]
    search_fields = ["owner__email", "owner__full_name", "last4"]
    exclude = ["method_id", "provider_customer_id"]
