"""The SIM vendor's eSIM inventory files: checked row by row, saved whole or
not at all, never twice, and never a matching ID in a message or a log."""

import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from subscriptions.iccid import with_check_digit
from subscriptions.models import EsimProfile, EsimState, InventoryBatch
from subscriptions.services.inventory import (
    InventoryFileAlreadyImported,
    InventoryFileRejected,
    RowError,
    inventory_import,
)
from tests.factories import EsimProfileFactory, UserFactory, make_iccid
from tests.subscriptions.import_files import INVENTORY_COLUMNS, profile_row, vendor_file

pytestmark = pytest.mark.django_db


def rejected(content: bytes) -> list[RowError]:
    with pytest.raises(InventoryFileRejected) as caught:
        inventory_import(filename="bad.csv", content=content, by=None)
    assert EsimProfile.objects.count() == 0
    assert InventoryBatch.objects.count() == 0
    return caught.value.errors


def test_a_good_file_adds_every_profile_to_the_stock():
    staff = UserFactory(is_staff=True)
    rows = [
        profile_row(1),
        profile_row(2, confirmation_code_required="1"),
        profile_row(3, confirmation_code_required=""),
    ]

    batch = inventory_import(filename="vendor-2026-11.csv", content=vendor_file(rows), by=staff)

    assert (batch.filename, batch.profile_count, batch.profiles_skipped, batch.uploaded_by) == (
        "vendor-2026-11.csv",
        3,
        0,
        staff,
    )
    profiles = list(EsimProfile.objects.order_by("iccid"))
    assert [profile.iccid for profile in profiles] == [make_iccid(1), make_iccid(2), make_iccid(3)]
    assert [profile.confirmation_code_required for profile in profiles] == [False, True, False]
    assert {(profile.state, profile.batch_id, profile.line_id) for profile in profiles} == {
        (EsimState.AVAILABLE, batch.pk, None)
    }
    assert profiles[0].imsi == "242010000000001"
    assert profiles[0].smdp_address == "smdp.nordlys.test"
    assert profiles[0].matching_id == "QR-000001-K7ZP4XW9"


def test_a_spreadsheet_export_with_semicolons_a_byte_order_mark_and_capitals_is_read():
    header = ["ICCID", "IMSI", "SMDP_Address", "Matching_ID"]
    body = "\n".join(
        [";".join(header)]
        + [f"{make_iccid(n)};24201{n:010d}; smdp.nordlys.test ;QR-{n:06d}" for n in (1, 2)]
        + ["", ";;;"]  # blank rows at the end, as spreadsheets leave them
    )
    batch = inventory_import(filename="export.csv", content=b"\xef\xbb\xbf" + body.encode(), by=None)
    assert batch.profile_count == 2
    assert not EsimProfile.objects.filter(confirmation_code_required=True).exists()


def not_norwegian_iccid() -> str:
    return with_check_digit("894600000000000001")  # Sweden


def wrong_check_digit() -> str:
    good = make_iccid(7)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("iccid", "", "required"),
        ("iccid", "89470000000001", "19 or 20 digits"),
        ("iccid", "8947OOOOOOOOOOOOOOO", "19 or 20 digits"),
        ("iccid", not_norwegian_iccid(), "start with 8947"),
        ("iccid", wrong_check_digit(), "check digit"),
        ("imsi", "2420100001", "14 or 15 digits"),
        ("imsi", "240010000000001", "start with 242"),
        ("smdp_address", "https://smdp.nordlys.test", "without https://"),
        ("smdp_address", "smdp.nordlys.test$1", "“$”"),
        ("smdp_address", "smdp nordlys.test", "spaces"),
        ("smdp_address", "smdp", "host name"),
        ("smdp_address", "-smdp.nordlys.test", "host name"),
        ("matching_id", "", "required"),
        ("matching_id", "QR-1$2", "“$”"),
        ("matching_id", "QR_1", "letters"),
        ("matching_id", "Ø" * 3, "letters"),
        ("matching_id", "Q" * 256, "255"),
        ("confirmation_code_required", "maybe", "1 or 0"),
    ],
)
def test_a_bad_value_rejects_the_whole_file_with_an_error_naming_its_row_and_column(column, value, message):
    rows = [profile_row(1), profile_row(2, **{column: value}), profile_row(3)]
    errors = rejected(vendor_file(rows))
    assert [(error.row, error.column) for error in errors] == [(3, column)]
    assert message in errors[0].message


