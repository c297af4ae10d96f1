"""Who saw which eSIM's activation code, when, from where and how: the audit
rows My eSIM writes, for support to read (never the code itself)."""

from __future__ import annotations

from django.contrib import admin

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.models import EsimCodeView


@admin.register(EsimCodeView)
class EsimCodeViewAdmin(ReadOnlyAdmin):
    list_display = ["viewed_at", "line", "profile", "user", "channel", "ip_address", "user_agent"]
    list_select_related = ["line", "profile", "user"]
    list_filter = ["channel"]
    search_fields = ["line__number", "profile__iccid", "user__email", "ip_address"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "viewed_at"
    show_full_result_count = False
