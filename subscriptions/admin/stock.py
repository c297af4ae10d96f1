"""The stock page: eSIM profiles available and free numbers in the pool, each
against its low-stock setting, with links to upload more. It is the
changelist of ``StockLevel`` (no table of its own), so the admin index lists
it and its view permission guards it like any other admin page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from subscriptions.models import StockLevel
from subscriptions.selectors.stock import stock_levels


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        # Only the page itself: there are no rows to open.
        return [url for url in super().get_urls() if url.name and url.name.endswith("_changelist")]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        user = request.user
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Stock levels"),
            "stock": stock_levels(),
            "can_upload_profiles": user.has_perm("subscriptions.add_inventorybatch"),
            "can_upload_numbers": user.has_perm("subscriptions.add_numberbatch"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/subscriptions/stock.html", context)
