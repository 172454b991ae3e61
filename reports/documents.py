"""The reports as PDF (WeasyPrint, A4): a month's report and a year's (docs/reports.md).

- ``month_pdf``: the organisation, the month, its status (a draft carries a banner and a watermark), the
  commentary, income by source and spending by category with the previous month and the same month a year
  before beside them, totals, result, cash at the end of the month, the share of spending that went to
  development, patrons, the charts of ``reports.charts`` and the file's address.
- ``year_pdf``: the visible months of a year together: income by source and spending by category for the
  year, each month's totals, and the annual report's sections (ITZ items, payers above 10 %, personnel
  structure) from ``reports.annual``.

Every figure comes from ``reports.figures`` (the same numbers as the page, the CSV and the JSON).

**Labels.** The wording comes from ``LABELS`` (English and German pairs), as in ``grants.documents``: the
PDFs must render in German on any machine, also where the message catalogues are not compiled. Money is
written with Babel in the language's way (“€1,234.50”, “1.234,50 €”), always with cents.

**Nothing from outside.** The charts are inline SVG, the fonts are the system's (DejaVu Sans), and the
URL fetcher allows ``data:`` URLs only, so WeasyPrint never fetches anything over the network. The
commentary (rich text written by finance) is expanded and cleaned to a few harmless tags first.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from .figures import INCOME_KEYS, SPENDING_KEYS, MonthFigures, MonthReportData
from .models import MonthlyReport

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CURRENCY = "EUR"

# (English, German)
LABELS: dict[str, tuple[str, str]] = {
    "month_title": ("Monthly report {month}", "Monatsbericht {month}"),
    "year_title": ("Annual report {year}", "Jahresbericht {year}"),
    "draft_banner": ("Draft — not published", "Entwurf — nicht veröffentlicht"),
    "draft_banner_text": (
        "These figures have not been reviewed and published yet and may still change.",
        "Diese Zahlen sind noch nicht geprüft und veröffentlicht und können sich noch ändern.",
    ),
    "draft_mark": ("DRAFT", "ENTWURF"),
    "period": ("Period", "Zeitraum"),
    "status": ("Status", "Status"),
    "status_published": ("Published", "Veröffentlicht"),
    "status_draft": ("Draft", "Entwurf"),
    "published_on": ("Published on", "Veröffentlicht am"),
    "currency": ("Currency", "Währung"),
    "currency_value": ("Euro (EUR)", "Euro (EUR)"),
    "commentary": ("Commentary", "Kommentar"),
    "income": ("Income by source", "Einnahmen nach Herkunft"),
    "spending": ("Spending by category", "Ausgaben nach Kategorie"),
    "source": ("Source", "Herkunft"),
    "category": ("Category", "Kategorie"),
    "income_total": ("Total income", "Einnahmen gesamt"),
    "spending_total": ("Total spending", "Ausgaben gesamt"),
    "totals": ("Result and cash", "Ergebnis und liquide Mittel"),
    "result": ("Result (income minus spending)", "Ergebnis (Einnahmen minus Ausgaben)"),
    "cash_end": ("Cash at the end of the month", "Liquide Mittel am Monatsende"),
    "cash_end_year": ("Cash at the end of {month}", "Liquide Mittel Ende {month}"),
    "comparison_note": (
        "Beside each figure: the previous month and the same month a year before.",
        "Neben jeder Zahl: der Vormonat und derselbe Monat im Vorjahr.",
    ),
    "development": ("Core development", "Kernentwicklung"),
    "development_share": ("Development share", "Anteil Entwicklung"),
    "development_text": (
        "{share} of all spending went to the people who build the software: personnel and freelancers, "
        "{amount} of {total}.",
        "{share} aller Ausgaben gingen an die Menschen, die die Software entwickeln: Personal und freie "
        "Mitarbeit, {amount} von {total}.",
    ),
    "development_none": (
        "There was no spending in this period.",
        "In diesem Zeitraum gab es keine Ausgaben.",
    ),
    "patrons": ("Patrons", "Unterstützer:innen"),
    "patrons_active": ("Active at the end of the month", "Aktiv am Monatsende"),
    "patrons_new": ("New in the month", "Neu im Monat"),
    "patrons_ended": ("Ended in the month", "Beendet im Monat"),
    "monthly_recurring": (
        "Monthly recurring income pledged at the end of the month",
        "Zugesagte monatliche Einnahmen am Monatsende",
    ),
    "patrons_note": (
        "Recurring support running at the end of the month; yearly plans count as one twelfth a month.",
        "Laufende Unterstützung am Monatsende; Jahrespläne zählen mit einem Zwölftel je Monat.",
    ),
    "patrons_year_active": ("Active at the end of {month}", "Aktiv Ende {month}"),
    "patrons_year_new": ("New in the months included", "Neu in den enthaltenen Monaten"),
    "patrons_year_ended": ("Ended in the months included", "Beendet in den enthaltenen Monaten"),
    "patrons_year_recurring": (
        "Monthly recurring income pledged at the end of {month}",
        "Zugesagte monatliche Einnahmen Ende {month}",
    ),
    "charts": ("Charts", "Diagramme"),
    "months": ("Month by month", "Monat für Monat"),
    "month": ("Month", "Monat"),
    "year": ("Year", "Jahr"),
    "income_short": ("Income", "Einnahmen"),
    "spending_short": ("Spending", "Ausgaben"),
    "development_short": ("Development", "Entwicklung"),
    "result_short": ("Result", "Ergebnis"),
    "cash_short": ("Cash at the end", "Liquide Mittel am Ende"),
    "total": ("Total", "Summe"),
    "months_included": ("Months included", "Enthaltene Monate"),
    "months_draft": ("Not yet published", "Noch nicht veröffentlicht"),
    "year_partial": (
        "The year is shown with the months whose reports are published so far.",
        "Das Jahr wird mit den Monaten gezeigt, deren Berichte bisher veröffentlicht sind.",
    ),
    "itz": (
        "Transparency: the ten items of the Initiative Transparente Zivilgesellschaft",
        "Transparenz: die zehn Angaben der Initiative Transparente Zivilgesellschaft",
    ),
    "payers": ("Payers above 10 % of the year's income", "Zahlende über 10 % der Jahreseinnahmen"),
    "payers_intro": (
        "The year's income over the months included is {budget}; listed is everyone who paid more than "
        "10 % of it ({threshold}), named only with their consent, otherwise “anonymous”.",
        "Die Einnahmen des Jahres in den enthaltenen Monaten betragen {budget}; aufgeführt ist, wer mehr "
        "als 10 % davon ({threshold}) gezahlt hat, mit Namen nur mit Einwilligung, sonst „anonym“.",
    ),
    "payers_none": (
        "No one paid more than 10 % of the year's income ({threshold}).",
        "Niemand hat mehr als 10 % der Jahreseinnahmen ({threshold}) gezahlt.",
    ),
    "payer": ("Payer", "Zahlende"),
    "kind": ("Kind", "Art"),
    "amount": ("Amount", "Betrag"),
    "share": ("Share", "Anteil"),
    "personnel": ("Personnel structure", "Personalstruktur"),
    "position": ("Position", "Position"),
    "people": ("People", "Personen"),
    "person_months": ("Person-months", "Personenmonate"),
    "full_time_equivalent": ("Full-time equivalents", "Vollzeitäquivalente"),
    "gross_monthly_pay": ("Average gross monthly pay", "Durchschnittliches Bruttomonatsgehalt"),
    "personnel_none": (
        "No one was paid by the organisation in these months.",
        "In diesen Monaten wurde niemand von der Organisation bezahlt.",
    ),
    "document_url": ("This document", "Dieses Dokument"),
    "web_page": ("On the web", "Im Web"),
    "open_data": ("As open data", "Als offene Daten"),
    "created": ("Created", "Erstellt"),
    "page": ("Page", "Seite"),
    "register": ("Register", "Handelsregister"),
    "tax_number": ("Tax number", "Steuernummer"),
}

INCOME_LABELS: dict[str, tuple[str, str]] = {
    "patrons": ("Patrons", "Unterstützer:innen"),
    "donations": ("Donations", "Spenden"),
    "sponsorships": ("Sponsorships", "Sponsoring"),
    "grants": ("Grants", "Fördermittel"),
    "services": ("Services", "Dienstleistungen"),
    "other": ("Other income", "Sonstige Einnahmen"),
}
SPENDING_LABELS: dict[str, tuple[str, str]] = {
    "personnel": ("Personnel", "Personal"),
    "freelancers": ("Freelancers", "Freie Mitarbeit"),
    "hosting": ("Hosting", "Hosting"),
    "payment_fees": ("Payment fees", "Zahlungsgebühren"),
    "other": ("Other spending", "Sonstige Ausgaben"),
}
assert set(INCOME_LABELS) == set(INCOME_KEYS.values()) and set(SPENDING_LABELS) == set(SPENDING_KEYS.values())


# --- Language and formatting ----------------------------------------------------------------------


def document_language(language: str | None) -> str:
    """``"de"`` for any German, else ``"en"``."""
    return "de" if (language or "en").lower().startswith("de") else "en"


def pick(pairs: dict[str, tuple[str, str]], language: str) -> dict[str, str]:
    index = 1 if document_language(language) == "de" else 0
    return {key: pair[index] for key, pair in pairs.items()}


def development_share(development: Decimal, spending_total: Decimal) -> Decimal | None:
    """Development spending as a percentage of all spending, one decimal; None without spending: the rule
    (and rounding) of ``MonthFigures.development_share``, for a year's sums."""
    if spending_total <= 0:
        return None
    return (development * 100 / spending_total).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Formatter:
    language: str

    @property
    def locale(self) -> str:
        return "de_DE" if self.language == "de" else "en_GB"

    def money(self, amount: Decimal) -> str:
        """“€1,234.50” / “1.234,50 €”, always with cents."""
        return format_currency(Decimal(amount).quantize(ZERO), CURRENCY, locale=self.locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: Decimal | None) -> str:
        """“61.5 %” / “61,5 %”; a dash for None."""
        if value is None:
            return "–"
        return f"{format_decimal(value, format='#,##0.0', locale=self.locale)}\u00a0%"

    def month(self, value: datetime.date) -> str:
        return format_date(value, format="LLLL yyyy", locale=self.locale)

    def month_short(self, value: datetime.date) -> str:
        return format_date(value, format="LLL yyyy", locale=self.locale)

    def day(self, value: datetime.date | datetime.datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value).date()
        return format_date(value, format="long", locale=self.locale)


