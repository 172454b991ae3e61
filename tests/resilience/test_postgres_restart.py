"""Scenario 4: PostgreSQL restarts during a burst of webhook deliveries.

A private PostgreSQL cluster holds a copy of the test database (schema and the rows the migrations
load), and gunicorn (2 workers, persistent database connections as in production) serves the project
on it. Four senders deliver 200 signed events over HTTP; after 60 answers the cluster is restarted with
``pg_ctl restart -m fast`` (open transactions rolled back, every connection cut), and the last 50
events are sent once it is back, so the service must recover by itself. Stripe's side of the
contract is checked: no event got a 2xx before it was stored, the deliveries that failed got a 5xx, and
sending those again (as Stripe retries) succeeds; in the end every event is stored exactly once.
"""

from __future__ import annotations

import queue
import threading
import time

import pytest
from django.db import connection

from tests.factories import stripe as s

from .servers import WebServer, http_post, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EVENTS = 200
SENDERS = 4
RESTART_AFTER = 60
AFTER_RESTART = 50  # events held back until the restart is over
DATABASE = "patronage_resilience_restart"


def deliver(server: WebServer, raw: dict) -> tuple[int | None, str]:
    payload, header = s.signed_body(raw)  # signed at each delivery, as Stripe signs each attempt
    return http_post(
        f"{server.base_url}/stripe/webhook/",
        body=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )


def test_postgres_restarted_during_a_burst_acknowledges_only_stored_events(private_postgres):
    private_postgres.copy_database(source_settings=connection.settings_dict, name=DATABASE)
    events = [s.event("customer.updated", s.resource("customer")) for _ in range(EVENTS)]
    pending: queue.Queue = queue.Queue()
    for raw in events[:-AFTER_RESTART]:
        pending.put(raw)
    answers: list[tuple[str, int | None, str]] = []
    lock = threading.Lock()

    def stored_ids() -> set[str]:
        with private_postgres.connect(DATABASE) as database:
            return {row[0] for row in database.execute("SELECT stripe_id FROM payments_webhookevent")}

    with WebServer(database_url=private_postgres.url(DATABASE)) as server:

        def send():
            while True:
                raw = pending.get(timeout=120)
                if raw is None:
                    return
                status, body = deliver(server, raw)
                with lock:
                    answers.append((raw["id"], status, body))

        senders = [threading.Thread(target=send) for _ in range(SENDERS)]
        for sender in senders:
            sender.start()
        wait_for(lambda: len(answers) >= RESTART_AFTER, timeout=120, what=f"{RESTART_AFTER} answers")
        private_postgres.restart()
        for raw in [*events[-AFTER_RESTART:], *[None] * SENDERS]:
            pending.put(raw)
        for sender in senders:
            sender.join(timeout=180)
        assert len(answers) == EVENTS

        acknowledged = {
            event_id for event_id, status, _ in answers if status is not None and 200 <= status < 300
        }
        failed = [
            (event_id, status, body) for event_id, status, body in answers if event_id not in acknowledged
        ]
        assert acknowledged <= stored_ids(), "an event was acknowledged that is not stored"
        assert failed, "the restart hit the burst: some deliveries failed"
        assert all(status is not None and status >= 500 for _, status, _ in failed), failed[:3]
        held_back = {raw["id"] for raw in events[-AFTER_RESTART:]}
        assert held_back & acknowledged, "deliveries after the restart succeed without anyone stepping in"

        # Stripe sends the failed ones again (with backoff); each now succeeds.
        by_id = {raw["id"]: raw for raw in events}
        retried: dict[str, int | None] = {}
        for _ in range(10):
            retried = {event_id: deliver(server, by_id[event_id])[0] for event_id, _, _ in failed}
            if all(status == 200 for status in retried.values()):
                break
            time.sleep(0.5)
        assert set(retried.values()) == {200}, (retried, server.log_text())
        print(
            f"\n{len(failed)} of {EVENTS} deliveries failed with {sorted({st for _, st, _ in failed})} "
            f"during the restart ({len(held_back - acknowledged)} of the {AFTER_RESTART} sent after it); "
            "all succeeded when sent again."
        )

    with private_postgres.connect(DATABASE) as database:
        (rows, distinct) = database.execute(
            "SELECT count(*), count(DISTINCT stripe_id) FROM payments_webhookevent"
        ).fetchone()
    assert stored_ids() == set(by_id)
    assert rows == distinct == EVENTS
