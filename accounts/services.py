"""Every write to a user goes through here."""

from __future__ import annotations

import logging
from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.identity import identity_files_erase
from accounts.messaging import email_send, sms_send
from accounts.models import SentText, User
from accounts.texts import address_scope, text_allowance_take, text_country

__all__ = [
    "email_send",
    "text_allow",
    "text_send",
    "user_erase",
    "user_set_language",
    "user_set_phone",
    "user_update_profile",
    "user_welcome",
]

logger = logging.getLogger(__name__)

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


def text_allow(*, to: str, purpose: SentText.Purpose, client_address: str | None) -> bool:
    """Take one text to ``to`` from the hourly caps and record it; False
    (and a warning in the log) when a cap refuses. ``client_address`` is the
    address of the visitor whose request causes the text, None when there
    is none."""
    country = text_country(to)
    scope = address_scope(client_address) if client_address else None
    refused_by = text_allowance_take(country=country, address=scope)
    if refused_by:
        logger.warning("Text (%s) to %s not sent: the hourly cap per %s is reached", purpose, country, refused_by)
        return False
    SentText.objects.create(country=country, purpose=purpose, client_address=scope)
    return True


def text_send(*, to: str, body: str, purpose: SentText.Purpose, client_address: str | None) -> bool:
    """Queue a text for the worker, within the hourly caps. A refused text is
    dropped silently, as the visitor sees it: telling them would tell apart a
    number with an account (which gets a code) from one without."""
    if not text_allow(to=to, purpose=purpose, client_address=client_address):
        return False
    sms_send(to=to, body=body)
    return True


def user_welcome(*, user: User, client_address: str | None = None) -> None:
    """Queue the welcome message for a new customer once sign-up commits.
    ``client_address`` is where the sign-up came from: a welcome by text
    counts against that address's cap."""
    from accounts.tasks import send_welcome

    user_id = user.pk
    transaction.on_commit(lambda: send_welcome.delay(user_id, client_address))


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


def user_erase(*, user: User, now: datetime) -> int:
    """Erase the personal data of a locked user whose account is being
    deleted (the caller decided it may be): name, address, email, phone,
    password, email addresses, two-factor and identity document files. The
    row stays, inactive, so what must be kept (receipts) can still point
    at it. Returns how many identity files were deleted."""
    user.email = f"deleted-{user.pk}@deleted.invalid"  # the row needs an email or a phone
    user.phone = None
    user.phone_verified = False
    user.full_name = ""
    user.street_address = ""
    user.postal_code = ""
    user.city = ""
    user.is_active = False
    user.deleted_at = now
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    return identity_files_erase(user=user, now=now)