# --- Addresses ------------------------------------------------------------------------------------


def absolute(path: str) -> str:
    """A path on this site as an absolute URL (``settings.SITE_URL``)."""
    return settings.SITE_URL.rstrip("/") + path


def month_links(month: datetime.date) -> dict[str, str]:
    """The absolute URLs of a month's report in every format."""
    kwargs = {"year": f"{month:%Y}", "month": f"{month:%m}"}
    links = {}
    for language, key in (("en", "html"), ("de", "html_de")):
        with translation.override(language):
            links[key] = absolute(reverse("reports:month", kwargs=kwargs))
    for fmt in ("json", "pdf", "csv"):
        links[fmt] = absolute(reverse("reports_files:month", kwargs={**kwargs, "fmt": fmt}))
    return links


def year_links(year: int) -> dict[str, str]:
    """The absolute URLs of a year's report in every format."""
    links = {}
    for language, key in (("en", "html"), ("de", "html_de")):
        with translation.override(language):
            links[key] = absolute(reverse("reports:year", kwargs={"year": f"{year:04d}"}))
    for fmt in ("json", "pdf", "csv"):
        links[fmt] = absolute(reverse("reports_files:year", kwargs={"year": f"{year:04d}", "fmt": fmt}))
    return links


_RELATIVE_LINK = re.compile(r'(\shref=")/(?!/)')


