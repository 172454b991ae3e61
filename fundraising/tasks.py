"""Thin, idempotent tasks of fundraising. Each calls one service."""

from celery import shared_task

from . import services


@shared_task
def daily() -> None:
    """Perks suspended after the grace period; receipts and invoices purged once their retention ended."""
    services.daily_upkeep()


from .receipt_tasks import *  # noqa
