"""The PDFs of a grant: the request for payment of a milestone, the monthly time declaration of a person,
and the grant report for the funder.

- ``request_for_payment_pdf``: what the grantee sends the funder on completing a milestone (NLnet / NGI Zero
  style): the organisation, the funder and grant reference, the request's number and date, the milestone
  with its deliverables and evidence, the amount, the bank account and the reference to quote, a signature.
- ``time_declaration_pdf``: one person's month on one grant (Horizon Europe style): the working days of the
  month (Monday to Friday), the days charged to the grant by the allocation, hours at the person's weekly
  hours, signature lines for the person and the supervisor.
- ``grant_report_pdf``: a period of a grant for the funder: milestone states, costs by category read from
  the ledger postings on the grant's cost centre (never recomputed from pay records), budget against actual,
  income received, and each person's days and the cost charged to the grant (from ``AllocationBooking``,
  the record of what was posted where). No salaries beyond the cost charged to this grant.

**Labels.** The wording comes from ``LABELS`` (English and German pairs), as in sponsors' invoices: the
documents are sent to funders and signed, so they must render in German on any machine, also where the
message catalogues are not compiled. Money, numbers and dates are formatted with Babel. Nothing is loaded
from outside while rendering (only ``data:`` URLs).

**Days.** The working days of a month are Monday to Friday (public holidays are not deducted). The days a
person charges to a grant in a month are the allocation's ``days`` when set, else its percent of the
month's working days, rounded half up to one decimal; the grant report adds up these monthly figures, so
it agrees with the declarations.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import translation

from .models import (
    CATEGORY_ACCOUNTS,
    HUNDRED,
    ZERO,
    Allocation,
    AllocationBooking,
    BudgetLine,
    CostCategory,
    Grant,
    Milestone,
    Person,
    indirect_costs,
)

LEDGER_CURRENCY = "EUR"  # the ledger's amounts are in euros (foreign amounts keep their original beside)
ACCOUNT_GRANT_INCOME = "income-grants"
TENTH = Decimal("0.1")
WORKING_DAYS_PER_WEEK = Decimal("5")

# (English, German)
LABELS: dict[str, tuple[str, str]] = {
    # shared
    "organisation": ("Organisation", "Organisation"),
    "funder": ("Funder", "Fördergeber"),
    "grant": ("Grant", "Förderprojekt"),
    "grant_reference": ("Grant reference", "Förderkennzeichen"),
    "grant_code": ("Cost centre", "Kostenstelle"),
    "grant_period": ("Grant period", "Laufzeit"),
    "period_range": ("{start} to {end}", "{start} bis {end}"),
    "date": ("Date", "Datum"),
    "place_date": ("Place, date", "Ort, Datum"),
    "signature": ("Signature", "Unterschrift"),
    "name": ("Name", "Name"),
    "role": ("Role", "Funktion"),
    "page": ("Page", "Seite"),
    "email": ("E-mail", "E-Mail"),
    "phone": ("Phone", "Telefon"),
    "register": ("Register", "Handelsregister"),
    "tax_number": ("Tax number", "Steuernummer"),
    "vat_id": ("VAT ID", "USt-IdNr."),
    "managing_directors": ("Managing directors", "Geschäftsführung"),
    "total": ("Total", "Summe"),
    "none": ("None.", "Keine."),
    # request for payment
    "request_title": ("Request for payment", "Zahlungsanforderung"),
    "request_number": ("Request number", "Nummer der Anforderung"),
    "request_date": ("Date of request", "Datum der Anforderung"),
    "milestone": ("Milestone", "Meilenstein"),
    "milestone_number": ("Milestone number", "Nummer des Meilensteins"),
    "milestone_title": ("Title", "Titel"),
    "due_date": ("Due date", "Fällig am"),
    "deliverables": ("Deliverables", "Ergebnisse"),
    "evidence": ("Evidence", "Nachweise"),
    "amount_requested": ("Amount requested", "Angeforderter Betrag"),
    "request_intro": (
        "We have completed milestone {position} of the grant “{grant}” and request the payment agreed for "
        "it.",
        "Wir haben Meilenstein {position} des Förderprojekts „{grant}“ abgeschlossen und fordern die dafür "
        "vereinbarte Zahlung an.",
    ),
    "request_pay": (
        "Please transfer {amount} to the account below, quoting the reference {reference}.",
        "Bitte überweisen Sie {amount} unter Angabe des Verwendungszwecks {reference} auf das unten "
        "genannte Konto.",
    ),
    "request_confirm": (
        "We confirm that the work described above has been carried out as agreed in the grant agreement "
        "and that the deliverables are available as stated.",
        "Wir bestätigen, dass die oben beschriebenen Arbeiten wie in der Fördervereinbarung vereinbart "
        "ausgeführt wurden und die Ergebnisse wie angegeben vorliegen.",
    ),
    "authorised_signatory": ("Authorised signatory", "Zeichnungsberechtigte Person"),
    "bank_details": ("Bank details", "Bankverbindung"),
    "account_holder": ("Account holder", "Kontoinhaber"),
    "iban": ("IBAN", "IBAN"),
    "bic": ("BIC", "BIC"),
    "bank": ("Bank", "Bank"),
    "reference": ("Reference", "Verwendungszweck"),
    # time declaration
    "declaration_title": ("Monthly time declaration", "Monatlicher Zeitnachweis"),
    "person": ("Person", "Person"),
    "month": ("Month", "Monat"),
    "weekly_hours": ("Weekly hours", "Wochenstunden"),
    "weekday": ("Weekday", "Wochentag"),
    "day_share": ("Days charged", "Angerechnete Tage"),
    "hours": ("Hours", "Stunden"),
    "working_days": ("Working days in the month", "Arbeitstage im Monat"),
    "days_charged": ("Days charged to this grant", "Diesem Projekt angerechnete Tage"),
    "share": ("Share of the month", "Anteil am Monat"),
    "hours_charged": ("Hours charged to this grant", "Diesem Projekt angerechnete Stunden"),
    "working_days_note": (
        "Working days are Monday to Friday. The days charged are spread evenly over the working days of "
        "the month.",
        "Arbeitstage sind Montag bis Freitag. Die angerechneten Tage sind gleichmäßig auf die Arbeitstage "
        "des Monats verteilt.",
    ),
    "declaration_statement": (
        "I declare that in {month} I worked {days} days ({hours} hours) on the grant “{grant}”, as listed "
        "above.",
        "Ich erkläre, dass ich im {month} {days} Tage ({hours} Stunden) für das Förderprojekt „{grant}“ "
        "gearbeitet habe, wie oben aufgeführt.",
    ),
    "signature_person": ("Signature of the person", "Unterschrift der Person"),
    "signature_supervisor": ("Signature of the supervisor", "Unterschrift der vorgesetzten Person"),
    # grant report
    "report_title": ("Grant report", "Projektbericht"),
    "report_period": ("Reporting period", "Berichtszeitraum"),
    "awarded_amount": ("Awarded amount", "Bewilligter Betrag"),
    "funding_model": ("Funding model", "Finanzierungsart"),
    "indirect_rate": ("Indirect costs", "Indirekte Kosten"),
    "indirect_rate_value": ("{rate} % of direct costs", "{rate} % der direkten Kosten"),
    "milestones": ("Milestones", "Meilensteine"),
    "number_short": ("No.", "Nr."),
    "state": ("State", "Status"),
    "amount": ("Amount", "Betrag"),
    "paid_on": ("Paid on", "Bezahlt am"),
    "overdue": ("overdue", "überfällig"),
    "costs": ("Costs by category", "Kosten nach Kategorie"),
    "category": ("Category", "Kategorie"),
    "budget": ("Budget", "Budget"),
    "actual_period": ("Actual in the period", "Ist im Zeitraum"),
    "actual_to_date": ("Actual to the end of the period", "Ist bis Ende des Zeitraums"),
    "remaining": ("Remaining", "Verbleibend"),
    "direct_costs": ("Direct costs", "Direkte Kosten"),
    "total_costs": ("Total costs", "Gesamtkosten"),
    "costs_note": (
        "Costs are the postings on the grant's cost centre in the books; indirect costs are {rate} % of "
        "the direct costs.",
        "Die Kosten sind die Buchungen auf der Kostenstelle des Projekts; die indirekten Kosten betragen "
        "{rate} % der direkten Kosten.",
    ),
    "income": ("Income received", "Erhaltene Zahlungen"),
    "income_period": ("Received from the funder in the period", "Im Zeitraum vom Fördergeber erhalten"),
    "income_to_date": ("Received to the end of the period", "Bis Ende des Zeitraums erhalten"),
    "people": ("People", "Personal"),
    "days": ("Days", "Tage"),
    "cost_charged": ("Cost charged to this grant", "Diesem Projekt belastete Kosten"),
    "people_note": (
        "Days follow the monthly allocations (working days Monday to Friday); the cost is what was booked "
        "to this grant for the pay of the months in the period.",
        "Die Tage folgen den monatlichen Zuordnungen (Arbeitstage Montag bis Freitag); die Kosten sind "
        "die für das Gehalt der Monate des Zeitraums auf dieses Projekt gebuchten Beträge.",
    ),
    "nobody": ("No time charged in the period.", "Im Zeitraum wurde keine Arbeitszeit angerechnet."),
}

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    CostCategory.PERSONNEL: ("Personnel", "Personal"),
    CostCategory.FREELANCERS: ("Freelancers", "Freie Mitarbeit"),
    CostCategory.TRAVEL: ("Travel", "Reisen"),
    CostCategory.EQUIPMENT: ("Equipment", "Ausstattung"),
    CostCategory.SUBCONTRACTING: ("Subcontracting", "Unteraufträge"),
    CostCategory.OTHER: ("Other direct costs", "Sonstige direkte Kosten"),
    CostCategory.INDIRECT: ("Indirect costs", "Indirekte Kosten"),
}

MILESTONE_STATE_LABELS: dict[str, tuple[str, str]] = {
    Milestone.State.PLANNED: ("planned", "geplant"),
    Milestone.State.IN_PROGRESS: ("in progress", "in Arbeit"),
    Milestone.State.SUBMITTED: ("submitted", "eingereicht"),
    Milestone.State.ACCEPTED: ("accepted", "abgenommen"),
    Milestone.State.PAID: ("paid", "bezahlt"),
}

FUNDING_MODEL_LABELS: dict[str, tuple[str, str]] = {
    Grant.FundingModel.MILESTONES: ("Fixed amount per milestone", "Festbetrag je Meilenstein"),
    Grant.FundingModel.TRANCHES: ("Tranches", "Tranchen"),
    Grant.FundingModel.ACTUAL_COST: ("Actual costs", "Tatsächliche Kosten"),
}


# --- Formatting -----------------------------------------------------------------------------------


def _language(language: str | None) -> str:
    return "de" if (language or "en").lower().startswith("de") else "en"


def _locale(language: str) -> str:
    return "de_DE" if language == "de" else "en_GB"


def _pick(pairs: dict[str, tuple[str, str]], language: str) -> dict[str, str]:
    index = 1 if language == "de" else 0
    return {key: pair[index] for key, pair in pairs.items()}


@dataclass(frozen=True)
class Formatter:
    language: str

    @property
    def locale(self) -> str:
        return _locale(self.language)

    def money(self, amount: Decimal, currency: str = LEDGER_CURRENCY) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def day(self, value: datetime.date | None) -> str:
        return format_date(value, format="medium", locale=self.locale) if value else ""

    def month(self, value: datetime.date) -> str:
        return format_date(value, format="LLLL yyyy", locale=self.locale)

    def weekday(self, value: datetime.date) -> str:
        return format_date(value, format="EEEE", locale=self.locale)

    def days(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.0", locale=self.locale)

    def fraction(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.00", locale=self.locale)

    def percent(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.##", locale=self.locale)


def _iban_display(iban: str) -> str:
    iban = (iban or "").replace(" ", "")
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# --- The organisation -----------------------------------------------------------------------------


def organisation_snapshot() -> dict:
    """The organisation's name, address, registration and bank account from the site settings (cms)."""
    from cms.models import OrganisationSettings

    organisation = OrganisationSettings.of_default_site()
    return organisation.document_party() if organisation else {}