def _absolute_links(html: str) -> str:
    """Root-relative links in HTML made on this site get the site's address: a PDF is read elsewhere."""
    return _RELATIVE_LINK.sub(lambda match: f"{match.group(1)}{settings.SITE_URL.rstrip('/')}/", str(html))


def _with_language(url: str, language: str) -> str:
    return f"{url}?lang=de" if language == "de" else url


# --- The organisation -----------------------------------------------------------------------------


def organisation_context(language: str) -> dict:
    """Name, address and registration of the organisation (site settings), for the letterhead; the
    country is named in ``language``."""
    from cms.models import OrganisationSettings

    organisation = OrganisationSettings.of_default_site()
    if organisation is None:
        return {"organisation_name": "", "organisation_lines": [], "organisation_register": ""}
    register = ", ".join(part for part in (organisation.register_court, organisation.register_number) if part)
    with translation.override(language):
        address = organisation.address_lines
    return {
        "organisation_name": organisation.legal_name or organisation.display_name,
        "organisation_lines": address,
        "organisation_email": organisation.email,
        "organisation_register": register,
        "organisation_tax_number": organisation.tax_number,
    }


# --- The commentary -------------------------------------------------------------------------------


def commentary_html(report: MonthlyReport, language: str) -> str:
    """The report's commentary in ``language`` as HTML that is safe to render: Wagtail's rich text expanded
    (links to pages become addresses on this site), then only paragraphs, headings, emphasis, lists and
    links (http, https, mailto) kept; scripts, styles, images and every attribute but ``href`` removed."""
    from bs4 import BeautifulSoup
    from wagtail.rich_text import expand_db_html
    from wagtail.whitelist import Whitelister, attribute_rule, check_url

    def safe_href(url: str) -> str | None:
        url = (url or "").strip()
        if url.startswith("/") and not url.startswith("//"):
            return absolute(url)
        if url.lower().startswith(("http://", "https://", "mailto:")):
            return check_url(url)
        return None

    class CommentaryWhitelister(Whitelister):
        element_rules = {
            "[document]": attribute_rule({}),
            "a": attribute_rule({"href": safe_href}),
            **{name: attribute_rule({}) for name in ("p", "br", "h2", "h3", "h4", "b", "strong", "i", "em")},
            **{name: attribute_rule({}) for name in ("ul", "ol", "li")},
        }

    source = report.commentary(language) or ""
    if not source.strip():
        return ""
    soup = BeautifulSoup(expand_db_html(source), "html.parser")
    for element in soup.find_all(["script", "style", "iframe", "object", "embed", "img", "svg", "math"]):
        element.decompose()
    return CommentaryWhitelister().clean(str(soup)).strip()


