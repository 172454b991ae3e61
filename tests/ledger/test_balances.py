import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.errors import MonthClosed, MonthNotOver, ReopenRefused
from ledger.models import ClosedMonth, ClosingBalance, Posting, Transaction
from ledger.services import account_balance, first_open_day, ledger_month_close, ledger_month_reopen
from tests.factories.ledger import CostCentreFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def day(text):
    return datetime.date.fromisoformat(text)


@pytest.fixture
def three_months_of_donations():
    """Donations to the bank in Jan-Mar 2025, the amounts written out for the expected figures."""
    amounts = {
        "2025-01-05": "100.00",
        "2025-01-31": "250.50",
        "2025-02-14": "75.25",
        "2025-03-01": "19.99",
        "2025-03-20": "1000.00",
    }
    for booking_date, amount in amounts.items():
        TransactionFactory(
            booking_date=day(booking_date), amount=Decimal(amount), idempotency_key=f"donation:{booking_date}"
        )
    return {day(k): Decimal(v) for k, v in amounts.items()}


def naive_balance(code, at):
    return sum(
        Posting.objects.filter(account__code=code, booking_date__lte=at).values_list("amount", flat=True),
        Decimal("0.00"),
    )


def test_month_close_stores_the_balance_of_each_account_at_month_end(three_months_of_donations):
    stored = ledger_month_close(month=day("2025-01-01"))

    balances = dict(
        ClosingBalance.objects.filter(month=day("2025-01-01")).values_list("account__code", "balance")
    )
    assert stored == 2
    assert balances == {"bank": Decimal("350.50"), "income-donations": Decimal("-350.50")}


def test_month_close_builds_on_the_previous_closed_month(three_months_of_donations):
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-02-01"))

    february = ClosingBalance.objects.get(month=day("2025-02-01"), account__code="bank")
    assert february.balance == Decimal("100.00") + Decimal("250.50") + Decimal("75.25")


def test_month_close_may_skip_months_and_starts_from_the_last_closed_one(three_months_of_donations):
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-03-01"))

    march = ClosingBalance.objects.get(month=day("2025-03-01"), account__code="bank")
    assert march.balance == sum(three_months_of_donations.values())


def test_month_close_is_idempotent(three_months_of_donations):
    first_count = ledger_month_close(month=day("2025-02-01"))
    first = set(ClosingBalance.objects.values_list("account__code", "cost_centre__code", "month", "balance"))

    second_count = ledger_month_close(month=day("2025-02-01"))
    second = set(ClosingBalance.objects.values_list("account__code", "cost_centre__code", "month", "balance"))

    assert first_count == second_count == 2
    assert first == second
    assert ClosedMonth.objects.filter(month=day("2025-02-01")).count() == 1


def test_month_close_keeps_cost_centres_apart():
    grant = CostCentreFactory(code="NGI0-SPLIT")
    TransactionFactory(
        booking_date=day("2025-01-10"),
        amount=Decimal("40000.00"),
        credit_account="income-grants",
        cost_centre=grant,
    )
    TransactionFactory(booking_date=day("2025-01-11"), amount=Decimal("12.00"))

    ledger_month_close(month=day("2025-01-01"))

    bank = dict(
        ClosingBalance.objects.filter(account__code="bank").values_list("cost_centre__code", "balance")
    )
    assert bank == {"NGI0-SPLIT": Decimal("40000.00"), "CORE": Decimal("12.00")}


def test_closing_a_month_that_has_not_ended_is_refused():
    with pytest.raises(MonthNotOver):
        ledger_month_close(month=timezone.localdate())


def test_account_balance_equals_the_naive_sum_over_all_postings(three_months_of_donations):
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-02-01"))

    for at in [day("2024-12-31"), day("2025-01-31"), day("2025-02-27"), day("2025-03-01"), day("2025-03-31")]:
        assert account_balance(account="bank", at=at) == naive_balance("bank", at)
        assert account_balance(account="income-donations", at=at) == naive_balance("income-donations", at)


