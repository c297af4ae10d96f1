"""The number pool (uploaded like the eSIM inventory), new-line requests and
eSIM provisioning jobs, for support to look at: all read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from subscriptions.admin.imports import UploadAdmin
from subscriptions.models import NewLineRequest, NumberBatch, PoolNumber, ProvisioningJob
from subscriptions.services.new_lines import number_pool_import


@admin.register(NumberBatch)
class NumberBatchAdmin(UploadAdmin):
    upload_title = _("Upload number pool file")
    upload_help = _(
        "A CSV file with a header row naming the column number: one Norwegian mobile number a row "
        "(such as 912 34 567 or +4791234567). A file with any error is refused whole, with the errors listed; "
        "numbers already in the pool or on a line are skipped."
    )
    list_display = ["filename", "number_count", "uploaded_by", "uploaded_at"]
    list_select_related = ["uploaded_by"]
    fields = ("filename", "sha256", "number_count", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    def import_file(self, request: HttpRequest, *, filename: str, content: bytes) -> HttpResponse:
        batch = number_pool_import(filename=filename, content=content, by=request.user)  # type: ignore[arg-type]
        messages.success(
            request,
            ngettext(
                "%(count)d number added to the pool from “%(filename)s”.",
                "%(count)d numbers added to the pool from “%(filename)s”.",
                batch.number_count,
            )
            % {"count": batch.number_count, "filename": batch.filename},
        )
        return HttpResponseRedirect(reverse("admin:subscriptions_numberbatch_changelist"))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(PoolNumber)
class PoolNumberAdmin(ReadOnlyAdmin):
    list_display = ["number", "taken_at", "offered_until", "batch"]
    list_filter = [("taken_at", admin.EmptyFieldListFilter)]
    search_fields = ["number"]


@admin.register(NewLineRequest)
class NewLineRequestAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "owner", "number", "plan", "line", "created_at"]
    list_select_related = ["owner", "number", "plan", "line"]
    search_fields = ["number__number", "owner__email"]


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(ReadOnlyAdmin):
    list_display = ["line", "status", "profile", "replacing", "attempts", "created_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["line", "profile", "replacing"]
    search_fields = ["line__number", "profile__iccid", "key"]
    exclude = ["key"]
