"""What this app does when another app's signal fires: thin, like a view,
each calls one service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.identity import identity_document_decided, identity_document_uploaded
from accounts.models import IdentityDocument, User
from subscriptions.models import Line, ProvisioningJob
from subscriptions.services.cancellations import (
    cancellation_document_decided,
    cancellation_document_received,
    cancellation_line_came_back,
)
from subscriptions.services.esim_ready_notice import esim_ready_notify
from subscriptions.services.lines import line_reactivated
from subscriptions.services.new_lines import new_line_activate
from subscriptions.services.provisioning import provisioning_ready, provisioning_retried, provisioning_stopped
from subscriptions.services.replacements import (
    replacement_document_decided,
    replacement_provisioning_finished,
    replacement_provisioning_retried,
)


def _identity_document_decided(sender: Any, document: IdentityDocument, **kwargs: Any) -> None:
    replacement_document_decided(document=document)


def _cancellation_document_decided(sender: Any, document: IdentityDocument, **kwargs: Any) -> None:
    cancellation_document_decided(document=document)


def _cancellation_document_uploaded(sender: Any, document: IdentityDocument, **kwargs: Any) -> None:
    cancellation_document_received(document=document)


def _line_reactivated(sender: Any, line: Line, now: datetime, **kwargs: Any) -> None:
    cancellation_line_came_back(line=line, now=now)


def _provisioning_finished(sender: Any, job: ProvisioningJob, **kwargs: Any) -> None:
    replacement_provisioning_finished(job=job)


def _provisioning_ready_for_a_new_line(sender: Any, job: ProvisioningJob, **kwargs: Any) -> None:
    new_line_activate(line=job.line)


def _provisioning_ready_tell_the_customer(sender: Any, job: ProvisioningJob, **kwargs: Any) -> None:
    esim_ready_notify(job=job)


def _provisioning_retried(sender: Any, job: ProvisioningJob, by: User, **kwargs: Any) -> None:
    replacement_provisioning_retried(job=job, by=by)


def connect() -> None:
    identity_document_decided.connect(_identity_document_decided, dispatch_uid="subscriptions-replacement-document")
    identity_document_decided.connect(
        _cancellation_document_decided, dispatch_uid="subscriptions-cancellation-document-decided"
    )
    line_reactivated.connect(_line_reactivated, dispatch_uid="subscriptions-cancellation-line-reactivated")
    identity_document_uploaded.connect(
        _cancellation_document_uploaded, dispatch_uid="subscriptions-cancellation-document-uploaded"
    )
    provisioning_ready.connect(_provisioning_ready_for_a_new_line, dispatch_uid="subscriptions-new-line-ready")
    provisioning_ready.connect(_provisioning_finished, dispatch_uid="subscriptions-replacement-ready")
    provisioning_ready.connect(_provisioning_ready_tell_the_customer, dispatch_uid="subscriptions-esim-ready-notice")
    provisioning_stopped.connect(_provisioning_finished, dispatch_uid="subscriptions-replacement-stopped")
    provisioning_retried.connect(_provisioning_retried, dispatch_uid="subscriptions-replacement-retried")
