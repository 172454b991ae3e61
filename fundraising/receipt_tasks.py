"""Tasks of donation receipts: thin, idempotent wrappers around ``fundraising.receipts``.

Imported into ``fundraising.tasks``; each task carries its name under ``fundraising.tasks`` so the beat
schedule (``fundraising.tasks.annual_receipts_if_due``) and queued messages find it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import receipts
from .models import DonationReceipt, Payment

logger = logging.getLogger(__name__)

# The January run waits a few days for late December payments (webhooks, the daily reconciliation).
ANNUAL_RUN_FIRST_DAY = 5

__all__ = [
    "annual_receipts_if_due",
    "receipt_batch_run",
    "receipt_issue_single",
    "receipt_pdf_render",
]


@shared_task(name="fundraising.tasks.receipt_pdf_render")
def receipt_pdf_render(receipt_id: int) -> None:
    """Render and keep the receipt's PDF (nothing happens if it is already stored); for an annual receipt,
    then tell the donor it is ready (a one-time gift's receipt is in its thank-you e-mail)."""
    receipt = (
        DonationReceipt.objects.select_related("patron").filter(pk=receipt_id, purged_at__isnull=True).first()
    )
    if receipt is None:
        return
    receipts.receipt_pdf_store(receipt=receipt)
    receipts.receipt_ready_announce(receipt=receipt)


@shared_task(name="fundraising.tasks.receipt_issue_single")
def receipt_issue_single(payment_id: int) -> None:
    """The receipt for a one-time donation. A refusal fails the job, so finance sees why in failed jobs."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.receipt_id is not None:
        return
    receipts.receipt_issue_single(payment=payment)


@shared_task(name="fundraising.tasks.receipt_batch_run", bind=True)
def receipt_batch_run(self, year: int) -> None:
    # The message's id claims the run: if this worker dies, the same message redelivered takes it over.
    receipts.receipt_batch_run(year=year, claim=self.request.id or "")


@shared_task(name="fundraising.tasks.annual_receipts_if_due")
def annual_receipts_if_due() -> None:
    """Run daily by the beat: from 5 January on, the annual receipts for last year (once per year)."""
    today = timezone.localdate()
    if today.month == 1 and today.day >= ANNUAL_RUN_FIRST_DAY:
        receipts.receipt_batch_run(year=today.year - 1)
