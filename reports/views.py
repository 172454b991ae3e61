"""The public monthly report page and the archive of all reports (issue 7, points 2 and 7).

Who sees what comes from ``reports.access``: published reports are public, drafts only for finance with
MFA. A published page's main section is the same for every visitor, so it is rendered once per language
(``templates/reports/includes/month_body.html``, without request or user) and kept under
``reports.cache.key("month-html", period, language)``; the frame around it (``base.html``: log-in links,
language switcher) is rendered per request. Publishing, editing or re-opening a report bumps the cache
version (``reports.services``), so the next visitor sees the change. Drafts are never cached and go out
with ``Cache-Control: private, no-store`` and ``X-Robots-Tag: noindex``. The archive works the same way
(``"archive-html"``), except for finance with MFA, who also see drafts: then nothing is cached.

The small view models below (``FiguresTable``, ``Comparison``, ``FileLinks``) feed the partials in
``templates/reports/includes/``; the annual page builds them with the same functions
(``income_table``, ``spending_table``, ``comparison``, ``month_files``, ``year_files``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache as django_cache
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, pgettext

from cms.page_cache import public_page

from . import cache
from .access import can_see_drafts, visible_report, visible_reports
from .charts import (
    INCOME_LABELS,
    SPENDING_LABELS,
    income_mix_chart,
    income_spending_chart,
    money,
    month_name,
    percent,
    year_sparkline,
)
from .figures import MonthFigures, YearFigures, month_report_data, months_figures, patron_figures
from .models import MonthlyReport

FORMATS = (("pdf", "PDF"), ("csv", "CSV"), ("json", "JSON"))


# --- View models for the partials -----------------------------------------------------------------


@dataclass(frozen=True)
class FiguresRow:
    label: str
    amount: str  # formatted in the active language
    share: str = ""  # of the total, formatted; "" when not shown
    note_marker: str = ""  # e.g. "*" pointing to a note below the table


@dataclass(frozen=True)
class FiguresTable:
    """One table of amounts by category: ``templates/reports/includes/figures_table.html``."""

    table_id: str
    caption: str
    label_heading: str
    rows: list[FiguresRow]
    total_label: str
    total: str
    notes: list[str] = field(default_factory=list)


def _share_text(part: Decimal, whole: Decimal) -> str:
    if whole <= 0 or part <= 0:
        return ""
    return percent((part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def income_table(figures: MonthFigures | YearFigures, *, table_id: str = "income") -> FiguresTable:
    """Income by source with each source's share; patrons with and without perks together, explained."""
    total = figures.income_total
    notes = [
        gettext(
            "* Patrons: regular support from patrons, both in tiers with perks (a purchase; shown without "
            "VAT) and in tiers without perks (a donation)."
        )
    ]
    if any(amount < 0 for amount in figures.income.values()):
        notes.append(gettext("A negative amount means that refunds exceeded the income from that source."))
    return FiguresTable(
        table_id=table_id,
        caption=gettext("Income by source"),
        label_heading=gettext("Source"),
        rows=[
            FiguresRow(
                label=str(INCOME_LABELS[key]),
                amount=money(amount),
                share=_share_text(amount, total),
                note_marker="*" if key == "patrons" else "",
            )
            for key, amount in figures.income.items()
        ],
        total_label=gettext("Total income"),
        total=money(total),
        notes=notes,
    )


def development_sentence() -> str:
    return gettext(
        "Development spending is what we pay the people who build and maintain the software: our "
        "employees (personnel) and freelancers."
    )


def spending_table(figures: MonthFigures | YearFigures, *, table_id: str = "spending") -> FiguresTable:
    """Spending by category with each category's share of all spending."""
    total = figures.spending_total
    return FiguresTable(
        table_id=table_id,
        caption=gettext("Spending by category"),
        label_heading=gettext("Category"),
        rows=[
            FiguresRow(
                label=str(SPENDING_LABELS[key]), amount=money(amount), share=_share_text(amount, total)
            )
            for key, amount in figures.spending.items()
        ],
        total_label=gettext("Total spending"),
        total=money(total),
    )


@dataclass(frozen=True)
class ComparisonCell:
    amount: str
    change: str  # "+€120.00 (+5.0%)" against this period; "" for the first column


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    cells: list[ComparisonCell]


@dataclass(frozen=True)
class ComparisonColumn:
    heading: str  # “Previous month: September 2026”
    change_heading: str  # “Change from the previous month”


@dataclass(frozen=True)
class Comparison:
    """This period against others: ``templates/reports/includes/comparison.html``."""

    caption: str
    current_heading: str  # “October 2026”
    columns: list[ComparisonColumn]  # the other periods, in the order of each row's cells after the first
    rows: list[ComparisonRow]
    note: str = ""
    table_id: str = "comparison"


