"""The pretend payment provider's own book. It stands in for a third party's
database: the portal's code reaches it only through its adapter,
``subscriptions.payments.sandbox``, the way it reaches a real provider's API."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.payments import PaymentState


class SandboxOutcome(models.TextChoices):
    """What the tester picks on the sandbox's hosted page."""

    APPROVE = "approve", _("Approve")
    DECLINE = "decline", _("Decline")
    INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient funds")
    NEVER_ANSWER = "never_answer", _("Never answer")
    CANCEL = "cancel", _("Cancel")
    # Saving a card (setup mode): a card that pays, or one whose later
    # off-session charges are declined.
    SAVE_CARD = "save_card", _("Save card")
    SAVE_DECLINING_CARD = "save_declining_card", _("Save a card that will decline")


class SandboxMode(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    SETUP = "setup", _("Save a card")


class SandboxCard(models.Model):
    """A card the sandbox keeps for off-session charges."""

    method_id = models.CharField(max_length=40, unique=True)
    customer_ref = models.CharField(max_length=64)
    brand = models.CharField(max_length=20, default="visa")
    last4 = models.CharField(max_length=4, default="4242")
    exp_month = models.PositiveSmallIntegerField(default=12)
    exp_year = models.PositiveSmallIntegerField(default=2030)
    declines = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Taken off the customer (the portal deleted the account): never charged again.
    detached_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.method_id


class SandboxPayment(models.Model):
    payment_id = models.CharField(max_length=40, unique=True)
    mode = models.CharField(max_length=10, choices=SandboxMode.choices, default=SandboxMode.PAYMENT)
    # A setup's saved card, or the saved card an off-session payment charged.
    card = models.ForeignKey(SandboxCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=64)
    amount_ore = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    return_url = models.URLField(max_length=2000)
    notify_url = models.URLField(max_length=2000)
    language = models.CharField(max_length=10, default="en")
    state = models.CharField(max_length=10, choices=PaymentState.choices, default=PaymentState.PENDING)
    outcome = models.CharField(max_length=24, choices=SandboxOutcome.choices, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    callbacks_sent = models.PositiveIntegerField(default=0)
    refunded_ore = models.PositiveIntegerField(default=0)
    refund_ids = models.JSONField(default=list)

    class Meta:
        verbose_name = "sandbox payment"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.payment_id


# --- the pretend SM-DP+ (sandbox.smdp) -------------------------------------------------


class SmdpProfileState(models.TextChoices):
    """SGP.22's profile states on an SM-DP+."""

    AVAILABLE = "available", "Available"
    ALLOCATED = "allocated", "Allocated"
    CONFIRMED = "confirmed", "Confirmed"
    RELEASED = "released", "Released"
    DOWNLOADED = "downloaded", "Downloaded"
    INSTALLED = "installed", "Installed"
    UNAVAILABLE = "unavailable", "Unavailable"


class SandboxSmdpProfile(models.Model):
    """A profile as the pretend SM-DP+ keeps it. It knows every ICCID the
    portal asks about (as if the vendor's file had been loaded into it)."""

    iccid = models.CharField(max_length=20, unique=True)
    state = models.CharField(max_length=12, choices=SmdpProfileState.choices, default=SmdpProfileState.AVAILABLE)
    eid = models.CharField(max_length=32, blank=True)
    matching_id = models.CharField(max_length=255, blank=True)
    # SHA-256 of the confirmation code ConfirmOrder gave (the phone must
    # type it); empty when none is needed.
    confirmation_code_hash = models.CharField(max_length=64, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sandbox SM-DP+ profile"

    def __str__(self) -> str:
        return f"{self.iccid} {self.state}"


class SandboxSmdpCall(models.Model):
    """Every ES2+ call the pretend SM-DP+ answered, by request id
    (functionCallIdentifier): the same id again gets the same answer."""

    requester = models.CharField(max_length=255)
    call_id = models.CharField(max_length=255)
    function = models.CharField(max_length=40)
    iccid = models.CharField(max_length=20, blank=True)
    answer = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sandbox SM-DP+ call"
        constraints = [models.UniqueConstraint(fields=["requester", "call_id"], name="sandbox_smdp_call_once")]

    def __str__(self) -> str:
        return f"{self.function} {self.call_id}"


class SandboxSmdpNotification(models.Model):
    """A HandleDownloadProgressInfo the pretend SM-DP+ owes the portal, sent
    by a task until taken."""

    call_id = models.CharField(max_length=64, unique=True)
    iccid = models.CharField(max_length=20)
    point = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=24, default="Executed-Success")
    happened_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "sandbox SM-DP+ notification"
        ordering = ["happened_at", "id"]

    def __str__(self) -> str:
        return f"{self.iccid} point {self.point}"


# --- the pretend network (sandbox.network) ---------------------------------------------


class SandboxSubscriber(models.Model):
    """A number on the pretend network: its IMSI and whether it is blocked."""

    msisdn = models.CharField(max_length=16, unique=True)
    imsi = models.CharField(max_length=15, blank=True)
    blocked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "sandbox network subscriber"

    def __str__(self) -> str:
        return self.msisdn


class SandboxNetworkRequest(models.Model):
    """Every provisioning request the pretend network took, by request id:
    the same id again gets the same answer."""

    request_id = models.CharField(max_length=255, unique=True)
    action = models.CharField(max_length=12)
    msisdn = models.CharField(max_length=16)
    old_imsi = models.CharField(max_length=15, blank=True)
    new_imsi = models.CharField(max_length=15, blank=True)
    # Empty when done; else the code it was refused with.
    error = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sandbox network request"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.msisdn}"


# --- the pretend phone's texts to the service number (sandbox.sms) ---------------------


class SandboxText(models.Model):
    """A text the pretend phone sent to the service number, and whether the
    pretend gateway got it to the portal."""

    number = models.CharField(max_length=16)
    text = models.CharField(max_length=1600)
    message_id = models.CharField(max_length=100, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sandbox text"
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return self.message_id


# --- the pretend Vipps MobilePay (sandbox.vipps) -----------------------------------------


class SandboxVippsOutcome(models.TextChoices):
    """What the tester picks on the pretend Vipps MobilePay approval page."""

    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    EXPIRE = "expire", _("Let it expire")
    APPROVE_CAPTURE_FAILS = "approve_capture_fails", _("Approve, but let the capture fail")
    # For an agreement (auto-renew): approved, but every charge on it fails.
    APPROVE_CHARGES_FAIL = "approve_charges_fail", _("Approve, but let the charges fail")


class SandboxVippsPayment(models.Model):
    """A payment in the pretend Vipps MobilePay's book, by our reference."""

    reference = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=128)
    amount_ore = models.PositiveIntegerField()
    # CREATED, AUTHORIZED, ABORTED, EXPIRED or TERMINATED, as Vipps says it.
    state = models.CharField(max_length=12, default="CREATED")
    captured_ore = models.PositiveIntegerField(default=0)
    cancelled_ore = models.PositiveIntegerField(default=0)
    refunded_ore = models.PositiveIntegerField(default=0)
    # Captures answered with a server error before one goes through.
    capture_failures_left = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    user_flow = models.CharField(max_length=20)
    return_url = models.URLField(max_length=2000)
    notify_url = models.URLField(max_length=2000)
    outcome = models.CharField(max_length=24, choices=SandboxVippsOutcome.choices, blank=True)
    # Answers given, by idempotency key (a retry gets the same answer).
    answers = models.JSONField(default=dict)
    # The webhook events it sends: [{"name", "amount", "psp"}].
    events = models.JSONField(default=list)
    webhooks_sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sandbox Vipps payment"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class SandboxVippsAgreement(models.Model):
    """A Recurring agreement in the pretend Vipps MobilePay's book, with its
    charges: [{"id", "amount", "due", "orderId", "status"}]."""

    agreement_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=10, default="PENDING")
    product_name = models.CharField(max_length=100, blank=True)
    max_amount_ore = models.PositiveIntegerField(default=0)
    interval = models.JSONField(default=dict)
    phone = models.CharField(max_length=20, blank=True)
    return_url = models.URLField(max_length=2000)
    # Chosen on the approval page: the agreement's charges fail.
    charges_fail = models.BooleanField(default=False)
    charges = models.JSONField(default=list)
    answers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sandbox Vipps agreement"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.agreement_id
