"""Replacement eSIM requests and the SIM Swap API's clients in the support
admin. Requests are read-only here (the services write them); the queue is
filtered by state and sorted by age; approving and rejecting (with a reason
the customer reads) a request in review are actions that call the services,
and so is unblocking the number of a lost-phone request that was stopped or
rejected (with a reason)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.admin.base import JobRetryAdmin, ReasonActionsAdmin, requests_listed, staff
from subscriptions.errors import CustomerError
from subscriptions.models import ProvisioningJob, RejectReason, ReplacementRequest, SimSwapClient
from subscriptions.models.replacements import OPEN_STATUSES
from subscriptions.services.replacements import (
    UNBLOCKABLE_STATUSES,
    replacement_reject,
    replacement_review_approve,
    replacement_unblock_ask,
)
from subscriptions.services.simswap import sim_swap_client_create


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason the customer reads"),
        choices=[("", "—"), *RejectReason.choices],
        help_text=_("Shown on the request's page and emailed, in the customer's language."),
    )
    note = forms.CharField(
        label=_("Note for staff"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Not shown to the customer; kept in the line's audit log with your name."),
    )


class UnblockForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the number is unblocked"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("For example: the customer found the phone. Kept in the line's audit log with your name."),
    )


class OpenFilter(admin.SimpleListFilter):
    """The queue: requests still open (waiting for the customer, support or
    the worker), or those closed."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", pgettext_lazy("requests", "Open")), ("closed", pgettext_lazy("requests", "Closed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> QuerySet[ReplacementRequest]:
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if self.value() == "closed":
            return queryset.exclude(status__in=OPEN_STATUSES)
        return queryset


class StillBlockedFilter(admin.SimpleListFilter):
    """Requests that ended without a new eSIM and still keep their line
    blocked: what support may unblock."""

    title = _("network block")
    parameter_name = "blocked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("ended", _("Still blocked, request stopped or rejected"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> QuerySet[ReplacementRequest]:
        if self.value() == "ended":
            return queryset.filter(
                status__in=UNBLOCKABLE_STATUSES, unblocked_at=None, unblock_requested_at=None
            ).exclude(blocked_at=None)
        return queryset


@admin.register(ReplacementRequest)
class ReplacementRequestAdmin(JobRetryAdmin, ReasonActionsAdmin):
    list_display = [
        "public_id",
        "line",
        "reason",
        "status",
        "review_cause",
        "block_requested",
        "requested_at",
        "age",
    ]
    list_filter = [OpenFilter, StillBlockedFilter, "status", "reason", "review_cause", "block_requested"]
    list_select_related = ["line"]
    search_fields = ["public_id", "line__number", "requested_by__email"]
    phone_search_fields = ("line__number",)
    ordering = ["-requested_at"]
    exclude = ["code_hash", "stop_nonce", "idempotency_key"]
    actions = ["approve", "reject", "retry", "unblock"]

    def get_readonly_fields(self, request: HttpRequest, obj: ReplacementRequest | None = None) -> list[str]:
        return [f.name for f in ReplacementRequest._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReplacementRequest | None = None) -> bool:
        return False

    @admin.display(description=_("age"), ordering="requested_at")
    def age(self, replacement: ReplacementRequest) -> str:
        """How long it has waited (open) or took (closed)."""
        end = replacement.closed_at or replacement.fulfilled_at or timezone.now()
        return timesince(replacement.requested_at, end)

    @admin.action(description=_("Reject the selected requests in review…"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> TemplateResponse | None:
        """Ask for the reason the customer reads (and a note for staff) on a
        page of its own; then reject each request, telling its customer."""
        form = RejectForm(request.POST if "apply" in request.POST else None)
        replacements = queryset.select_related("line", "requested_by").order_by("requested_at")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=gettext("Reject replacement requests"),
                note=gettext(
                    "Only requests waiting for review can be rejected; any other is left as it is and reported. "
                    "The customer gets the reason by email, in their language."
                ),
                form=form,
                action="reject",
                submit=gettext("Reject"),
                rows=replacements,
                row_template="admin/subscriptions/includes/replacement_row.html",
                applies_to=requests_listed(len(replacements)),
            )
        by = staff(request)
        rejected, refused = self.apply_each(
            replacements,
            lambda replacement: replacement_reject(
                replacement=replacement, by=by, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
            ),
            refusal=lambda replacement, error: f"{replacement.public_id}: {error}",
        )
        self.report(
            request,
            rejected,
            refused,
            ngettext(
                "Rejected %(count)d request; its customer is told why.",
                "Rejected %(count)d requests; their customers are told why.",
                len(rejected),
            ),
        )
        return None

    @admin.action(
        description=_("Unblock the number of the selected stopped or rejected requests…"), permissions=["change"]
    )
    def unblock(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> TemplateResponse | None:
        """A lost phone found again, a request stopped or rejected: ask why on
        a page of its own, then have the worker unblock each number."""
        form = UnblockForm(request.POST if "apply" in request.POST else None)
        replacements = queryset.select_related("line", "requested_by").order_by("requested_at")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=gettext("Unblock the number"),
                note=gettext(
                    "Only a stopped or rejected lost-phone request whose line still has its old eSIM (or an "
                    "installed one) is unblocked; any other is left as it is and reported. The network is told "
                    "by a worker; the customer sees it on the request's page."
                ),
                form=form,
                action="unblock",
                submit=gettext("Unblock"),
                rows=replacements,
                row_template="admin/subscriptions/includes/replacement_row.html",
                applies_to=requests_listed(len(replacements)),
            )
        by = staff(request)
        asked, refused = self.apply_each(
            replacements,
            lambda replacement: replacement_unblock_ask(
                replacement=replacement, by=by, reason=form.cleaned_data["reason"]
            ),
            refusal=lambda replacement, error: f"{replacement.line.number_display}: {error}",
        )
        self.report(
            request,
            asked,
            refused,
            ngettext(
                "Unblocking %(count)d number on the network.",
                "Unblocking %(count)d numbers on the network.",
                len(asked),
            ),
        )
        return None

    @admin.action(description=_("Retry the failed eSIM of the selected requests"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[ReplacementRequest]) -> None:
        wanted = list(queryset.select_related("line"))
        jobs = {
            job.key: job
            for job in ProvisioningJob.objects.filter(key__in=[f"replacement:{each.public_id}" for each in wanted])
        }
        self.retry_jobs(request, [(str(each.public_id), jobs.get(f"replacement:{each.public_id}")) for each in wanted])

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
