"""Stripe events on a real Celery worker (REDIS_URL set, CELERY_TASK_ALWAYS_EAGER=0, PostgreSQL).

Skipped elsewhere with the reason; the eager variants are in test_webhooks.py.
"""

from decimal import Decimal

import pytest

from fundraising import services
from fundraising.models import Patronage, Payment
from ledger.models import Transaction
from payments import sandbox
from payments.models import WebhookEvent
from tests.factories.fundraising import TierFactory
from tests.jobs.celery_worker import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def test_sandbox_checkout_events_are_booked_once_by_the_worker():
    tier = TierFactory(slug="worker-tier", monthly_amount=Decimal("5.00"))
    session = services.checkout_start(
        choice=services.CheckoutChoice(tier=tier, interval="month", amount=Decimal("5.00"), currency="eur"),
        user=None,
        language="en",
        client_ip="192.0.2.10",
        session_key="",
        success_url="http://testserver/thanks/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/",
    )
    sandbox.checkout_pay(
        session_id=session.id, card_number="4242424242424242", email="w@example.org", name="W"
    )
    wait_for(lambda: Payment.objects.filter(patronage__checkout_session_id=session.id).exists(), timeout=60)
    wait_for(lambda: not WebhookEvent.objects.unprocessed().exists(), timeout=60)
    payment = Payment.objects.get(patronage__checkout_session_id=session.id)
    assert (
        Transaction.objects.filter(idempotency_key=f"stripe:charge:{payment.stripe_charge_id}").count() == 1
    )
    assert Patronage.objects.get(checkout_session_id=session.id).status == "active"
