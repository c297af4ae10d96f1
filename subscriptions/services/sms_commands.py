"""SMS commands (余额查询 by text): a text to the service number is claimed
by its message id, then answered by a worker in the line owner's language.

The webhook's part, ``sms_inbound_receive``, stores the text once per
message id and starts the answer on commit, unless the number has sent too
many texts lately. The worker's part, ``sms_command_answer``, runs the
command (BALANCE, STATUS, HELP, TOPUP, STOP, START), writes it to the line's
audit trail and queues the reply through ``portal.sms``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.messaging import sms_send
from accounts.texts import text_allowance_take, text_country
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_data, format_moment, format_nok, join_sentences
from subscriptions.models import InboundSms, InboundStatus, Line, TextsStop, UsageKind
from subscriptions.periods import OSLO
from subscriptions.selectors.sms_commands import sms_line_card, sms_line_find
from subscriptions.services.audit import audit_record
from subscriptions.services.throttle import throttle_hold
from subscriptions.services.vouchers import VoucherError, voucher_redeem
from subscriptions.sms_commands import Command, ParsedCommand, command_parse, text_masked
from subscriptions.sms_gateway import InboundText

logger = logging.getLogger(__name__)

# A number that is not a line gets its answer in Norwegian and English,
# unless its command word says which language it speaks.
UNKNOWN_NUMBER_LANGUAGES = ("nb", "en")
# A text taken to answer and still not answered after this lost its worker:
# well over the longest a task may run (CELERY_TASK_TIME_LIMIT).
STUCK_AFTER = timedelta(minutes=10)


# --- the webhook's part --------------------------------------------------------------


@transaction.atomic
def sms_inbound_receive(*, text: InboundText, now: datetime | None = None) -> InboundSms | None:
    """Claim a text the gateway passed on. Returns the stored row, or None
    for a message id already taken (a replay: nothing happens again).

    1. Hold the sender's number (``_number_hold``) until the transaction
       ends, so its texts are counted one after another.
    2. A message id seen before is a replay.
    3. Count the number's texts in the last SMS_COMMANDS_WINDOW_SECONDS that
       were let through; at SMS_COMMANDS_PER_WINDOW the text is stored as
       THROTTLED and not answered (an auto-responder on the other end must
       not get us into an endless exchange).
    4. Store it with the line that has the number (none for a stranger) and
       queue the answer once the transaction commits.
    """
    now = now or timezone.now()
    _number_hold(text.sender)
    if InboundSms.objects.filter(message_id=text.message_id).exists():
        return None
    window = timedelta(seconds=settings.SMS_COMMANDS_WINDOW_SECONDS)
    recent = (
        InboundSms.objects.filter(sender=text.sender, received_at__gt=now - window)
        .exclude(status=InboundStatus.THROTTLED)
        .count()
    )
    throttled = recent >= settings.SMS_COMMANDS_PER_WINDOW
    line = sms_line_find(msisdn=text.sender)
    try:
        # A savepoint: the same id racing in from another sender's hold
        # meets the unique constraint here.
        with transaction.atomic():
            inbound = InboundSms.objects.create(
                message_id=text.message_id,
                sender=text.sender,
                # A text that will never be answered keeps no voucher code.
                text=text_masked(text.text) if throttled else text.text,
                line=line,
                status=InboundStatus.THROTTLED if throttled else InboundStatus.RECEIVED,
                received_at=now,
            )
    except IntegrityError:
        return None
    if throttled:
        logger.warning("text %s from %s not answered: too many texts from the number", inbound.pk, text.sender)
    else:
        from subscriptions.tasks import answer_sms_command

        inbound_id = inbound.pk
        transaction.on_commit(lambda: answer_sms_command.delay(inbound_id))
    return inbound


def _number_hold(number: str) -> None:
    """Make the texts of one number wait for each other until the calling
    transaction ends (a number has no row of its own to lock): the guessing
    limits' hold, with the number as its scope."""
    throttle_hold(name="sms-commands", scopes=[number])


# --- the worker's part ----------------------------------------------------------------


@dataclass
class Answer:
    """A command's reply and what its audit row records."""

    reply: str
    result: str = "answered"
    data: dict[str, Any] = field(default_factory=dict)


