"""`manage.py seed_demo`: the demo people, the plan catalogue and lines with a
believable history, created once however often it runs."""

import re
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone, translation

from accounts.management.commands.announce import banner
from accounts.models import IdentityDocument, User
from subscriptions.iccid import is_valid_iccid
from subscriptions.models import (
    AuditEvent,
    EsimProfile,
    EsimState,
    InventoryBatch,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Plan,
    PlanKind,
    PromoCode,
    RedemptionResult,
    ServicePeriod,
    UsageRecord,
    Voucher,
    VoucherStatus,
)
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import VoucherError, voucher_redeem
from tests.two_factor import code_for

pytestmark = pytest.mark.django_db

COUNTED = [
    User,
    Plan,
    Line,
    ServicePeriod,
    UsageRecord,
    LedgerEntry,
    AuditEvent,
    EsimProfile,
    InventoryBatch,
    PromoCode,
    Voucher,
    IdentityDocument,
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_seeding_twice_creates_nothing_twice():
    started = time.monotonic()
    seed()
    assert time.monotonic() - started < 5
    first = counts()

    output = seed()

    assert counts() == first
    assert "lines: 0 created" in output
    assert first["Line"] == 5
    assert first["Plan"] == 8


def test_the_demo_customers_get_the_lines_the_readme_promises():
    seed()
    now = timezone.now()
    lines = {line.number: line for line in Line.objects.select_related("owner")}

    wang_esim, wang_keep = lines["+4791234567"], lines["+4792345678"]
    assert wang_esim.owner.email == wang_keep.owner.email == "wang.xiaoming@nordlys.test"
    assert (wang_esim.kind, wang_esim.status) == (PlanKind.ESIM, LineStatus.ACTIVE)
    current = wang_esim.periods.get(starts_at__lte=now, ends_at__gt=now)
    assert current.starts_at < now - timedelta(days=5) and current.ends_at > now + timedelta(days=5)
    oldest_use = wang_esim.usage.order_by("occurred_at").first()
    assert oldest_use is not None and oldest_use.occurred_at < now - timedelta(days=85)
    assert wang_esim.usage.count() > 300
    assert wang_esim.usage.filter(charge_ore__gt=0).exists()
    assert (wang_keep.kind, wang_keep.status) == (PlanKind.NUMBER_KEEPING, LineStatus.ACTIVE)

    kari_soon, kari_expired = lines["+4741234567"], lines["+4748765432"]
    assert kari_soon.status == LineStatus.ACTIVE
    assert now + timedelta(days=1) < kari_soon.expires_at <= now + timedelta(days=6)
    assert kari_expired.status == LineStatus.EXPIRED
    assert kari_expired.expires_at < now

    alex = lines["+4746123456"]
    assert alex.status == LineStatus.ACTIVE
    assert 0 < ledger_balance(line=alex) < alex.low_balance_threshold_ore


def test_every_line_has_contiguous_periods_that_end_at_its_expiry_and_usage_in_them():
    seed()

    for line in Line.objects.all():
        periods = list(line.periods.order_by("starts_at"))
        assert periods, line
        assert all(later.starts_at == earlier.ends_at for earlier, later in pairwise(periods))
        assert line.expires_at == periods[-1].ends_at
        assert not line.usage.filter(period=None).exists()
        assert line.audit_events.filter(action="period_added").count() == len(periods)


def test_out_of_bundle_charges_are_in_the_ledger_and_the_ledger_adds_up():
    seed()

    for line in Line.objects.all():
        charged = line.usage.aggregate(total=Sum("charge_ore"))["total"] or 0
        in_ledger = line.ledger_entries.filter(kind=LedgerKind.USAGE).aggregate(total=Sum("amount_ore"))["total"] or 0
        assert in_ledger == -charged
    assert LedgerEntry.objects.filter(kind=LedgerKind.TOPUP).count() >= 4


def test_alexs_call_to_the_uk_is_charged_as_the_import_charges_it():
    seed()

    alex = Line.objects.get(number="+4746123456")
    call = alex.usage.get(destination="+447911123456")
    entry = alex.ledger_entries.get(reference=f"cdr:{call.record_id}")
    assert (call.international, call.rate.prefix, call.charge_ore, entry.amount_ore) == (True, "44", 20_93, -20_93)
    with translation.override("en"):
        assert entry.text == "Call to United Kingdom (+44\u00a07911\u00a0123456), 7 min"
    assert not alex.usage.filter(destination__startswith="+47", international=True).exists()


def test_plans_are_named_in_three_languages_and_priced_with_vat():
    seed()

    for plan in Plan.objects.all():
        assert plan.name_en and plan.name_nb and plan.name_zh_hans
        assert plan.description_en and plan.description_nb and plan.description_zh_hans
        assert plan.price_ore > 0
    assert set(Plan.objects.filter(kind=PlanKind.ESIM).values_list("period", flat=True)) == {
        "day",
        "week",
        "month",
        "quarter",
        "year",
    }
    assert Plan.objects.filter(kind=PlanKind.ESIM, period="month", data_mb=None).exists()
    assert set(Plan.objects.filter(kind=PlanKind.NUMBER_KEEPING).values_list("period", flat=True)) == {
        "month",
        "quarter",
    }


def test_a_stock_of_spare_profiles_with_valid_norwegian_iccids():
    seed()

    spare = EsimProfile.objects.filter(state=EsimState.AVAILABLE, line=None)
    assert spare.count() == 20
    for profile in EsimProfile.objects.all():
        assert profile.iccid.startswith("8947")
        assert is_valid_iccid(profile.iccid)
    in_use = [EsimState.INSTALLED, EsimState.ASSIGNED]
    assert all(line.esim_profiles.filter(state__in=in_use).count() == 1 for line in Line.objects.all())
    ready = EsimProfile.objects.get(state=EsimState.ASSIGNED)
    assert ready.line is not None and ready.line.number == "+4792345678"
    batch = InventoryBatch.objects.get()
    assert batch.profile_count == EsimProfile.objects.count()


def active_demo_lines():
    return Line.objects.exclude(status=LineStatus.QUARANTINED)


def test_fresh_lines_rebuilds_the_scenarios_and_retires_the_old_lines():
    seed()
    old = Line.objects.get(number="+4741234567")
    Line.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=30))

    output = StringIO()
    call_command("seed_demo", "--fresh-lines", stdout=output)

    assert active_demo_lines().count() == 5
    assert Line.objects.count() == 10
    assert Line.objects.get(number="+4741234567").expires_at > timezone.now()
    old.refresh_from_db()
    assert (old.status, old.number) == (LineStatus.QUARANTINED, f"+470{old.pk:08d}")
    assert old.esim_profiles.get().state == EsimState.DISABLED
    in_use = [EsimState.INSTALLED, EsimState.ASSIGNED]
    assert all(line.esim_profiles.filter(state__in=in_use).count() == 1 for line in active_demo_lines())
    assert EsimProfile.objects.filter(state=EsimState.AVAILABLE, line=None).count() == 20
    assert "spare eSIM profiles: 0 created" in output.getvalue()


