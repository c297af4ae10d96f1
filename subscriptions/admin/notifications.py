"""Messages to customers in the support admin: every line's messages (kind,
channel, when, state and why), the failed ones in a list of their own, and
"resend with a reason"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import ReasonActionsAdmin, staff
from subscriptions.admin.lines import LineRowsInline
from subscriptions.models import FailedNotification, Notification, NotificationState
from subscriptions.services.notifications import notification_resend

FIELDS: list[str] = [
    "created_at",
    "kind",
    "channel",
    "state",
    "why",
    "attempts",
    "not_before",
    "sent_at",
    "resent_from",
    "resend_reason",
    "created_by",
]


class NotificationInline(LineRowsInline):
    model = Notification
    verbose_name_plural = _("messages to the customer (newest 50)")
    fields = ["created_at", "kind", "channel", "step", "state", "why", "attempts", "sent_at"]
    readonly_fields = ["why"]
    newest_first = ("-created_at", "-id")

    @admin.display(description=_("why"))
    def why(self, notification: Notification) -> str:
        return notification.why


class ResendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the line's audit log with your name."),
    )


@admin.register(Notification)
class NotificationAdmin(ReasonActionsAdmin):
    list_display = ["created_at", "line", "owner", "kind", "channel", "state", "why", "attempts", "sent_at"]
    list_filter = ["state", "kind", "channel", "skip_reason"]
    list_select_related = ["line", "owner"]
    search_fields = ["line__number", "owner__email", "owner__phone", "claim_key"]
    phone_search_fields = ["line__number", "owner__phone"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ("owner", "line", "claim_key", "period_end", "step", "params", "error", *FIELDS)
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.resend_notification")

    @admin.display(description=_("why"))
    def why(self, notification: Notification) -> str:
        return notification.why

    @admin.action(permissions=["resend"], description=_("Resend the selected messages…"))
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> TemplateResponse | None:
        form = ResendForm(request.POST if "apply" in request.POST else None)
        rows = queryset.select_related("line", "owner").order_by("pk")
        if not form.is_bound or not form.is_valid():
            return self.reason_page(
                request,
                title=gettext("Resend messages"),
                form=form,
                action="resend",
                submit=gettext("Resend"),
                rows=rows,
                row_template="admin/subscriptions/includes/notification_row.html",
                applies_to=ngettext(
                    "This sends %(counter)s message again, as a new message:",
                    "This sends %(counter)s messages again, as new messages:",
                    len(rows),
                )
                % {"counter": len(rows)},
            )
        by = staff(request)
        done, _refused = self.apply_each(
            rows,
            lambda row: notification_resend(notification=row, reason=form.cleaned_data["reason"], by=by),
            refusal=lambda row, error: str(error),
        )
        count = len(done)
        self.message_user(
            request,
            ngettext("Queued %(count)d message again.", "Queued %(count)d messages again.", count) % {"count": count},
            messages.SUCCESS,
        )
        return None


@admin.register(FailedNotification)
class FailedNotificationAdmin(NotificationAdmin):
    """The messages that could not be delivered after every try."""

    list_filter = ["kind", "channel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).filter(state=NotificationState.FAILED)
