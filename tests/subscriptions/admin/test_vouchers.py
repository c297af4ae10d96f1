"""Vouchers (充值卡) in the admin: a supervisor makes a batch and gets the
printer's CSV, the only time the codes exist whole; a batch that does not
add up is refused with the reason; supervisors void batches and single codes
with a reason; everyone on support sees where each code went and who keeps
typing wrong codes, and an agent only looks."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from subscriptions.models import RedemptionResult, Voucher, VoucherAttempt, VoucherBatch, VoucherStatus, VoucherValue
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.voucher_codes import code_check_digit_ok, code_hash, code_normalize
from subscriptions.services.vouchers import VoucherError, oslo_today, voucher_batch_create, voucher_redeem
from tests.factories import LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

BATCHES = "/admin/subscriptions/voucherbatch/"
VOUCHERS = "/admin/subscriptions/voucher/"
ATTEMPTS = "/admin/subscriptions/voucherattempt/"
IP = "203.0.113.7"


def staff_in(client: Any, group_name: str) -> Any:
    user = UserFactory(is_staff=True, full_name=f"{group_name} Hansen", language="en")
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


def batch_form(**changes: Any) -> dict[str, Any]:
    """The add form as a supervisor fills it in: five codes worth 200 kr."""
    form: dict[str, Any] = {
        "label": "Narvesen Oslo S, May 2026",
        "value_kind": "amount",
        "amount": "200",
        "plan": "",
        "count": "5",
        "expires_on": (oslo_today() + timedelta(days=180)).isoformat(),
    }
    form.update(changes)
    return form


def csv_rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def field_errors(html: str) -> dict[str, list[str]]:
    """The admin's errors, by the field they stand under."""
    errors: dict[str, list[str]] = {}
    for field, items in re.findall(r'<ul class="errorlist"[^>]*id="id_(\w+)_error">(.*?)</ul>', html, re.S):
        errors[field] = re.findall(r"<li>(.*?)</li>", items)
    for items in re.findall(r'<ul class="errorlist nonfield"[^>]*>(.*?)</ul>', html, re.S):
        errors.setdefault("__all__", []).extend(re.findall(r"<li>(.*?)</li>", items))
    return errors


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def amount_batch(by: Any, *, count: int = 3, label: str = "Narvesen Oslo S") -> tuple[VoucherBatch, list[str]]:
    batch, codes = voucher_batch_create(
        label=label,
        value_kind=VoucherValue.AMOUNT,
        amount_ore=200_00,
        plan=None,
        count=count,
        expires_on=oslo_today() + timedelta(days=90),
        by=by,
    )
    return batch, [code for _serial, code in codes]


def row_of(html: str, serial: str) -> str:
    """The changelist row whose link reads ``serial``."""
    found = re.search(rf"<tr>(?:(?!</tr>).)*>{re.escape(serial)}</a>.*?</tr>", html, re.S)
    assert found, f"no row for {serial}"
    return found.group(0)


def confirm_void(client: Any, url: str, page: Any, reason: str) -> Any:
    """Fill in the reason on the void page and send its form as a browser
    would: every hidden field it carries, to the address it was served at."""
    html = page.content.decode()
    form = re.search(r'<form method="post">.*?</form>', html, re.S)
    assert form, "no void form on the page"
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)):
        data.setdefault(name, []).append(value)
    return client.post(url, {**data, "reason": reason})


def readonly(html: str, field: str) -> str:
    """A read-only field's value on an admin change page."""
    found = re.search(rf'<div class="form-row field-{field}">.*?<div class="readonly">(.*?)</div>', html, re.S)
    assert found, f"no field {field}"
    return found.group(1)


def every_stored_value() -> str:
    """Every value of every row of every table, and what the sessions hold
    (stored encoded, so decoded here), as one text."""
    values: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (our own table names)
            values += [str(value) for row in cursor.fetchall() for value in row]
    values += [str(session.get_decoded()) for session in Session.objects.all()]
    return "\n".join(values)


# --- making a batch ---------------------------------------------------------------------------