def sms_command_answer(*, inbound_id: int, now: datetime | None = None) -> InboundSms | None:
    """Answer a stored text, once. Returns it answered, or None when it was
    not there to answer (answered already, or throttled).

    1. Claim it: a conditional update from RECEIVED to RUNNING that must
       change one row (a second task for the same text stops here).
    2. Read the command; answer in the line owner's language, or for a
       stranger in the language of the command word (Norwegian and English
       when it has none).
    3. Run the command. TOPUP redeems through the voucher service, outside
       any transaction of ours (its refusals must stay counted) and under
       its attempt limits, per customer and line.
    4. In one transaction: STOP or START stored for the number, the audit
       row on the line, the reply kept (a voucher code masked in the stored
       text), and the reply queued on commit.

    A worker lost between 1 and 4 leaves the text RUNNING; the sweep
    ``sms_commands_unstick`` hands it back to be answered from the start.
    Nothing is done twice by that: step 4 is one transaction (no audit row
    or reply was kept), STOP and START only set what they set, and a
    voucher a lost TOPUP had credited is found used by this line, which the
    reply then says.
    """
    now = now or timezone.now()
    claimed = InboundSms.objects.filter(pk=inbound_id, status=InboundStatus.RECEIVED).update(
        status=InboundStatus.RUNNING, claimed_at=now
    )
    if claimed != 1:
        return None
    inbound = InboundSms.objects.select_related("line__owner").get(pk=inbound_id)
    parsed = command_parse(inbound.text)
    line = inbound.line
    try:
        if line is not None:
            with translation.override(line.owner.language):
                answer = _line_answer(line=line, parsed=parsed, now=now)
        else:
            answer = _stranger_answer(number=inbound.sender, parsed=parsed)
    except Exception:
        InboundSms.objects.filter(pk=inbound_id).update(status=InboundStatus.FAILED, text=text_masked(inbound.text))
        logger.exception("text %s from %s could not be answered", inbound_id, inbound.sender)
        raise
    return _answer_record(inbound=inbound, parsed=parsed, answer=answer, now=now)


@transaction.atomic
def _answer_record(*, inbound: InboundSms, parsed: ParsedCommand, answer: Answer, now: datetime) -> InboundSms:
    """Step 4 of ``sms_command_answer``."""
    if parsed.command == Command.STOP:
        TextsStop.objects.get_or_create(number=inbound.sender, defaults={"stopped_at": now})
    elif parsed.command == Command.START:
        TextsStop.objects.filter(number=inbound.sender).delete()
    command = parsed.command.value if parsed.known else "unknown"
    if inbound.line is not None:
        audit_record(
            line=inbound.line,
            action="sms_command",
            by=inbound.line.owner,
            reason=f"SMS {command}",
            data={"command": command, "message": inbound.message_id, "result": answer.result, **answer.data},
        )
    inbound.status = InboundStatus.ANSWERED
    inbound.command = command
    inbound.text = text_masked(inbound.text)
    inbound.reply = answer.reply[:1600]
    inbound.answered_at = now
    inbound.save(update_fields=["status", "command", "text", "reply", "answered_at"])
    if _reply_allowed(inbound):
        # From the service number, not the sender name: the customer can text the next command back.
        sms_send(to=inbound.sender, body=answer.reply, sender=settings.SMS_SERVICE_NUMBER)
    return inbound


def _reply_allowed(inbound: InboundSms) -> bool:
    """A line of ours always gets its reply. A stranger's reply is a text
    anyone could make us send (a sender can be forged), so it counts against
    the hourly caps for the number's country and in total."""
    if inbound.line is not None:
        return True
    refused_by = text_allowance_take(country=text_country(inbound.sender), address=None)
    if refused_by:
        logger.warning("reply to text %s not sent: the hourly cap per %s is reached", inbound.pk, refused_by)
        return False
    return True


