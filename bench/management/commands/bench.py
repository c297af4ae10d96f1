"""`manage.py bench` (run by `make bench`): the portal's speed beside the
stack's own ceiling, on a large dataset. Prints figures; fails nothing.

1. Make sure the bench database exists, is migrated, and holds the dataset
   (built in bulk, or reused when one of the same scale and version is there).
2. Sign in a random sample of customers; count the SQL of each page for a
   sample of them (and for the customers with the most lines, usage and
   receipts) in this process.
3. Start gunicorn with these settings; drive each page and the bare view
   (anonymous and signed in, before the pages and again after them) with
   wrk at each concurrency; the eSIM Install page and its QR codes as the
   customers with an eSIM ready to install.
4. Time the sweeps and the generators.
5. Send the expiry reminders of 25,000 due lines end to end: the sweep, two
   Celery worker processes over Redis, an SMTP server (bench/reminders.py).
6. Print the table, write it as JSON under var/bench/, compare it with the
   previous run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from psycopg import sql

from bench import dataset as bench_dataset
from bench.load import LoadResult, Page, wrk_run
from bench.queries import QueryCount, queries_count, request_profile
from bench.reminders import reminders_run
from bench.report import QUERIES_LIMIT, report_text, report_write, targets_check
from bench.server import ServerConfig, gunicorn_running
from bench.sessions import SignedIn, install_customers, sessions_create, sessions_file_write
from bench.timers import generators_time, sweeps_time
from subscriptions.models import Line, Receipt, UsageRecord

PAGES = [
    Page("bare view", "/bench/bare/", signed_in=False),
    Page("bare view, signed in", "/bench/bare/"),
    Page("dashboard", "/dashboard/"),
    Page("line page", "/lines/{line}/"),
    Page("usage history", "/lines/{line}/usage/"),
    Page("receipts", "/receipts/"),
    Page("plan catalogue", "/plans/"),
    # A line whose eSIM is ready to install: its code, after a fresh sign-in,
    # each showing an audit row.
    Page("eSIM install page", "/lines/{line}/esim/install/", install=True),
    Page("eSIM QR code, PNG", "/lines/{line}/esim/install/qr.png", install=True),
    Page("eSIM QR code, SVG", "/lines/{line}/esim/install/qr.svg", install=True),
]
BARE = PAGES[0].name
BARE_SIGNED_IN = PAGES[1].name
# Both bare views run again after the pages: the machine's speed drifts, and
# each ratio divides by the mean of a bare view's run before the pages and after them.
BARE_AGAIN = Page("bare view, again", PAGES[0].path, signed_in=False)
BARE_SIGNED_IN_AGAIN = Page("bare view, signed in, again", PAGES[1].path)
AGAIN = {BARE_AGAIN.name: BARE, BARE_SIGNED_IN_AGAIN.name: BARE_SIGNED_IN}
# How far ahead the due-line selections look: the reminders' schedule (7, 3
# and 1 days before expiry), AUTO_RENEW_DAYS_BEFORE being 3.
WINDOWS = [timedelta(days=1), timedelta(days=3), timedelta(days=7)]
# Due lines for the reminders' run at scale 1 (and as many times the scale).
REMINDER_LINES = 25_000
SECTIONS = ["load", "sweeps", "reminders"]


def _int_list(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Benchmark the portal under gunicorn and wrk on a large dataset (bench.settings only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="dataset size as a fraction of the full one")
        parser.add_argument("--rebuild", action="store_true", help="build the dataset even if one is there")
        parser.add_argument("--seconds", type=float, default=10, help="wrk's duration per page and concurrency")
        parser.add_argument("--concurrency", type=_int_list, default=[4, 16, 64], help="comma-separated")
        parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: 2 x CPUs + 1)")
        parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
        parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--sessions", type=int, default=5_000, help="customers signed in for wrk")
        parser.add_argument("--query-sample", type=int, default=60, help="customers whose SQL is counted")
        parser.add_argument("--profile", action="store_true", help="write a cProfile of each page under var/bench")
        parser.add_argument("--skip-load", action="store_true", help="no gunicorn and wrk")
        parser.add_argument("--skip-sweeps", action="store_true", help="no sweeps and generators")
        parser.add_argument("--skip-reminders", action="store_true", help="no reminders sent end to end")
        parser.add_argument("--only", choices=SECTIONS, default=None, help="run this section alone (after the dataset)")
        parser.add_argument(
            "--reminders", type=int, default=0, help=f"due lines for the reminders (0: {REMINDER_LINES:,} x scale)"
        )
        parser.add_argument("--reminder-workers", type=int, default=2, help="Celery worker processes for them")
        parser.add_argument(
            "--reminders-timeout", type=float, default=1_800, help="seconds before the reminders' run stops waiting"
        )
        parser.add_argument("--output", type=Path, default=None, help="where the JSON goes (var/bench)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "BENCH", False):
            raise CommandError("Run it with DJANGO_SETTINGS_MODULE=bench.settings (`make bench` does).")
        output: Path = options["output"] or settings.VAR_DIR / "bench"
        load_before = _load_average()
        self.say("== the database")
        _database_ensure()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)

        self.say("== the dataset")
        data = self._dataset(scale=bench_dataset.Scale().times(options["scale"]), rebuild=options["rebuild"])
        only = options["only"]
        run_load = only in (None, "load") and not options["skip_load"]
        run_sweeps = only in (None, "sweeps") and not options["skip_sweeps"]
        run_reminders = only in (None, "reminders") and not options["skip_reminders"]
        # Signing in and counting SQL serve the load only.
        files = {False: output / "wrk-sessions.txt", True: output / "wrk-sessions-install.txt"}
        if only in (None, "load"):
            signed_in, sample, counts = self._sign_in(data, options, files)
        else:
            signed_in, sample, counts = [], [], {}

        workers = options["workers"] or 2 * (os.cpu_count() or 1) + 1
        server = ServerConfig(
            workers=workers,
            worker_class=options["worker_class"],
            threads=options["threads"],
            port=options["port"],
        )
        wrk_threads = min(2, os.cpu_count() or 1)
        pages: list[dict[str, Any]] = []
        if run_load:
            self.say(f"== load: {server.describe()}, wrk {options['seconds']:g} s per run")
            pages = self._load(server, files, options["concurrency"], options["seconds"], wrk_threads, counts)

        sweeps: list[dict[str, Any]] = []
        generators: list[dict[str, Any]] = []
        if run_sweeps:
            self.say("== sweeps and generators")
            now = timezone.now()
            for timing in sweeps_time(now=now, windows=WINDOWS):
                self.say(f"  {timing.name:<34} {timing.rows:>8,} rows  {timing.seconds * 1000:9.1f} ms")
                sweeps.append(timing.to_json())
            for generated in generators_time(runs=200):
                self.say(f"  {generated.name:<34} {generated.median_ms:9.2f} ms median")
                generators.append(generated.to_json())

        reminders: dict[str, Any] | None = None
        if run_reminders:
            count = options["reminders"] or max(1, round(REMINDER_LINES * options["scale"]))
            self.say(f"== expiry reminders: {count:,} due lines, {options['reminder_workers']} workers")
            run = reminders_run(
                count=count, workers=options["reminder_workers"], timeout=options["reminders_timeout"], say=self.say
            )
            reminders = run.to_json()
            self.say(
                f"  {run.claimed:,} claimed in {run.claimed_seconds:.1f} s ({run.claimed_per_second:,.0f}/s), "
                f"{run.sent:,} sent in {run.handled_seconds:.1f} s ({run.sent_per_second:,.0f}/s); "
                f"{run.emails_received:,} emails at the SMTP server, {run.texts_written:,} texts; "
                f"{run.duplicates} twice, {run.missing} missing"
            )

        report: dict[str, Any] = {
            "meta": {
                "finished_at": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "commit": _commit(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_before": load_before,
                "load_after": _load_average(),
                "server": server.describe(),
                "settings": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
                "session_engine": settings.SESSION_ENGINE,
                "wrk_seconds": options["seconds"],
                "wrk_threads": wrk_threads,
                "sessions": len(signed_in),
                "query_sample": len(sample),
            },
            "dataset": {**data.to_json(), "reused": data.reused},
            "pages": pages,
            "queries": {name: count.to_json() for name, count in counts.items()},
            "sweeps": sweeps,
            "generators": generators,
            "reminders": reminders,
        }
        report["targets"] = [target.to_json() for target in targets_check(report)]
        path, previous = report_write(report, output)
        self.stdout.write("\n" + report_text(report, previous))
        self.say(f"Written to {path} and {output / 'latest.json'}.")

    def _sign_in(
        self, data: bench_dataset.Dataset, options: dict[str, Any], files: dict[bool, Path]
    ) -> tuple[list[SignedIn], list[SignedIn], dict[str, QueryCount]]:
        """Sign in the customers wrk plays (``files``: theirs, and those with an
        eSIM to install) and count the SQL of each page for a sample of them."""
        self.say("== signing in customers")
        heavy = _heaviest_customers()
        installing = install_customers(count=max(1, options["sessions"] // 10), seed=data.seed)
        signed_in = sessions_create(count=options["sessions"], seed=data.seed, also=[*heavy.values(), *installing])
        sessions_file = sessions_file_write(files[False], signed_in)
        sessions_file_write(files[True], signed_in, install=True)
        self.say(f"  {len(signed_in):,} sessions in {sessions_file}, {len(installing):,} with an eSIM to install")
        sample = _query_sample(signed_in, options["query_sample"], heavy)
        install_sample = [entry for entry in signed_in if entry.install_line_ids][: options["query_sample"]]

        self.say("== SQL per request (in this process)")
        counts: dict[str, QueryCount] = {}
        for page in PAGES:
            counts[page.name] = queries_count(page, install_sample if page.install else sample)
            count = counts[page.name]
            self.say(
                f"  {page.name:<22} max {count.max:>3}  mean {count.mean:5.1f}"
                f"  {count.app_ms:6.1f} ms a request here, {count.sql_ms:5.1f} ms of it SQL"
            )
            if count.max > QUERIES_LIMIT:
                self.say(f"    over {QUERIES_LIMIT}: the statements of {count.worst_path}")
                for statement in count.worst:
                    self.say(f"      {statement[:110]}")
        if options["profile"]:
            self._profiles([*sample, *install_sample], files[False].parent)
        return signed_in, sample, counts

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def _dataset(self, *, scale: bench_dataset.Scale, rebuild: bool) -> bench_dataset.Dataset:
        stored = bench_dataset.dataset_stored()
        if (
            not rebuild
            and stored is not None
            and stored.version == bench_dataset.DATASET_VERSION
            and stored.scale == scale
        ):
            stored.reused = True
            self.say(
                f"  reusing the dataset built {stored.built_at:%Y-%m-%d %H:%M} UTC in {stored.seconds:.0f} s "
                f"({stored.rows.get('usage', 0):,} usage records); --rebuild builds it again"
            )
            return stored
        reason = "asked to" if rebuild else "none of this scale and version is stored"
        self.say(f"  building ({reason}): {scale}")
        built = bench_dataset.dataset_build(scale=scale, now=timezone.now(), say=self.say)
        self.say(f"  built in {built.seconds:.1f} s")
        return built

    def _load(
        self,
        server: ServerConfig,
        sessions_files: dict[bool, Path],
        concurrencies: list[int],
        seconds: float,
        wrk_threads: int,
        counts: dict[str, QueryCount],
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        with gunicorn_running(server, log_path=settings.VAR_DIR / "bench" / "gunicorn.log") as url:
            base = partial(wrk_run, url=url, cookie_name=settings.SESSION_COOKIE_NAME, threads=wrk_threads)

            def run(*, page: Page, concurrency: int, seconds: float) -> LoadResult:
                # An Install page's visitors are the customers with an eSIM to install.
                return base(
                    page=page, sessions_file=sessions_files[page.install], concurrency=concurrency, seconds=seconds
                )

            for page in PAGES:  # every worker compiles its templates and opens its connection first
                run(page=page, concurrency=max(concurrencies), seconds=2)
            for concurrency in concurrencies:
                round_results = []
                for page in [*PAGES, BARE_AGAIN, BARE_SIGNED_IN_AGAIN]:
                    round_results.append(run(page=page, concurrency=concurrency, seconds=seconds))
                    time.sleep(1)  # let sockets in TIME_WAIT and the database settle between runs
                for row in round_rows(round_results, counts):
                    results.append(row)
                    self.say(
                        f"  {row['page']:<27} c={concurrency:<3} {row['rps']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms"
                        f"  p99 {row['p99_ms']:7.1f} ms  ({row['ratio']:.0%} of bare"
                        + (f", {row['ratio_signed_in']:.0%} of signed-in bare)" if row["ratio_signed_in"] else ")")
                        + (f"  CPU {row['cpu_ms']['total']:.2f} ms/request" if row["cpu_ms"] else "")
                        + (f"  {row['non_200']} not 200!" if row["non_200"] else "")
                    )
        return results

    def _profiles(self, sample: list[SignedIn], output: Path) -> None:
        for page in PAGES:
            entry = next((each for each in sample if each.install_line_ids), sample[0]) if page.install else sample[0]
            line_ids = entry.install_line_ids if page.install else entry.line_ids
            path = page.path.replace("{line}", str(line_ids[0])) if line_ids else page.path
            text = request_profile(path, entry if page.signed_in else None)
            target = output / f"profile-{page.name.replace(' ', '-').replace(',', '')}.txt"
            target.write_text(text)
            self.say(f"  profile of {path}: {target}")


def round_rows(results: list[LoadResult], counts: dict[str, QueryCount]) -> list[dict[str, Any]]:
    """The report's rows for one concurrency: each result with its ratio to
    the bare view and, for a signed-in page, to the bare view with a session
    (each the mean of its run before the pages and its run again after
    them), and its page's SQL counts."""
    by_page = {result.page: result for result in results}

    def mean_rps(*names: str) -> float:
        runs = [by_page[name].rps for name in names if name in by_page]
        return sum(runs) / len(runs) if runs else 0.0

    bare_rps = mean_rps(BARE, BARE_AGAIN.name)
    signed_in_rps = mean_rps(BARE_SIGNED_IN, BARE_SIGNED_IN_AGAIN.name)
    signed_in_pages = {page.name for page in [*PAGES, BARE_SIGNED_IN_AGAIN] if page.signed_in}
    rows = []
    for result in results:
        count = counts[AGAIN.get(result.page, result.page)]
        rows.append(
            {
                **result.to_json(),
                "ratio": round(result.rps / bare_rps, 3) if bare_rps else 0.0,
                "ratio_signed_in": (
                    round(result.rps / signed_in_rps, 3) if result.page in signed_in_pages and signed_in_rps else None
                ),
                "queries_max": count.max,
                "queries_mean": round(count.mean, 2),
                "app_ms": round(count.app_ms, 2),
                "sql_ms": round(count.sql_ms, 2),
            }
        )
    return rows


