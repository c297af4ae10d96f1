"""Support staff's view of lines, plans, periods, eSIM profiles, usage, the
ledger and the audit log.

Nothing here writes money or a line's state directly: periods, usage, ledger
and audit rows are read-only, a line's status and expiry cannot be edited,
and the actions (suspend, resume, goodwill extension) call
subscriptions.services.lines, which lock the row, check the state machine and
write the audit row with the acting staff member and the reason they gave.
An eSIM profile's matching ID (the secret half of its activation code) is
never shown, searched or filterable here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.validators import MaxValueValidator
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.admin.base import (
    SECRET_FIELD,
    ReadOnlyAdmin,
    ReasonActionsAdmin,
    SupportAdmin,
    changelist_url,
    nok,
    staff,
)
from subscriptions.admin.cancellations import CancellationRequestInline, port_out_lines
from subscriptions.formatting import format_call, format_data, format_moment, format_texts
from subscriptions.models import (
    AuditEvent,
    AutoRenewCharge,
    EsimProfile,
    EsimState,
    LedgerEntry,
    Line,
    LineStatus,
    Plan,
    ReplacementRequest,
    ServicePeriod,
    UsageKind,
    UsageRecord,
)
from subscriptions.models.lines import LineQuerySet
from subscriptions.models.plans import FIELD_LANGUAGES
from subscriptions.models.suspensions import SuspensionReason
from subscriptions.services import lines as line_services
from subscriptions.services.simswap import sim_swap_latest, sim_swap_monitored_days
from subscriptions.services.suspensions import line_suspension_end, line_suspension_start

# How many of a line's newest periods, usage records, ledger entries and audit
# events its page shows; the rest are one click away in their own lists.
RECENT_ROWS = 50

LOW_BALANCE_THRESHOLD_MAX_ORE = 100_000_00  # as subscriptions.services.lines allows


def usage_quantity(kind: str, quantity: int) -> str:
    """One record's quantity: data in MB/GB, a call to the second, texts."""
    if kind == UsageKind.DATA:
        return format_data(quantity)
    if kind == UsageKind.VOICE:
        return format_call(quantity)
    return format_texts(quantity)


class LineRowsInline(admin.TabularInline):
    """Read-only rows under a line. Only the newest ``RECENT_ROWS`` (by
    ``newest_first``) are shown, so an old line's page stays fast."""

    extra = 0
    max_num = 0
    can_delete = False
    newest_first: ClassVar[Sequence[str]] = ("-id",)
    select_related: ClassVar[Sequence[str]] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def recent(self, queryset: QuerySet[Any], line: Line) -> QuerySet[Any]:
        newest = queryset.filter(line=line).order_by(*self.newest_first).values_list("pk", flat=True)
        return queryset.filter(pk__in=list(newest[:RECENT_ROWS]))

    def has_add_permission(self, request: HttpRequest, obj: Line | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Line | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Line | None = None) -> bool:
        return False


# --- inlines on the line page ---------------------------------------------------


class ServicePeriodInline(LineRowsInline):
    model = ServicePeriod
    fields = ["plan", "starts_at", "ends_at", "data_mb", "voice_minutes", "sms_count", "source"]
    newest_first = ("-starts_at",)
    select_related = ("plan",)


class EsimProfileInline(LineRowsInline):
    """The line's eSIM profile history: each profile, its state and since
    when, and when it was disabled (by a replacement), newest first."""

    model = EsimProfile
    verbose_name_plural = _("eSIM profile history (newest first)")
    fields = ["iccid", "state", "state_changed_at", "assigned_at", "disabled_at", "batch"]
    readonly_fields = ["disabled_at"]
    exclude = [SECRET_FIELD]
    newest_first = ("-assigned_at", "-id")
    ordering = newest_first
    select_related = ("batch",)

    @admin.display(description=_("disabled"))
    def disabled_at(self, profile: EsimProfile) -> str:
        return format_moment(profile.state_changed_at) if profile.state == EsimState.DISABLED else "–"


