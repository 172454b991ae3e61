"""The annual report's data (issue 7 point 4): the page (``reports.annual_views``), the PDF and the files use it.

``annual_report_data(year, reports)`` gathers, for the months of ``reports`` (the ones the reader may see:
the published months, for finance with MFA the drafts too):

- ``figures``: the twelve months together from the ledger (``reports.figures.year_figures``), only the
  months included, with income sources and use of funds in the categories of the monthly reports;
- ``payers``: everyone whose payments in the months included exceed 10 % of the year's **budget**;
- ``personnel``: the personnel structure from the pay records (positions, people, hours, and the average
  gross monthly pay per position only when the organisation publishes it);
- ``itz``: the ten items of the Initiative Transparente Zivilgesellschaft (DOMAIN.md 6), from the
  organisation settings, the CMS pages and the figures above.

**Budget** = the year's total income in the ledger over the months included (``figures.income_total``:
patrons, donations, sponsorships, grants, services and other income, net of VAT and refunds, as the
monthly reports show it). A payer is listed when the sum of its payments in the same months, from
1 January to the last day of the last month included, is more than 10 % of that budget (strictly more).
Each payer's amount comes from its domain app's read-only queryset, net of VAT and refunds like the
ledger's income:

- sponsors: invoices paid in the period (``Invoice.objects.received_per_sponsor``), named only when the
  sponsor consented (``Sponsor.consent_annual_report``);
- grant funders: grant payments received in the period (``Grant.objects.received_per_funder``), named only
  when the funder consented (``Funder.consent_annual_report``);
- patrons and donors: payments in the period less refunds and lost disputes
  (``Payment.objects.received_per_patron``), named only when the patron consented
  (``Patron.annual_report_consent``) and was not erased.

Everyone else is shown as "anonymous" with the kind of payer and the amount.

Texts (labels, the ITZ items' titles and contents) are in the language active when this is called: call
it inside ``translation.override(language)`` for a given language. Amounts are ``Decimal``; ``as_json``
writes them as strings with two decimals.
"""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.urls import reverse
from django.utils import formats
from django.utils.html import escape, format_html, format_html_join, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ledger.querysets import month_end

from .charts import INCOME_LABELS, SPENDING_LABELS, money, percent
from .figures import ZERO, YearFigures, money_text, percent_share, year_figures
from .models import MonthlyReport

PAYER_SHARE = Decimal("10")  # percent of the budget a payer must exceed to be listed
FULL_TIME_HOURS = Decimal("40")  # weekly hours of one full-time equivalent


class ItzItem(NamedTuple):
    """One of the ten ITZ items: its number (1-10), title and content (safe HTML: escaped text, links)."""

    number: int
    title: str
    content: SafeString

    @property
    def text(self) -> str:
        """The content as plain text (for CSV or a plain-text rendering)."""
        return " ".join(html.unescape(strip_tags(self.content)).split())


@dataclass(frozen=True)
class Payer:
    """Someone whose payments in the year exceed 10 % of the budget."""

    kind: str  # "sponsor", "grant_funder", "patron" or "donor"
    name: str  # "" unless they consented to be named
    amount: Decimal
    share: Decimal  # percent of the budget, one decimal

    @property
    def is_named(self) -> bool:
        return bool(self.name)

    @property
    def label(self) -> str:
        """The name, or “anonymous”."""
        return self.name or _("anonymous")

    @property
    def kind_label(self) -> str:
        return str(PAYER_KINDS[self.kind])

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name or "anonymous",
            "amount": money_text(self.amount),
            "share": f"{self.share}",
        }


PAYER_KINDS = {
    "sponsor": gettext_lazy("Sponsor"),
    "grant_funder": gettext_lazy("Grant funder"),
    "patron": gettext_lazy("Patron"),
    "donor": gettext_lazy("Donor"),
}


