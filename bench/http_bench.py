"""HTTP measurements of `make bench`: public pages and webhook intake against the trivial view, same stack, same run.

Two kinds of load, each from a process of its own on loopback and bounded in time:

- **maximum throughput**: ``wrk -t2 -c32 -d10s`` (closed loop: 32 connections, each sends its next
  request when the previous answer arrived), after a 2-second warm-up. wrk prints its summary through
  ``bench/wrk/report.lua`` as one JSON line;
- **latency at a fixed rate**: this module's own open-loop generator (``python bench/http_bench.py
  open-loop ...``). wrk's latencies cannot be used for that: a closed loop sends less when the server is
  slow, so the slow moments are under-sampled (coordinated omission). The generator schedules request
  ``i`` at ``start + i / rate`` by the clock, whatever happened to earlier requests, and measures each
  latency from that intended send time to the last byte of the answer, so time spent waiting for a free
  connection slot or in the server's accept queue counts. It runs on asyncio with one TCP connection per
  request (gunicorn's sync workers close the connection after every answer anyway), at most
  ``max_in_flight`` at once (the rest wait, and their wait counts); a request that gets no answer within
  10 s counts as a timeout, and timeouts are counted as infinitely slow in the percentiles.

Webhook intake: ``POST /stripe/webhook/`` with ``checkout.session.expired`` events shaped like Stripe's
(about 1.3 kB), each with a new id and signed with the stack's ``STRIPE_WEBHOOK_SECRET`` by
``payments.signing.sign`` just before the run (signatures are valid for 5 minutes). Every event is sent
once; afterwards the stored rows are counted per id. A Celery worker (2 processes, as ``make worker``)
runs during the webhook measurements and processes what is stored, as it would during a real spike.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
WEBHOOK_PATH = "/stripe/webhook/"
TRIVIAL_PATH = "/bench/trivial/"
PAGE_MAX_SHARE = 0.5  # public pages: at least half of the trivial view's requests per second
WEBHOOK_MAX_SHARE = 0.4
P99_TARGET_MS = 50.0
REQUEST_TIMEOUT = 10.0


# --- results ----------------------------------------------------------------------------------------


def row(
    name: str,
    value: float | int | str | None,
    unit: str,
    *,
    target: str = "",
    met: bool | None = None,
    ratio: float | None = None,
    note: str = "",
) -> dict:
    """One line of the table (the keys bench/jobs_bench.py uses too, plus ``ratio`` and ``note``)."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..100) of ``values``; ``inf`` counts as slowest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def parse_wrk_output(text: str) -> dict:
    """wrk's summary from the ``WRK_JSON`` line that bench/wrk/report.lua prints, with requests per second."""
    for line in reversed(text.splitlines()):
        if line.startswith("WRK_JSON "):
            result = json.loads(line[len("WRK_JSON ") :])
            break
    else:
        raise ValueError("wrk printed no WRK_JSON line (was bench/wrk/report.lua loaded?)")
    seconds = result["duration_us"] / 1_000_000
    result["seconds"] = seconds
    result["errors"] = sum(
        result[f"errors_{kind}"] for kind in ("connect", "read", "write", "status", "timeout")
    )
    result["good_requests"] = result["requests"] - result["errors_status"]
    result["requests_per_second"] = result["good_requests"] / seconds if seconds else 0.0
    return result


# --- wrk (maximum throughput) -------------------------------------------------------------------------


def wrk(
    url: str,
    *,
    duration: float,
    connections: int = 32,
    threads: int = 2,
    script: Path = WRK_DIR / "report.lua",
    script_args: Iterable[str] = (),
) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        f"{REQUEST_TIMEOUT:.0f}s",
        "-s",
        str(script),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk_output(done.stdout)


