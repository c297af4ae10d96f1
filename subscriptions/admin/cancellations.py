"""Cancellation requests in the support admin: the queue (by state and age,
with the day support promised to decide by), approving, rejecting with a
reason the customer reads, retrying a failed deactivation; each line's
cancellation history; credit notes, with what is still owed and marking one
paid out from the bank; and marking a port-out on lines.
Requests are read-only here: every change goes through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import ReadOnlyAdmin, ReasonActionsAdmin, nok, requests_listed, staff
from subscriptions.bank_accounts import bank_account_masked
from subscriptions.credit_note_pdf import credit_note_pdf
from subscriptions.models import CancellationRejectReason, CancellationRequest, CreditNote, Line
from subscriptions.periods import OSLO
from subscriptions.services.cancellations import (
    cancellation_approve,
    cancellation_port_out,
    cancellation_reject,
    cancellation_retry,
)
from subscriptions.services.credit_notes import credit_note_mark_paid_out


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason the customer reads"),
        choices=CancellationRejectReason.choices,
        help_text=_("Sent to the customer by email, in their language, and shown on the request's page."),
    )
    note = forms.CharField(
        label=_("Note for support"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the request; the customer does not see it."),
    )


class PortOutForm(forms.Form):
    reason = forms.CharField(
        label=_("The other operator and their reference"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in each line's audit log with your name."),
    )


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ReasonActionsAdmin):
    list_display = [
        "public_id",
        "number",
        "status",
        "source",
        "requested_at",
        "age",
        "decide_by_display",
        "document",
        "balance_choice",
    ]
    list_filter = ["status", "source", "balance_choice"]
    list_select_related = ["line", "identity_document"]
    search_fields = ["public_id", "line__number", "requested_by__email"]
    phone_search_fields = ["line__number"]
    # The queue: the oldest first, so the promised day comes first.
    ordering = ["requested_at"]
    exclude = ["idempotency_key"]
    actions = ["approve", "reject", "retry"]

    def get_readonly_fields(self, request: HttpRequest, obj: CancellationRequest | None = None) -> list[str]:
        return [f.name for f in CancellationRequest._meta.fields if f.name not in self.exclude] + ["document"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CancellationRequest | None = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.decide_cancellation")

    @admin.display(description=_("phone number"), ordering="line__number")
    def number(self, cancellation: CancellationRequest) -> str:
        return cancellation.line.number_display

    @admin.display(description=_("age"), ordering="requested_at")
    def age(self, cancellation: CancellationRequest) -> str:
        days = (timezone.now() - cancellation.requested_at).days
        return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}

    @admin.display(description=_("decide by"), ordering="decide_by")
    def decide_by_display(self, cancellation: CancellationRequest) -> SafeString | str:
        day = cancellation.decide_by.isoformat()
        waiting = cancellation.status in ("requested", "review")
        if waiting and cancellation.decide_by < timezone.now().astimezone(OSLO).date():
            return format_html('<strong class="overdue">{} ({})</strong>', day, gettext("overdue"))
        return day

    @admin.display(description=_("identity document"))
    def document(self, cancellation: CancellationRequest) -> SafeString | str:
        document = cancellation.identity_document
        if document is None:
            return "–"
        url = reverse("admin:accounts_identitydocument_change", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, document.get_status_display())

    @admin.action(description=_("Approve the selected requests (identity document approved)"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[CancellationRequest]) -> None:
        by = staff(request)
        done, refused = self.apply_each(
            queryset.select_related("line"),
            lambda row: cancellation_approve(cancellation=row, by=by),
            refusal=lambda row, error: f"{row.line.number_display}: {error}",
        )
        self.report(
            request, done, refused, ngettext("Approved %(count)d request.", "Approved %(count)d requests.", len(done))
        )

    @admin.action(description=_("Reject the selected requests…"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[CancellationRequest]) -> TemplateResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        rows = queryset.select_related("line", "line__owner")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=gettext("Reject cancellation requests"),
                form=form,
                action="reject",
                submit=gettext("Reject"),
                rows=rows,
                row_template="admin/subscriptions/includes/cancellation_row.html",
                applies_to=requests_listed(len(rows)),
                note=gettext("A request that can no longer be rejected is left as it is and reported."),
            )
        by = staff(request)
        done, refused = self.apply_each(
            rows,
            lambda row: cancellation_reject(
                cancellation=row, by=by, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
            ),
            refusal=lambda row, error: f"{row.line.number_display}: {error}",
        )
        self.report(
            request, done, refused, ngettext("Rejected %(count)d request.", "Rejected %(count)d requests.", len(done))
        )
        return None

    @admin.action(description=_("Retry the failed deactivation of the selected requests"), permissions=["decide"])
    def retry(self, request: HttpRequest, queryset: QuerySet[CancellationRequest]) -> None:
        by = staff(request)
        done, refused = self.apply_each(
            queryset.select_related("line"),
            lambda row: cancellation_retry(cancellation=row, by=by),
            refusal=lambda row, error: f"{row.line.number_display}: {error}",
        )
        self.report(
            request, done, refused, ngettext("Retrying %(count)d request.", "Retrying %(count)d requests.", len(done))
        )


class CancellationRequestInline(admin.TabularInline):
    """A line's cancellation history, newest first, each a link to the request."""

    model = CancellationRequest
    fk_name = "line"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["public_id", "status", "source", "reason", "requested_at", "decide_by", "done_at", "reactivated_at"]
    readonly_fields = [
        "public_id",
        "status",
        "source",
        "reason",
        "requested_at",
        "decide_by",
        "done_at",
        "reactivated_at",
    ]
    ordering = ["-requested_at"]
    verbose_name_plural = _("cancellation history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description=_("Port-out completed: cancel the selected lines…"))
def port_out_lines(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Line]) -> TemplateResponse | None:
    """The number moved to another operator: the line is cancelled here by
    the same deactivation as a customer's approved request."""
    if not request.user.has_perm("subscriptions.decide_cancellation"):
        modeladmin.message_user(request, gettext("You may not mark port-outs."), messages.ERROR)
        return None
    response: TemplateResponse | None = modeladmin._line_action(
        request,
        queryset,
        action="port_out_lines",
        form_class=PortOutForm,
        title=gettext("Port-out completed"),
        submit=gettext("Cancel the lines"),
        apply=lambda line, by, data: cancellation_port_out(line=line, by=by, note=data["reason"]),
        done=lambda n: (
            ngettext(
                "%(count)d line is being cancelled after its port-out.",
                "%(count)d lines are being cancelled after their port-out.",
                n,
            )
            % {"count": n}
        ),
    )
    return response


