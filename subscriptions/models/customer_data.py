"""The customer's own data: the exports they asked for (a ZIP built by a
worker, downloaded once within a day) and the record of a deleted account."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import private_storage


def data_export_name(instance: DataExport, filename: str) -> str:
    """A random name, never the customer's."""
    return f"exports/{secrets.token_hex(16)}.zip"


class DataExportStatus(models.TextChoices):
    BUILDING = "building", _("Being prepared")
    READY = "ready", _("Ready to download")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPIRED = "expired", pgettext_lazy("data export", "Expired")


class DataExport(models.Model):
    """One "download my data". The file lives in private storage (no URL
    serves it); the link in the email carries a token of which only a hash
    is kept, and works once, for ``DATA_EXPORT_VALID_HOURS``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports", verbose_name=_("customer")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DataExportStatus.choices, default=DataExportStatus.BUILDING
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)
    file = models.FileField(_("file"), storage=private_storage, upload_to=data_export_name, blank=True)
    size = models.PositiveIntegerField(_("file size (bytes)"), default=0)
    file_deleted_at = models.DateTimeField(_("file deleted"), null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One export on its way per customer: a second request (a double
            # click, two tabs) finds the first.
            models.UniqueConstraint(
                fields=["owner"], condition=Q(status="building"), name="one_data_export_building_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.requested_at:%Y-%m-%d %H:%M}"


class AccountDeletion(models.Model):
    """The audit record of a deleted account: when, how many lines and
    receipts it had, and until when the receipts are kept for the books.
    The user row it names holds no personal data any more."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deletion", verbose_name=_("customer")
    )
    deleted_at = models.DateTimeField(_("deleted"), default=timezone.now)
    lines = models.PositiveIntegerField(_("lines"), default=0)
    receipts_kept = models.PositiveIntegerField(_("receipts kept"), default=0)
    receipts_kept_until = models.DateField(_("receipts kept until"), null=True, blank=True)
    identity_files_deleted = models.PositiveIntegerField(_("identity document files deleted"), default=0)

    class Meta:
        verbose_name = _("account deletion")
        verbose_name_plural = _("account deletions")
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return f"#{self.user_id} {self.deleted_at:%Y-%m-%d}"
