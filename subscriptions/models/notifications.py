"""Every reminder, notice and alert sent to a customer: one row per message,
claimed (its unique key written) before it is sent, so that a sweep run
twice, two beats or a redelivered task never send it twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import NotificationChannel, NotificationKind
from subscriptions.models.lines import Line


class NotificationState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("message state", "Waiting to be sent")
    SENT = "sent", pgettext_lazy("message state", "Sent")
    FAILED = "failed", pgettext_lazy("message state", "Failed")
    SKIPPED = "skipped", pgettext_lazy("message state", "Not sent")


class SkipReason(models.TextChoices):
    """Why a message was not sent (shown to staff)."""

    SETTING_OFF = "setting_off", _("The customer turned this kind of message off")
    NO_ADDRESS = "no_address", _("No email address or number to send to")
    RENEWED = "renewed", _("The line was renewed in the meantime")
    AUTO_RENEW = "auto_renew", _("Auto-renew was turned on in the meantime")
    AUTO_RENEW_OFF = "auto_renew_off", _("Auto-renew was turned off in the meantime")
    LINE_CLOSED = "line_closed", _("The line is being cancelled or is cancelled")
    TEXTS_STOPPED = "texts_stopped", _("The number asked us to stop sending texts")
    BALANCE_BACK = "balance_back", _("The balance went back above the alert")
    ENDED = "ended", _("The paid period had already ended")


class Notification(models.Model):
    """One message on one channel. ``claim_key`` names what it is about (the
    line, the period end, the step, the channel): unique, written before the
    message is sent. ``params`` holds what the message says, written out in
    the customer's language when it is sent."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("customer")
    )
    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications", verbose_name=_("line")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    claim_key = models.CharField(_("claim key"), max_length=160, unique=True)
    # For an expiry reminder or an auto-renew notice: the paid period it is
    # about, and which of the reminders (see services.notifications.STEPS).
    period_end = models.DateTimeField(_("about the period ending"), null=True, blank=True)
    step = models.CharField(_("step"), max_length=10, blank=True)
    params = models.JSONField(_("what it says"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=NotificationState.choices, default=NotificationState.QUEUED
    )
    skip_reason = models.CharField(_("why not sent"), max_length=20, choices=SkipReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    queued_at = models.DateTimeField(_("handed to the queue"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    error = models.CharField(_("last error"), max_length=300, blank=True)
    resent_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("resend of")
    )
    resend_reason = models.CharField(_("why resent"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("message to a customer")
        verbose_name_plural = _("messages to customers")
        ordering = ["-created_at", "-id"]
        permissions = [("resend_notification", "Can resend messages to customers")]
        indexes = [
            models.Index(fields=["line", "created_at"]),
            models.Index(fields=["line", "kind", "period_end", "step"], name="notification_line_period"),
            # The sweep's way to the messages waiting for their time or a new try.
            models.Index(fields=["not_before"], condition=Q(state="queued"), name="notification_waiting"),
            models.Index(fields=["state", "updated_at"], name="notification_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_channel_display()}) #{self.pk}"

    @property
    def why(self) -> str:
        """Why it was not sent or failed, for staff."""
        if self.state == NotificationState.SKIPPED:
            return str(self.get_skip_reason_display())
        return self.error


class FailedNotification(Notification):
    """The deliveries that failed after every try (the admin's list)."""

    class Meta:
        proxy = True
        verbose_name = _("failed message")
        verbose_name_plural = _("failed messages")