def _database_ensure() -> None:
    """Create the bench database if it does not exist (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    params = settings.DATABASES["default"]
    name = str(params["NAME"])
    with psycopg.connect(
        host=str(params.get("HOST") or "127.0.0.1"),
        port=str(params.get("PORT") or 5432),
        user=str(params.get("USER") or "postgres"),
        password=str(params.get("PASSWORD") or "") or None,
        dbname="postgres",
        autocommit=True,
    ) as maintenance:
        exists = maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _heaviest_customers() -> dict[str, int]:
    """The customers whose pages have the most to show: the most lines, the
    line with the most usage, the most receipts."""
    heavy: dict[str, int] = {}
    most_lines = Line.objects.values("owner_id").annotate(n=Count("id")).order_by("-n").first()
    if most_lines:
        heavy["most lines"] = most_lines["owner_id"]
    busiest = UsageRecord.objects.values("line_id").annotate(n=Count("id")).order_by("-n").first()
    if busiest:
        heavy["busiest line"] = Line.objects.values_list("owner_id", flat=True).get(pk=busiest["line_id"])
    most_receipts = Receipt.objects.values("owner_id").annotate(n=Count("id")).order_by("-n").first()
    if most_receipts:
        heavy["most receipts"] = most_receipts["owner_id"]
    return heavy


def _query_sample(signed_in: list[SignedIn], size: int, heavy: dict[str, int]) -> list[SignedIn]:
    by_user = {entry.user_id: entry for entry in signed_in}
    chosen = [by_user[user_id] for user_id in heavy.values() if user_id in by_user]
    chosen += [entry for entry in signed_in[:: max(1, len(signed_in) // max(size, 1))] if entry not in chosen]
    return chosen[: max(size, len(heavy))]


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+changes" if dirty else "")
