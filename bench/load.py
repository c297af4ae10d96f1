"""Driving the server with wrk (Debian's package) and reading its results."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter

SCRIPT = Path(__file__).with_name("wrk.lua")
RESULT_MARK = "WRK_JSON "


@dataclass(frozen=True)
class Page:
    """A page to load: its name in the report, its path ("{line}" is one of
    the customer's lines, or with ``install`` one of their lines with an
    eSIM ready to install) and whether the visitor is signed in."""

    name: str
    path: str
    signed_in: bool = True
    install: bool = False


@dataclass(frozen=True)
class LoadResult:
    page: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    socket_errors: int
    # Milliseconds of CPU per request by kind of process (bench/cpu.py).
    cpu_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; `make bench` does it)")
    return found


def wrk_command(
    *, url: str, page: Page, sessions_file: Path, cookie_name: str, concurrency: int, seconds: float, threads: int
) -> list[str]:
    return [
        wrk_path(),
        f"--threads={max(1, min(threads, concurrency))}",
        f"--connections={concurrency}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
        "--",
        page.path,
        str(sessions_file) if page.signed_in else "-",
        cookie_name,
    ]


def wrk_parse(output: str, *, page: str, concurrency: int) -> LoadResult:
    """The JSON line the script's done() prints, as a result."""
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            data = json.loads(line[len(RESULT_MARK) :])
            break
    else:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    seconds = data["duration_us"] / 1e6
    latency = data["latency_us"]
    errors = data["errors"]
    return LoadResult(
        page=page,
        concurrency=concurrency,
        requests=data["requests"],
        seconds=round(seconds, 2),
        rps=round(data["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=round(latency["p50"] / 1000, 2),
        p90_ms=round(latency["p90"] / 1000, 2),
        p99_ms=round(latency["p99"] / 1000, 2),
        max_ms=round(latency["max"] / 1000, 2),
        non_200=data["non_200"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
    )


def wrk_run(
    *, url: str, page: Page, sessions_file: Path, cookie_name: str, concurrency: int, seconds: float, threads: int
) -> LoadResult:
    command = wrk_command(
        url=url,
        page=page,
        sessions_file=sessions_file,
        cookie_name=cookie_name,
        concurrency=concurrency,
        seconds=seconds,
        threads=threads,
    )
    meter = CpuMeter.start()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    result = wrk_parse(finished.stdout, page=page.name, concurrency=concurrency)
    return replace(result, cpu_ms=meter.per_request(result.requests))
