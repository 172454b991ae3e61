"""The PostgreSQL triggers: the database itself keeps the books balanced and unedited."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.models import Account, CostCentre, Posting, Transaction
from tests.factories.ledger import TransactionFactory
from tests.ledger.conftest import require_postgres

pytestmark = pytest.mark.postgres

DAY = datetime.date(2025, 3, 14)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_refuses_an_unbalanced_posting_inserted_with_bulk_create():
    require_postgres()
    bank = Account.objects.get(code="bank")
    core = CostCentre.objects.get(code="CORE")

    with pytest.raises(IntegrityError, match="sum to"), transaction.atomic():
        txn = Transaction.objects.create(booking_date=DAY, description="Sneaky", idempotency_key="sneaky:1")
        Posting.objects.bulk_create(
            [
                Posting(
                    transaction=txn, account=bank, cost_centre=core, amount=Decimal("10.00"), booking_date=DAY
                ),
                Posting(
                    transaction=txn, account=bank, cost_centre=core, amount=Decimal("-9.99"), booking_date=DAY
                ),
            ]
        )

    assert not Transaction.objects.filter(idempotency_key="sneaky:1").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_refuses_a_transaction_without_postings():
    require_postgres()

    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        Transaction.objects.create(booking_date=DAY, description="Empty", idempotency_key="empty:1")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_refuses_a_posting_dated_differently_from_its_transaction():
    require_postgres()
    bank = Account.objects.get(code="bank")
    income = Account.objects.get(code="income-donations")
    core = CostCentre.objects.get(code="CORE")
    other_day = datetime.date(2025, 4, 1)

    with pytest.raises(IntegrityError, match="booking date"), transaction.atomic():
        txn = Transaction.objects.create(
            booking_date=DAY, description="Misdated", idempotency_key="misdated:1"
        )
        Posting.objects.bulk_create(
            [
                Posting(
                    transaction=txn, account=bank, cost_centre=core, amount=Decimal("10.00"), booking_date=DAY
                ),
                Posting(
                    transaction=txn,
                    account=income,
                    cost_centre=core,
                    amount=Decimal("-10.00"),
                    booking_date=other_day,
                ),
            ]
        )


@pytest.mark.django_db
def test_database_refuses_updating_a_posting_behind_the_models_back():
    require_postgres()
    posting = TransactionFactory().postings.first()

    with (
        pytest.raises(IntegrityError, match="UPDATE on ledger_posting refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_posting SET amount = amount * 2 WHERE id = %s", [posting.pk])


@pytest.mark.django_db
def test_database_refuses_deleting_a_transaction_behind_the_models_back():
    require_postgres()
    txn = TransactionFactory()

    with (
        pytest.raises(IntegrityError, match="DELETE on ledger_transaction refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM ledger_transaction WHERE id = %s", [txn.pk])


@pytest.mark.django_db
def test_database_refuses_updating_a_transaction_behind_the_models_back():
    require_postgres()
    txn = TransactionFactory()

    with (
        pytest.raises(IntegrityError, match="UPDATE on ledger_transaction refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_transaction SET description = 'x' WHERE id = %s", [txn.pk])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_balanced_transaction_commits_and_truncate_still_empties_the_books():
    require_postgres()
    TransactionFactory(amount=Decimal("12.34"))
    assert Posting.objects.count() == 2

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE ledger_posting, ledger_transaction CASCADE"
        )  # bank lines and manual bookings refer to transactions

    assert Transaction.objects.count() == 0
