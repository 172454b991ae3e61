"""A month's report costs the same whatever the size of the ledger (issue 7, last "Done when" point).

The same last 13 months are booked once after 2 years of history and once after 6 years. The report of
the last month must make the same number of queries both times, every query on the postings must be
bounded by booking date to the report's month and the 12 months before it (the comparison months and
the chart's history), and the figures must equal sums computed here from the postings this test made.
The timing at 1 and 10 million postings is ``bench/report_scale.py``'s job; this test guards the shape.
"""

from __future__ import annotations

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db import transaction as db_transaction
from django.test.utils import CaptureQueriesContext

from ledger.models import Account, CostCentre, Posting, Transaction
from ledger.services import ledger_month_close
from reports.figures import month_report_data

pytestmark = pytest.mark.django_db

REPORT_MONTH = datetime.date(2025, 6, 1)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Where each account's money shows in the public report, written out here rather than read from the code.
INCOME_OF = {
    "income-patrons-perks": "patrons",
    "income-patrons-no-perks": "patrons",
    "income-donations": "donations",
    "income-sponsorship-vat": "sponsorships",
    "income-grants": "grants",
    "income-services": "services",
    "income-interest": "other",
}
SPENDING_OF = {
    "expense-salaries": "personnel",
    "expense-social-costs": "personnel",
    "expense-freelancers": "freelancers",
    "expense-hosting": "hosting",
    "expense-payment-fees": "payment_fees",
    "expense-other": "other",
}
INCOME_KEYS = ("patrons", "donations", "sponsorships", "grants", "services", "other")
SPENDING_KEYS = ("personnel", "freelancers", "hosting", "payment_fees", "other")
CASH_ACCOUNTS = {"bank", "stripe"}


def months_ending(last: datetime.date, count: int) -> list[datetime.date]:
    months = [last]
    while len(months) < count:
        previous = months[0] - datetime.timedelta(days=1)
        months.insert(0, previous.replace(day=1))
    return months


