"""The support admin for the operator's data, one module per area."""

from subscriptions.admin import (  # noqa: F401
    autorenew,
    cancellations,
    customer_data,
    esim_install,
    imports,
    international,
    lines,
    new_lines,
    notifications,
    orders,
    promotions,
    replacements,
    sms_commands,
    stock,
    vouchers,
)
