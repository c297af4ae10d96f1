"""What support staff see and do in the admin: finding lines, reading their
history (never an eSIM's matching ID), and the actions that go through the
services with a reason."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscriptions.admin.lines import LineAdmin
from subscriptions.models import AuditEvent, EsimState, LedgerKind, Line, LineStatus, Plan, PlanKind
from subscriptions.services.ledger import ledger_balance
from tests.factories import (
    EsimProfileFactory,
    LedgerEntryFactory,
    LineFactory,
    NumberKeepingPlanFactory,
    PlanFactory,
    UsageRecordFactory,
    UserFactory,
)
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

LINES = "/admin/subscriptions/line/"
PROFILES = "/admin/subscriptions/esimprofile/"
PLANS = "/admin/subscriptions/plan/"


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, full_name="Siri Support")
    staff_sign_in(client, user)
    return user


def staff_in(group_name: str, *extra_permissions: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    for codename in extra_permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def wang():
    owner = UserFactory(email="wang@example.test", full_name="王小明", phone="+4791234567")
    line = LineFactory(owner=owner, number="+4791234567", with_period=True)
    EsimProfileFactory(line=line, state=EsimState.INSTALLED, iccid="8947000000000001234", matching_id="SECRET-MATCH-1")
    return line


@pytest.fixture
def kari():
    owner = UserFactory(email="kari@example.test", full_name="Kari Nordmann", phone="+4741234567")
    return LineFactory(owner=owner, number="+4741234567", with_period=True)


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- who gets in ----------------------------------------------------------------


def test_a_customer_cannot_reach_the_lines_admin(client, wang):
    client.force_login(wang.owner)

    response = client.get(LINES, follow=True)

    assert response.status_code == 403
    assert "+47 912 34 567" not in text(response)


def test_the_groups_hold_what_each_role_needs():
    agent = set(Group.objects.get(name="Support agent").permissions.values_list("codename", flat=True))
    supervisor = set(Group.objects.get(name="Supervisor").permissions.values_list("codename", flat=True))

    assert {"view_line", "change_line", "suspend_line", "extend_line", "view_ledgerentry", "view_user"} <= agent
    assert {"view_auditevent", "view_usagerecord", "view_esimprofile", "view_serviceperiod", "view_plan"} <= agent
    assert {"view_order", "view_paymentevent", "view_receipt"} <= agent
    assert not agent & {"add_plan", "change_plan", "add_inventorybatch", "add_cdrimport", "add_ledgerentry"}
    assert not agent & {"refund_payment", "change_order", "change_paymentevent", "change_receipt", "pay_out_creditnote"}
    assert {"view_voucherbatch", "view_voucherattempt", "view_promocode", "view_autorenewcharge"} <= agent
    assert not agent & {"add_voucherbatch", "void_voucher", "add_promocode", "change_promocode"}
    assert "view_internationalrate" in agent
    assert supervisor == agent | {
        "add_plan",
        "change_plan",
        "add_inventorybatch",
        "add_cdrimport",
        "refund_payment",
        "add_voucherbatch",
        "void_voucher",
        "add_promocode",
        "change_promocode",
        "add_numberbatch",
        "add_simswapclient",
        "change_simswapclient",
        "add_internationalrate",
        "change_internationalrate",
        "pay_out_creditnote",
    }


def test_a_support_agent_reads_lines_and_plans_but_cannot_edit_plans(client, wang):
    staff_sign_in(client, staff_in("Support agent"))

    assert client.get(LINES).status_code == 200
    assert client.get(f"{LINES}{wang.pk}/change/").status_code == 200
    assert client.get(PLANS).status_code == 200
    assert client.get(f"{PLANS}add/").status_code == 403


def test_a_supervisor_adds_a_plan_in_three_languages(client):
    staff_sign_in(client, staff_in("Supervisor"))
    form = client.get(f"{PLANS}add/")
    assert "249 kr is 24900" in text(form)

    response = client.post(
        f"{PLANS}add/",
        {
            "code": "esim-week-3gb",
            "kind": PlanKind.ESIM,
            "period": "week",
            "is_active": "on",
            "price_ore": "7900",
            "data_mb": "3072",
            "voice_minutes": "",
            "sms_count": "",
            "name_en": "Week 3 GB",
            "description_en": "A week of data.",
            "name_nb": "Uke 3 GB",
            "description_nb": "En uke med data.",
            "name_zh_hans": "周套餐 3 GB",
            "description_zh_hans": "一周流量。",
        },
    )

    assert response.status_code == 302
    plan = Plan.objects.get(code="esim-week-3gb")
    assert (plan.price_ore, plan.data_mb, plan.voice_minutes, plan.name_zh_hans) == (7900, 3072, None, "周套餐 3 GB")


def test_a_plans_code_kind_and_period_are_fixed_once_it_exists(client, staff):
    plan = PlanFactory(code="esim-month-x")

    html = text(client.get(f"{PLANS}{plan.pk}/change/"))

    assert 'name="name_en"' in html
    assert 'name="price_ore"' in html
    assert 'name="code"' not in html
    assert 'name="kind"' not in html
    assert 'name="period"' not in html


@pytest.mark.parametrize(
    ("query", "shown"), [({"kind__exact": "number_keeping"}, "keep"), ({"is_active__exact": "0"}, "old")]
)
def test_plans_filter_by_kind_and_whether_on_sale(client, staff, query, shown):
    PlanFactory(code="esim-now", name_en="On sale now")
    NumberKeepingPlanFactory(code="keep-3", name_en="keep")
    PlanFactory(code="esim-old", name_en="old", is_active=False)

    html = text(client.get(PLANS, query))

    assert f">{shown}<" in html
    assert "On sale now" not in html


# --- finding a line --------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "+4791234567",
        "912 34 567",
        "91234567",
        "0047 912 34 567",
        "8947000000000001234",
        "wang@example.test",
        "王小明",
    ],
)
def test_staff_find_a_line_by_number_iccid_email_or_name(client, staff, wang, kari, term):
    html = text(client.get(LINES, {"q": term}))

    assert "+47 912 34 567" in html
    assert "+47 412 34 567" not in html


def test_a_search_by_number_also_finds_the_lines_of_the_owner_with_that_phone(client, staff, wang):
    second = LineFactory(owner=wang.owner, number="+4792345678", kind=PlanKind.NUMBER_KEEPING)

    html = text(client.get(LINES, {"q": "912 34 567"}))

    assert second.number_display in html


def test_a_matching_id_finds_nothing(client, staff, wang):
    assert "+47 912 34 567" not in text(client.get(LINES, {"q": "SECRET-MATCH-1"}))
    assert "8947000000000001234" not in text(client.get(PROFILES, {"q": "SECRET-MATCH-1"}))


@pytest.mark.parametrize(
    ("url", "lookup"),
    [(PROFILES, "matching_id__startswith"), (PROFILES, "matching_id"), (LINES, "esim_profiles__matching_id")],
)
def test_no_one_filters_on_a_matching_id(client, staff, wang, url, lookup):
    response = client.get(url, {lookup: "SECRET"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"status__exact": "suspended"}, {"+47 450 00 003"}),
        ({"kind__exact": "number_keeping"}, {"+47 450 00 004"}),
        ({"expiry": "expired"}, {"+47 450 00 002"}),
        ({"expiry": "7d"}, {"+47 450 00 005"}),
        ({"expiry": "30d"}, {"+47 450 00 005", "+47 450 00 001", "+47 450 00 003"}),
        ({"expiry": "later"}, {"+47 450 00 004"}),
        ({"expiry": "never"}, {"+47 450 00 006"}),
    ],
)
def test_lines_filter_by_status_kind_and_expiry(client, staff, query, shown):
    now = timezone.now()
    numbers = {
        "+4745000001": dict(status=LineStatus.ACTIVE, expires_at=now + timedelta(days=20)),
        "+4745000002": dict(status=LineStatus.EXPIRED, expires_at=now - timedelta(days=1)),
        "+4745000003": dict(status=LineStatus.SUSPENDED, expires_at=now + timedelta(days=12)),
        "+4745000004": dict(
            kind=PlanKind.NUMBER_KEEPING, status=LineStatus.ACTIVE, expires_at=now + timedelta(days=80)
        ),
        "+4745000005": dict(status=LineStatus.ACTIVE, expires_at=now + timedelta(days=2)),
        "+4745000006": dict(status=LineStatus.PENDING, expires_at=None),
    }
    for number, fields in numbers.items():
        LineFactory(number=number, **fields)

    html = text(client.get(LINES, query))

    listed = {f"+47 450 00 00{n}" for n in range(1, 7) if f"+47 450 00 00{n}" in html}
    assert listed == shown


def test_lines_filter_by_the_plan_of_any_of_their_periods(client, staff):
    monthly, weekly = PlanFactory(code="esim-monthly"), PlanFactory(code="esim-weekly", period="week")
    on_monthly = LineFactory(number="+4745000011", with_period=monthly)
    LineFactory(number="+4745000012", with_period=weekly)

    html = text(client.get(LINES, {"plan": str(monthly.pk)}))

    assert on_monthly.number_display in html
    assert "+47 450 00 012" not in html


# --- the line page ----------------------------------------------------------------


def test_the_line_page_shows_its_history_read_only_and_never_the_matching_id(client, staff, wang):
    LedgerEntryFactory(line=wang, kind=LedgerKind.TOPUP, amount_ore=200_00, reference="vipps-77")
    UsageRecordFactory(line=wang, record_id="cdr-visible", quantity=2048)
    AuditEvent.objects.create(line=wang, action="suspend", reason="Stolen phone", actor=staff)

    html = text(client.get(f"{LINES}{wang.pk}/change/"))

    for shown in ["8947000000000001234", "vipps-77", "cdr-visible", "Stolen phone", "200.00", "王小明"]:
        assert shown in html
    assert "SECRET-MATCH-1" not in html
    for field in ["status", "expires_at", "number", "owner", "kind", "auto_renew"]:
        assert f'name="{field}"' not in html
    assert 'name="low_balance_threshold_ore"' in html
    for inline_field in [
        "periods-0-ends_at",
        "ledger_entries-0-amount_ore",
        "usage-0-quantity",
        "audit_events-0-reason",
    ]:
        assert f'name="{inline_field}"' not in html
    assert 'name="esim_profiles-0-DELETE"' not in html


def test_the_line_page_shows_only_the_newest_usage(client, staff, wang):
    start = timezone.now() - timedelta(days=5)
    for n in range(60):
        UsageRecordFactory(line=wang, record_id=f"cdr-{n:03d}", occurred_at=start + timedelta(minutes=n))

    html = text(client.get(f"{LINES}{wang.pk}/change/"))

    assert "cdr-059" in html
    assert "cdr-010" in html
    assert "cdr-009" not in html
    assert f"/admin/subscriptions/usagerecord/?line__id__exact={wang.pk}" in html


class FormFields(HTMLParser):
    """The fields a browser would post back from a page's forms."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "checkbox"}:
            self.data[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.data[a["name"]] = a.get("value", "on")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.data[a["name"]] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.data


def test_the_low_balance_alert_is_set_through_its_service_and_the_status_cannot_be_posted(client, staff, wang):
    page = text(client.get(f"{LINES}{wang.pk}/change/"))
    data = form_fields(page)
    data.update({"low_balance_threshold_ore": "5000", "status": LineStatus.CANCELLED, "expires_at": "2030-01-01"})

    response = client.post(f"{LINES}{wang.pk}/change/", data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    wang.refresh_from_db()
    assert (wang.low_balance_threshold_ore, wang.status) == (5000, LineStatus.ACTIVE)
    assert wang.expires_at.year != 2030
    event = AuditEvent.objects.get(line=wang)
    assert (event.action, event.actor, event.data) == ("low_balance_threshold", staff, {"threshold_ore": 5000})


def test_a_low_balance_alert_above_100_000_kr_is_refused_next_to_the_field(client, staff, wang):
    data = form_fields(text(client.get(f"{LINES}{wang.pk}/change/")))
    data["low_balance_threshold_ore"] = "10000001"

    response = client.post(f"{LINES}{wang.pk}/change/", data)

    assert response.status_code == 200
    assert "10000000" in text(response)
    wang.refresh_from_db()
    assert wang.low_balance_threshold_ore is None
    assert not AuditEvent.objects.exists()


def test_staff_cannot_add_or_delete_lines_or_touch_the_ledger(client, staff, wang):
    entry = LedgerEntryFactory(line=wang)

    assert client.get(f"{LINES}add/").status_code == 403
    assert client.post(f"{LINES}{wang.pk}/delete/").status_code == 403
    assert client.get("/admin/subscriptions/ledgerentry/add/").status_code == 403
    assert client.post(f"/admin/subscriptions/ledgerentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/subscriptions/ledgerentry/{entry.pk}/change/", {"amount_ore": "1"}).status_code == 403
    entry.refresh_from_db()
    assert entry.amount_ore == 100_00
    for model in ["usagerecord", "auditevent", "serviceperiod", "esimprofile"]:
        assert client.get(f"/admin/subscriptions/{model}/add/").status_code == 403


def test_the_profile_list_and_page_show_iccid_state_line_and_batch_but_never_the_matching_id(client, staff, wang):
    profile = wang.esim_profiles.get()

    listing = text(client.get(PROFILES))
    page = text(client.get(f"{PROFILES}{profile.pk}/change/"))

    for html in (listing, page):
        assert "8947000000000001234" in html
        assert "+47 912 34 567" in html
        assert profile.batch.filename in html
        assert "SECRET-MATCH-1" not in html
        assert "matching" not in html.lower()


# --- actions ----------------------------------------------------------------------


def run_action(client, action: str, lines: list[Line], **fields: str):
    """The two steps a browser takes: choose the action on the list, then
    fill in the reason on the page it opens."""
    ids = [str(line.pk) for line in lines]
    page = client.post(LINES, {"action": action, "_selected_action": ids, "index": "0"})
    assert page.status_code == 200
    return page, client.post(LINES, {"action": action, "_selected_action": ids, "apply": "yes", **fields})


def test_suspending_asks_for_a_reason_first_then_audits_the_staff_member(client, staff, wang, kari):
    page, response = run_action(client, "suspend_lines", [wang, kari], reason="Customer reported the phone stolen")

    html = text(page)
    assert "This applies to 2 lines:" in html
    assert "+47 912 34 567" in html and "+47 412 34 567" in html
    assert html.count('name="_selected_action"') == 2
    assert 'name="reason"' in html
    assert response.status_code == 302
    for line in (wang, kari):
        line.refresh_from_db()
        assert line.status == LineStatus.SUSPENDED
        event = AuditEvent.objects.get(line=line)
        assert (event.action, event.actor, event.reason) == ("suspend", staff, "Customer reported the phone stolen")
    assert messages_of(response) == ["Suspended 2 lines."]


def test_the_reason_page_has_no_inline_script_or_style(client, staff, wang):
    page = text(client.post(LINES, {"action": "extend_lines", "_selected_action": [wang.pk], "index": "0"}))

    assert 'name="days"' in page
    assert "<style" not in page
    assert " style=" not in page
    assert page.count("<script") == page.count("<script src=")


def test_choosing_an_action_changes_nothing_until_the_reason_is_given(client, staff, wang):
    client.post(LINES, {"action": "suspend_lines", "_selected_action": [wang.pk], "index": "0"})
    response = client.post(
        LINES, {"action": "suspend_lines", "_selected_action": [wang.pk], "apply": "yes", "reason": ""}
    )

    assert response.status_code == 200
    assert "This field is required" in text(response)
    wang.refresh_from_db()
    assert wang.status == LineStatus.ACTIVE
    assert not AuditEvent.objects.exists()


def test_a_line_the_state_machine_refuses_is_reported_and_the_others_go_ahead(client, staff, wang):
    expired = LineFactory(number="+4748765432", with_period=True, with_period__days_ago=40)
    assert expired.status == LineStatus.EXPIRED

    _, response = run_action(client, "suspend_lines", [wang, expired], reason="Fraud check")

    wang.refresh_from_db()
    expired.refresh_from_db()
    assert (wang.status, expired.status) == (LineStatus.SUSPENDED, LineStatus.EXPIRED)
    assert not AuditEvent.objects.filter(line=expired).exists()
    success, warning = messages_of(response)
    assert success == "Suspended 1 line."
    assert "+47 487 65 432" in warning
    assert "nothing to suspend" in warning
    assert "+47 912 34 567" not in warning


def test_resuming_a_suspended_line_makes_it_active_and_a_lapsed_one_expired(client, staff, wang, kari):
    for line in (wang, kari):
        line.status = LineStatus.SUSPENDED
        line.save()
    Line.objects.filter(pk=kari.pk).update(expires_at=timezone.now() - timedelta(days=1))

    _, response = run_action(client, "resume_lines", [wang, kari], reason="Customer called back")

    wang.refresh_from_db()
    kari.refresh_from_db()
    assert (wang.status, kari.status) == (LineStatus.ACTIVE, LineStatus.EXPIRED)
    assert AuditEvent.objects.filter(action="resume", actor=staff, reason="Customer called back").count() == 2
    assert any("+47 412 34 567" in message and "expired" in message for message in messages_of(response))


def test_goodwill_extends_each_line_by_the_days_given(client, staff, wang, kari):
    before = {line.pk: line.expires_at for line in (wang, kari)}

    _, response = run_action(client, "extend_lines", [wang, kari], days="7", reason="Outage on 3 March")

    assert response.status_code == 302
    for line in (wang, kari):
        line.refresh_from_db()
        assert line.expires_at == before[line.pk] + timedelta(days=7)
        event = AuditEvent.objects.get(line=line)
        assert (event.action, event.actor, event.reason, event.data["days"]) == (
            "extend",
            staff,
            "Outage on 3 March",
            7,
        )
    assert messages_of(response) == ["Extended 2 lines."]


@pytest.mark.parametrize("days", ["0", "400", "seven"])
def test_goodwill_needs_a_sensible_number_of_days(client, staff, wang, days):
    expires_at = wang.expires_at

    _, response = run_action(client, "extend_lines", [wang], days=days, reason="Outage")

    assert response.status_code == 200
    wang.refresh_from_db()
    assert wang.expires_at == expires_at


def test_goodwill_on_a_line_without_a_period_is_reported(client, staff, wang):
    pending = LineFactory(number="+4748000001")

    _, response = run_action(client, "extend_lines", [pending, wang], days="3", reason="Sorry")

    assert any("+47 480 00 001" in message and "no period" in message for message in messages_of(response))


def test_a_support_agent_runs_the_actions(client, wang):
    agent = staff_in("Support agent")
    staff_sign_in(client, agent)

    run_action(client, "suspend_lines", [wang], reason="Lost phone")

    wang.refresh_from_db()
    assert wang.status == LineStatus.SUSPENDED
    assert AuditEvent.objects.get(line=wang).actor == agent


def test_staff_without_the_permission_are_not_offered_the_actions_and_cannot_post_them(client, wang):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_line", "change_line"]))
    staff_sign_in(client, viewer)

    listing = text(client.get(LINES))
    assert "+47 912 34 567" in listing
    assert "suspend_lines" not in listing
    assert "extend_lines" not in listing

    for action in ["suspend_lines", "resume_lines", "extend_lines"]:
        response = client.post(
            LINES, {"action": action, "_selected_action": [wang.pk], "apply": "yes", "reason": "x", "days": "3"}
        )
        assert "reason" not in text(response)
    wang.refresh_from_db()
    assert wang.status == LineStatus.ACTIVE
    assert not AuditEvent.objects.exists()


def test_suspending_without_the_extend_permission_still_works_and_extending_does_not(client, wang):
    agent = UserFactory(is_staff=True)
    agent.user_permissions.add(*Permission.objects.filter(codename__in=["view_line", "suspend_line"]))
    staff_sign_in(client, agent)

    listing = text(client.get(LINES))

    assert "suspend_lines" in listing
    assert "extend_lines" not in listing


# --- the query count does not grow with the data ----------------------------------------


def busy_line(n: int, plan: Plan) -> Line:
    line = LineFactory(number=f"+47460{n:05d}", with_period=plan)
    EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    LedgerEntryFactory(line=line, amount_ore=100_00, created_by=line.owner)
    UsageRecordFactory(line=line)
    AuditEvent.objects.create(line=line, action="suspend", actor=line.owner)
    return line


def queries_for(client, url: str, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url",
    [
        LINES,
        PROFILES,
        PLANS,
        "/admin/subscriptions/serviceperiod/",
        "/admin/subscriptions/usagerecord/",
        "/admin/subscriptions/ledgerentry/",
        "/admin/subscriptions/auditevent/",
    ],
)
def test_a_list_costs_the_same_queries_for_1_or_20_lines(client, staff, url, django_assert_max_num_queries):
    plan = PlanFactory()
    busy_line(0, plan)
    one = queries_for(client, url)
    for n in range(1, 20):
        busy_line(n, plan)

    with django_assert_max_num_queries(one):
        client.get(url)
    with django_assert_max_num_queries(12):
        client.get(url, {"q": "460 00 005"} if url == LINES else {})


def test_a_line_page_costs_the_same_queries_for_little_or_much_history(client, staff, django_assert_max_num_queries):
    plan = PlanFactory()
    quiet, busy = busy_line(1, plan), busy_line(2, plan)
    for _ in range(80):
        UsageRecordFactory(line=busy)
        LedgerEntryFactory(line=busy, amount_ore=-1_00)
        AuditEvent.objects.create(line=busy, action="note", actor=staff)
    quiet_queries = queries_for(client, f"{LINES}{quiet.pk}/change/")

    with django_assert_max_num_queries(quiet_queries):
        client.get(f"{LINES}{busy.pk}/change/")
    assert quiet_queries <= 25


def test_the_list_and_the_page_show_the_balance_the_services_see_and_the_list_sorts_by_it(client, staff, wang, kari):
    for amount in (150_00, -25_50):
        LedgerEntryFactory(line=wang, amount_ore=amount)
    LedgerEntryFactory(line=kari, amount_ore=-3_00)
    balance_column = LineAdmin.list_display.index("balance") + 1

    listed = text(client.get(LINES, {"o": str(balance_column)}))
    page = text(client.get(f"{LINES}{wang.pk}/change/"))

    assert ledger_balance(line=wang) == 124_50
    assert "NOK\xa0124.50" in listed and "NOK\xa0124.50" in page
    assert listed.index(kari.number_display) < listed.index(wang.number_display)
