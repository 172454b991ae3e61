"""Scenario 3: a Celery worker killed with SIGKILL in the middle of making a donation receipt.

A real worker (solo pool, on a private Redis broker) issues one-time donation receipts. For the second
receipt it is slowed down right after drawing the number ``ZB-<year>-00002``, inside the issuing
transaction (fault injection in the worker process only: ``tests/resilience/servers.py``,
``_slow_receipt_numbers``), and killed there with SIGKILL. PostgreSQL rolls the transaction back, so
the number is given back. The task's message was acknowledged late, so the broker hands it to the next
worker once its visibility timeout has passed (3 seconds here, set in the workers' transport options;
7 hours in production). The new worker makes that receipt and the next: each payment gets exactly one
receipt and the numbers run 1, 2, 3 without a gap.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from fundraising import receipt_tasks
from fundraising.models import DonationReceipt, Interval, Kind, Payment, ReceiptBatch
from ledger.models import DocumentSequence
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory

from .servers import SLOW_RECEIPT_ENV, VISIBILITY_TIMEOUT_ENV, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = "3"


def one_time_donation(amount: str) -> Payment:
    patron = PatronFactory(address_line1="Heidestraße 17", postal_code="51147", city="Köln")
    patronage = PatronageFactory(
        patron=patron,
        tier=None,
        kind=Kind.DONATION,
        interval=Interval.ONCE,
        amount=Decimal(amount),
        status="paid",
        stripe_subscription_id=None,
    )
    return PaymentFactory(patronage=patronage, paid_at=timezone.now())


def logs_of(*workers):
    return lambda: "\n".join(f"--- {worker.hostname}\n{worker.log_text()}" for worker in workers)


def test_worker_killed_while_making_a_receipt_leaves_one_receipt_per_payment_and_no_gap(
    private_broker, start_worker, organisation, tmp_path
):
    year = timezone.localdate().year
    payments = [one_time_donation(amount) for amount in ("20.00", "30.00", "40.00")]
    slow = tmp_path / "slow-receipts"
    slow.mkdir()
    first = start_worker(**{SLOW_RECEIPT_ENV: str(slow), VISIBILITY_TIMEOUT_ENV: VISIBILITY_TIMEOUT})

    receipt_tasks.receipt_issue_single.delay(payments[0].pk)
    wait_for(
        lambda: DonationReceipt.objects.exclude(pdf="").count() == 1,
        timeout=60,
        what="the first receipt and its PDF",
        logs=logs_of(first),
    )
    (slow / "armed").touch()
    for payment in payments[1:]:
        receipt_tasks.receipt_issue_single.delay(payment.pk)
    drawn = wait_for(
        lambda: (slow / "drawn").exists() and (slow / "drawn").read_text(),
        timeout=60,
        what="the worker to draw the second number",
        logs=logs_of(first),
    )
    assert drawn == f"ZB-{year}-00002"
    first.kill()

    second = start_worker(**{VISIBILITY_TIMEOUT_ENV: VISIBILITY_TIMEOUT})
    wait_for(
        lambda: DonationReceipt.objects.exclude(pdf="").count() == 3,
        timeout=90,
        what="the new worker to make the other two receipts and their PDFs",
        logs=logs_of(first, second),
    )

    receipts = list(DonationReceipt.objects.order_by("number"))
    assert [receipt.number for receipt in receipts] == [f"ZB-{year}-{n:05d}" for n in (1, 2, 3)]
    assert DocumentSequence.objects.get(series="ZB", year=year).last_number == 3
    for payment in payments:
        payment.refresh_from_db()
        assert payment.receipt is not None
        assert list(payment.receipt.payments.all()) == [payment]
    assert sorted(receipt.total for receipt in receipts) == [
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("40.00"),
    ]


def test_worker_killed_during_the_annual_run_the_redelivered_run_finishes_it(
    private_broker, start_worker, organisation, tmp_path
):
    year = timezone.localdate().year - 1
    for number in range(3):
        patronage = PatronageFactory(
            patron=PatronFactory(name=f"Donor {number}"),
            tier=TierFactory(donation=True),
            interval=Interval.MONTH,
        )
        for month in (2, 3):
            paid_at = timezone.make_aware(datetime.datetime(year, month, 1, 10, 0))
            PaymentFactory(patronage=patronage, amount=Decimal("10.00"), paid_at=paid_at)
    slow = tmp_path / "slow-receipts"
    slow.mkdir()
    (slow / "armed").touch()
    first = start_worker(**{SLOW_RECEIPT_ENV: str(slow), VISIBILITY_TIMEOUT_ENV: VISIBILITY_TIMEOUT})

    receipt_tasks.receipt_batch_run.delay(year)
    wait_for(
        lambda: (slow / "drawn").exists(), timeout=60, what="the run to draw a number", logs=logs_of(first)
    )
    first.kill()
    second = start_worker(**{VISIBILITY_TIMEOUT_ENV: VISIBILITY_TIMEOUT})

    wait_for(
        lambda: "receipt_batch_run" in second.log_text() and " succeeded in " in second.log_text(),
        timeout=60,
        what="the new worker to run the redelivered message",
        logs=logs_of(first, second),
    )
    assert ReceiptBatch.objects.get(year=year).status == ReceiptBatch.Status.DONE
    assert DonationReceipt.objects.count() == 3
    assert DocumentSequence.objects.get(series="ZB", year=timezone.localdate().year).last_number == 3
