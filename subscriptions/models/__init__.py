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
    CancellationRejectReason,
    CancellationRequest,
    CancellationSource,
    CancellationStatus,
    CreditNote,
    CreditNoteSequence,
)
from subscriptions.models.customer_data import AccountDeletion, DataExport, DataExportStatus
from subscriptions.models.esim import (
    EsimCodeChannel,
    EsimCodeView,
    EsimConfirmationCode,
    EsimProfile,
    EsimState,
    InventoryBatch,
    StockLevel,
)
from subscriptions.models.international import InternationalRate
from subscriptions.models.ledger import (
    LedgerEntry,
    LedgerKind,
    LedgerText,
    ledger_params_for_international,
    ledger_params_for_order,
)
from subscriptions.models.lines import TRANSITIONS, Line, LineStatus, ServicePeriod
from subscriptions.models.new_lines import NewLineRequest, NumberBatch, PoolNumber
from subscriptions.models.notifications import FailedNotification, Notification, NotificationState, SkipReason
from subscriptions.models.orders import (
    VIPPS_AGREEMENT_PROVIDERS,
    CaptureStatus,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    payment_method_label,
)
from subscriptions.models.payments import EventResult, PaymentEvent, PaymentState
from subscriptions.models.plans import Plan, PlanKind, PlanPeriod
from subscriptions.models.promotions import DiscountKind, PromoAttempt, PromoAttemptResult, PromoCode, PromoUse
from subscriptions.models.provisioning import EsimStockWatch, ProvisioningJob, ProvisioningStatus
from subscriptions.models.receipts import Receipt, ReceiptSequence
from subscriptions.models.replacements import (
    RejectReason,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
    ReviewCause,
)
from subscriptions.models.simswap import SimSwapClient
from subscriptions.models.sms_commands import InboundSms, InboundStatus, TextsStop
from subscriptions.models.suspensions import LineSuspension, SuspensionReason
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
    "VIPPS_AGREEMENT_PROVIDERS",
    "AccountDeletion",
    "AuditEvent",
    "AutoRenewCharge",
    "AutoRenewal",
    "BalanceChoice",
    "CancellationReason",
    "CancellationRejectReason",
    "CancellationRequest",
    "CancellationSource",
    "CancellationStatus",
    "CaptureStatus",
    "CardSetup",
    "CdrImport",
    "ChargeStatus",
    "CreditNote",
    "CreditNoteSequence",
    "DataExport",
    "DataExportStatus",
    "DiscountKind",
    "EsimCodeChannel",
    "EsimCodeView",
    "EsimConfirmationCode",
    "EsimProfile",
    "EsimState",
    "EsimStockWatch",
    "EventResult",
    "FailedNotification",
    "InboundSms",
    "InboundStatus",
    "InternationalRate",
    "InventoryBatch",
    "LedgerEntry",
    "LedgerKind",
    "LedgerText",
    "Line",
    "LineStatus",
    "LineSuspension",
    "NewLineRequest",
    "Notification",
    "NotificationState",
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
    "PromoAttempt",
    "PromoAttemptResult",
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
    "SkipReason",
    "StockLevel",
    "SuspensionReason",
    "TextsStop",
    "UsageKind",
    "UsageRecord",
    "Voucher",
    "VoucherAttempt",
    "VoucherBatch",
    "VoucherStatus",
    "VoucherValue",
    "ledger_params_for_international",
    "ledger_params_for_order",
    "payment_method_label",
]
