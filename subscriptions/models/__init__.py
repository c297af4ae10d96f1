"""The operator's data, one module per concept."""

from subscriptions.models.audit import AuditEvent
from subscriptions.models.esim import EsimProfile, EsimState, InventoryBatch
from subscriptions.models.ledger import LedgerEntry, LedgerKind
from subscriptions.models.lines import TRANSITIONS, Line, LineStatus, ServicePeriod
from subscriptions.models.plans import Plan, PlanKind, PlanPeriod
from subscriptions.models.usage import CdrImport, UsageKind, UsageRecord

__all__ = [
    "TRANSITIONS",
    "AuditEvent",
    "CdrImport",
    "EsimProfile",
    "EsimState",
    "InventoryBatch",
    "LedgerEntry",
    "LedgerKind",
    "Line",
    "LineStatus",
    "Plan",
    "PlanKind",
    "PlanPeriod",
    "ServicePeriod",
    "UsageKind",
    "UsageRecord",
]
