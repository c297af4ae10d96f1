"""What the line page says about a suspension: why, since when, by whom,
and whether the customer may resume it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from subscriptions.models import Line, LineStatus, LineSuspension

__all__ = ["LineSuspensionView", "line_suspension"]


@dataclass(frozen=True)
class LineSuspensionView:
    suspended: bool
    # Only an active line can be suspended.
    can_suspend: bool
    reason_label: str = ""
    note: str = ""
    by_support: bool = False
    since: datetime | None = None
    # The network has blocked the line (the customer's suspension takes
    # effect there a moment after the page says suspended).
    blocked: bool = False

    @property
    def can_resume(self) -> bool:
        return self.suspended and not self.by_support


def line_suspension(*, line: Line) -> LineSuspensionView:
    """One query, for a suspended line only. A suspended line without a row
    (suspended before these rows existed) counts as support's."""
    if line.status != LineStatus.SUSPENDED:
        return LineSuspensionView(suspended=False, can_suspend=line.status == LineStatus.ACTIVE)
    suspension = LineSuspension.objects.filter(line=line, resumed_at=None).first()
    if suspension is None:
        return LineSuspensionView(suspended=True, can_suspend=False, by_support=True, since=line.status_changed_at)
    return LineSuspensionView(
        suspended=True,
        can_suspend=False,
        reason_label=suspension.get_reason_display(),
        note=suspension.note,
        by_support=suspension.by_support,
        since=suspension.suspended_at,
        blocked=suspension.blocked_at is not None,
    )
