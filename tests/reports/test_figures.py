"""A month's money figures equal sums computed here from the postings this test made."""

import datetime
from decimal import Decimal

import pytest

from ledger.services import PostingLine, ledger_month_close, transaction_post
from reports.figures import month_figures

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)


def post(day, key, *lines):
    transaction_post(
        booking_date=day, description=key, idempotency_key=key, lines=[PostingLine(*line) for line in lines]
    )


def test_income_spending_result_and_cash_come_from_the_months_postings():
    post(
        datetime.date(2026, 2, 10),
        "feb:donation",
        ("bank", Decimal("1000.00")),
        ("income-donations", Decimal("-1000.00")),
    )
    ledger_month_close(month=datetime.date(2026, 2, 1))  # cash at the end reads February's stored balance
    post(
        datetime.date(2026, 3, 3),
        "mar:patrons",
        ("stripe", Decimal("595.00")),
        ("income-patrons-perks", Decimal("-500.00")),
        ("vat-payable-19", Decimal("-95.00")),
    )
    post(
        datetime.date(2026, 3, 5),
        "mar:refund",
        ("income-patrons-perks", Decimal("50.00")),
        ("vat-payable-19", Decimal("9.50")),
        ("stripe", Decimal("-59.50")),
    )
    post(
        datetime.date(2026, 3, 9),
        "mar:fee",
        ("expense-payment-fees", Decimal("12.40")),
        ("stripe", Decimal("-12.40")),
    )
    post(
        datetime.date(2026, 3, 20),
        "mar:grant",
        ("bank", Decimal("24000.00")),
        ("income-grants", Decimal("-24000.00")),
    )
    post(
        datetime.date(2026, 3, 31),
        "mar:pay",
        ("expense-salaries", Decimal("5000.00")),
        ("expense-social-costs", Decimal("1050.00")),
        ("bank", Decimal("-6050.00")),
    )
    post(
        datetime.date(2026, 3, 31),
        "mar:hosting",
        ("expense-hosting", Decimal("999.60")),
        ("payables", Decimal("-999.60")),
    )
    post(
        datetime.date(2026, 4, 1),
        "apr:donation",
        ("bank", Decimal("70.00")),
        ("income-donations", Decimal("-70.00")),
    )

    figures = month_figures(MARCH).as_json(status="draft")

    assert figures["period"] == "2026-03"
    assert figures["income"] == {
        "patrons": "450.00",  # 500.00 sold, 50.00 refunded
        "donations": "0.00",
        "sponsorships": "0.00",
        "grants": "24000.00",
        "services": "0.00",
        "other": "0.00",
        "total": "24450.00",
    }
    assert figures["spending"] == {
        "personnel": "6050.00",
        "freelancers": "0.00",
        "hosting": "999.60",
        "payment_fees": "12.40",
        "other": "0.00",
        "total": "7062.00",
    }
    assert figures["result"] == "17388.00"
    # bank 1000 + 24000 - 6050, stripe 595 - 59.50 - 12.40; April's donation is not in it
    assert figures["cash_end"] == "19473.10"
