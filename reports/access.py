"""Who sees which report: published ones are public; drafts only finance with MFA. Used by every format."""

from __future__ import annotations

import datetime

from django.http import Http404
from django.utils.translation import gettext as _

from accounts.access import has_mfa, is_finance

from .models import MonthlyReport


def can_see_drafts(user) -> bool:
    return is_finance(user) and has_mfa(user)


def month_from_url(year: str, month: str) -> datetime.date:
    """The first day of the month named in a URL; 404 for a month that does not exist."""
    try:
        return datetime.date(int(year), int(month), 1)
    except (TypeError, ValueError) as error:
        raise Http404(_("There is no such month.")) from error


def year_from_url(year: str) -> int:
    value = int(year)
    if not 1900 <= value <= 9999:
        raise Http404(_("There is no such year."))
    return value


def visible_reports(user):
    """The reports ``user`` may see: all for finance with MFA, else the published ones."""
    reports = MonthlyReport.objects.all()
    return reports if can_see_drafts(user) else reports.published()


def visible_report(user, *, year: str, month: str) -> MonthlyReport:
    """The report of the month in the URL if ``user`` may see it; otherwise 404 (drafts do not exist
    for the public)."""
    first = month_from_url(year, month)
    report = visible_reports(user).filter(month=first).first()
    if report is None:
        raise Http404(_("There is no published report for %(month)s.") % {"month": f"{first:%Y-%m}"})
    return report


def visible_year(user, *, year: str) -> tuple[int, list[MonthlyReport]]:
    """The year in the URL and its reports ``user`` may see (January first); 404 when there are none."""
    number = year_from_url(year)
    reports = list(visible_reports(user).in_year(number).order_by("month"))
    if not reports:
        raise Http404(_("There is no published report for %(year)s.") % {"year": number})
    return number, reports
