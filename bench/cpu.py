"""Where the CPU of a load run goes: the CPU time each kind of process used
while wrk ran, read from Linux's /proc before and after, per request.

On two CPUs the server, PostgreSQL, Redis and wrk share the machine, so a
page's requests per second follow the CPU all of them spend on it, not only
gunicorn's. Elsewhere than Linux nothing is measured (an empty result)."""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# The kinds of process reported, by what a process's name or command line says.
GUNICORN = "gunicorn"
POSTGRES = "postgres"
REDIS = "redis"
WRK = "wrk"
OTHER = "other"


def process_kind(name: str, command: str) -> str:
    """The kind of a process from its name (/proc/PID/comm) and command line."""
    if GUNICORN in command:
        return GUNICORN
    if name.startswith(POSTGRES):
        return POSTGRES
    if name.startswith("redis"):
        return REDIS
    return OTHER


def cpu_snapshot(proc: Path = PROC) -> dict[int, tuple[str, float]]:
    """Each live process's kind and the CPU seconds (user + system) it has used."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for entry in proc.glob("[0-9]*"):
        try:
            name = (entry / "comm").read_text().strip()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        found[int(entry.name)] = (process_kind(name, command), (int(fields[11]) + int(fields[12])) / ticks)
    return found


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per kind between two snapshots; a process that started in
    between counts from zero. (One that started and ended in between is not
    seen: wrk's own time comes from the children's usage instead.)"""
    used: dict[str, float] = defaultdict(float)
    for pid, (kind, seconds) in after.items():
        used[kind] += seconds - before.get(pid, (kind, 0.0))[1]
    return dict(used)


@dataclass(frozen=True)
class CpuMeter:
    """Started before a load run, read after it; the load tool must be a
    child of this process that has ended by then (its time is the children's)."""

    processes: dict[int, tuple[str, float]]
    children_seconds: float

    @classmethod
    def start(cls) -> CpuMeter:
        return cls(processes=cpu_snapshot() if PROC.is_dir() else {}, children_seconds=_children_seconds())

    def per_request(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request by kind of process since the start,
        and their ``total``; nothing without /proc or without a request."""
        if not PROC.is_dir() or not requests:
            return {}
        used = cpu_used(self.processes, cpu_snapshot())
        used[WRK] = _children_seconds() - self.children_seconds
        per_request = {kind: round(seconds * 1000 / requests, 3) for kind, seconds in sorted(used.items())}
        per_request["total"] = round(sum(used.values()) * 1000 / requests, 3)
        return per_request


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
