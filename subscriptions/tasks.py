"""Celery tasks for lines: thin, they call a service."""

from __future__ import annotations

from celery import shared_task

from subscriptions.services.lines import lines_expire_lapsed


@shared_task(acks_late=True)
def expire_lapsed_lines() -> int:
    """Run by beat every few minutes; safe to run twice or side by side."""
    return lines_expire_lapsed()
