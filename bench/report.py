"""The benchmark's report: one plain-text table for people, one JSON file
for comparing two runs.

The JSON (``var/bench/<UTC time>.json``, copied to ``latest.json``) holds
the machine, the settings, the dataset, and for each page, sweep and
generator the figures the table shows; the table adds the change of each
figure since the newest earlier run at the same scale.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cpu import GUNICORN, POSTGRES, WRK

MB = 1024 * 1024


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation between the
    closest ranks, as numpy's default does; 0.0 for no values."""
    if not values:
        return 0.0
    if not 0 <= p <= 100:
        raise ValueError("a percentile is between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def change(now: float | None, before: float | None) -> str:
    """The relative change from ``before`` to ``now`` ("+12%", "-3%", "=");
    blank when either is missing or ``before`` is zero."""
    if now is None or before is None or before == 0:
        return ""
    ratio = (now - before) / before
    if abs(ratio) < 0.005:
        return "="
    return f"{ratio:+.0%}"


@dataclass(frozen=True)
class Target:
    """A figure the issue sets a limit on, and whether it is met."""

    name: str
    value: float
    limit: float
    at_least: bool
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "limit": self.limit, "at_least": self.at_least, "met": self.met}


def _rows_by_key(report: dict[str, Any] | None, section: str, *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    if not report:
        return {}
    return {tuple(row.get(key) for key in keys): row for row in report.get(section, [])}


def _table(header: list[str], rows: list[list[str]], *, align_left: int = 1) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if index < align_left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def _number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else ""


def _pages_table(report: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """One row per page and concurrency; without a load run (--skip-load),
    one per page with the figures measured in this process only."""
    queries: dict[str, dict[str, Any]] = report.get("queries", {})
    if not report["pages"]:
        rows = [
            [name, str(count["max"]), f"{count['mean']:.1f}", f"{count['app_ms']:.1f}", f"{count['sql_ms']:.1f}"]
            for name, count in queries.items()
        ]
        return [*_table(["page", "SQL max", "SQL mean", "app ms", "SQL ms"], rows), ""]
    before_pages = _rows_by_key(previous, "pages", "page", "concurrency")
    compare = previous is not None
    page_rows = []
    for row in report["pages"]:
        old = before_pages.get((row["page"], row["concurrency"]), {})
        cells = [
            row["page"],
            str(row["concurrency"]),
            _number(row["rps"]),
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            _ratio(row["ratio"]),
            _ratio(row.get("ratio_signed_in")),
            str(row["queries_max"]) if row.get("queries_max") is not None else "",
            f"{row['queries_mean']:.1f}" if row.get("queries_mean") is not None else "",
            f"{row['app_ms']:.1f}" if row.get("app_ms") is not None else "",
            f"{row['sql_ms']:.1f}" if row.get("sql_ms") is not None else "",
            *_cpu_cells(row.get("cpu_ms") or {}),
            str(row["non_200"] + row["socket_errors"]),
        ]
        if compare:
            cells += [change(row["rps"], old.get("rps")), change(row["p99_ms"], old.get("p99_ms"))]
        page_rows.append(cells)
    header = [
        "page",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "vs bare",
        "vs signed-in bare",
        "SQL max",
        "SQL mean",
        "app ms",
        "SQL ms",
        "CPU ms",
        "web / db / wrk",
        "errors",
    ]
    if compare:
        header += ["req/s Δ", "p99 Δ"]
    return [*_table(header, page_rows), *PAGES_LEGEND, ""]


SWEEPS_LEGEND = [
    "peak MB: Python memory at the peak of a second run (tracemalloc); lines by: how PostgreSQL's plan reads the",
    "lines table (index: the work grows with the lines due; scan: with all lines). Writing sweeps are rolled back.",
]
PAGES_LEGEND = [
    "vs bare: req/s as a share of the anonymous bare view's; vs signed-in bare: of the bare view with a session",
    "(session, user, CSRF, CSP: the floor every signed-in page stands on), which the targets use. Each divides by",
    "the mean of that bare view's run before the pages and its run again after them (the machine's speed drifts).",
    "SQL max/mean: statements per request over the sample; app ms, SQL ms: median time of one request in the bench",
    "process alone, and its SQL part (the rest is Python); wrk's p50/p99 add queueing and the CPUs shared with",
    "PostgreSQL and wrk. CPU ms: CPU time of every process on the machine per request during the run (Linux /proc),",
    "and of it gunicorn's, PostgreSQL's and wrk's: with two CPUs, req/s is at most 2000 / CPU ms.",
]


def _cpu_cells(cpu_ms: dict[str, float]) -> list[str]:
    if not cpu_ms:
        return ["", ""]
    parts = (cpu_ms.get(kind, 0.0) for kind in (GUNICORN, POSTGRES, WRK))
    return [f"{cpu_ms['total']:.2f}", " / ".join(f"{part:.2f}" for part in parts)]


def report_text(report: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """The table printed at the end of a run."""
    meta = report["meta"]
    dataset = report["dataset"]
    out = [
        f"Nordlys portal benchmark, {meta['finished_at']} (commit {meta.get('commit') or '?'})",
        f"Machine: {meta['cpus']} CPUs, load average {meta['load_before']} before, {meta['load_after']} after",
        f"Server: {meta['server']}; wrk {meta['wrk_seconds']:g} s per run, {meta['wrk_threads']} threads",
        (
            f"Dataset: {dataset['rows'].get('customers', 0):,} customers, {dataset['rows'].get('lines', 0):,} lines, "
            f"{dataset['rows'].get('usage', 0):,} usage records, {dataset['rows'].get('receipts', 0):,} receipts; "
            + (
                f"reused (built {dataset['built_at']} in {dataset['seconds']:.0f} s)"
                if dataset.get("reused")
                else f"built in {dataset['seconds']:.0f} s"
            )
        ),
        "",
    ]
    compare = previous is not None
    out += _pages_table(report, previous)
    before_sweeps = _rows_by_key(previous, "sweeps", "name")
    sweep_rows = []
    for row in report["sweeps"]:
        old = before_sweeps.get((row["name"],), {})
        cells = [
            row["name"],
            _number(row["rows"]),
            f"{row['seconds'] * 1000:,.1f}",
            _number(row["rows_per_second"]),
            f"{row['peak_bytes'] / MB:.2f}",
            row.get("lines_read_by", ""),
        ]
        if compare:
            cells += [change(row["seconds"], old.get("seconds")), change(row["peak_bytes"], old.get("peak_bytes"))]
        sweep_rows.append(cells)
    header = ["sweep", "rows", "ms", "rows/s", "peak MB", "lines by"]
    if compare:
        header += ["time Δ", "memory Δ"]
    if sweep_rows:
        out += [*_table(header, sweep_rows), *SWEEPS_LEGEND, ""]

    before_generators = _rows_by_key(previous, "generators", "name")
    generator_rows = []
    for row in report["generators"]:
        old = before_generators.get((row["name"],), {})
        cells = [
            row["name"],
            f"{row['median_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            _number(row["per_second"]),
            f"{row['peak_bytes'] / MB:.2f}",
            _number(row["size_bytes"]),
        ]
        if compare:
            cells += [change(row["median_ms"], old.get("median_ms"))]
        generator_rows.append(cells)
    header = ["generator", "median ms", "p99 ms", "per s", "peak MB", "bytes"]
    if compare:
        header += ["time Δ"]
    if generator_rows:
        out += [*_table(header, generator_rows), ""]

    if report.get("reminders"):
        out += [*_reminders_lines(report["reminders"], (previous or {}).get("reminders")), ""]

    if report.get("targets"):
        out.append("Targets:")
        for target in report["targets"]:
            sign = ">=" if target["at_least"] else "<="
            verdict = "met" if target["met"] else "MISSED"
            out.append(f"  {verdict:<6} {target['name']}: {target['value']:g} ({sign} {target['limit']:g})")
    if previous is not None:
        out += ["", f"Δ: change since the run of {previous['meta']['finished_at']} on a dataset of the same scale."]
    return "\n".join(out) + "\n"


def _reminders_lines(run: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """The reminders sent end to end: the rates, the checks, where the CPU
    went, and the sweep's query plan."""
    old = before or {}
    messages = run["claimed"] or 1
    cpu = ", ".join(
        f"{kind} {seconds * 1000 / messages:.1f}" for kind, seconds in sorted(run.get("cpu_seconds", {}).items())
    )
    claimed_change = change(run["claimed_per_second"], old.get("claimed_per_second"))
    sent_change = change(run["sent_per_second"], old.get("sent_per_second"))
    lines = [
        f"Expiry reminders end to end: {run['due_lines']:,} lines due ({run['added_lines']:,} added to the dataset's), "
        f"{run['chunks']} chunks, {run['workers']} Celery worker processes over Redis",
        f"  claimed  {run['claimed']:>8,} messages in {run['claimed_seconds']:7.1f} s  "
        f"{run['claimed_per_second']:8,.1f}/s  {claimed_change}".rstrip(),
        f"  sent     {run['sent']:>8,} messages in {run['handled_seconds']:7.1f} s  "
        f"{run['sent_per_second']:8,.1f}/s  {sent_change}".rstrip(),
        f"  of which {run.get('sent_after_claims', 0):>8,} after the last claim, in "
        f"{run.get('after_claims_seconds', 0):7.1f} s  {run.get('delivered_per_second', 0):8,.1f}/s",
        f"  not sent {run['skipped']:,} skipped, {run['failed']:,} failed"
        + (
            f"; {run['ended_unclaimed']:,} lines' periods ended before their chunk ran (no reminder, as the rule says)"
            if run.get("ended_unclaimed")
            else ""
        )
        + ("" if run["finished"] else "; THE RUN GAVE UP before every message was handled"),
        f"  arrived  {run['emails_received']:,} emails at the SMTP server, {run['texts_written']:,} texts; "
        f"{run['duplicates']} more than once, {run['missing']} sent but missing",
        f"  CPU ms per message: {cpu}" if cpu else "",
        f"  the sweep's selection: {run['selection_ms']:,.0f} ms in this process, lines read by {run['lines_read_by']}",
    ]
    if run.get("plan"):
        lines += ["  its plan (EXPLAIN ANALYZE, BUFFERS):", *(f"    {row}" for row in run["plan"].splitlines())]
    return [line for line in lines if line]


def report_write(report: dict[str, Any], directory: Path) -> tuple[Path, dict[str, Any] | None]:
    """Write the report as ``<finished_at>.json`` and ``latest.json``;
    returns the new file and the run to compare it with (see
    ``report_comparable``), found before this one was written."""
    directory.mkdir(parents=True, exist_ok=True)
    previous = report_comparable(report, directory)
    stamp = report["meta"]["finished_at"].replace(":", "").replace("-", "")
    path = directory / f"{stamp}.json"
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text)
    (directory / "latest.json").write_text(text)
    return path, previous


def report_comparable(report: dict[str, Any], directory: Path) -> dict[str, Any] | None:
    """The newest earlier run on a dataset of the same scale that measured
    what this one did (pages, sweeps): a run at another scale, or one that
    skipped the load, says nothing about this one's figures."""
    for path in sorted(directory.glob("[0-9]*T*Z.json"), reverse=True):
        try:
            earlier: dict[str, Any] = json.loads(path.read_text())
        except ValueError:
            continue
        if earlier.get("meta", {}).get("finished_at", "") >= report["meta"]["finished_at"]:
            continue
        if earlier.get("dataset", {}).get("scale") != report["dataset"].get("scale"):
            continue
        if (report["pages"] and not earlier.get("pages")) or (report["sweeps"] and not earlier.get("sweeps")):
            continue
        if report.get("reminders") and not earlier.get("reminders"):
            continue
        return earlier
    return None


# The least share of the signed-in bare view's req/s each page must reach:
# a signed-in page cannot be faster than being signed in and doing nothing.
# The line page is a summary (its history has pages of its own), held to the
# dashboard's share. The usage history's 25 rows and filter are a part of a
# page measured at 22 % with a chart, a ledger and two forms besides
# (README.md, "Runs"), so 20 % is its floor.
SIGNED_IN_SHARES = {
    "dashboard": 0.35,
    "line page": 0.35,
    "usage history": 0.20,
    "receipts": 0.35,
    "plan catalogue": 0.45,
}
# SQL statements per page (the bench lists the statements of a page above it).
QUERIES_LIMIT = 8
P99_LIMIT_MS = 60


def targets_check(report: dict[str, Any], *, concurrency: int = 16) -> list[Target]:
    """The targets, at ``concurrency`` connections: each page's share of the
    signed-in bare view and its SQL per request, the dashboard's and line
    page's p99, the due-line selections, the generators, the dataset build."""
    pages = {row["page"]: row for row in report["pages"] if row["concurrency"] == concurrency}
    targets: list[Target] = []
    for name, share in SIGNED_IN_SHARES.items():
        row = pages.get(name)
        if row is None:
            continue
        if row.get("ratio_signed_in") is not None:
            targets.append(
                Target(
                    f"{name}: req/s vs signed-in bare view at {concurrency} conns",
                    round(row["ratio_signed_in"], 2),
                    share,
                    at_least=True,
                )
            )
        if name in ("dashboard", "line page"):
            targets.append(
                Target(f"{name}: p99 ms at {concurrency} conns", row["p99_ms"], P99_LIMIT_MS, at_least=False)
            )
        if row.get("queries_max") is not None:
            targets.append(
                Target(f"{name}: SQL queries per request (max)", row["queries_max"], QUERIES_LIMIT, at_least=False)
            )
    for sweep in report["sweeps"]:
        if sweep["name"].startswith("due for"):
            targets.append(Target(f"{sweep['name']}: seconds", round(sweep["seconds"], 4), 0.5, at_least=False))
    for generator in report["generators"]:
        limit = 100 if "PDF" in generator["name"] else 10
        targets.append(Target(f"{generator['name']}: median ms", generator["median_ms"], limit, at_least=False))
    dataset = report["dataset"]
    if not dataset.get("reused"):
        targets.append(Target("dataset built: seconds", round(dataset["seconds"], 1), 600, at_least=False))
    return targets
