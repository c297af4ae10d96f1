"""Errors the subscriptions services raise. ``CustomerError`` carries a
translated message a customer (or a support agent) may be shown as it is."""

from __future__ import annotations


class SubscriptionError(Exception):
    """Something ours went wrong: log it, show a generic page."""


class CustomerError(SubscriptionError):
    """Refused for a reason the person can act on; ``str(error)`` is
    translated and safe to show."""


class TransitionNotAllowed(CustomerError):
    """The line's state machine has no such move."""
