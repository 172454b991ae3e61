"""Workflows of the payment edge: receive a webhook, process stored events, sweep and reconcile.

A webhook is verified, stored (unique on Stripe's event id) and answered at once; after commit it asks for
a *drain* (``events_drain_request``), one task that processes every stored, untried event oldest first.
Asking costs one Redis round trip while a drain is already on its way, instead of a Celery message per
event, so a burst of events is taken in as fast as the database stores them (docs/performance.md). Processing turns the raw event into dataclasses (``normalise``, with Stripe look-ups made
outside any database transaction) and hands each to the handlers the domain apps subscribed, inside one
transaction that also marks the event processed. Handlers are keyed on Stripe's object ids, so a
replay, a duplicate or a reconcile run books nothing twice.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import signing
from .errors import InvalidSignature
from .gateway import gateway as default_gateway
from .models import WebhookEvent
from .normalise import normalise, timestamp

logger = logging.getLogger(__name__)

Handler = Callable[[object], None]
_handlers: dict[type, list[Handler]] = defaultdict(list)

MAX_SWEEP_ATTEMPTS = 10

# Metadata key that says which domain a Checkout Session (and its payment) belongs to. Events without
# it belong to patrons (sessions made before sponsorships existed, or in the Dashboard).
PURPOSE_KEY = "purpose"
DEFAULT_PURPOSE = "patronage"
_charge_owners: dict[str, Callable[[str], bool]] = {}


def subscribe(event_class: type, handler: Handler) -> None:
    """Domain apps call this in ``AppConfig.ready()``: ``handler(event)`` runs for each such dataclass."""
    if handler not in _handlers[event_class]:
        _handlers[event_class].append(handler)


def purpose_of(metadata: dict) -> str:
    """The domain a session's or payment's metadata names (``DEFAULT_PURPOSE`` when it names none)."""
    return (metadata or {}).get(PURPOSE_KEY) or DEFAULT_PURPOSE


def charge_owner_register(purpose: str, knows: Callable[[str], bool]) -> None:
    """Domain apps call this in ``ready()``: ``knows(charge_id)`` is True when they booked that charge.

    Refunds, disputes and fraud warnings name only a charge; this tells each handler whose it is."""
    _charge_owners[purpose] = knows


def charge_owner(charge_id: str) -> str | None:
    """The purpose of the domain that booked ``charge_id``, or None while nobody has (yet)."""
    for purpose, knows in _charge_owners.items():
        if charge_id and knows(charge_id):
            return purpose
    return None


def events_dispatch(meanings) -> None:
    """Hand each normalised event to the handlers subscribed for its class (in the caller's transaction).

    Event processing calls it; so does the demo seeder, so demo data goes through the same services."""
    for meaning in meanings:
        for handler in _handlers.get(type(meaning), []):
            handler(meaning)


def webhook_receive(*, payload: bytes, signature_header: str) -> tuple[WebhookEvent, bool]:
    """Verify and store one webhook delivery; queue its processing once stored. Returns (event, new).

    Raises ``InvalidSignature`` (nothing is written) for a bad signature, an old timestamp, an
    oversized or malformed body.
    """
    if len(payload) > settings.STRIPE_WEBHOOK_MAX_BYTES:
        raise InvalidSignature(f"The body is larger than {settings.STRIPE_WEBHOOK_MAX_BYTES} bytes.")
    raw = signing.verify(payload=payload, header=signature_header, secret=settings.STRIPE_WEBHOOK_SECRET)
    return event_store(raw=raw, source="webhook")


def event_store(*, raw: dict, source: str) -> tuple[WebhookEvent, bool]:
    """Store a raw event unless its id is known; ask for a drain after commit if it is new."""
    try:
        # Outside a transaction this is BEGIN, INSERT, COMMIT; inside one (reconcile, tests) a savepoint, so
        # a duplicate id leaves the caller's transaction usable.
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                stripe_id=raw["id"],
                type=raw["type"],
                livemode=bool(raw.get("livemode")),
                created=timestamp(raw["created"]),
                payload=raw,
                source=source,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_id=raw["id"]), False
    transaction.on_commit(events_drain_request)
    return event, True


# --- The drain: one task processes what is stored -------------------------------------------------------
#
# Two keys in the shared cache (Redis):
# - REQUESTED: set by whoever stored an event and queued a drain; a drain deletes it *before* it reads the
#   stored events, so an event committed after that read finds it gone and queues a drain of its own;
# - LOCK: the running drain's task id; one drain at a time, the same message redelivered after its worker
#   died takes over at once, anyone else after the lock expires.
# A drain that finds the lock taken simply ends: the running one checks REQUESTED after it lets go of the
# lock and goes round again if anyone asked meanwhile. If Redis is unavailable nothing is queued and the
# periodic sweep (``events_sweep``) processes the events; no event is lost either way, only delayed.

DRAIN_REQUESTED_KEY = "payments:drain:requested"
DRAIN_LOCK_KEY = "payments:drain:lock"
DRAIN_REQUEST_SECONDS = 60  # a drain queued but not started within this time is queued again
DRAIN_LOCK_SECONDS = 5 * 60
DRAIN_RUN_SECONDS = 60  # then a fresh task continues, well within the task time limit
DRAIN_BATCH = 100


def events_drain_request() -> None:
    """Make sure a drain will see every event stored so far: queue one unless one is already on its way."""
    from .tasks import drain_events

    try:
        if cache.add(DRAIN_REQUESTED_KEY, "1", DRAIN_REQUEST_SECONDS):
            try:
                drain_events.delay()
            except Exception:
                cache.delete(DRAIN_REQUESTED_KEY)  # let the next event try again
                raise
    except Exception:
        logger.exception("payments: could not queue the drain; the periodic sweep will process the events")


def _drain_lock(claim: str) -> bool:
    return cache.add(DRAIN_LOCK_KEY, claim, DRAIN_LOCK_SECONDS) or cache.get(DRAIN_LOCK_KEY) == claim


def _drain_unlock(claim: str) -> None:
    if cache.get(DRAIN_LOCK_KEY) == claim:
        cache.delete(DRAIN_LOCK_KEY)


def events_drain(*, claim: str, run_seconds: float = DRAIN_RUN_SECONDS) -> int:
    """Process every stored event not tried yet, oldest first; returns how many this call processed.

    An event whose processing fails is recorded on it (attempts, error) and left to the sweep, which retries
    it with the others that failed. Safe beside the sweep and a redelivered drain: ``event_process`` locks
    and re-checks each event."""
    deadline = time.monotonic() + run_seconds
    done = 0
    tried: set[int] = set()
    while _drain_lock(claim):
        try:
            cache.delete(DRAIN_REQUESTED_KEY)
            while time.monotonic() < deadline:
                batch = [
                    pk
                    for pk in WebhookEvent.objects.unprocessed()
                    .filter(attempts=0)
                    .order_by("received_at", "pk")
                    .values_list("pk", flat=True)[:DRAIN_BATCH]
                    if pk not in tried
                ]
                if not batch:
                    break
                for event_id in batch:
                    tried.add(event_id)
                    try:
                        done += event_process(event_id=event_id)
                    except Exception:  # noqa: S112 (logged and recorded on the event; the sweep retries it)
                        continue
        finally:
            _drain_unlock(claim)
        if time.monotonic() >= deadline:
            events_drain_request()  # out of time with events perhaps left: a fresh task goes on
            break
        if cache.get(DRAIN_REQUESTED_KEY) is None:
            break
    return done


def event_process(*, event_id: int, gateway=None) -> bool:
    """Process one stored event, once. Returns True if this call processed it.

    Safe to run twice and from two workers at once: the event row is locked and re-checked inside the
    transaction that runs the handlers, and every handler is idempotent on Stripe's ids.
    """
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return False
    try:
        meanings = normalise(
            event.payload, gateway=gateway or default_gateway()
        )  # Stripe look-ups: no transaction
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().get(pk=event_id)
            if locked.processed_at is not None:
                return False
            events_dispatch(meanings)
            locked.processed_at = timezone.now()
            locked.attempts += 1
            locked.last_error = ""
            locked.save(update_fields=["processed_at", "attempts", "last_error"])
    except Exception as error:
        WebhookEvent.objects.filter(pk=event_id).update(
            attempts=event.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.exception("payments: processing %s %s failed", event.type, event.stripe_id)
        raise
    return True


def events_sweep(*, older_than: datetime.timedelta = datetime.timedelta(minutes=2)) -> int:
    """Process events stored but never processed (Redis was down, a worker died). Returns how many."""
    done = 0
    stale = WebhookEvent.objects.stale(older_than=older_than).filter(attempts__lt=MAX_SWEEP_ATTEMPTS)
    for event_id in stale.order_by("created").values_list("pk", flat=True)[:500]:
        try:
            done += event_process(event_id=event_id)
        except Exception:  # noqa: S112 (logged and recorded on the event; the next sweep tries again)
            continue
    return done


def events_reconcile(*, days: int, gateway=None) -> tuple[int, int]:
    """Fetch Stripe's events of the last ``days`` (at most 30) and store and process any we missed.

    Returns (events seen, events that were missing).
    """
    if not 1 <= days <= 30:
        raise ValueError("Stripe keeps events for 30 days: choose 1 to 30 days.")
    gateway = gateway or default_gateway()
    since = timezone.now() - datetime.timedelta(days=days)
    seen = missing = 0
    for raw in gateway.events_list(since=since):
        seen += 1
        if not signing.storable(
            raw
        ):  # the same rule as for webhooks (signing.verify): PostgreSQL stores no NUL
            logger.error("payments: event %s from Stripe's API cannot be stored; skipped", raw.get("id"))
            continue
        event, new = event_store(raw=raw, source="reconcile")
        if new:
            missing += 1
        if event.processed_at is None:
            try:
                event_process(event_id=event.pk, gateway=gateway)
            except Exception:  # noqa: S112 (logged and recorded on the event)
                continue
    return seen, missing
