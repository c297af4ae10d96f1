"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import imports, lines  # noqa: F401
