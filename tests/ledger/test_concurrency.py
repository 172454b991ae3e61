"""Two processes posting the same event at the same moment must post it once (PostgreSQL)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from ledger.models import Posting, Transaction
from ledger.services import PostingLine, transaction_post
from tests.ledger.conftest import require_postgres


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_threads_posting_the_same_key_at_the_same_time_post_once():
    require_postgres()
    threads_count = 2
    barrier = threading.Barrier(threads_count)
    results: list[int] = []
    errors: list[BaseException] = []

    def post_invoice_paid():
        try:
            barrier.wait(timeout=10)
            txn = transaction_post(
                booking_date=datetime.date(2025, 3, 14),
                description="Invoice paid",
                idempotency_key="stripe:in_race",
                source_reference="stripe:in_race",
                lines=[
                    PostingLine("stripe", Decimal("119.00")),
                    PostingLine("income-sponsorship-vat", Decimal("-100.00")),
                    PostingLine("vat-payable-19", Decimal("-19.00")),
                ],
            )
            results.append(txn.pk)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post_invoice_paid) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == threads_count
    assert len(set(results)) == 1
    assert Transaction.objects.filter(idempotency_key="stripe:in_race").count() == 1
    assert Posting.objects.count() == 3