def test_fresh_lines_keeps_what_was_bought_on_the_old_demo_lines():
    from subscriptions.models import LedgerKind, Order, PaymentMethod, Receipt
    from subscriptions.services.checkout import Billing, order_place, renewal_request
    from subscriptions.services.ledger import ledger_add

    seed()
    line = Line.objects.get(number="+4741234567")
    plan = line.periods.order_by("-ends_at").first().plan
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=plan.price_ore)
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.BALANCE)
    order_place(owner=line.owner, request=request, billing=Billing(name="Kari"), idempotency_key="k", site_url="")
    receipt = Receipt.objects.get()
    ledger_before = list(LedgerEntry.objects.filter(line=line).values_list("pk", "amount_ore"))

    call_command("seed_demo", "--fresh-lines", stdout=StringIO())

    assert Order.objects.get().line == line
    assert Receipt.objects.get() == receipt
    assert list(LedgerEntry.objects.filter(line=line).values_list("pk", "amount_ore")) == ledger_before
    assert not Order.objects.filter(line__number="+4741234567").exists()


def test_fresh_lines_after_a_demo_voucher_was_redeemed_keeps_it_spent_and_credited():
    codes = re.findall(r"^ +(\d{4} \d{4} \d{4} \d{4})$", seed(), re.MULTILINE)
    line = Line.objects.get(number="+4746123456")
    voucher_redeem(user=line.owner, line=line, code=codes[0], ip_address=None)
    balance = ledger_balance(line=line)

    call_command("seed_demo", "--fresh-lines", stdout=StringIO())

    assert Voucher.objects.get(line=line).status == VoucherStatus.REDEEMED
    assert ledger_balance(line=line) == balance
    fresh = Line.objects.get(number="+4746123456")
    with pytest.raises(VoucherError) as again:
        voucher_redeem(user=fresh.owner, line=fresh, code=codes[0], ip_address=None)
    assert again.value.result == RedemptionResult.USED
    assert ledger_balance(line=fresh) < fresh.low_balance_threshold_ore


