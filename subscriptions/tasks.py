"""Celery tasks for lines, orders and receipts: thin, they load
by id and call a service, and are safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task

from subscriptions.models import Order
from subscriptions.network import NetworkUnavailable
from subscriptions.payments import PaymentProviderError
from subscriptions.services.autorenew import (
    auto_renew_charge_run,
    auto_renew_charge_withdraw,
    auto_renew_sweep,
    vipps_agreement_stop,
)
from subscriptions.services.autorenew_notices import auto_renew_notices_claim
from subscriptions.services.cancellations import (
    cancellation_comeback_run,
    cancellation_deactivate,
    cancellations_unfinished,
    lines_quarantine,
    numbers_release_quarantined,
)
from subscriptions.services.customer_data import (
    bookkeeping_copies_anonymise,
    data_export_build,
    data_exports_delete_expired,
    data_exports_queue_stale,
    usage_records_delete_old,
)
from subscriptions.services.esim_confirmation import esim_confirmation_code_send
from subscriptions.services.esim_install import esim_code_email_send
from subscriptions.services.lines import lines_expire_lapsed
from subscriptions.services.notifications import (
    MAX_ATTEMPTS,
    NotificationDeferred,
    expiry_reminders_claim,
    notification_deliver,
    notifications_queue_due,
    reminders_due_chunks,
)
from subscriptions.services.provisioning import esim_stock_alert_send, provisioning_queue_due, provisioning_run
from subscriptions.services.receipts import receipt_email_send, receipts_email_due
from subscriptions.services.reconcile import orders_reconcile, reservations_finish
from subscriptions.services.refunds import authorisation_release
from subscriptions.services.replacements import (
    replacement_line_block,
    replacement_line_unblock,
    replacements_cooling_off_end,
    replacements_unblock_queue_due,
)
from subscriptions.services.saved_cards import saved_card_detach, saved_cards_detach_queue_due
from subscriptions.services.settlement import order_capture
from subscriptions.services.sms_commands import sms_command_answer, sms_commands_unstick
from subscriptions.services.suspensions import (
    suspension_network_block,
    suspension_network_unblock,
    suspensions_network_queue_due,
)
from subscriptions.smdp import SmdpUnavailable

TRANSIENT_MAIL = (smtplib.SMTPException, OSError)


@shared_task(acks_late=True)
def expire_lapsed_lines() -> int:
    """Run by beat every few minutes; safe to run twice or side by side."""
    return lines_expire_lapsed()


@shared_task(acks_late=True)
def reconcile_orders() -> dict[str, int]:
    """Run by beat every minute: ask the provider about card orders pending
    too long and abandon the ones it never settled; capture or release the
    reservations (Vipps MobilePay) the workers did not."""
    return {**orders_reconcile(), **reservations_finish()}


@shared_task(autoretry_for=(PaymentProviderError,), retry_backoff=5, retry_backoff_max=600, max_retries=12)
def capture_order_payment(order_id: int) -> str:
    """Capture a fulfilled order's reserved payment; retried with the same
    idempotency key while the provider fails (the sweep takes over after)."""
    return order_capture(order=Order.objects.get(pk=order_id)).capture_status


@shared_task(autoretry_for=(PaymentProviderError,), retry_backoff=30, retry_backoff_max=3600, max_retries=10)
def stop_vipps_agreement(card_id: int) -> bool:
    """Stop a Vipps MobilePay agreement auto-renew no longer uses."""
    return vipps_agreement_stop(card_id=card_id)


@shared_task(
    acks_late=True, autoretry_for=(PaymentProviderError,), retry_backoff=30, retry_backoff_max=3600, max_retries=10
)
def withdraw_auto_renew_charge(order_id: int) -> bool:
    """Withdraw at Vipps MobilePay a charge of an auto-renew turned off
    before its due date (see auto_renew_charge_withdraw)."""
    return auto_renew_charge_withdraw(order_id=order_id) is not None


@shared_task(autoretry_for=(PaymentProviderError,), retry_backoff=5, retry_backoff_max=600, max_retries=12)
def release_authorisation(event_id: int) -> str:
    """Release a reservation we will not fulfil; retried while the provider fails."""
    return authorisation_release(event_id=event_id).result


@shared_task(autoretry_for=TRANSIENT_MAIL, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def send_receipt(receipt_id: int) -> None:
    """Email the receipt with its PDF, in the customer's language, unless it
    was sent. At least once: a retry after a lost answer from the mail
    server may send it again."""
    receipt_email_send(receipt_id=receipt_id)


@shared_task(acks_late=True)
def email_unsent_receipts() -> int:
    """Run by beat every five minutes: queue again the receipt emails that
    never left (see receipts_email_due). Safe to run twice or side by side."""
    receipt_ids = receipts_email_due()
    for receipt_id in receipt_ids:
        send_receipt.delay(receipt_id)
    return len(receipt_ids)


@shared_task(acks_late=True)
def charge_auto_renewals() -> int:
    """Run by beat: claim the charges of lines due for auto-renew and start
    a task per charge. Two beats or a run twice start a charge twice; the
    charge itself runs once (see auto_renew_charge_run)."""
    charge_ids = auto_renew_sweep()
    for charge_id in charge_ids:
        charge_auto_renewal.delay(charge_id)
    return len(charge_ids)


@shared_task(acks_late=True)
def charge_auto_renewal(charge_id: int) -> str:
    """One charge. Not retried by Celery: a run cut off (provider down, worker
    killed) is picked up again by the sweep, with the same keys."""
    return auto_renew_charge_run(charge_id=charge_id).status


@shared_task(autoretry_for=TRANSIENT_MAIL, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def send_esim_code_email(code_view_id: int) -> bool:
    """Email an eSIM's activation code the customer asked for (the audit row
    names it). Only the row's id travels through the broker, never the code."""
    return esim_code_email_send(code_view_id=code_view_id)


