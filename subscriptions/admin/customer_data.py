"""Suspensions, data exports and account deletions, for support to read:
each is written only by its service (the line admin's suspend and resume
actions, the customer's own pages)."""

from __future__ import annotations

from django.contrib import admin

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.models import AccountDeletion, DataExport, LineSuspension


@admin.register(LineSuspension)
class LineSuspensionAdmin(ReadOnlyAdmin):
    list_display = ["suspended_at", "line", "reason", "by_support", "blocked_at", "resumed_at", "unblocked_at"]
    list_select_related = ["line"]
    list_filter = ["reason", "by_support"]
    search_fields = ["line__number"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "suspended_at"
    exclude = ["public_id"]


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    # Never the file: it is the customer's, for the customer.
    list_display = ["requested_at", "owner", "status", "ready_at", "downloaded_at", "file_deleted_at", "size"]
    list_select_related = ["owner"]
    list_filter = ["status"]
    search_fields = ["owner__email"]
    fields = ["owner", "status", "requested_at", "ready_at", "expires_at", "downloaded_at", "file_deleted_at", "size"]


@admin.register(AccountDeletion)
class AccountDeletionAdmin(ReadOnlyAdmin):
    list_display = ["deleted_at", "user", "lines", "receipts_kept", "receipts_kept_until", "identity_files_deleted"]
    list_select_related = ["user"]
    date_hierarchy = "deleted_at"