# --- Charts ---------------------------------------------------------------------------------------


_ROOT_STYLE = re.compile(r'(<svg\b[^>]*?)\s+style="[^"]*"')


def _charts(*builders) -> list[str]:
    """Inline SVG from ``reports.charts`` (drawn in the active language); a chart that fails is left out
    (the tables hold every figure).

    The root element's ``style`` (``height: auto`` for web pages) is dropped: WeasyPrint would stretch the
    drawing to the page's height; the PDF's CSS sizes it by its width and its own aspect ratio instead."""
    charts = []
    for build in builders:
        try:
            svg = _ROOT_STYLE.sub(r"\1", str(build()), count=1)
        except Exception:
            logger.exception("reports: a chart could not be drawn for a PDF")
            continue
        charts.append(mark_safe(svg))  # noqa: S308 - reports.charts escapes every text
    return charts


# --- Month ----------------------------------------------------------------------------------------


def _comparison_rows(
    labels: dict[str, str], keys: list[str], figures: list[MonthFigures], section: str, fmt: Formatter
) -> list[dict]:
    return [
        {"label": labels[key], "amounts": [fmt.money(getattr(f, section)[key]) for f in figures]}
        for key in keys
    ]


def month_context(report: MonthlyReport, data: MonthReportData, *, language: str) -> dict:
    """Everything the month's PDF shows, formatted in ``language``."""
    language = document_language(language)
    labels = pick(LABELS, language)
    fmt = Formatter(language)
    figures, previous, year_before = data.figures, data.previous, data.year_before
    columns = [figures, previous, year_before]
    share = figures.development_share
    links = month_links(report.month)
    with translation.override(language):
        from .charts import income_mix_chart, income_spending_chart

        charts = _charts(
            lambda: income_spending_chart(data.history, chart_id=f"pdf-income-spending-{report.period}"),
            lambda: income_mix_chart(figures, chart_id=f"pdf-income-mix-{report.period}"),
        )

    def total_row(label: str, attribute: str) -> dict:
        return {"label": label, "amounts": [fmt.money(getattr(f, attribute)) for f in columns]}

    return {
        **organisation_context(language),
        "labels": labels,
        "language": language,
        "title": labels["month_title"].format(month=fmt.month(report.month)),
        "period": fmt.month(report.month),
        "is_draft": not report.is_published,
        "status": labels["status_published"] if report.is_published else labels["status_draft"],
        "published_on": fmt.day(report.first_published_at) if report.is_published else "",
        "commentary": mark_safe(commentary_html(report, language)),  # noqa: S308 - cleaned above
        "column_headings": [fmt.month_short(f.month) for f in columns],
        "income_rows": _comparison_rows(
            pick(INCOME_LABELS, language), list(INCOME_LABELS), columns, "income", fmt
        ),
        "income_total": total_row(labels["income_total"], "income_total"),
        "spending_rows": _comparison_rows(
            pick(SPENDING_LABELS, language), list(SPENDING_LABELS), columns, "spending", fmt
        ),
        "spending_total": total_row(labels["spending_total"], "spending_total"),
        "result": total_row(labels["result"], "result"),
        "cash_end": total_row(labels["cash_end"], "cash_end"),
        "development_share": fmt.percent(share),
        "development_text": (
            labels["development_text"].format(
                share=fmt.percent(share),
                amount=fmt.money(figures.development_spending),
                total=fmt.money(figures.spending_total),
            )
            if share is not None
            else labels["development_none"]
        ),
        "patron_rows": [
            (labels["patrons_active"], fmt.number(data.patrons.active)),
            (labels["patrons_new"], fmt.number(data.patrons.new)),
            (labels["patrons_ended"], fmt.number(data.patrons.ended)),
            (labels["monthly_recurring"], fmt.money(data.patrons.monthly_recurring)),
        ],
        "charts": charts,
        "document_url": _with_language(links["pdf"], language),
        "web_page": links["html_de" if language == "de" else "html"],
        "open_data": links["json"],
        "created": fmt.day(timezone.now()),
    }


