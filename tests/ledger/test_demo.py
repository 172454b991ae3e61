import datetime
import random
from decimal import Decimal

import pytest
from django.db import transaction

from ledger import demo
from ledger.models import ClosedMonth, CostCentre, Posting, Transaction
from ledger.services import account_balance

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 10)


def seed(seed_value=7, real_kinds=frozenset(), log=None):
    messages = [] if log is None else log
    demo.seed(rng=random.Random(seed_value), today=TODAY, real_kinds=set(real_kinds), log=messages.append)
    return messages


def books():
    return sorted(
        Posting.objects.values_list(
            "transaction__idempotency_key", "account__code", "cost_centre__code", "amount", "booking_date"
        )
    )


def seeded_books(**kwargs):
    """Seed inside a rolled-back savepoint and return what the books held."""
    with transaction.atomic():
        seed(**kwargs)
        snapshot = books()
        transaction.set_rollback(True)
    return snapshot


def test_demo_seed_is_deterministic_for_the_same_rng_seed():
    first = seeded_books(seed_value=7)
    second = seeded_books(seed_value=7)

    assert first
    assert first == second


def test_demo_seed_run_twice_posts_nothing_new():
    seed()
    count = Transaction.objects.count()
    before = books()

    messages = seed()

    assert Transaction.objects.count() == count
    assert books() == before
    assert "0 new transactions" in messages[-1]


def test_demo_seed_covers_24_months_ending_with_the_last_complete_month_and_closes_all_but_the_last():
    seed()

    months = sorted(ClosedMonth.objects.values_list("month", flat=True))
    assert len(months) == 23
    assert months[0] == datetime.date(2024, 5, 1)
    assert months[-1] == datetime.date(2026, 3, 1)
    assert Posting.objects.filter(booking_date__gte=datetime.date(2026, 4, 1)).exists()
    assert not Posting.objects.filter(booking_date__gte=datetime.date(2026, 5, 1)).exists()
    assert not Posting.objects.filter(booking_date__lt=datetime.date(2024, 5, 1)).exists()


def test_demo_seed_skips_real_kinds():
    real = {"patrons", "grants", "payment_fees"}

    seed(real_kinds=real)

    keys = list(Transaction.objects.values_list("idempotency_key", flat=True))
    assert not [key for key in keys if key.split(":")[1] in real]
    assert not Posting.objects.filter(account__category__in=["patrons", "grants", "payment_fees"]).exists()
    assert Posting.objects.filter(account__category="donations").exists()
    assert Posting.objects.filter(account__category="personnel").exists()


def test_demo_figures_of_other_kinds_do_not_change_when_a_kind_is_real():
    def donations_and_hosting(snapshot):
        return [row for row in snapshot if row[0].split(":")[1] in {"donations", "hosting"}]

    everything = seeded_books()
    without_patrons = seeded_books(real_kinds={"patrons"})

    assert donations_and_hosting(everything) == donations_and_hosting(without_patrons)


def test_demo_patron_income_is_25_to_30k_a_month_and_grows():
    seed()

    patrons = Posting.objects.filter(
        account__code="stripe", transaction__idempotency_key__startswith="demo:patrons:"
    )
    monthly = list(patrons.order_by("booking_date").values_list("amount", flat=True))
    assert len(monthly) == 24
    assert all(Decimal("24000") <= amount <= Decimal("31000") for amount in monthly)
    assert sum(monthly[-6:]) > sum(monthly[:6])


def test_demo_december_donations_peak():
    seed()

    donations = dict(
        Posting.objects.income().filter(account__category="donations").monthly_totals(reported=True)
    )
    december = donations[datetime.date(2025, 12, 1)]
    assert december > max(amount for month, amount in donations.items() if month.month != 12)


def test_demo_sponsorships_carry_19_percent_vat_to_vat_payable():
    seed()

    sponsorships = Transaction.objects.filter(idempotency_key__startswith="demo:sponsorships:")
    assert sponsorships.exists()
    for txn in sponsorships.prefetch_related("postings__account"):
        amounts = {p.account.code: p.amount for p in txn.postings.all()}
        net = -amounts["income-sponsorship-vat"]
        assert -amounts["vat-payable-19"] == (net * Decimal("0.19")).quantize(Decimal("0.01"))
        assert amounts["bank"] == net - amounts["vat-payable-19"]


def test_demo_grants_and_part_of_personnel_are_on_grant_cost_centres():
    seed()

    grant_codes = set(CostCentre.objects.filter(kind=CostCentre.Kind.GRANT).values_list("code", flat=True))
    assert {"NGI0-2025", "STF-2026"} <= grant_codes
    grant_income = Posting.objects.filter(account__code="income-grants")
    assert set(grant_income.values_list("cost_centre__code", flat=True)) <= {"NGI0-2025", "STF-2026"}
    assert all(
        Decimal("-60000") <= amount <= Decimal("-20000")
        for amount in grant_income.values_list("amount", flat=True)
    )
    salaries_on_grants = Posting.objects.filter(
        account__code="expense-salaries", cost_centre__code__in=grant_codes
    )
    assert salaries_on_grants.exists()
    assert Posting.objects.filter(account__code="expense-salaries", cost_centre__code="CORE").exists()


def test_demo_stripe_fees_are_about_2_5_percent_of_stripe_income():
    seed()

    income = -Posting.objects.filter(account__category__in=["patrons", "donations"]).total()
    fees = Posting.objects.filter(account__code="expense-payment-fees").total()
    assert Decimal("0.022") * income <= fees <= Decimal("0.028") * income


def test_demo_stripe_balance_is_paid_out_to_the_bank():
    seed()

    assert account_balance(account="stripe", at=datetime.date(2026, 4, 30)) == Decimal("0.00")


def test_demo_books_balance_and_closing_balances_match_the_postings():
    seed()

    assert Posting.objects.total() == Decimal("0.00")
    for code in ["bank", "income-patrons-perks", "expense-salaries", "vat-payable-19"]:
        naive = Posting.objects.filter(account__code=code).total()
        assert account_balance(account=code, at=datetime.date(2026, 4, 30)) == naive