def test_a_supervisor_creates_a_batch_and_gets_a_csv_with_exactly_its_codes(client):
    supervisor = staff_in(client, "Supervisor")

    response = client.post(f"{BATCHES}add/", batch_form(count="5"))

    assert response.status_code == 200, field_errors(response.content.decode())
    batch = VoucherBatch.objects.get()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="vouchers-{batch.pk}-narvesen-oslo-s-may-2026.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    assert len(rows) == 5
    assert [row["serial"] for row in rows] == [f"{batch.pk}-{serial:06d}" for serial in range(1, 6)]
    codes = [code_normalize(row["code"]) for row in rows]
    assert all(re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", row["code"]) for row in rows)
    assert all(code is not None and code_check_digit_ok(code) for code in codes)
    assert len(set(codes)) == 5
    stored = dict(Voucher.objects.filter(batch=batch).values_list("serial", "code_hash"))
    assert stored == {serial: code_hash(code or "") for serial, code in enumerate(codes, 1)}
    assert {(row["value"], row["valid_until"]) for row in rows} == {("200,00 kr", batch.expires_on.isoformat())}
    assert (batch.label, batch.value_kind, batch.amount_ore, batch.plan, batch.count, batch.created_by) == (
        "Narvesen Oslo S, May 2026",
        VoucherValue.AMOUNT,
        200_00,
        None,
        5,
        supervisor,
    )
    assert messages_of(response) == [
        "Batch “Narvesen Oslo S, May 2026” has 5 codes. They are in the file you downloaded, and are not shown again."
    ]


def test_a_plan_batch_prints_the_plans_norwegian_name_on_the_cards(client):
    staff_in(client, "Supervisor")
    plan = NumberKeepingPlanFactory(code="keep-quarter", name_en="Keep my number, 3 months")

    response = client.post(f"{BATCHES}add/", batch_form(value_kind="plan", amount="", plan=str(plan.pk), count="2"))

    assert response.status_code == 200, field_errors(response.content.decode())
    assert [row["value"] for row in csv_rows(response)] == ["Behold nummeret, 3 måneder"] * 2
    batch = VoucherBatch.objects.get()
    assert (batch.value_kind, batch.plan, batch.amount_ore) == (VoucherValue.PLAN, plan, None)


def test_an_amount_left_over_from_switching_to_a_plan_is_dropped(client):
    staff_in(client, "Supervisor")
    plan = PlanFactory(code="fjord-month")

    response = client.post(f"{BATCHES}add/", batch_form(value_kind="plan", amount="200", plan=str(plan.pk)))

    assert response.status_code == 200, field_errors(response.content.decode())
    batch = VoucherBatch.objects.get()
    assert (batch.value_kind, batch.plan, batch.amount_ore) == (VoucherValue.PLAN, plan, None)


def test_the_codes_appear_nowhere_after_the_download(client, caplog):
    staff_in(client, "Supervisor")
    caplog.set_level(logging.DEBUG)
    response = client.post(f"{BATCHES}add/", batch_form(count="20"))
    codes = [row["code"] for row in csv_rows(response)]
    batch = VoucherBatch.objects.get()
    needles = set(codes) | {code.replace(" ", "") for code in codes}
    assert len(needles) == 40

    # Everything staff can open afterwards, including the add page again
    # (the "download" done twice) and a guess at a download address.
    pages = [
        client.get(f"{BATCHES}add/"),
        client.get(BATCHES),
        client.get(f"{BATCHES}{batch.pk}/change/"),
        client.get(f"{BATCHES}{batch.pk}/history/"),
        client.get(f"{BATCHES}{batch.pk}/download/", follow=True),
        client.get(VOUCHERS, {"batch__id__exact": batch.pk}),
        client.get(f"{VOUCHERS}{Voucher.objects.get(serial=1).pk}/change/"),
        client.get("/admin/"),
    ]

    assert all(page.status_code == 200 for page in pages), [page.status_code for page in pages]
    seen = "\n".join(page.content.decode() for page in pages)
    assert "Narvesen Oslo S, May 2026" in seen
    assert not [needle for needle in needles if needle in seen]
    assert not [needle for needle in needles if needle in every_stored_value()]
    assert not [needle for needle in needles if any(needle in str(cookie.value) for cookie in client.cookies.values())]
    assert not [needle for needle in needles if needle in caplog.text]
    # The add page is a fresh, empty form: no second file.
    assert pages[0]["Content-Type"].startswith("text/html")
    assert VoucherBatch.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"label": "  "}, "label", "This field is required."),
        ({"count": "0"}, "count", "Ensure this value is greater than or equal to 1."),
        ({"count": "10001"}, "count", "Ensure this value is less than or equal to 10000."),
        ({"amount": ""}, "amount", "Enter the amount each code is worth."),
        ({"amount": "9,99"}, "amount", "A voucher is worth NOK\xa010.00 to NOK\xa05,000.00."),
        ({"amount": "5000,01"}, "amount", "A voucher is worth NOK\xa010.00 to NOK\xa05,000.00."),
        ({"value_kind": "plan", "amount": ""}, "plan", "Choose the plan each code gives a period of."),
        ({"expires_on": "today"}, "expires_on", "The last valid day must be after today (TODAY)."),
        ({"expires_on": "2020-01-01"}, "expires_on", "The last valid day must be after today (TODAY)."),
    ],
)
def test_a_batch_that_does_not_add_up_is_refused_with_the_reason(client, changes, field, error):
    staff_in(client, "Supervisor")
    today = oslo_today()
    if changes.get("expires_on") == "today":
        changes = {**changes, "expires_on": today.isoformat()}

    response = client.post(f"{BATCHES}add/", batch_form(**changes))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    errors = field_errors(response.content.decode())
    assert errors.get(field) == [error.replace("TODAY", today.strftime("%m/%d/%Y"))], errors
    assert not VoucherBatch.objects.exists()
    assert not Voucher.objects.exists()