def month_last_day(first: datetime.date) -> datetime.date:
    return (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def amount(rng: random.Random, low: int, high: int) -> Decimal:
    return (Decimal(rng.randint(low * 100, high * 100)) / 100).quantize(CENT)


def with_vat(gross: Decimal) -> tuple[Decimal, Decimal]:
    net = (gross / Decimal("1.19")).quantize(CENT)
    return net, gross - net


def month_transactions(first: datetime.date) -> list[tuple[datetime.date, list[tuple[str, Decimal]]]]:
    """About 170 balanced transactions (some 400 postings) of an ordinary month, the same for a given month."""
    rng = random.Random(first.year * 100 + first.month)
    last_day = month_last_day(first).day
    booked = []

    def book(*lines):
        assert sum((value for _, value in lines), ZERO) == 0
        booked.append((first.replace(day=rng.randint(1, last_day)), list(lines)))

    for _ in range(60):  # patrons with perks (19 % VAT), paid through Stripe, with Stripe's fee
        gross = amount(rng, 5, 60)
        net, vat = with_vat(gross)
        book(("stripe", gross), ("income-patrons-perks", -net), ("vat-payable-19", -vat))
        fee = amount(rng, 0, 2) + Decimal("0.25")
        book(("expense-payment-fees", fee), ("stripe", -fee))
    for _ in range(3):  # refunds
        gross = amount(rng, 5, 30)
        net, vat = with_vat(gross)
        book(("income-patrons-perks", net), ("vat-payable-19", vat), ("stripe", -gross))
    for _ in range(15):
        given = amount(rng, 5, 100)
        book(("stripe", given), ("income-patrons-no-perks", -given))
    for _ in range(12):
        given = amount(rng, 10, 500)
        book(("bank", given), ("income-donations", -given))
    gross = amount(rng, 500, 3000)  # a sponsorship invoiced and collected
    net, vat = with_vat(gross)
    book(("receivables", gross), ("income-sponsorship-vat", -net), ("vat-payable-19", -vat))
    book(("bank", gross), ("receivables", -gross))
    if first.month in (1, 4, 7, 10):
        grant = amount(rng, 10000, 30000)
        book(("bank", grant), ("income-grants", -grant))
    gross = amount(rng, 100, 900)
    net, vat = with_vat(gross)
    book(("bank", gross), ("income-services", -net), ("vat-payable-19", -vat))
    interest = amount(rng, 1, 20)
    book(("bank", interest), ("income-interest", -interest))
    salary, social = amount(rng, 8000, 9000), amount(rng, 1600, 1900)
    book(("expense-salaries", salary), ("expense-social-costs", social), ("bank", -(salary + social)))
    for _ in range(3):
        invoice = amount(rng, 500, 2500)
        book(("expense-freelancers", invoice), ("payables", -invoice))
        book(("payables", invoice), ("bank", -invoice))
    for _ in range(4):
        bill = amount(rng, 20, 400)
        book(("expense-hosting", bill), ("bank", -bill))
    for _ in range(3):
        cost = amount(rng, 5, 200)
        book(("expense-other", cost), ("bank", -cost))
    payout = amount(rng, 500, 1500)
    book(("bank", payout), ("stripe", -payout))
    vat_paid = amount(rng, 100, 400)
    book(("vat-payable-19", vat_paid), ("bank", -vat_paid))
    return booked


def ledger_build(months: list[datetime.date]) -> dict[datetime.date, dict]:
    """Book the months in bulk (balanced transactions, postings dated like their transaction) and
    return what the report must show for each month, summed here from the postings booked."""
    accounts = dict(Account.objects.values_list("code", "pk"))
    core = CostCentre.objects.get(code="CORE").pk
    expected: dict[datetime.date, dict] = {}
    cash = ZERO
    for first in months:
        booked = month_transactions(first)
        transactions = Transaction.objects.bulk_create(
            [
                Transaction(
                    booking_date=day,
                    description=f"Booking {number} of {first:%Y-%m}",
                    idempotency_key=f"cost-test:{first:%Y-%m}:{number}",
                )
                for number, (day, _) in enumerate(booked)
            ]
        )
        Posting.objects.bulk_create(
            [
                Posting(
                    transaction_id=txn.pk,
                    account_id=accounts[code],
                    cost_centre_id=core,
                    amount=value,
                    booking_date=day,
                )
                for txn, (day, lines) in zip(transactions, booked, strict=True)
                for code, value in lines
            ]
        )
        income = dict.fromkeys(INCOME_KEYS, ZERO)
        spending = dict.fromkeys(SPENDING_KEYS, ZERO)
        for _, lines in booked:
            for code, value in lines:
                if code in INCOME_OF:
                    income[INCOME_OF[code]] -= value  # income is a credit: shown positive
                elif code in SPENDING_OF:
                    spending[SPENDING_OF[code]] += value
                elif code in CASH_ACCOUNTS:
                    cash += value
        expected[first] = {"income": income, "spending": spending, "cash_end": cash}
    return expected


DATE_BOUND = re.compile(
    r"""["`]?ledger_posting["`]?\.["`]?booking_date["`]?\s*(>=|<=|<|>|=)\s*'(\d{4}-\d{2}-\d{2})'"""
)
DATE_BETWEEN = re.compile(
    r"""["`]?ledger_posting["`]?\.["`]?booking_date["`]?\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'(?:::date)?"""
    r"""\s+AND\s+'(\d{4}-\d{2}-\d{2})'""",
    re.IGNORECASE,
)


def posting_query_window(sql: str) -> tuple[datetime.date | None, datetime.date | None]:
    """The earliest and latest booking date a query on the postings can read (None: unbounded)."""
    lowers, uppers = [], []
    for operator, text in DATE_BOUND.findall(sql):
        day = datetime.date.fromisoformat(text)
        if operator in (">=", "="):
            lowers.append(day)
        if operator == ">":
            lowers.append(day + datetime.timedelta(days=1))
        if operator in ("<=", "="):
            uppers.append(day)
        if operator == "<":
            uppers.append(day - datetime.timedelta(days=1))
    for low, high in DATE_BETWEEN.findall(sql):
        lowers.append(datetime.date.fromisoformat(low))
        uppers.append(datetime.date.fromisoformat(high))
    return (max(lowers) if lowers else None, min(uppers) if uppers else None)


def report_queries(month: datetime.date):
    month_report_data(month)  # once before counting: nothing the first call sets up skews the count
    with CaptureQueriesContext(connection) as captured:
        data = month_report_data(month)
    return data, [query["sql"] for query in captured.captured_queries]


def measure(history_months: int) -> dict:
    """Book ``history_months`` months ending with REPORT_MONTH and read its report twice: as a draft
    (every earlier month closed) and once published (the month closed too)."""
    months = months_ending(REPORT_MONTH, history_months)
    expected = ledger_build(months)
    for first in months[:-1]:
        ledger_month_close(month=first)
    draft, draft_sql = report_queries(REPORT_MONTH)
    ledger_month_close(month=REPORT_MONTH)
    published, published_sql = report_queries(REPORT_MONTH)
    return {
        "postings": Posting.objects.count(),
        "expected": expected,
        "draft": (draft, draft_sql),
        "published": (published, published_sql),
    }


def measured_in_savepoint(history_months: int) -> dict:
    """``measure`` inside a transaction (or savepoint) rolled back afterwards: the next ledger starts empty."""
    with db_transaction.atomic():
        result = measure(history_months)
        db_transaction.set_rollback(True)
    return result


@pytest.fixture(scope="module")
def short_and_long_ledgers(django_db_setup, django_db_blocker):
    """Both ledgers, built once for this module's tests; nothing of them stays in the database."""
    with django_db_blocker.unblock():
        return measured_in_savepoint(24), measured_in_savepoint(72)


def test_report_makes_the_same_queries_after_2_and_6_years_of_history(short_and_long_ledgers):
    short, long = short_and_long_ledgers
    assert long["postings"] > 2.5 * short["postings"]  # the history really grew
    for state in ("draft", "published"):
        short_sql, long_sql = short[state][1], long[state][1]
        assert len(short_sql) == len(long_sql), state
        assert [_posting_query(sql) for sql in short_sql] == [_posting_query(sql) for sql in long_sql]


def _posting_query(sql: str) -> bool:
    return "ledger_posting" in sql


def test_every_read_of_the_postings_is_bounded_to_the_reports_13_months(short_and_long_ledgers):
    earliest = REPORT_MONTH.replace(year=REPORT_MONTH.year - 1)  # the same month a year before
    latest = month_last_day(REPORT_MONTH)
    for ledger in short_and_long_ledgers:
        for state in ("draft", "published"):
            for sql in ledger[state][1]:
                if "ledger_posting" not in sql:
                    continue
                low, high = posting_query_window(sql)
                assert low is not None and low >= earliest, f"{state}: no lower booking date bound: {sql}"
                assert high is not None and high <= latest, f"{state}: no upper booking date bound: {sql}"


def test_report_figures_equal_the_sums_of_the_postings(short_and_long_ledgers):
    for ledger in short_and_long_ledgers:
        expected = ledger["expected"]
        for state in ("draft", "published"):
            data = ledger[state][0]
            year_before = REPORT_MONTH.replace(year=REPORT_MONTH.year - 1)
            shown = [*data.history, data.previous, data.year_before, data.figures]
            assert [figures.month for figures in data.history] == months_ending(REPORT_MONTH, 12)
            assert data.previous.month == months_ending(REPORT_MONTH, 2)[0]
            assert data.year_before.month == year_before
            for figures in shown:
                want = expected[figures.month]
                assert figures.income == want["income"], (state, figures.month)
                assert figures.spending == want["spending"], (state, figures.month)
                assert figures.cash_end == want["cash_end"], (state, figures.month)
            want = expected[REPORT_MONTH]
            income_total = sum(want["income"].values(), ZERO)
            spending_total = sum(want["spending"].values(), ZERO)
            assert data.as_json(status=state)["result"] == f"{income_total - spending_total:.2f}"
            assert data.as_json(status=state)["patrons"]["active"] == 0  # no patronages in this ledger


def test_the_bound_check_sees_a_read_of_the_whole_history():
    unbounded = 'SELECT SUM("ledger_posting"."amount") FROM "ledger_posting" WHERE "ledger_posting"."booking_date" <= \'2025-06-30\''
    bounded = (
        'SELECT 1 FROM "ledger_posting" WHERE ("ledger_posting"."booking_date" >= \'2025-06-01\'::date'
        ' AND "ledger_posting"."booking_date" < \'2025-07-01\'::date)'
    )
    assert posting_query_window(unbounded) == (None, datetime.date(2025, 6, 30))
    assert posting_query_window(bounded) == (datetime.date(2025, 6, 1), datetime.date(2025, 6, 30))
