"""The eSIM activation code and its QR code. Nothing here can decode a QR
code, so the tests check the LPA string itself, the image formats and their
size, and that a field with a "$" is refused."""

import io
import re
import struct

import pytest
import segno
from PIL import Image

from subscriptions.esim_qr import BORDER, ERROR_CORRECTION, SCALE, esim_activation_code, esim_qr_png, esim_qr_svg
from tests.factories import EsimProfileFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CODE = "LPA:1$smdp.nordlys.test$MATCH-00000001-SECRET"


def test_it_writes_the_lpa_string_from_the_profile():
    profile = EsimProfileFactory.build(smdp_address="smdp.nordlys.test", matching_id="MATCH-00000001-SECRET")

    assert esim_activation_code(profile) == CODE


def test_it_flags_a_confirmation_code_in_the_fifth_field_without_the_code():
    profile = EsimProfileFactory.build(
        smdp_address="smdp.nordlys.test", matching_id="ABCD-1234", confirmation_code_required=True
    )

    code = esim_activation_code(profile)

    assert code == "LPA:1$smdp.nordlys.test$ABCD-1234$$1"
    assert code.split("$")[3] == ""  # no SM-DP+ OID


@pytest.mark.parametrize(
    "fields", [{"smdp_address": "smdp$nordlys.test"}, {"matching_id": "ABCD$1234"}, {"matching_id": "$"}]
)
def test_it_refuses_a_field_with_a_dollar_sign(fields):
    profile = EsimProfileFactory.build(**fields)

    with pytest.raises(ValueError, match=r"\$"):
        esim_activation_code(profile)


def test_it_refuses_a_profile_without_an_smdp_address():
    with pytest.raises(ValueError, match="SM-DP"):
        esim_activation_code(EsimProfileFactory.build(smdp_address=""))


def test_the_png_is_a_png_of_a_whole_qr_code():
    png = esim_qr_png(CODE)

    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    assert width == height
    modules = width // SCALE - 2 * BORDER
    assert width % SCALE == 0
    assert modules >= 21 and (modules - 17) % 4 == 0  # a QR version's side: 21, 25, 29, ...


def test_the_svg_is_a_standalone_svg_document_of_the_same_size():
    svg = esim_qr_svg(CODE)
    png = esim_qr_png(CODE)

    assert svg.startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert svg.rstrip().endswith("</svg>")
    size = struct.unpack(">I", png[16:20])[0]
    assert re.search(rf'width="{size}" height="{size}"', svg)


def test_the_same_code_always_draws_the_same_image():
    assert esim_qr_png(CODE) == esim_qr_png(CODE)
    assert esim_qr_svg(CODE) == esim_qr_svg(CODE)


def test_a_longer_code_makes_a_larger_qr_code():
    longer = "LPA:1$smdp.nordlys.test$" + "-".join(["ABCD1234"] * 8)

    assert struct.unpack(">I", esim_qr_png(longer)[16:20])[0] > struct.unpack(">I", esim_qr_png(CODE)[16:20])[0]


@pytest.mark.parametrize("code", ["1$smdp.nordlys.test$ABCD", "https://example.com", ""])
def test_it_draws_only_activation_codes(code):
    with pytest.raises(ValueError):
        esim_qr_png(code)
    with pytest.raises(ValueError):
        esim_qr_svg(code)


def test_the_png_has_exactly_the_pixels_segno_itself_would_draw():
    """Pillow writes the PNG; the picture is segno's QR code, module for module."""
    ours = Image.open(io.BytesIO(esim_qr_png(CODE))).convert("L")
    segnos_png = io.BytesIO()
    segno.make_qr(CODE, error=ERROR_CORRECTION).save(segnos_png, kind="png", scale=SCALE, border=BORDER)
    segnos = Image.open(io.BytesIO(segnos_png.getvalue())).convert("L")

    assert ours.size == segnos.size
    assert ours.tobytes() == segnos.tobytes()
    assert set(ours.tobytes()) == {0, 255}
