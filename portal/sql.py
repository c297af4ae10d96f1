"""Helpers for the few queries written out in SQL."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model


@cache
def columns(model: type[Model], alias: str | None = None) -> str:
    """The model's own columns, quoted and comma-separated (``alias.col`` when
    an alias is given), for a raw query that loads whole rows.

    Written out rather than ``*``: PostgreSQL refuses to run a prepared
    statement whose result columns changed since it was planned, so a
    ``SELECT *`` prepared by a running worker would fail once a migration adds
    a column, until the worker restarts."""
    quote = connection.ops.quote_name
    prefix = f"{quote(alias)}." if alias else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)