def render_pdf(template: str, context: dict, *, language: str) -> bytes:
    """A tagged A4 PDF of ``template``; only ``data:`` URLs may be fetched (nothing over the network)."""
    from weasyprint import HTML, URLFetcher

    with translation.override(language):
        html = render_to_string(template, context)
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(pdf_tags=True)


def month_pdf(report: MonthlyReport, data: MonthReportData, *, language: str = "en") -> bytes:
    """The month's report as PDF in English or German (``language="de"``)."""
    language = document_language(language)
    return render_pdf(
        "reports/pdf/month.html", month_context(report, data, language=language), language=language
    )


# --- Year ---------------------------------------------------------------------------------------


def _annual_context(annual, fmt: Formatter, labels: dict[str, str]) -> dict:
    """The annual report's sections from ``reports.annual`` (ITZ items, payers above 10 %, personnel
    structure), with amounts written like the rest of the PDF."""
    budget, threshold = fmt.money(annual.budget), fmt.money(annual.threshold)
    return {
        "payers_intro": labels["payers_intro"].format(budget=budget, threshold=threshold),
        "payers_none": labels["payers_none"].format(threshold=threshold),
        "itz": [  # titles in the active language; contents are safe HTML made by reports.annual
            {"number": item.number, "title": item.title, "content": mark_safe(_absolute_links(item.content))}  # noqa: S308
            for item in annual.itz
        ],
        "payers": [
            {
                "name": payer.label,
                "kind": payer.kind_label,
                "amount": fmt.money(payer.amount),
                "share": fmt.percent(payer.share),
            }
            for payer in annual.payers
        ],
        "positions": [
            {
                "role": position.role,
                "kind": position.kind_label,
                "people": fmt.number(position.people),
                "person_months": fmt.number(position.person_months),
                "full_time_equivalent": format_decimal(
                    position.full_time_equivalent, format="#,##0.0", locale=fmt.locale
                ),
                "gross_monthly_pay": (
                    fmt.money(position.gross_monthly_pay) if position.gross_monthly_pay is not None else ""
                ),
            }
            for position in annual.personnel
        ],
        "publish_gross_pay": annual.publish_gross_pay,
        "personnel_note": annual.personnel_note,
    }


