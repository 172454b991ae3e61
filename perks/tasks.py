"""Thin, idempotent tasks of perks."""

from celery import shared_task

from . import services


@shared_task
def sync_entitlements() -> int:
    """Hourly: grace periods end without any event, so a pass over running perk patronages catches them."""
    return services.entitlements_sync_all()
