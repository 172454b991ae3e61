"""Scheduled work of the reports: draft last month's report on the first of each month."""

from __future__ import annotations

from celery import shared_task


@shared_task
def draft_previous_month() -> str:
    from .services import previous_month_draft

    return previous_month_draft().period
