"""`manage.py seed_demo`: the demo people, the plan catalogue and lines with a
believable history, created once however often it runs."""

import re
import time
from datetime import timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
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
    ServicePeriod,
    UsageRecord,
    Voucher,
)
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import voucher_redeem

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
    assert all(line.esim_profiles.filter(state=EsimState.INSTALLED).count() == 1 for line in Line.objects.all())
    batch = InventoryBatch.objects.get()
    assert batch.profile_count == EsimProfile.objects.count()


def test_fresh_lines_rebuilds_the_scenarios_without_duplicates():
    seed()
    first = counts()
    Line.objects.filter(number="+4741234567").update(expires_at=timezone.now() - timedelta(days=30))

    call_command("seed_demo", "--fresh-lines", stdout=StringIO())

    assert counts()["Line"] == first["Line"]
    assert counts()["EsimProfile"] == first["EsimProfile"]
    assert Line.objects.get(number="+4741234567").expires_at > timezone.now()


def test_fresh_lines_also_removes_what_was_bought_for_the_demo_lines():
    from subscriptions.models import LedgerKind, Order, PaymentMethod, Receipt
    from subscriptions.services.ledger import ledger_add
    from subscriptions.services.orders import Billing, order_place, renewal_request

    seed()
    line = Line.objects.get(number="+4741234567")
    plan = line.periods.order_by("-ends_at").first().plan
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=plan.price_ore)
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.BALANCE)
    order_place(owner=line.owner, request=request, billing=Billing(name="Kari"), idempotency_key="k", site_url="")
    assert Receipt.objects.exists()

    call_command("seed_demo", "--fresh-lines", stdout=StringIO())

    assert not Order.objects.exists()
    assert not Receipt.objects.exists()


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
