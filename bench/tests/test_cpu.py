"""The benchmark's CPU meter: which process is which, what each used
between two readings of /proc, and the report's CPU columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import cpu
from bench.cpu import CpuMeter, cpu_snapshot, cpu_used, process_kind
from bench.report import report_text
from bench.tests.test_bench import _report

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")


@pytest.mark.parametrize(
    ("name", "command", "kind"),
    [
        ("python", "/venv/bin/python -m gunicorn portal.wsgi:application --workers 5", "gunicorn"),
        ("gunicorn", "gunicorn: worker [portal.wsgi:application]", "gunicorn"),
        ("postgres", "postgres: 15/main: postgres portal_bench 127.0.0.1(4242) idle", "postgres"),
        ("postgres: walwr", "postgres: 15/main: walwriter", "postgres"),
        ("redis-server", "/usr/bin/redis-server 127.0.0.1:6379", "redis"),
        ("bash", "bash -c make bench", "other"),
    ],
)
def test_it_tells_the_kinds_of_process_apart(name, command, kind):
    assert process_kind(name, command) == kind


def _fake_process(proc: Path, pid: int, *, name: str, command: str, utime: int, stime: int) -> None:
    entry = proc / str(pid)
    entry.mkdir()
    (entry / "comm").write_text(name + "\n")
    (entry / "cmdline").write_bytes(command.replace(" ", "\0").encode() + b"\0")
    # The name in parentheses may itself hold spaces and parentheses.
    rest = ["S", "1", "1", "1", "0", "-1", "4194560", "0", "0", "0", "0", str(utime), str(stime), "0", "0"]
    (entry / "stat").write_text(f"{pid} ({name}) " + " ".join(rest) + "\n")


def test_a_snapshot_reads_each_processes_cpu_seconds_from_proc(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu.os, "sysconf", lambda name: 100)  # clock ticks per second
    _fake_process(tmp_path, 10, name="postgres", command="postgres: idle", utime=150, stime=50)
    _fake_process(tmp_path, 11, name="odd (name) x", command="odd", utime=7, stime=3)
    (tmp_path / "12").mkdir()  # a process that ended while being read

    snapshot = cpu_snapshot(tmp_path)

    assert snapshot == {10: ("postgres", 2.0), 11: ("other", 0.1)}


def test_cpu_used_is_the_growth_per_kind_and_a_new_process_counts_from_zero():
    before = {1: ("gunicorn", 1.0), 2: ("postgres", 5.0), 3: ("gunicorn", 0.5)}
    after = {1: ("gunicorn", 1.75), 2: ("postgres", 5.25), 3: ("gunicorn", 0.5), 4: ("postgres", 0.125)}

    assert cpu_used(before, after) == {"gunicorn": 0.75, "postgres": 0.375}


@linux_only
def test_the_meter_counts_a_finished_childs_cpu_as_the_load_tools_per_request():
    meter = CpuMeter.start()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)

    used = meter.per_request(10)

    assert used["wrk"] > 0
    assert used["total"] >= used["wrk"]
    assert meter.per_request(0) == {}


def test_the_table_shows_each_pages_cpu_per_request_and_its_parts():
    report = _report()
    report["pages"][1]["cpu_ms"] = {"gunicorn": 4.5, "postgres": 0.5, "redis": 0.05, "wrk": 0.2, "total": 5.3}

    lines = report_text(report).splitlines()

    dashboard = next(line for line in lines if line.startswith("dashboard") and " 16 " in line)
    assert "5.30" in dashboard and "4.50 / 0.50 / 0.20" in dashboard
    bare = next(line for line in lines if line.startswith("bare view"))
    assert "/" not in bare  # measured without /proc: blank, not zero