@shared_task(autoretry_for=TRANSIENT_MAIL, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def send_esim_confirmation_code(profile_id: int) -> bool:
    """Email a profile's confirmation code to its line's owner, once. Only
    the profile's id travels through the broker, never the code."""
    return esim_confirmation_code_send(profile_id=profile_id)


@shared_task(acks_late=True)
def end_replacement_cooling_off() -> int:
    """Run by beat every minute: replacement requests past their cooling-off
    time become ready for fulfilment. Safe to run twice or side by side."""
    return replacements_cooling_off_end()


@shared_task(autoretry_for=(NetworkUnavailable,), retry_backoff=10, retry_backoff_max=600, max_retries=12)
def block_line_for_replacement(replacement_id: int) -> bool:
    """Block a line reported lost or stolen, once (the call carries the
    request's id, so a retry is harmless)."""
    return replacement_line_block(replacement_id=replacement_id)


@shared_task(autoretry_for=(NetworkUnavailable,), retry_backoff=10, retry_backoff_max=600, max_retries=12)
def unblock_line_after_replacement(replacement_id: int) -> bool:
    """Unblock a lost phone's line once its new eSIM is ready, or once
    support asked for it after the request was stopped or rejected; once."""
    return replacement_line_unblock(replacement_id=replacement_id)


@shared_task(
    acks_late=True,
    autoretry_for=(SmdpUnavailable, NetworkUnavailable),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=12,
)
def provision_esim(job_id: int) -> str:
    """Give a line its new eSIM profile: the steps not done yet. Retried with
    backoff while the SM-DP+ or the network cannot be reached; after the
    last retry the sweep queues it again."""
    return provisioning_run(job_id=job_id).status


@shared_task(acks_late=True)
def provision_waiting_esims() -> int:
    """Run by beat: queue again the jobs waiting for stock or left unfinished."""
    return provisioning_queue_due()


@shared_task(autoretry_for=TRANSIENT_MAIL, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def send_esim_stock_alert(available: int) -> None:
    """Tell support that eSIM stock is low (once per crossing)."""
    esim_stock_alert_send(available=available)


@shared_task(acks_late=True)
def answer_sms_command(inbound_id: int) -> bool:
    """Answer a text to the service number. Safe to run twice: the claim in
    sms_command_answer lets one run answer; the reply itself is its own task
    (accounts.tasks.deliver_sms), retried while the gateway fails."""
    return sms_command_answer(inbound_id=inbound_id) is not None


@shared_task(
    acks_late=True, autoretry_for=(NetworkUnavailable,), retry_backoff=10, retry_backoff_max=600, max_retries=12
)
def block_suspended_line(suspension_id: int) -> bool:
    """Block a suspended line on the network, once (the call carries the
    suspension's request id, so a retry is harmless)."""
    return suspension_network_block(suspension_id=suspension_id)


@shared_task(
    acks_late=True, autoretry_for=(NetworkUnavailable,), retry_backoff=10, retry_backoff_max=600, max_retries=12
)
def unblock_resumed_line(suspension_id: int) -> bool:
    """Lift the block of a resumed line, once; waits for its block if that is still on its way."""
    return suspension_network_unblock(suspension_id=suspension_id)


@shared_task(acks_late=True)
def build_data_export(export_id: int) -> bool:
    """Build a customer's data export and email its link, once."""
    return data_export_build(export_id=export_id)


@shared_task(acks_late=True)
def delete_expired_data_exports() -> int:
    """Run by beat every hour: export files past their link's day."""
    return data_exports_delete_expired()


@shared_task(acks_late=True)
def delete_old_usage_records() -> int:
    """Run by beat: usage records older than USAGE_RETENTION_DAYS."""
    return usage_records_delete_old()


@shared_task(
    acks_late=True, autoretry_for=(PaymentProviderError,), retry_backoff=30, retry_backoff_max=3600, max_retries=12
)
def detach_saved_card(card_id: int) -> bool:
    """Detach a deleted account's saved card at the provider, once."""
    return saved_card_detach(card_id=card_id)


@shared_task(acks_late=True)
def anonymise_old_bookkeeping_copies() -> int:
    """Run by beat daily: deleted accounts' receipts and credit notes past
    the bookkeeping period lose the name and address printed on them."""
    return bookkeeping_copies_anonymise()


@shared_task(acks_late=True)
def finish_lost_customer_work() -> int:
    """Run by beat every ten minutes: queue again suspensions' network blocks
    and unblocks, support's unblocks of stopped lost-phone requests, data
    exports and deleted accounts' card detaches, whose tasks were lost; and
    answer again texts to the service number whose worker died answering."""
    stuck_texts = sms_commands_unstick()
    for inbound_id in stuck_texts:
        answer_sms_command.delay(inbound_id)
    return (
        suspensions_network_queue_due()
        + replacements_unblock_queue_due()
        + data_exports_queue_stale()
        + saved_cards_detach_queue_due()
        + len(stuck_texts)
    )


@shared_task(acks_late=True)
def send_expiry_reminders() -> int:
    """Run by beat: find the lines due for an expiry reminder and start one
    task per chunk of their ids. Two beats or a run twice start a chunk
    twice; each reminder is still claimed once."""
    chunks = reminders_due_chunks()
    for line_ids in chunks:
        send_expiry_reminder_chunk.delay(line_ids)
    return len(chunks)


@shared_task(acks_late=True)
def send_expiry_reminder_chunk(line_ids: list[int]) -> int:
    """Claim (and queue) the reminders of a chunk of lines. A worker killed
    midway gets the chunk again (acks late): the claims made stay made."""
    return expiry_reminders_claim(line_ids=line_ids)


@shared_task(acks_late=True)
def send_auto_renew_notices() -> int:
    """Run by beat: claim the notices of automatic charges coming up."""
    return auto_renew_notices_claim()


@shared_task(acks_late=True)
def send_waiting_notifications() -> int:
    """Run by beat every minute: queue the messages whose time has come
    (texts held back for the night) or whose task was lost."""
    notification_ids = notifications_queue_due()
    for notification_id in notification_ids:
        deliver_notification.delay(notification_id)
    return len(notification_ids)


@shared_task(
    acks_late=True,
    autoretry_for=(NotificationDeferred,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=MAX_ATTEMPTS - 1,
)
def deliver_notification(notification_id: int) -> str:
    """Send one message, once (see notification_deliver); retried with
    backoff while the mail server or the SMS gateway fails."""
    return notification_deliver(notification_id=notification_id)


@shared_task(
    acks_late=True,
    autoretry_for=(SmdpUnavailable, NetworkUnavailable, PaymentProviderError),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=12,
)
def deactivate_cancelled_line(cancellation_id: int) -> str:
    """Deactivate an approved cancellation's line: the steps not done yet.
    Retried while an outside system cannot be reached; a run cut off is
    queued again by the sweep."""
    return cancellation_deactivate(cancellation_id=cancellation_id).status


@shared_task(acks_late=True)
def deactivate_unfinished_cancellations() -> int:
    """Run by beat: queue again the deactivations whose worker was cut off."""
    cancellation_ids = cancellations_unfinished()
    for cancellation_id in cancellation_ids:
        deactivate_cancelled_line.delay(cancellation_id)
    return len(cancellation_ids)


@shared_task(
    acks_late=True, autoretry_for=(NetworkUnavailable,), retry_backoff=10, retry_backoff_max=600, max_retries=12
)
def bring_back_cancelled_line(cancellation_id: int) -> bool:
    """A reactivated line: lift the network block and prepare its new eSIM, once."""
    return cancellation_comeback_run(cancellation_id=cancellation_id)


@shared_task(acks_late=True)
def quarantine_cancelled_lines() -> int:
    """Run by beat: cancelled lines past their grace period are quarantined.
    Safe to run twice or side by side."""
    return lines_quarantine()


@shared_task(acks_late=True)
def release_quarantined_numbers() -> int:
    """Run by beat: numbers quarantined long enough go back to the pool.
    Safe to run twice or side by side."""
    return numbers_release_quarantined()
