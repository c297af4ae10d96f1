"""A receipt as a one-page A4 PDF, in the active language (the caller wraps
the call in ``translation.override(user.language)``).

Text is set in DejaVu Sans and each run of Chinese (East Asian wide)
characters in WenQuanYi Micro Hei, both TrueType fonts embedded as subsets
(the glyphs used), so every PDF viewer shows the receipt with the same
letters; Chinese names (王小明) appear on receipts in any language. The fonts
come from the Debian packages fonts-dejavu-core and fonts-wqy-microhei. On a
machine without them the receipt falls back, with a warning in the log, to
Helvetica and reportlab's CID font STSong-Light, which viewers supply
themselves (never embedded, so each viewer substitutes its own).
"""

from __future__ import annotations

import io
import itertools
import logging
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

from django.utils import formats
from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

from accounts.phone import format_phone
from subscriptions.formatting import format_nok
from subscriptions.models import OrderKind, Receipt
from subscriptions.periods import OSLO

logger = logging.getLogger(__name__)

LATIN_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LATIN_BOLD_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# A TrueType collection: its first face is the proportional one. (Noto Sans
# CJK, the other common choice, has CFF outlines, which reportlab cannot embed.)
CJK_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class ReceiptFonts(NamedTuple):
    regular: str
    bold: str
    cjk: str


def register_fonts(*, latin: Path, latin_bold: Path, cjk: Path) -> ReceiptFonts:
    """Registers the embedded fonts the receipt is set in, or the built-in
    ones for any file this machine lacks (logged: such receipts look different
    in different viewers)."""
    if latin.is_file() and latin_bold.is_file():
        regular, bold = "ReceiptSans", "ReceiptSans-Bold"
        pdfmetrics.registerFont(TTFont(regular, str(latin)))
        pdfmetrics.registerFont(TTFont(bold, str(latin_bold)))
        pdfmetrics.registerFontFamily(regular, normal=regular, bold=bold, italic=regular, boldItalic=bold)
    else:
        logger.warning("receipt PDFs use Helvetica, not embedded: %s or %s is missing", latin, latin_bold)
        regular, bold = "Helvetica", "Helvetica-Bold"
    if cjk.is_file():
        chinese = "ReceiptCJK"
        pdfmetrics.registerFont(TTFont(chinese, str(cjk), subfontIndex=0))
    else:
        logger.warning("receipt PDFs set Chinese in STSong-Light, not embedded: %s is missing", cjk)
        chinese = "STSong-Light"
        pdfmetrics.registerFont(UnicodeCIDFont(chinese))
    # A Chinese run inside bold text (a heading, the total) stays in the one weight there is.
    pdfmetrics.registerFontFamily(chinese, normal=chinese, bold=chinese, italic=chinese, boldItalic=chinese)
    return ReceiptFonts(regular=regular, bold=bold, cjk=chinese)


FONTS = register_fonts(latin=LATIN_FONT_FILE, latin_bold=LATIN_BOLD_FONT_FILE, cjk=CJK_FONT_FILE)

MARGIN = 20 * mm
WIDTH = A4[0] - 2 * MARGIN
GREY = colors.HexColor("#555555")

BODY = ParagraphStyle("body", fontName=FONTS.regular, fontSize=10, leading=14)
BOLD = ParagraphStyle("bold", parent=BODY, fontName=FONTS.bold)
LABEL = ParagraphStyle("label", parent=BODY, textColor=GREY)
NOTE = ParagraphStyle("note", parent=BODY, fontSize=9, leading=12, textColor=GREY)
TITLE = ParagraphStyle("title", parent=BODY, fontName=FONTS.bold, fontSize=18, leading=24)
AMOUNT = ParagraphStyle("amount", parent=BODY, alignment=TA_RIGHT)
TOTAL = ParagraphStyle("total", parent=BOLD, alignment=TA_RIGHT)
# Tables line up with the margins, like the paragraphs around them, and name
# the receipt's font for their cells (a table sets its cells' font even when
# a paragraph inside sets its own, and would list Helvetica on the page).
FLUSH = [
    ("LEFTPADDING", (0, 0), (0, -1), 0),
    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
    ("FONTNAME", (0, 0), (-1, -1), FONTS.regular),
]


def receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt as PDF bytes, titled with its number. Everything on it is
    the receipt's own copy of the facts at payment (the plan's name, the
    seller), so a receipt downloaded years later reads as it did then."""
    seller = receipt.seller
    title = gettext("Receipt %(number)s") % {"number": receipt.number}
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=receipt.number,
        subject=title,
        author=seller["name"],
        creator=seller["name"],
        # The font each page starts in is listed on it even if no text uses
        # it: the embedded one, so no font on the receipt is left to the viewer.
        initialFontName=FONTS.regular,
    )
    # One frame without padding, so text and tables share the margins exactly.
    frame = Frame(
        MARGIN, MARGIN, WIDTH, A4[1] - 2 * MARGIN, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    document.addPageTemplates([PageTemplate(frames=[frame])])
    document.build(
        [
            _para(title, TITLE),
            _para(gettext("Issued %(moment)s") % {"moment": oslo_datetime(receipt.issued_at)}, LABEL),
            Spacer(0, 8 * mm),
            _parties_table(receipt),
            Spacer(0, 8 * mm),
            _purchase_table(receipt),
            Spacer(0, 8 * mm),
            _amounts_table(receipt),
            Spacer(0, 10 * mm),
            _para(gettext("Times are Norwegian time (Europe/Oslo)."), NOTE),
        ]
    )
    return buffer.getvalue()


def _parties_table(receipt: Receipt) -> Table:
    seller = receipt.seller
    seller_lines = [
        str(seller["name"]),
        gettext("Organisation number %(number)s") % {"number": seller["organisation_number"]},
        *seller["address"],
        str(seller["email"]),
    ]
    customer_lines = [receipt.customer_name, *receipt.address_lines]
    table = Table(
        [
            [_para(gettext("Seller"), BOLD), _para(gettext("Customer"), BOLD)],
            [_para_lines(seller_lines), _para_lines(customer_lines)],
        ],
        colWidths=[WIDTH / 2, WIDTH / 2],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *FLUSH]))
    return table


def _purchase_table(receipt: Receipt) -> Table:
    """What was bought for which number, and how it was paid."""
    rows = [
        [gettext("Phone number"), format_phone(receipt.line_number)],
        [gettext("Bought"), receipt_purchase(receipt)],
    ]
    if receipt.kind == OrderKind.RENEWAL and receipt.period_starts_at and receipt.period_ends_at:
        period = gettext("%(start)s to %(end)s") % {
            "start": oslo_datetime(receipt.period_starts_at),
            "end": oslo_datetime(receipt.period_ends_at),
        }
        rows.append([gettext("Period"), period])
    rows.append([gettext("Paid by"), receipt.method_label])
    table = Table([[_para(label, LABEL), _para(value)] for label, value in rows], colWidths=[45 * mm, WIDTH - 45 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *FLUSH]))
    return table


def _amounts_table(receipt: Receipt) -> Table:
    """Net, VAT and total. A top-up carries no VAT: it is charged when the
    balance is spent, and the receipt says so under the VAT line."""
    vat_label = gettext("VAT %(rate)s %%") % {"rate": receipt.vat_rate_percent}
    rows: list[list[Flowable | str]] = []
    if receipt.discount_ore:
        # VAT is on the price after the discount: the rows below show it so.
        rows += [
            [_para(gettext("Price")), _para(format_nok(receipt.total_ore + receipt.discount_ore), AMOUNT)],
            [_para(gettext("Discount")), _para("\u2212" + format_nok(receipt.discount_ore), AMOUNT)],
        ]
    rows += [
        [_para(gettext("Net amount")), _para(format_nok(receipt.net_ore), AMOUNT)],
        [_para(vat_label), _para(format_nok(receipt.vat_ore), AMOUNT)],
    ]
    if receipt.kind == OrderKind.TOPUP:
        rows.append([_para(gettext("VAT is charged when the balance is used."), NOTE), ""])
    rows.append([_para(gettext("Total"), BOLD), _para(format_nok(receipt.total_ore), TOTAL)])
    table = Table(rows, colWidths=[WIDTH - 50 * mm, 50 * mm])
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 0.5, GREY),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, GREY),
                ("LINEBELOW", (0, -1), (-1, -1), 1, colors.black),
                *FLUSH,
            ]
        )
    )
    return table


def receipt_purchase(receipt: Receipt) -> str:
    """What was bought, in the active language: the plan, or the top-up."""
    if receipt.kind == OrderKind.TOPUP:
        return gettext("Top-up of the prepaid balance")
    return receipt.plan_name or receipt.get_kind_display()


def oslo_datetime(moment: datetime) -> str:
    """A moment as Oslo wall-clock time, in the active language's format."""
    return formats.date_format(moment.astimezone(OSLO), "DATETIME_FORMAT")


def _para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(_markup(text), style)


def _para_lines(lines: list[str], style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph("<br/>".join(_markup(line) for line in lines), style)


def _markup(text: str) -> str:
    """Paragraph markup for plain text: escaped, with each run of East Asian
    wide characters in the CJK font (the Latin one has no glyphs for them)."""
    runs = []
    for wide, chars in itertools.groupby(text, key=lambda ch: unicodedata.east_asian_width(ch) in ("W", "F")):
        run = escape("".join(chars))
        runs.append(f'<font face="{FONTS.cjk}">{run}</font>' if wide else run)
    return "".join(runs)
