"""The public annual report page: ``/reports/YYYY/`` (English) and ``/de/reports/YYYY/`` (German).

Which months it covers comes from ``reports.access.visible_year``: the published months for everyone, the
drafts too for finance with MFA. The page's main section is the same for every visitor of a language, so
``templates/reports/year.html`` keeps it in a ``{% cache %}`` fragment under
``reports.cache.key("year-html", year, language, settings digest)`` (a new version whenever a report
changes; a new digest whenever the organisation settings the ITZ items show change); its context
(``reports.annual.annual_report_data`` and the tables and charts built from it) is only computed when the
fragment has to be rendered anew. The frame around it (log-in links, language switcher) is rendered per
request. A year with a draft month shown to finance is never cached and goes out with
``Cache-Control: private, no-store`` and ``X-Robots-Tag: noindex``.
"""

from __future__ import annotations

import hashlib
import uuid

from babel.numbers import format_decimal
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import get_language, gettext

from cms.page_cache import public_page
from fundraising.public import active_language

from . import cache
from .access import visible_year
from .annual import AnnualReportData, annual_report_data
from .charts import income_mix_chart, income_spending_chart, money, month_name, number, percent
from .views import income_table, month_files, month_url, spending_table, year_files


def _one_decimal(value) -> str:
    """“1.5” / “1,5”: a figure with one decimal in the active language."""
    return format_decimal(value, format="#,##0.0", locale=active_language())


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def _coverage(annual: AnnualReportData) -> str:
    """Which months the report covers, in words."""
    if annual.is_complete:
        return gettext("This report covers all twelve months of %(year)s.") % {"year": annual.year}
    if annual.is_draft:
        return gettext("This report covers %(months)s %(year)s, including months not yet published.") % {
            "months": annual.months_label,
            "year": annual.year,
        }
    return gettext("This report covers %(months)s %(year)s, the months published so far.") % {
        "months": annual.months_label,
        "year": annual.year,
    }


def year_body_context(year: int, reports) -> dict:
    """The context of the page's main section (no request, no user: it is shared by every visitor)."""
    annual = annual_report_data(year, reports)
    figures = annual.figures
    last_month = annual.reports[-1].month
    return {
        "annual": annual,
        "coverage": _coverage(annual),
        "income_total": money(figures.income_total),
        "spending_total": money(figures.spending_total),
        "result": money(figures.result),
        "result_negative": figures.result < 0,
        "cash_end": money(figures.cash_end),
        "cash_end_label": gettext("Cash at the end of %(month)s") % {"month": month_name(last_month)},
        "patrons_end_label": gettext("Patrons at the end of %(month)s") % {"month": month_name(last_month)},
        "patrons_active": number(figures.patrons_end.active),
        "patrons_recurring": money(figures.patrons_end.monthly_recurring),
        "income": income_table(figures, table_id="income"),
        "spending": spending_table(figures, table_id="spending"),
        "history_chart": income_spending_chart(
            figures.months,
            title=gettext("Income and spending per month, %(year)s") % {"year": year},
            chart_id=f"year-{year}-income-spending",
            with_table=True,
        ),
        "mix_chart": income_mix_chart(figures, chart_id=f"year-{year}-income-mix", with_table=False),
        "threshold": money(annual.threshold),
        "budget": money(annual.budget),
        "payers": [
            {
                "name": p.label,
                "named": p.is_named,
                "kind": p.kind_label,
                "amount": money(p.amount),
                "share": percent(p.share),
            }
            for p in annual.payers
        ],
        "positions": [
            {
                "role": p.role,
                "kind": p.kind_label,
                "people": number(p.people),
                "weekly_hours": number(p.weekly_hours.normalize()),
                "full_time_equivalent": _one_decimal(p.full_time_equivalent),
                "gross_monthly_pay": money(p.gross_monthly_pay) if p.gross_monthly_pay is not None else "",
            }
            for p in annual.personnel
        ],
        "months": [
            {
                "title": month_name(r.month),
                "url": month_url(r.month),
                "is_draft": not r.is_published,
                "files": month_files(r.month),
            }
            for r in annual.reports
        ],
        "files": year_files(year),
        "archive_url": reverse("reports:archive"),
    }


def _settings_digest(request) -> str:
    """A digest of the organisation settings: the ITZ items show them, so an editor's change to the
    settings gives the cached section a new key at once."""
    from cms.models import OrganisationSettings

    organisation = OrganisationSettings.for_request(request)
    values = [str(getattr(organisation, f.attname)) for f in organisation._meta.concrete_fields]
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16]


@public_page
def year_report(request, year):
    """``/reports/YYYY/``: the year's annual report over the months the visitor may see; 404 without any."""
    year_number, reports = visible_year(request.user, year=year)
    is_draft = any(not report.is_published for report in reports)
    if is_draft:
        # Finance sees drafts: render anew, under a key no one else will ever read, and keep nothing.
        fragment_key, timeout = f"draft-{uuid.uuid4().hex}", 0
    else:
        fragment_key = cache.key("year-html", year_number, _language(), _settings_digest(request))
        timeout = cache.TIMEOUT
    response = render(
        request,
        "reports/year.html",
        {
            "year": year_number,
            "is_draft": is_draft,
            "page_title": gettext("Annual report %(year)s") % {"year": year_number},
            "fragment_key": fragment_key,
            "fragment_timeout": timeout,
            # A callable: the template calls it only when the cached fragment has to be rendered anew.
            "body": lambda: year_body_context(year_number, reports),
        },
    )
    if is_draft:
        add_never_cache_headers(response)
        patch_cache_control(response, private=True, no_store=True)
        response["X-Robots-Tag"] = "noindex"
    return response