# --- the open-loop generator ----------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    key: str = ""  # e.g. the event id, reported back for the requests answered 2xx

    def raw(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 answer (0 if there is none)."""
    first = response.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else 0


async def _one(
    host, port, payload: bytes, intended: float, slots: asyncio.Semaphore, loop
) -> tuple[float, int, bytes]:
    async with slots:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), REQUEST_TIMEOUT)
        except (OSError, TimeoutError):
            return loop.time() - intended, -1, b""
        try:
            writer.write(payload)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), REQUEST_TIMEOUT)
        except (OSError, TimeoutError):
            return math.inf, -1, b""
        finally:
            writer.close()
    return loop.time() - intended, status_of(response), response


async def open_loop(
    *, url: str, requests: list[Request], rate: float, max_in_flight: int = 128, grace: float = 5.0
) -> dict:
    """Send ``requests`` at ``rate`` a second by the clock; latencies from each intended send time."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    host_header = parts.netloc
    payloads = [request.raw(host_header) for request in requests]
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(max_in_flight)
    tasks: list[asyncio.Task] = []
    late = 0
    start = loop.time() + 0.2
    for index, payload in enumerate(payloads):
        intended = start + index / rate
        delay = intended - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1  # the generator itself fell behind (its own CPU): reported, should stay near 0
        tasks.append(loop.create_task(_one(host, port, payload, intended, slots, loop)))
    schedule_seconds = loop.time() - start
    done, pending = await asyncio.wait(tasks, timeout=grace + REQUEST_TIMEOUT)
    for task in pending:
        task.cancel()
    latencies, statuses, acknowledged = [], {}, []
    for request, task in zip(requests, tasks, strict=True):
        if task in done and not task.cancelled() and task.exception() is None:
            latency, status, body = task.result()
        else:
            latency, status, body = math.inf, -1, b""
        latencies.append(latency)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if 200 <= status < 300 and request.key:
            acknowledged.append(
                {"key": request.key, "answer": body.rsplit(b"\r\n\r\n", 1)[-1].decode(errors="replace")}
            )
    ok = sum(count for status, count in statuses.items() if status.startswith("2"))
    finite = [value for value in latencies if math.isfinite(value)]
    return {
        "rate": rate,
        "sent": len(requests),
        "ok": ok,
        "statuses": statuses,
        "schedule_seconds": schedule_seconds,
        "late_sends": late,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": (max(latencies) * 1000) if latencies else math.nan,
        "mean_ms": (statistics.fmean(finite) * 1000) if finite else math.nan,
        "acknowledged": acknowledged,
    }


def open_loop_run(
    url: str, *, rate: float, duration: float, path: str | None = None, requests_file: Path | None = None
) -> dict:
    """Run the open-loop generator in a process of its own (its CPU is not this process's)."""
    command = [
        sys.executable,
        __file__,
        "open-loop",
        "--url",
        url,
        "--rate",
        f"{rate:.3f}",
        "--duration",
        str(duration),
    ]
    if path:
        command += ["--path", path]
    if requests_file:
        command += ["--requests-file", str(requests_file)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + REQUEST_TIMEOUT + 60, check=False
    )
    if done.returncode:
        raise RuntimeError(f"open-loop generator failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else "inf"
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def from_json_number(value) -> float:
    return math.inf if value == "inf" else (math.nan if value is None else float(value))


# --- webhook events -----------------------------------------------------------------------------------


def webhook_event(event_id: str, created: int) -> dict:
    """A ``checkout.session.expired`` event shaped like Stripe's (API version 2026-10-28.endive)."""
    session = f"cs_test_{event_id[4:]}"
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "data": {
            "object": {
                "id": session,
                "object": "checkout.session",
                "amount_subtotal": 1000,
                "amount_total": 1000,
                "cancel_url": "https://funding.example.org/support/cancelled/",
                "created": created - 86_400,
                "currency": "eur",
                "customer": None,
                "customer_creation": "always",
                "customer_details": None,
                "expires_at": created,
                "livemode": False,
                "locale": "en",
                "metadata": {
                    "purpose": "patronage",
                    "checkout_attempt": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)),
                    "tier": "supporter",
                    "interval": "month",
                },
                "mode": "subscription",
                "payment_method_types": ["card", "sepa_debit"],
                "payment_status": "unpaid",
                "status": "expired",
                "submit_type": None,
                "subscription": None,
                "success_url": "https://funding.example.org/support/thanks/?session_id={CHECKOUT_SESSION_ID}",
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "url": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.expired",
    }


def webhook_requests(count: int, *, prefix: str, secret: str) -> list[Request]:
    """``count`` new events, each signed now with ``secret`` (``payments.signing.sign``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from payments.signing import sign

    created = int(time.time())
    requests = []
    for number in range(count):
        event_id = f"evt_{prefix}{number:08d}"
        body = json.dumps(webhook_event(event_id, created), separators=(",", ":")).encode()
        signature = sign(payload=body, secret=secret, timestamp=created)
        requests.append(
            Request(
                "POST",
                WEBHOOK_PATH,
                {"Content-Type": "application/json", "Stripe-Signature": signature},
                body,
                key=event_id,
            )
        )
    return requests


def write_requests(path: Path, requests: list[Request]) -> None:
    """One request a line, ``<key>\\t<Stripe-Signature>\\t<body>`` (bench/wrk/webhook.lua reads it too)."""
    with open(path, "w") as file:
        for request in requests:
            file.write(f"{request.key}\t{request.headers['Stripe-Signature']}\t{request.body.decode()}\n")


def read_requests(path: Path) -> list[Request]:
    requests = []
    with open(path) as file:
        for line in file:
            key, signature, body = line.rstrip("\n").split("\t", 2)
            headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
            requests.append(Request("POST", WEBHOOK_PATH, headers, body.encode(), key=key))
    return requests


# --- memory -------------------------------------------------------------------------------------------


class Sampler:
    """Calls ``sample()`` every ``interval`` seconds in a thread while the ``with`` block runs."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        raise NotImplementedError


class MemorySampler(Sampler):
    """The largest resident set size seen among ``pids()`` (sampled every ``interval`` seconds)."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.2):
        super().__init__(interval)
        self.pids = pids
        self.peak_bytes = 0
        self.peak_pid: int | None = None
        self.samples = 0

    def sample(self) -> None:
        import psutil

        for pid in self.pids():
            try:
                rss = psutil.Process(pid).memory_info().rss
            except psutil.Error:
                continue
            if rss > self.peak_bytes:
                self.peak_bytes, self.peak_pid = rss, pid
        self.samples += 1


# --- the measurements ---------------------------------------------------------------------------------


@dataclass
class Durations:
    warmup: float = 2.0
    maximum: float = 10.0
    fixed_rate: float = 10.0

    @classmethod
    def quick(cls) -> Durations:
        return cls(warmup=2.0, maximum=5.0, fixed_rate=5.0)


def public_pages(report_path: str | None) -> list[tuple[str, str]]:
    """The public pages of the issue, at the demo's URLs (cms/demo.py, reports/urls.py)."""
    pages = [
        ("home", "/"),
        ("tiers", "/support-us/"),
        ("sponsors", "/sponsors/"),
        ("supporters", "/supporters/"),
    ]
    if report_path:
        pages.append(("monthly report", report_path))
    return pages


def page_check(base_url: str, path: str) -> tuple[int, int, float]:
    """Status, size and seconds of one GET (a page answering 404 or 500 must not be benchmarked silently)."""
    import urllib.error
    import urllib.request

    started = time.perf_counter()
    try:
        with urllib.request.urlopen(base_url + path, timeout=60) as response:
            return response.status, len(response.read()), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, 0, time.perf_counter() - started
    except (urllib.error.URLError, OSError):
        return 0, 0, time.perf_counter() - started


def page_cache_hit(base_url: str, path: str, *, tries: int = 8) -> bool:
    """Whether the stack answers ``path`` from the whole-page cache (cms/page_cache.py sets ``X-Page-Cache``).

    Each gunicorn worker learns by itself which paths it may look up, so the first answer of a worker can
    be a rendering: a few requests, and any copy counts."""
    import urllib.request

    for _ in range(tries):
        try:
            with urllib.request.urlopen(base_url + path, timeout=60) as response:
                response.read()
                if response.headers.get("X-Page-Cache") == "hit":
                    return True
        except OSError:
            return False
    return False


RENDERED_QUERY = "?bench=rendered"  # any query string bypasses the page cache, as a session cookie does


def settle(base_url: str, *, log, timeout: float = 120.0) -> float:
    """Wait until the server has worked off what an earlier run left in its accept queue.

    A client that gave up (wrk at its end, the open-loop generator on a timeout) leaves its request in
    gunicorn's queue, and a sync worker still answers it. The next measurement starts only once three
    trivial requests in a row are answered within 50 ms."""
    started = time.monotonic()
    fast = 0
    while fast < 3 and time.monotonic() - started < timeout:
        status, _size, seconds = page_check(base_url, TRIVIAL_PATH)
        fast = fast + 1 if status == 200 and seconds < 0.05 else 0
        if not fast:
            time.sleep(0.2)
    waited = time.monotonic() - started
    if waited > 2:
        log(f"  (waited {waited:.0f} s for the server to work off the previous run)")
    return waited


def measure_maximum(base_url: str, path: str, durations: Durations, *, log) -> dict:
    url = base_url + path
    wrk(url, duration=durations.warmup)
    settle(base_url, log=log)
    result = wrk(url, duration=durations.maximum)
    settle(base_url, log=log)
    log(
        f"  max {url}: {result['requests_per_second']:.0f} req/s, {result['errors']} errors "
        f"(wrk's closed-loop p99 {result['latency_p99_us'] / 1000:.1f} ms)"
    )
    return result


def measure_fixed_rate(url: str, path: str, rate: float, durations: Durations, *, log) -> dict:
    result = open_loop_run(url, rate=rate, duration=durations.fixed_rate, path=path)
    log(
        f"  {rate:.0f} req/s open loop {path}: p50 {_ms(result['p50_ms']):.1f} ms, p99 "
        f"{_ms(result['p99_ms']):.1f} ms, {result['ok']}/{result['sent']} 2xx, {result['late_sends']} late sends"
    )
    settle(url, log=log)
    return result


def _ms(value) -> float:
    return from_json_number(value)


def run(stack, *, durations: Durations, log: Callable[[str], None] = print) -> tuple[list[dict], dict]:
    """Every HTTP measurement against ``stack`` (bench/stack.py, already serving). Rows and details."""
    rows: list[dict] = []
    details: dict = {"pages": {}, "webhook": {}}
    base = stack.base_url

    trivial = measure_maximum(base, TRIVIAL_PATH, durations, log=log)
    trivial_rps = trivial["requests_per_second"]
    rate = max(1.0, trivial_rps / 2)
    details["trivial"] = {"maximum": trivial}
    rows.append(
        row(
            "trivial view: max req/s (32 connections)",
            round(trivial_rps),
            "req/s",
            ratio=1.0,
            target="baseline",
            note=f"{trivial['errors']} errors" if trivial["errors"] else "",
        )
    )
    trivial_fixed = measure_fixed_rate(base, TRIVIAL_PATH, rate, durations, log=log)
    details["trivial"]["fixed_rate"] = trivial_fixed
    rows.append(
        {
            **latency_row(f"trivial view: p50 / p99 at {rate:.0f} req/s", trivial_fixed),
            "target": "reference",
            "met": None,
        }
    )

    for name, path in public_pages(stack.latest_published_report_path()):
        for _ in range(3):  # fill the caches one request at a time
            status, size, _seconds = page_check(base, path)
        if status != 200:
            rows.append(
                row(f"{name} ({path})", None, "", target="answers 200", met=False, note=f"HTTP {status}")
            )
            continue
        cached = page_cache_hit(base, path)
        maximum = measure_maximum(base, path, durations, log=log)
        fixed = measure_fixed_rate(base, path, rate, durations, log=log)
        page = {"path": path, "bytes": size, "maximum": maximum, "fixed_rate": fixed, "page_cache": cached}
        details["pages"][name] = page
        share = maximum["requests_per_second"] / trivial_rps if trivial_rps else None
        notes = [f"{maximum['errors']} errors"] if maximum["errors"] else []
        notes.append("served from the page cache" if cached else "rendered: the page cache did not keep it")
        rows.append(
            row(
                f"{name} ({path}, {size / 1024:.0f} kB): max req/s",
                round(maximum["requests_per_second"]),
                "req/s",
                ratio=share,
                target=f">= {PAGE_MAX_SHARE} x trivial",
                met=share is not None and share >= PAGE_MAX_SHARE and maximum["errors"] == 0,
                note="; ".join(notes),
            )
        )
        # What a logged-in visitor (or a changed page's first visitor) costs: rendered every time.
        rendered = measure_maximum(base, path + RENDERED_QUERY, durations, log=log)
        page["rendered_maximum"] = rendered
        rows.append(
            row(
                f"{name}: max req/s when rendered (no page cache)",
                round(rendered["requests_per_second"]),
                "req/s",
                ratio=rendered["requests_per_second"] / trivial_rps if trivial_rps else None,
                target="reference",
                met=None,
            )
        )
        rows.append(latency_row(f"{name}: p50 / p99 at {rate:.0f} req/s", fixed))
        own_rate = maximum["requests_per_second"] / 2
        if own_rate < rate * 0.9 and own_rate >= 1:
            # Beyond its maximum the queue only grows: also the latency at a load the page can carry.
            carried = measure_fixed_rate(base, path, own_rate, durations, log=log)
            page["fixed_rate_own_half"] = carried
            rows.append(
                {
                    **latency_row(f"{name}: p50 / p99 at {own_rate:.0f} req/s (half its maximum)", carried),
                    "target": "reference",
                    "met": None,
                }
            )

    rows += webhook_measurements(
        stack, rate=rate, trivial_rps=trivial_rps, durations=durations, details=details, log=log
    )
    return rows, details


def latency_text(milliseconds: float) -> str:
    """ "12.3", or "> 10 s" for a request that got no answer within the generator's timeout."""
    if not math.isfinite(milliseconds):
        return f"> {REQUEST_TIMEOUT:.0f} s" if milliseconds > 0 else "-"
    return f"{milliseconds:.1f}"


def latency_row(name: str, result: dict) -> dict:
    p50, p99 = _ms(result["p50_ms"]), _ms(result["p99_ms"])
    statuses = result["statuses"]
    unanswered = statuses.get("-1", 0)
    other = sum(count for status, count in statuses.items() if not status.startswith("2") and status != "-1")
    problems = []
    if unanswered:
        problems.append(f"{unanswered} of {result['sent']} without an answer within {REQUEST_TIMEOUT:.0f} s")
    if other:
        problems.append(f"{other} answered with an error status")
    if result["late_sends"]:
        problems.append(f"{result['late_sends']} sent more than 5 ms late (the generator's own CPU)")
    return row(
        name,
        f"{latency_text(p50)} / {latency_text(p99)}",
        "ms",
        target=f"p99 < {P99_TARGET_MS:.0f} ms",
        met=p99 < P99_TARGET_MS and not unanswered and not other,
        note="; ".join(problems),
    )


def webhook_measurements(
    stack, *, rate: float, trivial_rps: float, durations: Durations, details: dict, log
) -> list[dict]:
    """Maximum intake (wrk), latency at ``rate`` (open loop), then every event checked in the database."""
    rows = []
    run_id = uuid.uuid4().hex[:6]
    url = stack.base_url + WEBHOOK_PATH
    script = WRK_DIR / "webhook.lua"
    stack.celery_start(concurrency=2)
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as folder:
        folder = Path(folder)
        # Enough new events for the trivial view's rate (an upper bound), signed just before the run.
        warm = webhook_requests(
            int(trivial_rps * durations.warmup * 1.2) + 200,
            prefix=f"bench{run_id}w",
            secret=stack.webhook_secret,
        )
        write_requests(folder / "warm.tsv", warm)
        wrk(url, duration=durations.warmup, script=script, script_args=[str(folder / "warm.tsv"), "2"])
        settle(stack.base_url, log=log)
        count = int(trivial_rps * (durations.maximum + 2) * 1.2) + 1000
        write_requests(
            folder / "max.tsv", webhook_requests(count, prefix=f"bench{run_id}m", secret=stack.webhook_secret)
        )
        maximum = wrk(
            url, duration=durations.maximum, script=script, script_args=[str(folder / "max.tsv"), "2"]
        )
        settle(stack.base_url, log=log)
        log(
            f"  max webhook intake: {maximum['requests_per_second']:.0f} events/s; {maximum['stored']:.0f} stored, "
            f"{maximum['repeated']:.0f} repeated, {maximum['refused']:.0f} refused"
        )
        stored_max = _stored_count(stack, f"evt_bench{run_id}m")
        open_loops = {}
        own_rate = maximum["requests_per_second"] / 2
        rates = [("fixed", rate)]
        if 1 <= own_rate < rate * 0.9:
            rates.append(("own", own_rate))
        for label, events_rate in rates:
            requests = webhook_requests(
                max(1, int(events_rate * durations.fixed_rate)),
                prefix=f"bench{run_id}{label[0]}",
                secret=stack.webhook_secret,
            )
            write_requests(folder / f"{label}.tsv", requests)
            result = open_loop_run(
                stack.base_url,
                rate=events_rate,
                duration=durations.fixed_rate,
                requests_file=folder / f"{label}.tsv",
            )
            settle(stack.base_url, log=log)
            log(
                f"  {events_rate:.0f} events/s open loop: p50 {_ms(result['p50_ms']):.1f} ms, "
                f"p99 {_ms(result['p99_ms']):.1f} ms, {result['ok']}/{result['sent']} 2xx"
            )
            open_loops[label] = (events_rate, requests, result)

    share = maximum["requests_per_second"] / trivial_rps if trivial_rps else None
    rows.append(
        row(
            "webhook intake: max signed events/s (32 connections)",
            round(maximum["requests_per_second"]),
            "events/s",
            ratio=share,
            target=f">= {WEBHOOK_MAX_SHARE} x trivial",
            met=share is not None
            and share >= WEBHOOK_MAX_SHARE
            and maximum["errors"] == 0
            and maximum["repeated"] == 0,
            note="; ".join(
                text
                for text in (
                    f"{maximum['errors']:.0f} errors" if maximum["errors"] else "",
                    f"{maximum['repeated']:.0f} answered 'already stored' (too few events prepared?)"
                    if maximum["repeated"]
                    else "",
                )
                if text
            ),
        )
    )
    _fixed_rate, _requests, fixed = open_loops["fixed"]
    rows.append(latency_row(f"webhook intake: p50 / p99 at {rate:.0f} events/s", fixed))
    if "own" in open_loops:
        own_rate, _requests, carried = open_loops["own"]
        rows.append(
            {
                **latency_row(
                    f"webhook intake: p50 / p99 at {own_rate:.0f} events/s (half its maximum)", carried
                ),
                "target": "reference",
                "met": None,
            }
        )

    # Every event acknowledged as stored has exactly one row; no row for an event never sent. An event
    # whose answer was lost (a timeout) may be stored or not: Stripe would send it again.
    checks = {}
    for label, (_rate, requests, result) in open_loops.items():
        sent_keys = {request.key for request in requests}
        stored_keys = [item["key"] for item in result["acknowledged"] if item["answer"] == "stored"]
        answered_again = sum(1 for item in result["acknowledged"] if item["answer"] != "stored")
        per_id = dict(
            stack.sql(
                "SELECT stripe_id, count(*) FROM payments_webhookevent WHERE stripe_id LIKE %s GROUP BY stripe_id",
                [f"evt_bench{run_id}{label[0]}%"],
            )
        )
        checks[label] = {
            "sent": len(requests),
            "acknowledged": len(stored_keys),
            "answered_already_stored": answered_again,
            "rows": len(per_id),
            "missing": sum(1 for key in stored_keys if per_id.get(key) != 1),
            "duplicates": sum(1 for count in per_id.values() if count > 1),
            "stray": len(set(per_id) - sent_keys),
        }
    checks["maximum"] = {
        "sent": int(maximum["sent"]),
        "acknowledged": int(maximum["stored"]),
        "rows": stored_max,
        "within": maximum["stored"] <= stored_max <= maximum["sent"],
    }
    exact = checks["maximum"]["within"] and all(
        check["missing"] == 0
        and check["duplicates"] == 0
        and check["stray"] == 0
        and check["answered_already_stored"] == 0
        for label, check in checks.items()
        if label != "maximum"
    )
    acknowledged = sum(check["acknowledged"] for check in checks.values())
    stored = sum(check["rows"] for check in checks.values())
    sent = sum(check["sent"] for check in checks.values())
    rows.append(
        row(
            "webhook events: acknowledged ones stored exactly once",
            f"{acknowledged:,} / {stored:,} / {sent:,}",
            "acknowledged / rows / sent",
            target="each acknowledged event once",
            met=exact,
            note="; ".join(
                f"{label}: " + ", ".join(f"{key} {value}" for key, value in check.items() if key != "within")
                for label, check in checks.items()
            ),
        )
    )
    processed = _wait_processed(stack, f"evt_bench{run_id}%", log=log)
    stack.celery_stop()
    details["webhook"] = {
        "maximum": maximum,
        "open_loops": {
            label: {**result, "acknowledged": len(result["acknowledged"])}
            for label, (_rate, _requests, result) in open_loops.items()
        },
        "checks": checks,
        "processed": processed,
    }
    rows.append(
        row(
            "webhook events processed by the Celery worker (2 processes)",
            f"{processed['processed']:,} of {processed['stored']:,}",
            "events",
            target="all, once",
            met=processed["processed"] == processed["stored"] and processed["failed"] == 0,
            note=f"all processed {processed['seconds']:.0f} s after the last event was sent; "
            f"{processed['failed']} failed",
        )
    )
    return rows


def _stored_count(stack, prefix: str) -> int:
    return stack.sql("SELECT count(*) FROM payments_webhookevent WHERE stripe_id LIKE %s", [prefix + "%"])[0][
        0
    ]


def _wait_processed(stack, pattern: str, *, log, timeout: float = 300) -> dict:
    started = time.monotonic()
    while True:
        stored, processed, failed = stack.sql(
            "SELECT count(*), count(processed_at), count(*) FILTER (WHERE last_error <> '')"
            " FROM payments_webhookevent WHERE stripe_id LIKE %s",
            [pattern],
        )[0]
        seconds = time.monotonic() - started
        if processed + failed >= stored or seconds > timeout:
            log(f"  processed {processed} of {stored} events ({failed} failed) after {seconds:.0f} s")
            return {"stored": stored, "processed": processed, "failed": failed, "seconds": seconds}
        time.sleep(1)


# --- profile -------------------------------------------------------------------------------------------


def profile_under_load(stack, path: str, *, seconds: float, out: Path, log, load_events: int = 0) -> str:
    """cProfile of ``path`` answered in a Django process of the stack's settings while wrk loads gunicorn.

    For the webhook path the profiled process posts new signed events, and the load is ``load_events``
    other new events (bench/wrk/webhook.lua); for a page both GET it."""
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        command = ["wrk", "-t2", "-c32", f"-d{round(seconds) + 5}s", "-s"]
        if path == WEBHOOK_PATH:
            events = Path(folder) / "load.tsv"
            prefix = f"bench{uuid.uuid4().hex[:6]}p"
            write_requests(events, webhook_requests(load_events, prefix=prefix, secret=stack.webhook_secret))
            command += [str(WRK_DIR / "webhook.lua"), stack.base_url + path, "--", str(events), "2"]
        else:
            command += [str(WRK_DIR / "report.lua"), stack.base_url + path]
        load = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "profile",
                    "--path",
                    path,
                    "--seconds",
                    str(seconds),
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
                env=stack.env,
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=False,
            )
        finally:
            load.wait(timeout=seconds + 60)
    settle(stack.base_url, log=log)
    if done.returncode:
        raise RuntimeError(f"profile failed: {done.stderr.strip()[-2000:]}")
    log(f"  profile of {path} under load: {out.relative_to(ROOT)}: {done.stdout.strip()}")
    return done.stdout.strip()


