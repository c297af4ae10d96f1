"""Every write to a user goes through here."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.messaging import email_send, sms_send
from accounts.models import User

__all__ = ["email_send", "sms_send", "user_set_language", "user_set_phone", "user_update_profile", "user_welcome"]

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def user_set_phone(*, user: User, phone: str, verified: bool) -> None:
    """Attach a mobile number (E.164) to the user. A user not yet saved (during
    sign-up) only gets the attributes; the sign-up saves it."""
    user.phone = phone
    user.phone_verified = verified
    if user.pk:
        user.save(update_fields=["phone", "phone_verified"])


def user_set_language(*, user: User, language: str) -> bool:
    """Store the customer's language; False for a code we do not speak."""
    if language not in LANGUAGE_CODES:
        return False
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return True


def user_update_profile(
    *, user: User, full_name: str, street_address: str, postal_code: str, city: str, language: str
) -> None:
    user.full_name = full_name.strip()
    user.street_address = street_address.strip()
    user.postal_code = postal_code.strip()
    user.city = city.strip()
    if language in LANGUAGE_CODES:
        user.language = language
    user.save(update_fields=["full_name", "street_address", "postal_code", "city", "language"])


def user_welcome(*, user: User) -> None:
    """Queue the welcome message for a new customer once sign-up commits."""
    from accounts.tasks import send_welcome

    user_id = user.pk
    transaction.on_commit(lambda: send_welcome.delay(user_id))


@transaction.atomic
def welcome_claim(*, user_id: int) -> User | None:
    """Mark the welcome as sent, exactly once. Returns the user when this
    caller won the claim, None when it was sent already (a retried or
    duplicated task)."""
    claimed = User.objects.filter(pk=user_id, welcomed_at__isnull=True).update(welcomed_at=timezone.now())
    if claimed != 1:
        return None
    return User.objects.get(pk=user_id)


def welcome_release(*, user_id: int) -> None:
    """Undo a claim whose send failed, so that the retry sends it."""
    User.objects.filter(pk=user_id).update(welcomed_at=None)
