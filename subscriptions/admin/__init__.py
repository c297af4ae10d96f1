"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import (  # noqa: F401
    autorenew,
    cancellations,
    esim_install,
    imports,
    lines,
    new_lines,
    orders,
    promotions,
    replacements,
    vouchers,
)
