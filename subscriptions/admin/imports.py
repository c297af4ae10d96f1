"""Admin uploads: eSIM inventory batches from the SIM vendor and CDR files
from the network.

Batches and imports are records of what was uploaded: staff look at them but
never edit or delete them. Each list has an upload page instead of the usual
add form (the add permission on the model is what allows uploading); the
upload calls the import service, and a file it refuses is shown back on the
same page with what is wrong, row by row."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from subscriptions.errors import CustomerError
from subscriptions.models import CdrImport, EsimProfile, InventoryBatch, UsageRecord
from subscriptions.services.inventory import InventoryFileRejected, RowError, inventory_import
from subscriptions.services.usage import cdr_import

MEGABYTE = 1024 * 1024
# A page that lists more errors than this helps nobody read them.
ROW_ERRORS_SHOWN = 500


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}))

    def __init__(self, *args: Any, max_megabytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_megabytes = max_megabytes

    def clean_file(self) -> UploadedFile:
        uploaded: UploadedFile = self.cleaned_data["file"]
        if (uploaded.size or 0) > self.max_megabytes * MEGABYTE:
            raise ValidationError(
                _("The file is larger than %(size)d MB. Split it, or import it with the management command."),
                params={"size": self.max_megabytes},
            )
        return uploaded


class UploadAdmin(admin.ModelAdmin):
    """A read-only list of uploads with an upload page in place of "Add"."""

    change_list_template = "admin/subscriptions/upload_change_list.html"
    upload_title: ClassVar[Any] = ""
    upload_help: ClassVar[Any] = ""
    max_megabytes: ClassVar[int] = 20

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name=f"{opts.app_label}_{opts.model_name}_upload",
        )
        return [upload, *super().get_urls()]

    def upload_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_upload")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        return HttpResponseRedirect(self.upload_url())

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {"upload_url": self.upload_url(), "upload_title": self.upload_title, **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, max_megabytes=self.max_megabytes)
        row_errors: list[RowError] = []
        if request.method == "POST" and form.is_valid():
            uploaded: UploadedFile = form.cleaned_data["file"]
            try:
                return self.import_file(request, filename=uploaded.name or "upload.csv", content=uploaded.read())
            except InventoryFileRejected as error:
                form.add_error(None, str(error))
                row_errors = error.errors
            except CustomerError as error:
                form.add_error("file", str(error))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": self.upload_title,
            "help": self.upload_help,
            "form": form,
            "row_errors": row_errors[:ROW_ERRORS_SHOWN],
            "row_errors_hidden": max(0, len(row_errors) - ROW_ERRORS_SHOWN),
        }
        return TemplateResponse(request, "admin/subscriptions/upload.html", context)

    def import_file(self, request: HttpRequest, *, filename: str, content: bytes) -> HttpResponse:
        """Run the import; return where to go next. A CustomerError it
        raises is shown on the upload page."""
        raise NotImplementedError


@admin.register(InventoryBatch)
class InventoryBatchAdmin(UploadAdmin):
    upload_title = _("Upload vendor file")
    upload_help = _(
        "The SIM vendor's CSV batch file of eSIM profiles, with a header row naming the columns "
        "iccid, imsi, smdp_address and matching_id, and optionally confirmation_code_required (1 or 0). "
        "A file with any error is refused whole, with the errors listed; profiles already in stock are skipped."
    )
    list_display = ["filename", "profile_count", "uploaded_by", "uploaded_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["filename", "sha256"]
    date_hierarchy = "uploaded_at"
    fields = ("filename", "sha256", "profile_count", "profiles", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    @admin.display(description=_("profiles"))
    def profiles(self, batch: InventoryBatch) -> str:
        url = reverse("admin:subscriptions_esimprofile_changelist")
        return format_html('<a href="{}?batch={}">{}</a>', url, batch.pk, EsimProfile._meta.verbose_name_plural)

    def import_file(self, request: HttpRequest, *, filename: str, content: bytes) -> HttpResponse:
        batch = inventory_import(filename=filename, content=content, by=request.user)  # type: ignore[arg-type]
        message = ngettext(
            "%(count)d eSIM profile added from “%(filename)s”.",
            "%(count)d eSIM profiles added from “%(filename)s”.",
            batch.profile_count,
        ) % {"count": batch.profile_count, "filename": batch.filename}
        if batch.profiles_skipped:
            message += " " + ngettext(
                "%(count)d was already in stock and was skipped.",
                "%(count)d were already in stock and were skipped.",
                batch.profiles_skipped,
            ) % {"count": batch.profiles_skipped}
        messages.success(request, message)
        return HttpResponseRedirect(reverse("admin:subscriptions_inventorybatch_changelist"))


@admin.register(CdrImport)
class CdrImportAdmin(UploadAdmin):
    upload_title = _("Upload CDR file")
    upload_help = _(
        "The network's CSV file of call detail records, with a header row naming the columns "
        "record_id, msisdn, kind (data, voice or sms), started_at (ISO 8601 with an offset), "
        "quantity (kilobytes, seconds or texts) and optionally destination. Records already imported are "
        "skipped; malformed rows are listed in the report and the others are imported."
    )
    max_megabytes = 50
    list_display = ["filename", "imported_at", "rows_total", "rows_imported", "rows_duplicate", "rows_rejected"]
    search_fields = ["filename", "sha256"]
    date_hierarchy = "imported_at"
    fields = (
        "filename",
        "sha256",
        "imported_at",
        "rows_total",
        "rows_imported",
        "usage_records",
        "rows_duplicate",
        "rows_rejected",
        "report",
    )
    readonly_fields = fields

    @admin.display(description=_("usage records"))
    def usage_records(self, run: CdrImport) -> str:
        url = reverse("admin:subscriptions_usagerecord_changelist")
        return format_html('<a href="{}?cdr_import={}">{}</a>', url, run.pk, UsageRecord._meta.verbose_name_plural)

    def import_file(self, request: HttpRequest, *, filename: str, content: bytes) -> HttpResponse:
        run = cdr_import(filename=filename, content=content)
        message = gettext(
            "“%(filename)s”: %(imported)d records imported, %(duplicate)d already imported, %(rejected)d rejected."
        ) % {
            "filename": run.filename,
            "imported": run.rows_imported,
            "duplicate": run.rows_duplicate,
            "rejected": run.rows_rejected,
        }
        messages.add_message(request, messages.WARNING if run.rows_rejected else messages.SUCCESS, message)
        return HttpResponseRedirect(reverse("admin:subscriptions_cdrimport_change", args=[run.pk]))
