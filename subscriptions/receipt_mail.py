"""The receipt email: a short note in the customer's language with the
receipt's PDF attached."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from accounts.phone import format_phone
from subscriptions.models import OrderKind, Receipt
from subscriptions.receipt_pdf import oslo_datetime, receipt_pdf, receipt_purchase


def receipt_email(receipt: Receipt, *, receipts_url: str) -> EmailMessage | None:
    """The email for a receipt, to its owner, with ``receipt-<number>.pdf``
    attached; built in the active language, so the caller wraps the call in
    ``translation.override(owner.language)``. ``receipts_url`` is the absolute
    address of the receipts page.

    Returns None when the owner has no email address (an account made with a
    phone number only): there is nothing to send, the caller does nothing, and
    the receipt stays on the receipts page.
    """
    owner = receipt.owner
    if not owner.email:
        return None
    renewed_until = receipt.period_ends_at if receipt.kind == OrderKind.RENEWAL else None
    context = {
        "receipt": receipt,
        "name": owner.full_name or receipt.customer_name,
        "purchase": receipt_purchase(receipt),
        "phone": format_phone(receipt.line_number),
        "renewed_until": oslo_datetime(renewed_until) if renewed_until else "",
        "receipts_url": receipts_url,
    }
    message = EmailMessage(
        subject=render_to_string("emails/receipt_subject.txt", context).strip(),
        body=render_to_string("emails/receipt_message.txt", context),
        from_email=None,
        to=[owner.email],
    )
    message.attach(f"receipt-{receipt.number}.pdf", receipt_pdf(receipt), "application/pdf")
    return message
