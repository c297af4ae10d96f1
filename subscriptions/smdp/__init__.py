"""SM-DP+ adapters behind one interface (``base.SmdpProvider``): the
sandbox's pretend SM-DP+ (development and tests) and a real one over ES2+,
chosen by settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from subscriptions.smdp.base import (
    ConfirmedOrder,
    DownloadProgress,
    InvalidNotification,
    SmdpError,
    SmdpProvider,
    SmdpRefused,
    SmdpUnavailable,
)

__all__ = [
    "ConfirmedOrder",
    "DownloadProgress",
    "InvalidNotification",
    "SmdpError",
    "SmdpProvider",
    "SmdpRefused",
    "SmdpUnavailable",
    "get_smdp",
]


def get_smdp(name: str | None = None) -> SmdpProvider:
    """The SM-DP+ called ``name`` in ``SMDP_PROVIDERS``, or the one in use
    (``SMDP_PROVIDER``). LookupError for a name we do not know."""
    name = name or settings.SMDP_PROVIDER
    try:
        path = settings.SMDP_PROVIDERS[name]
    except KeyError:
        raise LookupError(f"no SM-DP+ called {name!r}") from None
    smdp: SmdpProvider = import_string(path)()
    return smdp
