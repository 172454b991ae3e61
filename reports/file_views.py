"""The reports as files, without a language prefix (docs/reports.md):

- ``/reports/YYYY/MM.{pdf,csv,json}``: a month's report (``month_file``);
- ``/reports/YYYY.{pdf,csv,json}``: a year's report over its visible months (``year_file``);
- ``/reports/index.json``: every published month and year with the addresses of all formats;
- ``/reports/feed.atom``: an Atom feed announcing each published report.

Who sees what is ``reports.access``: a published report is public; a draft only for finance with MFA, sent
``Cache-Control: private, no-store`` and ``X-Robots-Tag: noindex`` and never cached. Public files are
cached (bytes, per format and language) under ``reports.cache.key``, whose version changes whenever a report
is drafted, edited, published or re-opened. PDF and CSV are in English, or German with ``?lang=de``.
JSON, the index and the feed are open data: ``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

import io
import json

from django.core.cache import cache as django_cache
from django.http import HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_safe

from . import cache
from .access import visible_report, visible_year
from .documents import (
    Formatter,
    absolute,
    document_language,
    month_links,
    month_pdf,
    pick,
    year_links,
    year_pdf,
)
from .exports import month_csv, year_csv
from .figures import month_figures, month_report_data
from .models import MonthlyReport

PUBLIC_MAX_AGE = 600  # seconds a browser or proxy may keep a public file (a re-opened month shows soon)
FEED_ENTRIES = 24

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}

# (English, German)
FEED_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Monthly reports", "Monatsberichte"),
    "title_of": ("Monthly reports of {organisation}", "Monatsberichte von {organisation}"),
    "description": (
        "Every month: where the money came from and what it paid for.",
        "Jeden Monat: woher das Geld kam und wofür es ausgegeben wurde.",
    ),
    "entry_title": ("Monthly report {month}", "Monatsbericht {month}"),
    "summary": (
        "Income {income}, spending {spending}, result {result}.",
        "Einnahmen {income}, Ausgaben {spending}, Ergebnis {result}.",
    ),
}


# --- Helpers --------------------------------------------------------------------------------------


def _language(request) -> str:
    """``?lang=de`` or ``?lang=en``, else the request's language (English for these unprefixed URLs)."""
    asked = (request.GET.get("lang") or "").lower()
    if asked in ("en", "de"):
        return asked
    return document_language(getattr(request, "LANGUAGE_CODE", None))


def _cached(key: str | None, render) -> bytes:
    """``render()``'s bytes, kept under ``key`` when one is given (public renderings only)."""
    if key is None:
        return render()
    body = django_cache.get(key)
    if body is None:
        body = render()
        django_cache.set(key, body, cache.TIMEOUT)
    return body