def _organisation_context(organisation: dict) -> dict:
    address = [
        organisation.get("street", ""),
        f"{organisation.get('postcode', '')} {organisation.get('city', '')}".strip(),
    ]
    register = ", ".join(
        part
        for part in (organisation.get("register_court", ""), organisation.get("register_number", ""))
        if part
    )
    return {
        "organisation": organisation,
        "organisation_lines": [line for line in address if line],
        "organisation_register": register,
        "managing_directors": ", ".join(organisation.get("managing_directors") or []),
        "iban": _iban_display(organisation.get("iban", "")),
    }


# --- Working days and days charged ----------------------------------------------------------------


def working_days(month: datetime.date) -> list[datetime.date]:
    """Monday to Friday of the month ``month`` falls in."""
    first = month.replace(day=1)
    last = calendar.monthrange(first.year, first.month)[1]
    return [day for day in (first.replace(day=n) for n in range(1, last + 1)) if day.weekday() < 5]


def allocation_days(allocation: Allocation | None, *, month_working_days: int) -> Decimal:
    """The days an allocation charges: its ``days`` when entered, else its percent of the working days."""
    if allocation is None:
        return Decimal("0.0")
    if allocation.days is not None:
        return allocation.days.quantize(TENTH, rounding=ROUND_HALF_UP)
    return (allocation.percent * month_working_days / HUNDRED).quantize(TENTH, rounding=ROUND_HALF_UP)


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first days of the months from ``start``'s month to ``end``'s month."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