@dataclass(frozen=True)
class Position:
    """One position of the personnel structure: a role held by employees or by freelancers."""

    role: str
    kind: str  # "employee" or "freelancer"
    people: int  # distinct people paid in the months included
    person_months: int  # monthly pay records in the months included
    weekly_hours: Decimal  # contracted weekly hours of those people together
    gross_monthly_pay: Decimal | None  # average per person and month; None unless published

    @property
    def kind_label(self) -> str:
        return _("Freelancer") if self.kind == "freelancer" else _("Employee")

    @property
    def full_time_equivalent(self) -> Decimal:
        """The weekly hours in full-time posts of 40 hours, one decimal."""
        return (self.weekly_hours / FULL_TIME_HOURS).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def as_json(self) -> dict:
        data = {
            "role": self.role,
            "kind": self.kind,
            "people": self.people,
            "person_months": self.person_months,
            "weekly_hours": f"{self.weekly_hours.quantize(Decimal('0.1'))}",
            "full_time_equivalent": f"{self.full_time_equivalent}",
        }
        if self.gross_monthly_pay is not None:
            data["gross_monthly_pay"] = money_text(self.gross_monthly_pay)
        return data


@dataclass(frozen=True)
class AnnualReportData:
    """Everything the annual report shows, in every format (HTML, PDF, CSV, JSON)."""

    year: int
    reports: list[MonthlyReport]  # the months included, January first
    figures: YearFigures  # the months included only
    budget: Decimal  # = figures.income_total (see the module docstring)
    threshold: Decimal  # 10 % of the budget: payers above it are listed
    payers: list[Payer]  # largest first
    personnel: list[Position]
    publish_gross_pay: bool
    personnel_note: str  # the organisation's own words about its personnel ("" if none)
    itz: list[ItzItem]  # the ten ITZ items, 1 to 10

    @property
    def months(self) -> list[datetime.date]:
        return [report.month for report in self.reports]

    @property
    def is_complete(self) -> bool:
        """All twelve months are included."""
        return len(self.reports) == 12

    @property
    def is_draft(self) -> bool:
        """Some month included is not published yet (only finance sees such a report)."""
        return any(not report.is_published for report in self.reports)

    @property
    def period_end(self) -> datetime.date:
        return month_end(self.reports[-1].month)

    @property
    def months_label(self) -> str:
        """“January to October” / “Januar bis Oktober”; “January” for one month."""
        return months_label(self.months)

    @property
    def people(self) -> int:
        return sum(position.people for position in self.personnel)

    @property
    def full_time_equivalent(self) -> Decimal:
        hours = sum((position.weekly_hours for position in self.personnel), Decimal("0"))
        return (hours / FULL_TIME_HOURS).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def as_json(self, *, status: str) -> dict:
        """The year's public JSON (the monthly format's keys for the year, with "months") plus the months
        included, the budget, the payers above 10 % and the personnel structure."""
        return {
            **self.figures.as_json(status=status),
            "months_included": [f"{month:%Y-%m}" for month in self.months],
            "complete": self.is_complete,
            "budget": money_text(self.budget),
            "payer_threshold": money_text(self.threshold),
            "payers_above_10_percent": [payer.as_json() for payer in self.payers],
            "personnel": [position.as_json() for position in self.personnel],
        }


def months_label(months: list[datetime.date]) -> str:
    if not months:
        return ""
    first, last = (formats.date_format(month, "F") for month in (months[0], months[-1]))
    if len(months) == 1:
        return first
    return _("%(first)s to %(last)s") % {"first": first, "last": last}


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return percent_share(part, whole)


