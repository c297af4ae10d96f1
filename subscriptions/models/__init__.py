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
from subscriptions.models.cancellations import (
    BalanceChoice,
    CancellationReason,
    CancellationRequest,
    CancellationSource,
    CancellationStatus,
    CreditNote,
    CreditNoteSequence,
    RejectReason,
)
from subscriptions.models.esim import (
    EsimCodeChannel,
    EsimCodeView,
    EsimConfirmationCode,
    EsimProfile,
    EsimState,
    InventoryBatch,
)
from subscriptions.models.ledger import LedgerEntry, LedgerKind, LedgerText, ledger_params_for_order
from subscriptions.models.lines import TRANSITIONS, Line, LineStatus, ServicePeriod
from subscriptions.models.new_lines import NewLineRequest, NumberBatch, PoolNumber
from subscriptions.models.orders import Order, OrderKind, OrderStatus, PaymentMethod
from subscriptions.models.payments import EventResult, PaymentEvent, PaymentState
from subscriptions.models.plans import Plan, PlanKind, PlanPeriod
from subscriptions.models.promotions import DiscountKind, PromoCode, PromoUse
from subscriptions.models.provisioning import EsimStockWatch, ProvisioningJob, ProvisioningStatus
from subscriptions.models.receipts import Receipt, ReceiptSequence
from subscriptions.models.replacements import (
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
    ReviewCause,
)
from subscriptions.models.simswap import SimSwapClient
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
    "BalanceChoice",
    "CancellationReason",
    "CancellationRequest",
    "CancellationSource",
    "CancellationStatus",
    "CardSetup",
    "CdrImport",
    "ChargeStatus",
    "CreditNote",
    "CreditNoteSequence",
    "DiscountKind",
    "EsimCodeChannel",
    "EsimCodeView",
    "EsimConfirmationCode",
    "EsimProfile",
    "EsimState",
    "EsimStockWatch",
    "EventResult",
    "InventoryBatch",
    "LedgerEntry",
    "LedgerKind",
    "LedgerText",
    "Line",
    "LineStatus",
    "NewLineRequest",
    "NumberBatch",
    "Order",
    "OrderKind",
    "OrderStatus",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentState",
    "Plan",
    "PlanKind",
    "PlanPeriod",
    "PoolNumber",
    "PromoCode",
    "PromoUse",
    "ProvisioningJob",
    "ProvisioningStatus",
    "Receipt",
    "ReceiptSequence",
    "RedemptionResult",
    "RejectReason",
    "ReplacementReason",
    "ReplacementRequest",
    "ReplacementStatus",
    "ReviewCause",
    "SavedCard",
    "ServicePeriod",
    "SetupStatus",
    "SimSwapClient",
    "UsageKind",
    "UsageRecord",
    "Voucher",
    "VoucherAttempt",
    "VoucherBatch",
    "VoucherStatus",
    "VoucherValue",
    "ledger_params_for_order",
]
