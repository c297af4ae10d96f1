"""The operator's data, one module per concept."""

from subscriptions.models.audit import AuditEvent
from subscriptions.models.autorenew import (
    AutoRenewal,
    AutoRenewCharge,
    CardSetup,
    ChargeStatus,
    SavedCard,
    SetupStatus,
)
from subscriptions.models.esim import EsimProfile, EsimState, InventoryBatch
from subscriptions.models.ledger import LedgerEntry, LedgerKind, LedgerText, ledger_params_for_order
from subscriptions.models.lines import TRANSITIONS, Line, LineStatus, ServicePeriod
from subscriptions.models.orders import Order, OrderKind, OrderStatus, PaymentMethod
from subscriptions.models.payments import EventResult, PaymentEvent, PaymentState
from subscriptions.models.plans import Plan, PlanKind, PlanPeriod
from subscriptions.models.promotions import DiscountKind, PromoCode, PromoUse
from subscriptions.models.receipts import Receipt, ReceiptSequence
from subscriptions.models.usage import CdrImport, UsageKind, UsageRecord
from subscriptions.models.vouchers import (
    RedemptionResult,
    Voucher,
    VoucherAttempt,
    VoucherBatch,
    VoucherStatus,
    VoucherValue,
)

__all__ = [
    "TRANSITIONS",
    "AuditEvent",
    "AutoRenewCharge",
    "AutoRenewal",
    "CardSetup",
    "CdrImport",
    "ChargeStatus",
    "DiscountKind",
    "EsimProfile",
    "EsimState",
    "EventResult",
    "InventoryBatch",
    "LedgerEntry",
    "LedgerKind",
    "LedgerText",
    "Line",
    "LineStatus",
    "Order",
    "OrderKind",
    "OrderStatus",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentState",
    "Plan",
    "PlanKind",
    "PlanPeriod",
    "PromoCode",
    "PromoUse",
    "Receipt",
    "ReceiptSequence",
    "RedemptionResult",
    "SavedCard",
    "ServicePeriod",
    "SetupStatus",
    "UsageKind",
    "UsageRecord",
    "Voucher",
    "VoucherAttempt",
    "VoucherBatch",
    "VoucherStatus",
    "VoucherValue",
    "ledger_params_for_order",
]
