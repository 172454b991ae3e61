"""Time a month's report at 1 and 10 million postings: its cost must not grow with the ledger (issue 7).

    python bench/report_scale.py \\
        --database-url postgres://postgres@127.0.0.1:5432/patronage_bench_reports \\
        --postings 1000000 10000000 [--month-size 40000] [--runs 5] [--keep] [--max-minutes 25]

For each size the script builds a PostgreSQL database of its own, named after ``--database-url`` with the
size appended (``patronage_bench_reports_1m``, ``patronage_bench_reports_10m``), migrates it and fills it
with a ledger whose months all have the same size (``--month-size`` postings): only the history grows.
The last month is the report month (by default the month before today's); every month before it is
closed. Then it times ``reports.figures.month_report_data`` for the report month (a new database session
first, then the median of ``--runs`` runs), counts its queries, EXPLAINs its heaviest query, and, if
``/reports/YYYY/MM.json`` answers, publishes the month inside a transaction that is rolled back and times
the JSON rendering through Django's test client (cache cleared before each request).

How the ledger is filled, fast and still as the books require:
- transactions and postings are inserted with ``INSERT ... SELECT generate_series`` directly, with the
  table's secondary indexes dropped and recreated afterwards, and the ledger's PostgreSQL guard triggers
  (``ledger/migrations/0003``) switched off for the load session only (``session_replication_role``);
  instead one SQL pass then checks what they check: every transaction has at least two postings, they
  sum to zero, they carry the transaction's booking date, and every posting points at an existing account
  and cost centre;
- every transaction follows one of a few templates of the default chart (patrons through Stripe with
  19 % VAT, Stripe fees and payouts, donations, refunds, sponsorships, grants, services, salaries,
  freelancers on a grant cost centre, hosting, VAT payments);
- the closing balances of all closed months are computed in one SQL pass, except the last two closed
  months, which ``ledger.services.ledger_month_close`` closes itself; the script checks that those two
  months' stored balances equal the SQL figures, so the SQL stands for the service;
- then ``VACUUM (ANALYZE)`` of the ledger tables.

A database is reused when it already holds a complete ledger built with the same parameters (a table
``bench_report_scale`` in it says so); it is never touched if it lacks that table. Without ``--keep``
the databases the script used are dropped at the end. The names ``patronage`` and ``patronage_ci`` (and
any name without "bench") are refused.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
MARKER_TABLE = "bench_report_scale"
GENERATOR_VERSION = 2
RESULT_PREFIX = "RESULT "
REFUSED_NAMES = {"patronage", "patronage_ci", "postgres", "template0", "template1"}

# name, lowest and highest base amount (cents), times in a cycle of 200 transactions, lines:
# (account code, cost centre code or None for CORE, factor of the base amount, factor of its 19 % VAT)
TEMPLATES = [
    ("Patron payment with perks", 500, 6000, 66, [
        ("stripe", None, 1, 1), ("income-patrons-perks", None, -1, 0), ("vat-payable-19", None, 0, -1)]),
    ("Patron payment (donation tier)", 500, 10000, 30, [
        ("stripe", None, 1, 0), ("income-patrons-no-perks", None, -1, 0)]),
    ("Stripe fee", 25, 300, 60, [("expense-payment-fees", None, 1, 0), ("stripe", None, -1, 0)]),
    ("Donation", 1000, 50000, 16, [("bank", None, 1, 0), ("income-donations", None, -1, 0)]),
    ("Stripe payout", 10000, 200000, 4, [("bank", None, 1, 0), ("stripe", None, -1, 0)]),
    ("Patron refund", 500, 6000, 4, [
        ("income-patrons-perks", None, 1, 0), ("vat-payable-19", None, 0, 1), ("stripe", None, -1, -1)]),
    ("Sponsorship invoice", 50000, 500000, 2, [
        ("receivables", None, 1, 1), ("income-sponsorship-vat", None, -1, 0), ("vat-payable-19", None, 0, -1)]),
    ("Sponsorship paid", 50000, 500000, 2, [("bank", None, 1, 0), ("receivables", None, -1, 0)]),
    ("Grant instalment", 100000, 2000000, 1, [("bank", None, 1, 0), ("income-grants", None, -1, 0)]),
    ("Hosting service sold", 5000, 50000, 3, [
        ("bank", None, 1, 1), ("income-services", None, -1, 0), ("vat-payable-19", None, 0, -1)]),
    ("Interest", 100, 5000, 1, [("bank", None, 1, 0), ("income-interest", None, -1, 0)]),
    ("Salary", 300000, 600000, 2, [("expense-salaries", None, 1, 0), ("bank", None, -1, 0)]),
    ("Social security", 60000, 120000, 2, [("expense-social-costs", None, 1, 0), ("bank", None, -1, 0)]),
    ("Freelancer invoice (grant)", 50000, 300000, 2, [
        ("expense-freelancers", "BENCH-GRANT", 1, 0), ("bank", None, -1, 0)]),
    ("Hosting bill", 2000, 40000, 2, [("expense-hosting", None, 1, 0), ("bank", None, -1, 0)]),
    ("Other cost", 500, 20000, 2, [("expense-other", None, 1, 0), ("bank", None, -1, 0)]),
    ("VAT payment", 10000, 100000, 1, [("vat-payable-19", None, 1, 0), ("bank", None, -1, 0)]),
]  # fmt: skip


def template_cycle() -> list[int]:
    """Template numbers in the order transactions follow them: spread out, 200 to a cycle."""
    slots = []
    for number, (_, _, _, times, _) in enumerate(TEMPLATES):
        slots += [(index / times, number) for index in range(times)]
    return [number for _, number in sorted(slots)]


def month_plan(month_size: int) -> tuple[int, int]:
    """(transactions, postings) of every month for about ``month_size`` postings a month."""
    cycle = template_cycle()
    lines = [len(TEMPLATES[number][4]) for number in cycle]
    transactions = round(month_size / sum(lines) * len(cycle))
    postings = sum(lines[index % len(cycle)] for index in range(transactions))
    return transactions, postings


def months_back(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def size_label(postings: int) -> str:
    if postings % 1_000_000 == 0:
        return f"{postings // 1_000_000}m"
    if postings % 1_000 == 0:
        return f"{postings // 1_000}k"
    return str(postings)


def database_url_for(base_url: str, postings: int) -> tuple[str, str]:
    parts = urlsplit(base_url)
    base_name = parts.path.lstrip("/")
    if not base_name or base_name in REFUSED_NAMES or "bench" not in base_name:
        sys.exit(f"refused: the database name must contain 'bench' and not be one of {sorted(REFUSED_NAMES)}")
    name = f"{base_name}_{size_label(postings)}"
    return urlunsplit(parts._replace(path=f"/{name}")), name


def say(message: str) -> None:
    print(f"[{datetime.datetime.now(datetime.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- administration: the maintenance database --------------------------------------------------------


def admin_connection(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def database_state(url: str, name: str) -> dict | None:
    """None if the database does not exist; {} if it exists without our marker; else the marker's row."""
    import psycopg

    with admin_connection(url) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        return None
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass(%s)", [MARKER_TABLE]).fetchone()[0]
        if found is None:
            return {}
        row = conn.execute(f"SELECT parameters, complete FROM {MARKER_TABLE}").fetchone()
    return {"parameters": row[0], "complete": row[1]} if row else {"parameters": None, "complete": False}


