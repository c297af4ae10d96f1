"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import autorenew, imports, lines, orders, promotions, vouchers  # noqa: F401
