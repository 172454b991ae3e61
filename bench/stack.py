"""The production-like stack that `make bench` measures: PostgreSQL, Redis, gunicorn and, when asked, Celery.

    with Stack(log=print) as stack:   # stops everything on leaving, also on Ctrl-C or an error
        stack.prepare()               # database patronage_bench, demo data scaled up, static files
        stack.web_start()             # gunicorn, 2 workers, on a free loopback port
        stack.celery_start()          # a Celery worker with 2 processes (make worker), optional
        ...                           # stack.base_url, stack.env, stack.sql(...), stack.web_worker_pids()

What it uses, and nothing else:
- the PostgreSQL server at 127.0.0.1:5432 (``BENCH_POSTGRES_URL`` to change), in a database of its own,
  ``patronage_bench``, dropped and created by ``prepare()`` and dropped again at the end unless ``keep``;
- the Redis server at 127.0.0.1:6379 (``BENCH_REDIS_URL``), database 10 only (cache and Celery broker),
  emptied with FLUSHDB at the start and at the end;
- files under ``var/bench/`` (static files, media, logs).

The settings are ``config.settings.production`` (what a deployment runs: DEBUG off, manifest static
files served by WhiteNoise, persistent database connections, the Redis cache), with these environment
values for a plain-HTTP loopback server: ``SECURE_SSL_REDIRECT=0`` and ``SECURE_HSTS_SECONDS=0`` (else every
request is a redirect to https), ``ALLOWED_HOSTS=127.0.0.1,localhost``, a random ``SECRET_KEY``, a webhook
signing secret of the bench's own (``STRIPE_WEBHOOK_SECRET``), a ``STRIPE_SECRET_KEY`` that Stripe would
refuse (so the Stripe gateway exists and webhook events are processed; the events the bench sends need no
call to Stripe, and none can leave this machine) and the dummy e-mail backend (no SMTP server here). ``BENCH_TRIVIAL_VIEW=1`` switches on the
baseline view ``/bench/trivial/`` (jobs/views.py).

The demo data (``seed_demo``, about 680 patrons) is scaled up by ``scale_patrons`` more patrons, each with
one patronage (recurring on a tier or their own amount, some ended, some one-time gifts of the last
year), inserted with ``bulk_create``. They fill the supporters wall and the patron figures. They have no
payments: a payment is a ledger transaction with a gap-free document number, and the ledger's size is
measured on its own by ``bench/report_scale.py`` (1 and 10 million postings), so the books stay exactly
as ``seed_demo`` balanced them.

Run ``python bench/stack.py serve`` to bring the stack up by hand and keep it until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
BIN = PYTHON.parent

DATABASE_NAME = "patronage_bench"  # the only database this module creates or drops
REDIS_DB = 10  # the bench's Redis databases are 10 and 11; this stack uses 10
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_SERVER_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
WEBHOOK_SECRET = "whsec_bench_" + "0" * 24
STRIPE_OFFLINE_KEY = "sk_test_bench_offline_never_valid"
TRIVIAL_PATH = "/bench/trivial/"
SCALE_PATRONS = 10_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen | None, *, grace: float = 10.0) -> None:
    """Stop a process this module started, with the process group it leads (its workers)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(
        self,
        *,
        keep: bool = False,
        scale_patrons: int = SCALE_PATRONS,
        web_workers: int = 2,
        web_threads: int = 1,
        log: Callable[[str], None] = print,
    ):
        self.keep = keep
        self.scale_patrons = scale_patrons
        self.web_workers = web_workers
        self.web_threads = (
            web_threads  # more than 1: gunicorn's gthread workers (an experiment, not the default)
        )
        self.log = log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"{POSTGRES_URL}/{DATABASE_NAME}"
        self.redis_url = f"{REDIS_SERVER_URL}/{REDIS_DB}"
        self.webhook_secret = WEBHOOK_SECRET
        self.web: subprocess.Popen | None = None
        self.celery: subprocess.Popen | None = None
        self.created_database = False
        VAR.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": "patronage-bench",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.base_url,
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            # A key that Stripe would refuse: events get processed (the gateway exists), and the events the
            # bench sends need no call to Stripe. There is no network here anyway.
            "STRIPE_SECRET_KEY": STRIPE_OFFLINE_KEY,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "STATIC_ROOT": str(VAR / "static"),
            "MEDIA_ROOT": str(VAR / "media"),
            "PRIVATE_MEDIA_ROOT": str(VAR / "private"),
            "LOG_LEVEL": "WARNING",
            "BENCH_TRIVIAL_VIEW": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "DEBUG", "CONN_MAX_AGE"):
            self.env.pop(name, None)

    # --- context manager: everything stops on the way out ------------------------------------------

    def __enter__(self) -> Stack:
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        finally:
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def close(self) -> None:
        self.celery_stop()
        self.web_stop()
        self.redis_flush()
        if self.created_database and not self.keep:
            self.database_drop()
            self.log(f"dropped the database {DATABASE_NAME}")
        elif self.created_database:
            self.log(f"kept the database {DATABASE_NAME} ({self.database_url})")

    # --- preparing the data ------------------------------------------------------------------------

    def prepare(self) -> None:
        """A fresh database with the demo data scaled up, collected static files, an empty Redis db."""
        started = time.monotonic()
        self.redis_flush()
        self.database_drop()
        self.database_create()
        self.manage("collectstatic", "--no-input", "--verbosity", "0")
        self.manage("migrate", "--no-input", "--verbosity", "0")
        self.log(f"migrated in {time.monotonic() - started:.0f} s; seeding the demo data")
        # Seeding runs its side effects in-process (no broker): nothing is left queued for the workers.
        # No Stripe key while seeding: publishing the demo tiers would try to create their prices at Stripe.
        seed_env = {**self.env, "CELERY_TASK_ALWAYS_EAGER": "1", "STRIPE_SECRET_KEY": ""}
        self.manage("seed_demo", env=seed_env, timeout=30 * 60)
        if self.scale_patrons:
            self.log(f"adding {self.scale_patrons:,} patrons")
            self.run_python([str(Path(__file__).resolve()), "scale", str(self.scale_patrons)])
        self.sql("VACUUM ANALYZE", autocommit=True)
        self.redis_flush()
        self.log(f"data ready in {time.monotonic() - started:.0f} s: {self.describe_data()}")

    def describe_data(self) -> str:
        rows = self.sql(
            "SELECT (SELECT count(*) FROM fundraising_patron), (SELECT count(*) FROM fundraising_patronage),"
            " (SELECT count(*) FROM fundraising_payment), (SELECT count(*) FROM ledger_posting)"
        )
        patrons, patronages, payments, postings = rows[0]
        return f"{patrons:,} patrons, {patronages:,} patronages, {payments:,} payments, {postings:,} postings"

    def latest_published_report_path(self) -> str | None:
        rows = self.sql("SELECT max(month) FROM reports_monthlyreport WHERE status = 'published'")
        month = rows[0][0] if rows else None
        return f"/reports/{month:%Y}/{month:%m}/" if month else None

    # --- processes ---------------------------------------------------------------------------------

    def web_start(self, *, timeout: float = 90) -> None:
        if self.web is not None and self.web.poll() is None:
            return
        self.web = self._spawn(
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "--workers",
                str(self.web_workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
                *(["--threads", str(self.web_threads)] if self.web_threads > 1 else []),
            ],
            log_name="gunicorn.log",
        )
        self._wait_until(self.web, "gunicorn", self.web_ready, timeout=timeout)
        threads = f", {self.web_threads} threads each" if self.web_threads > 1 else ""
        self.log(f"gunicorn: {self.web_workers} workers{threads} on {self.base_url} (pid {self.web.pid})")

    def _spawn(self, command: list[str], *, log_name: str) -> subprocess.Popen:
        """A server of the stack, in a process group of its own (stop_process ends it with its children),
        its output appended to ``var/bench/<log_name>``."""
        with open(VAR / log_name, "ab") as log_file:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @staticmethod
    def _wait_until(
        process: subprocess.Popen, name: str, ready: Callable[[], bool], *, timeout: float
    ) -> None:
        log = VAR / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; see {log}")
            if ready():
                return
            time.sleep(0.3)
        raise StackError(f"{name} was not ready within {timeout:.0f} s; see {log}")

    def web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + TRIVIAL_PATH, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def web_stop(self) -> None:
        stop_process(self.web)
        self.web = None

    def web_worker_pids(self) -> list[int]:
        return _child_pids(self.web)

    def celery_start(self, *, concurrency: int = 2, timeout: float = 60) -> subprocess.Popen:
        """``make worker``: one Celery worker with ``concurrency`` processes, on Redis db 10."""
        if self.celery is not None and self.celery.poll() is None:
            return self.celery
        self.celery = self._spawn(
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"bench-{os.getpid()}@%h",
            ],
            log_name="celery.log",
        )
        self._wait_until(
            self.celery, "celery", lambda: len(self.celery_worker_pids()) >= concurrency, timeout=timeout
        )
        time.sleep(1.0)  # the pool processes start before the consumer is connected
        self.log(f"celery: worker with {concurrency} processes (pid {self.celery.pid})")
        return self.celery

    def celery_stop(self) -> None:
        stop_process(self.celery, grace=30)
        self.celery = None

    def celery_worker_pids(self) -> list[int]:
        return _child_pids(self.celery)

    # --- commands ----------------------------------------------------------------------------------

    def manage(self, *args: str, env: dict | None = None, timeout: float = 15 * 60) -> None:
        self.run_python([str(ROOT / "manage.py"), *args], env=env, timeout=timeout)

    def run_python(self, args: list[str], *, env: dict | None = None, timeout: float = 15 * 60) -> None:
        log_path = VAR / "setup.log"
        with open(log_path, "ab") as log_file:
            done = subprocess.run(
                [str(PYTHON), *args],
                cwd=ROOT,
                env=env or self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if done.returncode:
            raise StackError(f"{' '.join(args[:2])} failed (exit {done.returncode}); see {log_path}")

    def sql(self, query: str, params=None, *, autocommit: bool = False) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=autocommit) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- the database and Redis --------------------------------------------------------------------

    def database_create(self) -> None:
        _admin_sql(f'CREATE DATABASE "{DATABASE_NAME}"')
        self.created_database = True

    def database_drop(self) -> None:
        _admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')

    def redis_flush(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()  # database 10 only, never FLUSHALL
        finally:
            client.close()


def _admin_sql(statement: str) -> None:
    import psycopg

    assert DATABASE_NAME == "patronage_bench" and DATABASE_NAME in statement
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def _child_pids(process: subprocess.Popen | None) -> list[int]:
    if process is None or process.poll() is not None:
        return []
    import psutil

    try:
        return [child.pid for child in psutil.Process(process.pid).children()]
    except psutil.NoSuchProcess:
        return []


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


# --- scaling the demo up (runs inside Django, in a child process) ----------------------------------

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Finn",
    "Greta",
    "Hamid",
    "Ida",
    "Jonas",
    "Kim",
    "Lea",
    "Malik",
    "Nora",
    "Omar",
    "Paula",
    "Quinn",
    "Rosa",
]
LAST_NAMES = [
    "Adler",
    "Bauer",
    "Celik",
    "Diaz",
    "Engel",
    "Fischer",
    "Gross",
    "Hoang",
    "Ivanova",
    "Jung",
    "Klein",
    "Lange",
    "Meyer",
    "Nowak",
    "Otto",
]
SERVERS = ("mastodon.social", "chaos.social", "hachyderm.io", "fosstodon.org", "social.example")