def payers_above_threshold(*, start: datetime.date, end: datetime.date, budget: Decimal) -> list[Payer]:
    """Sponsors, grant funders and patrons whose payments from ``start`` to ``end`` exceed 10 % of
    ``budget``, largest first; named only with their consent."""
    from fundraising.models import Payment
    from grants.models import Grant
    from sponsors.models import Invoice

    if budget <= 0:
        return []
    threshold = budget * PAYER_SHARE / 100
    rows = [
        ("sponsor", row["name"] if row["consent"] else "", row["amount"])
        for row in Invoice.objects.received_per_sponsor(start=start, end=end)
    ]
    rows += [
        ("grant_funder", row["name"] if row["consent"] else "", row["amount"])
        for row in Grant.objects.received_per_funder(start=start, end=end)
    ]
    rows += [
        (row["kind"], row["name"] if row["consent"] else "", row["amount"])
        for row in Payment.objects.received_per_patron(start=start, end=end)
    ]
    payers = [
        Payer(kind=kind, name=name, amount=amount, share=_share(amount, budget))
        for kind, name, amount in rows
        if amount > threshold
    ]
    return sorted(payers, key=lambda payer: (-payer.amount, payer.kind, payer.name))


def personnel_structure(
    *, start: datetime.date, end: datetime.date, publish_gross_pay: bool
) -> list[Position]:
    """The positions paid from ``start`` to ``end``; gross monthly pay (for freelancers: their monthly
    invoices, net) only when ``publish_gross_pay``."""
    from grants.models import PayRecord

    positions = []
    for row in PayRecord.objects.positions(start=start, end=end):
        pay = None
        if publish_gross_pay and row["person_months"]:
            total = row["freelancer_invoices"] if row["kind"] == "freelancer" else row["gross_pay"]
            pay = (total / row["person_months"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        positions.append(
            Position(
                role=row["role"],
                kind=row["kind"],
                people=row["people"],
                person_months=row["person_months"],
                weekly_hours=row["weekly_hours"],
                gross_monthly_pay=pay,
            )
        )
    return positions


# --- The ten ITZ items -----------------------------------------------------------------------------


def _lines(lines) -> SafeString:
    """Lines of text as one paragraph with line breaks (escaped)."""
    lines = [line for line in lines if line]
    if not lines:
        return mark_safe("")
    return format_html("<p>{}</p>", mark_safe("<br>".join(escape(line) for line in lines)))


def _not_given() -> SafeString:
    return format_html("<p>{}</p>", _("Not provided."))


def _text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _page_link(model, language: str) -> str:
    """The URL of the live page of ``model`` in ``language`` (or any language), "" if there is none."""
    pages = model.objects.live().public()
    page = pages.filter(locale__language_code=language).first() or pages.first()
    return (page.get_url() or "") if page else ""


def _amounts_list(amounts: dict[str, Decimal], labels: dict, total: Decimal, anchor: str) -> SafeString:
    items = format_html_join(
        "", "<li>{}: {}</li>", ((labels[key], money(amount)) for key, amount in amounts.items() if amount)
    )
    return format_html(
        '<p>{} {}</p><ul>{}</ul><p><a href="#{}">{}</a></p>',
        _("Total:"),
        money(total),
        items,
        anchor,
        _("See the table below."),
    )


def itz_items(
    *,
    organisation,
    year: int,
    reports: list[MonthlyReport],
    figures: YearFigures,
    payers: list[Payer],
    personnel: list[Position],
    threshold: Decimal,
    language: str,
) -> list[ItzItem]:
    from cms.models import ImprintPage, PatronUpdateIndexPage

    org = organisation
    items: list[ItzItem] = []

    # 1 Name, seat, address, founding year
    if org is not None:
        parts = [_lines([org.legal_name or org.display_name, *org.address_lines])]
        facts = []
        if org.city:
            facts.append(format_html("{} {}", _("Seat:"), org.city))
        if org.founding_year:
            facts.append(format_html("{} {}", _("Founded:"), org.founding_year))
        if org.register_court or org.register_number:
            facts.append(
                format_html(
                    "{} {}",
                    _("Register:"),
                    " ".join(p for p in (org.register_court, org.register_number) if p),
                )
            )
        if facts:
            parts.append(format_html("<p>{}</p>", mark_safe("<br>".join(facts))))
        imprint = _page_link(ImprintPage, language)
        if imprint:
            parts.append(format_html('<p><a href="{}">{}</a></p>', imprint, _("Imprint")))
        content = mark_safe("".join(parts))
    else:
        content = _not_given()
    items.append(ItzItem(1, _("Name, seat, address and founding year"), content))

    # 2 Statutes and goals
    parts = []
    if org is not None:
        purpose = org.transparency_text("statutes_purpose", language)
        if purpose:
            parts.append(_lines(_text_lines(purpose)))
        if org.statutes_link:
            parts.append(format_html('<p><a href="{}">{}</a></p>', org.statutes_link, _("Read the statutes")))
    items.append(ItzItem(2, _("Statutes and goals"), mark_safe("".join(parts)) if parts else _not_given()))

    # 3 Tax-privileged status
    content = _not_given()
    if org is not None and org.exemption_notice_date:
        values = {
            "office": org.tax_office or _("tax office"),
            "date": formats.date_format(org.exemption_notice_date, "DATE_FORMAT"),
            "period": org.exemption_period,
        }
        if org.exemption_period:
            text = _(
                "Recognised as a tax-privileged (charitable) organisation by the %(office)s: exemption notice "
                "of %(date)s for %(period)s."
            )
        else:
            text = _(
                "Recognised as a tax-privileged (charitable) organisation by the %(office)s: exemption notice "
                "of %(date)s."
            )
        content = format_html("<p>{}</p>", text % values)
    elif org is not None and org.section_60a_determination_date:
        text = _(
            "The %(office)s determined on %(date)s that the statutes meet the requirements of tax-privileged "
            "purposes (§ 60a AO)."
        ) % {
            "office": org.tax_office or _("tax office"),
            "date": formats.date_format(org.section_60a_determination_date, "DATE_FORMAT"),
        }
        content = format_html("<p>{}</p>", text)
    items.append(ItzItem(3, _("Tax-privileged status"), content))

    # 4 Decision makers
    lines = []
    if org is not None:
        lines = [_("%(name)s, managing director") % {"name": name} for name in org.managing_director_names]
        lines += _text_lines(org.transparency_text("decision_makers", language))
    items.append(
        ItzItem(4, _("Names and roles of the key decision makers"), _lines(lines) if lines else _not_given())
    )

    # 5 Activity report: the year's monthly reports with their commentary
    links = format_html_join(
        "",
        '<li><a href="{}">{}</a></li>',
        (
            (
                reverse("reports:month", kwargs={"year": f"{r.month:%Y}", "month": f"{r.month:%m}"}),
                formats.date_format(r.month, "YEAR_MONTH_FORMAT"),
            )
            for r in reports
        ),
    )
    parts = [
        format_html(
            "<p>{}</p>",
            _("What we did each month is told in the monthly reports of %(year)s:") % {"year": year},
        ),
        format_html("<ul>{}</ul>", links),
    ]
    updates = _page_link(PatronUpdateIndexPage, language)
    if updates:
        parts.append(format_html('<p><a href="{}">{}</a></p>', updates, _("Our development updates")))
    items.append(ItzItem(5, _("Activity report"), mark_safe("".join(parts))))

    # 6 Personnel structure
    people = sum(p.people for p in personnel)
    employees = sum(p.people for p in personnel if p.kind != "freelancer")
    freelancers = people - employees
    hours = sum((p.weekly_hours for p in personnel if p.kind != "freelancer"), Decimal("0"))
    fte = (hours / FULL_TIME_HOURS).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    parts = []
    if personnel:
        summary = (
            ngettext("%(count)s person was paid", "%(count)s people were paid", people) % {"count": people}
            + " "
            + ngettext("in %(positions)s position:", "in %(positions)s positions:", len(personnel))
            % {"positions": len(personnel)}
        )
        details = [
            ngettext("%(count)s employee", "%(count)s employees", employees) % {"count": employees}
            + " "
            + _("(%(fte)s full-time equivalents)") % {"fte": formats.number_format(fte, 1)},
            ngettext("%(count)s freelancer", "%(count)s freelancers", freelancers) % {"count": freelancers},
        ]
        parts.append(format_html("<p>{} {}.</p>", summary, "; ".join(details)))
        parts.append(format_html('<p><a href="#personnel">{}</a></p>', _("See the table below.")))
    else:
        parts.append(format_html("<p>{}</p>", _("No one was paid by the organisation in these months.")))
    if org is not None:
        note = org.transparency_text("personnel_note", language)
        if note:
            parts.append(_lines(_text_lines(note)))
    items.append(ItzItem(6, _("Personnel structure"), mark_safe("".join(parts))))

    # 7 Sources of income, 8 use of funds
    items.append(
        ItzItem(
            7,
            _("Sources of income"),
            _amounts_list(figures.income, INCOME_LABELS, figures.income_total, "income"),
        )
    )
    items.append(
        ItzItem(
            8,
            _("Use of funds"),
            _amounts_list(figures.spending, SPENDING_LABELS, figures.spending_total, "spending"),
        )
    )

    # 9 Legal affiliations
    lines = _text_lines(org.transparency_text("legal_affiliations", language)) if org is not None else []
    items.append(
        ItzItem(9, _("Legal affiliations with third parties"), _lines(lines) if lines else _not_given())
    )

    # 10 Payers above 10 % of the budget
    if payers:
        rows = format_html_join(
            "",
            "<li>{} ({}): {} ({})</li>",
            ((p.label, p.kind_label, money(p.amount), percent(p.share)) for p in payers),
        )
        content = format_html(
            "<p>{}</p><ul>{}</ul>",
            _("Payments of more than 10 %% of the year's income (%(threshold)s), named with their consent:")
            % {"threshold": money(threshold)},
            rows,
        )
    else:
        content = format_html(
            "<p>{}</p>",
            _("No one paid more than 10 %% of the year's income (%(threshold)s).")
            % {"threshold": money(threshold)},
        )
    items.append(
        ItzItem(
            10,
            _("Names of those whose payments exceed %(share)s of the annual budget") % {"share": "10 %"},
            content,
        )
    )
    return items


def annual_report_data(year: int, reports: list[MonthlyReport]) -> AnnualReportData:
    """The annual report of ``year`` over the months of ``reports`` (``reports.access.visible_year``),
    in the active language. ``reports`` must not be empty."""
    from cms.models import OrganisationSettings
    from fundraising.public import active_language

    reports = sorted(reports, key=lambda report: report.month)
    included = {report.month for report in reports}
    full = year_figures(year, through=reports[-1].month)
    figures = replace(full, months=[m for m in full.months if m.month in included])
    budget = figures.income_total
    threshold = (
        (budget * PAYER_SHARE / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if budget > 0 else ZERO
    )
    start, end = datetime.date(year, 1, 1), month_end(reports[-1].month)
    organisation = OrganisationSettings.of_default_site()
    publish_gross_pay = bool(organisation and organisation.publish_gross_pay)
    language = active_language()
    payers = payers_above_threshold(start=start, end=end, budget=budget)
    personnel = personnel_structure(start=start, end=end, publish_gross_pay=publish_gross_pay)
    return AnnualReportData(
        year=year,
        reports=reports,
        figures=figures,
        budget=budget,
        threshold=threshold,
        payers=payers,
        personnel=personnel,
        publish_gross_pay=publish_gross_pay,
        personnel_note=organisation.transparency_text("personnel_note", language) if organisation else "",
        itz=itz_items(
            organisation=organisation,
            year=year,
            reports=reports,
            figures=figures,
            payers=payers,
            personnel=personnel,
            threshold=threshold,
            language=language,
        ),
    )
