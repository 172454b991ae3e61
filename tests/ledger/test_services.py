import datetime
from decimal import Decimal

import pytest

from ledger.errors import (
    InactiveAccount,
    InvalidPosting,
    LedgerError,
    ReversalRefused,
    UnbalancedTransaction,
    UnknownAccount,
)
from ledger.models import Account, CostCentre, Posting, Transaction
from ledger.services import PostingLine, account_balance, transaction_post, transaction_reverse
from tests.factories.ledger import AccountFactory, CostCentreFactory, TransactionFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 3, 14)


def post(key="test:1", lines=None, **kwargs):
    lines = lines or [
        PostingLine("bank", Decimal("50.00")),
        PostingLine("income-donations", Decimal("-50.00")),
    ]
    return transaction_post(
        booking_date=DAY, description="Donation", idempotency_key=key, lines=lines, **kwargs
    )


def test_balanced_transaction_posts_its_lines_with_the_booking_date():
    txn = post(
        lines=[
            PostingLine("stripe", Decimal("119.00")),
            PostingLine("income-sponsorship-vat", Decimal("-100.00")),
            PostingLine("vat-payable-19", Decimal("-19.00")),
        ],
        source_reference="stripe:in_123",
    )

    rows = list(
        txn.postings.order_by("id").values_list(
            "account__code", "amount", "booking_date", "cost_centre__code"
        )
    )
    assert rows == [
        ("stripe", Decimal("119.00"), DAY, "CORE"),
        ("income-sponsorship-vat", Decimal("-100.00"), DAY, "CORE"),
        ("vat-payable-19", Decimal("-19.00"), DAY, "CORE"),
    ]
    assert txn.source_reference == "stripe:in_123"


def test_unbalanced_transaction_is_refused_and_nothing_is_posted():
    with pytest.raises(UnbalancedTransaction, match="difference 0.01"):
        post(
            lines=[PostingLine("bank", Decimal("50.01")), PostingLine("income-donations", Decimal("-50.00"))]
        )

    assert Transaction.objects.count() == 0
    assert Posting.objects.count() == 0


def test_unbalanced_transaction_error_is_a_ledger_error():
    with pytest.raises(LedgerError):
        post(lines=[PostingLine("bank", Decimal("1.00")), PostingLine("income-donations", Decimal("-2.00"))])


def test_float_amount_is_refused_with_type_error():
    with pytest.raises(TypeError, match="float"):
        post(lines=[PostingLine("bank", 50.0), PostingLine("income-donations", Decimal("-50.00"))])

    assert Transaction.objects.count() == 0


def test_integer_amount_is_refused_with_type_error():
    with pytest.raises(TypeError, match="Decimal"):
        post(lines=[PostingLine("bank", 50), PostingLine("income-donations", Decimal("-50.00"))])


def test_amount_with_more_than_two_decimal_places_is_refused():
    with pytest.raises(InvalidPosting, match="two decimal places"):
        post(
            lines=[PostingLine("bank", Decimal("0.005")), PostingLine("income-donations", Decimal("-0.005"))]
        )


def test_amount_too_large_for_the_books_is_refused():
    huge = Decimal("1000000000000.00")

    with pytest.raises(InvalidPosting, match="too large"):
        post(lines=[PostingLine("bank", huge), PostingLine("income-donations", -huge)])


def test_transaction_without_description_is_refused():
    with pytest.raises(InvalidPosting, match="description"):
        transaction_post(
            booking_date=DAY,
            description="",
            idempotency_key="test:no-description",
            lines=[PostingLine("bank", Decimal("1.00")), PostingLine("income-donations", Decimal("-1.00"))],
        )


def test_single_line_transaction_is_refused():
    with pytest.raises(InvalidPosting, match="at least two"):
        post(lines=[PostingLine("bank", Decimal("0.00"))])


def test_zero_amount_line_is_refused():
    with pytest.raises(InvalidPosting, match="zero"):
        post(
            lines=[
                PostingLine("bank", Decimal("5.00")),
                PostingLine("income-donations", Decimal("-5.00")),
                PostingLine("stripe", Decimal("0.00")),
            ]
        )


def test_inactive_account_is_refused():
    AccountFactory(code="income-retired", active=False)

    with pytest.raises(InactiveAccount, match="income-retired"):
        post(lines=[PostingLine("bank", Decimal("5.00")), PostingLine("income-retired", Decimal("-5.00"))])


def test_stale_account_instance_of_a_deactivated_account_is_refused():
    account = AccountFactory(code="income-soon-retired")
    Account.objects.filter(pk=account.pk).update(active=False)

    with pytest.raises(InactiveAccount):
        post(lines=[PostingLine("bank", Decimal("5.00")), PostingLine(account, Decimal("-5.00"))])


def test_inactive_cost_centre_is_refused():
    centre = CostCentreFactory(code="OLD-GRANT", active=False)

    with pytest.raises(InactiveAccount, match="OLD-GRANT"):
        post(
            lines=[
                PostingLine("bank", Decimal("5.00"), cost_centre=centre),
                PostingLine("income-grants", Decimal("-5.00"), cost_centre=centre),
            ]
        )


