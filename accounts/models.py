"""Identity: the customer (and staff) user model."""

from __future__ import annotations

import os
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.phone import format_phone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str | None, password: str | None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email) if email else None, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str | None = None, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a customer, or a member of staff (``is_staff``).

    A customer signs up with an email address, a mobile number, or both; at
    least one is always present. ``language`` is used for every page, email and
    SMS the customer gets.
    """

    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    phone = models.CharField(
        _("mobile number"), max_length=16, unique=True, null=True, blank=True, help_text=_("E.164, e.g. +4791234567")
    )
    phone_verified = models.BooleanField(_("mobile number verified"), default=False)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    welcomed_at = models.DateTimeField(_("welcome email sent"), null=True, blank=True, editable=False)
    # The customer deleted the account: the row stays (receipts and lines
    # point at it) with its personal data erased, and it cannot sign in.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone__isnull=False), name="user_has_email_or_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone_display or f"#{self.pk}"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone) if self.phone else ""

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Several users without an email must not collide on "" in the unique index.
        if not self.email:
            self.email = None
        if not self.phone:
            self.phone = None
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else ""

    def has_address(self) -> bool:
        return bool(self.street_address and self.postal_code and self.city)


class SentText(models.Model):
    """One text the portal handed to the SMS gateway, kept so that support
    staff see the volume against the hourly caps (accounts/texts.py). Neither
    the number nor the message is kept: a text may carry a sign-in code."""

    class Purpose(models.TextChoices):
        CODE = "code", _("sign-in or verification code")
        ACCOUNT_EXISTS = "account_exists", _("notice: the number already has an account")
        WELCOME = "welcome", _("welcome")

    created_at = models.DateTimeField(_("sent at"), default=timezone.now, db_index=True)
    country = models.CharField(_("destination country"), max_length=2, help_text=_("ISO 3166 code of the number"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    client_address = models.GenericIPAddressField(_("requested from"), null=True, blank=True)

    class Meta:
        verbose_name = _("text sent")
        verbose_name_plural = _("texts sent")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} → {self.country}"


class PrivateStorage(FileSystemStorage):
    """Files no URL serves: rooted at ``PRIVATE_MEDIA_ROOT`` (read when used,
    so a test can point it elsewhere), and without a URL, so no template or
    serializer can link to one by mistake. Staff read them through
    ``accounts.admin``'s file view, which logs each look."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no URL")


def private_storage() -> PrivateStorage:
    return PrivateStorage()


def identity_document_name(instance: IdentityDocument, filename: str) -> str:
    """A random name: never the customer's, nor the one their file came with.
    The extension is the checked type's (``filename`` is ours, see
    accounts/identity.py)."""
    extension = os.path.splitext(filename)[1].lower()
    return f"identity/{secrets.token_hex(16)}{extension}"


class IdentityDocument(models.Model):
    """A passport, national ID card or residence card a customer uploaded to
    prove who they are, and support's decision on it. The file is deleted
    ``IDENTITY_DOCUMENT_RETENTION_DAYS`` after the decision; the row, with
    the decision and who made it, stays."""

    class Kind(models.TextChoices):
        PASSPORT = "passport", _("Passport")
        NATIONAL_ID = "national_id", _("National ID card")
        RESIDENCE_CARD = "residence_card", _("Residence card")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class Purpose(models.TextChoices):
        """What the document proves identity for; other flows add theirs."""

        REPLACEMENT = "replacement", _("A replacement eSIM")
        NEW_LINE = "new_line", _("A new line")
        CANCELLATION = "cancellation", _("Cancelling a line")

    class Reason(models.TextChoices):
        """Why a document was rejected, as the customer reads it (translated)."""

        UNREADABLE = (
            "unreadable",
            _("The picture is not sharp or not complete: all four corners and all the text must be readable."),
        )
        EXPIRED = "expired", _("The document has expired.")
        MISMATCH = "mismatch", _("The name or the date of birth does not match your account.")
        NOT_ACCEPTED = "not_accepted", _("We accept only a passport, a national ID card or a residence card.")
        OTHER = "other", _("We could not accept the document. Customer service can tell you why.")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="identity_documents",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("document"), max_length=20, choices=Kind.choices)
    purpose = models.CharField(_("uploaded for"), max_length=20, choices=Purpose.choices)
    file = models.FileField(_("file"), storage=private_storage, upload_to=identity_document_name, blank=True)
    content_type = models.CharField(_("file type"), max_length=40)
    size = models.PositiveIntegerField(_("file size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.CharField(_("reason given to the customer"), max_length=20, choices=Reason.choices, blank=True)
    staff_note = models.TextField(_("note for staff"), blank=True, help_text=_("Not shown to the customer."))
    file_deleted_at = models.DateTimeField(_("file deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")
        ordering = ["uploaded_at"]
        permissions = [
            ("view_identity_document_file", _("Can look at identity document files")),
            ("review_identity_document", _("Can approve or reject identity documents")),
        ]
        indexes = [models.Index(fields=["status", "decided_at"], name="identitydoc_status_decided")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_decided(self) -> bool:
        return self.status != self.Status.PENDING


class IdentityDocumentAccess(models.Model):
    """One look at an identity document's file by a member of staff."""

    document = models.ForeignKey(
        IdentityDocument, on_delete=models.CASCADE, related_name="accesses", verbose_name=_("identity document")
    )
    viewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("viewed by")
    )
    viewed_at = models.DateTimeField(_("viewed"), default=timezone.now)
    client_address = models.GenericIPAddressField(_("from address"), null=True, blank=True)

    class Meta:
        verbose_name = _("look at an identity document")
        verbose_name_plural = _("looks at identity documents")
        ordering = ["-viewed_at"]

    def __str__(self) -> str:
        return f"{self.document} viewed by {self.viewed_by}"


class NotificationKind(models.TextChoices):
    """What a message to a customer is about; each can be turned off per
    channel on the profile page."""

    EXPIRY = "expiry", _("Expiry reminders")
    AUTO_RENEW = "auto_renew", _("Notices before an automatic renewal")
    LOW_BALANCE = "low_balance", _("Low-balance alerts")
    RECEIPT = "receipt", _("Receipts")
    OFFERS = "offers", _("Offers and news")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", pgettext_lazy("channel", "Email")
    SMS = "sms", pgettext_lazy("channel", "Text message")


# What a customer gets until they choose: everything about their lines by
# email, reminders and alerts also by text; offers only once turned on.
# Receipts go by email only (a PDF), so they have no text setting.
NOTIFICATION_DEFAULTS: dict[tuple[str, str], bool] = {
    (NotificationKind.EXPIRY, NotificationChannel.EMAIL): True,
    (NotificationKind.EXPIRY, NotificationChannel.SMS): True,
    (NotificationKind.AUTO_RENEW, NotificationChannel.EMAIL): True,
    (NotificationKind.AUTO_RENEW, NotificationChannel.SMS): True,
    (NotificationKind.LOW_BALANCE, NotificationChannel.EMAIL): True,
    (NotificationKind.LOW_BALANCE, NotificationChannel.SMS): True,
    (NotificationKind.RECEIPT, NotificationChannel.EMAIL): True,
    (NotificationKind.OFFERS, NotificationChannel.EMAIL): False,
    (NotificationKind.OFFERS, NotificationChannel.SMS): False,
}


class NotificationPreference(models.Model):
    """A customer's choice for one kind of message on one channel. Only
    choices made are stored; a missing row means NOTIFICATION_DEFAULTS."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    enabled = models.BooleanField(_("on"))
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("notification setting")
        verbose_name_plural = _("notification settings")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="one_notification_preference"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}: {self.enabled}"