def test_the_demo_vouchers_are_printed_once_and_each_redeems_100_kr_on_a_demo_line():
    first = seed()
    again = seed()

    codes = re.findall(r"^ +(\d{4} \d{4} \d{4} \d{4})$", first, re.MULTILINE)
    assert len(codes) == 5
    assert "VELKOMMEN20" in first
    assert not re.search(r"\d{4} \d{4} \d{4} \d{4}", again)
    line = Line.objects.get(number="+4746123456")
    before = ledger_balance(line=line)
    redemption = voucher_redeem(user=line.owner, line=line, code=codes[0], ip_address=None)
    assert redemption.balance_ore == before + 100_00


def test_the_demo_staff_are_an_agent_and_a_supervisor_who_pass_two_factor_with_the_printed_secret(client, totp_clock):
    output = seed()
    support = User.objects.get(email="support@nordlys.test")
    supervisor = User.objects.get(email="supervisor@nordlys.test")

    assert not support.is_superuser and not supervisor.is_superuser
    assert list(support.groups.values_list("name", flat=True)) == ["Support agent"]
    assert list(supervisor.groups.values_list("name", flat=True)) == ["Supervisor"]
    secret = re.search(r"support-demo-2026\n +two-factor \(TOTP\) secret (\w+)", output)[1]

    client.post("/accounts/login/", {"login": "support@nordlys.test", "password": "support-demo-2026"})
    response = client.post("/accounts/2fa/authenticate/", {"code": code_for(secret, at=totp_clock.now)})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/subscriptions/esimprofile/").status_code == 200
    assert client.get("/admin/subscriptions/voucherbatch/add/").status_code == 403


def test_the_demo_totp_code_command_prints_the_code_the_admin_takes(client, totp_clock, monkeypatch):
    seed()
    monkeypatch.setattr(timezone, "now", lambda: datetime.fromtimestamp(totp_clock.now, tz=UTC))
    out = StringIO()
    call_command("demo_totp_code", "supervisor@nordlys.test", stdout=out)
    code = out.getvalue().split()[0]

    client.post("/accounts/login/", {"login": "supervisor@nordlys.test", "password": "supervisor-demo-2026"})
    assert client.post("/accounts/2fa/authenticate/", {"code": code})["Location"] == "/admin/"
    with pytest.raises(CommandError):
        call_command("demo_totp_code", "wang.xiaoming@nordlys.test", stdout=StringIO())


def test_demo_vouchers_prints_a_new_batch_each_time():
    seed()
    first, second = StringIO(), StringIO()
    call_command("demo_vouchers", stdout=first)
    call_command("demo_vouchers", stdout=second)

    codes = re.findall(r"^ +(\d{4} \d{4} \d{4} \d{4})$", first.getvalue() + second.getvalue(), re.MULTILINE)
    assert len(set(codes)) == 10
    line = Line.objects.get(number="+4791234567")
    before = ledger_balance(line=line)
    assert voucher_redeem(user=line.owner, line=line, code=codes[-1], ip_address=None).balance_ore == before + 100_00


def test_the_banner_lists_every_login_with_its_number_and_how_to_get_codes():
    text = "\n".join(banner("http://127.0.0.1:8000"))

    for email, number, password in [
        ("support@nordlys.test", "", "support-demo-2026"),
        ("supervisor@nordlys.test", "", "supervisor-demo-2026"),
        ("wang.xiaoming@nordlys.test", "+47 912 34 567", "demo-wang-2026"),
        ("kari.nordmann@nordlys.test", "+47 412 34 567", "demo-kari-2026"),
        ("alex.smith@nordlys.test", "+47 461 23 456", "demo-alex-2026"),
    ]:
        assert re.search(rf"{re.escape(email)} +{re.escape(number)} *{password}", text)
    assert "NORDLYSDEMOSUPPORTAGENTTWOFACTOR" in text
    assert "manage.py demo_totp_code" in text
    assert "VELKOMMEN20" in text
    assert "manage.py demo_vouchers" in text


def test_one_demo_customer_has_a_drawn_identity_document_waiting_for_review():
    import io

    from PIL import Image

    seed()

    [document] = IdentityDocument.objects.all()
    assert document.owner.email == "wang.xiaoming@nordlys.test"
    assert (document.status, document.kind, document.content_type) == ("pending", "residence_card", "image/png")
    with document.file.open("rb") as handle:
        card = Image.open(io.BytesIO(handle.read()))
    assert card.size == (856, 540)
