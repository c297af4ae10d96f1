"""Messages to customers: expiry reminders (7, 3 and 1 days before and on the
day; a day plan some hours before), notices before an automatic charge,
low-balance alerts; each claimed once, skipped when no longer wanted, texts
only between 09:00 and 21:00 Oslo time, in the customer's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import NotificationChannel, NotificationKind
from accounts.notifications import notification_settings_save
from portal import sms
from subscriptions.models import (
    AuditEvent,
    AutoRenewal,
    LedgerKind,
    Line,
    LineStatus,
    Notification,
    NotificationState,
    PlanPeriod,
    SavedCard,
    SkipReason,
    TextsStop,
)
from subscriptions.periods import OSLO
from subscriptions.services import notifications
from subscriptions.services.autorenew_notices import auto_renew_notices_claim
from subscriptions.services.ledger import ledger_add
from subscriptions.services.lines import line_add_period
from subscriptions.services.notifications import (
    MAX_ATTEMPTS,
    NotificationDeferred,
    expiry_reminder_step,
    expiry_reminders_claim,
    notification_deliver,
    notification_resend,
    notifications_queue_due,
    reminders_due_chunks,
)
from subscriptions.tasks import deliver_notification, send_expiry_reminders, send_waiting_notifications
from tests.factories import LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

NOON_OSLO = datetime(2026, 12, 10, 12, 0, tzinfo=OSLO)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the clock every service reads (``timezone.now``)."""

    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    set_clock(NOON_OSLO)
    return set_clock


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a call, then what it queued on commit (the eager worker sends)."""

    def run(call: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(**kwargs)

    return run


def line_ending(at: datetime, *, language: str = "en", plan: Any = None, **owner: Any) -> Line:
    """An active line whose paid period (a month, unless ``plan``) ends at ``at``."""
    plan = plan or PlanFactory(
        code="fjord-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB"
    )
    start = at - {PlanPeriod.DAY: timedelta(days=1), PlanPeriod.WEEK: timedelta(days=7)}.get(
        plan.period, timedelta(days=30)
    )
    line = LineFactory(owner=UserFactory(language=language, **owner), with_period=plan, with_period__start=start)
    Line.objects.filter(pk=line.pk).update(expires_at=at, status=LineStatus.ACTIVE)
    line.periods.update(ends_at=at)
    line.refresh_from_db()
    return line


def sweep(run_on_commit: Callable[..., Any]) -> int:
    return sum(run_on_commit(expiry_reminders_claim, line_ids=chunk) for chunk in reminders_due_chunks())


# --- when --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "step"),
    [
        (timedelta(days=8), None),
        (timedelta(days=6, hours=20), "7d"),
        (timedelta(days=2, hours=20), "3d"),
        (timedelta(hours=23), "1d"),
        (timedelta(hours=5), "day"),
    ],
)
def test_a_month_plan_is_reminded_7_3_1_days_before_and_on_the_day(left: timedelta, step: str | None) -> None:
    # Noon in Oslo: five hours later is still the same day.
    assert expiry_reminder_step(expires_at=NOON_OSLO + left, plan_period="month", now=NOON_OSLO) == step


def test_a_week_plan_gets_no_reminder_a_week_before() -> None:
    assert expiry_reminder_step(expires_at=NOON_OSLO + timedelta(days=6), plan_period="week", now=NOON_OSLO) is None
    assert expiry_reminder_step(expires_at=NOON_OSLO + timedelta(days=2), plan_period="week", now=NOON_OSLO) == "3d"


def test_a_day_plan_gets_one_reminder_some_hours_before() -> None:
    def step(left: timedelta) -> str | None:
        return expiry_reminder_step(expires_at=NOON_OSLO + left, plan_period="day", now=NOON_OSLO)

    assert step(timedelta(hours=20)) is None
    assert step(timedelta(hours=5)) == "hours"


def test_the_sweep_finds_only_lines_whose_reminder_is_due_and_unclaimed(
    clock: Any, run_on_commit: Any, sms_outbox: Any
) -> None:
    due = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    line_ending(NOON_OSLO + timedelta(days=9))  # not yet
    on_auto_renew = line_ending(NOON_OSLO + timedelta(days=2))
    Line.objects.filter(pk=on_auto_renew.pk).update(auto_renew=True)

    assert reminders_due_chunks() == [[due.pk]]
    sweep(run_on_commit)
    assert reminders_due_chunks() == []


# --- once --------------------------------------------------------------------------------


def test_a_reminder_goes_once_by_email_and_text_however_often_the_sweep_runs(
    clock: Any, run_on_commit: Any, sms_outbox: Any
) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))

    assert sweep(run_on_commit) == 2
    assert run_on_commit(expiry_reminders_claim, line_ids=[line.pk]) == 0  # a chunk run twice
    assert sweep(run_on_commit) == 0

    assert len(mail.outbox) == 1
    assert [text.to for text in sms_outbox] == [line.number]
    rows = Notification.objects.filter(line=line)
    assert {(row.channel, row.step, row.state) for row in rows} == {("email", "3d", "sent"), ("sms", "3d", "sent")}


def test_the_next_step_is_a_new_reminder(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    sweep(run_on_commit)

    clock(NOON_OSLO + timedelta(days=1, hours=6))
    sweep(run_on_commit)

    steps = sorted(Notification.objects.filter(line=line, channel="email").values_list("step", flat=True))
    assert steps == ["1d", "3d"]
    assert len(mail.outbox) == 2


def test_a_line_renewed_before_its_reminder_left_is_skipped(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    # Claimed, not yet sent (the queue is slow) ...
    claimed = [n for chunk in reminders_due_chunks() for n in [expiry_reminders_claim(line_ids=chunk)]]
    assert claimed == [2]
    # ... and the customer renews meanwhile.
    line_add_period(line=line, plan=PlanFactory(code="fjord-month"), by=line.owner, source="order")

    for notification in Notification.objects.filter(line=line):
        deliver_notification.delay(notification.pk)

    assert mail.outbox == [] and sms_outbox == []
    assert set(Notification.objects.filter(line=line).values_list("state", "skip_reason")) == {
        (NotificationState.SKIPPED, SkipReason.RENEWED)
    }


# --- what it says --------------------------------------------------------------------------

EXPIRY_TEXTS = {
    "en": ("expires on", "The paid period of", "Renew now", "Fjord 10 GB"),
    "nb": ("utløper", "Den betalte perioden for", "Forny nå", "Fjord 10 GB"),
    "zh-hans": ("到期", "已付费期限", "立即续费", "峡湾 10 GB"),
}


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_the_reminder_is_in_the_customers_language_with_a_button_to_renew_the_same_plan(
    clock: Any, run_on_commit: Any, sms_outbox: Any, language: str
) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3), language=language)
    subject_word, body, button, plan_name = EXPIRY_TEXTS[language]

    sweep(run_on_commit)

    [email] = mail.outbox
    html = email.alternatives[0][0]  # type: ignore[attr-defined]
    renew_url = f"/lines/{line.pk}/renew/fjord-month/"
    assert subject_word in email.subject
    assert body in email.body and plan_name in email.body and renew_url in email.body
    assert button in html and renew_url in html and f'lang="{language}"' in html
    [text] = sms_outbox
    assert renew_url in text.body
    assert text.body.startswith("Nordlys")
    if language == "zh-hans":
        assert "到期" in text.body


@pytest.mark.parametrize(
    ("language", "lost"), [("en", "the number is lost on"), ("nb", "mister du nummeret"), ("zh-hans", "被收回")]
)
def test_a_number_keeping_reminder_says_when_the_number_is_lost(
    clock: Any, run_on_commit: Any, sms_outbox: Any, language: str, lost: str
) -> None:
    plan = NumberKeepingPlanFactory(code="keep-quarter")
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3), language=language, plan=plan)
    Line.objects.filter(pk=line.pk).update(kind=plan.kind)

    sweep(run_on_commit)

    assert lost in mail.outbox[0].body
    assert lost in sms_outbox[0].body


# --- settings, quiet hours, failures -------------------------------------------------------


def test_a_kind_turned_off_is_claimed_as_skipped_and_not_sent(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    notification_settings_save(user=line.owner, enabled={(NotificationKind.EXPIRY, NotificationChannel.SMS): False})

    sweep(run_on_commit)

    assert len(mail.outbox) == 1 and sms_outbox == []
    text = Notification.objects.get(line=line, channel="sms")
    assert (text.state, text.skip_reason) == (NotificationState.SKIPPED, SkipReason.SETTING_OFF)


def test_a_number_that_texted_stop_gets_the_email_but_no_text(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    TextsStop.objects.create(number=line.number)

    sweep(run_on_commit)

    assert len(mail.outbox) == 1 and sms_outbox == []
    text = Notification.objects.get(line=line, channel="sms")
    assert (text.state, text.skip_reason) == (NotificationState.SKIPPED, SkipReason.TEXTS_STOPPED)


def test_at_22_oslo_the_email_goes_and_the_text_waits_until_9(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    night = datetime(2026, 12, 10, 22, 0, tzinfo=OSLO)
    clock(night)
    line = line_ending(night + timedelta(days=2, hours=3))

    sweep(run_on_commit)

    assert len(mail.outbox) == 1
    assert sms_outbox == []
    text = Notification.objects.get(line=line, channel="sms")
    assert text.state == NotificationState.QUEUED
    assert text.not_before == datetime(2026, 12, 11, 9, 0, tzinfo=OSLO)
    clock(datetime(2026, 12, 11, 8, 59, tzinfo=OSLO))
    assert run_on_commit(send_waiting_notifications.delay).get() == 0
    assert sms_outbox == []

    clock(datetime(2026, 12, 11, 9, 0, tzinfo=OSLO))
    assert run_on_commit(send_waiting_notifications.delay).get() == 1

    assert [message.to for message in sms_outbox] == [line.number]
    text.refresh_from_db()
    assert text.state == NotificationState.SENT
    assert text.sent_at == datetime(2026, 12, 11, 9, 0, tzinfo=OSLO)


def test_a_text_queued_before_21_and_delivered_after_waits_for_the_morning(
    clock: Any, run_on_commit: Any, sms_outbox: Any
) -> None:
    evening = datetime(2026, 12, 10, 20, 59, tzinfo=OSLO)
    clock(evening)
    line = line_ending(evening + timedelta(days=2, hours=3))
    expiry_reminders_claim(line_ids=[line.pk])
    text = Notification.objects.get(line=line, channel="sms")

    clock(datetime(2026, 12, 10, 21, 1, tzinfo=OSLO))
    deliver_notification.delay(text.pk)

    assert sms_outbox == []
    text.refresh_from_db()
    assert (text.state, text.not_before) == (NotificationState.QUEUED, datetime(2026, 12, 11, 9, 0, tzinfo=OSLO))
    # The email, claimed to go at once two minutes ago and never handed over, is the sweep's.
    assert notifications_queue_due() == [Notification.objects.get(line=line, channel="email").pk]


class BrokenGateway(sms.BaseBackend):
    def send(self, message: sms.SmsMessage) -> None:
        raise sms.SmsDeliveryError("gateway answered 503")


def test_a_text_the_gateway_refuses_is_retried_then_failed_with_the_error(
    clock: Any, run_on_commit: Any, settings: Any
) -> None:
    settings.SMS_BACKEND = f"{__name__}.BrokenGateway"
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    expiry_reminders_claim(line_ids=[line.pk])
    text = Notification.objects.get(line=line, channel="sms")

    for _attempt in range(MAX_ATTEMPTS - 1):
        with pytest.raises(NotificationDeferred):  # the task retries it with backoff
            notification_deliver(notification_id=text.pk)
        text.refresh_from_db()
        assert text.state == NotificationState.QUEUED
    assert notification_deliver(notification_id=text.pk) == NotificationState.FAILED

    text.refresh_from_db()
    assert text.attempts == MAX_ATTEMPTS
    assert text.error == "SmsDeliveryError: gateway answered 503"
    assert text.why == "SmsDeliveryError: gateway answered 503"


def test_staff_resend_makes_a_new_message_and_an_audit_row(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    sweep(run_on_commit)
    first = Notification.objects.get(line=line, channel="email")
    agent = UserFactory(is_staff=True)

    copy = run_on_commit(notification_resend, notification=first, reason="Customer deleted the email", by=agent)

    assert copy.pk != first.pk
    copy.refresh_from_db()
    assert copy.state == NotificationState.SENT and copy.resent_from == first
    assert len(mail.outbox) == 2
    event = AuditEvent.objects.get(line=line, action="notification_resend")
    assert (event.actor, event.reason) == (agent, "Customer deleted the email")


# --- auto-renew notices -----------------------------------------------------------------------


NOTICE_TEXTS = {"en": "renews automatically", "nb": "fornyes automatisk", "zh-hans": "自动续费"}


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_a_notice_goes_once_a_few_days_before_an_automatic_charge(
    clock: Any, run_on_commit: Any, sms_outbox: Any, language: str
) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=5), language=language)
    card = SavedCard.objects.create(owner=line.owner, provider="sandbox", method_id="pm_1", brand="Visa", last4="4242")
    AutoRenewal.objects.create(line=line, plan=line.periods.get().plan, card=card)
    Line.objects.filter(pk=line.pk).update(auto_renew=True)

    assert run_on_commit(auto_renew_notices_claim) == 2
    assert run_on_commit(auto_renew_notices_claim) == 0

    [email] = mail.outbox
    assert NOTICE_TEXTS[language] in email.subject
    assert "4242" in email.body and "199" in email.body
    assert f"/lines/{line.pk}/auto-renew/" in email.body
    assert "4242" in sms_outbox[0].body


def test_no_notice_long_before_the_charge(clock: Any, run_on_commit: Any) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=12))
    card = SavedCard.objects.create(owner=line.owner, provider="sandbox", method_id="pm_2", last4="1111")
    AutoRenewal.objects.create(line=line, plan=line.periods.get().plan, card=card)
    Line.objects.filter(pk=line.pk).update(auto_renew=True)

    assert run_on_commit(auto_renew_notices_claim) == 0


# --- low balance ----------------------------------------------------------------------------------


def test_a_low_balance_alert_goes_once_per_fall_below_the_threshold(
    clock: Any, run_on_commit: Any, sms_outbox: Any
) -> None:
    line = line_ending(NOON_OSLO + timedelta(days=20))
    Line.objects.filter(pk=line.pk).update(low_balance_threshold_ore=50_00)
    run_on_commit(ledger_add, line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, reference="t1")

    run_on_commit(ledger_add, line=line, kind=LedgerKind.USAGE, amount_ore=-60_00, reference="u1")
    run_on_commit(ledger_add, line=line, kind=LedgerKind.USAGE, amount_ore=-10_00, reference="u2")
    assert [m.subject for m in mail.outbox] == [f"Low balance on {line.number_display}"]
    assert "NOK\xa040.00, below your alert of NOK\xa050.00" in mail.outbox[0].body

    run_on_commit(ledger_add, line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, reference="t2")
    assert len(mail.outbox) == 1
    run_on_commit(ledger_add, line=line, kind=LedgerKind.USAGE, amount_ore=-100_00, reference="u3")

    assert len(mail.outbox) == 2
    assert Notification.objects.filter(line=line, kind="low_balance", channel="sms").count() == 2


def test_tasks_are_wired_to_beat(clock: Any, run_on_commit: Any, sms_outbox: Any) -> None:
    line_ending(NOON_OSLO + timedelta(days=2, hours=3))

    assert run_on_commit(send_expiry_reminders.delay).get() == 1

    assert len(mail.outbox) == 1


def test_a_chunk_cut_off_midway_and_run_again_claims_every_line_once(
    clock: Any, run_on_commit: Any, sms_outbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [line_ending(NOON_OSLO + timedelta(days=2, hours=3)) for _ in range(4)]
    [chunk] = reminders_due_chunks()
    real_claim = notifications.notifications_claim
    calls = []

    def dies_at_the_third_line(**kwargs: Any) -> list[int]:
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return real_claim(**kwargs)

    monkeypatch.setattr(notifications, "notifications_claim", dies_at_the_third_line)
    with pytest.raises(SystemExit):
        run_on_commit(expiry_reminders_claim, line_ids=chunk)
    monkeypatch.setattr(notifications, "notifications_claim", real_claim)

    run_on_commit(expiry_reminders_claim, line_ids=chunk)  # the broker gives the chunk again (acks late)

    assert sorted(message.to[0] for message in mail.outbox) == sorted(line.owner.email for line in lines)
    assert Notification.objects.filter(state=NotificationState.SENT).count() == 8


def test_a_claim_the_queue_never_took_is_queued_by_the_next_sweep_and_a_taken_one_after_the_grace(
    clock: Any, run_on_commit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    never_taken = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    taken = line_ending(NOON_OSLO + timedelta(days=2, hours=3))
    # The worker dies between the claim's commit and the hand-over: nothing runs on commit.
    expiry_reminders_claim(line_ids=[never_taken.pk])
    # The queue takes the other line's messages; its worker is lost before it sends them.
    monkeypatch.setattr(deliver_notification, "delay", lambda notification_id: None)
    run_on_commit(expiry_reminders_claim, line_ids=[taken.pk])

    rows = Notification.objects.order_by("pk")
    assert dict(rows.filter(line=taken).values_list("channel", "queued_at")) == {"email": NOON_OSLO, "sms": NOON_OSLO}
    assert set(rows.filter(line=never_taken).values_list("queued_at", flat=True)) == {None}
    assert notifications_queue_due() == []  # the hand-over of a claim just made is its own
    clock(NOON_OSLO + timedelta(minutes=1))
    assert sorted(notifications_queue_due()) == sorted(rows.filter(line=never_taken).values_list("pk", flat=True))
    assert notifications_queue_due() == []  # queued once

    clock(NOON_OSLO + notifications.QUEUED_GRACE + timedelta(seconds=30))
    assert sorted(notifications_queue_due()) == sorted(rows.filter(line=taken).values_list("pk", flat=True))


def test_the_sweep_scales_its_steps_to_the_plan(clock: Any) -> None:
    day = PlanFactory(code="fjord-day", period=PlanPeriod.DAY)
    week = PlanFactory(code="fjord-week", period=PlanPeriod.WEEK)
    day_soon = line_ending(NOON_OSLO + timedelta(hours=5), plan=day)
    line_ending(NOON_OSLO + timedelta(hours=20), plan=day)  # bought this afternoon: no reminder yet
    line_ending(NOON_OSLO + timedelta(days=6), plan=week)  # no 7-day reminder for a week plan
    week_soon = line_ending(NOON_OSLO + timedelta(days=2), plan=week)

    assert reminders_due_chunks() == [sorted([day_soon.pk, week_soon.pk])]
    expiry_reminders_claim(line_ids=reminders_due_chunks()[0])
    steps = dict(Notification.objects.filter(channel="email").values_list("line_id", "step"))
    assert steps == {day_soon.pk: "hours", week_soon.pk: "3d"}