def test_unknown_account_code_is_refused():
    with pytest.raises(UnknownAccount, match="no-such-account"):
        post(lines=[PostingLine("bank", Decimal("5.00")), PostingLine("no-such-account", Decimal("-5.00"))])


def test_original_amount_without_currency_is_refused():
    with pytest.raises(InvalidPosting, match="currency"):
        post(
            lines=[
                PostingLine("bank", Decimal("5.00"), original_amount=Decimal("5.50")),
                PostingLine("income-donations", Decimal("-5.00")),
            ]
        )


def test_original_amount_and_currency_are_stored():
    txn = post(
        lines=[
            PostingLine("bank", Decimal("92.10"), original_amount=Decimal("100.00"), original_currency="USD"),
            PostingLine(
                "income-donations",
                Decimal("-92.10"),
                original_amount=Decimal("-100.00"),
                original_currency="USD",
            ),
        ]
    )

    assert list(txn.postings.values_list("original_amount", "original_currency")) == [
        (Decimal("100.00"), "USD"),
        (Decimal("-100.00"), "USD"),
    ]


def test_posting_to_a_grant_cost_centre_by_code():
    CostCentreFactory(code="NGI0-TEST")

    txn = post(
        lines=[
            PostingLine("bank", Decimal("20000.00"), cost_centre="NGI0-TEST"),
            PostingLine("income-grants", Decimal("-20000.00"), cost_centre="NGI0-TEST"),
        ]
    )

    assert set(txn.postings.values_list("cost_centre__code", flat=True)) == {"NGI0-TEST"}


def test_duplicated_idempotency_key_posts_once_and_returns_the_first_transaction():
    first = post(key="stripe:in_123")
    second = post(
        key="stripe:in_123",
        lines=[PostingLine("bank", Decimal("70.00")), PostingLine("income-donations", Decimal("-70.00"))],
    )

    assert second.pk == first.pk
    assert Transaction.objects.count() == 1
    assert list(Posting.objects.values_list("amount", flat=True).order_by("amount")) == [
        Decimal("-50.00"),
        Decimal("50.00"),
    ]


def test_reversal_brings_every_balance_back_to_where_it_was():
    TransactionFactory(amount=Decimal("30.00"), booking_date=datetime.date(2025, 3, 1))
    mistake = TransactionFactory(
        amount=Decimal("119.00"), debit_account="stripe", credit_account="income-grants"
    )

    reversal = transaction_reverse(
        transaction=mistake, booking_date=datetime.date(2025, 3, 20), reason="wrong account"
    )

    at = datetime.date(2025, 3, 31)
    assert account_balance(account="stripe", at=at) == Decimal("0.00")
    assert account_balance(account="income-grants", at=at) == Decimal("0.00")
    assert account_balance(account="bank", at=at) == Decimal("30.00")
    assert reversal.reverses == mistake
    assert list(reversal.postings.values_list("account__code", "amount")) == [
        ("stripe", Decimal("-119.00")),
        ("income-grants", Decimal("119.00")),
    ]


def test_reversal_keeps_the_cost_centre_of_each_posting():
    centre = CostCentreFactory(code="STF-TEST")
    original = TransactionFactory(debit_account="bank", credit_account="income-grants", cost_centre=centre)

    reversal = transaction_reverse(transaction=original, booking_date=DAY, reason="duplicate")

    assert set(reversal.postings.values_list("cost_centre__code", flat=True)) == {"STF-TEST"}


def test_reversing_twice_returns_the_first_reversal():
    original = TransactionFactory()

    first = transaction_reverse(transaction=original, booking_date=DAY, reason="refund")
    second = transaction_reverse(
        transaction=original, booking_date=datetime.date(2025, 4, 2), reason="refund again"
    )

    assert second.pk == first.pk
    assert first.idempotency_key == f"reversal:{original.idempotency_key}"
    assert Transaction.objects.filter(reverses=original).count() == 1


def test_reversing_a_reversal_is_refused():
    reversal = transaction_reverse(transaction=TransactionFactory(), booking_date=DAY, reason="refund")

    with pytest.raises(ReversalRefused):
        transaction_reverse(transaction=reversal, booking_date=DAY, reason="undo the refund")


def test_reversal_may_post_to_an_account_switched_off_since():
    original = TransactionFactory(credit_account=AccountFactory(code="income-closing-down").code)
    Account.objects.filter(code="income-closing-down").update(active=False)

    reversal = transaction_reverse(transaction=original, booking_date=DAY, reason="correction")

    assert reversal.postings.count() == 2


def test_postings_default_to_the_core_cost_centre():
    txn = TransactionFactory()

    assert {p.cost_centre.code for p in txn.postings.all()} == {"CORE"}
    assert Posting._meta.get_field("cost_centre").get_default() == CostCentre.objects.get(code="CORE").pk
