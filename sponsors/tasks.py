"""Thin, idempotent tasks of sponsors. Each calls one service."""

from celery import shared_task

from . import services


@shared_task
def invoice_document_make(invoice_id: int, send: bool = False) -> None:
    """Render and store an invoice's (or credit note's) PDF once, then e-mail it."""
    services.invoice_document_make(invoice_id=invoice_id, send=send)


@shared_task
def daily() -> None:
    """End expired placements, send renewal and payment reminders (each once)."""
    services.daily_upkeep()
