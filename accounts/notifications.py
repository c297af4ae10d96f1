"""A customer's notification settings: which kinds of message they get on
which channel, and the signed one-click unsubscribe link every email
carries (RFC 8058), which works without signing in."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    NOTIFICATION_DEFAULTS,
    NotificationChannel,
    NotificationKind,
    NotificationPreference,
    User,
)

UNSUBSCRIBE_SALT = "accounts.notifications.unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    """Whom and what a signed unsubscribe link is for."""

    user_id: int
    kind: NotificationKind
    # The customer's language: the page the link opens speaks it, as the
    # email did, whatever the browser that opens it prefers.
    language: str = ""


def notification_settings_of(*, user: User) -> dict[tuple[str, str], bool]:
    """Every (kind, channel) with whether it is on: the defaults, then the
    customer's choices, in one query."""
    chosen = {
        (kind, channel): enabled
        for kind, channel, enabled in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    return {key: chosen.get(key, default) for key, default in NOTIFICATION_DEFAULTS.items()}


def notification_enabled(*, user_id: int, kind: str, channel: str) -> bool:
    chosen = (
        NotificationPreference.objects.filter(user_id=user_id, kind=kind, channel=channel)
        .values_list("enabled", flat=True)
        .first()
    )
    return NOTIFICATION_DEFAULTS.get((kind, channel), False) if chosen is None else chosen


@transaction.atomic
def notification_settings_save(*, user: User, enabled: dict[tuple[str, str], bool]) -> None:
    """Store the customer's choices; keys not in NOTIFICATION_DEFAULTS are
    ignored."""
    now = timezone.now()
    for (kind, channel), on in enabled.items():
        if (kind, channel) not in NOTIFICATION_DEFAULTS:
            continue
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, channel=channel, defaults={"enabled": on, "updated_at": now}
        )


def notification_unsubscribe(*, unsubscribe: Unsubscribe) -> None:
    """Turn off the emails of one kind (what the link in such an email does)."""
    user = User.objects.get(pk=unsubscribe.user_id)
    notification_settings_save(user=user, enabled={(unsubscribe.kind, NotificationChannel.EMAIL): False})


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """Whom and what a token is for; None for a forged or damaged one, or one
    for a customer who no longer exists."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, kind = int(data["u"]), NotificationKind(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    language = User.objects.filter(pk=user_id).values_list("language", flat=True).first()
    if language is None:
        return None
    return Unsubscribe(user_id=user_id, kind=kind, language=language)


def unsubscribe_headers(*, user_id: int, kind: str) -> dict[str, str]:
    """The RFC 8058 one-click unsubscribe headers for an email of ``kind``."""
    url = settings.SITE_URL + reverse("notification_unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind)])
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
