"""Scheduled work of the reports: draft last month's report on the first of each month; watch the §64(3) AO
limit of the taxable business daily."""

from __future__ import annotations

from celery import shared_task


@shared_task
def draft_previous_month() -> str:
    from .services import previous_month_draft

    return previous_month_draft().period


@shared_task
def threshold_monitor() -> list[int]:
    """E-mail finance when the taxable business's gross receipts reach 80 % or 100 % of the §64(3) AO limit.

    Idempotent: each year and level is alerted once (reports.tax.threshold_check). Returns the levels newly
    alerted."""
    from .tax import threshold_check

    return [alert.level for alert in threshold_check()]
