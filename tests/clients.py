"""Test clients made outside a fixture: one per simulated browser, for the
tests that send many requests at once, each with its own session."""

from __future__ import annotations

from typing import Any

from django.test import Client


def signed_in_client(user: Any) -> Client:
    """A client of its own, signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client