class ReplacementRequestInline(LineRowsInline):
    model = ReplacementRequest
    verbose_name_plural = _("replacement requests (newest first)")
    fields = ["request_link", "reason", "status", "requested_at", "fulfilled_at", "closed_at", "reviewed_by"]
    readonly_fields = ["request_link"]
    newest_first = ("-requested_at", "-id")
    ordering = newest_first
    select_related = ("reviewed_by",)

    @admin.display(description=_("request"))
    def request_link(self, replacement: ReplacementRequest) -> SafeString:
        url = reverse("admin:subscriptions_replacementrequest_change", args=[replacement.pk])
        return format_html('<a href="{}">{}</a>', url, str(replacement.public_id)[:8])


class LedgerEntryInline(LineRowsInline):
    model = LedgerEntry
    verbose_name_plural = _("ledger (newest 50)")
    fields = ["created_at", "kind", "amount", "reference", "text", "description", "created_by"]
    readonly_fields = ["amount", "text"]
    newest_first = ("-created_at", "-id")
    select_related = ("created_by",)

    @admin.display(description=_("amount"))
    def amount(self, entry: LedgerEntry) -> str:
        return nok(entry.amount_ore)


class AutoRenewChargeInline(LineRowsInline):
    model = AutoRenewCharge
    verbose_name_plural = _("auto-renew charges (newest 50)")
    fields = ["period_end", "plan", "card", "status", "attempts", "next_attempt_at", "last_error", "order"]
    newest_first = ("-period_end", "-id")
    select_related = ("plan", "card", "order")


class UsageRecordInline(LineRowsInline):
    model = UsageRecord
    verbose_name_plural = _("usage (newest 50)")
    fields = ["occurred_at", "kind", "amount_used", "destination", "charge", "record_id"]
    readonly_fields = ["amount_used", "charge"]
    newest_first = ("-occurred_at", "-id")

    @admin.display(description=_("used"))
    def amount_used(self, record: UsageRecord) -> str:
        return usage_quantity(record.kind, record.quantity)

    @admin.display(description=_("charge"))
    def charge(self, record: UsageRecord) -> str:
        return nok(record.charge_ore) if record.charge_ore else ""


class AuditEventInline(LineRowsInline):
    model = AuditEvent
    verbose_name_plural = _("audit log (newest 50)")
    fields = ["created_at", "action", "from_status", "to_status", "actor", "reason"]
    newest_first = ("-created_at", "-id")
    select_related = ("actor",)


def line_page_inlines() -> list[type[LineRowsInline]]:
    """Inlines other admin modules add to the line page (defined there)."""
    from subscriptions.admin.notifications import NotificationInline

    return [NotificationInline]


# --- lines ------------------------------------------------------------------------