def scale_patrons(count: int, *, seed: int = 2026) -> None:
    """``count`` more patrons with one patronage each, in bulk (no signals, no payments, no ledger)."""
    from django.db import transaction
    from django.utils import timezone

    from fundraising.demo import TIERS
    from fundraising.models import Patron, Patronage, Tier
    from fundraising.public import cache_bump

    rng = random.Random(seed)
    now = timezone.now()
    weights = {row[0]: row[-1] for row in TIERS}
    tiers = [tier for tier in Tier.objects.offered() if not tier.slot_limit]
    tier_weights = [weights.get(tier.slug, 10) for tier in tiers]
    first = Patron.objects.count()
    with transaction.atomic():
        for batch_start in range(0, count, 2000):
            patrons, patronages = [], []
            for number in range(batch_start, min(count, batch_start + 2000)):
                patron, patronage = _scaled_patron(rng, first + number, now, tiers, tier_weights)
                patrons.append(patron)
                patronages.append(patronage)
            Patron.objects.bulk_create(patrons, batch_size=1000)
            for patron, patronage in zip(patrons, patronages, strict=True):
                patronage.patron = patron
            Patronage.objects.bulk_create(patronages, batch_size=1000)
    cache_bump()
    active = Patronage.objects.active().count()
    print(f"scaled: {count} patrons added, {Patron.objects.count()} in all, {active} active patronages")


