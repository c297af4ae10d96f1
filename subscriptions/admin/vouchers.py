"""Vouchers (充值卡) for support staff: batches, codes and redemption attempts.

A supervisor makes a batch on the add page; the answer to that form is the
printer's CSV with the codes, the one time they exist whole: nothing keeps
them (not the session, a file or the cache), and no page shows them again.
Batches, codes and attempts are otherwise read-only. Supervisors void a
batch or single codes (the void_voucher permission), giving a reason.
Agents look: which customer and line a code went to, and who keeps
typing wrong codes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from subscriptions.admin.base import ReadOnlyAdmin, ReasonActionsAdmin, changelist_url, nok, staff
from subscriptions.errors import CustomerError
from subscriptions.formatting import NBSP
from subscriptions.forms.vouchers import VoucherBatchForm
from subscriptions.models import Voucher, VoucherAttempt, VoucherBatch, VoucherStatus, VoucherValue
from subscriptions.services.voucher_codes import code_check_digit_ok, code_format, code_hash, code_normalize
from subscriptions.services.vouchers import (
    FAILURES,
    oslo_today,
    voucher_batch_create,
    voucher_batch_void,
    voucher_void,
)

# How many of a batch's redeemed codes its page lists; the rest are in the
# voucher list, filtered by the batch.
REDEEMED_SHOWN = 100
# How many of the rows about to be voided the void page names; it counts the rest.
VOID_ROWS_LISTED = 100
# "12-000345": the batch and the serial, as Voucher.__str__ and the printed card write it.
SERIAL = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
CSV_COLUMNS = ["serial", "code", "value", "valid_until"]
# The cards are sold in Norwegian shops: their value is written in Norwegian.
PRINT_LANGUAGE = "nb"


def serial_display(batch_id: int, serial: int) -> str:
    return f"{batch_id}-{serial:06d}"


def batch_value(batch: VoucherBatch) -> str:
    """What each code of the batch is worth, in the active language."""
    if batch.value_kind == VoucherValue.PLAN and batch.plan is not None:
        return batch.plan.name
    return nok(batch.amount_ore)


@sensitive_variables()  # the codes
def voucher_batch_csv(batch: VoucherBatch, codes: Sequence[tuple[int, str]]) -> str:
    """The printer's file: serial, code in groups of four, value, last valid day."""
    with translation.override(PRINT_LANGUAGE):
        value = batch_value(batch).replace(NBSP, " ")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for serial, code in codes:
        writer.writerow([serial_display(batch.pk, serial), code_format(code), value, batch.expires_on.isoformat()])
    return out.getvalue()


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the voided codes, with your name."),
    )


