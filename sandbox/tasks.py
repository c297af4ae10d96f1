"""The sandbox provider's own worker: its callbacks to the portal."""

from __future__ import annotations

from celery import shared_task

from sandbox.provider import CallbackNotTaken, sandbox_deliver_callback


@shared_task(autoretry_for=(CallbackNotTaken,), retry_backoff=5, retry_backoff_max=600, max_retries=10)
def send_callback(payment_id: str) -> None:
    """The payment's signed callback to the portal, retried until taken."""
    sandbox_deliver_callback(payment_id=payment_id)
