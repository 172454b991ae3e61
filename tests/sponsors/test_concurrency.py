"""Two workers at the same moment: a sponsor's payment is booked once, invoice numbers never repeat (PostgreSQL)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from ledger.models import Posting
from payments import types
from sponsors import services
from sponsors.models import Invoice
from tests.factories.sponsors import PackageFactory, SponsorFactory
from tests.ledger.conftest import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    class Emails:
        def __getattr__(self, name):
            return lambda **kwargs: None

    monkeypatch.setattr(services, "_emails", lambda: Emails())
    monkeypatch.setattr(services, "_invoice_document_queue", lambda **kwargs: None)


def run_together(*targets) -> list[BaseException]:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(target):
        try:
            barrier.wait(timeout=10)
            target()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def approved_invoice() -> Invoice:
    sponsorship = services.sponsorship_draft(
        sponsor=SponsorFactory(),
        package=PackageFactory(price=Decimal("6000.00")),
        start_date=timezone.localdate() + datetime.timedelta(days=2),
    )
    services.application_submit(sponsorship=sponsorship)
    return services.sponsorship_approve(sponsorship=sponsorship, by=None).invoices.get()


def balance(code: str) -> Decimal:
    return Posting.objects.filter(account__code=code).aggregate(total=Sum("amount"))["total"] or Decimal("0")


def test_the_same_stripe_payment_processed_by_two_workers_is_booked_once():
    require_postgres()
    invoice = approved_invoice()
    now = timezone.now()
    settlement = types.Settlement(
        charge_id="ch_race",
        payment_intent_id="pi_race",
        balance_transaction_id="txn_race",
        amount_eur=invoice.gross_amount,
        fee_eur=Decimal("1.60"),
        net_eur=invoice.gross_amount - Decimal("1.60"),
        exchange_rate=None,
    )

    def payment(event_id: str) -> types.PaymentSucceeded:
        return types.PaymentSucceeded(
            event_id=event_id,
            event_created=now,
            livemode=False,
            charge_id="ch_race",
            payment_intent_id="pi_race",
            invoice_id="",
            subscription_id="",
            customer_id="cus_1",
            checkout_session_id="cs_1",
            customer_email="billing@example.com",
            customer_name="",
            address=types.Address(),
            amount=invoice.gross_amount,
            tax_amount=Decimal("0"),
            currency="eur",
            paid_at=now,
            settlement=settlement,
            billing_reason="checkout",
            period_start=None,
            period_end=None,
            metadata={"purpose": "sponsorship", "invoice": invoice.number},
        )

    errors = run_together(
        lambda: services.payment_record(event=payment("evt_a")),
        lambda: services.payment_record(event=payment("evt_b")),
    )
    assert errors == []
    assert balance("stripe") == invoice.gross_amount - Decimal("1.60")
    assert balance("expense-payment-fees") == Decimal("1.60")
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_finance_marking_the_same_transfer_twice_at_once_books_it_once():
    require_postgres()
    invoice = approved_invoice()
    today = timezone.localdate()
    errors = run_together(
        lambda: services.invoice_mark_paid(invoice=invoice, paid_on=today, reference="SEPA 1", by=None),
        lambda: services.invoice_mark_paid(invoice=invoice, paid_on=today, reference="SEPA 1", by=None),
    )
    assert len(errors) == 1  # the second is told the invoice is paid already
    assert balance("bank") == invoice.gross_amount


def test_invoices_issued_at_the_same_moment_get_distinct_gap_free_numbers():
    require_postgres()
    sponsorships = []
    for _ in range(4):
        sponsorship = services.sponsorship_draft(
            sponsor=SponsorFactory(),
            package=PackageFactory(),
            start_date=timezone.localdate() + datetime.timedelta(days=2),
        )
        services.application_submit(sponsorship=sponsorship)
        sponsorships.append(sponsorship)
    errors = run_together(
        *[
            (lambda s=s: services.sponsorship_approve(sponsorship=s, by=None, issue_invoice=True))
            for s in sponsorships
        ]
    )
    assert errors == []
    year = timezone.localdate().year
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"RS-{year}-{n:05d}" for n in range(1, 5)]