class PayoutForm(forms.Form):
    paid_on = forms.DateField(
        label=_("Paid out on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The day the bank paid the refund."),
    )
    reference = forms.CharField(
        label=_("Bank reference"),
        max_length=64,
        help_text=_("The bank's reference for the payment, as on the bank statement."),
    )


class PayoutFilter(admin.SimpleListFilter):
    """What support still owes: bank refunds not paid out yet."""

    title = _("paid out")
    parameter_name = "payout"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("owed", _("Not paid out yet")), ("paid", _("Paid out"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CreditNote]) -> QuerySet[CreditNote]:
        if self.value() == "owed":
            return queryset.exclude(bank_account="").filter(paid_out_at=None)
        if self.value() == "paid":
            return queryset.exclude(paid_out_at=None)
        return queryset


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin, ReasonActionsAdmin):
    list_display = [
        "number",
        "customer_name",
        "line_number",
        "amount",
        "bank_account_end",
        "issued_at",
        "paid_out_on",
        "paid_out_reference",
    ]
    list_filter = [PayoutFilter, "year"]
    search_fields = ["customer_name", "line_number", "cancellation__public_id", "paid_out_reference"]
    phone_search_fields = ["line_number"]
    readonly_fields = ["number", "pdf_link"]
    actions = ["mark_paid_out"]

    def has_pay_out_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.pay_out_creditnote")

    @admin.action(description=_("Mark the selected credit notes paid out…"), permissions=["pay_out"])
    def mark_paid_out(self, request: HttpRequest, queryset: QuerySet[CreditNote]) -> TemplateResponse | None:
        form = PayoutForm(request.POST if "apply" in request.POST else None)
        rows = queryset.select_related("cancellation__line")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=gettext("Mark credit notes paid out"),
                form=form,
                action="mark_paid_out",
                submit=gettext("Mark paid out"),
                rows=rows,
                row_template="admin/subscriptions/includes/credit_note_row.html",
                applies_to=ngettext(
                    "This applies to %(counter)s credit note:", "This applies to %(counter)s credit notes:", len(rows)
                )
                % {"counter": len(rows)},
                note=gettext(
                    "A credit note already paid out, or without a refund to a bank account, is left as it is and "
                    "reported."
                ),
            )
        by = staff(request)
        done, refused = self.apply_each(
            rows,
            lambda row: credit_note_mark_paid_out(
                note=row, paid_on=form.cleaned_data["paid_on"], reference=form.cleaned_data["reference"], by=by
            ),
            refusal=lambda row, error: str(error),
        )
        self.report(
            request,
            done,
            refused,
            ngettext("Marked %(count)d credit note paid out.", "Marked %(count)d credit notes paid out.", len(done)),
        )
        return None

    @admin.display(description=_("amount"), ordering="amount_ore")
    def amount(self, note: CreditNote) -> str:
        return nok(note.amount_ore)

    # The list shows only the end of the account; the full number is on the
    # credit note's own page, for the one paying it out.
    @admin.display(description=_("refund to bank account"))
    def bank_account_end(self, note: CreditNote) -> str:
        return bank_account_masked(note.bank_account)

    @admin.display(description=_("PDF"))
    def pdf_link(self, note: CreditNote) -> SafeString:
        url = reverse("admin:subscriptions_creditnote_pdf", args=[note.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [
            path(
                "<int:note_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="subscriptions_creditnote_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, note_id: int) -> HttpResponse:
        note = CreditNote.objects.get(pk=note_id)
        if not self.has_view_permission(request, note):
            return HttpResponse(status=403)
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="credit-note-{note.number}.pdf"'
        return response
