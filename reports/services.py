"""The month close: draft a month's report, publish it (closing the month in the ledger), re-open it.

Nothing here writes money. Publishing calls ``ledger_month_close`` (stored balances, month locked);
re-opening calls ``ledger_month_reopen`` (recorded with its reason). Each step is recorded as a
``ReportEvent`` and bumps the public cache version (``reports.cache``).
"""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.errors import LedgerError
from ledger.querysets import month_end, month_start
from ledger.services import ledger_month_close, ledger_month_reopen

from . import cache
from .models import MonthlyReport, ReportEvent

logger = logging.getLogger(__name__)

PUBLISH_PERMISSION = "reports.publish_monthlyreport"


def _who(user) -> dict:
    if user is None or not getattr(user, "pk", None):
        return {"by": None, "by_name": ""}
    return {"by": user, "by_name": user.get_username()[:150]}


def _require(user) -> None:
    if user is None or not user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied(_("Only finance staff can publish or re-open a monthly report."))


def report_draft(*, month: datetime.date, by=None) -> MonthlyReport:
    """The draft of ``month``'s report (created once; an existing report is returned unchanged)."""
    start = month_start(month)
    if month_end(start) >= timezone.localdate():
        raise ValidationError(_("%(month)s has not ended yet.") % {"month": f"{start:%Y-%m}"})
    with transaction.atomic():
        report, created = MonthlyReport.objects.get_or_create(month=start)
        if created:
            ReportEvent.objects.create(report=report, action=ReportEvent.Action.DRAFTED, **_who(by))
            cache.bump()
    return report


def report_commentary_save(
    *, report: MonthlyReport, commentary_en: str, commentary_de: str, by
) -> MonthlyReport:
    """Save the commentary of a report (also of a published one: words are not figures)."""
    _require(by)
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        if (report.commentary_en, report.commentary_de) == (commentary_en, commentary_de):
            return report
        report.commentary_en = commentary_en
        report.commentary_de = commentary_de
        report.save(update_fields=["commentary_en", "commentary_de"])
        ReportEvent.objects.create(report=report, action=ReportEvent.Action.EDITED, **_who(by))
    cache.bump()
    return report


def report_publish(*, report: MonthlyReport, by) -> MonthlyReport:
    """Publish a draft: close the month in the ledger (locking it) and show the report to the public.

    Months are published in order: an earlier draft must be published first, because closing a month
    locks every month before it.
    """
    _require(by)
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        if report.is_published:
            raise ValidationError(_("This report is already published."))
        earlier = MonthlyReport.objects.drafts().filter(month__lt=report.month).order_by("month").first()
        if earlier is not None:
            raise ValidationError(
                _("Publish %(earlier)s first: months are closed in order.") % {"earlier": earlier.period}
            )
        try:
            ledger_month_close(month=report.month)
        except LedgerError as error:
            raise ValidationError(str(error)) from error
        now = timezone.now()
        report.status = MonthlyReport.Status.PUBLISHED
        report.published_at = now
        report.first_published_at = report.first_published_at or now
        report.published_by = by
        report.save(update_fields=["status", "published_at", "first_published_at", "published_by"])
        ReportEvent.objects.create(report=report, action=ReportEvent.Action.PUBLISHED, **_who(by))
    transaction.on_commit(cache.bump)
    logger.info("reports: %s published by %s", report.period, by)
    return report


def report_reopen(*, report: MonthlyReport, by, reason: str) -> MonthlyReport:
    """Take a published report back to draft and re-open its month in the ledger, recording why."""
    _require(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the month is re-opened; the reason is kept with the books."))
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        if not report.is_published:
            raise ValidationError(_("This report is not published."))
        later = MonthlyReport.objects.published().filter(month__gt=report.month).order_by("-month").first()
        if later is not None:
            raise ValidationError(
                _("Re-open %(later)s first: months are re-opened newest first.") % {"later": later.period}
            )
        try:
            ledger_month_reopen(month=report.month, by=by, reason=reason)
        except LedgerError as error:
            raise ValidationError(str(error)) from error
        report.status = MonthlyReport.Status.DRAFT
        report.published_at = None
        report.save(update_fields=["status", "published_at"])
        ReportEvent.objects.create(report=report, action=ReportEvent.Action.REOPENED, note=reason, **_who(by))
    transaction.on_commit(cache.bump)
    logger.warning("reports: %s re-opened by %s: %s", report.period, by, reason)
    return report


def previous_month_draft() -> MonthlyReport:
    """The task of the first of each month: draft last month's report."""
    today = timezone.localdate()
    last_month = month_start(month_start(today) - datetime.timedelta(days=1))
    return report_draft(month=last_month)
