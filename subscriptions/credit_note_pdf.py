"""A credit note as a one-page A4 PDF, set like the receipts (the same
fonts and styles, subscriptions/receipt_pdf.py), in the active language."""

from __future__ import annotations

import io

from django.utils.translation import gettext
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Spacer, Table, TableStyle

from accounts.phone import format_phone
from subscriptions.bank_accounts import bank_account_format
from subscriptions.formatting import format_nok
from subscriptions.models import CreditNote
from subscriptions.receipt_pdf import (
    BOLD,
    FLUSH,
    FONTS,
    LABEL,
    MARGIN,
    NOTE,
    TITLE,
    TOTAL,
    WIDTH,
    _para,
    _para_lines,
    oslo_datetime,
)


def credit_note_pdf(note: CreditNote) -> bytes:
    """The credit note as PDF bytes: the seller and customer as they were
    when it was issued, the number, and the amount to be paid back."""
    seller = note.seller
    title = gettext("Credit note %(number)s") % {"number": note.number}
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=note.number,
        subject=title,
        author=seller["name"],
        creator=seller["name"],
        initialFontName=FONTS.regular,
    )
    frame = Frame(
        MARGIN, MARGIN, WIDTH, A4[1] - 2 * MARGIN, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    document.addPageTemplates([PageTemplate(frames=[frame])])
    seller_lines = [
        str(seller["name"]),
        gettext("Organisation number %(number)s") % {"number": seller["organisation_number"]},
        *seller["address"],
        str(seller["email"]),
    ]
    parties = Table(
        [
            [_para(gettext("Seller"), BOLD), _para(gettext("Customer"), BOLD)],
            [_para_lines(seller_lines), _para_lines([note.customer_name])],
        ],
        colWidths=[WIDTH / 2, WIDTH / 2],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *FLUSH]))
    account = bank_account_format(note.bank_account) if note.bank_account else gettext("the account you give us")
    facts = Table(
        [
            [_para(gettext("Phone number"), LABEL), _para(format_phone(note.line_number))],
            [_para(gettext("For"), LABEL), _para(gettext("The prepaid balance of a cancelled line"))],
            [_para(gettext("Paid back to"), LABEL), _para(account)],
        ],
        colWidths=[45 * mm, WIDTH - 45 * mm],
    )
    facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *FLUSH]))
    amounts = Table(
        [[_para(gettext("Amount credited"), BOLD), _para(format_nok(note.amount_ore), TOTAL)]],
        colWidths=[WIDTH - 50 * mm, 50 * mm],
    )
    amounts.setStyle(TableStyle(FLUSH))
    document.build(
        [
            _para(title, TITLE),
            _para(gettext("Issued %(moment)s") % {"moment": oslo_datetime(note.issued_at)}, LABEL),
            Spacer(0, 8 * mm),
            parties,
            Spacer(0, 8 * mm),
            facts,
            Spacer(0, 8 * mm),
            amounts,
            Spacer(0, 4 * mm),
            _para(gettext("A prepaid balance carries no VAT: VAT is charged when the balance is used."), NOTE),
            _para(gettext("Times are Norwegian time (Europe/Oslo)."), NOTE),
        ]
    )
    return buffer.getvalue()
