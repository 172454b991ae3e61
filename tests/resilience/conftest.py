"""Fixtures of the resilience suite (docs/resilience.md): private servers a test may stop, kill or restart.

The scenarios that need PostgreSQL carry the ``postgres`` marker, so the SQLite run skips them loudly
with the reason. Private servers (redis-server, PostgreSQL, Celery workers, gunicorn) listen on free
loopback ports and are stopped and removed when the test ends, whatever happened in it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from .servers import (
    CeleryWorkerProcess,
    PostgresServer,
    RedisServer,
    broker_for_this_process,
    reason_postgres_server_unavailable,
)


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in this process unless the test brings its own broker or worker."""
    if {"celery_worker", "private_broker"} & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("eager_tasks")
    yield


@pytest.fixture
def private_redis():
    """A redis-server of this test only, which the test may stop and start again."""
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server to start a private Redis")
    with RedisServer() as server:
        yield server


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test only, which the test may restart."""
    reason = reason_postgres_server_unavailable()
    if reason:
        pytest.skip(f"needs a private PostgreSQL: {reason}")
    with PostgresServer() as server:
        yield server


@dataclass(frozen=True)
class PaidInvoice:
    invoice: dict
    charge_id: str

    @property
    def transaction_key(self) -> str:
        """The idempotency key of the ledger transaction that books this payment."""
        return f"stripe:charge:{self.charge_id}"


@pytest.fixture
def sandbox_paid_invoices(transactional_db) -> Callable[[int], list[PaidInvoice]]:
    """``make(count)``: paid invoices (10.00 EUR, fee 0.40 EUR) as Stripe would report them.

    The stand-in for Stripe is the payments sandbox, whose objects live in the database, so a worker
    process answers the look-ups of ``invoice.paid`` (invoice payment, payment intent, charge, balance
    transaction) as this process does."""
    from django.utils import timezone

    from payments.models import SandboxObject
    from tests.factories import stripe as s

    def make(count: int) -> list[PaidInvoice]:
        now = int(timezone.now().timestamp())
        rows, paid = [], []
        for _ in range(count):
            invoice = s.invoice(
                subscription_id=s.new_id("sub"),
                customer=s.new_id("cus"),
                amount=Decimal("10.00"),
                metadata={},
            )
            intent_id, charge_id, balance_id = s.new_id("pi"), s.new_id("ch"), s.new_id("txn")
            objects = [
                {
                    "id": s.new_id("inpay"),
                    "object": "invoice_payment",
                    "invoice": invoice["id"],
                    "status": "paid",
                    "payment": {"type": "payment_intent", "payment_intent": intent_id},
                },
                {
                    "id": intent_id,
                    "object": "payment_intent",
                    "status": "succeeded",
                    "latest_charge": charge_id,
                },
                {
                    "id": charge_id,
                    "object": "charge",
                    "status": "succeeded",
                    "amount": 1000,
                    "currency": "eur",
                    "payment_intent": intent_id,
                    "balance_transaction": balance_id,
                },
                {
                    "id": balance_id,
                    "object": "balance_transaction",
                    "amount": 1000,
                    "fee": 40,
                    "net": 960,
                    "currency": "eur",
                    "exchange_rate": None,
                    "available_on": now + 2 * 86400,
                    "type": "charge",
                },
            ]
            rows += [SandboxObject(stripe_id=o["id"], kind=o["object"], data=o) for o in objects]
            paid.append(PaidInvoice(invoice=invoice, charge_id=charge_id))
        SandboxObject.objects.bulk_create(rows)
        return paid

    return make


@dataclass
class PrivateBroker:
    redis: RedisServer
    queue: str

    def queued(self) -> int:
        """Messages waiting in the queue (not those a worker holds unacknowledged)."""
        import redis

        try:
            return redis.Redis(port=self.redis.port, socket_connect_timeout=1).llen(self.queue)
        except redis.RedisError:
            return -1


@pytest.fixture
def private_broker(private_redis, settings, transactional_db):
    """This process sends its tasks to a queue on the private Redis, which is also its cache (as the
    one Redis of a production site is both)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": private_redis.url(),
            "KEY_PREFIX": "patronage",
        }
    }
    queue = f"resilience-{uuid.uuid4().hex[:10]}"
    with broker_for_this_process(broker_url=private_redis.url(), queue=queue):
        yield PrivateBroker(redis=private_redis, queue=queue)


@pytest.fixture
def start_worker(private_broker, transactional_db) -> Callable[..., CeleryWorkerProcess]:
    """Start a real worker on the private broker and the test database: ``start_worker(**env)``.

    Every worker started is stopped (or was killed) and its files removed when the test ends."""
    from django.db import connection

    workers: list[CeleryWorkerProcess] = []

    def start(**extra_env: str) -> CeleryWorkerProcess:
        worker = CeleryWorkerProcess(
            broker_url=private_broker.redis.url(),
            queue=private_broker.queue,
            database_settings=dict(connection.settings_dict),
            extra_env=extra_env,
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.close()
