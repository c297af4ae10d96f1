"""Replacement eSIM requests (补办 eSIM): a customer asks for a new profile
for a line, proves who they are, pays the fee if one is due, and waits out
the cooling-off hour in which the real owner can stop a SIM swap."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line


class ReplacementReason(models.TextChoices):
    NEW_PHONE = "new_phone", _("New phone")
    LOST_OR_STOLEN = "lost_or_stolen", _("Phone lost or stolen")
    PROFILE_DELETED = "profile_deleted", _("eSIM deleted from the phone")
    INSTALL_FAILED = "install_failed", _("The eSIM would not install")


class ReplacementStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the identity check")
    REVIEW = "review", _("Waiting for support's review")
    PAYMENT_DUE = "payment_due", _("Waiting for payment")
    COOLING_OFF = "cooling_off", _("Cooling-off period")
    READY = "ready", _("Being prepared")
    FULFILLED = "fulfilled", _("Done")
    STOPPED = "stopped", _("Stopped")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class RejectReason(models.TextChoices):
    """Why support rejected a request, as the customer reads it (translated
    into their language on the status page and in the email)."""

    IDENTITY = "identity", _("We could not confirm that you are the holder of this line.")
    DOCUMENT = "document", _("We could not accept your identity document.")
    SUSPICIOUS = (
        "suspicious",
        _("For your safety we stopped this request: it did not look like it came from the line's holder."),
    )
    TOO_MANY = "too_many", _("This line had too many new eSIMs in a short time.")
    OTHER = "other", _("We could not approve this request. Customer service can tell you why.")


class ReviewCause(models.TextChoices):
    NONE = "", _("No review")
    LOST_OR_STOLEN = "lost_or_stolen", _("Identity document (phone lost or stolen)")
    TOO_MANY = "too_many", _("Several replacements in a short time")


R = ReplacementStatus
# The only moves a replacement request may make (subscriptions.services.replacements
# refuses any other). The identity check leads to support's review, the fee
# or the cooling-off hour; a reviewed request skips the cooling-off hour.
# Until it is ready for fulfilment the customer may stop it.
TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.REVIEW, R.PAYMENT_DUE, R.COOLING_OFF, R.STOPPED}),
    R.REVIEW: frozenset({R.PAYMENT_DUE, R.READY, R.REJECTED, R.STOPPED}),
    R.PAYMENT_DUE: frozenset({R.COOLING_OFF, R.READY, R.STOPPED}),
    R.COOLING_OFF: frozenset({R.READY, R.STOPPED}),
    R.READY: frozenset({R.FULFILLED, R.FAILED}),
    R.FULFILLED: frozenset(),
    R.STOPPED: frozenset(),
    R.REJECTED: frozenset(),
    # Support retried the failed fulfilment (its provisioning job).
    R.FAILED: frozenset({R.READY}),
}
# A line has at most one request in these states (a partial unique constraint).
OPEN_STATUSES = frozenset({R.REQUESTED, R.REVIEW, R.PAYMENT_DUE, R.COOLING_OFF, R.READY})
# States in which the customer (or the stop link) may still stop the request.
STOPPABLE_STATUSES = frozenset({R.REQUESTED, R.REVIEW, R.PAYMENT_DUE, R.COOLING_OFF})


class ReplacementRequest(models.Model):
    """One request for a new eSIM profile on a line.

    ``public_id`` is the request id: the customer's status page uses it, and
    the SM-DP+ and the network are called with it so a retry is harmless.
    Each step's moment is kept for the customer's timeline. The identity
    code is stored only as a keyed hash. ``block_requested`` records that a
    lost or stolen line is to be blocked on the network; a worker blocks it
    through the network interface and sets ``blocked_at``, and unblocks it
    (``unblocked_at``) once the new eSIM is ready and the number is on it,
    or, for a request stopped or rejected, when support asks for it
    (``unblock_requested_at``) and the old eSIM is still on the number.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="replacement_requests", verbose_name=_("line")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReplacementReason.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=ReplacementStatus.choices, default=ReplacementStatus.REQUESTED
    )
    idempotency_key = models.CharField(_("form key"), max_length=64)

    review_cause = models.CharField(_("review because"), max_length=20, choices=ReviewCause.choices, blank=True)
    needs_document_review = models.BooleanField(_("identity document to be reviewed"), default=False)
    block_requested = models.BooleanField(_("line to be blocked"), default=False)
    blocked_at = models.DateTimeField(_("blocked on the network"), null=True, blank=True)
    # Once the new eSIM is ready the number, now on its IMSI, is unblocked.
    unblocked_at = models.DateTimeField(_("unblocked on the network"), null=True, blank=True)
    # A stopped or rejected request leaves the line blocked until support
    # unblocks it (the old eSIM still being on the number).
    unblock_requested_at = models.DateTimeField(_("unblock asked by support"), null=True, blank=True)
    unblock_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unblock asked by"),
    )
    unblock_reason = models.CharField(_("why support unblocked"), max_length=300, blank=True)
    # For a lost or stolen phone: the document support approved (or rejected).
    identity_document = models.ForeignKey(
        "accounts.IdentityDocument",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("identity document"),
    )
    fee_ore = models.PositiveIntegerField(_("fee (øre, VAT included)"), null=True, blank=True)
    why = models.CharField(_("why it stopped, was rejected or failed"), max_length=300, blank=True)
    reject_reason = models.CharField(
        _("reason given to the customer"), max_length=20, choices=RejectReason.choices, blank=True
    )

    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # The stop link's single-use part: cleared when the link is used.
    stop_nonce = models.CharField(max_length=32, blank=True, editable=False)

    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    identity_checked_at = models.DateTimeField(_("identity checked"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    cooling_off_until = models.DateTimeField(_("cooling off until"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready for fulfilment"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)
    closed_at = models.DateTimeField(_("stopped, rejected or failed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )

    class Meta:
        verbose_name = _("replacement request")
        verbose_name_plural = _("replacement requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["requested_by", "idempotency_key"], name="one_replacement_per_form"),
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="one_open_replacement_per_line",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "requested_at"]),
            models.Index(fields=["line", "requested_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def can_stop(self) -> bool:
        return self.status in STOPPABLE_STATUSES
