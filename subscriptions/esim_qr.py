"""The eSIM activation code (GSMA SGP.22) and its QR code, as PNG and SVG.

The code is ``LPA:1$<SM-DP+ address>$<matching ID>``; when the profile needs a
confirmation code, a fifth field ``1`` says so (the fourth, the SM-DP+ OID,
stays empty) and the code itself is sent separately, never put in the QR.
Fields are split on ``$``, so a field containing one is refused rather than
producing a code that installs another profile or none.

The matching ID is a secret: the code is never logged, and whoever renders it
checks first that the viewer may see it.
"""

from __future__ import annotations

import io

import segno
from PIL import Image

from subscriptions.models import EsimProfile

LPA_PREFIX = "LPA:"
FORMAT = "1"
# Medium error correction: read reliably off a phone screen or a print-out
# with a smudge; segno raises it further when the code fits the same size.
ERROR_CORRECTION = "m"
# Pixels (PNG) or user units (SVG) per module, and the quiet zone in modules.
SCALE = 8
BORDER = 4


def esim_activation_code(profile: EsimProfile) -> str:
    """The LPA string that goes into the QR code; ValueError if a field
    cannot be written into one."""
    if not profile.smdp_address:
        raise ValueError("an activation code needs an SM-DP+ address")
    fields = [FORMAT, profile.smdp_address, profile.matching_id]
    if profile.confirmation_code_required:
        fields += ["", "1"]
    if any("$" in field for field in fields):
        raise ValueError("a field of an activation code may not contain '$'")
    return LPA_PREFIX + "$".join(fields)


def _qr(code: str) -> segno.QRCode:
    if not code.startswith(LPA_PREFIX):
        raise ValueError("not an LPA activation code")
    return segno.make_qr(code, error=ERROR_CORRECTION)


def esim_qr_png(code: str) -> bytes:
    """The QR code as a black-on-white PNG image, one bit a pixel.

    segno draws the modules; Pillow scales and compresses them. The same
    pixels as segno's own PNG writer, in a third of its time (segno's is
    pure Python, row by row at full scale)."""
    rows = [bytes(0 if dark else 255 for dark in row) for row in _qr(code).matrix_iter(scale=1, border=BORDER)]
    size = (len(rows[0]), len(rows))
    modules = Image.frombytes("L", size, b"".join(rows))
    image = modules.resize((size[0] * SCALE, size[1] * SCALE), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(buffer, format="PNG")
    return buffer.getvalue()


def esim_qr_svg(code: str) -> str:
    """The QR code as a standalone SVG document without an XML declaration,
    so it can be served as a file or placed inside a page."""
    buffer = io.BytesIO()
    _qr(code).save(buffer, kind="svg", scale=SCALE, border=BORDER, xmldecl=False)
    return buffer.getvalue().decode()