class ExpiryFilter(admin.SimpleListFilter):
    title = _("expiry")
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("expired", pgettext_lazy("line status", "Expired")),
            ("7d", _("Within 7 days")),
            ("30d", _("Within 30 days")),
            ("later", _("Later")),
            ("never", _("Never paid")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        match self.value():
            case "expired":
                return queryset.filter(expires_at__lte=now)
            case "7d":
                return queryset.filter(expires_at__gt=now, expires_at__lte=now + timedelta(days=7))
            case "30d":
                return queryset.filter(expires_at__gt=now, expires_at__lte=now + timedelta(days=30))
            case "later":
                return queryset.filter(expires_at__gt=now + timedelta(days=30))
            case "never":
                return queryset.filter(expires_at__isnull=True)
        return queryset


class PlanFilter(admin.SimpleListFilter):
    """Lines that have (or had) a period on the plan."""

    title = _("plan")
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(str(plan.pk), f"{plan.name} ({plan.code})") for plan in Plan.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(Exists(ServicePeriod.objects.filter(line=OuterRef("pk"), plan_id=int(value))))


class LineForm(forms.ModelForm):
    class Meta:
        model = Line
        fields = ["low_balance_threshold_ore"]
        help_texts = {"low_balance_threshold_ore": _("In øre: 5000 is 50 kr. Empty means no alert.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The service refuses more than this too; saying it here puts
        # the message next to the field.
        threshold = self.fields["low_balance_threshold_ore"]
        threshold.validators.append(MaxValueValidator(LOW_BALANCE_THRESHOLD_MAX_ORE))
        threshold.widget.attrs["max"] = LOW_BALANCE_THRESHOLD_MAX_ORE


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in each line's audit log with your name."),
    )


class ExtendForm(ReasonForm):
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=365)
    field_order = ["days", "reason"]


def _current_plan_name() -> Subquery:
    """The plan of a line's last period, named in the staff member's language."""
    language = (translation.get_language() or "en").replace("-", "_").lower()
    field = f"name_{language}" if language in FIELD_LANGUAGES else "name_en"
    last = ServicePeriod.objects.filter(line=OuterRef("pk")).order_by("-ends_at")
    return Subquery(last.values(f"plan__{field}")[:1])


LineApply = Callable[[Line, User, dict[str, Any]], Line]


@admin.register(Line)
class LineAdmin(ReasonActionsAdmin):
    form = LineForm
    list_display = [
        "number_display",
        "owner_display",
        "kind",
        "status",
        "plan_name",
        "expires_at",
        "balance",
        "auto_renew",
    ]
    list_select_related = ["owner"]
    list_filter = ["status", "kind", PlanFilter, ExpiryFilter, "auto_renew"]
    search_fields = ["number", "esim_profiles__iccid", "owner__email", "owner__full_name"]
    phone_search_fields = ("number", "owner__phone")
    search_help_text = _("Phone number (typed any way), ICCID, owner's email or name.")
    show_full_result_count = False
    ordering = ["-created_at", "-id"]
    readonly_fields = [
        "number_display",
        "owner_link",
        "kind",
        "status",
        "status_changed_at",
        "expires_at",
        "auto_renew",
        "created_at",
        "balance",
        "history",
        "sim_swap",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number_display",
                    "owner_link",
                    "kind",
                    "status",
                    "status_changed_at",
                    "expires_at",
                    "sim_swap",
                ]
            },
        ),
        (_("Balance"), {"fields": ["balance", "low_balance_threshold_ore", "auto_renew"]}),
        (_("History"), {"fields": ["history", "created_at"]}),
    ]
    inlines = [
        ServicePeriodInline,
        EsimProfileInline,
        ReplacementRequestInline,
        LedgerEntryInline,
        AutoRenewChargeInline,
        UsageRecordInline,
        AuditEventInline,
        *line_page_inlines(),
        CancellationRequestInline,
    ]
    actions = ["suspend_lines", "resume_lines", "extend_lines", port_out_lines]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Line]:
        lines = cast(LineQuerySet, super().get_queryset(request))  # Line's default manager
        return lines.with_balance().annotate(current_plan_name=_current_plan_name())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a line is born from an order, through the services

    def has_delete_permission(self, request: HttpRequest, obj: Line | None = None) -> bool:
        return False  # lines are cancelled, never deleted

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Line, inline: InlineModelAdmin[Any, Line], prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LineRowsInline):
            kwargs["queryset"] = inline.recent(kwargs["queryset"], obj)
        return kwargs

    def save_model(self, request: HttpRequest, obj: Line, form: Any, change: Any) -> None:
        """The one editable field goes through its service (and audit row)."""
        if "low_balance_threshold_ore" in form.changed_data:
            line_services.line_set_low_balance_threshold(
                line=obj, threshold_ore=form.cleaned_data["low_balance_threshold_ore"], by=staff(request)
            )

    # --- columns and read-only fields ---

    @admin.display(description=_("phone number"), ordering="number")
    def number_display(self, line: Line) -> str:
        return line.number_display

    @admin.display(description=_("owner"), ordering="owner__email")
    def owner_display(self, line: Line) -> str:
        owner = line.owner
        return f"{owner.full_name} <{owner.email}>" if owner.full_name and owner.email else str(owner)

    @admin.display(description=_("owner"))
    def owner_link(self, line: Line) -> SafeString:
        url = reverse("admin:accounts_user_change", args=[line.owner_id])
        return format_html('<a href="{}">{}</a>', url, self.owner_display(line))

    @admin.display(description=_("plan"))
    def plan_name(self, line: Line) -> str:
        return getattr(line, "current_plan_name", None) or "–"

    @admin.display(description=_("balance"), ordering="balance_ore")
    def balance(self, line: Line) -> str:
        return nok(getattr(line, "balance_ore", 0))

    @admin.display(description=_("last SIM change"))
    def sim_swap(self, line: Line) -> str:
        """What the SIM Swap API would tell a bank, for support on the phone."""
        latest = sim_swap_latest(line=line)
        if latest is None:
            return gettext("None in the last %(days)s days (since the line began).") % {
                "days": sim_swap_monitored_days(line=line)
            }
        return format_moment(latest)

    @admin.display(description=_("full history"))
    def history(self, line: Line) -> SafeString:
        links = [
            (changelist_url(ServicePeriod, line__id__exact=line.pk), _("service periods")),
            (changelist_url(UsageRecord, line__id__exact=line.pk), _("usage")),
            (changelist_url(LedgerEntry, line__id__exact=line.pk), _("ledger")),
            (changelist_url(AuditEvent, line__id__exact=line.pk), _("audit log")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    # --- actions: each asks for a reason, then calls a service per line ---

    def has_suspend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.suspend_line")

    def has_extend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.extend_line")

    @admin.action(permissions=["suspend"], description=_("Suspend the selected lines…"))
    def suspend_lines(self, request: HttpRequest, queryset: QuerySet[Line]) -> TemplateResponse | None:
        return self._line_action(
            request,
            queryset,
            action="suspend_lines",
            form_class=ReasonForm,
            title=gettext("Suspend lines"),
            submit=gettext("Suspend"),
            # The reason is shown to the customer on the line page, with how to reach support.
            apply=lambda line, by, data: line_suspension_start(
                line=line, by=by, reason=SuspensionReason.SUPPORT, note=data["reason"], by_support=True
            ),
            done=lambda n: ngettext("Suspended %(count)d line.", "Suspended %(count)d lines.", n) % {"count": n},
        )

    @admin.action(permissions=["suspend"], description=_("Resume the selected lines…"))
    def resume_lines(self, request: HttpRequest, queryset: QuerySet[Line]) -> TemplateResponse | None:
        return self._line_action(
            request,
            queryset,
            action="resume_lines",
            form_class=ReasonForm,
            title=gettext("Resume lines"),
            submit=gettext("Resume"),
            apply=lambda line, by, data: line_suspension_end(line=line, by=by, by_support=True, note=data["reason"]),
            done=lambda n: ngettext("Resumed %(count)d line.", "Resumed %(count)d lines.", n) % {"count": n},
        )

    @admin.action(permissions=["extend"], description=_("Extend the selected lines as goodwill…"))
    def extend_lines(self, request: HttpRequest, queryset: QuerySet[Line]) -> TemplateResponse | None:
        return self._line_action(
            request,
            queryset,
            action="extend_lines",
            form_class=ExtendForm,
            title=gettext("Extend lines as goodwill"),
            submit=gettext("Extend"),
            apply=lambda line, by, data: line_services.line_extend(
                line=line, days=data["days"], by=by, reason=data["reason"]
            ),
            done=lambda n: ngettext("Extended %(count)d line.", "Extended %(count)d lines.", n) % {"count": n},
        )

    def _line_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Line],
        *,
        action: str,
        form_class: type[ReasonForm],
        title: str,
        submit: str,
        apply: LineApply,
        done: Callable[[int], str],
    ) -> TemplateResponse | None:
        """Ask for the reason (and days) on a page of its own; when it comes
        back filled in, run the service for each line. A line the service
        refuses is reported with its reason; the others go ahead."""
        form = form_class(request.POST if "apply" in request.POST else None)
        lines = queryset.select_related("owner").order_by("number")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=title,
                form=form,
                action=action,
                submit=submit,
                rows=lines,
                row_template="admin/subscriptions/includes/line_row.html",
                applies_to=ngettext(
                    "This applies to %(counter)s line:", "This applies to %(counter)s lines:", len(lines)
                )
                % {"counter": len(lines)},
                note=gettext(
                    "Each line goes through the line's state machine; a line it refuses is left as it is and reported."
                ),
            )

        by = staff(request)
        changed, refused = self.apply_each(
            lines,
            lambda line: apply(line, by, form.cleaned_data),
            refusal=lambda line, error: f"{line.number_display}: {error}",
        )
        if changed:
            self.message_user(request, done(len(changed)), messages.SUCCESS)
        lapsed = [
            line.number_display for line in changed if action == "resume_lines" and line.status != LineStatus.ACTIVE
        ]
        if lapsed:
            self.message_user(
                request,
                gettext("No paid time was left, so these lines are now expired: %(lines)s")
                % {"lines": ", ".join(lapsed)},
                messages.WARNING,
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d line was not changed: %(lines)s",
                    "%(count)d lines were not changed: %(lines)s",
                    len(refused),
                )
                % {"count": len(refused), "lines": "; ".join(refused)},
                messages.WARNING,
            )
        return None