def sms_commands_unstick(*, now: datetime | None = None) -> list[int]:
    """Texts a worker took to answer more than STUCK_AFTER ago and never
    answered (it died: a task runs CELERY_TASK_TIME_LIMIT at most): each is
    set back to received, by a conditional update on its claim time (two
    sweeps side by side hand it back once), and its ids returned to queue."""
    now = now or timezone.now()
    stuck = InboundSms.objects.filter(status=InboundStatus.RUNNING, claimed_at__lte=now - STUCK_AFTER)
    handed_back = []
    for inbound_id, claimed_at in stuck.values_list("pk", "claimed_at")[:100]:
        updated = InboundSms.objects.filter(pk=inbound_id, status=InboundStatus.RUNNING, claimed_at=claimed_at).update(
            status=InboundStatus.RECEIVED, claimed_at=None
        )
        if updated == 1:
            logger.warning(
                "text %s was taken to answer at %s and never answered: answering it again", inbound_id, claimed_at
            )
            handed_back.append(inbound_id)
    return handed_back


# --- the commands ---------------------------------------------------------------------


def _line_answer(*, line: Line, parsed: ParsedCommand, now: datetime) -> Answer:
    if not parsed.known or parsed.command == Command.HELP:
        return Answer(reply=_help_text(), result="help")
    if parsed.command == Command.BALANCE:
        card = sms_line_card(line=line, now=now)
        return Answer(
            reply=_("Balance on %(number)s: %(balance)s.")
            % {"number": line.number_display, "balance": format_nok(card.balance_ore)},
            data={"balance_ore": card.balance_ore},
        )
    if parsed.command == Command.STATUS:
        return Answer(reply=_status_text(line=line, now=now))
    if parsed.command == Command.TOPUP:
        return _topup(line=line, code=parsed.argument)
    if parsed.command == Command.STOP:
        return Answer(reply=_stop_text())
    return Answer(reply=_start_text())


def _status_text(*, line: Line, now: datetime) -> str:
    card = sms_line_card(line=line, now=now)
    first = _("%(number)s: %(plan)s, %(status)s.") % {
        "number": line.number_display,
        "plan": card.plan_name or _("no plan paid for"),
        "status": card.status_label.lower() if translation.get_language() != "zh-hans" else card.status_label,
    }
    expiry = ""
    if card.expires_at is not None and not card.closed:
        moment = format_moment(timezone.localtime(card.expires_at, OSLO))
        expiry = (_("Expired %(expiry)s.") if card.expired else _("Valid until %(expiry)s.")) % {"expiry": moment}
    data = ""
    allowance = next((allowance for allowance in card.allowances if allowance.kind == UsageKind.DATA), None)
    if allowance is not None and not card.expired:
        if allowance.unlimited:
            data = _("Data: unlimited.")
        elif not allowance.not_included:
            data = _("Data left: %(data)s.") % {"data": format_data(allowance.remaining or 0)}
    return join_sentences(first, expiry, data)


def _topup(*, line: Line, code: str) -> Answer:
    if not code:
        return Answer(reply=_("Send TOPUP followed by the 16-digit voucher code."), result="no_code")
    try:
        redemption = voucher_redeem(user=line.owner, line=line, code=code, ip_address=None, channel="sms")
    except VoucherError as error:
        return Answer(reply=str(error), result=str(error.result))
    except CustomerError as error:
        return Answer(reply=str(error), result="refused")
    return Answer(reply=redemption.message, result="credited", data={"voucher": redemption.voucher.pk})


def _help_text() -> str:
    return _("Text BALANCE, STATUS, TOPUP and a voucher code, STOP or START to %(service)s. More: %(site)s") % {
        "service": settings.SMS_SERVICE_NUMBER,
        "site": settings.SITE_URL + reverse("help"),
    }


def _stop_text() -> str:
    return _("You will get no more reminders or alerts by text from us. Text START to get them again.")


def _start_text() -> str:
    return _("You will get reminders and alerts by text again. Text STOP to stop them.")


def _stranger_answer(*, number: str, parsed: ParsedCommand) -> Answer:
    """For a number that is not a line of ours: STOP and START work (they
    are about the number), everything else gets a short help text, and no
    one's data."""
    languages = (parsed.language,) if parsed.language else UNKNOWN_NUMBER_LANGUAGES
    replies = []
    for language in languages:
        with translation.override(language):
            if parsed.command == Command.STOP and parsed.known:
                replies.append(_stop_text())
            elif parsed.command == Command.START and parsed.known:
                replies.append(_start_text())
            else:
                replies.append(
                    _("This number is not a Nordlys Mobil line. Help: %(site)s")
                    % {"site": settings.SITE_URL + reverse("help")}
                )
    return Answer(reply="\n".join(replies), result="not_a_line")
