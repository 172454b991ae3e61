"""A month's money figures equal sums computed here from the postings this test made."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

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


# --- A month with refunds, a dispute, a locked previous month and a late correction ----------------

# Which figure each account's postings belong to, written out here (not taken from the report code).
EXPECTED_KEY = {
    "income-patrons-perks": ("income", "patrons"),
    "income-patrons-no-perks": ("income", "patrons"),
    "income-donations": ("income", "donations"),
    "income-sponsorship-vat": ("income", "sponsorships"),
    "income-grants": ("income", "grants"),
    "income-services": ("income", "services"),
    "income-interest": ("income", "other"),
    "expense-salaries": ("spending", "personnel"),
    "expense-social-costs": ("spending", "personnel"),
    "expense-freelancers": ("spending", "freelancers"),
    "expense-hosting": ("spending", "hosting"),
    "expense-payment-fees": ("spending", "payment_fees"),
    "expense-other": ("spending", "other"),
}
CASH = {"bank", "stripe"}


class Books:
    """Posts through the ledger and keeps its own list of what it posted, to compute the expected figures."""

    def __init__(self):
        self.lines: list[tuple[datetime.date, str, Decimal]] = []

    def post(self, day, key, *lines, reference=""):
        transaction_post(
            booking_date=day,
            description=key,
            idempotency_key=key,
            source_reference=reference,
            lines=[PostingLine(*line) for line in lines],
        )
        self.lines += [(day, account, amount) for account, amount in lines]

    def expected(self, month: datetime.date) -> dict:
        income = dict.fromkeys(["patrons", "donations", "sponsorships", "grants", "services", "other"], ZERO)
        spending = dict.fromkeys(["personnel", "freelancers", "hosting", "payment_fees", "other"], ZERO)
        cash = ZERO
        for day, account, amount in self.lines:
            if account in CASH and day < (month + datetime.timedelta(days=32)).replace(day=1):
                cash += amount
            if (day.year, day.month) != (month.year, month.month) or account not in EXPECTED_KEY:
                continue
            side, key = EXPECTED_KEY[account]
            if side == "income":
                income[key] -= amount  # a credit is income
            else:
                spending[key] += amount
        return {
            "income": {**{k: f"{v:.2f}" for k, v in income.items()}, "total": f"{sum(income.values()):.2f}"},
            "spending": {
                **{k: f"{v:.2f}" for k, v in spending.items()},
                "total": f"{sum(spending.values()):.2f}",
            },
            "result": f"{sum(income.values()) - sum(spending.values()):.2f}",
            "cash_end": f"{cash:.2f}",
        }


ZERO = Decimal("0.00")
FEB, MAR = datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)


def money_part(figures: dict) -> dict:
    return {key: figures[key] for key in ("income", "spending", "result", "cash_end")}


def perk_payment(books, day, key, gross, fee):
    net, vat = (gross / Decimal("1.19")).quantize(ZERO), None
    vat = gross - net
    books.post(
        day,
        key,
        ("stripe", gross - fee),
        ("expense-payment-fees", fee),
        ("income-patrons-perks", -net),
        ("vat-payable-19", -vat),
    )
    return net, vat


@pytest.fixture
def month_with_everything(make_user):
    """February published (so locked); March with payments, a refund, a lost dispute and a late correction."""
    from reports.services import report_draft, report_publish

    books = Books()
    books.post(
        datetime.date(2025, 3, 12),
        "2025-03:donation",
        ("bank", Decimal("80.00")),
        ("income-donations", Decimal("-80.00")),
    )
    books.post(
        FEB + datetime.timedelta(days=4),
        "feb:donation",
        ("bank", Decimal("300.00")),
        ("income-donations", Decimal("-300.00")),
    )
    perk_payment(books, FEB + datetime.timedelta(days=9), "feb:perk", Decimal("11.90"), Decimal("0.42"))
    books.post(
        FEB + datetime.timedelta(days=19),
        "feb:hosting",
        ("expense-hosting", Decimal("450.00")),
        ("bank", Decimal("-450.00")),
    )
    finance = make_user("finance", mfa=True)
    report_publish(report=report_draft(month=FEB), by=finance)

    # March: payments of three patrons
    for number in range(3):
        perk_payment(
            books,
            MAR + datetime.timedelta(days=number),
            f"mar:perk:{number}",
            Decimal("23.80"),
            Decimal("0.63"),
        )
    # a refund of one of them (income and VAT back, out of the Stripe balance; Stripe keeps its fee)
    books.post(
        MAR + datetime.timedelta(days=10),
        "mar:refund",
        ("income-patrons-perks", Decimal("20.00")),
        ("vat-payable-19", Decimal("3.80")),
        ("stripe", Decimal("-23.80")),
    )
    # a lost dispute on another: the charge is taken back and Stripe charges a 15.00 dispute fee
    books.post(
        MAR + datetime.timedelta(days=14),
        "mar:dispute",
        ("income-patrons-perks", Decimal("20.00")),
        ("vat-payable-19", Decimal("3.80")),
        ("expense-payment-fees", Decimal("15.00")),
        ("stripe", Decimal("-38.80")),
    )
    books.post(
        MAR + datetime.timedelta(days=20),
        "mar:grant",
        ("bank", Decimal("12000.00")),
        ("income-grants", Decimal("-12000.00")),
    )
    books.post(
        MAR + datetime.timedelta(days=30),
        "mar:pay",
        ("expense-salaries", Decimal("4000.00")),
        ("expense-social-costs", Decimal("840.00")),
        ("bank", Decimal("-4840.00")),
    )
    # a late correction for February: the hoster's credit note dated 20 February, booked on the first open day
    from ledger.services import first_open_day

    original = FEB + datetime.timedelta(days=19)
    books.post(
        first_open_day(original),
        "feb:hosting:credit-note",
        ("bank", Decimal("50.00")),
        ("expense-hosting", Decimal("-50.00")),
        reference=f"credit note of {original}",
    )
    return books


def test_a_month_with_a_refund_a_dispute_and_a_late_correction_adds_up(month_with_everything):
    books = month_with_everything

    march = month_figures(MAR).as_json(status="draft")

    assert money_part(march) == books.expected(MAR)
    # spelled out once, so a mistake in the test's own arithmetic would show too
    assert march["income"]["patrons"] == "20.00"  # 3 × 20.00 net, one refunded, one disputed
    assert march["spending"]["payment_fees"] == "16.89"  # 3 × 0.63 + the dispute fee 15.00
    assert march["spending"]["hosting"] == "-50.00"  # the late credit note lands in March


def test_the_locked_previous_month_keeps_its_figures_and_refuses_postings(month_with_everything):
    from ledger.errors import MonthClosed

    books = month_with_everything
    before = money_part(month_figures(FEB).as_json(status="published"))

    with pytest.raises(MonthClosed):
        transaction_post(
            booking_date=FEB + datetime.timedelta(days=27),
            description="too late",
            idempotency_key="feb:too-late",
            lines=[PostingLine("bank", Decimal("1.00")), PostingLine("income-donations", Decimal("-1.00"))],
        )

    assert before == books.expected(FEB)
    assert money_part(month_figures(FEB).as_json(status="published")) == before


def test_the_report_compares_with_the_previous_month_and_a_year_before(month_with_everything):
    from reports.figures import month_report_data

    books = month_with_everything

    data = month_report_data(MAR).as_json(status="draft")

    feb, year_before = books.expected(FEB), books.expected(datetime.date(2025, 3, 1))
    assert data["previous_month"] == {
        "period": "2026-02",
        "income_total": feb["income"]["total"],
        "spending_total": feb["spending"]["total"],
        "result": feb["result"],
    }
    assert data["same_month_last_year"]["income_total"] == year_before["income"]["total"] == "80.00"
    expected_share = (Decimal("4840.00") * 100 / Decimal(books.expected(MAR)["spending"]["total"])).quantize(
        Decimal("0.1")
    )
    assert data["development_share"] == f"{expected_share}"


def test_closed_months_read_from_stored_balances_give_the_same_figures_as_the_postings(month_with_everything):
    books = month_with_everything
    from ledger.services import ledger_month_close

    ledger_month_close(month=MAR)  # February and March closed: March is read from the stored balances
    assert money_part(month_figures(MAR).as_json(status="published")) == books.expected(MAR)


def test_patron_counts_come_from_the_patronages(db):
    from fundraising.models import Patronage
    from reports.figures import patron_figures
    from tests.factories.fundraising import PatronageFactory

    def at(day, hour=12):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    PatronageFactory(started_at=at(datetime.date(2026, 1, 10)), amount=Decimal("5.00"))  # running
    PatronageFactory(
        started_at=at(datetime.date(2026, 3, 2)), amount=Decimal("120.00"), interval="year"
    )  # new, 10.00 a month
    PatronageFactory(
        started_at=at(datetime.date(2025, 12, 1)),
        ended_at=at(datetime.date(2026, 3, 20)),
        status=Patronage.Status.CANCELED,
        amount=Decimal("3.00"),
    )  # ended
    PatronageFactory(
        started_at=at(datetime.date(2026, 3, 25)), status=Patronage.Status.INCOMPLETE
    )  # never paid
    PatronageFactory(started_at=at(datetime.date(2026, 4, 2)), amount=Decimal("50.00"))  # after March

    patrons = patron_figures(MAR)

    assert (patrons.active, patrons.new, patrons.ended) == (2, 1, 1)
    assert patrons.monthly_recurring == Decimal("15.00")