def signed_money(amount: Decimal) -> str:
    """“+€120.00”, “−€45.00”, “€0.00”."""
    if amount > 0:
        return "+" + money(amount)
    if amount < 0:
        return "−" + money(-amount)
    return money(amount)


def change_text(current: Decimal, other: Decimal) -> str:
    """How ``current`` differs from ``other``: absolute and, where it means something, in percent."""
    difference = current - other
    text = signed_money(difference)
    if other > 0 and difference:
        change = (difference * 100 / other).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        sign = "+" if change > 0 else "−"
        text += f" ({sign}{percent(abs(change))})"
    return text


def comparison(
    current: MonthFigures, others: list[tuple[str, str, MonthFigures]], *, table_id: str = "comparison"
) -> Comparison:
    """Income, spending, result and cash of ``current`` against each of ``others`` (column heading, heading
    of its change column, figures)."""
    lines = [
        (gettext("Income"), "income_total"),
        (gettext("Spending"), "spending_total"),
        (gettext("Result"), "result"),
        (gettext("Cash at the end of the month"), "cash_end"),
    ]
    rows = []
    for label, attribute in lines:
        value = getattr(current, attribute)
        cells = [ComparisonCell(amount=money(value), change="")]
        for _heading, _change_heading, figures in others:
            other = getattr(figures, attribute)
            cells.append(ComparisonCell(amount=money(other), change=change_text(value, other)))
        rows.append(ComparisonRow(label=label, cells=cells))
    return Comparison(
        caption=gettext("Comparison with the previous month and the same month a year before"),
        current_heading=month_name(current.month),
        columns=[ComparisonColumn(heading, change_heading) for heading, change_heading, _figures in others],
        rows=rows,
        note=gettext(
            "Each change says how much this month's figure is above (+) or below (−) the other month's."
        ),
        table_id=table_id,
    )


@dataclass(frozen=True)
class FileLink:
    label: str  # "PDF"
    url: str
    description: str  # for people: "PDF, for printing"


@dataclass(frozen=True)
class FileLinks:
    """Download links of one report: ``templates/reports/includes/file_links.html``."""

    heading: str  # accessible name of the list, e.g. “Download the report for October 2026”
    links: list[FileLink]


def _file_descriptions() -> dict[str, str]:
    return {
        "pdf": gettext("for printing"),
        "csv": gettext("for spreadsheets"),
        "json": gettext("for programs"),
    }


def month_files(month: datetime.date) -> FileLinks:
    descriptions = _file_descriptions()
    return FileLinks(
        heading=gettext("Download the report for %(month)s") % {"month": month_name(month)},
        links=[
            FileLink(
                label=label,
                url=reverse(
                    "reports_files:month", kwargs={"year": f"{month:%Y}", "month": f"{month:%m}", "fmt": fmt}
                ),
                description=descriptions[fmt],
            )
            for fmt, label in FORMATS
        ],
    )


def year_files(year: int) -> FileLinks:
    descriptions = _file_descriptions()
    return FileLinks(
        heading=gettext("Download the report for %(year)s") % {"year": year},
        links=[
            FileLink(
                label=label,
                url=reverse("reports_files:year", kwargs={"year": f"{year:04d}", "fmt": fmt}),
                description=descriptions[fmt],
            )
            for fmt, label in FORMATS
        ],
    )


def month_url(month: datetime.date) -> str:
    return reverse("reports:month", kwargs={"year": f"{month:%Y}", "month": f"{month:%m}"})


def year_url(year: int) -> str:
    return reverse("reports:year", kwargs={"year": f"{year:04d}"})


def reports_year_figures(year: int, reports: list[MonthlyReport]) -> YearFigures:
    """A year's figures over the months of ``reports`` only (the months that can be shown), so that the
    totals never include a month without a (visible) report."""
    months = sorted(report.month for report in reports if report.month.year == year)
    return YearFigures(
        year=year,
        months=months_figures(months),
        patrons_end=patron_figures(months[-1] if months else datetime.date(year, 1, 1)),
    )


# --- Responses ------------------------------------------------------------------------------------


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def _draft_headers(response):
    """A draft: not for search engines, never kept by any cache."""
    add_never_cache_headers(response)
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    return response


def _cached_render(key: str | None, template: str, build) -> SafeString:
    """``template`` rendered with the context ``build()`` returns, kept under ``key`` when given. No request
    is passed: the fragment must not depend on who is looking."""
    if key is not None:
        html = django_cache.get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 - our own rendering, stored by this function
    html = render_to_string(template, build())
    if key is not None:
        django_cache.set(key, html, cache.TIMEOUT)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, which escaped every text


