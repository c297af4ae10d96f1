"""Texts customers sent to the service number, and the numbers that
stopped our texts: support look, the services write."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import ReadOnlyAdmin
from subscriptions.models import InboundSms, TextsStop
from subscriptions.sms_commands import text_masked


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "sender", "line", "text_shown", "command", "status", "answered_at"]
    list_select_related = ["line"]
    list_filter = ["status", "command"]
    search_fields = ["message_id"]
    phone_search_fields = ("sender",)
    search_help_text = _("The number that sent it, or the gateway's message id.")
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = ("received_at", "message_id", "sender", "line", "text_shown", "command", "status", "reply", "answered_at")
    readonly_fields = fields

    @admin.display(description=_("text"))
    def text_shown(self, inbound: InboundSms) -> str:
        # A code not yet masked (the text not yet answered) is not shown whole either.
        return text_masked(inbound.text)


@admin.register(TextsStop)
class TextsStopAdmin(ReadOnlyAdmin):
    list_display = ["number", "stopped_at"]
    phone_search_fields = ("number",)
    search_fields = ["number"]
    fields = ("number", "stopped_at")
    readonly_fields = fields