# --- the catalogue ------------------------------------------------------------------


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = [
            "code",
            "kind",
            "period",
            "is_active",
            "price_ore",
            "data_mb",
            "voice_minutes",
            "sms_count",
            "name_en",
            "description_en",
            "name_nb",
            "description_nb",
            "name_zh_hans",
            "description_zh_hans",
        ]
        help_texts = {
            "price_ore": _("In øre with 25 % VAT included: 249 kr is 24900."),
            "code": _("A short permanent name, e.g. esim-month-10gb; it cannot be changed later."),
        }


@admin.register(Plan)
class PlanAdmin(SupportAdmin):
    form = PlanForm
    list_display = ["code", "name", "kind", "period", "price", "data", "voice_minutes", "sms_count", "is_active"]
    list_filter = ["kind", "period", "is_active"]
    search_fields = ["code", "name_en", "name_nb", "name_zh_hans"]
    fieldsets = [
        (None, {"fields": ["code", "kind", "period", "is_active"]}),
        (_("Price"), {"fields": ["price_ore"]}),
        (_("Allowances per period"), {"fields": ["data_mb", "voice_minutes", "sms_count"]}),
        (pgettext_lazy("language", "English"), {"fields": ["name_en", "description_en"]}),
        (_("Norwegian"), {"fields": ["name_nb", "description_nb"]}),
        (_("Chinese"), {"fields": ["name_zh_hans", "description_zh_hans"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Plan | None = None) -> list[str]:
        # Periods and audit rows refer to a plan by these: fixed once it exists.
        return ["code", "kind", "period"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        return False  # take a plan off sale instead; periods keep pointing at it

    @admin.display(description=_("price"), ordering="price_ore")
    def price(self, plan: Plan) -> str:
        return nok(plan.price_ore)

    @admin.display(description=_("data"), ordering="data_mb")
    def data(self, plan: Plan) -> str:
        if plan.data_mb is None:
            return gettext("unlimited")
        return format_data(plan.data_mb * 1024)


# --- rows the services write ------------------------------------------------------------


@admin.register(ServicePeriod)
class ServicePeriodAdmin(ReadOnlyAdmin):
    list_display = ["line", "plan", "starts_at", "ends_at", "data_mb", "voice_minutes", "sms_count", "source"]
    list_select_related = ["line", "plan"]
    list_filter = ["plan", "source"]
    search_fields = ["line__number", "line__owner__email", "line__owner__full_name"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "starts_at"
    show_full_result_count = False


@admin.register(EsimProfile)
class EsimProfileAdmin(ReadOnlyAdmin):
    list_display = ["iccid", "state", "line", "batch", "assigned_at"]
    list_select_related = ["line", "batch"]
    list_filter = ["state", "batch"]
    search_fields = ["iccid", "imsi", "line__number"]
    phone_search_fields = ("line__number",)
    fields = ["iccid", "imsi", "smdp_address", "confirmation_code_required", "state", "line", "batch", "assigned_at"]
    exclude = [SECRET_FIELD]
    show_full_result_count = False


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "line", "kind", "amount_used", "destination", "charge", "record_id"]
    list_select_related = ["line"]
    list_filter = ["kind", "international"]
    search_fields = ["record_id", "line__number"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    @admin.display(description=_("used"), ordering="quantity")
    def amount_used(self, record: UsageRecord) -> str:
        return usage_quantity(record.kind, record.quantity)

    @admin.display(description=_("charge"), ordering="charge_ore")
    def charge(self, record: UsageRecord) -> str:
        return nok(record.charge_ore) if record.charge_ore else ""


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "line", "kind", "amount", "reference", "description", "created_by"]
    list_select_related = ["line", "created_by"]
    list_filter = ["kind"]
    search_fields = ["reference", "description", "line__number", "line__owner__email"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("amount"), ordering="amount_ore")
    def amount(self, entry: LedgerEntry) -> str:
        return nok(entry.amount_ore)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "line", "action", "from_status", "to_status", "actor", "reason"]
    list_select_related = ["line", "actor"]
    list_filter = ["action", "to_status"]
    search_fields = ["line__number", "actor__email", "reason"]
    phone_search_fields = ("line__number",)
    date_hierarchy = "created_at"
    show_full_result_count = False