def year_context(annual, *, language: str) -> dict:
    """Everything the year's PDF shows: the months included (the visible ones) together and the annual
    report's sections. ``annual`` is ``reports.annual.annual_report_data(...)`` made in ``language``."""
    language = document_language(language)
    labels = pick(LABELS, language)
    fmt = Formatter(language)
    year, reports, figures = annual.year, annual.reports, annual.figures
    income_labels = pick(INCOME_LABELS, language)
    spending_labels = pick(SPENDING_LABELS, language)
    last = reports[-1].month
    development = figures.spending["personnel"] + figures.spending["freelancers"]
    share = development_share(development, figures.spending_total)
    drafts = {report.month for report in reports if not report.is_published}
    links = year_links(year)
    with translation.override(language):
        from .charts import income_mix_chart, income_spending_chart

        charts = _charts(
            lambda: income_spending_chart(figures.months, chart_id=f"pdf-year-{year}-income-spending"),
            lambda: income_mix_chart(figures, chart_id=f"pdf-year-{year}-income-mix"),
        )
    months = [
        {
            "month": fmt.month(m.month),
            "income": fmt.money(m.income_total),
            "spending": fmt.money(m.spending_total),
            "development": fmt.money(m.development_spending),
            "result": fmt.money(m.result),
            "cash_end": fmt.money(m.cash_end),
            "is_draft": m.month in drafts,
        }
        for m in figures.months
    ]
    return {
        **organisation_context(language),
        "labels": labels,
        "language": language,
        "title": labels["year_title"].format(year=year),
        "period": str(year),
        "is_draft": bool(drafts),
        "status": labels["status_draft"] if drafts else labels["status_published"],
        "months_included": ", ".join(fmt.month(report.month) for report in reports),
        "months_draft": ", ".join(fmt.month(month) for month in sorted(drafts)),
        "is_partial": len(reports) < 12,
        "income_rows": [
            {"label": income_labels[key], "amount": fmt.money(amount)}
            for key, amount in figures.income.items()
        ],
        "income_total": fmt.money(figures.income_total),
        "spending_rows": [
            {"label": spending_labels[key], "amount": fmt.money(amount)}
            for key, amount in figures.spending.items()
        ],
        "spending_total": fmt.money(figures.spending_total),
        "result": fmt.money(figures.result),
        "cash_end_label": labels["cash_end_year"].format(month=fmt.month(last)),
        "cash_end": fmt.money(figures.cash_end),
        "development_share": fmt.percent(share),
        "development_text": (
            labels["development_text"].format(
                share=fmt.percent(share),
                amount=fmt.money(development),
                total=fmt.money(figures.spending_total),
            )
            if share is not None
            else labels["development_none"]
        ),
        "patron_rows": [
            (
                labels["patrons_year_active"].format(month=fmt.month(last)),
                fmt.number(figures.patrons_end.active),
            ),
            (
                labels["patrons_year_recurring"].format(month=fmt.month(last)),
                fmt.money(figures.patrons_end.monthly_recurring),
            ),
        ],
        "months": months,
        "months_total": {
            "income": fmt.money(figures.income_total),
            "spending": fmt.money(figures.spending_total),
            "development": fmt.money(development),
            "result": fmt.money(figures.result),
            "cash_end": fmt.money(figures.cash_end),
        },
        "charts": charts,
        "annual": _annual_context(annual, fmt, labels),
        "document_url": _with_language(links["pdf"], language),
        "web_page": links["html_de" if language == "de" else "html"],
        "open_data": links["json"],
        "created": fmt.day(timezone.now()),
    }


def year_pdf(annual, *, language: str = "en") -> bytes:
    """The year's report as PDF: ``annual`` is ``reports.annual.annual_report_data(year, reports)`` over the
    visible months, made in ``language`` (its ITZ texts are in the language active when it was made)."""
    language = document_language(language)
    return render_pdf("reports/pdf/year.html", year_context(annual, language=language), language=language)