def database_drop(url: str, name: str) -> None:
    state = database_state(url, name)
    if state is None:
        return
    if state == {}:
        sys.exit(f"refused: database {name} exists but was not made by this script (no {MARKER_TABLE} table)")
    from psycopg import sql

    with admin_connection(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    say(f"dropped database {name}")


def database_create(url: str, name: str, parameters: dict) -> None:
    import psycopg
    from psycopg import sql

    with admin_connection(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {MARKER_TABLE} (parameters jsonb NOT NULL, complete boolean NOT NULL)")
        conn.execute(f"INSERT INTO {MARKER_TABLE} VALUES (%s, false)", [json.dumps(parameters)])
    say(f"created database {name}")


# --- one size, in a process of its own ------------------------------------------------------------------


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DEBUG"] = "0"
    os.environ["REDIS_URL"] = ""  # a local-memory cache: the bench never touches a shared cache
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ledger_fill(*, report_month: datetime.date, months: int, transactions: int, deadline: float) -> dict:
    """Insert ``months`` months of ``transactions`` transactions each, ending with ``report_month``."""
    from django.db import connection

    from ledger.models import Account, CostCentre

    timings = {}
    accounts = dict(Account.objects.values_list("code", "pk"))
    grant, _ = CostCentre.objects.get_or_create(
        code="BENCH-GRANT", defaults={"name": "Bench grant", "kind": CostCentre.Kind.GRANT}
    )
    centres = {None: CostCentre.objects.get(code="CORE").pk, "BENCH-GRANT": grant.pk}
    cycle = template_cycle()
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {max(1000, int((deadline - time.monotonic()) * 1000))}")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(
            "CREATE TEMP TABLE bench_template (template int PRIMARY KEY, name text, low int, high int)"
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_line (template int, line int, account_id bigint, cost_centre_id bigint,"
            " base_factor int, vat_factor int)"
        )
        for number, (name, low, high, _, lines) in enumerate(TEMPLATES):
            cursor.execute("INSERT INTO bench_template VALUES (%s, %s, %s, %s)", [number, name, low, high])
            for line, (code, centre, base_factor, vat_factor) in enumerate(lines):
                cursor.execute(
                    "INSERT INTO bench_line VALUES (%s, %s, %s, %s, %s, %s)",
                    [number, line, accounts[code], centres[centre], base_factor, vat_factor],
                )
        indexes = []
        for table in ("ledger_posting", "ledger_transaction"):
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [table],
            )
            indexes += cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        say(f"dropped {len(indexes)} secondary indexes for the load")

        # The guard triggers (and foreign key triggers) are off for this session only; checked below.
        cursor.execute("SET session_replication_role = replica")
        oldest = months_back(report_month, months - 1)
        chunk = max(1, 400_000 // transactions)  # months per statement
        for first_index in range(0, months, chunk):
            if time.monotonic() > deadline:
                raise TimeoutError(f"time is up after {first_index} of {months} months")
            last_index = min(months, first_index + chunk) - 1
            cursor.execute(
                """
                WITH gen AS MATERIALIZED (
                    SELECT m.k * %(t)s + i.n + 1 AS id,
                           first_day + ((i.n * (((first_day + interval '1 month')::date - first_day))) / %(t)s)
                               AS booking_date,
                           (%(cycle)s::int[])[(i.n %% %(c)s) + 1] AS template,
                           m.k * %(t)s + i.n + 1 AS seed
                      FROM (SELECT k, (%(oldest)s::date + make_interval(months => k))::date AS first_day
                              FROM generate_series(%(k0)s, %(k1)s) AS k) AS m,
                           generate_series(0, %(t)s - 1) AS i(n)
                ), amounts AS MATERIALIZED (
                    SELECT gen.*, tpl.name,
                           tpl.low + ((gen.seed * 2654435761) %% 1000003) %% (tpl.high - tpl.low + 1) AS base
                      FROM gen JOIN bench_template tpl USING (template)
                ), transactions AS (
                    INSERT INTO ledger_transaction
                        (id, booking_date, description, source_reference, idempotency_key, created_at)
                    SELECT id, booking_date, name, 'bench:' || template || ':' || id, 'bench:' || id, now()
                      FROM amounts
                )
                INSERT INTO ledger_posting
                    (transaction_id, account_id, cost_centre_id, amount, original_currency, booking_date)
                SELECT a.id, l.account_id, l.cost_centre_id,
                       (l.base_factor * a.base + l.vat_factor * ((a.base * 19 + 50) / 100))::numeric / 100,
                       '', a.booking_date
                  FROM amounts a JOIN bench_line l USING (template)
                 ORDER BY a.id, l.line
                """,
                {
                    "t": transactions,
                    "c": len(cycle),
                    "cycle": cycle,
                    "oldest": oldest,
                    "k0": first_index,
                    "k1": last_index,
                },
            )
            say(f"  months {first_index + 1}-{last_index + 1} of {months}: {cursor.rowcount} postings")
        cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_transaction', 'id'), "
            "(SELECT max(id) FROM ledger_transaction))"
        )
        timings["insert_s"] = time.monotonic() - started

        started = time.monotonic()
        for name, definition in indexes:
            cursor.execute(definition)
            say(f"  recreated {name}")
        timings["indexes_s"] = time.monotonic() - started

        started = time.monotonic()
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT t.id, count(p.id) AS lines, coalesce(sum(p.amount), 0) AS total,
                       count(*) FILTER (WHERE p.booking_date <> t.booking_date) AS other_dates
                  FROM ledger_transaction t LEFT JOIN ledger_posting p ON p.transaction_id = t.id
                 GROUP BY t.id
            ) AS checked WHERE lines < 2 OR total <> 0 OR other_dates > 0
            """
        )
        broken = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM ledger_posting p"
            " WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = p.account_id)"
            " OR NOT EXISTS (SELECT 1 FROM ledger_costcentre c WHERE c.id = p.cost_centre_id)"
        )
        broken += cursor.fetchone()[0]
        if broken:
            raise AssertionError(f"{broken} transactions or postings break the ledger's rules")
        timings["check_s"] = time.monotonic() - started
        say("  every transaction has two or more postings summing to zero, dated like it")
    return timings


def ledger_close(*, report_month: datetime.date, months: int) -> float:
    """Close every month before ``report_month``: SQL for all but the last two, which the service closes;
    their stored balances must equal the SQL figures."""
    from django.db import connection, transaction

    from ledger.services import ledger_month_close

    started = time.monotonic()
    oldest = months_back(report_month, months - 1)
    last_closed = months_back(report_month, 1)
    by_service = [months_back(report_month, 2), last_closed]
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(
            """
            CREATE TEMP TABLE bench_closing AS
            WITH movements AS (
                SELECT account_id, cost_centre_id, date_trunc('month', booking_date)::date AS month,
                       sum(amount) AS total
                  FROM ledger_posting WHERE booking_date <= %(last_day)s GROUP BY 1, 2, 3
            ), firsts AS (
                SELECT account_id, cost_centre_id, min(month) AS first FROM movements GROUP BY 1, 2
            ), months AS (
                SELECT generate_series(%(oldest)s::date, %(last_closed)s::date, interval '1 month')::date AS month
            )
            SELECT f.account_id, f.cost_centre_id, m.month,
                   sum(coalesce(mv.total, 0)) OVER (
                       PARTITION BY f.account_id, f.cost_centre_id ORDER BY m.month) AS balance
              FROM firsts f JOIN months m ON m.month >= f.first
              LEFT JOIN movements mv USING (account_id, cost_centre_id, month)
            """,
            {
                "oldest": oldest,
                "last_closed": last_closed,
                "last_day": report_month - datetime.timedelta(days=1),
            },
        )
        with transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_closingbalance (account_id, cost_centre_id, month, balance)"
                " SELECT account_id, cost_centre_id, month, balance FROM bench_closing WHERE month < %s"
                " ORDER BY month, account_id, cost_centre_id",  # a month's rows together, as the service stores them
                [by_service[0]],
            )
            cursor.execute(
                "INSERT INTO ledger_closedmonth (month, closed_at)"
                " SELECT DISTINCT month, now() FROM bench_closing WHERE month < %s",
                [by_service[0]],
            )
    for month in by_service:
        ledger_month_close(month=month)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (SELECT * FROM bench_closing WHERE month = ANY(%(months)s)) AS b
            FULL JOIN (SELECT * FROM ledger_closingbalance WHERE month = ANY(%(months)s)) AS c
                   USING (account_id, cost_centre_id, month)
             WHERE b.balance IS DISTINCT FROM c.balance
            """,
            {"months": by_service},
        )
        differences = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM ledger_closingbalance WHERE month = ANY(%s)", [by_service])
        compared = cursor.fetchone()[0]
    if differences or not compared:
        raise AssertionError(
            f"ledger_month_close disagrees with the SQL closing balances in {differences} rows"
        )
    say(
        f"  ledger_month_close({by_service[0]:%Y-%m}, {by_service[1]:%Y-%m}) = the SQL balances ({compared} rows)"
    )
    return time.monotonic() - started


