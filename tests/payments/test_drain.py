"""The drain (payments/services.py): stored events are processed by one task that asks for them, never lost
between two drains, never processed twice, and a failing event does not hold up the others."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from ledger.models import Transaction
from payments import services, tasks
from payments.models import WebhookEvent
from payments.services import DRAIN_LOCK_KEY, DRAIN_REQUESTED_KEY, events_drain, events_sweep
from tests.factories import stripe as s

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_drain_in_flight():
    cache.delete_many([DRAIN_REQUESTED_KEY, DRAIN_LOCK_KEY])
    yield
    cache.delete_many([DRAIN_REQUESTED_KEY, DRAIN_LOCK_KEY])


def paid_invoice(fake, amount="10.00"):
    settlement = fake.add_charge(amount_eur=Decimal(amount), fee_eur=Decimal("0.40"))
    inv = s.invoice(
        subscription_id=s.new_id("sub"), customer=s.new_id("cus"), amount=Decimal(amount), metadata={}
    )
    fake.add_invoice(inv, settlement=settlement)
    return inv, settlement


def charge_transactions(settlement) -> int:
    return Transaction.objects.filter(idempotency_key=f"stripe:charge:{settlement.charge_id}").count()


def test_a_burst_is_processed_by_one_drain_each_event_once(client, fake_stripe, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: queued.append(1))  # held back, as in a burst
    settlements = []
    for _ in range(12):
        inv, settlement = paid_invoice(fake_stripe)
        settlements.append(settlement)
        assert s.post_event(client, s.event("invoice.paid", inv)).status_code == 200

    assert len(queued) == 1  # one drain asked for, not twelve tasks
    assert WebhookEvent.objects.unprocessed().count() == 12

    assert events_drain(claim="drain-1") == 12
    assert events_drain(claim="drain-2") == 0
    assert [charge_transactions(settlement) for settlement in settlements] == [1] * 12
    assert cache.get(DRAIN_REQUESTED_KEY) is None  # the next event asks again


def test_an_event_stored_while_a_drain_runs_is_taken_by_that_drain(client, fake_stripe):
    cache.set(DRAIN_LOCK_KEY, "running-drain")  # a drain is working in another process
    inv, settlement = paid_invoice(fake_stripe)

    s.post_event(client, s.event("invoice.paid", inv))  # its own drain (eager) finds the lock taken and ends

    assert charge_transactions(settlement) == 0
    assert cache.get(DRAIN_REQUESTED_KEY) == "1"  # ...but it left word for the running drain
    assert events_drain(claim="running-drain") == 1  # which goes round once more before it ends
    assert charge_transactions(settlement) == 1
    assert cache.get(DRAIN_LOCK_KEY) is None


def test_a_redelivered_drain_takes_over_its_own_lock_at_once(client, fake_stripe, monkeypatch):
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: None)
    inv, settlement = paid_invoice(fake_stripe)
    s.post_event(client, s.event("invoice.paid", inv))
    cache.set(DRAIN_LOCK_KEY, "task-7")  # the worker running task-7 was killed; its lock stays

    assert events_drain(claim="someone-else") == 0
    assert events_drain(claim="task-7") == 1  # the same message, redelivered
    assert charge_transactions(settlement) == 1


def test_a_failing_event_is_left_to_the_sweep_and_does_not_hold_up_the_others(
    client, fake_stripe, monkeypatch
):
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: None)
    broken = s.event(
        "invoice.paid", s.invoice(subscription_id="sub_x", customer="cus_x", amount=Decimal("5"), metadata={})
    )
    s.post_event(client, broken)  # Stripe knows no such invoice: normalising it fails
    inv, settlement = paid_invoice(fake_stripe)
    s.post_event(client, s.event("invoice.paid", inv))

    assert events_drain(claim="drain") == 1

    failed = WebhookEvent.objects.get(stripe_id=broken["id"])
    assert failed.processed_at is None
    assert failed.attempts == 1 and failed.last_error
    assert charge_transactions(settlement) == 1
    assert events_drain(claim="drain") == 0  # not retried in a loop by the drain
    assert events_sweep(older_than=datetime.timedelta(0)) == 0  # the sweep tries it (and records the try)
    assert WebhookEvent.objects.get(stripe_id=broken["id"]).attempts == 2


def test_when_the_broker_refuses_the_next_event_asks_again(client, fake_stripe, monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down():
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(tasks.drain_events, "delay", broker_down)
    inv, _settlement = paid_invoice(fake_stripe)
    assert s.post_event(client, s.event("invoice.paid", inv)).status_code == 200
    assert cache.get(DRAIN_REQUESTED_KEY) is None  # not left claiming that a drain is on its way

    queued = []
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: queued.append(1))
    inv, _settlement = paid_invoice(fake_stripe)
    s.post_event(client, s.event("invoice.paid", inv))
    assert queued == [1]


def test_a_drain_out_of_time_hands_over_to_a_fresh_one(client, fake_stripe, monkeypatch):
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: None)
    for _ in range(3):
        inv, _settlement = paid_invoice(fake_stripe)
        s.post_event(client, s.event("invoice.paid", inv))
    queued = []
    monkeypatch.setattr(tasks.drain_events, "delay", lambda: queued.append(1))
    cache.delete(DRAIN_REQUESTED_KEY)

    assert events_drain(claim="slow", run_seconds=0) == 0

    assert queued == [1]
    assert cache.get(DRAIN_LOCK_KEY) is None
    assert services.events_drain(claim="fresh") == 3


def test_without_the_cache_the_event_is_stored_and_the_sweep_takes_it(client, fake_stripe, monkeypatch):
    class CacheDown:
        def __getattr__(self, name):
            raise ConnectionError("Redis is down")

    inv, settlement = paid_invoice(fake_stripe)
    with monkeypatch.context() as patch:
        patch.setattr(services, "cache", CacheDown())
        assert s.post_event(client, s.event("invoice.paid", inv)).status_code == 200
    assert charge_transactions(settlement) == 0

    assert events_sweep(older_than=datetime.timedelta(0)) == 1
    assert charge_transactions(settlement) == 1
