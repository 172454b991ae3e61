"""Scenario 2: Redis stops during a burst of 500 webhook events and starts again.

A private redis-server is the broker and the cache of both this process (the web app under test) and a
real Celery worker. Five senders post 500 signed events, every fifth an ``invoice.paid`` (100
payments to book), the others ``customer.updated`` (stored and processed, nothing to book); after 150 answers Redis is
stopped (everything queued in it is lost: no persistence), after 100 more it is started again and the
rest follow. The webhook answers 2xx throughout, because the event is stored before its processing is
queued (``payments.services.events_drain_request`` logs a broker error and leaves the event to the sweep).

The worker is never restarted by hand: it reconnects by itself, which the test sees as events stored
after the restart being processed by it. Events whose task was lost (queued before the stop, or never
queued during it) are then processed by the safety net the beat runs every five minutes,
``payments.tasks.sweep_events``: the test calls the service it wraps, ``events_sweep``, in this process
with ``older_than=0`` instead of waiting the task's two minutes. In the end every event is stored once
and processed once: one payment and one ledger transaction per payment event.
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time

import pytest
from django.db import connections
from django.db.models import Count
from django.test import Client

from fundraising.models import Payment
from ledger.models import Transaction
from payments.models import WebhookEvent
from payments.services import events_sweep
from tests.factories import stripe as s

from .servers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = 500
PAYMENT_EVERY = 5  # every fifth event is a payment
SENDERS = 5
STOP_AFTER = 150  # answers before Redis is stopped
DOWN_FOR = 100  # answers while it is down


def test_redis_stopped_during_a_burst_loses_no_event_and_processes_each_once(
    private_broker, start_worker, sandbox_paid_invoices, caplog
):
    caplog.set_level(logging.CRITICAL, logger="payments.services")  # 100 tracebacks of "could not queue"
    worker = start_worker()
    paid = sandbox_paid_invoices(EVENTS // PAYMENT_EVERY)
    deliveries: queue.Queue = queue.Queue()
    for number in range(EVENTS):
        if number % PAYMENT_EVERY == 0:
            deliveries.put(s.event("invoice.paid", paid[number // PAYMENT_EVERY].invoice))
        else:
            deliveries.put(s.event("customer.updated", s.resource("customer")))
    answers: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    # Deliveries while Redis is down are cheap (storing needs only PostgreSQL): the senders wait at DOWN_FOR
    # answers until Redis is back, so enough events are left to show the worker reconnecting.
    down_until: dict[str, int | None] = {"answers": None}
    redis_back = threading.Event()

    def send():
        client = Client()
        try:
            while True:
                limit = down_until["answers"]
                if limit is not None and not redis_back.is_set():
                    with lock:
                        reached = len(answers) >= limit
                    if reached:
                        redis_back.wait(timeout=120)
                try:
                    raw = deliveries.get_nowait()
                except queue.Empty:
                    return
                payload, header = s.signed_body(raw)
                response = client.post(
                    "/stripe/webhook/",
                    data=payload,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=header,
                )
                with lock:
                    answers.append((raw["id"], response.status_code))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    started = time.monotonic()
    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    wait_for(lambda: len(answers) >= STOP_AFTER, timeout=120, what=f"{STOP_AFTER} answers")
    private_broker.redis.stop()
    stopped_at = len(answers)
    down_until["answers"] = stopped_at + DOWN_FOR
    wait_for(lambda: len(answers) >= stopped_at + DOWN_FOR, timeout=120, what="answers while Redis is down")
    private_broker.redis.start()
    restarted_at = len(answers)
    redis_back.set()
    for sender in senders:
        sender.join(timeout=180)
    sent = time.monotonic()

    assert not errors, errors
    assert len(answers) == EVENTS
    assert {status for _, status in answers} == {200}, "every delivery is acknowledged"
    assert WebhookEvent.objects.count() == EVENTS
    assert restarted_at - stopped_at >= DOWN_FOR

    # The worker reconnects by itself: events stored after the restart are processed by it.
    # (Each sender finishes at most one delivery it began before the restart.)
    after_restart = WebhookEvent.objects.filter(
        stripe_id__in=[i for i, _ in answers[restarted_at + SENDERS :]]
    )
    assert after_restart.count() >= 100
    wait_for(
        lambda: not after_restart.filter(processed_at__isnull=True).exists(),
        timeout=180,
        what="the worker to process the events stored after Redis came back",
        logs=worker.log_text,
    )
    caught_up = time.monotonic()
    # Then the sweep takes what the outage lost, as the beat would a few minutes later.
    lost = WebhookEvent.objects.unprocessed().count()
    swept = 0
    deadline = time.monotonic() + 180
    while WebhookEvent.objects.unprocessed().exists() and time.monotonic() < deadline:
        swept += events_sweep(older_than=datetime.timedelta(0))
    print(
        f"\nRedis down for {restarted_at - stopped_at} deliveries; {lost} events left unprocessed after the "
        f"worker caught up; the sweep processed {swept}. Sending took {sent - started:.1f} s, the worker "
        f"caught up {caught_up - sent:.1f} s later, the sweep took {time.monotonic() - caught_up:.1f} s."
    )

    assert WebhookEvent.objects.unprocessed().count() == 0
    assert lost > 0, "the outage lost some tasks, so the sweep had work to do"
    assert WebhookEvent.objects.values("stripe_id").distinct().count() == EVENTS
    assert Payment.objects.count() == len(paid)
    assert Payment.objects.values("stripe_charge_id").distinct().count() == len(paid)
    assert Transaction.objects.count() == len(paid)
    booked = Transaction.objects.values("idempotency_key").annotate(times=Count("id"))
    assert {row["idempotency_key"]: row["times"] for row in booked} == {p.transaction_key: 1 for p in paid}