# --- Rendering ------------------------------------------------------------------------------------


def _render(template: str, context: dict, *, language: str, title: str, author: str) -> bytes:
    """A tagged PDF (A4) of ``template``; nothing is fetched from outside (only ``data:`` URLs)."""
    from weasyprint import HTML, URLFetcher

    context = {**context, "language": language, "document_title": title, "document_author": author}
    with translation.override(language):
        html = render_to_string(template, context)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf(pdf_tags=True)


# --- Request for payment --------------------------------------------------------------------------


def request_for_payment_context(milestone: Milestone, *, language: str = "en") -> dict:
    language = _language(language)
    labels = _pick(LABELS, language)
    fmt = Formatter(language)
    grant = milestone.grant
    if not milestone.request_number:
        raise ValueError("The milestone has no request number yet: issue the request first.")
    organisation = organisation_snapshot()
    amount = fmt.money(milestone.payable_amount, grant.currency)
    reference = " / ".join(part for part in (milestone.request_number, grant.reference) if part)
    return {
        **_organisation_context(organisation),
        "labels": labels,
        "milestone": milestone,
        "grant": grant,
        "funder": grant.funder,
        "request_date": fmt.day(milestone.request_date),
        "due_date": fmt.day(milestone.due_date),
        "grant_period": labels["period_range"].format(
            start=fmt.day(grant.start_date), end=fmt.day(grant.end_date)
        ),
        "deliverables": [line.strip() for line in milestone.deliverables.splitlines() if line.strip()],
        "evidence_links": [line.strip() for line in milestone.evidence_links.splitlines() if line.strip()],
        "amount": amount,
        "reference": reference,
        "intro": labels["request_intro"].format(position=milestone.position, grant=grant.title),
        "payment_text": labels["request_pay"].format(amount=amount, reference=reference),
    }


