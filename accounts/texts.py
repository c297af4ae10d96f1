"""Hourly caps on the texts the portal sends on a visitor's request (codes,
notices, welcomes), so that nobody can make us pay for texts to numbers of
their choosing.

Three caps per clock hour (``settings.TEXTS_PER_HOUR``): per requesting
address, per destination country outside the Nordics and the EEA, and in
total. Each is a counter in the shared cache taken with ``cache.add`` and
``cache.incr``, which Redis does atomically, so the caps hold when many
requests arrive at once. The file cache of the embedded default cannot
increment atomically; there the caps are approximate.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from accounts.models import SentText

# A counter outlives its hour a little, so one taken at 10:59:59 is still there to give back.
COUNTER_SECONDS = 2 * 3600


def text_country(e164: str) -> str:
    """The ISO 3166 code of the country a number belongs to ("ZZ" if unknown)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "ZZ"
    return phonenumbers.region_code_for_number(number) or "ZZ"


def country_is_capped(country: str) -> bool:
    return country not in settings.TEXTS_UNCAPPED_COUNTRIES


def address_scope(address: str) -> str:
    """What one requester is counted by: the IPv4 address, or the /64 an IPv6
    address is in (one subscriber usually holds the whole /64)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def hour_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()).replace(minute=0, second=0, microsecond=0)


def _counter_key(scope: str, now: datetime) -> str:
    return f"texts:{hour_start(now):%Y%m%d%H}:{scope}"


def _caps(*, country: str, address: str | None) -> list[tuple[str, int]]:
    caps = settings.TEXTS_PER_HOUR
    scopes = []
    if address:
        scopes.append((f"address:{address_scope(address)}", caps["address"]))
    if country_is_capped(country):
        scopes.append((f"country:{country}", caps["country"]))
    scopes.append(("total", caps["total"]))
    return scopes


def _increment(key: str) -> int:
    cache.add(key, 0, timeout=COUNTER_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 0, timeout=COUNTER_SECONDS)
        return cache.incr(key)


def _give_back(key: str) -> None:
    with contextlib.suppress(ValueError):  # expired: nothing left to give back
        cache.decr(key)


def text_allowance_take(*, country: str, address: str | None) -> str | None:
    """Take one text from every cap that applies. None when all allow it;
    otherwise the name of the first cap that refused ("address", "country",
    "total"), after giving back what was taken from the others."""
    now = timezone.now()
    taken: list[str] = []
    for scope, cap in _caps(country=country, address=address):
        key = _counter_key(scope, now)
        count = _increment(key)
        taken.append(key)
        if count > cap:
            for earlier in taken:
                _give_back(earlier)
            return scope.split(":", 1)[0]
    return None


@dataclass(frozen=True)
class HourlyTextCounts:
    """What the admin shows: this hour's texts against the caps."""

    since: datetime
    total: int
    by_country: list[dict[str, object]]
    by_address: list[dict[str, object]]
    caps: dict[str, int]


def text_counts_this_hour(*, top: int = 10) -> HourlyTextCounts:
    since = hour_start()
    texts = SentText.objects.filter(created_at__gte=since, created_at__lt=since + timedelta(hours=1))
    by_country = [
        {**row, "capped": country_is_capped(str(row["country"]))}
        for row in texts.values("country").annotate(count=Count("id")).order_by("-count", "country")
    ]
    by_address = list(
        texts.exclude(client_address=None)
        .values("client_address")
        .annotate(count=Count("id"))
        .order_by("-count", "client_address")[:top]
    )
    return HourlyTextCounts(
        since=since,
        total=texts.count(),
        by_country=by_country,
        by_address=by_address,
        caps=dict(settings.TEXTS_PER_HOUR),
    )