def test_a_plan_no_longer_on_sale_cannot_be_chosen(client):
    staff_in(client, "Supervisor")
    retired = PlanFactory(code="retired", is_active=False)

    page = client.get(f"{BATCHES}add/").content.decode()
    response = client.post(f"{BATCHES}add/", batch_form(value_kind="plan", amount="", plan=str(retired.pk)))

    assert f'value="{retired.pk}"' not in page
    assert list(field_errors(response.content.decode())) == ["plan"]
    assert not VoucherBatch.objects.exists()


# --- where the codes went, and who keeps failing ---------------------------------------------


@pytest.fixture
def redeemed() -> dict[str, Any]:
    """A batch of three: Wang and Kari each used one code, one is left."""
    staff = UserFactory(is_staff=True)
    batch, codes = amount_batch(staff)
    wang = LineFactory(owner=UserFactory(full_name="王小明"), number="+4791234567", with_period=True)
    kari = LineFactory(owner=UserFactory(full_name="Kari Nordmann"), number="+4741234567", with_period=True)
    voucher_redeem(user=wang.owner, line=wang, code=codes[0], ip_address=IP)
    voucher_redeem(user=kari.owner, line=kari, code=codes[1], ip_address=IP)
    return {"batch": batch, "codes": codes, "wang": wang, "kari": kari}


def test_the_voucher_list_shows_which_customer_and_line_each_code_went_to(client, redeemed):
    staff_in(client, "Support agent")
    batch = redeemed["batch"]

    html = client.get(VOUCHERS).content.decode()

    first, second, third = (row_of(html, f"{batch.pk}-{serial:06d}") for serial in (1, 2, 3))
    assert '<td class="field-redeemed_by nowrap">王小明</td>' in first
    assert '<td class="field-line nowrap">+47 912 34 567</td>' in first
    assert '<td class="field-status">Redeemed</td>' in first
    assert '<td class="field-redeemed_by nowrap">Kari Nordmann</td>' in second
    assert '<td class="field-line nowrap">+47 412 34 567</td>' in second
    assert '<td class="field-status">Not used</td>' in third
    assert '<td class="field-line nowrap">-</td>' in third


