"""The webhook endpoint and the processing pipeline, with signed events shaped like Stripe's."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from fundraising.models import Patronage, Payment
from ledger.models import Posting, Transaction
from payments.models import WebhookEvent
from payments.services import event_process, events_sweep
from tests.factories import stripe as s
from tests.factories.fundraising import TierFactory

pytestmark = pytest.mark.usefixtures("eager_tasks")


def _balance(account: str) -> Decimal:
    return sum((p.amount for p in Posting.objects.filter(account__code=account)), Decimal("0.00"))


def _paid_invoice(fake, *, amount="10.00", fee="0.40", metadata=None, subscription_id=None, customer=None):
    subscription_id = subscription_id or s.new_id("sub")
    customer = customer or s.new_id("cus")
    settlement = fake.add_charge(amount_eur=Decimal(amount), fee_eur=Decimal(fee))
    inv = s.invoice(
        subscription_id=subscription_id, customer=customer, amount=Decimal(amount), metadata=metadata or {}
    )
    fake.add_invoice(inv, settlement=settlement)
    return inv, settlement


# --- The edge: verify, store, answer ------------------------------------------------------------


@pytest.mark.django_db
def test_signed_event_is_stored_and_answered_2xx(client, fake_stripe):
    raw = s.event("customer.created", s.resource("customer"))
    response = s.post_event(client, raw)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=raw["id"])
    assert stored.type == "customer.created"
    assert stored.processed_at is not None  # unknown types are stored and marked processed, nothing else


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    ["forged", "stale", "truncated", "oversized", "missing", "not_json", "not_an_event", "future"],
)
def test_bad_deliveries_get_400_and_write_nothing(client, settings, case):
    raw = s.event("invoice.paid", s.resource("invoice"))
    payload = json.dumps(raw).encode()
    header = s.signing.sign(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    if case == "forged":
        header = s.signing.sign(payload=payload, secret="whsec_someone_else")
    elif case == "stale":
        header = s.signing.sign(
            payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET, timestamp=s.now_ts() - 301
        )
    elif case == "future":
        header = s.signing.sign(
            payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET, timestamp=s.now_ts() + 600
        )
    elif case == "truncated":
        payload = payload[: len(payload) // 2]  # the signature was made over the whole body
    elif case == "oversized":
        settings.STRIPE_WEBHOOK_MAX_BYTES = 1024
        raw["data"]["object"]["description"] = "x" * 2000
        payload = json.dumps(raw).encode()
        header = s.signing.sign(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    elif case == "missing":
        header = ""
    elif case == "not_json":
        payload = b"this is not json"
        header = s.signing.sign(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    elif case == "not_an_event":
        payload = json.dumps({"id": "evt_1", "hello": "world"}).encode()
        header = s.signing.sign(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    response = client.post(
        "/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_webhook_accepts_post_only(client):
    assert client.get("/stripe/webhook/").status_code == 405


# --- Exactly once -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_invoice_paid_posts_once(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.40")
    raw = s.event("invoice.paid", inv)
    for _ in range(3):
        assert s.post_event(client, raw).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert Transaction.objects.filter(idempotency_key=f"stripe:charge:{settlement.charge_id}").count() == 1
    assert Payment.objects.count() == 1
    assert _balance("stripe") == Decimal("9.60")
    assert _balance("expense-payment-fees") == Decimal("0.40")


@pytest.mark.django_db
def test_invoice_paid_and_invoice_payment_paid_for_one_charge_post_once(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="25.00", fee="0.63")
    invoice_payment = s.resource("invoice_payment")
    invoice_payment.update(
        id=s.new_id("inpay"),
        invoice=inv["id"],
        status="paid",
        amount_paid=2500,
        currency="eur",
        payment={"type": "payment_intent", "payment_intent": settlement.payment_intent_id},
    )
    s.post_event(client, s.event("invoice_payment.paid", invoice_payment))
    s.post_event(client, s.event("invoice.paid", inv))
    assert Payment.objects.count() == 1
    assert Transaction.objects.count() == 1
    assert _balance("stripe") == Decimal("24.37")


@pytest.mark.django_db
def test_perk_tier_payment_books_net_income_and_vat(client, fake_stripe):
    tier = TierFactory(slug="supporter", monthly_amount=Decimal("11.90"), vat_rate=Decimal("19.00"))
    inv, _ = _paid_invoice(
        fake_stripe, amount="11.90", fee="0.43", metadata={"tier": tier.slug, "kind": "perk"}
    )
    s.post_event(client, s.event("invoice.paid", inv))
    # 11.90 gross with 19 % included: 10.00 net, 1.90 VAT (computed here, not by the code under test)
    assert _balance("income-patrons-perks") == Decimal("-10.00")
    assert _balance("vat-payable-19") == Decimal("-1.90")
    payment = Payment.objects.get()
    assert payment.kind == "perk" and payment.vat_amount == Decimal("1.90")
    assert payment.number.startswith("RP-")


@pytest.mark.django_db
def test_one_time_gift_books_gross_to_donations(client, fake_stripe):
    settlement = fake_stripe.add_charge(amount_eur=Decimal("50.00"), fee_eur=Decimal("1.00"))
    session = s.checkout_session(
        mode="payment",
        metadata={"kind": "donation", "interval": "once"},
        amount=Decimal("50.00"),
        payment_intent=settlement.payment_intent_id,
    )
    s.post_event(client, s.event("checkout.session.completed", session))
    assert _balance("income-donations") == Decimal("-50.00")
    assert _balance("expense-payment-fees") == Decimal("1.00")
    patronage = Patronage.objects.get()
    assert patronage.interval == "once" and patronage.status == "paid"
    assert patronage.patron.city == "Berlin"  # the address the receipt needs, from Checkout


@pytest.mark.django_db
def test_usd_payment_is_booked_in_eur_with_the_original_amount_kept(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.50")
    inv["currency"] = "usd"
    fake_stripe.invoices[inv["id"]] = inv
    fake_stripe.settlements[settlement.payment_intent_id] = s.Settlement(
        charge_id=settlement.charge_id,
        payment_intent_id=settlement.payment_intent_id,
        balance_transaction_id="txn_1",
        amount_eur=Decimal("9.20"),
        fee_eur=Decimal("0.50"),
        net_eur=Decimal("8.70"),
        exchange_rate=Decimal("0.92"),
    )
    s.post_event(client, s.event("invoice.paid", inv))
    income = Posting.objects.get(account__code="income-patrons-no-perks")
    assert income.amount == Decimal("-9.20")
    assert (income.original_amount, income.original_currency) == (Decimal("-10.00"), "USD")


# --- Order ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_subscription_deleted_then_older_updated_leaves_it_canceled(client, fake_stripe):
    sub_id, customer = s.new_id("sub"), s.new_id("cus")
    now = s.now_ts()
    deleted = s.event(
        "customer.subscription.deleted",
        s.subscription(
            subscription_id=sub_id, customer=customer, status="canceled", metadata={}, amount=Decimal("5")
        ),
        created=now,
    )
    older_update = s.event(
        "customer.subscription.updated",
        s.subscription(
            subscription_id=sub_id, customer=customer, status="active", metadata={}, amount=Decimal("5")
        ),
        created=now - 60,
    )
    s.post_event(client, deleted)
    s.post_event(client, older_update)
    patronage = Patronage.objects.get(stripe_subscription_id=sub_id)
    assert patronage.status == "canceled"
    assert patronage.ended_at is not None


@pytest.mark.django_db
def test_older_past_due_does_not_overwrite_newer_active(client, fake_stripe):
    sub_id, customer = s.new_id("sub"), s.new_id("cus")
    now = s.now_ts()
    for status, created in (("active", now), ("past_due", now - 120)):
        s.post_event(
            client,
            s.event(
                "customer.subscription.updated",
                s.subscription(
                    subscription_id=sub_id, customer=customer, status=status, metadata={}, amount=Decimal("5")
                ),
                created=created,
            ),
        )
    assert Patronage.objects.get(stripe_subscription_id=sub_id).status == "active"


@pytest.mark.django_db
def test_refund_before_its_payment_is_processed_once_the_payment_is(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.40")
    refund_id = s.new_id("re")
    fake_stripe.refunds[refund_id] = (Decimal("10.00"), Decimal("0.00"))
    refunded = s.event(
        "charge.refunded",
        s.charge_refunded(
            charge_id=settlement.charge_id, amount=Decimal("10.00"), refunded=[(refund_id, Decimal("10.00"))]
        ),
    )
    s.post_event(client, refunded)
    assert WebhookEvent.objects.get(stripe_id=refunded["id"]).processed_at is None  # waits for its payment
    s.post_event(client, s.event("invoice.paid", inv))
    events_sweep(older_than=datetime.timedelta(0))
    assert WebhookEvent.objects.get(stripe_id=refunded["id"]).processed_at is not None
    assert _balance("income-patrons-no-perks") == Decimal("0.00")
    assert Payment.objects.get().status == "refunded"


# --- Reversals ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_full_refund_reverses_income_and_vat_exactly_and_stripe_keeps_its_fee(client, fake_stripe):
    TierFactory(slug="friend", monthly_amount=Decimal("11.90"))
    inv, settlement = _paid_invoice(
        fake_stripe, amount="11.90", fee="0.43", metadata={"tier": "friend", "kind": "perk"}
    )
    s.post_event(client, s.event("invoice.paid", inv))
    refund_id = s.new_id("re")
    fake_stripe.refunds[refund_id] = (Decimal("11.90"), Decimal("0.00"))
    charge = s.charge_refunded(
        charge_id=settlement.charge_id, amount=Decimal("11.90"), refunded=[(refund_id, Decimal("11.90"))]
    )
    raw = s.event("charge.refunded", charge)
    s.post_event(client, raw)
    s.post_event(client, raw)  # a repeat changes nothing
    assert _balance("income-patrons-perks") == Decimal("0.00")
    assert _balance("vat-payable-19") == Decimal("0.00")
    assert _balance("stripe") == Decimal("11.47") - Decimal("11.90")
    assert _balance("expense-payment-fees") == Decimal("0.43")
    assert Transaction.objects.filter(idempotency_key=f"stripe:refund:{refund_id}").count() == 1


@pytest.mark.django_db
def test_two_partial_refunds_reverse_the_income_in_total(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="30.00", fee="0.70")
    s.post_event(client, s.event("invoice.paid", inv))
    first, second = s.new_id("re"), s.new_id("re")
    fake_stripe.refunds[first] = (Decimal("10.00"), Decimal("0.00"))
    fake_stripe.refunds[second] = (Decimal("20.00"), Decimal("0.00"))
    s.post_event(
        client,
        s.event(
            "charge.refunded",
            s.charge_refunded(
                charge_id=settlement.charge_id, amount=Decimal("30"), refunded=[(first, Decimal("10"))]
            ),
        ),
    )
    payment = Payment.objects.get()
    assert payment.status == "partially_refunded"
    s.post_event(
        client,
        s.event(
            "charge.refunded",
            s.charge_refunded(
                charge_id=settlement.charge_id,
                amount=Decimal("30"),
                refunded=[(first, Decimal("10")), (second, Decimal("20"))],
            ),
        ),
    )
    assert _balance("income-patrons-no-perks") == Decimal("0.00")
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refunded_amount == Decimal("30.00")


@pytest.mark.django_db
def test_lost_dispute_reverses_income_and_books_the_fee(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="20.00", fee="0.55")
    s.post_event(client, s.event("invoice.paid", inv))
    dispute_id = s.new_id("dp")
    fake_stripe.disputes[dispute_id] = (Decimal("20.00"), Decimal("15.00"))
    now = s.now_ts()
    s.post_event(
        client,
        s.event(
            "charge.dispute.created",
            s.dispute(
                dispute_id=dispute_id,
                charge_id=settlement.charge_id,
                amount=Decimal("20"),
                status="needs_response",
            ),
            created=now - 10,
        ),
    )
    assert Payment.objects.get().status == "disputed"
    s.post_event(
        client,
        s.event(
            "charge.dispute.closed",
            s.dispute(
                dispute_id=dispute_id, charge_id=settlement.charge_id, amount=Decimal("20"), status="lost"
            ),
            created=now,
        ),
    )
    assert _balance("income-patrons-no-perks") == Decimal("0.00")
    assert _balance("receivables") == Decimal("0.00")
    assert _balance("expense-payment-fees") == Decimal("15.55")
    assert _balance("stripe") == Decimal("19.45") - Decimal("35.00")
    assert Payment.objects.get().status == "dispute_lost"


@pytest.mark.django_db
def test_won_dispute_returns_the_money_and_keeps_the_income(client, fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="20.00", fee="0.55")
    s.post_event(client, s.event("invoice.paid", inv))
    dispute_id = s.new_id("dp")
    fake_stripe.disputes[dispute_id] = (Decimal("20.00"), Decimal("15.00"))
    s.post_event(
        client,
        s.event(
            "charge.dispute.closed",
            s.dispute(
                dispute_id=dispute_id, charge_id=settlement.charge_id, amount=Decimal("20"), status="won"
            ),
        ),
    )
    assert _balance("income-patrons-no-perks") == Decimal("-20.00")
    assert _balance("receivables") == Decimal("0.00")
    assert Payment.objects.get().status == "paid"


@pytest.mark.django_db
def test_payout_moves_money_from_stripe_to_the_bank_once(client, fake_stripe):
    raw = s.event("payout.paid", s.payout(payout_id=s.new_id("po"), amount=Decimal("1234.56")))
    s.post_event(client, raw)
    s.post_event(client, raw)
    assert _balance("bank") == Decimal("1234.56")
    assert _balance("stripe") == Decimal("-1234.56")


@pytest.mark.django_db
def test_payment_in_a_closed_month_is_booked_on_the_first_open_day(client, fake_stripe):
    from ledger.models import ClosedMonth

    today = timezone.localdate()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    ClosedMonth.objects.create(month=last_month)
    paid_at = int(
        datetime.datetime.combine(
            last_month.replace(day=15), datetime.time(12), tzinfo=datetime.UTC
        ).timestamp()
    )
    settlement = fake_stripe.add_charge(amount_eur=Decimal("10.00"), fee_eur=Decimal("0.40"))
    inv = s.invoice(
        subscription_id=s.new_id("sub"),
        customer=s.new_id("cus"),
        amount=Decimal("10"),
        metadata={},
        paid_at=paid_at,
    )
    fake_stripe.add_invoice(inv, settlement=settlement)
    s.post_event(client, s.event("invoice.paid", inv))
    txn = Transaction.objects.get()
    assert txn.booking_date == today.replace(day=1)
    assert f"original date {last_month.replace(day=15):%Y-%m-%d}" in txn.source_reference
    assert ClosedMonth.objects.filter(month=last_month).exists()  # the closed month stays closed


# --- Faults ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_arriving_while_redis_is_down_are_processed_once_it_is_back(client, fake_stripe, monkeypatch):
    from kombu.exceptions import OperationalError

    from payments import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    working_delay = tasks.drain_events.delay
    monkeypatch.setattr(tasks.drain_events, "delay", broker_down)
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.40")
    response = s.post_event(client, s.event("invoice.paid", inv))
    assert response.status_code == 200  # stored and answered: Stripe does not need to resend
    assert WebhookEvent.objects.unprocessed().count() == 1
    assert Transaction.objects.count() == 0
    monkeypatch.setattr(
        tasks.drain_events, "delay", working_delay
    )  # Redis is back; the sweep finds the event
    assert events_sweep(older_than=datetime.timedelta(0)) == 1
    assert events_sweep(older_than=datetime.timedelta(0)) == 0
    assert Transaction.objects.filter(idempotency_key=f"stripe:charge:{settlement.charge_id}").count() == 1


@pytest.mark.django_db
def test_processing_twice_posts_once(fake_stripe, client, monkeypatch):
    from payments import tasks

    monkeypatch.setattr(tasks.drain_events, "delay", lambda *a, **k: None)  # the task was lost
    inv, _ = _paid_invoice(fake_stripe)
    s.post_event(client, s.event("invoice.paid", inv))
    event = WebhookEvent.objects.get()
    assert event_process(event_id=event.pk) is True
    assert event_process(event_id=event.pk) is False
    assert Transaction.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_invoice_paid_delivered_50_times_concurrently_posts_one_transaction(fake_stripe, monkeypatch):
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.40")
    raw = s.event("invoice.paid", inv)
    payload, header = s.signed_body(raw)
    barrier = threading.Barrier(50)
    statuses = []

    def deliver():
        try:
            barrier.wait()
            response = Client().post(
                "/stripe/webhook/",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            statuses.append(response.status_code)
            # each delivery also processes, as 50 workers racing on one event would
            event_process(event_id=WebhookEvent.objects.get(stripe_id=raw["id"]).pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 50
    assert WebhookEvent.objects.count() == 1
    assert Transaction.objects.filter(idempotency_key=f"stripe:charge:{settlement.charge_id}").count() == 1
    assert Payment.objects.count() == 1
    assert _balance("stripe") == Decimal("9.60")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_events_for_one_charge_processed_concurrently_post_once(fake_stripe):
    inv, settlement = _paid_invoice(fake_stripe, amount="10.00", fee="0.40")
    events = [
        WebhookEvent.objects.create(
            stripe_id=s.new_id("evt"),
            type="invoice.paid",
            created=timezone.now(),
            payload=s.event("invoice.paid", inv),
        )
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(events))
    errors = []

    def process(event_id):
        try:
            barrier.wait()
            event_process(event_id=event_id)
        except Exception as error:  # a loser of the race may fail; the sweep retries it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=process, args=(event.pk,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events_sweep(older_than=datetime.timedelta(0))
    assert Payment.objects.count() == 1
    assert Transaction.objects.count() == 1
    assert WebhookEvent.objects.unprocessed().count() == 0


@pytest.mark.django_db
def test_metadata_set_elsewhere_does_not_break_processing(client, fake_stripe):
    inv, _ = _paid_invoice(fake_stripe, metadata={"checkout_attempt": "not-a-uuid", "kind": "nonsense"})
    s.post_event(client, s.event("invoice.paid", inv))
    assert WebhookEvent.objects.unprocessed().count() == 0
    assert Payment.objects.get().kind == "donation"