class VoidActions(ReasonActionsAdmin):
    """Read-only rows with void actions that ask for a reason on a page of
    their own, then call a service per row."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.void_voucher")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The keyed hashes stay out of URLs, as they stay out of pages.
        if "code_hash" in lookup.split("__"):
            return False
        return super().lookup_allowed(lookup, value, request)

    def void_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        action: str,
        title: str,
        describe: Callable[[Any], str],
        apply: Callable[[Any, User, str], Any],
        done: Callable[[int], str],
    ) -> TemplateResponse | None:
        form = VoidForm(request.POST if "apply" in request.POST else None)
        select_across = request.POST.get("select_across") == "1"
        rows = list(queryset)
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                template="admin/subscriptions/voucherbatch/void.html",
                title=title,
                form=form,
                action=action,
                rows=[describe(row) for row in rows[:VOID_ROWS_LISTED]],
                more=max(0, len(rows) - VOID_ROWS_LISTED),
                # "All of this (filtered) list" goes back as that flag, not as
                # one field per row: a form carries at most
                # DATA_UPLOAD_MAX_NUMBER_FIELDS fields and a batch can have
                # more codes (VOUCHER_BATCH_MAX). Django still wants one row
                # ticked to run the action.
                selected=[rows[0].pk] if select_across and rows else [row.pk for row in rows],
                select_across=select_across,
            )
        by = staff(request)
        reason = form.cleaned_data["reason"]
        done_rows, refused = self.apply_each(
            rows, lambda row: apply(row, by, reason), refusal=lambda row, error: str(error)
        )
        voided = len(done_rows)
        if voided:
            self.message_user(request, done(voided), messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)
        return None


# --- batches ------------------------------------------------------------------------


@admin.register(VoucherBatch)
class VoucherBatchAdmin(VoidActions):
    list_display = [
        "label",
        "value",
        "count",
        "redeemed",
        "voided",
        "unused",
        "expires_on",
        "state",
        "created_by",
        "created_at",
    ]
    list_select_related = ["plan", "created_by"]
    list_filter = ["value_kind"]
    search_fields = ["label"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["label", "value", "count", "expires_on", "state", "created_by", "created_at"]}),
        (_("Codes"), {"fields": ["redeemed", "voided", "unused", "codes"]}),
        (_("Voided"), {"fields": ["voided_at", "voided_by", "void_reason"]}),
        (_("Where the codes went"), {"fields": ["where_the_codes_went"]}),
    ]
    readonly_fields = [
        "label",
        "value",
        "count",
        "expires_on",
        "state",
        "created_by",
        "created_at",
        "redeemed",
        "voided",
        "unused",
        "codes",
        "voided_at",
        "voided_by",
        "void_reason",
        "where_the_codes_went",
    ]
    actions = ["void_batches"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VoucherBatch]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                redeemed_count=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.REDEEMED)),
                voided_count=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.VOIDED)),
                unused_count=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.ACTIVE)),
            )
        )

    # --- making a batch: the form's answer is the printer's CSV ---

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = VoucherBatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                return self._create_and_download(request, form)
            except CustomerError as error:
                form.add_error(None, str(error))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Create a voucher batch"),
            "form": form,
            "max_count": form.fields["count"].max_value,  # type: ignore[attr-defined]
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/subscriptions/voucherbatch/add.html", context)

    @sensitive_variables()  # the codes
    def _create_and_download(self, request: HttpRequest, form: VoucherBatchForm) -> HttpResponse:
        data = form.cleaned_data
        batch, codes = voucher_batch_create(
            label=data["label"],
            value_kind=data["value_kind"],
            amount_ore=form.amount_ore,
            plan=data["plan"],
            count=data["count"],
            expires_on=data["expires_on"],
            by=staff(request),
        )
        self.log_addition(request, batch, [{"added": {}}])
        response = HttpResponse(voucher_batch_csv(batch, codes), content_type="text/csv; charset=utf-8")
        filename = f"vouchers-{batch.pk}-{slugify(batch.label) or 'batch'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        # No browser or proxy may keep a copy (the admin adds never_cache too).
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        messages.success(
            request,
            ngettext(
                "Batch “%(label)s” has %(count)d code. It is in the file you downloaded, and is not shown again.",
                "Batch “%(label)s” has %(count)d codes. They are in the file you downloaded, and are not shown again.",
                batch.count,
            )
            % {"label": batch.label, "count": batch.count},
        )
        return response

    # --- columns and fields ---

    @admin.display(description=_("value"))
    def value(self, batch: VoucherBatch) -> str:
        return batch_value(batch)

    @admin.display(description=_("redeemed"), ordering="redeemed_count")
    def redeemed(self, batch: Any) -> int:
        return int(batch.redeemed_count)

    @admin.display(description=_("voided"), ordering="voided_count")
    def voided(self, batch: Any) -> int:
        return int(batch.voided_count)

    @admin.display(description=_("not used"), ordering="unused_count")
    def unused(self, batch: Any) -> int:
        return int(batch.unused_count)

    @admin.display(description=_("state"))
    def state(self, batch: VoucherBatch) -> str:
        if batch.voided_at is not None:
            return gettext("Voided")
        if batch.expires_on < oslo_today():
            return pgettext("voucher status", "Expired")
        return gettext("Valid")

    @admin.display(description=_("all codes"))
    def codes(self, batch: VoucherBatch) -> SafeString:
        links = [
            (changelist_url(Voucher, batch__id__exact=batch.pk), gettext("every code of this batch")),
            (changelist_url(VoucherAttempt, voucher__batch__id__exact=batch.pk), gettext("attempts on its codes")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("redeemed codes, newest first"))
    def where_the_codes_went(self, batch: VoucherBatch) -> SafeString | str:
        redeemed = (
            batch.vouchers.filter(status=VoucherStatus.REDEEMED)
            .select_related("redeemed_by", "line")
            .order_by("-redeemed_at", "-serial")[:REDEEMED_SHOWN]
        )
        rows = [
            (
                reverse("admin:subscriptions_voucher_change", args=[voucher.pk]),
                str(voucher),
                reverse("admin:accounts_user_change", args=[voucher.redeemed_by_id]) if voucher.redeemed_by_id else "",
                str(voucher.redeemed_by or "–"),
                reverse("admin:subscriptions_line_change", args=[voucher.line_id]) if voucher.line_id else "",
                str(voucher.line or "–"),
                _when(voucher.redeemed_at),
            )
            for voucher in redeemed
        ]
        if not rows:
            return gettext("None redeemed yet.")
        header = format_html(
            "<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>",
            gettext("serial"),
            gettext("customer"),
            gettext("line"),
            gettext("when"),
        )
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td><a href="{}">{}</a></td><td><a href="{}">{}</a></td><td>{}</td></tr>',
            rows,
        )
        return format_html('<table class="voucher-redemptions">{}<tbody>{}</tbody></table>', header, body)

    # --- voiding ---

    @admin.action(permissions=["void"], description=_("Void the selected batches…"))
    def void_batches(self, request: HttpRequest, queryset: QuerySet[VoucherBatch]) -> TemplateResponse | None:
        return self.void_action(
            request,
            queryset.order_by("-created_at"),
            action="void_batches",
            title=gettext("Void voucher batches"),
            describe=lambda batch: (
                gettext("%(label)s: %(value)s, %(unused)d of %(count)d codes not used")
                % {
                    "label": batch.label,
                    "value": batch_value(batch),
                    "unused": batch.unused_count,
                    "count": batch.count,
                }
            ),
            apply=lambda batch, by, reason: voucher_batch_void(batch=batch, by=by, reason=reason),
            done=lambda n: ngettext("Voided %(count)d batch.", "Voided %(count)d batches.", n) % {"count": n},
        )


# --- single codes ---------------------------------------------------------------------


@admin.register(Voucher)
class VoucherAdmin(VoidActions):
    list_display = ["serial_display", "batch", "value", "status", "redeemed_by", "line", "redeemed_at", "voided_at"]
    list_select_related = ["batch__plan", "redeemed_by", "line"]
    list_filter = ["status", "batch__value_kind", "batch"]
    search_fields = ["batch__label", "redeemed_by__email", "redeemed_by__full_name"]
    phone_search_fields = ("line__number", "redeemed_by__phone")
    search_help_text = _(
        "Serial (12-000345), the whole code read out by a customer, the customer's email, name or phone, "
        "the line's number, or the retailer label."
    )
    show_full_result_count = False
    fields = (
        "serial_display",
        "batch",
        "value",
        "status",
        "redeemed_at",
        "redeemed_by",
        "line",
        "voided_at",
        "attempts",
    )
    readonly_fields = fields
    actions = ["void_vouchers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # codes are born in batches

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Also a serial as printed, and a whole code (looked up by its hash:
        an agent can tell a customer on the phone which card they hold)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        serial = SERIAL.match(search_term)
        if serial:
            results |= queryset.filter(batch_id=int(serial[1]), serial=int(serial[2]))
        code = code_normalize(search_term)
        if code is not None and code_check_digit_ok(code):
            results |= queryset.filter(code_hash=code_hash(code))
        return results, may_have_duplicates

    @admin.display(description=_("serial"), ordering="serial")
    def serial_display(self, voucher: Voucher) -> str:
        return serial_display(voucher.batch_id, voucher.serial)

    @admin.display(description=_("value"))
    def value(self, voucher: Voucher) -> str:
        return batch_value(voucher.batch)

    @admin.display(description=_("attempts"))
    def attempts(self, voucher: Voucher) -> SafeString:
        url = changelist_url(VoucherAttempt, voucher__id__exact=voucher.pk)
        return format_html('<a href="{}">{}</a>', url, gettext("attempts on this code"))

    @admin.action(permissions=["void"], description=_("Void the selected vouchers…"))
    def void_vouchers(self, request: HttpRequest, queryset: QuerySet[Voucher]) -> TemplateResponse | None:
        return self.void_action(
            request,
            queryset.select_related("batch__plan").order_by("batch", "serial"),
            action="void_vouchers",
            title=gettext("Void vouchers"),
            describe=lambda voucher: (
                f"{voucher} · {voucher.batch.label} · {batch_value(voucher.batch)} · {voucher.get_status_display()}"
            ),
            apply=lambda voucher, by, reason: voucher_void(voucher=voucher, by=by, reason=reason),
            done=lambda n: ngettext("Voided %(count)d voucher.", "Voided %(count)d vouchers.", n) % {"count": n},
        )


# --- attempts -----------------------------------------------------------------------


class RepeatedFailuresFilter(admin.SimpleListFilter):
    """Failed attempts of whoever failed at least the hourly limit within a
    day: someone guessing, or a customer who needs a call."""

    title = _("repeated failures in 24 hours")
    parameter_name = "repeated"
    SCOPES = {"user": "user", "ip": "ip_address", "line": "line"}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("user", _("by customer")), ("ip", _("by IP address")), ("line", _("by line"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        scope = self.value()
        if scope not in self.SCOPES:
            return queryset
        field = self.SCOPES[scope]
        failed = VoucherAttempt.objects.filter(
            created_at__gte=timezone.now() - timedelta(hours=24), result__in=FAILURES, **{f"{field}__isnull": False}
        )
        repeaters = (
            failed.values(field)
            .annotate(failures=Count("pk"))
            .filter(failures__gte=settings.VOUCHER_FAILURES_PER_HOUR[scope])
            .values(field)
        )
        return queryset.filter(pk__in=failed.filter(**{f"{field}__in": repeaters}).values("pk"))


@admin.register(VoucherAttempt)
class VoucherAttemptAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "result", "user", "line", "ip_address", "channel", "voucher"]
    list_select_related = ["user", "line", "voucher"]
    list_filter = ["result", RepeatedFailuresFilter, "channel"]
    search_fields = ["user__email", "user__full_name", "ip_address"]
    phone_search_fields = ("line__number", "user__phone")
    search_help_text = _("Customer's email, name or phone, the line's number, or an IP address.")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ("created_at", "result", "user", "line", "ip_address", "channel", "voucher")
    readonly_fields = fields


def _when(moment: Any) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "–"
