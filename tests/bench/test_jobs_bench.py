"""bench/jobs_bench.py: its rows and table, its checks of a receipt run, the donors it inserts (what the annual
run needs) and its PDF timing on the test database. No worker, no big run, no assertions on speed."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from bench import jobs_bench
from fundraising.models import DonationReceipt, Kind, Patron, Payment, Refund
from fundraising.receipts import receipt_batch_run

ROW_KEYS = {"name", "value", "unit", "target", "met", "note"}


# --- Rows and the table ---------------------------------------------------------------------------------


def test_a_row_has_the_keys_the_orchestrator_reads_and_a_float_value():
    made = jobs_bench.row("PDF receipt: median", 1, "s", target="< 0.5 s", met=False, note="10 renders")

    assert set(made) == ROW_KEYS
    assert made["value"] == 1.0 and isinstance(made["value"], float)
    assert jobs_bench.row("nothing measured", None, "s")["value"] is None


def test_under_is_none_when_nothing_was_measured():
    assert jobs_bench.under(0.49, 0.5) is True
    assert jobs_bench.under(0.5, 0.5) is False
    assert jobs_bench.under(None, 0.5) is None


def test_the_table_shows_each_row_with_value_target_verdict_and_note():
    rows = [
        jobs_bench.row("PDF receipt: median", 0.1234, "s", target="< 0.5 s", met=True, note="10 renders"),
        jobs_bench.row("Receipt run: click to done", 754.2, "s", target="< 600 s", met=False),
        jobs_bench.row("Celery worker peak RSS, child 1", 212.4, "MB"),
        jobs_bench.row("Receipt run: receipts checked", 10000, "receipts", target="10,000", met=True),
        jobs_bench.row("not run", None, "s"),
    ]

    lines = jobs_bench.table(rows).splitlines()

    assert lines[0].split() == ["benchmark", "value", "target", "met", "note"]
    assert len(lines) == 2 + len(rows)
    assert (
        "0.123 s" in lines[2]
        and "< 0.5 s" in lines[2]
        and "yes" in lines[2]
        and lines[2].endswith("10 renders")
    )
    assert "754.2 s" in lines[3] and "NO" in lines[3]
    assert "212 MB" in lines[4]
    assert "10,000 receipts" in lines[5]
    assert "n/a" in lines[6]


def test_pdf_rows_hold_the_median_against_the_target_and_report_max_and_cold():
    timing = {"cold_s": 2.5, "samples_s": [0.2, 0.3, 0.9], "bytes": 40 * 1024, "what": "ZB-2026-00001"}

    median, worst, cold = jobs_bench.pdf_rows("receipt", timing)

    assert (median["value"], median["target"], median["met"]) == (0.3, "< 0.5 s", True)
    assert "3 renders" in median["note"] and "40 kB" in median["note"] and "ZB-2026-00001" in median["note"]
    assert (worst["value"], worst["met"]) == (0.9, None)
    assert (cold["value"], cold["met"]) == (2.5, None)
    assert jobs_bench.pdf_rows("report", {**timing, "samples_s": [2.1, 2.2]})[0]["met"] is False


def test_pdf_rows_of_a_missing_document_say_so_without_a_verdict():
    (only,) = jobs_bench.pdf_rows("invoice", None)

    assert only["value"] is None and only["met"] is None
    assert "no such document" in only["note"]


def batch_result(**changes) -> dict:
    result = {
        "donors": 10_000,
        "payments": 78_000,
        "status": "done",
        "done_s": 540.0,
        "task_s": 538.0,
        "donors_per_s": 18.6,
        "pdf_at_done": 4000,
        "pdf_end": 5000,
        "drain_s": 120.0,
        "pdf_rate": 8.3,
        "all_pdfs_s": 1262.0,
        "all_pdfs_projected": True,
        "peak_rss_mb": {"main process": 150.0, "child 1": 210.0, "child 2": 320.0},
        "verification": {"ok": True, "receipts": 10_000, "summary": "10,000 receipts", "problems": []},
    }
    return {**result, **changes}


def test_batch_rows_judge_the_full_run_against_ten_minutes():
    rows = jobs_bench.batch_rows(batch_result(), target_applies=True)
    by_name = {item["name"]: item for item in rows}

    timed = by_name["Receipt run, 10,000 donors: click to done"]
    assert (timed["value"], timed["target"], timed["met"]) == (540.0, "< 600 s", True)
    assert by_name["Receipt run, 10,000 donors: receipts checked"]["met"] is True
    assert by_name["Receipt run, 10,000 donors: receipt PDFs stored per second"]["value"] == 8.3
    assert "(projected)" in by_name["Receipt run, 10,000 donors: receipt PDFs stored per second"]["note"]
    assert by_name["Celery worker peak RSS, main process"]["value"] == 150.0
    largest = by_name["Celery worker peak RSS, largest child process"]
    assert largest["value"] == 320.0
    assert "2 child processes over the run (MB each: 210, 320)" in largest["note"]
    assert all(set(item) == ROW_KEYS for item in rows)


def test_batch_rows_of_a_run_that_did_not_finish_miss_the_target():
    rows = jobs_bench.batch_rows(
        batch_result(status="failed", message="The run stopped"), target_applies=True
    )

    assert rows[0]["value"] is None and rows[0]["met"] is False
    assert "failed" in rows[0]["note"]


def test_batch_rows_of_the_probe_carry_no_verdict():
    rows = jobs_bench.batch_rows(batch_result(donors=1_000, done_s=61.0), target_applies=False)

    assert rows[0]["name"] == "Receipt run, 1,000 donors: click to done"
    assert (rows[0]["target"], rows[0]["met"]) == ("", None)


def test_extrapolation_is_linear_in_the_donors():
    assert jobs_bench.extrapolated(61.0, 1_000, 10_000) == 610.0
    assert jobs_bench.extrapolated(None, 1_000, 10_000) is None


# --- Checks of a run --------------------------------------------------------------------------------------


def test_numbers_that_continue_the_series_pass():
    numbers = [f"ZB-2026-{n:05d}" for n in (3, 1, 2)]

    assert jobs_bench.receipt_numbers_check(numbers, sequence_before=0, sequence_after=3) == []


def test_numbers_after_earlier_receipts_continue_from_them():
    numbers = [f"ZB-2026-{n:05d}" for n in range(1001, 1004)]

    assert jobs_bench.receipt_numbers_check(numbers, sequence_before=1000, sequence_after=1003) == []


@pytest.mark.parametrize(
    ("counters", "sequence_after", "problem"),
    [
        ((1, 2, 4), 4, "missing"),
        ((1, 2, 2), 3, "used twice"),
        ((1, 2, 3), 4, "the series ends at 4"),
    ],
)
def test_gaps_twins_and_a_series_running_ahead_are_named(counters, sequence_after, problem):
    numbers = [f"ZB-2026-{n:05d}" for n in counters]

    problems = jobs_bench.receipt_numbers_check(numbers, sequence_before=0, sequence_after=sequence_after)

    assert any(problem in text for text in problems)


def test_numbers_of_another_form_or_of_two_years_are_named():
    assert jobs_bench.receipt_numbers_check(["ZB-2026-00001", "X-1"], sequence_before=0, sequence_after=2)
    problems = jobs_bench.receipt_numbers_check(
        ["ZB-2025-00001", "ZB-2026-00002"], sequence_before=0, sequence_after=2
    )
    assert any("several years" in text for text in problems)


def test_emails_are_counted_by_their_separator_also_when_two_share_a_file(tmp_path):
    separator = "-" * 79
    (tmp_path / "one.log").write_text(f"Subject: a\n\nHallo\n{separator}\nSubject: b\n\nHi\n{separator}\n")
    (tmp_path / "two.log").write_text(f"Subject: c\n\n----\n{separator}\n")

    assert jobs_bench.emails_count(tmp_path) == 3


def test_database_and_redis_names_of_others_are_refused():
    for url in (
        "postgres://postgres@127.0.0.1:5432/patronage",
        "postgres://postgres@127.0.0.1:5432/patronage_ci",
        "postgres://postgres@127.0.0.1:5432/other",
    ):
        with pytest.raises(SystemExit):
            jobs_bench.database_name(url)
    assert jobs_bench.database_name("postgres://postgres@127.0.0.1:5432/patronage_bench_jobs") == (
        "patronage_bench_jobs"
    )
    for url in ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379"):
        with pytest.raises(SystemExit):
            jobs_bench.redis_client(url)


def test_task_durations_are_read_from_the_workers_log():
    log = (
        "[2026-12-06 10:56:05,687: INFO/ForkPoolWorker-1] Task fundraising.tasks.receipt_pdf_render[fd96-40bb] "
        "succeeded in 2.629058313999849s: None\n"
        "[2026-12-06 10:56:06,941: INFO/ForkPoolWorker-1] Task fundraising.tasks.receipt_batch_run[64d5] "
        "succeeded in 113.6s: None\n"
        "[2026-12-06 10:56:07,689: INFO/ForkPoolWorker-2] Task fundraising.tasks.receipt_pdf_render[8fd8] "
        "succeeded in 0.72s: None\n"
    )

    assert jobs_bench.task_durations(log, "receipt_pdf_render") == [2.629058313999849, 0.72]
    assert jobs_bench.task_durations(log, "receipt_batch_run") == [113.6]
    assert "1.67 s median, 2.63 s max (2 in the worker's log)" in jobs_bench.pdf_task_text([2.629, 0.72])


# --- The Django side, on the test database ----------------------------------------------------------------


@pytest.mark.django_db
def test_inserted_donors_are_what_the_annual_run_receipts(organisation):
    """Ten donors (one with a refunded payment): the run gives each one receipt over the paid donations,
    and the receipts add up to the total the insert computed."""
    year = timezone.localdate().year - 1

    inserted = jobs_bench.donors_insert(count=10, year=year)
    batch = receipt_batch_run(year=year)

    payments = Payment.objects.filter(patron__stripe_customer_id__startswith=f"cus_bench_{year}_")
    assert inserted["donors"] == 10 and inserted["payments"] == payments.count()
    assert set(payments.values_list("kind", flat=True)) == {Kind.DONATION}
    assert {paid.year for paid in payments.values_list("paid_at", flat=True)} == {year}
    assert payments.filter(status=Payment.Status.REFUNDED).count() == inserted["refunded"] == 1
    assert Refund.objects.filter(payment__in=payments).count() == 1
    assert all(
        patron.has_postal_address
        for patron in Patron.objects.filter(stripe_customer_id__startswith="cus_bench_")
    )
    assert (batch.status, batch.total, batch.done, batch.skipped) == ("done", 10, 10, 0)
    receipts = DonationReceipt.objects.filter(
        kind=DonationReceipt.Kind.ANNUAL, period_start=datetime.date(year, 1, 1)
    )
    assert receipts.values("patron").distinct().count() == 10
    paid = payments.filter(status=Payment.Status.PAID)
    assert paid.filter(receipt__isnull=True).count() == 0
    assert payments.filter(status=Payment.Status.REFUNDED, receipt__isnull=False).count() == 0
    assert sum(receipts.values_list("total", flat=True), Decimal("0")) == Decimal(inserted["receipt_total"])
    assert sum(paid.values_list("amount_eur", flat=True), Decimal("0")) == Decimal(inserted["receipt_total"])


@pytest.mark.django_db
def test_the_pdf_timing_renders_a_receipt_an_invoice_and_a_report(organisation, settings, tmp_path):
    """A smoke test: each document is found (or made), rendered once cold and once timed, and is a PDF."""
    from reports.services import report_draft
    from sponsors import services as sponsor_services
    from tests.factories.sponsors import PackageFactory, SponsorFactory

    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    sponsorship = sponsor_services.sponsorship_draft(
        sponsor=SponsorFactory(),
        package=PackageFactory(),
        start_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    sponsor_services.application_submit(sponsorship=sponsorship)
    sponsor_services.sponsorship_approve(sponsorship=sponsorship, by=None, issue_invoice=True)
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    report_draft(month=last_month)

    for document in ("receipt", "invoice", "report"):
        render, what = jobs_bench.pdf_render_function(document)
        assert render()[:5] == b"%PDF-"
        timing = jobs_bench.pdf_measure(document, runs=1)
        assert len(timing["samples_s"]) == 1 and timing["cold_s"] > 0 and timing["bytes"] > 1000
        assert timing["what"] == what
        (median, *_rest) = jobs_bench.pdf_rows(document, timing)
        assert median["value"] == timing["samples_s"][0]
    assert jobs_bench.pdf_render_function("annual_receipt") is None  # no annual receipt in this database
    assert DonationReceipt.objects.filter(kind=DonationReceipt.Kind.SINGLE).count() == 1  # made once


@pytest.mark.django_db
def test_the_profile_of_a_small_run_says_where_a_donors_time_goes(organisation, monkeypatch, tmp_path):
    monkeypatch.setattr(jobs_bench, "PROFILE_FILE", tmp_path / "profile.txt")

    found = jobs_bench.receipt_run_profiled(count=3, year=timezone.localdate().year - 2)

    assert found["donors"] == 3 and found["queries_per_donor"] > 1
    assert {"refunds summed per payment", "waiting for PostgreSQL (all of it)"} <= set(found["parts_ms"])
    assert "queries a donor" in (tmp_path / "profile.txt").read_text()
    profiled = jobs_bench.profile_row(found)
    assert set(profiled) == ROW_KEYS and profiled["unit"] == "ms/donor"
    assert str(tmp_path / "profile.txt") in profiled["note"]
