"""The annual report at /reports/YYYY/: the published months' figures together, the ten ITZ items, the payers
above 10 % of the budget (named only with consent) and the personnel structure.

The books are built here with ledger postings over several months of 2025; every expected figure is summed
here from those postings, never with the report code's own functions.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache as django_cache
from django.utils import timezone

from grants.models import GrantPayment
from ledger.services import PostingLine, transaction_post
from reports import services
from reports.models import MonthlyReport
from sponsors.models import Invoice, Sponsorship
from tests.factories.fundraising import PatronFactory, PaymentFactory
from tests.factories.grants import FunderFactory, GrantFactory, PayRecordFactory, PersonFactory
from tests.factories.sponsors import SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

YEAR = 2025
URL = f"/reports/{YEAR}/"
URL_DE = f"/de/reports/{YEAR}/"

# (day, key, [(account, amount)]) — income is credited (negative), spending debited (positive).
POSTINGS = [
    (datetime.date(2025, 1, 10), "jan:donation", [("bank", "1000.00"), ("income-donations", "-1000.00")]),
    (datetime.date(2025, 1, 15), "jan:grant", [("bank", "6000.00"), ("income-grants", "-6000.00")]),
    (
        datetime.date(2025, 1, 31),
        "jan:pay",
        [("expense-salaries", "3000.00"), ("expense-social-costs", "630.00"), ("bank", "-3630.00")],
    ),
    (datetime.date(2025, 1, 31), "jan:hosting", [("expense-hosting", "200.00"), ("bank", "-200.00")]),
    (
        datetime.date(2025, 2, 3),
        "feb:sponsorship",
        [("receivables", "4760.00"), ("income-sponsorship-vat", "-4000.00"), ("vat-payable-19", "-760.00")],
    ),
    (datetime.date(2025, 2, 20), "feb:sponsor-paid", [("bank", "4760.00"), ("receivables", "-4760.00")]),
    (
        datetime.date(2025, 2, 12),
        "feb:patrons",
        [("stripe", "595.00"), ("income-patrons-perks", "-500.00"), ("vat-payable-19", "-95.00")],
    ),
    (datetime.date(2025, 2, 12), "feb:fee", [("expense-payment-fees", "12.40"), ("stripe", "-12.40")]),
    (datetime.date(2025, 3, 5), "mar:donation", [("bank", "300.00"), ("income-donations", "-300.00")]),
    (datetime.date(2025, 3, 28), "mar:freelancer", [("expense-freelancers", "800.00"), ("bank", "-800.00")]),
    # April has a report too, but only a draft: none of it may count for the public.
    (datetime.date(2025, 4, 8), "apr:donation", [("bank", "5000.00"), ("income-donations", "-5000.00")]),
    (datetime.date(2025, 4, 30), "apr:hosting", [("expense-hosting", "99.00"), ("bank", "-99.00")]),
]
PUBLISHED = ("2025-01", "2025-02", "2025-03")
CASH_ACCOUNTS = ("bank", "stripe")
INCOME_ACCOUNTS = {
    "income-donations",
    "income-grants",
    "income-sponsorship-vat",
    "income-patrons-perks",
}
SPENDING_ACCOUNTS = {
    "expense-salaries",
    "expense-social-costs",
    "expense-hosting",
    "expense-payment-fees",
    "expense-freelancers",
}


def _published(day: datetime.date) -> bool:
    return f"{day:%Y-%m}" in PUBLISHED


def expected_totals() -> dict[str, Decimal]:
    """Income, spending and cash at the end of March, summed from POSTINGS (published months only)."""
    income = spending = cash = Decimal("0.00")
    for day, _key, lines in POSTINGS:
        if not _published(day):
            continue
        for account, amount in lines:
            amount = Decimal(amount)
            if account in INCOME_ACCOUNTS:
                income -= amount
            elif account in SPENDING_ACCOUNTS:
                spending += amount
            elif account in CASH_ACCOUNTS:
                cash += amount
    return {"income": income, "spending": spending, "result": income - spending, "cash": cash}


def en_money(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}€{abs(amount):,.2f}"


def de_money(amount: Decimal) -> str:
    text = f"{abs(amount):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{'-' if amount < 0 else ''}{text}\xa0€"


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed (amounts keep their no-break spaces)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def books():
    for day, key, lines in POSTINGS:
        transaction_post(
            booking_date=day,
            description=key,
            idempotency_key=key,
            lines=[PostingLine(account, Decimal(amount)) for account, amount in lines],
        )


@pytest.fixture
def publish(make_user):
    finance = make_user("finance", mfa=True)

    def run(*periods: str, drafts: tuple[str, ...] = ()):
        for period in periods:
            month = datetime.date.fromisoformat(f"{period}-01")
            report = services.report_draft(month=month, by=finance)
            services.report_publish(report=report, by=finance)
        for period in drafts:
            services.report_draft(month=datetime.date.fromisoformat(f"{period}-01"), by=finance)

    return run


@pytest.fixture
def year_published(books, publish, organisation):
    publish(*PUBLISHED, drafts=("2025-04",))


def paid_at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def payers():
    """The domain records behind the postings: a sponsor (consented), a grant funder (did not), a patron
    (consented, below 10 %), and a large donor in April (a draft month: must not count)."""
    sponsor = SponsorFactory(display_name="Example Hosting", consent_annual_report=True)
    sponsorship = SponsorshipFactory(
        sponsor=sponsor,
        status=Sponsorship.Status.ACTIVE,
        start_date=datetime.date(2025, 2, 1),
        end_date=datetime.date(2026, 1, 31),
        net_amount=Decimal("4000.00"),
    )
    Invoice.objects.create(
        sponsorship=sponsorship,
        number="RE-2025-00001",
        status=Invoice.Status.PAID,
        issue_date=datetime.date(2025, 2, 3),
        service_start=sponsorship.start_date,
        service_end=sponsorship.end_date,
        description="Sponsorship",
        vat_treatment="domestic",
        net_amount=Decimal("4000.00"),
        vat_rate=Decimal("19.00"),
        vat_amount=Decimal("760.00"),
        gross_amount=Decimal("4760.00"),
        paid_at=paid_at(datetime.date(2025, 2, 20)),
    )
    funder = FunderFactory(name="Quiet Foundation", consent_annual_report=False)
    grant = GrantFactory(
        funder=funder, start_date=datetime.date(2025, 1, 1), end_date=datetime.date(2025, 12, 31)
    )
    GrantPayment.objects.create(
        grant=grant, amount=Decimal("6000.00"), received_on=datetime.date(2025, 1, 15), reference="Q-1"
    )
    patron = PatronFactory(name="Ada Lovelace", annual_report_consent=True)
    PaymentFactory(
        patronage__patron=patron,
        patronage__tier=None,
        patronage__amount=Decimal("1000.00"),
        paid_at=paid_at(datetime.date(2025, 1, 10)),
    )
    late = PatronFactory(name="Grace Hopper", annual_report_consent=True)
    PaymentFactory(
        patronage__patron=late,
        patronage__tier=None,
        patronage__amount=Decimal("5000.00"),
        paid_at=paid_at(datetime.date(2025, 4, 8)),
    )


def test_year_page_totals_are_the_sums_of_the_published_months(client, year_published):
    expected = expected_totals()

    response = client.get(URL)

    assert response.status_code == 200
    text = text_of(response)
    assert en_money(expected["income"]) in text  # 11,800.00: January to March, not April's draft
    assert en_money(expected["spending"]) in text
    assert en_money(expected["result"]) in text
    assert en_money(expected["cash"]) in text
    assert en_money(expected["income"] + Decimal("5000.00")) not in text
    assert "January to March" in text
    assert "published so far" in text
    for month in ("01", "02", "03"):
        assert f'href="/reports/{YEAR}/{month}/"' in response.content.decode()
    assert f'href="/reports/{YEAR}/04/"' not in response.content.decode()


def test_year_page_shows_income_by_source_and_spending_by_category(client, year_published):
    text = text_of(client.get(URL))

    # Summed from POSTINGS: donations 1,000 + 300; grants 6,000; sponsorships 4,000; patrons 500.
    assert "Donations €1,300.00" in text
    assert "Grants €6,000.00" in text
    assert "Sponsorships €4,000.00" in text
    # Personnel 3,000 + 630; freelancers 800; hosting 200 (April's 99 is a draft); fees 12.40.
    assert "Personnel €3,630.00" in text
    assert "Freelancers €800.00" in text
    assert "Hosting €200.00" in text
    assert "Payment fees €12.40" in text


def test_year_page_links_its_files_and_carries_charts(client, year_published):
    html = client.get(URL).content.decode()

    for fmt in ("pdf", "csv", "json"):
        assert f'href="/reports/{YEAR}.{fmt}"' in html
    assert html.count('role="img"') >= 2
    assert "<caption" in html and 'scope="row"' in html


def test_payer_above_10_percent_named_only_with_consent(client, year_published, payers):
    text = text_of(client.get(URL))
    budget = expected_totals()["income"]
    assert budget == Decimal("11800.00")

    # The sponsor (4,000 of 11,800 = 33.9 %) agreed to be named.
    assert re.search(r"Example Hosting Sponsor €4,000\.00 33\.9\s?%", text)
    # The grant funder (6,000 = 50.8 %) did not: anonymous, with kind and amount.
    assert "Quiet Foundation" not in text
    assert re.search(r"anonymous Grant funder €6,000\.00 50\.8\s?%", text)
    # Ada paid 1,000 (8.5 %): below 10 %, not listed even though she agreed to be named.
    assert "Ada Lovelace" not in text
    # Grace's 5,000 fell in April, a draft month: it does not count.
    assert "Grace Hopper" not in text
    # The threshold is a tenth of the budget.
    assert en_money(budget / 10) in text


def test_payers_in_the_year_json_data(year_published, payers):
    from reports.annual import annual_report_data

    reports = list(MonthlyReport.objects.published().in_year(YEAR).order_by("month"))
    data = annual_report_data(YEAR, reports).as_json(status="published")

    assert data["budget"] == "11800.00"
    assert data["months_included"] == list(PUBLISHED)
    assert data["payers_above_10_percent"] == [
        {"kind": "grant_funder", "name": "anonymous", "amount": "6000.00", "share": "50.8"},
        {"kind": "sponsor", "name": "Example Hosting", "amount": "4000.00", "share": "33.9"},
    ]


@pytest.fixture
def staff():
    backend_a = PersonFactory(role="Backend developer", weekly_hours=Decimal("40.0"))
    backend_b = PersonFactory(role="Backend developer", weekly_hours=Decimal("20.0"))
    designer = PersonFactory(role="Designer", kind="freelancer", weekly_hours=Decimal("10.0"))
    PayRecordFactory(person=backend_a, month=datetime.date(2025, 1, 1), gross_salary=Decimal("4000.00"))
    PayRecordFactory(person=backend_a, month=datetime.date(2025, 2, 1), gross_salary=Decimal("4000.00"))
    PayRecordFactory(person=backend_b, month=datetime.date(2025, 2, 1), gross_salary=Decimal("2200.00"))
    PayRecordFactory(
        person=designer,
        month=datetime.date(2025, 3, 1),
        gross_salary=Decimal("0.00"),
        employer_social_costs=Decimal("0.00"),
        freelancer_invoice=Decimal("800.00"),
    )
    # April is a draft month: not in the report.
    PayRecordFactory(person=backend_b, month=datetime.date(2025, 4, 1), gross_salary=Decimal("9999.00"))


def test_personnel_structure_without_pay_by_default(client, year_published, staff):
    text = text_of(client.get(URL))

    # Two backend developers (40 + 20 hours = 1.5 full-time), one freelance designer.
    assert re.search(r"Backend developer Employee 2 60 1\.5", text)
    assert re.search(r"Designer Freelancer 1 10 0\.3", text)
    assert "gross monthly pay" not in text.lower()
    assert "€3,400.00" not in text


def test_gross_pay_per_position_only_when_the_organisation_publishes_it(
    client, year_published, staff, organisation
):
    organisation.publish_gross_pay = True
    organisation.save()

    text = text_of(client.get(URL))

    # Backend: (4,000 + 4,000 + 2,200) / 3 months paid = 3,400; the designer's one invoice: 800.
    assert "Average gross monthly pay" in text
    assert re.search(r"Backend developer Employee 2 60 1\.5 €3,400\.00", text)
    assert re.search(r"Designer Freelancer 1 10 0\.3 €800\.00", text)
    assert "9,999" not in text


def test_itz_items_show_the_organisation_settings(client, year_published, organisation):
    organisation.founding_year = 2019
    organisation.managing_directors = "Lena Hoffmann\nTomás Reyes"
    organisation.decision_makers = "Jana Novak, chair of the advisory board"
    organisation.statutes_purpose = "Promotion of science and research; adult education"
    organisation.statutes_url = "https://example.org/statutes.pdf"
    organisation.legal_affiliations = "Sole shareholder: Example e.V., Berlin"
    organisation.exemption_notice_date = datetime.date(2024, 5, 17)
    organisation.exemption_period_start_year = 2020
    organisation.exemption_period_end_year = 2022
    organisation.save()

    response = client.get(URL)
    html, text = response.content.decode(), text_of(response)

    for number in range(1, 11):
        assert f'id="itz-{number}"' in html
    assert "Fediverse Commons gGmbH" in text
    assert "Seat: Berlin" in text
    assert "Founded: 2019" in text
    assert "Promotion of science and research; adult education" in text
    assert 'href="https://example.org/statutes.pdf"' in html
    assert "Finanzamt für Körperschaften I Berlin" in text
    assert "May 17, 2024" in text and "2020–2022" in text
    assert "Lena Hoffmann, managing director" in text
    assert "Tomás Reyes, managing director" in text
    assert "Jana Novak, chair of the advisory board" in text
    assert "Sole shareholder: Example e.V., Berlin" in text


def test_german_page_uses_german_texts_and_number_formats(client, year_published, payers, organisation):
    organisation.statutes_purpose = "Promotion of science and research"
    organisation.statutes_purpose_de = "Förderung von Wissenschaft und Forschung; Volksbildung"
    organisation.save()
    expected = expected_totals()

    response = client.get(URL_DE)

    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    text = text_of(response)
    assert de_money(expected["income"]) in text  # 11.800,00 €
    assert de_money(expected["spending"]) in text
    assert "Förderung von Wissenschaft und Forschung; Volksbildung" in text
    assert "Promotion of science and research" not in text
    assert "Januar" in text and "März" in text
    assert f'href="/de/reports/{YEAR}/01/"' in response.content.decode()


@pytest.mark.parametrize("year", ["0000", "1899", "2031", "2024"])
def test_years_without_reports_are_not_found(client, year_published, year):
    assert client.get(f"/reports/{year}/").status_code == 404


def test_a_year_with_drafts_only_is_not_found_for_the_public(client, books, publish, organisation):
    publish(drafts=("2025-01",))

    assert client.get(URL).status_code == 404
    assert client.get(URL_DE).status_code == 404


def test_finance_sees_a_draft_year_with_a_banner_never_cached(finance_client, books, publish, organisation):
    publish(drafts=("2025-01",))

    response = finance_client.get(URL)

    assert response.status_code == 200
    assert "Draft — not published" in text_of(response)
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    # January's income, summed from POSTINGS: 1,000 + 6,000.
    assert en_money(Decimal("7000.00")) in text_of(response)


def test_finance_sees_draft_months_in_a_published_year(finance_client, year_published):
    response = finance_client.get(URL)

    text = text_of(response)
    assert "Draft — not published" in text
    # With April's draft: 11,800 + 5,000.
    assert en_money(expected_totals()["income"] + Decimal("5000.00")) in text
    assert response["X-Robots-Tag"] == "noindex"

    # The public still sees the published months only: the draft rendering was not kept.
    public = text_of(finance_client.__class__().get(URL))
    assert en_money(expected_totals()["income"]) in public
    assert "Draft — not published" not in public


def test_public_page_is_rendered_once_and_refreshed_when_a_report_changes(
    client, year_published, monkeypatch, make_user, django_capture_on_commit_callbacks
):
    from reports import annual_views

    calls = []
    original = annual_views.year_body_context
    monkeypatch.setattr(
        annual_views, "year_body_context", lambda *args: calls.append(args) or original(*args)
    )
    django_cache.clear()

    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    assert len(calls) == 1
    assert "X-Robots-Tag" not in client.get(URL)

    finance = make_user("finance", mfa=True)
    april = MonthlyReport.objects.get(month=datetime.date(2025, 4, 1))
    with django_capture_on_commit_callbacks(execute=True):
        services.report_publish(report=april, by=finance)

    text = text_of(client.get(URL))
    assert len(calls) == 2
    assert en_money(expected_totals()["income"] + Decimal("5000.00")) in text
    assert "January to April" in text


def test_a_change_to_the_organisation_settings_shows_at_once(client, year_published, organisation):
    assert "Sole shareholder" not in text_of(client.get(URL))

    organisation.legal_affiliations = "Sole shareholder: Example e.V., Berlin"
    organisation.save()

    assert "Sole shareholder: Example e.V., Berlin" in text_of(client.get(URL))