def _month_body_context(report: MonthlyReport, neighbours) -> dict:
    data = month_report_data(report.month)
    figures = data.figures
    previous_report = neighbours.filter(month__lt=report.month).order_by("-month").first()
    next_report = neighbours.filter(month__gt=report.month).order_by("month").first()
    share = figures.development_share
    return {
        "report": report,
        "month_title": month_name(report.month),
        "commentary": report.commentary(),
        "income": income_table(figures),
        "spending": spending_table(figures),
        "income_total": money(figures.income_total),
        "spending_total": money(figures.spending_total),
        "result": money(figures.result),
        "result_negative": figures.result < 0,
        "cash_end": money(figures.cash_end),
        "development_spending": money(figures.development_spending),
        "development_share": percent(share) if share is not None else "",
        "development_sentence": development_sentence(),
        "patrons": {
            "active": data.patrons.active,
            "new": data.patrons.new,
            "ended": data.patrons.ended,
            "monthly_recurring": money(data.patrons.monthly_recurring),
        },
        "comparison": comparison(
            figures,
            [
                (
                    pgettext("comparison column", "Previous month: %(month)s")
                    % {"month": month_name(data.previous.month)},
                    gettext("Change from the previous month"),
                    data.previous,
                ),
                (
                    pgettext("comparison column", "A year before: %(month)s")
                    % {"month": month_name(data.year_before.month)},
                    gettext("Change from a year before"),
                    data.year_before,
                ),
            ],
        ),
        "history_chart": income_spending_chart(
            data.history,
            title=gettext("Income and spending over the 12 months up to %(month)s")
            % {"month": month_name(report.month)},
            with_table=True,
        ),
        "mix_chart": income_mix_chart(figures, with_table=False),
        "files": month_files(report.month),
        "previous_report": previous_report,
        "previous_url": month_url(previous_report.month) if previous_report else "",
        "previous_title": month_name(previous_report.month) if previous_report else "",
        "next_report": next_report,
        "next_url": month_url(next_report.month) if next_report else "",
        "next_title": month_name(next_report.month) if next_report else "",
        "year_url": year_url(report.month.year),
        "year": report.month.year,
        "archive_url": reverse("reports:archive"),
    }


@public_page
def month_report(request, year, month):
    """``/reports/YYYY/MM/``: one month's report; 404 for a month without a report the visitor may see."""
    report = visible_report(request.user, year=year, month=month)
    if report.is_published:
        key = cache.key("month-html", report.period, _language())
        neighbours = MonthlyReport.objects.published()
    else:
        key = None
        neighbours = visible_reports(request.user)
    body = _cached_render(
        key, "reports/includes/month_body.html", lambda: _month_body_context(report, neighbours)
    )
    response = render(
        request,
        "reports/month.html",
        {
            "report": report,
            "is_draft": not report.is_published,
            "page_title": gettext("Monthly report %(month)s") % {"month": month_name(report.month)},
            "body": body,
        },
    )
    if not report.is_published:
        _draft_headers(response)
    return response


def _archive_context(reports: list[MonthlyReport]) -> dict:
    years = sorted({report.month.year for report in reports}, reverse=True)
    entries = []
    for year in years:
        in_year = sorted((r for r in reports if r.month.year == year), key=lambda r: r.month)
        figures = reports_year_figures(year, in_year)
        published = [r for r in in_year if r.is_published]
        entries.append(
            {
                "year": year,
                "url": year_url(year),
                "has_published": bool(published),
                "has_drafts": len(published) != len(in_year),
                "sparkline": year_sparkline(figures),
                "income_total": money(figures.income_total),
                "spending_total": money(figures.spending_total),
                "result": money(figures.result),
                "result_negative": figures.result < 0,
                "files": year_files(year),
                "months": [
                    {
                        "title": month_name(r.month),
                        "url": month_url(r.month),
                        "is_draft": not r.is_published,
                        "files": month_files(r.month),
                    }
                    for r in reversed(in_year)
                ],
            }
        )
    return {"years": entries}


@public_page
def archive(request):
    """``/reports/``: every year with a report, newest first, with its small chart, totals and months."""
    drafts = can_see_drafts(request.user)
    reports = list(visible_reports(request.user).order_by("month"))
    shows_drafts = drafts and any(not report.is_published for report in reports)
    key = None if drafts else cache.key("archive-html", _language())
    body = _cached_render(key, "reports/includes/archive_body.html", lambda: _archive_context(reports))
    response = render(
        request,
        "reports/archive.html",
        {
            "page_title": gettext("Monthly reports"),
            "body": body,
            "shows_drafts": shows_drafts,
            "index_url": reverse("reports_files:index"),
            "feed_url": reverse("reports_files:feed"),
        },
    )
    if drafts:
        # The same URL shows finance their drafts: no shared cache may keep it.
        _draft_headers(response)
    return response