def request_for_payment_pdf(milestone: Milestone, *, language: str = "en") -> bytes:
    """The request for payment of a completed milestone, in English or German (``language="de"``).

    The milestone must have its request number (``services.milestone_request_issue``)."""
    language = _language(language)
    context = request_for_payment_context(milestone, language=language)
    title = f"{context['labels']['request_title']} {milestone.request_number}"
    return _render(
        "grants/documents/request_for_payment.html",
        context,
        language=language,
        title=title,
        author=context["organisation"].get("name", ""),
    )


# --- Time declaration -----------------------------------------------------------------------------


def time_declaration_context(
    person: Person, grant: Grant, month: datetime.date, *, language: str = "en"
) -> dict:
    language = _language(language)
    labels = _pick(LABELS, language)
    fmt = Formatter(language)
    month = month.replace(day=1)
    days_of_month = working_days(month)
    allocation = Allocation.objects.filter(person=person, grant=grant, month=month).first()
    days = allocation_days(allocation, month_working_days=len(days_of_month))
    share = (
        (days / len(days_of_month) * HUNDRED).quantize(TENTH, rounding=ROUND_HALF_UP)
        if days_of_month
        else ZERO
    )
    if allocation is not None and allocation.days is None:
        share = allocation.percent
    daily_hours = person.weekly_hours / WORKING_DAYS_PER_WEEK
    hours = (days * daily_hours).quantize(TENTH, rounding=ROUND_HALF_UP)
    per_day = days / len(days_of_month) if days_of_month else ZERO
    rows = [
        {
            "date": fmt.day(day),
            "weekday": fmt.weekday(day),
            "days": fmt.fraction(per_day),
            "hours": fmt.fraction(per_day * daily_hours),
        }
        for day in days_of_month
    ]
    organisation = organisation_snapshot()
    return {
        **_organisation_context(organisation),
        "labels": labels,
        "person": person,
        "grant": grant,
        "funder": grant.funder,
        "month": fmt.month(month),
        "grant_period": labels["period_range"].format(
            start=fmt.day(grant.start_date), end=fmt.day(grant.end_date)
        ),
        "weekly_hours": fmt.days(person.weekly_hours),
        "rows": rows,
        "working_days": len(days_of_month),
        "days": fmt.days(days),
        "share": f"{fmt.percent(share)} %",
        "hours": fmt.days(hours),
        "statement": labels["declaration_statement"].format(
            month=fmt.month(month), days=fmt.days(days), hours=fmt.days(hours), grant=grant.title
        ),
    }


