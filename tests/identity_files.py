"""Files a customer might upload as an identity document, made in memory:
good ones of each type we take, and the bad ones the checks refuse."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

# EXIF tags a phone writes: the camera's make and the GPS block.
EXIF_MAKE = 0x010F
EXIF_GPS = 0x8825


def jpeg_bytes(*, size: tuple[int, int] = (64, 40), with_exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    output = io.BytesIO()
    if with_exif:
        exif = Image.Exif()
        exif[EXIF_MAKE] = "PhoneCam"
        exif.get_ifd(EXIF_GPS)[2] = (59.0, 54.0, 0.0)  # latitude: Oslo
        image.save(output, format="JPEG", exif=exif.tobytes())
    else:
        image.save(output, format="JPEG")
    return output.getvalue()


def png_bytes(*, size: tuple[int, int] = (64, 40)) -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", size, (10, 100, 200, 255)).save(output, format="PNG")
    return output.getvalue()


def gif_bytes() -> bytes:
    output = io.BytesIO()
    Image.new("P", (20, 20)).save(output, format="GIF")
    return output.getvalue()


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def good_jpeg(name: str = "passport.jpg", **kwargs: object) -> SimpleUploadedFile:
    return upload(name, jpeg_bytes(**kwargs), "image/jpeg")  # type: ignore[arg-type]
