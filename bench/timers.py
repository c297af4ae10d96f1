"""The periodic sweeps and the generators, timed on the whole dataset.

Each is run twice: once for the wall time, once under tracemalloc for the
peak of Python memory it allocated (tracemalloc slows Python code down, so
the two are never measured together). Sweeps that write run inside one
transaction that is rolled back at the end: the dataset stays as built, and
nothing they would send on commit (emails, tasks) leaves. Their per-row
transactions become savepoints there, a round trip more each.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import translation

from bench.report import percentile
from subscriptions.esim_qr import esim_activation_code, esim_qr_png, esim_qr_svg
from subscriptions.models import EsimProfile, Line, LineStatus, Receipt
from subscriptions.receipt_pdf import receipt_pdf
from subscriptions.services.autorenew import auto_renew_sweep, lines_due_for_auto_renew
from subscriptions.services.lines import lines_expire_lapsed
from subscriptions.services.reconcile import orders_reconcile

ID_CHUNK = 2_000


@dataclass
class SweepTiming:
    name: str
    rows: int
    seconds: float
    peak_bytes: int
    note: str = ""
    plan: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def lines_read_by(self) -> str:
        """How PostgreSQL's plan reads the lines table: through an index
        (the work grows with the lines due) or by scanning all of it."""
        if not self.plan:
            return ""
        if f"Seq Scan on {Line._meta.db_table}" in self.plan:
            return "scan"
        return "index" if "Index" in self.plan else "other"

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rows_per_second": round(self.rows_per_second, 1),
            "seconds": round(self.seconds, 4),
            "lines_read_by": self.lines_read_by,
        }


@dataclass
class GeneratorTiming:
    name: str
    runs: int
    median_ms: float
    p99_ms: float
    peak_bytes: int
    size_bytes: int

    @property
    def per_second(self) -> float:
        return 1000 / self.median_ms if self.median_ms else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "per_second": round(self.per_second, 1)}


def _peak(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _rolled_back(work: Callable[[], int]) -> Callable[[], int]:
    def run() -> int:
        with transaction.atomic():
            rows = work()
            transaction.set_rollback(True)
        return rows

    return run


def sweep_time(name: str, work: Callable[[], int], *, writes: bool = False, note: str = "") -> SweepTiming:
    """Time ``work`` (which returns how many rows it handled) and measure
    its peak Python memory in a second run."""
    runner = _rolled_back(work) if writes else work
    started = time.perf_counter()
    rows = runner()
    seconds = time.perf_counter() - started
    peak = _peak(runner)
    return SweepTiming(name=name, rows=rows, seconds=seconds, peak_bytes=peak, note=note)


def generator_time(name: str, work: Callable[[], bytes | str], *, runs: int) -> GeneratorTiming:
    """The median and p99 of ``runs`` calls (after one to warm up), and the
    peak Python memory of one call."""
    output = work()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        durations.append((time.perf_counter() - started) * 1000)
    return GeneratorTiming(
        name=name,
        runs=runs,
        median_ms=round(statistics.median(durations), 3),
        p99_ms=round(percentile(durations, 99), 3),
        peak_bytes=_peak(work),
        size_bytes=len(output),
    )


# --- the sweeps -------------------------------------------------------------------------------


def due_for_reminder(*, now: datetime, within: timedelta) -> QuerySet[Line]:
    """The selection an expiry-reminder sweep makes: active lines whose paid
    time ends within ``within``, through the index on ``expires_at``. (The
    auto-renew sweep's selection is its service's own,
    ``lines_due_for_auto_renew``.)"""
    return Line.objects.filter(status=LineStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + within)


def _count_ids(selection: QuerySet[Line]) -> int:
    """Walk the ids in chunks, as a sweep hands them out, holding one chunk
    at a time."""
    return sum(1 for _ in selection.order_by().values_list("pk", flat=True).iterator(chunk_size=ID_CHUNK))


def _explain(selection: QuerySet[Line]) -> str:
    if connection.vendor != "postgresql":
        return ""
    return str(selection.order_by().values_list("pk", flat=True).explain(analyze=True, buffers=True))


def sweeps_time(*, now: datetime, windows: list[timedelta]) -> list[SweepTiming]:
    timings = []
    selections: list[tuple[str, Callable[[timedelta], QuerySet[Line]]]] = [
        ("due for a reminder", lambda within: due_for_reminder(now=now, within=within)),
        ("due for auto-renew", lambda within: lines_due_for_auto_renew(now=now, within=within)),
    ]
    for within in windows:
        for name, select in selections:
            timing = sweep_time(f"{name}, {_window_label(within)}", partial(_count_ids_of, select, within))
            timing.plan = _explain(select(within))
            timings.append(timing)
    timings.append(
        sweep_time(
            "auto-renew sweep: claim charges",
            lambda: len(auto_renew_sweep(now=now)),
            writes=True,
            note="charges claimed for the lines due in AUTO_RENEW_DAYS_BEFORE days; rolled back",
        )
    )
    timings.append(
        sweep_time(
            "expire lapsed lines",
            lambda: lines_expire_lapsed(now=now),
            writes=True,
            note="lines moved to expired; rolled back",
        )
    )
    timings.append(
        sweep_time(
            "reconcile pending card orders",
            lambda: orders_reconcile(now=now)["checked"],
            writes=True,
            note="orders asked about (abandoned if over an hour old); rolled back",
        )
    )
    return timings


def _count_ids_of(select: Callable[[timedelta], QuerySet[Line]], within: timedelta) -> int:
    return _count_ids(select(within))


def _window_label(within: timedelta) -> str:
    days = within / timedelta(days=1)
    return f"{days:g} day" if days == 1 else f"{days:g} days"


# --- the generators ---------------------------------------------------------------------------


def generators_time(*, runs: int) -> list[GeneratorTiming]:
    profile = EsimProfile.objects.exclude(line=None).order_by("pk").first()
    receipt = (
        Receipt.objects.select_related("plan", "owner")
        .filter(owner__language="zh-hans", kind="renewal")
        .order_by("pk")
        .first()
    )
    if profile is None or receipt is None:
        raise RuntimeError("the dataset has no eSIM profile or receipt to draw")
    code = esim_activation_code(profile)
    timings = [
        generator_time("eSIM QR code, PNG", lambda: esim_qr_png(code), runs=runs),
        generator_time("eSIM QR code, SVG", lambda: esim_qr_svg(code), runs=runs),
    ]
    with translation.override(receipt.owner.language):
        timings.append(generator_time("receipt PDF", lambda: receipt_pdf(receipt), runs=max(runs // 5, 10)))
    return timings