def _scaled_patron(rng: random.Random, number: int, now, tiers, tier_weights):
    from fundraising.models import Interval, Kind, Patron, Patronage

    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    listing = rng.choices(
        [Patron.Listing.ANONYMOUS, Patron.Listing.NAME, Patron.Listing.HANDLE], weights=[40, 35, 25]
    )[0]
    handle = f"@{name.split()[0].lower()}{number}@{rng.choice(SERVERS)}"
    started = now - datetime.timedelta(days=rng.triangular(0, 730, 500), seconds=rng.randint(0, 86_399))
    patron = Patron(
        email=f"bench-patron-{number}@example.org",
        name=name,
        address_line1=f"Beispielweg {number % 90 + 1}",
        postal_code=f"{10000 + number % 89999}",
        city="Berlin",
        country="DE",
        language=rng.choice(["en", "de"]),
        stripe_customer_id=f"cus_bench_{number}",
        listing=listing,
        public_name=name if listing == Patron.Listing.NAME else "",
        fediverse_handle=handle if listing == Patron.Listing.HANDLE else "",
        show_amount=rng.random() < 0.3,
        created=started,
    )
    roll = rng.random()
    if roll < 0.15:  # a one-time gift in the last year
        gift = now - datetime.timedelta(days=rng.uniform(0, 364))
        patronage = Patronage(
            kind=Kind.DONATION,
            amount=rng.choice([10, 20, 25, 50, 100]),
            interval=Interval.ONCE,
            status=Patronage.Status.PAID,
            checkout_session_id=f"cs_bench_{number}",
            started_at=gift,
            state_at=gift,
        )
        patron.created = gift
        return patron, patronage
    own_amount = roll < 0.30
    tier = None if own_amount else rng.choices(tiers, weights=tier_weights)[0]
    yearly = tier is not None and tier.yearly_amount is not None and rng.random() < 0.15
    interval = Interval.YEAR if yearly else Interval.MONTH
    status = rng.choices(
        [Patronage.Status.ACTIVE, Patronage.Status.PAST_DUE, Patronage.Status.CANCELED], weights=[85, 3, 12]
    )[0]
    ended = None
    if status == Patronage.Status.CANCELED:
        ended = started + (now - started) * rng.uniform(0.1, 0.9)
    period = datetime.timedelta(days=365 if yearly else 30)
    return patron, Patronage(
        tier=tier,
        kind=Kind.DONATION if tier is None else tier.kind,
        amount=rng.choice([3, 7, 15, 30]) if tier is None else tier.amount_for(interval),
        currency="eur",
        interval=interval,
        status=status,
        stripe_subscription_id=f"sub_bench_{number}",
        current_period_end=None if ended else now + period * rng.random(),
        state_at=ended or started,
        payment_failed_at=now - datetime.timedelta(days=3) if status == Patronage.Status.PAST_DUE else None,
        started_at=started,
        ended_at=ended,
    )


def _django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main(argv: list[str]) -> None:
    if argv[:1] == ["scale"]:
        _django_setup()
        scale_patrons(int(argv[1]))
        return
    if argv[:1] == ["serve"]:
        with Stack(keep="--keep" in argv) as stack:
            stack.prepare()
            stack.web_start()
            print(f"serving on {stack.base_url}/ (env: DATABASE_URL={stack.database_url}); Ctrl-C stops")
            try:
                while stack.web and stack.web.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return
    sys.exit("usage: python bench/stack.py serve [--keep] | scale N")


if __name__ == "__main__":
    main(sys.argv[1:])
