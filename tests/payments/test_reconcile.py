"""Reconciling with Stripe: events that never arrived as webhooks are stored and processed once.

The gateway is a small fake that lists events and answers the pipeline's look-ups
(``tests.factories.stripe.FakeStripe``); the domain's handlers are replaced by recorders so this tests
the payment edge alone.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments import services, types
from payments.models import WebhookEvent
from tests.factories.stripe import FakeStripe, event, invoice, new_id, subscription, unix

HOUR = 3600


@pytest.fixture
def handled(monkeypatch):
    """What the domain would have been told: every dataclass handed to a handler, in order."""
    monkeypatch.setattr(services, "_handlers", defaultdict(list))
    seen: list = []
    for kind in (types.PaymentSucceeded, types.SubscriptionChanged):
        services.subscribe(kind, seen.append)
    return seen


@pytest.fixture
def stripe_account():
    """Stripe holding three recent events (one we already have) and one from last week."""
    fake = FakeStripe()
    customer = new_id("cus")
    sub_id = new_id("sub")
    metadata = {"checkout_attempt": "7"}
    sub = subscription(
        subscription_id=sub_id, customer=customer, status="active", metadata=metadata, amount=Decimal("5.00")
    )
    paid = invoice(subscription_id=sub_id, customer=customer, amount=Decimal("5.00"), metadata=metadata)
    fake.add_invoice(paid, settlement=fake.add_charge(amount_eur=Decimal("5.00"), fee_eur=Decimal("0.40")))
    fake.events = [
        event("customer.subscription.created", sub, created=unix() - 5 * HOUR, event_id="evt_known"),
        event("customer.subscription.updated", sub, created=unix() - 4 * HOUR, event_id="evt_missed_update"),
        event("invoice.paid", paid, created=unix() - 3 * HOUR, event_id="evt_missed_invoice"),
        event("customer.subscription.updated", sub, created=unix() - 7 * 24 * HOUR, event_id="evt_last_week"),
    ]
    known = fake.events[0]
    WebhookEvent.objects.create(
        stripe_id=known["id"],
        type=known["type"],
        created=timezone.now(),
        payload=known,
        processed_at=timezone.now(),
    )
    return fake


@pytest.mark.django_db
def test_reconcile_stores_and_processes_the_missing_events_and_skips_known_ones(stripe_account, handled):
    seen, missing = services.events_reconcile(days=2, gateway=stripe_account)

    assert (seen, missing) == (3, 2)
    reconciled = WebhookEvent.objects.filter(source="reconcile").order_by("created")
    assert [(e.stripe_id, e.processed_at is not None) for e in reconciled] == [
        ("evt_missed_update", True),
        ("evt_missed_invoice", True),
    ]
    assert [(type(meaning).__name__, meaning.event_id) for meaning in handled] == [
        ("SubscriptionChanged", "evt_missed_update"),
        ("PaymentSucceeded", "evt_missed_invoice"),
    ]
    [payment] = [meaning for meaning in handled if isinstance(meaning, types.PaymentSucceeded)]
    assert payment.amount == Decimal("5.00")
    assert payment.settlement.fee_eur == Decimal("0.40")
    assert not WebhookEvent.objects.filter(stripe_id="evt_last_week").exists()


@pytest.mark.django_db
def test_reconcile_run_twice_processes_each_event_once(stripe_account, handled):
    services.events_reconcile(days=2, gateway=stripe_account)
    handled_after_first_run = len(handled)

    seen, missing = services.events_reconcile(days=2, gateway=stripe_account)

    assert (seen, missing) == (3, 0)
    assert len(handled) == handled_after_first_run == 2
    assert WebhookEvent.objects.count() == 3


@pytest.mark.django_db
def test_reconcile_processes_an_event_that_was_stored_but_never_processed(stripe_account, handled):
    stuck = stripe_account.events[1]
    WebhookEvent.objects.create(
        stripe_id=stuck["id"], type=stuck["type"], created=timezone.now(), payload=stuck, source="webhook"
    )

    seen, missing = services.events_reconcile(days=2, gateway=stripe_account)

    assert (seen, missing) == (3, 1)
    assert WebhookEvent.objects.get(stripe_id=stuck["id"]).processed_at is not None
    assert [meaning.event_id for meaning in handled] == ["evt_missed_update", "evt_missed_invoice"]


@pytest.mark.django_db
def test_command_reports_how_many_events_were_missing(stripe_account, handled, monkeypatch):
    monkeypatch.setattr(services, "default_gateway", lambda: stripe_account)
    out = StringIO()

    call_command("stripe_reconcile", "--days", "2", stdout=out)

    assert out.getvalue().strip() == "3 events at Stripe, 2 were missing and are now processed"
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["31", "0", "-1"])
def test_command_refuses_more_than_stripe_keeps_or_less_than_a_day(days, stripe_account, monkeypatch):
    monkeypatch.setattr(services, "default_gateway", lambda: stripe_account)

    with pytest.raises(CommandError, match="1 to 30"):
        call_command("stripe_reconcile", "--days", days)

    assert WebhookEvent.objects.count() == 1  # only the event that was there before


def test_command_refuses_days_that_are_not_a_number():
    with pytest.raises(CommandError):
        call_command("stripe_reconcile", "--days", "many")


@pytest.mark.django_db
def test_reconcile_skips_an_event_that_cannot_be_stored_and_takes_the_others(stripe_account, handled):
    # The rule webhooks follow (payments.signing.verify): PostgreSQL stores no NUL character.
    stripe_account.events[1]["data"]["object"]["description"] = "broken\x00text"

    seen, missing = services.events_reconcile(days=2, gateway=stripe_account)

    assert (seen, missing) == (3, 1)
    assert not WebhookEvent.objects.filter(stripe_id="evt_missed_update").exists()
    assert WebhookEvent.objects.get(stripe_id="evt_missed_invoice").processed_at is not None
