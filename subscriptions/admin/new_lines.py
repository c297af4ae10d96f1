"""The number pool (uploaded like the eSIM inventory), new-line requests and
eSIM provisioning jobs, for support to look at: all read-only. The queues
filter by stage and sort by age; a stopped job (and the new-line request or
replacement it serves) is retried with an action that calls the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import CharField, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import JobRetryAdmin
from subscriptions.admin.imports import UploadAdmin
from subscriptions.models import NewLineRequest, NumberBatch, PoolNumber, ProvisioningJob, ProvisioningStatus
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


UNPAID = "unpaid"


def _new_line_job_status() -> Coalesce:
    """The status of a request's provisioning job (its key is the line's),
    or UNPAID while there is none."""
    key = Concat(Value("new-line:"), Cast(OuterRef("line_id"), CharField()))
    job = ProvisioningJob.objects.filter(key=key).values("status")[:1]
    return Coalesce(Subquery(job), Value(UNPAID), output_field=CharField())


class NewLineStageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(UNPAID, _("Identity check or payment")), *ProvisioningStatus.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[NewLineRequest]) -> QuerySet[NewLineRequest]:
        # job_status is annotated by NewLineRequestAdmin.get_queryset.
        return queryset.filter(job_status=self.value()) if self.value() else queryset  # type: ignore[misc]


@admin.register(NewLineRequest)
class NewLineRequestAdmin(JobRetryAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "owner", "number", "plan", "line", "stage", "created_at", "age"]
    list_select_related = ["owner", "number", "plan", "line"]
    list_filter = [NewLineStageFilter]
    search_fields = ["number__number", "owner__email"]
    ordering = ["-created_at"]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NewLineRequest]:
        return super().get_queryset(request).annotate(job_status=_new_line_job_status())

    @admin.display(description=_("stage"), ordering="job_status")
    def stage(self, request: NewLineRequest) -> str:
        status = getattr(request, "job_status", UNPAID)
        if status == UNPAID:
            return gettext("Identity check or payment")
        return str(ProvisioningStatus(status).label)

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, request: NewLineRequest) -> str:
        return timesince(request.created_at, timezone.now())

    @admin.action(description=_("Retry the stopped eSIM of the selected new lines"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[NewLineRequest]) -> None:
        wanted = list(queryset)
        keys = [f"new-line:{each.line_id}" for each in wanted if each.line_id]
        jobs = {job.key: job for job in ProvisioningJob.objects.filter(key__in=keys)}
        self.retry_jobs(request, [(str(each.number), jobs.get(f"new-line:{each.line_id}")) for each in wanted])


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(JobRetryAdmin, ReadOnlyAdmin):
    list_display = ["line", "status", "profile", "replacing", "round", "attempts", "created_at", "age", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["line", "profile", "replacing"]
    search_fields = ["line__number", "profile__iccid", "key"]
    exclude = ["key"]
    actions = ["retry"]

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, job: ProvisioningJob) -> str:
        return timesince(job.created_at, job.ready_at or job.stopped_at or timezone.now())

    @admin.action(description=_("Retry the selected stopped jobs"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[ProvisioningJob]) -> None:
        self.retry_jobs(request, [(str(job), job) for job in queryset.select_related("line")])
