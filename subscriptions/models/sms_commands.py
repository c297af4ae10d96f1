"""Texts customers send to the service number (SMS commands), and the
numbers that asked us to stop texting them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    RUNNING = "running", _("Being answered")
    ANSWERED = "answered", _("Answered")
    THROTTLED = "throttled", _("Not answered: too many texts")
    FAILED = "failed", _("Failed")


class InboundSms(models.Model):
    """One text the gateway passed on, claimed by its message id: a replay
    of the same id meets the unique constraint and changes nothing."""

    message_id = models.CharField(_("gateway message id"), max_length=100, unique=True)
    sender = models.CharField(_("from"), max_length=16)
    # A TOPUP's voucher code is masked once the command has run.
    text = models.CharField(_("text"), max_length=1600)
    line = models.ForeignKey(
        Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("line")
    )
    status = models.CharField(_("status"), max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    command = models.CharField(_("command"), max_length=12, blank=True)
    reply = models.CharField(_("reply"), max_length=1600, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    # When a worker took it to answer: one taken long ago and not answered
    # had its worker die, and is handed back (sms_commands_unstick).
    claimed_at = models.DateTimeField(_("taken to answer"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("text received")
        verbose_name_plural = _("texts received")
        ordering = ["-received_at", "-id"]
        # The rate limit counts a number's recent texts.
        indexes = [models.Index(fields=["sender", "received_at"])]

    def __str__(self) -> str:
        return f"{self.sender} {self.message_id}"


class TextsStop(models.Model):
    """A number that texted STOP: no reminders, alerts or offers by text
    until it texts START (replies to its own commands still go)."""

    number = models.CharField(_("phone number"), max_length=16, unique=True)
    stopped_at = models.DateTimeField(_("stopped"), default=timezone.now)

    class Meta:
        verbose_name = _("number that stopped texts")
        verbose_name_plural = _("numbers that stopped texts")

    def __str__(self) -> str:
        return self.number
