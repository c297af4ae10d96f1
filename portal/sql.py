"""Helpers for the few queries written out in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def columns(model: type[Model], alias: str | None = None, names: tuple[str, ...] | None = None) -> str:
    """The model's own columns, quoted and comma-separated (``alias.col`` when
    an alias is given), for a raw query that loads whole rows; or only those
    of the fields ``names`` names, in that order.

    Written out rather than ``*``: PostgreSQL refuses to run a prepared
    statement whose result columns changed since it was planned, so a
    ``SELECT *`` prepared by a running worker would fail once a migration adds
    a column, until the worker restarts."""
    quote = connection.ops.quote_name
    prefix = f"{quote(alias)}." if alias else ""
    fields = {field.name: field for field in model._meta.concrete_fields}
    chosen = list(fields.values()) if names is None else [fields[name] for name in names]
    return ", ".join(prefix + quote(field.column) for field in chosen)


class RawRows(Generic[M]):
    """What Django's ``Paginator`` reads of a queryset, ``count()`` and
    slices, as two queries written out in SQL: for the long customer lists,
    whose ORM-built count and page queries cost more Python to compile than
    PostgreSQL takes to run them.

    ``source`` is the FROM clause (tables, joins), ``where`` the condition with
    ``%s`` for each of ``params``, ``order_by`` a total order. ``count_cap``
    bounds the count (counting stops there, for lists too long to count);
    ``finish`` may complete each row after loading (e.g. joined names)."""

    ordered = True

    def __init__(
        self,
        model: type[M],
        *,
        select: str,
        source: str,
        where: str,
        params: Sequence[Any],
        order_by: str,
        count_cap: int | None = None,
        finish: Callable[[M], object] | None = None,
    ) -> None:
        self.model = model
        self.select, self.source, self.where, self.order_by = select, source, where, order_by
        self.params = list(params)
        self.count_cap = count_cap
        self.finish = finish

    def count(self) -> int:
        if self.count_cap is None:
            sql, params = f"SELECT COUNT(*) FROM {self.source} WHERE {self.where}", self.params  # noqa: S608 (names from the models, values as parameters)
        else:
            sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {self.source} WHERE {self.where} LIMIT %s) capped"  # noqa: S608 (names from the models, values as parameters)
            params = [*self.params, self.count_cap]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    def __getitem__(self, window: slice) -> list[M]:
        if not isinstance(window, slice) or window.stop is None or window.step is not None:
            raise TypeError("RawRows is read in slices with an end, as Paginator reads it")
        offset, stop = window.start or 0, window.stop
        if stop <= offset:
            return []  # an empty list's only page: nothing to ask for
        rows = list(
            self.model._default_manager.raw(
                f"SELECT {self.select} FROM {self.source} WHERE {self.where}"  # noqa: S608 (names from the models, values as parameters)
                f" ORDER BY {self.order_by} LIMIT %s OFFSET %s",
                [*self.params, stop - offset, offset],
            )
        )
        if self.finish is not None:
            for row in rows:
                self.finish(row)
        return rows