def test_every_bad_row_gets_its_own_error():
    rows = [
        profile_row(1, imsi="1"),
        profile_row(2),
        profile_row(3, iccid="1", smdp_address="https://x.test"),
        profile_row(4, confirmation_code_required="ja takk"),
    ]
    errors = rejected(vendor_file(rows))
    assert [(error.row, error.column) for error in errors] == [
        (2, "imsi"),
        (4, "iccid"),
        (4, "smdp_address"),
        (5, "confirmation_code_required"),
    ]
    assert str(errors[0]).startswith("Row 2, imsi: ")


def test_a_row_with_more_fields_than_the_header_is_an_error():
    content = (
        vendor_file([profile_row(1)]) + f"{make_iccid(2)},242010000000002,smdp.nordlys.test,QR-2,0,KI\r\n".encode()
    )
    errors = rejected(content)
    assert [(error.row, error.column) for error in errors] == [(3, "")]


@pytest.mark.parametrize(
    ("column", "changes"),
    [
        ("iccid", {"imsi": "242019999999999", "matching_id": "QR-OTHER"}),
        ("imsi", {"iccid": make_iccid(99), "matching_id": "QR-OTHER"}),
        ("matching_id", {"iccid": make_iccid(99), "imsi": "242019999999999"}),
    ],
)
def test_a_profile_repeated_in_the_file_is_an_error_naming_the_first_row(column, changes):
    first = profile_row(1)
    errors = rejected(vendor_file([first, profile_row(2), {**first, **changes}]))
    assert [(error.row, error.column) for error in errors] == [(4, column)]
    assert errors[0].message == "The same value as row 2."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (vendor_file([], columns=INVENTORY_COLUMNS), "no profiles"),
        (vendor_file([profile_row(1)], columns=["iccid", "imsi", "matching_id"]), "smdp_address"),
        ("iccid,imsi,smdp_address,matching_id\n8947ø".encode("latin-1"), "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_rejected_with_one_error(content, message):
    errors = rejected(content)
    assert len(errors) == 1
    assert message in errors[0].message


def test_the_same_file_uploaded_twice_is_refused_naming_the_earlier_batch():
    content = vendor_file([profile_row(1), profile_row(2)])
    inventory_import(filename="vendor-a.csv", content=content, by=None)

    with pytest.raises(InventoryFileAlreadyImported) as caught:
        inventory_import(filename="vendor-a-again.csv", content=content, by=None)

    assert "vendor-a.csv" in str(caught.value)
    assert caught.value.batch.filename == "vendor-a.csv"
    assert EsimProfile.objects.count() == 2
    assert InventoryBatch.objects.count() == 1


def test_a_new_file_with_profiles_already_in_stock_adds_only_the_new_ones():
    EsimProfileFactory(iccid=make_iccid(2), state=EsimState.ASSIGNED)
    content = vendor_file([profile_row(1), profile_row(2), profile_row(3)])

    batch = inventory_import(filename="vendor-b.csv", content=content, by=None)

    assert (batch.profile_count, batch.profiles_skipped) == (2, 1)
    assert set(batch.profiles.values_list("iccid", flat=True)) == {make_iccid(1), make_iccid(3)}
    # The profile in stock is left exactly as it was.
    assert EsimProfile.objects.get(iccid=make_iccid(2)).state == EsimState.ASSIGNED


def test_matching_ids_never_appear_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [f"TOPSECRET-{n}" for n in range(1, 6)]
    rows = [
        profile_row(1, matching_id=secrets[0]),
        profile_row(2, matching_id=secrets[1] + "$EXTRA"),
        profile_row(3, matching_id=secrets[2] + "_X"),
        profile_row(4, matching_id=secrets[0]),  # a repeat
        profile_row(5, matching_id=secrets[3], iccid="123"),
    ]
    with pytest.raises(InventoryFileRejected) as caught:
        inventory_import(filename="bad.csv", content=vendor_file(rows), by=None)
    inventory_import(filename="good.csv", content=vendor_file([profile_row(9, matching_id=secrets[4])]), by=None)

    told = [str(caught.value), *(str(error) for error in caught.value.errors), caplog.text]
    assert {error.column for error in caught.value.errors} == {"matching_id", "iccid"}
    for secret in secrets:
        assert not any(secret in text for text in told)
    assert "TOPSECRET" not in repr(EsimProfile.objects.get())


def test_the_command_prints_a_summary_per_file_and_the_errors_of_a_refused_one(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(vendor_file([profile_row(1), profile_row(2)]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(vendor_file([profile_row(3, imsi="x")]))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError):
        call_command("import_esim_inventory", str(good), str(bad), stdout=out, stderr=err)

    assert f"{good}: 2 profiles added, 0 already in stock" in out.getvalue()
    assert f"{bad}: not imported" in err.getvalue()
    assert "Row 2, imsi: " in err.getvalue()
    assert EsimProfile.objects.count() == 2
