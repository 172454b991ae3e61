"""Thin, idempotent tasks of grants. Each calls one service."""

from celery import shared_task

from . import reminders


@shared_task
def daily() -> dict[str, int]:
    """Milestone reminders (14 and 3 days ahead, overdue) and grant-end reminders (60 days ahead), each once."""
    return reminders.grant_reminders_send()