def test_the_batch_page_lists_its_redeemed_codes_with_customer_and_line(client, redeemed):
    staff_in(client, "Support agent")
    batch, wang, kari = redeemed["batch"], redeemed["wang"], redeemed["kari"]

    html = client.get(f"{BATCHES}{batch.pk}/change/").content.decode()

    table = re.search(r'<table class="voucher-redemptions">.*?</table>', html, re.S)
    assert table, "no table of redeemed codes"
    rows = re.findall(r"<tr><td>.*?</tr>", table.group(0), re.S)
    assert len(rows) == 2
    newest, oldest = rows
    assert f">{batch.pk}-000002</a>" in newest
    assert f'href="/admin/accounts/user/{kari.owner.pk}/change/">Kari Nordmann</a>' in newest
    assert f'href="/admin/subscriptions/line/{kari.pk}/change/">+47 412 34 567</a>' in newest
    assert f'href="/admin/accounts/user/{wang.owner.pk}/change/">王小明</a>' in oldest
    assert f'href="/admin/subscriptions/line/{wang.pk}/change/">+47 912 34 567</a>' in oldest
    assert (readonly(html, "redeemed"), readonly(html, "voided"), readonly(html, "unused")) == ("2", "0", "1")


def test_an_agent_finds_a_code_by_the_number_it_went_to_or_by_the_whole_code_read_out(client, redeemed):
    staff_in(client, "Support agent")
    batch, codes = redeemed["batch"], redeemed["codes"]
    read_out = " ".join(codes[2][start : start + 4] for start in range(0, 16, 4))

    by_number = client.get(VOUCHERS, {"q": "912 34 567"}).content.decode()
    by_code = client.get(VOUCHERS, {"q": read_out}).content.decode()
    by_serial = client.get(VOUCHERS, {"q": f"{batch.pk}-000002"}).content.decode()

    def serials(html: str) -> list[str]:
        return re.findall(r'<th class="field-serial_display"><a [^>]*>([\d-]+)</a>', html)

    assert serials(by_number) == [f"{batch.pk}-000001"]
    assert serials(by_code) == [f"{batch.pk}-000003"]
    assert serials(by_serial) == [f"{batch.pk}-000002"]


def test_failed_attempts_are_listed_for_staff_with_customer_line_and_address(client, redeemed):
    staff_in(client, "Support agent")
    wang = redeemed["wang"]
    with pytest.raises(VoucherError):
        voucher_redeem(user=wang.owner, line=wang, code=redeemed["codes"][1], ip_address="198.51.100.23")

    html = client.get(ATTEMPTS, {"result__exact": RedemptionResult.USED}).content.decode()

    rows = re.findall(r"<tr><th class=\"field-created_at.*?</tr>", html, re.S)
    assert len(rows) == 1
    assert '<td class="field-result">Already used</td>' in rows[0]
    assert '<td class="field-user nowrap">王小明</td>' in rows[0]
    assert '<td class="field-line nowrap">+47 912 34 567</td>' in rows[0]
    assert '<td class="field-ip_address">198.51.100.23</td>' in rows[0]
    assert f">{redeemed['batch'].pk}-000002<" in rows[0]


def test_the_repeated_failures_filter_shows_who_keeps_typing_wrong_codes(client):
    staff_in(client, "Support agent")
    guesser = LineFactory(owner=UserFactory(full_name="Guesser"), with_period=True)
    slip = LineFactory(owner=UserFactory(full_name="One Slip"), with_period=True)
    earlier = timezone.now() - timedelta(hours=3)
    for minutes in range(5):
        VoucherAttempt.objects.create(
            user=guesser.owner,
            line=guesser,
            ip_address="198.51.100.66",
            result=RedemptionResult.UNKNOWN,
            created_at=earlier + timedelta(minutes=minutes),
        )
    VoucherAttempt.objects.create(user=slip.owner, line=slip, ip_address=IP, result=RedemptionResult.UNKNOWN)

    everyone = client.get(ATTEMPTS).content.decode()
    repeated = client.get(ATTEMPTS, {"repeated": "user"}).content.decode()

    assert everyone.count('<td class="field-user nowrap">Guesser</td>') == 5
    assert "One Slip" in everyone
    assert repeated.count('<td class="field-user nowrap">Guesser</td>') == 5
    assert "One Slip" not in repeated


# --- voiding ----------------------------------------------------------------------------------


