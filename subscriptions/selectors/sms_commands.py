"""Reads for SMS commands, and for whoever sends texts: whether a number
asked us to stop texting it."""

from __future__ import annotations

from datetime import datetime

from subscriptions.models import Line, LineStatus, TextsStop
from subscriptions.selectors.lines import LineCard, line_detail


def texts_stopped(*, msisdn: str) -> bool:
    """True when ``msisdn`` (E.164) texted STOP and not START since: send it
    no reminders, alerts or offers by text. One query."""
    return TextsStop.objects.filter(number=msisdn).exists()


def sms_line_find(*, msisdn: str) -> Line | None:
    """The line with this number, with its owner; None for a number that is
    not one of our lines (a quarantined number is no longer anyone's)."""
    return Line.objects.select_related("owner").exclude(status=LineStatus.QUARANTINED).filter(number=msisdn).first()


def sms_line_card(*, line: Line, now: datetime | None = None) -> LineCard:
    """What BALANCE and STATUS answer from: the line's card as its page
    shows it (plan, expiry, what is left, balance), in the active language."""
    return line_detail(user=line.owner, line_id=line.pk, now=now).card
