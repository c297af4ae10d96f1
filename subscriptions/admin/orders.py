"""Support staff's view of orders, what the payment providers told us, and
receipts. All read-only: money moves only through the services. The one
action, refunding a payment flagged ``refund_due``, calls the provider
through subscriptions.services.refunds and needs the refund permission."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.admin.base import ReadOnlyAdmin, nok
from subscriptions.errors import CustomerError
from subscriptions.models import EventResult, Order, PaymentEvent, Receipt
from subscriptions.services.refunds import payment_refund


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    fields = ("received_at", "provider", "event_id", "state", "amount_ore", "reason", "result", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "created_at", "owner", "line", "kind", "amount", "paid_by", "status", "receipt_number"]
    list_filter = ["status", "kind", "method", "provider"]
    list_select_related = ["owner", "line", "receipt"]
    search_fields = ["public_id", "provider_payment_id", "owner__email", "owner__full_name", "billing_name"]
    phone_search_fields = ["line__number", "owner__phone"]
    date_hierarchy = "created_at"
    # "paid by" in the method's place: a Vipps agreement's charge is not a "saved card".
    readonly_fields = [("paid_by" if field.name == "method" else field.name) for field in Order._meta.fields]
    exclude = ["method"]
    inlines = [PaymentEventInline]

    @admin.display(description=_("amount"), ordering="amount_ore")
    def amount(self, order: Order) -> str:
        return nok(order.amount_ore)

    @admin.display(description=_("paid by"), ordering="method")
    def paid_by(self, order: Order) -> str:
        return order.method_label

    @admin.display(description=_("receipt"))
    def receipt_number(self, order: Order) -> str:
        receipt = getattr(order, "receipt", None)
        return receipt.number if receipt else "–"


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "payment_id", "state", "amount", "result", "order", "note"]
    list_filter = ["result", "state", "provider"]
    list_select_related = ["order"]
    search_fields = ["event_id", "payment_id", "order__public_id"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in PaymentEvent._meta.fields]
    actions = ["refund"]

    @admin.display(description=_("amount"), ordering="amount_ore")
    def amount(self, event: PaymentEvent) -> str:
        return nok(event.amount_ore)

    @admin.action(description=_("Refund the selected payments flagged for a refund"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[PaymentEvent]) -> None:
        assert isinstance(request.user, User)
        done = 0
        for event in queryset.filter(result=EventResult.REFUND_DUE):
            try:
                payment_refund(event=event, by=request.user)
            except CustomerError as error:
                self.message_user(request, f"{event.payment_id}: {error}", messages.ERROR)
            else:
                done += 1
        skipped = queryset.exclude(result__in=[EventResult.REFUND_DUE, EventResult.REFUNDED]).count()
        if done:
            self.message_user(
                request, ngettext("%(n)d payment refunded.", "%(n)d payments refunded.", done) % {"n": done}
            )
        if skipped:
            self.message_user(request, gettext("Payments not flagged for a refund were left alone."), messages.WARNING)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.refund_payment")


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    """A receipt as issued: what it says (the plan's name and the seller are
    its own copies from the moment of payment) and whether its email left."""

    list_display = [
        "number",
        "issued_at",
        "customer_name",
        "line_number",
        "kind",
        "plan_name",
        "paid_by",
        "total",
        "vat",
        "emailed_at",
    ]
    list_filter = ["year", "kind", "method"]
    search_fields = ["customer_name", "owner__email", "order__public_id"]
    phone_search_fields = ["line_number", "owner__phone"]
    date_hierarchy = "issued_at"
    fieldsets = [
        (None, {"fields": ["number", "issued_at", "order", "owner", "kind", "paid_by"]}),
        (_("Customer"), {"fields": ["customer_name", "customer_address", "line_number"]}),
        (
            _("Bought"),
            {
                "fields": [
                    "plan",
                    "plan_name_en",
                    "plan_name_nb",
                    "plan_name_zh_hans",
                    "period_starts_at",
                    "period_ends_at",
                ]
            },
        ),
        (_("Amounts"), {"fields": ["discount_ore", "total_ore", "vat_ore", "vat_rate_percent"]}),
        (_("Seller"), {"fields": ["seller_lines"]}),
        (_("Receipt email"), {"fields": ["email_queued_at", "emailed_at"]}),
    ]
    readonly_fields = ["number", "seller_lines", "paid_by", *(field.name for field in Receipt._meta.fields)]
    list_select_related = ["order"]

    @admin.display(description=_("paid by"), ordering="method")
    def paid_by(self, receipt: Receipt) -> str:
        return receipt.method_label

    @admin.display(description=_("number"))
    def number(self, receipt: Receipt) -> str:
        return receipt.number

    @admin.display(description=_("seller"))
    def seller_lines(self, receipt: Receipt) -> str:
        """The seller as the PDF prints it, a line each."""
        seller = receipt.seller
        lines = [
            seller["name"],
            gettext("Organisation number %(number)s") % {"number": seller["organisation_number"]},
            *seller["address"],
            seller["email"],
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description=_("plan"))
    def plan_name(self, receipt: Receipt) -> str:
        return receipt.plan_name or "–"

    @admin.display(description=_("total"), ordering="total_ore")
    def total(self, receipt: Receipt) -> str:
        return nok(receipt.total_ore)

    @admin.display(description=_("VAT"))
    def vat(self, receipt: Receipt) -> str:
        return nok(receipt.vat_ore)