def time_declaration_pdf(
    person: Person, grant: Grant, month: datetime.date, *, language: str = "en"
) -> bytes:
    """One person's time on one grant in one month, with signature lines for the person and the supervisor."""
    language = _language(language)
    context = time_declaration_context(person, grant, month, language=language)
    title = f"{context['labels']['declaration_title']} {person.name} {month:%Y-%m} {grant.code}"
    return _render(
        "grants/documents/time_declaration.html",
        context,
        language=language,
        title=title,
        author=context["organisation"].get("name", ""),
    )


# --- Grant report ---------------------------------------------------------------------------------


def _postings_total(grant: Grant, *, accounts, start: datetime.date | None, end: datetime.date) -> Decimal:
    from ledger.models import Posting

    if grant.cost_centre_id is None:
        return ZERO
    postings = Posting.objects.filter(
        cost_centre=grant.cost_centre_id, account__code__in=accounts, transaction__booking_date__lte=end
    )
    if start is not None:
        postings = postings.filter(transaction__booking_date__gte=start)
    return postings.aggregate(total=Sum("amount"))["total"] or ZERO


def category_costs(grant: Grant, *, start: datetime.date | None, end: datetime.date) -> dict[str, Decimal]:
    """Category -> the ledger postings on the grant's cost centre booked from ``start`` (None: ever) to
    ``end``; indirect costs are the grant's flat rate on the direct costs."""
    costs = {
        category: _postings_total(grant, accounts=accounts, start=start, end=end)
        for category, accounts in CATEGORY_ACCOUNTS.items()
    }
    costs[CostCategory.INDIRECT] = indirect_costs(direct=costs, rate=grant.indirect_cost_rate)
    return costs


def income_received(grant: Grant, *, start: datetime.date | None, end: datetime.date) -> Decimal:
    """Grant income posted on the grant's cost centre in the period (credits, shown positive)."""
    return -_postings_total(grant, accounts=(ACCOUNT_GRANT_INCOME,), start=start, end=end)


@dataclass(frozen=True)
class PersonCharge:
    person: Person
    days: Decimal
    cost: Decimal


def people_charged(grant: Grant, *, start: datetime.date, end: datetime.date) -> list[PersonCharge]:
    """Each person's days on the grant (allocations of the months of the period) and the cost charged to it
    (what ``AllocationBooking`` says was booked on the grant's cost centre for the pay of those months)."""
    months = _months(start, end)
    if not months:
        return []
    first, last = months[0], months[-1]
    days: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for allocation in Allocation.objects.filter(grant=grant, month__gte=first, month__lte=last):
        days[allocation.person_id] += allocation_days(
            allocation, month_working_days=len(working_days(allocation.month))
        )
    cost: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if grant.cost_centre_id is not None:
        bookings = (
            AllocationBooking.objects.filter(
                cost_centre=grant.cost_centre_id, pay_record__month__gte=first, pay_record__month__lte=last
            )
            .values("pay_record__person")
            .annotate(total=Sum("amount"))
        )
        for row in bookings:
            cost[row["pay_record__person"]] += row["total"] or ZERO
    people = Person.objects.in_bulk(set(days) | set(cost))
    charges = [
        PersonCharge(person=people[pk], days=days.get(pk, ZERO), cost=cost.get(pk, ZERO))
        for pk in people
        if days.get(pk) or cost.get(pk)
    ]
    return sorted(charges, key=lambda charge: (charge.person.name, charge.person.pk))


