"""What the line page says about auto-renew."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from subscriptions.models import AutoRenewal, AutoRenewCharge, ChargeStatus, Line
from subscriptions.services.autorenew import NextCharge, auto_renew_next_charge

__all__ = ["AutoRenewState", "line_auto_renew"]


@dataclass(frozen=True)
class AutoRenewState:
    setting: AutoRenewal | None
    next_charge: NextCharge | None
    # The latest charge that failed, if the line's current period is still
    # waiting for a retry or has given up.
    failed_charge: AutoRenewCharge | None

    @property
    def on(self) -> bool:
        return self.setting is not None and self.setting.enabled


def line_auto_renew(*, line: Line, now: datetime | None = None) -> AutoRenewState:
    """The line's auto-renew state: its choice (read through the line when
    selected with it), and the charge for the current period if one has
    failed. At most one query, and none for a line that never had it on."""
    now = now or timezone.now()
    try:
        setting: AutoRenewal | None = line.auto_renewal
    except AutoRenewal.DoesNotExist:
        setting = None
    if setting is None or line.expires_at is None:
        return AutoRenewState(setting=setting, next_charge=None, failed_charge=None)
    charge = (
        AutoRenewCharge.objects.filter(line=line, period_end=line.expires_at)
        .exclude(status=ChargeStatus.CANCELLED)
        .select_related("card")
        .first()
    )
    failed = charge if charge is not None and charge.attempts and charge.status != ChargeStatus.PAID else None
    next_charge = (
        auto_renew_next_charge(line=line, setting=setting, charge=charge, now=now) if setting.enabled else None
    )
    return AutoRenewState(setting=setting, next_charge=next_charge, failed_charge=failed)