def timed(function, runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls; this process's CPU milliseconds appended to ``cpu``."""
    samples = []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        samples.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return samples


def query_work(queries: list[dict]) -> dict:
    """Re-run every captured query under EXPLAIN (ANALYZE, BUFFERS): the buffers (8 kB pages) it touched
    and its time in the server, a measure of the report's work that the machine's load does not blur;
    and the plan of the heaviest query on the postings."""
    from django.db import connection

    buffers, server_ms, heaviest = 0, 0.0, None
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query["sql"])
            document = cursor.fetchone()[0]
            document = json.loads(document) if isinstance(document, str) else document
            plan = document[0]["Plan"]
            touched = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
            buffers += touched
            server_ms += document[0]["Execution Time"]
            if "ledger_posting" in query["sql"] and (heaviest is None or touched > heaviest[1]):
                heaviest = (query["sql"], touched)
        text_plan = []
        if heaviest is not None:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + heaviest[0])
            text_plan = [row[0] for row in cursor.fetchall()]
    return {
        "buffers": buffers,
        "server_ms": server_ms,
        "heaviest_sql": heaviest[0] if heaviest else "",
        "heaviest_plan": text_plan,
    }


def json_rendering(report_month: datetime.date, runs: int) -> dict:
    """Publish the month inside a transaction that is rolled back, and time /reports/YYYY/MM.json."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reports.figures import month_report_data
    from reports.services import report_draft, report_publish

    result = {}
    path = f"/reports/{report_month:%Y}/{report_month:%m}.json"
    with transaction.atomic():
        user = get_user_model().objects.create_superuser(
            username="bench-finance", email="bench-finance@example.org", password=None
        )
        report_publish(report=report_draft(month=report_month, by=user), by=user)
        client = Client(HTTP_HOST="localhost")
        cache.clear()
        started = time.perf_counter()
        response = client.get(path)
        result["status"] = response.status_code
        if response.status_code == 200:
            result["cold_ms"] = (time.perf_counter() - started) * 1000

            def uncached():
                cache.clear()
                assert client.get(path).status_code == 200

            result["samples_ms"] = timed(uncached, runs)
            cache.clear()
            with CaptureQueriesContext(connection) as captured:
                client.get(path)
            result["queries"] = len(captured)
            result["period"] = json.loads(response.content).get("period")
        # The report once published: the month is closed, its figures come from stored balances.
        result["published_samples_ms"] = timed(lambda: month_report_data(report_month), runs)
        with CaptureQueriesContext(connection) as captured:
            month_report_data(report_month)
        result["published_queries"] = len(captured)
        transaction.set_rollback(True)
    return result


def build_one_size(args) -> dict:
    """Build (or reuse) the database of one size. Runs in a child process."""
    deadline = time.monotonic() + args.seconds_left
    report_month = datetime.date.fromisoformat(args.report_month)
    url, name = database_url_for(args.database_url, args.one_size)
    transactions, month_postings = month_plan(args.month_size)
    months = max(13, -(-args.one_size // month_postings))
    parameters = {
        "postings": args.one_size,
        "month_size": args.month_size,
        "report_month": f"{report_month:%Y-%m}",
        "generator": GENERATOR_VERSION,
    }
    result = {"database": name, "url": url, "reused": False}
    state = database_state(url, name)
    if state and state.get("complete") and state.get("parameters") == parameters:
        result["reused"] = True
        say(f"{name}: reusing the ledger already built ({months} months)")
        return result
    if state == {}:
        sys.exit(f"refused: database {name} exists but was not made by this script")
    database_drop(url, name)
    database_create(url, name, parameters)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    result["migrate_s"] = time.monotonic() - started
    say(
        f"{name}: migrated in {result['migrate_s']:.0f} s; filling {months} months of {month_postings} postings"
    )
    started = time.monotonic()
    result.update(
        ledger_fill(report_month=report_month, months=months, transactions=transactions, deadline=deadline)
    )
    result["close_s"] = ledger_close(report_month=report_month, months=months)
    analyse_started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) ledger_posting, ledger_transaction, ledger_closingbalance, ledger_closedmonth"
        )
        cursor.execute(f"UPDATE {MARKER_TABLE} SET complete = true")
    result["vacuum_analyze_s"] = time.monotonic() - analyse_started
    result["generation_s"] = time.monotonic() - started
    say(f"{name}: ledger built in {result['generation_s']:.0f} s")
    return result


def measure(args) -> list[dict]:
    """Measure the report in every database given, the timings interleaved so that the machine's load
    falls on all sizes alike. Runs in a child process."""
    report_month = datetime.date.fromisoformat(args.report_month)
    names = args.measure
    django_setup(urlunsplit(urlsplit(args.database_url)._replace(path=f"/{names[0]}")))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ledger.models import ClosedMonth, Posting
    from reports.figures import month_report_data

    def use(name: str) -> None:
        connection.close()  # the next query opens a new session on ``name``
        connection.settings_dict["NAME"] = name

    results = []
    for name in names:
        use(name)
        result = {"database": name}
        result["postings"] = Posting.objects.count()
        result["months"] = Posting.objects.dates("booking_date", "month").count()
        result["postings_in_report_month"] = Posting.objects.in_month(report_month).count()
        result["closed_months"] = ClosedMonth.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            result["database_size"] = cursor.fetchone()[0]
        use(name)  # a new session: its caches and plans are cold (the server's shared buffers may not be)
        connection.ensure_connection()
        started = time.perf_counter()
        data = month_report_data(report_month)
        result["report_cold_ms"] = (time.perf_counter() - started) * 1000
        with CaptureQueriesContext(connection) as captured:
            month_report_data(report_month)
        result["queries"] = len(captured)
        result["posting_queries"] = sum(
            "ledger_posting" in query["sql"] for query in captured.captured_queries
        )
        result.update(query_work(captured.captured_queries))
        result["income_total"] = f"{data.figures.income_total}"
        result["cash_end"] = f"{data.figures.cash_end}"
        try:
            result["json"] = json_rendering(report_month, args.runs)
        except Exception as error:  # the JSON view is another part of issue 7: report it, do not fail
            result["json"] = {"error": f"{type(error).__name__}: {error}"}
        result["samples_ms"], result["cpu_samples_ms"] = [], []
        results.append(result)
    for _ in range(args.runs):
        for result in results:
            use(result["database"])
            month_report_data(report_month)  # the session's first call is the cold one, measured above
            result["samples_ms"] += timed(
                lambda: month_report_data(report_month), 3, result["cpu_samples_ms"]
            )
    connection.close()
    return results


# --- the parent: a child per size to build, one to measure, then the table -------------------------------


def ms(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def median(samples) -> float | None:
    return statistics.median(samples) if samples else None


def print_table(results: list[dict]) -> None:
    header = (
        "postings", "months", "in month", "cold ms", "median ms", "min ms", "Python CPU ms", "queries",
        "buffers", "server ms", "published ms", "JSON ms", "generation s",
    )  # fmt: skip
    rows = []
    for result in results:
        rendering = result.get("json", {})
        rows.append(
            (
                f"{result['postings']:,}",
                str(result["months"]),
                f"{result['postings_in_report_month']:,}",
                ms(result["report_cold_ms"]),
                ms(median(result["samples_ms"])),
                ms(min(result["samples_ms"])),
                ms(median(result["cpu_samples_ms"])),
                str(result["queries"]),
                str(result["buffers"]),
                f"{result['server_ms']:.1f}",
                ms(median(rendering.get("published_samples_ms"))),
                ms(median(rendering.get("samples_ms"))) if rendering.get("status") == 200 else "n/a",
                "reused" if result["reused"] else f"{result['generation_s']:.0f}",
            )
        )
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    print(" | ".join(title.rjust(width) for title, width in zip(header, widths, strict=True)))
    print("-+-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        "\ncold: the first call in a new database session; median/min: of the interleaved warm runs;"
        " Python CPU ms: this process's CPU time per call (median); buffers: 8 kB pages the report's queries touched (EXPLAIN BUFFERS, hit + read); server ms: their"
        " execution time in PostgreSQL; published: the report once its month is closed; JSON: GET"
        " /reports/YYYY/MM.json of the published month, cache cleared before each request."
    )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = median(large["samples_ms"]) / median(small["samples_ms"])
        ratio_min = min(large["samples_ms"]) / min(small["samples_ms"])
        ratio_cold = large["report_cold_ms"] / small["report_cold_ms"]
        print(
            f"\nratio {large['postings']:,} / {small['postings']:,} postings "
            f"(postings x{large['postings'] / small['postings']:.1f}): median {ratio:.2f}, min {ratio_min:.2f}, "
            f"cold {ratio_cold:.2f}, buffers {large['buffers'] / max(1, small['buffers']):.2f}, "
            f"queries {small['queries']} vs {large['queries']}"
        )
        slowest = max(median(result["samples_ms"]) for result in results)
        met = abs(ratio - 1) <= 0.20 and slowest < 1000
        print(f"target (each under 1 s, within 20 % of each other): {'met' if met else 'NOT met'}")
    for result in results:
        rendering = result.get("json", {})
        print(f"\n{result['database']} ({result['database_size']}), heaviest query on the postings:")
        print(f"  {result['heaviest_sql']}")
        print("  " + "\n  ".join(result["heaviest_plan"]))
        if rendering.get("status") != 200:
            print(
                f"  JSON rendering skipped: {rendering.get('error') or 'HTTP ' + str(rendering.get('status'))}"
            )
        else:
            print(
                f"  JSON {rendering['period']}: cold {ms(rendering['cold_ms'])} ms, uncached median "
                f"{ms(median(rendering['samples_ms']))} ms, {rendering['queries']} queries; published "
                f"report: {rendering['published_queries']} queries"
            )


def child(command: list[str], seconds: float) -> dict | list | None:
    try:
        done = subprocess.run(
            [sys.executable, __file__, *command],
            stdout=subprocess.PIPE,
            text=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        say("stopped: the time (--max-minutes) is up")
        return None
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode or not lines:
        say(f"failed (exit {done.returncode})")
        return None
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def main() -> None:
    today = datetime.date.today()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/patronage_bench_reports"
    )
    parser.add_argument("--postings", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--month-size", type=int, default=40_000, help="postings in every month")
    parser.add_argument("--report-month", default=f"{months_back(today.replace(day=1), 1):%Y-%m}-01")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the databases for the next run")
    parser.add_argument("--max-minutes", type=float, default=25)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--seconds-left", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one_size:
        print(RESULT_PREFIX + json.dumps(build_one_size(args)), flush=True)
        return
    if args.measure:
        print(RESULT_PREFIX + json.dumps(measure(args)), flush=True)
        return

    deadline = time.monotonic() + args.max_minutes * 60
    common = [
        "--database-url", args.database_url, "--month-size", str(args.month_size),
        "--report-month", args.report_month, "--runs", str(args.runs),
    ]  # fmt: skip
    built, used = [], []
    try:
        for postings in sorted(args.postings):
            url, name = database_url_for(args.database_url, postings)
            left = deadline - time.monotonic()
            if left < 120:
                say(f"skipping {postings:,} postings: the time (--max-minutes) is up")
                break
            used.append((url, name))
            result = child(["--one-size", str(postings), "--seconds-left", str(left), *common], left)
            if result is None:
                break
            built.append(result)
        results = []
        if built:
            measured = child(
                ["--measure", *(b["database"] for b in built), *common], deadline - time.monotonic()
            )
            for building, measurement in zip(built, measured or [], strict=False):
                results.append({**building, **measurement})
    finally:
        if not args.keep:
            for url, name in used:
                database_drop(url, name)
    if results:
        print_table(results)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
