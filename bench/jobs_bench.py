"""Background work and PDFs (issue 8): how long a receipt, an invoice and a monthly report take to render,
and how long the January receipt run takes for 10,000 donors with 2 Celery worker processes.

    .venv/bin/python bench/jobs_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/patronage_bench_jobs \\
        --redis-url redis://127.0.0.1:6379/11 [--quick] [--keep] [--profile] [--force-full] [--json FILE]

``make bench`` (``bench/run.py``) calls ``run(database_url=..., redis_url=..., quick=...)``, which returns
the rows of the table this script prints: ``{"name", "value", "unit", "target", "met", "note"}``.

What it does, in a PostgreSQL database of its own (created, migrated and, without ``--keep``, dropped; a
table ``bench_jobs_marker`` marks it as the script's own, a database without it is never touched; names
without "bench" are refused) and the Redis database of ``--redis-url`` (only the keys of Celery's queue and
of the cache prefix ``bench-jobs`` are ever deleted, never the whole database):

1. **The January receipt run.** Donors are inserted in bulk through the ORM, as the annual run needs them:
   a patron with a postal address and an e-mail address, a monthly (4 in 5) or yearly donation patronage,
   and its payments of kind donation in the year (7 to 12 monthly payments, or one yearly payment); one
   donor in a hundred had one payment refunded (it must stay out of the receipt). The payment numbers
   continue the ``ZP`` series of the year. Then a worker is started the way ``make worker`` starts one:
   ``celery -A config worker --loglevel INFO --concurrency 2``, one worker with **2 prefork child
   processes**, on the production settings (DEBUG off, ``CELERY_TASK_ALWAYS_EAGER=0``, the broker on
   ``--redis-url``), and the run is started as the finance screen starts it (``ReceiptBatchForm`` saved,
   then ``receipt_batch_run.delay_on_commit(year)``, as ``ReceiptBatchCreateView`` does). The clock runs
   from that commit until the run's row says ``done`` (its ``finished_at``); the progress fields are polled
   every 0.5 s. Afterwards it checks: one annual receipt per donor, each donor once, numbers gap-free (the
   next numbers of the ``ZB`` series of the year of issue, none used twice, none skipped, the series ending
   at the last one), every paid payment in its donor's receipt and no refunded one, each receipt's total
   the sum of its payments, the grand total the one computed here when inserting, and one e-mail per
   receipt whose PDF is stored (the task that stores a PDF then sends the e-mail; e-mails go to files in a
   temporary folder, ``EMAIL_BACKEND`` filebased).
   The run issues receipts one donor after another in one task; each receipt queues a task that renders
   its PDF, which the other worker process takes up at once (and both, once the run is done). The clock
   stops when the run is done, as finance sees it; the PDFs then still being rendered are counted for a
   bounded time, and the time until all would be stored is projected from their rate.
   A full run first does 1,000 donors (of the year before) and does 10,000 only if the 1,000 extrapolate
   to under 12 minutes (``--force-full`` does them anyway); ``--quick`` does only the 1,000. The notes
   give the CPU seconds each worker process used, the machine's load average meanwhile (the machine may be
   shared) and how long the PDF task took in the worker (from its log). If the 10,000 miss the 10 minutes (or are not
   run), ``receipt_batch_run`` is profiled with cProfile on 300 more donors (``--profile`` always does);
   the profile is written to ``var/bench/jobs-receipt-profile.txt``.
2. **Peak memory** (RSS, psutil, every 0.5 s) of the worker's main process and of each child process,
   during the run and while the PDFs are rendered.
3. **PDF rendering.** The demo data (``manage.py seed_demo``) is loaded after the receipt runs; then, each
   in a new process, one document is rendered once cold (the first render in a process, as a freshly
   started worker pays it; it also serves as the warm-up) and ``--runs`` times more (10; 3 with
   ``--quick``): a single donation receipt (``fundraising.receipts.receipt_pdf_render``, issued here for a
   one-time gift through ``receipt_issue_single``), an annual receipt from the run with the most payments in
   its annex, the latest sponsor invoice of the demo (``sponsors.invoice_documents.invoice_pdf``: PDF/A-3
   with its EN 16931 XML) and the latest published monthly report (``month_report_data`` and
   ``reports.documents.month_pdf``, as ``/reports/YYYY/MM.pdf`` does). Targets: median under 0.5 s,
   0.5 s, 0.5 s and 2 s. The notes add the median CPU time of the renders, which a busy machine blurs
   less than the wall-clock time, and the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import io
import json
import os
import pstats
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
MARKER_TABLE = "bench_jobs_marker"
REFUSED_NAMES = {"patronage", "patronage_ci", "postgres", "template0", "template1"}
RESULT_PREFIX = "RESULT "
CACHE_PREFIX = "bench-jobs"
PROFILE_FILE = ROOT / "var" / "bench" / "jobs-receipt-profile.txt"

FULL_DONORS = 10_000
PROBE_DONORS = 1_000
PROFILE_DONORS = 300
BATCH_TARGET_S = 10 * 60
FULL_RUN_BUDGET_S = 12 * 60
BATCH_TIMEOUT_S = 16 * 60  # the task's hard time limit is 15 minutes
SAMPLE_INTERVAL_S = 0.5
PDF_RUNS = 10
PDF_RUNS_QUICK = 3
DRAIN_S = 120  # how long the PDFs still queued after the run are watched
DRAIN_S_QUICK = 45

# document: (label, target median in seconds)
PDF_DOCUMENTS = {
    "receipt": ("donation receipt (single)", 0.5),
    "annual_receipt": ("donation receipt (annual, with annex)", 0.5),
    "invoice": ("sponsor invoice (PDF/A-3 + XML)", 0.5),
    "report": ("monthly report", 2.0),
}


def say(message: str) -> None:
    print(f"[{datetime.datetime.now(datetime.UTC):%H:%M:%S}] jobs: {message}", file=sys.stderr, flush=True)


# --- Rows and the table ---------------------------------------------------------------------------------


def row(
    name: str, value: float | None, unit: str, *, target: str = "", met: bool | None = None, note: str = ""
):
    """One line of the table, in the shape ``bench/run.py`` expects."""
    return {
        "name": name,
        "value": None if value is None else float(value),
        "unit": unit,
        "target": target,
        "met": met,
        "note": note,
    }


def under(value: float | None, limit: float) -> bool | None:
    """Whether ``value`` is under ``limit``; ``None`` when nothing was measured."""
    return None if value is None else value < limit


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        text = f"{value:.3f}" if value < 10 else f"{value:.1f}"
    elif unit == "MB":
        text = f"{value:.0f}"
    elif float(value).is_integer() and abs(value) >= 1:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[met]


def table(rows: list[dict]) -> str:
    """The rows as a plain-text table (name, value, target, met, note)."""
    header = ("benchmark", "value", "target", "met", "note")
    lines = [
        (r["name"], value_text(r["value"], r["unit"]), r["target"], met_text(r["met"]), r["note"])
        for r in rows
    ]
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(4)]

    def line(cells) -> str:
        first = "  ".join(str(cell).ljust(width) for cell, width in zip(cells[:4], widths, strict=True))
        return f"{first}  {cells[4]}".rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths] + ["----"]), *map(line, lines)])


def pdf_rows(document: str, timing: dict | None, *, error: str = "") -> list[dict]:
    """Median (held against the target), max and the cold first render of one document."""
    label, target = PDF_DOCUMENTS[document]
    if not timing or not timing.get("samples_s"):
        note = error or "no such document in the database"
        return [row(f"PDF {label}: median", None, "s", target=f"< {target:g} s", met=None, note=note)]
    samples = timing["samples_s"]
    median = statistics.median(samples)
    size = f", {timing['bytes'] / 1024:.0f} kB" if timing.get("bytes") else ""
    what = f" ({timing['what']})" if timing.get("what") else ""
    cpu = f"; CPU {statistics.median(timing['cpu_s']):.3f} s median" if timing.get("cpu_s") else ""
    load = (
        f"; load average {timing['load']:.1f} on {os.cpu_count()} CPUs"
        if timing.get("load") is not None
        else ""
    )
    return [
        row(
            f"PDF {label}: median",
            median,
            "s",
            target=f"< {target:g} s",
            met=under(median, target),
            note=f"{len(samples)} renders after the first{size}{what}{cpu}{load}",
        ),
        row(f"PDF {label}: max", max(samples), "s", note=f"of the same {len(samples)} renders"),
        row(
            f"PDF {label}: cold",
            timing["cold_s"],
            "s",
            note="first render in a new process (imports, fonts), also the warm-up",
        ),
    ]


def pdf_task_text(durations: list[float]) -> str:
    if not durations:
        return ""
    return (
        f"; the render task took {statistics.median(durations):.2f} s median, {max(durations):.2f} s max "
        f"({len(durations):,} in the worker's log)"
    )


def extrapolated(seconds: float | None, donors: int, to: int) -> float | None:
    """Linear extrapolation: the run issues one donor after another."""
    return None if seconds is None or not donors else seconds * to / donors


def batch_rows(result: dict, *, target_applies: bool) -> list[dict]:
    """The rows of one receipt run: its time, its checks, the PDFs after it, the worker's memory."""
    donors = result["donors"]
    prefix = f"Receipt run, {donors:,} donors"
    done_s = result.get("done_s")
    status = result.get("status", "")
    note = (
        f"{result.get('payments', 0):,} payments; worker: 1 main + 2 prefork children (--concurrency 2); "
        f"task {value_text(result.get('task_s'), 's')}, {value_text(result.get('donors_per_s'), 'donors/s')}; "
        f"CPU {result.get('worker_cpu', '')}; {result.get('load', '')}; "
        f"PostgreSQL round trip (SELECT 1) {result.get('round_trip_ms', 0):.2f} ms median"
    )
    if status != "done":
        note = f"run ended as {status or 'unknown'}: {result.get('message', '')[:200]}; {note}"
    rows = [
        row(
            f"{prefix}: click to done",
            done_s if status == "done" else None,
            "s",
            target=f"< {BATCH_TARGET_S} s" if target_applies else "",
            met=(under(done_s, BATCH_TARGET_S) if status == "done" else False) if target_applies else None,
            note=note,
        )
    ]
    check = result.get("verification") or {}
    if check:
        rows.append(
            row(
                f"{prefix}: receipts checked",
                check.get("receipts"),
                "receipts",
                target=f"{donors:,}, gap-free, each donor once",
                met=check.get("ok"),
                note="; ".join([check.get("summary", ""), *check.get("problems", [])]).strip("; "),
            )
        )
    if result.get("pdf_rate") is not None or result.get("pdf_at_done") is not None:
        rows.append(
            row(
                f"{prefix}: receipt PDFs stored per second",
                result.get("pdf_rate"),
                "PDFs/s",
                note=(
                    f"{result.get('pdf_at_done', 0):,} of {donors:,} stored when the run was done, "
                    f"{result.get('pdf_end', 0):,} after {value_text(result.get('drain_s'), 's')} more with both "
                    f"children rendering; all stored ~{value_text(result.get('all_pdfs_s'), 's')} after the click"
                    + (" (projected)" if result.get("all_pdfs_projected") else "")
                    + pdf_task_text(result.get("pdf_task_s") or [])
                ),
            )
        )
    peaks = dict(result.get("peak_rss_mb", {}))
    sampled = f"during the {donors:,}-donor run and its PDFs (psutil, every {SAMPLE_INTERVAL_S:g} s)"
    if "main process" in peaks:
        rows.append(
            row("Celery worker peak RSS, main process", peaks.pop("main process"), "MB", note=sampled)
        )
    if peaks:
        # Children are replaced after CELERY_WORKER_MAX_TASKS_PER_CHILD tasks: one row for the largest.
        each = ", ".join(f"{megabytes:.0f}" for megabytes in peaks.values())
        rows.append(
            row(
                "Celery worker peak RSS, largest child process",
                max(peaks.values()),
                "MB",
                note=f"{sampled}; {len(peaks)} child processes over the run (MB each: {each})",
            )
        )
    return rows


