"""The sandbox's own worker: the payment provider's callbacks, the
SM-DP+'s notifications and the SMS gateway's received texts to the portal."""

from __future__ import annotations

from celery import shared_task

from sandbox.provider import CallbackNotTaken, sandbox_deliver_callback
from sandbox.smdp import NotificationNotTaken, smdp_deliver_notifications
from sandbox.sms import TextNotTaken, sandbox_deliver_text
from sandbox.vipps import WebhookNotTaken, vipps_deliver_webhooks


@shared_task(autoretry_for=(CallbackNotTaken,), retry_backoff=5, retry_backoff_max=600, max_retries=10)
def send_callback(payment_id: str) -> None:
    """The payment's signed callback to the portal, retried until taken."""
    sandbox_deliver_callback(payment_id=payment_id)


@shared_task(autoretry_for=(NotificationNotTaken,), retry_backoff=5, retry_backoff_max=600, max_retries=10)
def send_download_progress(iccid: str) -> None:
    """The pretend SM-DP+'s signed download-progress notifications for a
    profile, retried until the portal takes them."""
    smdp_deliver_notifications(iccid=iccid)


@shared_task(autoretry_for=(TextNotTaken,), retry_backoff=5, retry_backoff_max=600, max_retries=10)
def send_inbound_text(text_id: int) -> None:
    """A text from the pretend phone, posted to the portal as the SMS
    gateway posts one, retried until taken."""
    sandbox_deliver_text(text_id=text_id)


@shared_task(autoretry_for=(WebhookNotTaken,), retry_backoff=5, retry_backoff_max=600, max_retries=10)
def send_vipps_webhooks(reference: str) -> None:
    """The pretend Vipps MobilePay's signed webhooks for a payment, retried
    until the portal takes them."""
    vipps_deliver_webhooks(reference=reference)