def test_account_balance_reads_the_stored_closing_balance_with_few_queries(
    three_months_of_donations, django_assert_max_num_queries
):
    from ledger.models import Account

    bank = Account.objects.get(code="bank")
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-02-01"))

    with django_assert_max_num_queries(3):
        balance = account_balance(account=bank, at=day("2025-03-10"))

    assert balance == naive_balance("bank", day("2025-03-10"))


def test_account_balance_starts_from_the_stored_figure_not_from_the_first_posting(three_months_of_donations):
    ledger_month_close(month=day("2025-02-01"))
    # Tamper with the stored figure (it is derived data, not the books): the result must follow it,
    # proving that postings up to February are not summed again.
    ClosingBalance.objects.filter(month=day("2025-02-01"), account__code="bank").update(
        balance=Decimal("1.00")
    )

    assert account_balance(account="bank", at=day("2025-03-31")) == Decimal("1.00") + Decimal(
        "19.99"
    ) + Decimal("1000.00")


def test_account_balance_on_the_last_day_of_a_closed_month_is_the_closing_balance(three_months_of_donations):
    ledger_month_close(month=day("2025-01-01"))
    ClosingBalance.objects.filter(month=day("2025-01-01"), account__code="bank").update(
        balance=Decimal("7.00")
    )

    assert account_balance(account="bank", at=day("2025-01-31")) == Decimal("7.00")


def test_account_balance_for_one_cost_centre():
    grant = CostCentreFactory(code="STF-BALANCE")
    TransactionFactory(
        booking_date=day("2025-01-10"),
        amount=Decimal("30000.00"),
        credit_account="income-grants",
        cost_centre=grant,
    )
    TransactionFactory(booking_date=day("2025-02-10"), amount=Decimal("5.00"))
    ledger_month_close(month=day("2025-01-01"))

    assert account_balance(account="bank", at=day("2025-02-28"), cost_centre=grant) == Decimal("30000.00")
    assert account_balance(account="bank", at=day("2025-02-28"), cost_centre="CORE") == Decimal("5.00")


def test_posting_into_a_closed_month_is_refused_and_changes_nothing(three_months_of_donations):
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-02-01"))
    before = Transaction.objects.count()

    with pytest.raises(MonthClosed, match="closed"):
        TransactionFactory(booking_date=day("2025-01-20"), amount=Decimal("3.00"), idempotency_key="late:1")

    assert Transaction.objects.count() == before
    assert list(ClosedMonth.objects.values_list("month", flat=True)) == [day("2025-02-01"), day("2025-01-01")]
    assert first_open_day(day("2025-01-20")) == day("2025-03-01")


def test_reopening_goes_newest_first_is_recorded_and_then_takes_postings(
    three_months_of_donations, django_user_model
):
    ledger_month_close(month=day("2025-01-01"))
    ledger_month_close(month=day("2025-02-01"))
    user = django_user_model.objects.create_user("finance-reopen", password="x")

    with pytest.raises(ReopenRefused, match="2025-02"):
        ledger_month_reopen(month=day("2025-01-01"), by=user, reason="wrong invoice date")
    with pytest.raises(ReopenRefused, match="why"):
        ledger_month_reopen(month=day("2025-02-01"), by=user, reason="  ")
    reopening = ledger_month_reopen(month=day("2025-02-01"), by=user, reason="late bank fee")

    assert (reopening.month, reopening.reopened_by, reopening.reason) == (
        day("2025-02-01"),
        user,
        "late bank fee",
    )
    assert reopening.reopened_by_name == "finance-reopen"
    assert not ClosingBalance.objects.filter(month=day("2025-02-01")).exists()
    TransactionFactory(booking_date=day("2025-02-20"), amount=Decimal("3.00"), idempotency_key="late:2")
    with pytest.raises(MonthClosed):
        TransactionFactory(booking_date=day("2025-01-20"), amount=Decimal("3.00"), idempotency_key="late:3")
    assert account_balance(account="bank", at=day("2025-02-28")) == naive_balance("bank", day("2025-02-28"))
    ledger_month_close(month=day("2025-02-01"))
    assert account_balance(account="bank", at=day("2025-02-28")) == naive_balance("bank", day("2025-02-28"))
