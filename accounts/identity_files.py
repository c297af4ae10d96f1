"""What an uploaded identity document file is, judged by its content: never
by its name or the content type the browser sent, both of which the sender
chooses.

A JPEG or PNG photo is opened with Pillow, its size in pixels checked
before any decoding (a small file can declare a huge picture), decoded,
turned upright and encoded again: what is stored is our own encoding, with
no EXIF (location, camera, time) or other metadata of the original. A PDF
must parse with pypdf and have a page; it is stored as it came.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pypdf
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf"}
SIGNATURES = [(b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG), (b"%PDF-", PDF)]
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
JPEG_QUALITY = 90


class DocumentFileRefused(ValueError):
    """The upload is not a file we take; ``str()`` is translated, for the form."""


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: what will be stored, and its type."""

    content: bytes
    content_type: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def document_file_check(upload: UploadedFile) -> CheckedFile:
    """The upload as it will be stored, or DocumentFileRefused saying why."""
    size = upload.size or 0
    if size == 0:
        raise DocumentFileRefused(_("The file is empty. Choose the photo or PDF of your document again."))
    limit = settings.IDENTITY_DOCUMENT_MAX_BYTES
    if size > limit:
        raise DocumentFileRefused(
            _("The file is larger than %(size)d MB. Take a smaller photo, or scan at a lower resolution.")
            % {"size": limit // (1024 * 1024)}
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:  # the size the upload claimed was not the size it had
        raise DocumentFileRefused(
            _("The file is larger than %(size)d MB. Take a smaller photo, or scan at a lower resolution.")
            % {"size": limit // (1024 * 1024)}
        )
    content_type = sniff(content)
    if content_type is None:
        raise DocumentFileRefused(_("This file is not a photo (JPEG or PNG) or a PDF. Upload one of those."))
    if content_type == PDF:
        return CheckedFile(content=pdf_check(content), content_type=PDF)
    return CheckedFile(content=image_reencode(content, content_type), content_type=content_type)


def sniff(content: bytes) -> str | None:
    """The type the file's first bytes say it is, if it is one we take."""
    for signature, content_type in SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def image_reencode(content: bytes, content_type: str) -> bytes:
    """The photo decoded and encoded again without its metadata."""
    unreadable = _("This picture could not be read. It may be damaged; take the photo again.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; ours is stricter anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            if image.format != PILLOW_FORMATS[content_type]:
                raise DocumentFileRefused(unreadable)
            width, height = image.size
            if width * height > settings.IDENTITY_DOCUMENT_MAX_PIXELS:
                raise DocumentFileRefused(
                    _("This picture is too large (%(width)d × %(height)d pixels). Take a photo at a lower resolution.")
                    % {"width": width, "height": height}
                )
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        if isinstance(error, DocumentFileRefused):
            raise
        raise DocumentFileRefused(unreadable) from error
    except Image.DecompressionBombWarning as error:
        raise DocumentFileRefused(unreadable) from error
    # A new image holding only the pixels: nothing of the original's info
    # (EXIF, XMP, ICC profile, text chunks) can travel along.
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    if upright.mode == "P":
        clean.putpalette(upright.getpalette() or [])
    output = io.BytesIO()
    if content_type == JPEG:
        if clean.mode not in ("RGB", "L"):
            clean = clean.convert("RGB")
        clean.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        clean.save(output, format="PNG", optimize=True)
    return output.getvalue()


def pdf_check(content: bytes) -> bytes:
    """The PDF, if pypdf reads it and it has at least one page."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise DocumentFileRefused(
                _("This PDF is protected by a password. Save it without the password, or upload a photo.")
            )
        pages = len(reader.pages)
    except DocumentFileRefused:
        raise
    except Exception as error:  # pypdf raises many kinds for many kinds of damage
        raise DocumentFileRefused(
            _("This file is not a readable PDF. Save the PDF again, or upload a photo of the document.")
        ) from error
    if pages == 0:
        raise DocumentFileRefused(
            _("This file is not a readable PDF. Save the PDF again, or upload a photo of the document.")
        )
    return content