def grant_report_context(
    grant: Grant, *, start: datetime.date, end: datetime.date, language: str = "en"
) -> dict:
    language = _language(language)
    labels = _pick(LABELS, language)
    categories = _pick(CATEGORY_LABELS, language)
    states = _pick(MILESTONE_STATE_LABELS, language)
    fmt = Formatter(language)
    currency = grant.currency

    milestones = []
    for milestone in grant.milestones.select_related("payment").order_by("position", "due_date"):
        payment = getattr(milestone, "payment", None)
        state = states.get(milestone.state, milestone.state)
        if milestone.is_overdue:
            state = f"{state} ({labels['overdue']})"
        milestones.append(
            {
                "position": milestone.position,
                "title": milestone.title,
                "due_date": fmt.day(milestone.due_date),
                "state": state,
                "amount": fmt.money(milestone.payable_amount, currency),
                "paid_on": fmt.day(payment.received_on) if payment else "",
            }
        )

    in_period = category_costs(grant, start=start, end=end)
    to_date = category_costs(grant, start=None, end=end)
    budget = dict(BudgetLine.objects.filter(grant=grant).values_list("category", "amount"))

    def row(label: str, planned: Decimal | None, period: Decimal, so_far: Decimal) -> dict:
        return {
            "category": label,
            "budget": fmt.money(planned, currency) if planned is not None else "",
            "actual_period": fmt.money(period),
            "actual_to_date": fmt.money(so_far),
            "remaining": fmt.money(planned - so_far, currency) if planned is not None else "",
        }

    direct = [category for category in CostCategory.values if category in CATEGORY_ACCOUNTS]
    direct_budget = [budget[category] for category in direct if category in budget]
    direct_period = sum((in_period[category] for category in direct), ZERO)
    direct_to_date = sum((to_date[category] for category in direct), ZERO)
    indirect = CostCategory.INDIRECT
    cost_rows = [
        row(categories[category], budget.get(category), in_period[category], to_date[category])
        for category in direct
        if category in budget or in_period[category] or to_date[category]
    ]
    charges = people_charged(grant, start=start, end=end)
    people = [
        {
            "name": charge.person.name,
            "role": charge.person.role,
            "days": fmt.days(charge.days),
            "cost": fmt.money(charge.cost),
        }
        for charge in charges
    ]
    rate = fmt.percent(grant.indirect_cost_rate)
    return {
        "labels": labels,
        **_organisation_context(organisation_snapshot()),
        "grant": grant,
        "funder": grant.funder,
        "period": labels["period_range"].format(start=fmt.day(start), end=fmt.day(end)),
        "grant_period": labels["period_range"].format(
            start=fmt.day(grant.start_date), end=fmt.day(grant.end_date)
        ),
        "awarded_amount": fmt.money(grant.awarded_amount, currency),
        "funding_model": _pick(FUNDING_MODEL_LABELS, language).get(grant.funding_model, grant.funding_model),
        "indirect_rate": labels["indirect_rate_value"].format(rate=rate),
        "milestones": milestones,
        "cost_rows": cost_rows,
        "direct_row": row(
            labels["direct_costs"],
            sum(direct_budget, ZERO) if direct_budget else None,
            direct_period,
            direct_to_date,
        ),
        "indirect_row": row(
            categories[indirect], budget.get(indirect), in_period[indirect], to_date[indirect]
        ),
        "total_row": row(
            labels["total_costs"],
            sum(budget.values(), ZERO) if budget else None,
            direct_period + in_period[indirect],
            direct_to_date + to_date[indirect],
        ),
        "costs_note": labels["costs_note"].format(rate=rate),
        "income_period": fmt.money(income_received(grant, start=start, end=end)),
        "income_to_date": fmt.money(income_received(grant, start=None, end=end)),
        "people": people,
        "days_total": fmt.days(sum((charge.days for charge in charges), ZERO)),
        "cost_total": fmt.money(sum((charge.cost for charge in charges), ZERO)),
    }


def grant_report_pdf(
    grant: Grant, *, start: datetime.date, end: datetime.date, language: str = "en"
) -> bytes:
    """The report of ``grant`` for its funder over ``start`` to ``end`` (both included)."""
    if end < start:
        raise ValueError("The period ends before it starts.")
    language = _language(language)
    context = grant_report_context(grant, start=start, end=end, language=language)
    title = f"{context['labels']['report_title']} {grant.code} {start:%Y-%m-%d} – {end:%Y-%m-%d}"
    return _render(
        "grants/documents/grant_report.html",
        context,
        language=language,
        title=title,
        author=context["organisation"].get("name", ""),
    )
