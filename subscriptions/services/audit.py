"""Audit rows, written in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from subscriptions.models import AuditEvent, Line


def audit_record(
    *,
    line: Line,
    action: str,
    by: User | None,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        line=line,
        actor=by if by is not None and by.pk else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:300],
        data=data or {},
    )
