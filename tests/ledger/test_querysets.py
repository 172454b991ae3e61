import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest

from ledger.models import Account, Posting
from ledger.services import PostingLine, transaction_post
from tests.factories.ledger import CostCentreFactory, TransactionFactory

pytestmark = pytest.mark.django_db

# Income and spending accounts of the default chart: code -> (category, sphere), written out here
# so the expected figures do not come from the code under test.
RESULT_ACCOUNTS = {
    "income-patrons-perks": ("patrons", 4),
    "income-patrons-no-perks": ("patrons", 1),
    "income-donations": ("donations", 1),
    "income-sponsorship-vat": ("sponsorships", 4),
    "income-sponsorship-passive": ("sponsorships", 1),
    "income-grants": ("grants", 1),
    "income-interest": ("other_income", 2),
    "expense-salaries": ("personnel", 1),
    "expense-hosting": ("hosting", 1),
    "expense-payment-fees": ("payment_fees", 1),
}


@pytest.fixture
def random_postings():
    """~120 random two-line transactions over 2024-2025; returns the lines as plain tuples."""
    rng = random.Random(20250314)
    grant = CostCentreFactory(code="NGI0-RANDOM")
    lines = []  # (booking_date, account code, cost centre code, amount)
    for number in range(120):
        day = datetime.date(rng.choice([2024, 2025]), rng.randint(1, 12), rng.randint(1, 28))
        code = rng.choice(sorted(RESULT_ACCOUNTS))
        amount = Decimal(rng.randint(1, 5_000_000)) / 100
        signed = -amount if code.startswith("income") else amount
        centre = rng.choice(["CORE", grant.code])
        transaction_post(
            booking_date=day,
            description=f"random {number}",
            idempotency_key=f"random:{number}",
            lines=[
                PostingLine(code, signed, cost_centre=centre),
                PostingLine("bank", -signed, cost_centre=centre),
            ],
        )
        lines += [(day, code, centre, signed), (day, "bank", centre, -signed)]
    return lines


def category_of(code):
    return RESULT_ACCOUNTS[code][0] if code in RESULT_ACCOUNTS else "cash"


def sphere_of(code):
    return RESULT_ACCOUNTS[code][1] if code in RESULT_ACCOUNTS else None


def test_monthly_totals_by_category_equal_the_sums_of_the_generated_postings(random_postings):
    expected = defaultdict(lambda: defaultdict(Decimal))
    for day, code, _centre, amount in random_postings:
        expected[day.replace(day=1)][category_of(code)] += amount

    totals = Posting.objects.monthly_totals(by="category")

    assert totals == {month: dict(by_category) for month, by_category in expected.items()}
    assert all(
        isinstance(value, Decimal) for by_category in totals.values() for value in by_category.values()
    )


def test_monthly_totals_by_sphere_of_income_equal_the_sums_of_the_generated_postings(random_postings):
    expected = defaultdict(lambda: defaultdict(Decimal))
    for day, code, _centre, amount in random_postings:
        if code.startswith("income"):
            expected[day.replace(day=1)][sphere_of(code)] += amount

    totals = Posting.objects.income().monthly_totals(by="sphere")

    assert totals == {month: dict(by_sphere) for month, by_sphere in expected.items()}


def test_totals_by_category_in_one_month_equal_the_sums_of_the_generated_postings(random_postings):
    month = datetime.date(2025, 6, 1)
    expected = defaultdict(Decimal)
    for day, code, _centre, amount in random_postings:
        if (day.year, day.month) == (2025, 6):
            expected[category_of(code)] += amount

    assert Posting.objects.in_month(month).totals_by_category() == dict(expected)


def test_totals_by_sphere_between_two_dates_equal_the_sums_of_the_generated_postings(random_postings):
    start, end = datetime.date(2024, 4, 10), datetime.date(2025, 2, 20)
    expected = defaultdict(Decimal)
    for day, code, _centre, amount in random_postings:
        if start <= day <= end:
            expected[sphere_of(code)] += amount

    assert Posting.objects.between(start, end).totals_by_sphere() == dict(expected)


def test_totals_by_cost_centre_of_spending_equal_the_sums_of_the_generated_postings(random_postings):
    expected = defaultdict(Decimal)
    for _day, code, centre, amount in random_postings:
        if code.startswith("expense"):
            expected[centre] += amount

    assert Posting.objects.spending().totals_by_cost_centre() == dict(expected)


def test_reported_totals_show_income_as_positive_figures(random_postings):
    expected = defaultdict(Decimal)
    for day, code, _centre, amount in random_postings:
        if code.startswith("income") and day.year == 2025:
            expected[category_of(code)] -= amount

    totals = Posting.objects.income().between(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))

    assert totals.totals_by_category(reported=True) == dict(expected)
    assert all(value > 0 for value in expected.values())


def test_monthly_totals_without_grouping_sum_to_zero_for_balanced_books(random_postings):
    totals = Posting.objects.monthly_totals()

    assert set(totals.values()) == {Decimal("0.00")}
    assert sorted(totals) == sorted({day.replace(day=1) for day, *_ in random_postings})


def test_in_month_includes_the_first_and_last_day_and_nothing_else():
    for day in ["2025-02-28", "2025-03-01", "2025-03-31", "2025-04-01"]:
        TransactionFactory(booking_date=datetime.date.fromisoformat(day), idempotency_key=f"edge:{day}")

    dates = set(Posting.objects.in_month(datetime.date(2025, 3, 17)).values_list("booking_date", flat=True))

    assert dates == {datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)}


def test_account_queryset_lists_income_accounts_of_the_default_chart():
    codes = set(Account.objects.income().values_list("code", flat=True))

    assert {"income-donations", "income-grants", "income-patrons-perks"} <= codes
    assert "bank" not in codes
