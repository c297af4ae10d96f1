"""The customer's identity document page: uploading a passport, ID card or
residence card, what the checks refuse (each with a translated error, the
rest of the form kept), and the status of what was uploaded."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image

from accounts.models import IdentityDocument, PrivateStorage
from tests.factories import UserFactory
from tests.identity_files import (
    EXIF_GPS,
    EXIF_MAKE,
    gif_bytes,
    good_jpeg,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    upload,
)

pytestmark = pytest.mark.django_db

URL = "/account/identity/"


def send(client, file, *, kind="residence_card", purpose="replacement"):
    return client.post(URL, {"kind": kind, "purpose": purpose, "file": file})


def stored(document: IdentityDocument) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


# --- good files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type", "extension"),
    [
        ("Kari Nordmann pass.jpg", jpeg_bytes(), "image/jpeg", ".jpg"),
        ("IMG_0042.PNG", png_bytes(), "image/png", ".png"),
        ("scan.pdf", pdf_bytes(), "application/pdf", ".pdf"),
    ],
)
def test_a_photo_or_pdf_is_stored_pending_under_a_random_name(
    signed_in, customer, name, content, content_type, extension
):
    response = send(signed_in, upload(name, content, "application/octet-stream"))

    assert response.status_code == 302
    document = IdentityDocument.objects.get(owner=customer)
    assert (document.status, document.kind, document.purpose) == ("pending", "residence_card", "replacement")
    assert document.content_type == content_type
    assert re.fullmatch(rf"identity/[0-9a-f]{{32}}\{extension}", document.file.name)
    assert "Kari" not in document.file.name and "IMG" not in document.file.name
    assert Path(settings.PRIVATE_MEDIA_ROOT, document.file.name).is_file()
    assert document.size == len(stored(document))
    page = signed_in.get(URL).content.decode()
    assert "Waiting for review" in page


def test_a_pdf_is_stored_as_it_came(signed_in, customer):
    content = pdf_bytes()
    send(signed_in, upload("scan.pdf", content))

    assert stored(IdentityDocument.objects.get(owner=customer)) == content


def test_a_photo_is_encoded_again_without_its_exif(signed_in, customer):
    original = jpeg_bytes(with_exif=True)
    assert Image.open(io.BytesIO(original)).getexif()[EXIF_MAKE] == "PhoneCam"

    send(signed_in, upload("me.jpg", original, "image/jpeg"))

    kept = stored(IdentityDocument.objects.get(owner=customer))
    assert kept != original
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert image.size == (64, 40)
    assert not image.getexif()
    assert "exif" not in image.info
    assert b"PhoneCam" not in kept
    assert not image.getexif().get_ifd(EXIF_GPS)


# --- bad files ------------------------------------------------------------------------


def refused(response) -> list[str]:
    return response.context["form"].errors.get("file", [])


BAD_FILES = {
    "a text file named .pdf": (
        upload("passport.pdf", b"my passport number is 123", "application/pdf"),
        "This file is not a photo (JPEG or PNG) or a PDF. Upload one of those.",
    ),
    "a GIF": (
        upload("passport.gif", gif_bytes(), "image/gif"),
        "This file is not a photo (JPEG or PNG) or a PDF. Upload one of those.",
    ),
    "an HTML page named .jpg": (
        upload("passport.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
        "This file is not a photo (JPEG or PNG) or a PDF. Upload one of those.",
    ),
    "an empty file": (
        upload("passport.jpg", b"", "image/jpeg"),
        "The file is empty. Choose the photo or PDF of your document again.",
    ),
    "a PDF that is not one": (
        upload("passport.pdf", b"%PDF-1.7\nthis is not really a pdf\n%%EOF", "application/pdf"),
        "This file is not a readable PDF. Save the PDF again, or upload a photo of the document.",
    ),
    "a JPEG cut short": (
        upload("passport.jpg", jpeg_bytes(size=(400, 300))[:300], "image/jpeg"),
        "This picture could not be read. It may be damaged; take the photo again.",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_FILES))
@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_a_bad_file_is_refused_in_the_customers_language_and_the_rest_of_the_form_kept(client, bad, language):
    client.force_login(UserFactory(language=language))
    file, message = BAD_FILES[bad]
    file.seek(0)

    response = send(client, file, kind="national_id", purpose="new_line")

    assert response.status_code == 200
    with translation.override(language):
        expected = translation.gettext(message)
    assert expected != message
    assert refused(response) == [expected]
    page = response.content.decode()
    assert re.search(r'<input[^>]*value="national_id"[^>]*checked', page)
    assert re.search(r'<option value="new_line" selected>', page)
    assert not IdentityDocument.objects.exists()
    assert not any(Path(settings.PRIVATE_MEDIA_ROOT).rglob("*.*"))


def test_a_file_over_ten_megabytes_is_refused(signed_in):
    big = upload("scan.pdf", pdf_bytes() + b"\0" * (10 * 1024 * 1024))

    response = send(signed_in, big)

    assert refused(response) == ["The file is larger than 10 MB. Take a smaller photo, or scan at a lower resolution."]
    assert not IdentityDocument.objects.exists()


def test_a_file_of_exactly_ten_megabytes_is_taken(signed_in):
    content = pdf_bytes()
    exactly = upload("scan.pdf", content + b"\n" * (10 * 1024 * 1024 - len(content)))

    assert send(signed_in, exactly).status_code == 302
    assert IdentityDocument.objects.count() == 1


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(signed_in, settings):
    settings.IDENTITY_DOCUMENT_MAX_PIXELS = 100 * 100

    response = send(signed_in, upload("huge.png", png_bytes(size=(200, 101))))

    assert refused(response) == ["This picture is too large (200 × 101 pixels). Take a photo at a lower resolution."]
    assert send(signed_in, upload("ok.png", png_bytes(size=(100, 100)))).status_code == 302


def test_a_password_protected_pdf_is_refused(signed_in):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.encrypt("secret")
    output = io.BytesIO()
    writer.write(output)

    response = send(signed_in, upload("scan.pdf", output.getvalue()))

    assert refused(response) == [
        "This PDF is protected by a password. Save it without the password, or upload a photo."
    ]


def test_a_missing_kind_or_purpose_is_asked_for_and_nothing_is_stored(signed_in):
    response = signed_in.post(URL, {"kind": "driving_licence", "file": good_jpeg()})

    form = response.context["form"]
    assert set(form.errors) == {"kind", "purpose"}
    assert not IdentityDocument.objects.exists()


# --- the upload limit -----------------------------------------------------------------


def test_a_customer_may_upload_five_documents_an_hour(signed_in, customer):
    for _ in range(5):
        assert send(signed_in, good_jpeg()).status_code == 302

    response = send(signed_in, good_jpeg())

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "You have uploaded 5 documents in the last hour. Try again in an hour."
    ]
    assert IdentityDocument.objects.filter(owner=customer).count() == 5
    assert len(list(Path(settings.PRIVATE_MEDIA_ROOT).rglob("*.jpg"))) == 5


def test_another_customers_uploads_do_not_count_against_the_limit(signed_in, customer, settings):
    settings.IDENTITY_DOCUMENT_UPLOADS_PER_HOUR = 1
    other = UserFactory()
    IdentityDocument.objects.create(owner=other, kind="passport", purpose="new_line", content_type="image/png", size=1)

    assert send(signed_in, good_jpeg()).status_code == 302


# --- what the customer sees --------------------------------------------------------------


def test_the_page_shows_each_status_and_never_the_file(signed_in, customer):
    from django.utils import timezone

    staff = UserFactory(is_staff=True)
    now = timezone.now()
    send(signed_in, good_jpeg())
    pending = IdentityDocument.objects.get(owner=customer)
    IdentityDocument.objects.create(
        owner=customer,
        kind="passport",
        purpose="new_line",
        content_type="image/png",
        size=1,
        status="rejected",
        reason="expired",
        decided_by=staff,
        decided_at=now,
    )
    IdentityDocument.objects.create(
        owner=customer,
        kind="national_id",
        purpose="cancellation",
        content_type="image/png",
        size=1,
        status="approved",
        decided_by=staff,
        decided_at=now,
        file_deleted_at=now,
    )

    page = signed_in.get(URL).content.decode()

    assert "Waiting for review" in page
    assert "Rejected" in page and "The document has expired." in page
    assert "Approved" in page and "The file was deleted on" in page
    assert pending.file.name not in page
    assert Path(pending.file.name).stem not in page
    detail = signed_in.get(f"{URL}{pending.pk}/").content.decode()
    assert Path(pending.file.name).stem not in detail


def test_another_customer_gets_a_404_for_a_document_not_theirs(signed_in, customer, stranger_client):
    send(signed_in, good_jpeg())
    document = IdentityDocument.objects.get(owner=customer)

    assert signed_in.get(f"{URL}{document.pk}/").status_code == 200
    assert stranger_client.get(f"{URL}{document.pk}/").status_code == 404
    assert stranger_client.get(f"/admin/accounts/identitydocument/{document.pk}/file/").status_code != 200
    their_page = stranger_client.get(URL).content.decode()
    assert "You have not uploaded a document." in their_page
    assert "data-id=" not in their_page


def test_a_visitor_is_sent_to_sign_in(client):
    assert client.get(URL)["Location"].startswith("/accounts/login/")


# --- no URL reaches the file -----------------------------------------------------------


def test_the_stored_file_has_no_url_and_no_public_path_serves_it(signed_in, customer, client):
    send(signed_in, good_jpeg())
    document = IdentityDocument.objects.get(owner=customer)
    name = document.file.name

    with pytest.raises(ValueError, match="no URL"):
        document.file.url  # noqa: B018
    assert isinstance(document.file.storage, PrivateStorage)
    private = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    for public in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert Path(public).resolve() not in private.parents
    for path in [f"/{name}", f"/media/{name}", f"/static/{name}", f"/private/{name}", f"/var/private/{name}"]:
        assert signed_in.get(path).status_code == 404, path


def test_a_flow_that_sent_the_customer_here_gets_them_back_after_the_upload(signed_in):
    response = signed_in.post(
        URL + "?for=replacement&next=/replacements/0b6f6a3e-7a3b-4d9e-9d55-3d7f3c1f6b0e/",
        {"kind": "residence_card", "purpose": "replacement", "file": good_jpeg()},
    )

    assert response.status_code == 302
    assert response["Location"] == "/replacements/0b6f6a3e-7a3b-4d9e-9d55-3d7f3c1f6b0e/"


def test_a_next_address_elsewhere_is_not_followed(signed_in):
    response = signed_in.post(
        URL + "?next=https://evil.example/phish",
        {"kind": "residence_card", "purpose": "replacement", "file": good_jpeg()},
    )

    assert response.status_code == 302
    assert response["Location"] == URL
