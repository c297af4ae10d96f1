"""Replacement eSIM requests and the SIM Swap API's clients in the support
admin. Requests are read-only here (the services write them); approving and
rejecting a request in review are actions that call the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import ReplacementRequest, SimSwapClient
from subscriptions.services.replacements import replacement_review_approve
from subscriptions.services.simswap import sim_swap_client_create


@admin.register(ReplacementRequest)
class ReplacementRequestAdmin(admin.ModelAdmin):
    list_display = ["public_id", "line", "reason", "status", "review_cause", "block_requested", "requested_at"]
    list_filter = ["status", "reason", "review_cause", "block_requested"]
    list_select_related = ["line"]
    search_fields = ["public_id", "line__number", "requested_by__email"]
    ordering = ["-requested_at"]
    exclude = ["code_hash", "stop_nonce", "idempotency_key"]
    actions = ["approve"]

    def get_readonly_fields(self, request: HttpRequest, obj: ReplacementRequest | None = None) -> list[str]:
        return [f.name for f in ReplacementRequest._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReplacementRequest | None = None) -> bool:
        return False

    @admin.action(description=_("Approve the selected requests in review"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> None:
        assert isinstance(request.user, User)
        for replacement in queryset:
            try:
                replacement_review_approve(replacement=replacement, by=request.user)
            except CustomerError as error:
                self.message_user(request, f"{replacement.public_id}: {error}", messages.WARNING)


@admin.register(SimSwapClient)
class SimSwapClientAdmin(admin.ModelAdmin):
    """A new client's token is shown once, in the message after saving."""

    list_display = ["name", "token_prefix", "is_active", "created_at", "last_used_at"]
    fields = ["name", "is_active", "token_prefix", "created_at", "last_used_at"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]

    def save_model(self, request: HttpRequest, obj: SimSwapClient, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "is_active"])
            return
        client, token = sim_swap_client_create(name=obj.name)
        obj.pk, obj.token_hash, obj.token_prefix = client.pk, client.token_hash, client.token_prefix
        obj._state.adding = False
        self.message_user(
            request,
            gettext("The client's token, shown only now: %(token)s") % {"token": token},
            messages.WARNING,
        )
