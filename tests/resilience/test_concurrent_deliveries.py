"""Scenario 1: Stripe delivers one signed event 50 times at once.

50 threads, each with its own database connection, post the same signed ``invoice.paid`` to the
webhook at the same moment (Django's test client: the whole request path, middleware included, without
a socket; pytest-django's live server refuses connections beyond a listen backlog of 10, which Stripe
would see as failed deliveries). The request that stores the event queues its processing for the real
Celery worker, and every thread then processes the event too, as 50 workers that all got it would.
The books must show it once.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from fundraising.models import Payment
from ledger.models import Posting, Transaction
from payments.models import WebhookEvent
from payments.services import event_process
from tests.factories import stripe as s

from .servers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVERIES = 50


def test_one_signed_event_delivered_50_times_at_once_is_stored_and_booked_once(
    celery_worker, sandbox_paid_invoices
):
    (paid,) = sandbox_paid_invoices(1)
    raw = s.event("invoice.paid", paid.invoice)
    payload, header = s.signed_body(raw)
    barrier = threading.Barrier(DELIVERIES, timeout=60)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def deliver():
        try:
            barrier.wait()
            response = Client().post(
                "/stripe/webhook/",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            answers.append((response.status_code, response.content.decode()))
            event_process(event_id=WebhookEvent.objects.get(stripe_id=raw["id"]).pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(DELIVERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert sorted(answers) == [(200, "already stored")] * (DELIVERIES - 1) + [(200, "stored")]
    wait_for(
        lambda: WebhookEvent.objects.unprocessed().count() == 0,
        timeout=60,
        what="the event to be processed",
        logs=celery_worker.log_text,
    )
    assert WebhookEvent.objects.filter(stripe_id=raw["id"]).count() == 1
    assert Payment.objects.count() == 1
    assert Transaction.objects.filter(idempotency_key=paid.transaction_key).count() == 1
    assert Transaction.objects.count() == 1
    assert sum(p.amount for p in Posting.objects.filter(account__code="stripe")) == Decimal("9.60")
