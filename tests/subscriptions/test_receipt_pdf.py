"""The receipt PDF: what a customer reads in it, in each language."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import translation
from pypdf import PdfReader

from subscriptions import receipt_pdf as receipt_pdf_module
from subscriptions.models import OrderKind, PaymentMethod, Receipt
from subscriptions.receipt_pdf import receipt_pdf
from tests.conftest import IN_CI
from tests.subscriptions.receipts import make_receipt, pdf_text

pytestmark = pytest.mark.django_db


def render(receipt: Receipt, language: str = "en") -> str:
    with translation.override(language):
        return pdf_text(receipt_pdf(receipt))


def test_it_renders_one_a4_page_titled_with_the_receipt_number():
    receipt = make_receipt()

    reader = PdfReader(io.BytesIO(receipt_pdf(receipt)))

    assert len(reader.pages) == 1
    assert (round(float(reader.pages[0].mediabox.width)), round(float(reader.pages[0].mediabox.height))) == (595, 842)
    assert reader.metadata is not None
    assert reader.metadata.title == "2026-000001"


def test_it_shows_the_seller_and_the_customer():
    text = render(make_receipt())

    assert "Receipt 2026-000001" in text
    for seller_line in (
        "Nordlys Mobil AS",
        "NO 929 384 756 MVA",
        "Storgata 1",
        "0155 Oslo",
        "kundeservice@nordlys.test",
    ):
        assert seller_line in text
    assert "Kari Nordmann" in text
    assert "Storgata 5" in text


def test_it_shows_what_was_bought_for_which_number_and_how_it_was_paid():
    text = render(make_receipt())

    assert "Fjord 10 GB" in text
    assert "+47 912 34 567" in text
    assert "Card" in text


def test_it_shows_the_issue_time_and_the_period_in_oslo_time():
    text = render(make_receipt(), "nb")

    assert "5. mars 2026 13:07" in text
    assert "5. april 2026 13:07" in text


def test_it_shows_net_vat_and_total_of_a_renewal():
    text = render(make_receipt())

    assert "Net amount" in text
    assert "NOK 159.20" in text
    assert "VAT 25 %" in text
    assert "NOK 39.80" in text
    assert "Total" in text
    assert "NOK 199.00" in text


def test_it_formats_the_amounts_the_norwegian_way_in_norwegian():
    text = render(make_receipt(), "nb")

    assert "159,20 kr" in text
    assert "39,80 kr" in text
    assert "199,00 kr" in text
    assert "Fjord 10 GB måned" in text


def test_it_shows_a_top_up_without_vat_and_says_when_vat_is_charged():
    text = render(make_receipt(kind=OrderKind.TOPUP, method=PaymentMethod.CARD))

    assert "Top-up of the prepaid balance" in text
    assert "VAT 0 %" in text
    assert "NOK 0.00" in text
    assert "VAT is charged when the balance is used." in text
    assert "NOK 200.00" in text
    assert "VAT 25 %" not in text


def test_it_says_a_renewal_paid_from_the_balance_was_paid_by_prepaid_balance():
    text = render(make_receipt(method=PaymentMethod.BALANCE))

    assert "Prepaid balance" in text


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_it_shows_a_chinese_name_in_every_language(language):
    text = render(make_receipt(customer_name="王小明"), language)

    assert "王小明" in text


def test_it_renders_a_valid_pdf_in_chinese():
    receipt = make_receipt(customer_name="王小明")

    with translation.override("zh-hans"):
        data = receipt_pdf(receipt)

    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "王小明" in text
    assert "峡湾 10 GB" in text
    assert "199.00 克朗" in text
    assert "2026年3月5日 13:07" in text


def test_it_prints_markup_in_a_name_as_typed():
    text = render(make_receipt(customer_name="Dahl & <Sønner> AS"))

    assert "Dahl & <Sønner> AS" in text


def test_it_shows_the_amount_paid_even_after_the_plan_price_changes():
    receipt = make_receipt()
    assert receipt.plan is not None
    receipt.plan.price_ore = 299_00
    receipt.plan.save(update_fields=["price_ore"])
    receipt.refresh_from_db()

    text = render(receipt)

    assert "NOK 199.00" in text
    assert "NOK 299.00" not in text


def page_fonts(data: bytes) -> dict[str, Any]:
    """Each font the page uses, by its PDF name, with its font descriptor
    (a Type 0 font keeps it on its descendant)."""
    fonts = {}
    for font in PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor_holder = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        fonts[str(font["/BaseFont"])] = descriptor_holder.get("/FontDescriptor")
    return fonts


@pytest.mark.skipif(
    not IN_CI and not (receipt_pdf_module.CJK_FONT_FILE.is_file() and receipt_pdf_module.LATIN_FONT_FILE.is_file()),
    reason="needs the Debian packages fonts-wqy-microhei and fonts-dejavu-core (.ci/run installs them)",
)
@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_it_embeds_every_font_it_uses_so_each_viewer_shows_the_same_letters(language):
    receipt = make_receipt(customer_name="王小明 Ærlig Øvre-Ås")

    with translation.override(language):
        data = receipt_pdf(receipt)

    fonts = page_fonts(data)
    # Regular and bold Latin, and the Chinese font (the name is Chinese in every language).
    assert len(fonts) == 3, fonts
    not_embedded = [name for name, descriptor in fonts.items() if descriptor is None or "/FontFile2" not in descriptor]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"
    assert "王小明 Ærlig Øvre-Ås" in pdf_text(data)


def test_without_the_font_files_it_falls_back_to_the_built_in_fonts_and_says_so(tmp_path, caplog):
    missing = tmp_path / "missing.ttf"

    with caplog.at_level("WARNING", logger="subscriptions.receipt_pdf"):
        fonts = receipt_pdf_module.register_fonts(latin=missing, latin_bold=missing, cjk=missing)

    assert fonts == ("Helvetica", "Helvetica-Bold", "STSong-Light")
    assert "receipt PDFs use Helvetica, not embedded" in caplog.text
    assert "receipt PDFs set Chinese in STSong-Light, not embedded" in caplog.text