def _json_bytes(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _file_response(body: bytes, *, fmt: str, filename: str, public: bool) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    disposition = "inline" if fmt == "json" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        if fmt == "json":
            response["Access-Control-Allow-Origin"] = "*"
    else:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


def _open_data_response(body: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _filename(period: str, fmt: str, language: str) -> str:
    suffix = "-de" if language == "de" and fmt != "json" else ""
    return f"report-{period}{suffix}.{fmt}"


# --- A month --------------------------------------------------------------------------------------


def _month_body(report: MonthlyReport, fmt: str, language: str) -> bytes:
    data = month_report_data(report.month)
    if fmt == "json":
        return _json_bytes(
            {
                **data.as_json(status=report.status),
                "first_published_at": (
                    report.first_published_at.isoformat() if report.first_published_at else None
                ),
                "links": month_links(report.month),
            }
        )
    if fmt == "csv":
        return month_csv(data, language=language).encode("utf-8")
    return month_pdf(report, data, language=language)


@require_safe
def month_file(request, year, month, fmt):
    """``/reports/2026/10.pdf`` (``.csv``, ``.json``): 404 for a month without a report the user may see."""
    report = visible_report(request.user, year=year, month=month)
    language = "" if fmt == "json" else _language(request)
    key = cache.key("file", "month", report.period, fmt, language) if report.is_published else None
    body = _cached(key, lambda: _month_body(report, fmt, language))
    return _file_response(
        body, fmt=fmt, filename=_filename(report.period, fmt, language), public=report.is_published
    )


# --- A year ---------------------------------------------------------------------------------------


def _year_body(number: int, reports: list[MonthlyReport], fmt: str, language: str) -> bytes:
    from .annual import annual_report_data

    with translation.override(language or "en"):
        annual = annual_report_data(number, reports)
    if fmt == "json":
        status = MonthlyReport.Status.DRAFT if annual.is_draft else MonthlyReport.Status.PUBLISHED
        data = annual.as_json(status=status)
        statuses = {f"{report.month:%Y-%m}": report.status for report in reports}
        data["months"] = [{**month, "status": statuses[month["period"]]} for month in data["months"]]
        return _json_bytes({**data, "links": year_links(number)})
    if fmt == "csv":
        return year_csv(annual.figures, language=language).encode("utf-8")
    return year_pdf(annual, language=language)


@require_safe
def year_file(request, year, fmt):
    """``/reports/2026.pdf`` (``.csv``, ``.json``): the year's visible months (published ones; for finance
    with MFA the drafts too); 404 for a year without any."""
    number, reports = visible_year(request.user, year=year)
    language = "" if fmt == "json" else _language(request)
    public = all(report.is_published for report in reports)
    periods = "+".join(report.period for report in reports)
    key = cache.key("file", "year", number, fmt, language, periods) if public else None
    body = _cached(key, lambda: _year_body(number, reports, fmt, language))
    return _file_response(body, fmt=fmt, filename=_filename(str(number), fmt, language), public=public)


# --- Index and feed -------------------------------------------------------------------------------


def _index() -> dict:
    published = MonthlyReport.objects.published()
    return {
        "months": [
            {"period": report.period, **month_links(report.month)} for report in published.order_by("-month")
        ],
        "years": [{"year": year, **year_links(year)} for year in published.published_years()],
        "feed": absolute(reverse("reports_files:feed")),
    }


@require_safe
def index_json(request):
    """``/reports/index.json``: the published months and years (never drafts, whoever asks), newest first."""
    body = _cached(cache.key("index"), lambda: _json_bytes(_index()))
    return _open_data_response(body, CONTENT_TYPES["json"])


def _feed_bytes(language: str) -> bytes:
    from cms.models import OrganisationSettings

    labels = pick(FEED_LABELS, language)
    fmt = Formatter(language)
    organisation = OrganisationSettings.of_default_site()
    name = organisation.display_name if organisation else ""
    with translation.override(language):
        archive = absolute(reverse("reports:archive"))
    feed_url = absolute(reverse("reports_files:feed")) + ("?lang=de" if language == "de" else "")
    feed = Atom1Feed(
        title=labels["title_of"].format(organisation=name) if name else labels["title"],
        link=archive,
        description=labels["description"],
        language=language,
        feed_url=feed_url,
        feed_guid=feed_url,
    )
    reports = MonthlyReport.objects.published().order_by("-month")[:FEED_ENTRIES]
    for report in reports:
        figures = month_figures(report.month)
        link = month_links(report.month)["html_de" if language == "de" else "html"]
        feed.add_item(
            title=labels["entry_title"].format(month=fmt.month(report.month)),
            link=link,
            description=labels["summary"].format(
                income=fmt.money(figures.income_total),
                spending=fmt.money(figures.spending_total),
                result=fmt.money(figures.result),
            ),
            unique_id=link,
            pubdate=report.first_published_at,
            updateddate=report.first_published_at,
        )
    stream = io.StringIO()
    feed.write(stream, "utf-8")
    return stream.getvalue().encode("utf-8")


@require_safe
def feed(request):
    """``/reports/feed.atom``: the newest 24 published reports (``?lang=de``: German titles and links)."""
    language = "de" if (request.GET.get("lang") or "").lower() == "de" else "en"
    body = _cached(cache.key("feed", language), lambda: _feed_bytes(language))
    return _open_data_response(body, "application/atom+xml; charset=utf-8")
