"""Network provisioning behind one interface (``base.NetworkProvisioning``):
the sandbox's pretend network (development and tests) and the operator's
provisioning API over HTTPS, chosen by settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from subscriptions.network.base import NetworkError, NetworkProvisioning, NetworkRefused, NetworkUnavailable

__all__ = ["NetworkError", "NetworkProvisioning", "NetworkRefused", "NetworkUnavailable", "get_network"]


def get_network(name: str | None = None) -> NetworkProvisioning:
    """The adapter called ``name`` in ``NETWORK_PROVIDERS``, or the one in
    use (``NETWORK_PROVIDER``). LookupError for a name we do not know."""
    name = name or settings.NETWORK_PROVIDER
    try:
        path = settings.NETWORK_PROVIDERS[name]
    except KeyError:
        raise LookupError(f"no network provisioning called {name!r}") from None
    network: NetworkProvisioning = import_string(path)()
    return network
