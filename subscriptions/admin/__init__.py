"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import autorenew, esim_install, imports, lines, orders, promotions, vouchers  # noqa: F401
