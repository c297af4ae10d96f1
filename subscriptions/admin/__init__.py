"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import (  # noqa: F401
    autorenew,
    esim_install,
    imports,
    lines,
    new_lines,
    notifications,
    orders,
    promotions,
    replacements,
    vouchers,
)
