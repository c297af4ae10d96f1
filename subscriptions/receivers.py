"""What this app does when another app's signal fires: thin, like a view,
each calls one service."""

from __future__ import annotations

from typing import Any

from accounts.identity import identity_document_decided
from accounts.models import IdentityDocument
from subscriptions.services.replacements import replacement_document_decided


def _identity_document_decided(sender: Any, document: IdentityDocument, **kwargs: Any) -> None:
    replacement_document_decided(document=document)


def connect() -> None:
    identity_document_decided.connect(_identity_document_decided, dispatch_uid="subscriptions-replacement-document")