def test_a_supervisor_voids_a_batch_with_a_reason_and_its_unused_codes_stop_working(client, redeemed):
    supervisor = staff_in(client, "Supervisor")
    batch, codes, kari = redeemed["batch"], redeemed["codes"], redeemed["kari"]

    asked = client.post(BATCHES, {"action": "void_batches", "index": "0", "_selected_action": [batch.pk]})
    done = confirm_void(client, BATCHES, asked, "The shop lost the cards")

    assert asked.status_code == 200
    assert "Narvesen Oslo S: NOK\xa0200.00, 1 of 3 codes not used" in asked.content.decode()
    assert 'name="reason"' in asked.content.decode()
    assert done.status_code == 302
    assert messages_of(done) == ["Voided 1 batch."]
    batch.refresh_from_db()
    assert (batch.voided_by, batch.void_reason) == (supervisor, "The shop lost the cards")
    assert dict(Voucher.objects.values_list("serial", "status")) == {1: "redeemed", 2: "redeemed", 3: "voided"}
    with pytest.raises(VoucherError) as refused:
        voucher_redeem(user=kari.owner, line=kari, code=codes[2], ip_address=IP)
    assert refused.value.result == RedemptionResult.VOIDED
    assert ledger_balance(line=kari) == 200_00
    page = client.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    assert (readonly(page, "state"), readonly(page, "void_reason")) == ("Voided", "The shop lost the cards")
    assert supervisor.full_name in readonly(page, "voided_by")
    assert (readonly(page, "redeemed"), readonly(page, "voided"), readonly(page, "unused")) == ("2", "1", "0")


def test_a_batch_is_not_voided_without_a_reason(client, redeemed):
    staff_in(client, "Supervisor")
    batch = redeemed["batch"]

    asked = client.post(BATCHES, {"action": "void_batches", "index": "0", "_selected_action": [batch.pk]})
    response = confirm_void(client, BATCHES, asked, "  ")

    assert response.status_code == 200
    assert field_errors(response.content.decode()) == {"reason": ["This field is required."]}
    batch.refresh_from_db()
    assert batch.voided_at is None
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 1


def test_a_supervisor_voids_single_codes_and_a_redeemed_one_is_refused_with_the_reason(client, redeemed):
    supervisor = staff_in(client, "Supervisor")
    batch, codes = redeemed["batch"], redeemed["codes"]
    used, unused = Voucher.objects.get(serial=1), Voucher.objects.get(serial=3)

    asked = client.post(VOUCHERS, {"action": "void_vouchers", "index": "0", "_selected_action": [used.pk, unused.pk]})
    done = confirm_void(client, VOUCHERS, asked, "Card stolen from the shop")

    assert asked.status_code == 200
    assert f"{batch.pk}-000003 · Narvesen Oslo S · NOK\xa0200.00 · Not used" in asked.content.decode()
    assert done.status_code == 302
    assert messages_of(done) == [
        "Voided 1 voucher.",
        f"Voucher {batch.pk}-000001 is already redeemed, so it cannot be voided.",
    ]
    assert dict(Voucher.objects.values_list("serial", "status")) == {1: "redeemed", 2: "redeemed", 3: "voided"}
    entry = LogEntry.objects.get(object_id=str(unused.pk))
    assert (entry.user, entry.change_message) == (supervisor, "Voided: Card stolen from the shop")
    history = client.get(f"{VOUCHERS}{unused.pk}/history/").content.decode()
    assert "Voided: Card stolen from the shop" in history
    kari = redeemed["kari"]
    with pytest.raises(VoucherError) as refused:
        voucher_redeem(user=kari.owner, line=kari, code=codes[2], ip_address=IP)
    assert refused.value.result == RedemptionResult.VOIDED


# --- who may do what --------------------------------------------------------------------------


def test_an_agent_looks_but_cannot_create_a_batch(client):
    staff_in(client, "Support agent")

    listing = client.get(BATCHES).content.decode()

    assert f'href="{BATCHES}add/"' not in listing
    assert client.get(f"{BATCHES}add/").status_code == 403
    assert client.post(f"{BATCHES}add/", batch_form()).status_code == 403
    assert not VoucherBatch.objects.exists()


