"""Provisioning jobs: giving a line a new eSIM profile from stock, step by
step, so a worker killed at any step resumes where it stopped (see
subscriptions.services.provisioning)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.esim import EsimProfile
from subscriptions.models.lines import Line


class ProvisioningStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for a profile in stock")
    RUNNING = "running", _("Being prepared")
    READY = "ready", _("Ready to install")
    STOPPED = "stopped", _("Stopped")


class ProvisioningJob(models.Model):
    """One new profile for one line, made ready exactly once.

    ``key`` is the caller's (a replacement request, a new-line order): the
    same key twice is the same job. ``profile`` is unique, so no profile
    serves two jobs. Each step's moment is kept as it is done; the SM-DP+
    and network calls carry request ids made from ``public_id`` and the
    step's name, so repeating a step after a crash is harmless."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(_("request key"), max_length=100, unique=True)
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="provisioning_jobs", verbose_name=_("line"))
    replacing = models.ForeignKey(
        EsimProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by_jobs",
        verbose_name=_("profile replaced"),
    )
    profile = models.OneToOneField(
        EsimProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provisioning_job",
        verbose_name=_("new profile"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ProvisioningStatus.choices, default=ProvisioningStatus.WAITING
    )
    # Each step, when it was done.
    profile_taken_at = models.DateTimeField(_("profile taken from stock"), null=True, blank=True)
    ordered_at = models.DateTimeField(_("download ordered"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("order confirmed"), null=True, blank=True)
    old_disabled_at = models.DateTimeField(_("old profile disabled"), null=True, blank=True)
    number_moved_at = models.DateTimeField(_("number moved to the new profile"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready to install"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    # Set by the one conditional update that sends "your eSIM is ready".
    ready_notice_at = models.DateTimeField(_("customer told it is ready"), null=True, blank=True)
    # Why it stopped (the SM-DP+'s or network's codes: for support, not customers).
    stop_reason = models.CharField(_("why it stopped"), max_length=300, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Support's retries of a stopped job: each round calls the outside
    # systems with new request ids (the same id would replay the refusal).
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    last_error = models.CharField(_("last transient error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("eSIM provisioning job")
        verbose_name_plural = _("eSIM provisioning jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"])]
        permissions = [("retry_provisioningjob", _("Can retry a stopped eSIM provisioning job"))]

    def __str__(self) -> str:
        return f"{self.line} {self.get_status_display()}"

    def request_id(self, step: str) -> str:
        """Our request id for one step's outside call: the same on every
        automatic retry, a new one in each round support starts."""
        if self.round == 1:
            return f"nordlys-{self.public_id}-{step}"
        return f"nordlys-{self.public_id}-r{self.round}-{step}"


class EsimStockWatch(models.Model):
    """One row: whether AVAILABLE stock is below ``ESIM_STOCK_ALERT_BELOW``
    as last seen. The alert is sent when this flips to below, so support
    get one email per crossing, not one per job."""

    below = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("eSIM stock watch")
        verbose_name_plural = _("eSIM stock watch")

    def __str__(self) -> str:
        return "below" if self.below else "enough"
