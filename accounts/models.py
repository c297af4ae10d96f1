"""Identity: the customer (and staff) user model."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