def test_an_agent_cannot_void_a_batch_or_a_code(client, redeemed):
    staff_in(client, "Support agent")
    batch = redeemed["batch"]
    unused = Voucher.objects.get(serial=3)

    batch_list = client.get(BATCHES).content.decode()
    voucher_list = client.get(VOUCHERS).content.decode()
    client.post(BATCHES, {"action": "void_batches", "_selected_action": [batch.pk], "apply": "yes", "reason": "x"})
    client.post(VOUCHERS, {"action": "void_vouchers", "_selected_action": [unused.pk], "apply": "yes", "reason": "x"})

    assert 'value="void_batches"' not in batch_list
    assert 'value="void_vouchers"' not in voucher_list
    batch.refresh_from_db()
    assert batch.voided_at is None
    assert Voucher.objects.get(pk=unused.pk).status == VoucherStatus.ACTIVE


def test_a_supervisor_sees_the_create_and_void_controls(client, redeemed):
    staff_in(client, "Supervisor")

    batch_list = client.get(BATCHES).content.decode()
    voucher_list = client.get(VOUCHERS).content.decode()

    assert f'href="{BATCHES}add/"' in batch_list
    assert 'value="void_batches"' in batch_list
    assert 'value="void_vouchers"' in voucher_list


def test_no_one_edits_or_deletes_batches_codes_or_attempts(client, redeemed):
    staff_in(client, "Supervisor")
    batch = redeemed["batch"]
    voucher = Voucher.objects.get(serial=3)
    attempt = VoucherAttempt.objects.first()
    assert attempt is not None

    page = client.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    changed = client.post(f"{BATCHES}{batch.pk}/change/", {"label": "Changed", "count": "1000"})

    assert 'name="label"' not in page
    assert changed.status_code == 403
    for url in (f"{BATCHES}{batch.pk}", f"{VOUCHERS}{voucher.pk}", f"{ATTEMPTS}{attempt.pk}"):
        assert client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{VOUCHERS}add/").status_code == 403
    assert client.get(f"{ATTEMPTS}add/").status_code == 403
    batch.refresh_from_db()
    assert (batch.label, batch.count) == ("Narvesen Oslo S", 3)
    assert Voucher.objects.count() == 3


@pytest.mark.parametrize("lookup", ["code_hash", "code_hash__startswith"])
def test_the_code_hash_cannot_be_filtered_on_in_the_address(client, redeemed, lookup):
    # A prefix filter would let staff (or a leaked admin link) test guesses.
    staff_in(client, "Supervisor")
    digest = code_hash(redeemed["codes"][2])

    response = client.get(VOUCHERS, {lookup: digest if lookup == "code_hash" else digest[:4]})

    assert response.status_code == 400
    assert "field-serial_display" not in response.content.decode()


def test_a_supervisor_voids_more_codes_than_a_form_may_carry_by_selecting_all_of_a_filtered_list(client):
    # A box of cards stolen from a shop: the supervisor filters the list to
    # the batch, selects all 1,200 codes (more than the 1,000 fields Django
    # accepts in one form) and voids them.
    staff_in(client, "Supervisor")
    batch, _codes = amount_batch(UserFactory(is_staff=True), count=1200)
    kept, _other_codes = amount_batch(UserFactory(is_staff=True), count=2, label="Rema 1000")
    url = f"{VOUCHERS}?batch__id__exact={batch.pk}"
    on_the_page = list(Voucher.objects.filter(batch=batch).order_by("serial").values_list("pk", flat=True)[:100])

    asked = client.post(
        url, {"action": "void_vouchers", "index": "0", "select_across": "1", "_selected_action": on_the_page}
    )
    done = confirm_void(client, url, asked, "Box of cards stolen from the shop")

    assert asked.status_code == 200
    assert len(re.findall(r"<li>\d+-\d{6} · ", asked.content.decode())) == 100
    assert "… and 1100 more." in asked.content.decode()
    assert done.status_code == 302, done.content.decode()[:500]
    assert messages_of(done) == ["Voided 1200 vouchers."]
    assert set(Voucher.objects.filter(batch=batch).values_list("status", flat=True)) == {VoucherStatus.VOIDED}
    assert set(Voucher.objects.filter(batch=kept).values_list("status", flat=True)) == {VoucherStatus.ACTIVE}