# --- Administration: the database and Redis (no Django in this process) --------------------------------


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or name in REFUSED_NAMES or "bench" not in name:
        raise SystemExit(
            f"refused: the database name must contain 'bench' and not be one of {sorted(REFUSED_NAMES)}"
        )
    return name


def admin_connection(url: str):
    import psycopg

    return psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)


def database_exists(url: str, name: str) -> bool:
    with admin_connection(url) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_drop(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    if not database_exists(url, name):
        return
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass(%s)", [MARKER_TABLE]).fetchone()[0] is None:
            raise SystemExit(
                f"refused: database {name} exists but was not made by this script (no {MARKER_TABLE})"
            )
    with admin_connection(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    say(f"dropped database {name}")


def database_create(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with admin_connection(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {MARKER_TABLE} (created timestamptz NOT NULL DEFAULT now())")
        conn.execute(f"INSERT INTO {MARKER_TABLE} DEFAULT VALUES")
    say(f"created database {name}")


def redis_client(url: str):
    import redis

    parts = urlsplit(url)
    number = parts.path.lstrip("/")
    if not number.isdigit() or int(number) == 0:
        raise SystemExit("refused: --redis-url must name a Redis database of its own (not 0), e.g. .../11")
    return redis.Redis.from_url(url)


def redis_purge(url: str) -> int:
    """Delete Celery's queue, its bindings and unacknowledged messages, and the cache keys of this script."""
    client = redis_client(url)
    deleted = 0
    for pattern in ("celery", "celery\x06*", "_kombu.*", "unacked", "unacked_index", "unacked_mutex"):
        keys = list(client.scan_iter(match=pattern))
        if keys:
            deleted += client.delete(*keys)
    for key in client.scan_iter(match=f"{CACHE_PREFIX}:*"):
        deleted += client.delete(key)
    client.close()
    return deleted


def sql_one(url: str, query: str, parameters=None):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(query, parameters or []).fetchone()


def sql_all(url: str, query: str, parameters=None) -> list:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(query, parameters or []).fetchall()


# --- Child processes: Django, the worker ------------------------------------------------------------------


def django_env(*, database_url: str, redis_url: str, workdir: Path, mail_dir: Path | None = None) -> dict:
    """Production settings (DEBUG off), this run's database, broker and folders; no Stripe."""
    env = {key: value for key, value in os.environ.items() if key not in ("CELERY_BROKER_URL", "EMAIL_URL")}
    mail_dir = mail_dir or workdir / "mail"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "bench-jobs-" + secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CACHE_KEY_PREFIX": CACHE_PREFIX,
            "MEDIA_ROOT": str(workdir / "media"),
            "PRIVATE_MEDIA_ROOT": str(workdir / "private"),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_URL": f"filemail:///{mail_dir}",  # an absolute path needs the fourth slash
            "STRIPE_SECRET_KEY": "",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def django_phase(env: dict, *arguments: str, timeout: float) -> dict:
    """Run this script with ``--phase ...`` in a new process; return what it printed after RESULT."""
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed: {completed.stderr.strip()[-1500:]}")
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"{' '.join(arguments)} printed no result: {completed.stdout[-500:]}")


def manage(env: dict, *arguments: str, timeout: float) -> float:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed: {completed.stderr.strip()[-1500:]}")
    return time.monotonic() - started


class Worker:
    """``celery -A config worker --loglevel INFO --concurrency 2`` (as ``make worker``), in a session of its
    own so that it and its children are stopped together; its RSS is sampled while it runs."""

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.peaks: dict[int, int] = {}
        self.cpu_s: dict[int, float] = {}
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self, *, timeout: float = 90) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            f"bench-jobs-{os.getpid()}@%h",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited at start: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker was not ready after {timeout} s: {self.log_tail()}")
            time.sleep(0.2)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        import psutil

        root = psutil.Process(self.process.pid)
        while not self._stop.is_set():
            try:
                # The pool's processes only: not what they start for a moment (ctypes runs ldconfig).
                processes = [
                    root,
                    *(child for child in root.children() if "celery" in " ".join(child.cmdline())),
                ]
            except psutil.Error:
                processes = [root]
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
                self.cpu_s[process.pid] = times.user + times.system
            self.loads.append(os.getloadavg()[0])
            self._stop.wait(SAMPLE_INTERVAL_S)

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak RSS of the main process and of each child (children named by their order of start)."""
        if self.process is None:
            return {}
        result = {"main process": self.peaks.get(self.process.pid, 0) / 2**20}
        for number, pid in enumerate(self.children(), start=1):
            result[f"child {number}"] = self.peaks[pid] / 2**20
        return result

    def children(self) -> list[int]:
        return sorted(pid for pid in self.peaks if pid != self.process.pid)

    def cpu_text(self) -> str:
        """CPU seconds each process used (user + system), e.g. "main 3 s, child 1 95 s, child 2 140 s"."""
        if self.process is None:
            return ""
        parts = [f"main {self.cpu_s.get(self.process.pid, 0):.0f} s"]
        parts += [f"child {number} {self.cpu_s[pid]:.0f} s" for number, pid in enumerate(self.children(), 1)]
        return ", ".join(parts)

    def load_text(self) -> str:
        if not self.loads:
            return ""
        return f"load average {statistics.mean(self.loads):.1f} (max {max(self.loads):.1f}) on {os.cpu_count()} CPUs"

    def log_tail(self, size: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]

    def stop(self, *, grace: float = 60) -> None:
        """Warm shutdown (SIGTERM: the task at hand is finished), then SIGKILL for whatever is left."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # children the main process left behind
        self.process.wait(timeout=10)


# --- The receipt run, orchestrated from here --------------------------------------------------------------


def round_trip_ms(url: str, count: int = 200) -> float:
    """Median milliseconds of ``SELECT 1`` from here: how busy PostgreSQL and the machine are."""
    import psycopg

    samples = []
    with psycopg.connect(url) as conn:
        for _ in range(count):
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append(time.perf_counter() - started)
    return 1000 * statistics.median(samples)


def receipt_sequence(url: str, year: int) -> int:
    found = sql_one(
        url, "SELECT last_number FROM ledger_documentsequence WHERE series = 'ZB' AND year = %s", [year]
    )
    return found[0] if found else 0


NO_RUN = ("", 0, 0, 0, None, None, "")  # the run's row, before the worker made it


def receipt_run(
    *, database_url: str, redis_url: str, workdir: Path, donors: int, year: int, drain_s: float
) -> dict:
    """Insert ``donors`` donors of ``year``, start a worker and the run as finance does, time it, check it."""
    mail_dir = workdir / f"mail-{year}"
    mail_dir.mkdir(parents=True, exist_ok=True)
    env = django_env(database_url=database_url, redis_url=redis_url, workdir=workdir, mail_dir=mail_dir)
    say(f"inserting {donors:,} donors with donations in {year}")
    inserted = django_phase(
        env, "--phase", "donors", "--count", str(donors), "--year", str(year), timeout=900
    )
    say(
        f"inserted {inserted['donors']:,} donors, {inserted['payments']:,} payments in {inserted['seconds']:.0f} s"
    )
    result = {"donors": donors, "year": year, "payments": inserted["payments"]}
    redis_purge(redis_url)
    worker = Worker(env, workdir / f"worker-{year}.log")
    query = "SELECT status, total, done, skipped, started_at, finished_at, message FROM fundraising_receiptbatch WHERE year = %s"
    pdf_query = (
        "SELECT count(*) FILTER (WHERE pdf <> '') FROM fundraising_donationreceipt"
        " WHERE kind = 'annual' AND period_start = %s"
    )
    first_day = datetime.date(year, 1, 1)
    try:
        worker.start()
        issue_year = datetime.datetime.now().year  # the year of issue names the receipt numbers
        result["sequence_before"] = receipt_sequence(database_url, issue_year)
        result["round_trip_ms"] = round_trip_ms(database_url)
        clicked = django_phase(env, "--phase", "start", "--year", str(year), timeout=120)
        clicked_at = clicked["clicked_at"]
        say(f"run for {year} started; watching its progress")
        state = None
        deadline = time.time() + BATCH_TIMEOUT_S
        while time.time() < deadline:
            state = sql_one(database_url, query, [year])
            if state and state[0] in ("done", "failed"):
                break
            if worker.process.poll() is not None:
                raise RuntimeError(f"the worker died: {worker.log_tail()}")
            time.sleep(SAMPLE_INTERVAL_S)
        status, total, done, skipped, started_at, finished_at, message = state or NO_RUN
        result.update(
            status=status or "timeout", total=total, done=done, skipped=skipped, message=message or ""
        )
        if finished_at is not None and status in ("done", "failed"):
            result["done_s"] = finished_at.timestamp() - clicked_at
            result["task_s"] = (finished_at - started_at).total_seconds()
            result["donors_per_s"] = done / result["task_s"] if result["task_s"] else None
        say(
            f"run for {year}: {result['status']} after {value_text(result.get('done_s'), 's')} ({done}/{total})"
        )
        # The PDFs each receipt queued: watch them for a bounded time, then project.
        pdf_at_done = sql_one(database_url, pdf_query, [first_day])[0]
        drain_started = time.time()
        pdf_end = pdf_at_done
        while pdf_end < done and time.time() - drain_started < drain_s:
            time.sleep(1)
            pdf_end = sql_one(database_url, pdf_query, [first_day])[0]
        drain_elapsed = time.time() - drain_started
        rate = (pdf_end - pdf_at_done) / drain_elapsed if drain_elapsed > 0.5 else None
        if pdf_end >= done:
            all_pdfs_s = time.time() - clicked_at
            result["all_pdfs_projected"] = False
        elif rate:
            all_pdfs_s = (time.time() - clicked_at) + (done - pdf_end) / rate
            result["all_pdfs_projected"] = True
        else:
            all_pdfs_s = None
        result.update(
            pdf_at_done=pdf_at_done,
            pdf_end=pdf_end,
            drain_s=drain_elapsed,
            pdf_rate=rate,
            all_pdfs_s=all_pdfs_s,
        )
    finally:
        worker.stop()
        redis_purge(redis_url)
    # Each annual receipt's e-mail goes out from the task that stores its PDF, right after it.
    result["pdf_final"] = sql_one(database_url, pdf_query, [first_day])[0]
    result["peak_rss_mb"] = worker.peak_rss_mb()
    result["worker_cpu"] = worker.cpu_text()
    result["load"] = worker.load_text()
    result["pdf_task_s"] = task_durations(worker.log_path.read_text(errors="replace"), "receipt_pdf_render")
    result["emails"] = emails_count(mail_dir)
    result["verification"] = receipt_run_check(
        database_url,
        year=year,
        expected=inserted,
        sequence_before=result["sequence_before"],
        emails=result["emails"],
        pdfs=result["pdf_final"],
    )
    say(
        f"check of {year}: {result['verification']['summary']} {'; '.join(result['verification']['problems'])}"
    )
    return result


TASK_DONE = re.compile(r"Task fundraising\.tasks\.(\w+)\[[^\]]+\] succeeded in ([0-9.]+)s")


def task_durations(log: str, task: str) -> list[float]:
    """How long each run of ``task`` took in the worker, from its log (``succeeded in 0.72s``)."""
    return [float(seconds) for name, seconds in TASK_DONE.findall(log) if name == task]


def emails_count(folder: Path) -> int:
    """E-mails the filebased backend wrote: each ends with a line of 79 dashes (several may share a file)."""
    separator = "-" * 79
    return sum(
        sum(1 for line in path.read_text(errors="replace").splitlines() if line == separator)
        for path in folder.iterdir()
        if path.is_file()
    )


NUMBER = re.compile(r"^ZB-(\d{4})-(\d+)$")


def receipt_numbers_check(numbers: list[str], *, sequence_before: int, sequence_after: int) -> list[str]:
    """Problems with the run's receipt numbers: each the next of the series, none twice, none skipped."""
    problems = []
    parsed = [NUMBER.match(number) for number in numbers]
    if not all(parsed):
        problems.append(f"{sum(1 for match in parsed if not match)} numbers not of the form ZB-YYYY-NNNNN")
        return problems
    years = {match.group(1) for match in parsed}
    if len(years) > 1:
        problems.append(f"numbers of several years: {sorted(years)}")
    counters = sorted(int(match.group(2)) for match in parsed)
    if len(set(counters)) != len(counters):
        problems.append(f"{len(counters) - len(set(counters))} numbers used twice")
    expected = list(range(sequence_before + 1, sequence_before + 1 + len(numbers)))
    if counters != expected:
        missing = sorted(set(expected) - set(counters))
        problems.append(
            f"not the next {len(numbers)} numbers after {sequence_before}: {len(missing)} missing"
        )
    if sequence_after != sequence_before + len(numbers):
        problems.append(f"the series ends at {sequence_after}, not at {sequence_before + len(numbers)}")
    return problems


def receipt_run_check(
    url: str, *, year: int, expected: dict, sequence_before: int, emails: int, pdfs: int | None = None
) -> dict:
    """What the books must show after the run, from SQL (independently of the code that made it)."""
    issue_year = datetime.datetime.now().year
    receipts = sql_all(
        url,
        "SELECT r.number, r.patron_id, r.total FROM fundraising_donationreceipt r"
        " JOIN fundraising_patron p ON p.id = r.patron_id"
        " WHERE r.kind = 'annual' AND r.period_start = %s AND p.stripe_customer_id LIKE %s",
        [datetime.date(year, 1, 1), f"cus_bench_{year}_%"],
    )
    problems = []
    count = len(receipts)
    if count != expected["donors"]:
        problems.append(f"{count} receipts for {expected['donors']} donors")
    patrons = [patron for _, patron, _ in receipts]
    if len(set(patrons)) != len(patrons):
        problems.append(f"{len(patrons) - len(set(patrons))} donors with more than one receipt")
    sequence_after = receipt_sequence(url, issue_year)
    problems += receipt_numbers_check(
        [number for number, _, _ in receipts], sequence_before=sequence_before, sequence_after=sequence_after
    )
    (unreceipted_paid, receipted_refunded, other_year) = sql_one(
        url,
        "SELECT count(*) FILTER (WHERE pay.receipt_id IS NULL AND pay.status = 'paid'),"
        " count(*) FILTER (WHERE pay.receipt_id IS NOT NULL AND pay.status = 'refunded'),"
        " count(*) FILTER (WHERE pay.receipt_id IS NOT NULL AND r.period_start <> %s)"
        " FROM fundraising_payment pay JOIN fundraising_patron p ON p.id = pay.patron_id"
        " LEFT JOIN fundraising_donationreceipt r ON r.id = pay.receipt_id"
        " WHERE p.stripe_customer_id LIKE %s",
        [datetime.date(year, 1, 1), f"cus_bench_{year}_%"],
    )
    if unreceipted_paid:
        problems.append(f"{unreceipted_paid} paid donations in no receipt")
    if receipted_refunded:
        problems.append(f"{receipted_refunded} refunded payments in a receipt")
    if other_year:
        problems.append(f"{other_year} payments in a receipt of another year")
    (wrong_totals,) = sql_one(
        url,
        "SELECT count(*) FROM fundraising_donationreceipt r"
        " WHERE r.kind = 'annual' AND r.period_start = %s"
        " AND r.total <> (SELECT coalesce(sum(amount_eur), 0) FROM fundraising_payment WHERE receipt_id = r.id)",
        [datetime.date(year, 1, 1)],
    )
    if wrong_totals:
        problems.append(f"{wrong_totals} receipts whose total is not the sum of their payments")
    grand_total = sum((total for _, _, total in receipts), Decimal("0.00"))
    if grand_total != Decimal(expected["receipt_total"]):
        problems.append(f"receipts total {grand_total}, the donations {expected['receipt_total']}")
    # The e-mail goes out once the receipt's PDF is stored: one for each stored PDF (all of them once the
    # worker has rendered every PDF; the bench stops it earlier and projects the rest).
    expected_emails = count if pdfs is None else pdfs
    if emails != expected_emails:
        problems.append(f"{emails} e-mails for {expected_emails} receipts with their PDF stored")
    numbers = sorted(number for number, _, _ in receipts)
    summary = f"{count:,} receipts" + (f" {numbers[0]} .. {numbers[-1]}" if numbers else "")
    summary += f", {len(set(patrons)):,} donors, total {grand_total} EUR, {emails:,} e-mails"
    return {"ok": not problems, "receipts": count, "summary": summary, "problems": problems}


def receipt_profile(*, database_url: str, redis_url: str, workdir: Path, year: int) -> dict:
    env = django_env(
        database_url=database_url, redis_url=redis_url, workdir=workdir, mail_dir=workdir / "mail-profile"
    )
    redis_purge(redis_url)
    try:
        return django_phase(
            env, "--phase", "profile", "--count", str(PROFILE_DONORS), "--year", str(year), timeout=900
        )
    finally:
        redis_purge(redis_url)


# --- Django side (in the --phase processes, and in the tests) ---------------------------------------------

FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ines", "Jonas", "Katrin", "Lukas", "Mira", "Noah", "Olga", "Paul", "Rosa", "Sven"]  # fmt: skip
LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf"]  # fmt: skip
PLACES = [
    ("DE", "10115", "Berlin"),
    ("DE", "20095", "Hamburg"),
    ("DE", "80331", "München"),
    ("DE", "50667", "Köln"),
    ("DE", "60311", "Frankfurt am Main"),
    ("DE", "04109", "Leipzig"),
    ("DE", "01067", "Dresden"),
    ("AT", "1010", "Wien"),
]
MONTHLY_AMOUNTS = [Decimal(value) for value in ("5.00", "10.00", "10.00", "15.00", "20.00", "25.00", "50.00")]
YEARLY_AMOUNTS = [Decimal(value) for value in ("60.00", "100.00", "120.00", "250.00", "500.00")]
ORGANISATION = {
    "legal_name": "Fediverse Commons gGmbH",
    "street": "Oranienstraße 183",
    "postcode": "10999",
    "city": "Berlin",
    "country": "DE",
    "tax_office": "Finanzamt für Körperschaften I Berlin",
    "tax_number": "27/123/45678",
}


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def organisation_ready() -> None:
    """Receipts need the organisation's address and a current exemption notice: set them if missing."""
    from django.utils import timezone

    from fundraising.receipts import organisation_settings

    organisation = organisation_settings()
    if organisation.legal_name and (
        organisation.exemption_notice_date or organisation.section_60a_determination_date
    ):
        return
    for name, value in ORGANISATION.items():
        setattr(organisation, name, value)
    organisation.exemption_notice_date = timezone.localdate() - datetime.timedelta(days=400)
    organisation.save()


def donors_insert(*, count: int, year: int) -> dict:
    """``count`` donors with recurring donations in ``year``, inserted in bulk (see the module's docstring).

    Returns the counts and the sum the receipts must add up to, computed here."""
    import random

    from django.db import transaction
    from django.utils import timezone

    from fundraising.models import Interval, Kind, Patron, Patronage, Payment, Refund
    from ledger.models import DocumentSequence

    rng = random.Random(f"bench-jobs:{year}:{count}")
    zone = timezone.get_default_timezone()
    patrons, plans = [], []
    for index in range(count):
        country, postcode, city = PLACES[index % len(PLACES)]
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        patrons.append(
            Patron(
                email=f"donor{index:05d}.{year}@bench.example",
                name=name,
                address_line1=f"Musterstraße {index % 250 + 1}",
                postal_code=postcode,
                city=city,
                country=country,
                language="de" if index % 3 else "en",
                stripe_customer_id=f"cus_bench_{year}_{index:05d}",
                created=datetime.datetime(year - 1, 12, 1, 12, tzinfo=zone),
            )
        )
        yearly = index % 5 == 0
        amount = rng.choice(YEARLY_AMOUNTS if yearly else MONTHLY_AMOUNTS)
        months = [rng.randint(1, 12)] if yearly else list(range(rng.randint(1, 6), 13))
        plans.append((yearly, amount, months, index % 100 == 7 and not yearly))
    receipt_total = Decimal("0.00")
    payments_count = 0
    with transaction.atomic():
        organisation_ready()
        Patron.objects.bulk_create(patrons, batch_size=1000)
        patronages = []
        for index, (patron, (yearly, amount, months, _refund)) in enumerate(zip(patrons, plans, strict=True)):
            first = datetime.datetime(year, months[0], index % 28 + 1, 10, tzinfo=zone)
            patronages.append(
                Patronage(
                    patron=patron,
                    tier=None,
                    kind=Kind.DONATION,
                    amount=amount,
                    currency="eur",
                    interval=Interval.YEAR if yearly else Interval.MONTH,
                    status=Patronage.Status.CANCELED,
                    stripe_subscription_id=f"sub_bench_{year}_{index:05d}",
                    started_at=first,
                    state_at=first,
                    ended_at=datetime.datetime(year, 12, 31, 23, tzinfo=zone),
                )
            )
        Patronage.objects.bulk_create(patronages, batch_size=1000)
        DocumentSequence.objects.get_or_create(series="ZP", year=year)
        sequence = DocumentSequence.objects.select_for_update().get(series="ZP", year=year)
        payments, refunded = [], []
        for index, (patronage, (yearly, amount, months, refund)) in enumerate(
            zip(patronages, plans, strict=True)
        ):
            fee = (amount * Decimal("0.015") + Decimal("0.25")).quantize(Decimal("0.01"))
            for month in months:
                sequence.last_number += 1
                day = index % 28 + 1
                status = Payment.Status.REFUNDED if refund and month == 12 else Payment.Status.PAID
                period_end = (
                    datetime.date(year, 12, 31)
                    if yearly or month == 12
                    else datetime.date(year, month + 1, day) - datetime.timedelta(days=1)
                )
                payments.append(
                    Payment(
                        stripe_charge_id=f"ch_bench_{year}_{index:05d}_{month:02d}",
                        payment_intent_id=f"pi_bench_{year}_{index:05d}_{month:02d}",
                        invoice_id=f"in_bench_{year}_{index:05d}_{month:02d}",
                        patron_id=patronage.patron_id,
                        patronage=patronage,
                        kind=Kind.DONATION,
                        number=f"ZP-{year}-{sequence.last_number:05d}",
                        amount=amount,
                        currency="eur",
                        amount_eur=amount,
                        fee_eur=fee,
                        net_eur=amount - fee,
                        paid_at=datetime.datetime(year, month, day, 10, tzinfo=zone),
                        period_start=datetime.date(year, month, day),
                        period_end=period_end,
                        status=status,
                        refunded_amount=amount if status == Payment.Status.REFUNDED else Decimal("0.00"),
                    )
                )
                if status == Payment.Status.REFUNDED:
                    refunded.append(payments[-1])
                else:
                    receipt_total += amount
        Payment.objects.bulk_create(payments, batch_size=2000)
        Refund.objects.bulk_create(
            [
                Refund(
                    stripe_refund_id=f"re_bench_{payment.stripe_charge_id[10:]}",
                    payment=payment,
                    amount=payment.amount,
                    amount_eur=payment.amount_eur,
                    created=payment.paid_at + datetime.timedelta(days=3),
                )
                for payment in refunded
            ]
        )
        sequence.save(update_fields=["last_number"])
        payments_count = len(payments)
    return {
        "donors": count,
        "payments": payments_count,
        "refunded": len(refunded),
        "receipt_total": str(receipt_total),
    }


def receipt_run_start(*, year: int) -> float:
    """Start the annual run as the finance screen does (``ReceiptBatchCreateView``); the time of the commit."""
    from django.db import transaction

    from fundraising import receipt_tasks
    from fundraising.receipt_admin import ReceiptBatchForm

    form = ReceiptBatchForm(data={"year": year})
    if not form.is_valid():
        raise RuntimeError(f"the run for {year} was refused: {form.errors.as_text()}")
    clicked_at = time.time()
    with transaction.atomic():
        batch = form.save()
        receipt_tasks.receipt_batch_run.delay_on_commit(batch.year)
    return clicked_at


def single_receipt():
    """A one-time gift of 50 EUR and its receipt, issued through ``receipt_issue_single`` (made once)."""
    from django.db import transaction
    from django.utils import timezone

    from fundraising.models import DonationReceipt, Interval, Kind, Patron, Patronage, Payment
    from fundraising.receipts import receipt_issue_single
    from ledger.services import document_number_next

    charge = "ch_bench_single_gift"
    existing = DonationReceipt.objects.filter(payments__stripe_charge_id=charge).first()
    if existing is not None:
        return existing
    organisation_ready()
    paid_at = timezone.now() - datetime.timedelta(days=2)
    with transaction.atomic():
        patron = Patron.objects.create(
            email="erika.mustermann@bench.example",
            name="Erika Mustermann",
            address_line1="Heidestraße 17",
            postal_code="51147",
            city="Köln",
            country="DE",
            language="de",
        )
        patronage = Patronage.objects.create(
            patron=patron,
            kind=Kind.DONATION,
            amount=Decimal("50.00"),
            interval=Interval.ONCE,
            status=Patronage.Status.PAID,
            started_at=paid_at,
        )
        payment = Payment.objects.create(
            stripe_charge_id=charge,
            patron=patron,
            patronage=patronage,
            kind=Kind.DONATION,
            number=document_number_next(series="ZP", year=timezone.localtime(paid_at).year),
            amount=Decimal("50.00"),
            amount_eur=Decimal("50.00"),
            fee_eur=Decimal("1.00"),
            net_eur=Decimal("49.00"),
            paid_at=paid_at,
        )
    return receipt_issue_single(payment=payment)


def pdf_render_function(document: str) -> tuple[Callable[[], bytes], str] | None:
    """What renders one ``document`` (a key of ``PDF_DOCUMENTS``), and which one it is; ``None`` if none."""
    from django.db.models import Count

    from fundraising.models import DonationReceipt
    from fundraising.receipts import receipt_pdf_render
    from reports.documents import month_pdf
    from reports.figures import month_report_data
    from reports.models import MonthlyReport
    from sponsors.invoice_documents import invoice_pdf
    from sponsors.models import Invoice

    if document == "receipt":
        receipt = single_receipt()
        return (lambda: receipt_pdf_render(receipt=receipt)), receipt.number
    if document == "annual_receipt":
        receipt = (
            DonationReceipt.objects.filter(kind=DonationReceipt.Kind.ANNUAL)
            .annotate(lines=Count("payments"))
            .order_by("-lines", "pk")
            .first()
        )
        if receipt is None:
            return None
        return (lambda: receipt_pdf_render(receipt=receipt)), f"{receipt.number}, {receipt.lines} payments"
    if document == "invoice":
        invoice = Invoice.objects.filter(kind=Invoice.Kind.INVOICE).order_by("-issue_date", "-pk").first()
        if invoice is None:
            return None
        return (lambda: invoice_pdf(invoice)), invoice.number
    if document == "report":
        report = (
            MonthlyReport.objects.filter(status=MonthlyReport.Status.PUBLISHED).order_by("-month").first()
            or MonthlyReport.objects.order_by("-month").first()
        )
        if report is None:
            return None
        return (lambda: month_pdf(report, month_report_data(report.month))), f"{report.month:%Y-%m}"
    raise ValueError(f"unknown document {document!r}")


def pdf_timing(render: Callable[[], bytes], *, runs: int) -> dict:
    """The first render (cold; it is also the warm-up), then ``runs`` timed renders: wall-clock and this
    process's CPU seconds, and the machine's load average meanwhile."""
    started = time.perf_counter()
    content = render()
    cold = time.perf_counter() - started
    samples, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        render()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {
        "cold_s": cold,
        "samples_s": samples,
        "cpu_s": cpu,
        "bytes": len(content),
        "load": os.getloadavg()[0],
    }


def pdf_measure(document: str, *, runs: int) -> dict | None:
    found = pdf_render_function(document)
    if found is None:
        return None
    render, what = found
    return {**pdf_timing(render, runs=runs), "what": what}


# Where a donor's time goes: (label, file name, function) whose cumulative time the profile reports.
PROFILE_PARTS = [
    ("the ready e-mail", "emails.py", "send_annual_receipt_ready"),
    ("organisation settings for the e-mail", "confirmations.py", "organisation_for_documents"),
    ("refunds summed per payment", "receipts.py", "receipt_amount"),
    ("tax status and organisation", "receipts.py", "receipt_tax_status"),
    ("number, receipt row, payments", "receipts.py", "_receipt_create"),
    ("commit and its hooks", "transaction.py", "__exit__"),
]


def profile_parts(stats: pstats.Stats, donors: int) -> dict[str, float]:
    """Milliseconds a donor of each part of ``PROFILE_PARTS``, and of waiting for PostgreSQL."""
    parts = {}
    for label, file_name, function in PROFILE_PARTS:
        cumulative = sum(
            entry[3]
            for (path, _line, name), entry in stats.stats.items()
            if name == function and Path(path).name == file_name
        )
        parts[label] = 1000 * cumulative / max(1, donors)
    waiting = sum(
        entry[2]
        for (path, _line, name), entry in stats.stats.items()
        if "psycopg" in path and name in ("wait", "_execute_send")
    )
    parts["waiting for PostgreSQL (all of it)"] = 1000 * waiting / max(1, donors)
    return parts


def receipt_run_profiled(*, count: int, year: int) -> dict:
    """``receipt_batch_run`` in this process under cProfile, for ``count`` new donors of ``year``; counts
    its queries too. The PDF tasks it queues are only sent (no worker runs them here)."""
    from django.db import connection

    from fundraising.receipts import receipt_batch_run

    donors_insert(count=count, year=year)
    queries = 0

    def counted(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    profiler = cProfile.Profile()
    with connection.execute_wrapper(counted):
        started = time.perf_counter()
        profiler.enable()
        batch = receipt_batch_run(year=year)
        profiler.disable()
        seconds = time.perf_counter() - started
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    parts = profile_parts(stats, batch.done)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    per_donor = 1000 * seconds / max(1, batch.done)
    summary = (
        f"receipt_batch_run(year={year}) for {count} donors: {seconds:.2f} s, {per_donor:.1f} ms a donor, "
        f"{queries / max(1, batch.done):.1f} queries a donor, status {batch.status}, {batch.done} done\n"
        + "".join(f"  {label}: {value:.1f} ms a donor\n" for label, value in parts.items())
    )
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROFILE_FILE.write_text(f"{summary}\n{text.getvalue()}")
    return {
        "seconds": seconds,
        "donors": batch.done,
        "per_donor_ms": per_donor,
        "queries_per_donor": queries / max(1, batch.done),
        "parts_ms": parts,
    }


def phase_main(args) -> None:
    """One step in a process of its own, with Django set up; prints RESULT {json}."""
    django_setup()
    if args.phase == "donors":
        started = time.monotonic()
        result = donors_insert(count=args.count, year=args.year)
        result["seconds"] = time.monotonic() - started
    elif args.phase == "start":
        result = {"clicked_at": receipt_run_start(year=args.year)}
    elif args.phase == "pdf":
        result = pdf_measure(args.document, runs=args.runs)
    elif args.phase == "profile":
        result = receipt_run_profiled(count=args.count, year=args.year)
    else:
        raise SystemExit(f"unknown phase {args.phase}")
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- The whole benchmark ----------------------------------------------------------------------------------


def shown_path(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def profile_row(found: dict) -> dict:
    parts = ", ".join(f"{label} {value:.0f}" for label, value in found["parts_ms"].items())
    return row(
        f"Receipt run profile ({found['donors']} donors, one process, cProfile)",
        found["per_donor_ms"],
        "ms/donor",
        note=(
            f"{found['queries_per_donor']:.1f} queries a donor; ms a donor: {parts} (parts overlap); "
            f"profile in {shown_path(PROFILE_FILE)}"
        ),
    )


def failed_row(name: str, unit: str, error: BaseException, *, target: str = "") -> dict:
    say(f"{name} failed: {error}")
    return row(name, None, unit, target=target, met=False if target else None, note=f"failed: {error}"[:300])


def run(
    *,
    database_url: str,
    redis_url: str,
    quick: bool = False,
    keep: bool = False,
    profile: bool = False,
    force_full: bool = False,
) -> list[dict]:
    """The rows of the table: the receipt run(s), the worker's memory, the PDFs. See the module docstring."""
    name = database_name(database_url)
    redis_client(redis_url).ping()
    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    rows: list[dict] = []
    full_year = datetime.date.today().year - 1  # the January run covers the year before
    probe_year, profile_year = full_year - 1, full_year - 2
    plain_env = django_env(database_url=database_url, redis_url="", workdir=workdir)
    try:
        database_drop(database_url, name)
        database_create(database_url, name)
        say(f"migrated in {manage(plain_env, 'migrate', '--no-input', timeout=600):.0f} s")

        # 1. The receipt run: 1,000 donors, then 10,000 if they extrapolate to under 12 minutes.
        probe = full = None
        try:
            probe = receipt_run(
                database_url=database_url,
                redis_url=redis_url,
                workdir=workdir,
                donors=PROBE_DONORS,
                year=probe_year,
                drain_s=DRAIN_S_QUICK if quick else 30,
            )
            rows += batch_rows(probe, target_applies=False)
        except Exception as error:  # noqa: BLE001 - one failed part must not lose the others' rows
            rows.append(failed_row(f"Receipt run, {PROBE_DONORS:,} donors: click to done", "s", error))
        probe_done_s = probe.get("done_s") if probe and probe.get("status") == "done" else None
        estimate = extrapolated(probe_done_s, PROBE_DONORS, FULL_DONORS)
        if estimate is not None:
            rows.append(
                row(
                    f"Receipt run, {FULL_DONORS:,} donors: extrapolated from {PROBE_DONORS:,}",
                    estimate,
                    "s",
                    target=f"< {BATCH_TARGET_S} s" if quick else "",
                    met=under(estimate, BATCH_TARGET_S) if quick else None,
                    note="linear: the run issues one donor after another",
                )
            )
        if not quick and (force_full or (estimate is not None and estimate <= FULL_RUN_BUDGET_S)):
            try:
                full = receipt_run(
                    database_url=database_url,
                    redis_url=redis_url,
                    workdir=workdir,
                    donors=FULL_DONORS,
                    year=full_year,
                    drain_s=DRAIN_S,
                )
                rows += batch_rows(full, target_applies=True)
            except Exception as error:  # noqa: BLE001
                rows.append(
                    failed_row(
                        f"Receipt run, {FULL_DONORS:,} donors: click to done",
                        "s",
                        error,
                        target=f"< {BATCH_TARGET_S} s",
                    )
                )
        elif not quick:
            rows.append(
                row(
                    f"Receipt run, {FULL_DONORS:,} donors: click to done",
                    None,
                    "s",
                    target=f"< {BATCH_TARGET_S} s",
                    met=False,
                    note=(
                        f"not run: {PROBE_DONORS:,} donors extrapolate to {value_text(estimate, 's')}, over "
                        f"{FULL_RUN_BUDGET_S} s (--force-full runs them anyway)"
                        if estimate is not None
                        else f"not run: the {PROBE_DONORS:,}-donor run did not finish"
                    ),
                )
            )
        missed = not quick and (
            full is None or full.get("status") != "done" or full.get("done_s", 0) >= BATCH_TARGET_S
        )
        if profile or missed:
            try:
                found = receipt_profile(
                    database_url=database_url, redis_url=redis_url, workdir=workdir, year=profile_year
                )
                rows.append(profile_row(found))
            except Exception as error:  # noqa: BLE001
                rows.append(failed_row("Receipt run profile", "ms/donor", error))

        # 2. The PDFs, on the demo data.
        try:
            say(f"demo data loaded in {manage(plain_env, 'seed_demo', timeout=1200):.0f} s")
        except Exception as error:  # noqa: BLE001
            say(f"seed_demo failed, the PDFs use what there is: {error}")
        pdf_env = {**plain_env, "REDIS_URL": "", "CELERY_TASK_ALWAYS_EAGER": "0"}  # tasks go nowhere
        runs = PDF_RUNS_QUICK if quick else PDF_RUNS
        for document in PDF_DOCUMENTS:
            try:
                timing = django_phase(
                    pdf_env, "--phase", "pdf", "--document", document, "--runs", str(runs), timeout=600
                )
                measured = pdf_rows(document, timing)
                rows += measured
                say(f"PDF {document}: median {value_text(measured[0]['value'], 's')}")
            except Exception as error:  # noqa: BLE001
                rows += pdf_rows(document, None, error=f"failed: {error}"[:300])
    finally:
        if keep:
            say(f"kept database {name} and the folder {workdir}")
        else:
            try:
                database_drop(database_url, name)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="postgres://.../patronage_bench_jobs (the name must contain 'bench')"
    )
    parser.add_argument("--redis-url", help="redis://127.0.0.1:6379/11 (a database of its own)")
    parser.add_argument("--quick", action="store_true", help="1,000 donors only, 3 renders per PDF")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    parser.add_argument("--profile", action="store_true", help="profile the receipt run even if it is fast")
    parser.add_argument(
        "--force-full",
        action="store_true",
        help="run the 10,000 donors even if 1,000 extrapolate to over 12 minutes",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--phase", choices=["donors", "start", "pdf", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--year", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--document", choices=list(PDF_DOCUMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=PDF_RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        phase_main(args)
        return 0
    if not args.database_url or not args.redis_url:
        parser.error("--database-url and --redis-url are required")
    rows = run(
        database_url=args.database_url,
        redis_url=args.redis_url,
        quick=args.quick,
        keep=args.keep,
        profile=args.profile,
        force_full=args.force_full,
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
