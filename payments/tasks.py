"""Thin, idempotent tasks of the payment edge."""

from celery import shared_task

from . import services


@shared_task
def process_event(event_id: int) -> bool:
    """One event (kept for messages queued before the drain existed, and for re-processing by hand)."""
    return services.event_process(event_id=event_id)


@shared_task(bind=True)
def drain_events(self) -> int:
    """Every stored event not tried yet, oldest first (``services.events_drain``)."""
    return services.events_drain(claim=self.request.id or "direct")


@shared_task
def sweep_events() -> int:
    """Every few minutes: the safety net for events whose task was lost."""
    return services.events_sweep()


@shared_task
def reconcile_events(days: int = 3) -> tuple[int, int]:
    """Daily: fetch Stripe's recent events and process any that never arrived."""
    return services.events_reconcile(days=days)