def _profile_child(path: str, seconds: float, out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    if path == WEBHOOK_PATH:
        prefix = f"bench{uuid.uuid4().hex[:6]}c"
        events = iter(
            webhook_requests(int(seconds * 2000) + 100, prefix=prefix, secret=settings.STRIPE_WEBHOOK_SECRET)
        )

        def answer():
            event = next(events)
            return client.post(
                path,
                event.body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=event.headers["Stripe-Signature"],
            )
    else:

        def answer():
            return client.get(path)

    for _ in range(3):
        assert answer().status_code == 200
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        answer()
    profiler = cProfile.Profile()
    count, started = 0, time.perf_counter()
    profiler.enable()
    while time.perf_counter() - started < seconds:
        answer()
        count += 1
    profiler.disable()
    elapsed = time.perf_counter() - started
    text = io.StringIO()
    text.write(
        f"{'POST' if path == WEBHOOK_PATH else 'GET'} {path}: {count} requests in {elapsed:.1f} s under load, "
        f"{elapsed / count * 1000:.1f} ms each (wall, profiler on), {len(queries)} SQL queries per request "
        "(caches warm)\n\nSQL of one request:\n"
    )
    text.writelines(f"  {sql[:300]}\n" for sql in queries)
    text.write("\n")
    stats = pstats.Stats(profiler, stream=text)
    stats.strip_dirs().sort_stats("cumulative").print_stats(50)
    stats.sort_stats("tottime").print_stats(30)
    out.write_text(text.getvalue())
    print(text.getvalue().splitlines()[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Helpers of bench/http_bench.py that run as processes of their own."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    loop = commands.add_parser("open-loop", help="latency at a fixed request rate (open loop); prints JSON")
    loop.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    loop.add_argument("--rate", type=float, required=True, help="requests per second")
    loop.add_argument("--duration", type=float, required=True, help="seconds")
    loop.add_argument("--path", help="GET this path")
    loop.add_argument(
        "--requests-file", type=Path, help="POST these signed events (one each), instead of --path"
    )
    loop.add_argument("--max-in-flight", type=int, default=128)
    profile = commands.add_parser(
        "profile", help="cProfile a page in-process (needs the stack's environment)"
    )
    profile.add_argument("--path", required=True)
    profile.add_argument("--seconds", type=float, default=10)
    profile.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "profile":
        _profile_child(args.path, args.seconds, args.out)
        return
    count = max(1, int(args.rate * args.duration))
    if args.requests_file:
        requests = read_requests(args.requests_file)[:count]
    else:
        requests = [Request("GET", args.path or "/")] * count
    result = asyncio.run(
        open_loop(url=args.url, requests=requests, rate=args.rate, max_in_flight=args.max_in_flight)
    )
    print(json.dumps(_json_safe(result)))


if __name__ == "__main__":
    main()
