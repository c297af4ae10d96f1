"""The admin's upload pages for eSIM inventory and CDR files."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from subscriptions.models import CdrImport, EsimProfile, InventoryBatch, UsageRecord
from tests.factories import InventoryBatchFactory, LineFactory, UserFactory
from tests.subscriptions.import_files import at, cdr_file, profile_row, vendor_file
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

INVENTORY_UPLOAD = "/admin/subscriptions/inventorybatch/upload/"
CDR_UPLOAD = "/admin/subscriptions/cdrimport/upload/"


def staff_with(*codenames: str):
    user = UserFactory(is_staff=True, phone_verified=True, verified_email=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="subscriptions", codename__in=codenames)
    )
    return user


@pytest.fixture
def uploader(client):
    """Staff who may upload (a supervisor has these permissions)."""
    user = staff_with("view_inventorybatch", "add_inventorybatch", "view_cdrimport", "add_cdrimport")
    staff_sign_in(client, user)
    return user


def upload(client, url: str, content: bytes, name: str = "file.csv"):
    return client.post(url, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def test_staff_who_may_upload_add_a_vendor_file_from_the_batch_list(client, uploader):
    changelist = client.get("/admin/subscriptions/inventorybatch/").content.decode()
    assert f'href="{INVENTORY_UPLOAD}"' in changelist
    assert 'enctype="multipart/form-data"' in client.get(INVENTORY_UPLOAD).content.decode()

    response = upload(client, INVENTORY_UPLOAD, vendor_file([profile_row(1), profile_row(2)]), "vendor-7.csv")

    assert response.status_code == 302
    assert response["Location"] == "/admin/subscriptions/inventorybatch/"
    batch = InventoryBatch.objects.get()
    assert (batch.filename, batch.profile_count, batch.uploaded_by) == ("vendor-7.csv", 2, uploader)
    page = client.get(response["Location"]).content.decode()
    assert "2 eSIM profiles added from “vendor-7.csv”." in page


def test_a_vendor_file_with_errors_is_shown_back_row_by_row_and_nothing_is_saved(client, uploader):
    rows = [profile_row(1), profile_row(2, imsi="1", matching_id="SECRET-A$B"), profile_row(3, iccid="8947")]

    response = upload(client, INVENTORY_UPLOAD, vendor_file(rows))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported: the file has 3 errors." in html
    assert "<td>3</td><td>imsi</td>" in html
    assert "<td>3</td><td>matching_id</td>" in html
    assert "<td>4</td><td>iccid</td>" in html
    assert "SECRET-A" not in html
    assert not EsimProfile.objects.exists()
    assert not InventoryBatch.objects.exists()


def test_the_same_vendor_file_twice_is_refused_on_the_page(client, uploader):
    content = vendor_file([profile_row(1)])
    upload(client, INVENTORY_UPLOAD, content, "first.csv")

    response = upload(client, INVENTORY_UPLOAD, content, "second.csv")

    assert response.status_code == 200
    assert "already uploaded" in response.content.decode()
    assert "first.csv" in response.content.decode()
    assert InventoryBatch.objects.count() == 1


def test_a_vendor_file_overlapping_the_stock_says_how_many_were_skipped(client, uploader):
    upload(client, INVENTORY_UPLOAD, vendor_file([profile_row(1)]), "first.csv")

    response = upload(client, INVENTORY_UPLOAD, vendor_file([profile_row(1), profile_row(2)]), "second.csv")

    page = client.get(response["Location"]).content.decode()
    assert "1 eSIM profile added from “second.csv”. 1 was already in stock and was skipped." in page


def test_staff_upload_a_cdr_file_and_land_on_its_report(client, uploader):
    line = LineFactory(with_period=True, number="+4791234567")
    start = at(line.periods.get().starts_at + timedelta(hours=1))
    content = cdr_file([("r1", "+4791234567", "data", start, 10, ""), ("r2", "+4790000000", "data", start, 10, "")])

    response = upload(client, CDR_UPLOAD, content, "cdr-0042.csv")

    run = CdrImport.objects.get()
    assert response["Location"] == f"/admin/subscriptions/cdrimport/{run.pk}/change/"
    page = client.get(response["Location"]).content.decode()
    assert "“cdr-0042.csv”: 1 records imported, 0 already imported, 1 rejected." in page
    assert "Row 3: No line has this number." in page
    assert UsageRecord.objects.get().record_id == "r1"


def test_an_unreadable_cdr_file_is_refused_on_the_page(client, uploader):
    response = upload(client, CDR_UPLOAD, b"record_id,msisdn\n1,2\n")

    assert response.status_code == 200
    assert "The header row lacks the columns: kind, started_at, quantity." in response.content.decode()
    assert not CdrImport.objects.exists()


def test_the_add_form_leads_to_the_upload_page(client, uploader):
    assert client.get("/admin/subscriptions/inventorybatch/add/")["Location"] == INVENTORY_UPLOAD
    assert client.get("/admin/subscriptions/cdrimport/add/")["Location"] == CDR_UPLOAD


def test_uploads_are_read_only_records(client, uploader):
    batch = InventoryBatchFactory()
    html = client.get(f"/admin/subscriptions/inventorybatch/{batch.pk}/change/").content.decode()
    assert batch.sha256 in html
    assert 'name="_save"' not in html
    response = client.post(f"/admin/subscriptions/inventorybatch/{batch.pk}/change/", {"filename": "renamed.csv"})
    assert response.status_code == 403
    assert client.post(f"/admin/subscriptions/inventorybatch/{batch.pk}/delete/").status_code == 403
    batch.refresh_from_db()
    assert batch.filename != "renamed.csv"


@pytest.mark.parametrize("url", [INVENTORY_UPLOAD, CDR_UPLOAD])
def test_staff_without_the_add_permission_cannot_upload(client, url):
    staff_sign_in(client, staff_with("view_inventorybatch", "view_cdrimport"))

    assert client.get(url).status_code == 403
    assert upload(client, url, vendor_file([profile_row(1)])).status_code == 403
    assert "upload/" not in client.get(url.removesuffix("upload/")).content.decode()
    assert not EsimProfile.objects.exists()


@pytest.mark.parametrize("url", [INVENTORY_UPLOAD, CDR_UPLOAD])
def test_a_customer_cannot_reach_the_upload_pages(client, url):
    client.force_login(UserFactory())

    assert client.get(url, follow=True).status_code == 403
    assert upload(client, url, vendor_file([profile_row(1)])).status_code in (302, 403)
    assert not EsimProfile.objects.exists()


@pytest.mark.parametrize("url", [INVENTORY_UPLOAD, CDR_UPLOAD])
def test_a_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]
