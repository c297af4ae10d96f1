"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import autorenew, imports, lines, orders, promotions, replacements, vouchers  # noqa: F401
