"""The grant documents: request for payment, monthly time declaration and grant report.

The data is made through ``grants.services`` (allocations, pay, bills, grant payments), so the ledger holds
what it would hold in use. Expected figures are computed here by hand (March 2026 has 22 working days:
Monday 2 to Tuesday 31), and money is written out in English and German notation independently of the code
under test. The PDFs' text is read back with pypdf.
"""

import datetime
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from pypdf import PdfReader

from grants import services
from grants.documents import grant_report_pdf, request_for_payment_pdf, time_declaration_pdf
from grants.models import Allocation, BudgetLine, Milestone
from ledger.models import Posting
from tests.factories.grants import (
    BillFactory,
    GrantFactory,
    MilestoneFactory,
    PayRecordFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
APRIL = datetime.date(2026, 4, 1)
MAY = datetime.date(2026, 5, 1)  # 21 working days: Friday 1, then 4-8, 11-15, 18-22, 25-29
MARCH_WORKING_DAYS = 22  # 2026-03-01 is a Sunday: 2-6, 9-13, 16-20, 23-27, 30-31
APRIL_WORKING_DAYS = 22  # 2026-04-01 is a Wednesday: 1-3, 6-10, 13-17, 20-24, 27-30
DOCUMENTS = "/admin/grants/documents"


def pdf_text(pdf: bytes) -> str:
    """All pages' text with every run of white space (including no-break spaces) as one space."""
    assert pdf.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def english_money(amount: Decimal) -> str:
    """12345.6 -> "€12,345.60" """
    return f"€{amount:,.2f}"


def german_money(amount: Decimal) -> str:
    """12345.6 -> "12.345,60 €" """
    text = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} €"


def ledger_total(centre, accounts, *, start, end) -> Decimal:
    return Posting.objects.filter(
        cost_centre=centre,
        account__code__in=accounts,
        transaction__booking_date__gte=start,
        transaction__booking_date__lte=end,
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


# --- Request for payment --------------------------------------------------------------------------


@pytest.fixture
def milestone(organisation):
    milestone = MilestoneFactory(
        position=2,
        title="Moderation queue for small servers",
        amount=Decimal("12345.67"),
        deliverables="Shared block lists\nReport forwarding between servers",
        evidence_links="https://git.example.org/commons/moderation/-/tags/v0.2",
        grant__title="Federated moderation tools",
        grant__reference="2026-02-017",
        grant__funder__name="NLnet Foundation",
    )
    return services.milestone_request_issue(milestone=milestone, on=datetime.date(2026, 7, 1))


def test_the_request_for_payment_names_the_amount_number_grant_and_bank_account(milestone):
    text = pdf_text(request_for_payment_pdf(milestone))
    assert "Request for payment" in text
    assert milestone.request_number == "ZA-2026-00001"
    assert "ZA-2026-00001" in text
    assert "€12,345.67" in text
    assert "NLnet Foundation" in text
    assert "2026-02-017" in text
    assert "Milestone 2: Moderation queue for small servers" in text
    assert "Shared block lists" in text and "Report forwarding between servers" in text
    assert "https://git.example.org/commons/moderation/-/tags/v0.2" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "COBADEFFXXX" in text
    assert "ZA-2026-00001 / 2026-02-017" in text  # the reference to quote
    assert "Fediverse Commons gGmbH" in text
    assert "Signature" in text


def test_a_tranche_is_requested_as_its_share_of_the_award(organisation):
    milestone = MilestoneFactory(
        amount=None, tranche_percent=Decimal("45"), grant__awarded_amount=Decimal("33333.33")
    )
    milestone = services.milestone_request_issue(milestone=milestone)
    assert english_money(cents(Decimal("33333.33") * Decimal("0.45"))) == "€15,000.00"
    assert "€15,000.00" in pdf_text(request_for_payment_pdf(milestone))


def test_the_request_for_payment_in_german(milestone):
    text = pdf_text(request_for_payment_pdf(milestone, language="de"))
    assert "Zahlungsanforderung" in text
    assert german_money(Decimal("12345.67")) in text
    assert "01.07.2026" in text
    assert "Bankverbindung" in text
    assert "Request for payment" not in text


# --- Time declaration -----------------------------------------------------------------------------


def test_half_a_month_of_22_working_days_is_declared_as_11_days(organisation):
    grant = GrantFactory(title="Federated moderation tools", reference="101070000")
    person = PersonFactory(name="Ada Example", role="Backend developer", weekly_hours=Decimal("40"))
    services.allocations_set(person=person, month=MARCH, shares={grant: Decimal("50")})
    text = pdf_text(time_declaration_pdf(person, grant, MARCH))
    assert "Monthly time declaration" in text
    assert "Ada Example" in text and "Backend developer" in text
    assert "March 2026" in text
    assert "101070000" in text
    assert f"Working days in the month: {MARCH_WORKING_DAYS}" in text
    assert "Days charged to this grant 11.0" in text
    assert "Share of the month 50 %" in text
    assert "Hours charged to this grant 88.0" in text  # 11 days × 8 hours
    # every working day is listed, no weekend day
    weekdays = re.findall(r"\d\d? Mar 2026 (\w+day)", text)
    assert len(weekdays) == MARCH_WORKING_DAYS
    assert weekdays.count("Monday") == 5 and weekdays.count("Tuesday") == 5 and weekdays.count("Friday") == 4
    assert "Saturday" not in text and "Sunday" not in text
    assert "Signature of the person" in text and "Signature of the supervisor" in text


def test_days_entered_for_the_month_are_declared_as_entered(organisation):
    grant = GrantFactory()
    person = PersonFactory(weekly_hours=Decimal("30"))
    services.allocations_set(person=person, month=MARCH, shares={grant: Decimal("25")})
    Allocation.objects.filter(person=person, grant=grant).update(days=Decimal("5.5"))
    text = pdf_text(time_declaration_pdf(person, grant, MARCH))
    assert "Days charged to this grant 5.5" in text
    assert "Hours charged to this grant 33.0" in text  # 5.5 days × 6 hours (30 hours a week)
    assert "Share of the month 25 %" in text  # 5.5 of 22 working days


def test_the_time_declaration_in_german(organisation):
    grant = GrantFactory()
    person = PersonFactory()
    services.allocations_set(person=person, month=MARCH, shares={grant: Decimal("33.33")})
    text = pdf_text(time_declaration_pdf(person, grant, MARCH, language="de"))
    assert "Monatlicher Zeitnachweis" in text
    assert "März 2026" in text
    assert "Diesem Projekt angerechnete Tage 7,3" in text  # 33.33 % × 22 = 7.3326


# --- Grant report ---------------------------------------------------------------------------------


@pytest.fixture
def actual_cost_grant(organisation):
    """A Horizon-style grant with 25 % indirect costs: two people in March and April, a trip, income."""
    grant = GrantFactory(
        title="Federated search",
        reference="101070001",
        funding_model="actual_cost",
        indirect_cost_rate=Decimal("25"),
    )
    centre = services.grant_cost_centre_ensure(grant=grant)
    BudgetLine.objects.create(grant=grant, category="personnel", amount=Decimal("30000.00"))
    BudgetLine.objects.create(grant=grant, category="travel", amount=Decimal("2000.00"))
    BudgetLine.objects.create(grant=grant, category="indirect", amount=Decimal("8000.00"))
    ada = PersonFactory(name="Ada Example")
    bo = PersonFactory(name="Bo Freelance", kind="freelancer")
    for month in (MARCH, APRIL):
        services.allocations_set(person=ada, month=month, shares={grant: Decimal("50")})
        services.pay_record_post(
            pay_record=PayRecordFactory(
                person=ada,
                month=month,
                gross_salary=Decimal("5000.00"),
                employer_social_costs=Decimal("1050.00"),
            )
        )
    services.allocations_set(person=bo, month=MARCH, shares={grant: Decimal("20")})
    services.pay_record_post(
        pay_record=PayRecordFactory(
            person=bo,
            month=MARCH,
            gross_salary=Decimal("0"),
            employer_social_costs=Decimal("0"),
            freelancer_invoice=Decimal("3333.33"),
        )
    )
    services.bill_post(
        bill=BillFactory(
            cost_centre=centre,
            account_code="expense-travel",
            bill_date=datetime.date(2026, 4, 10),
            net_amount=Decimal("412.50"),
            vat_amount=Decimal("0"),
        )
    )
    services.bill_post(  # after the period: not in the report
        bill=BillFactory(
            cost_centre=centre,
            account_code="expense-travel",
            bill_date=datetime.date(2026, 6, 2),
            net_amount=Decimal("99.00"),
            vat_amount=Decimal("0"),
        )
    )
    services.grant_payment_record(
        grant=grant,
        amount=Decimal("20000.00"),
        received_on=datetime.date(2026, 3, 16),
        reference="EC prefinancing",
    )
    grant.refresh_from_db()
    return grant


PERIOD = {"start": MARCH, "end": datetime.date(2026, 4, 30)}


def category_row(text: str, label: str) -> list[str]:
    """The money figures of a row of the costs table (budget, period, to date, remaining)."""
    match = re.search(re.escape(label) + r"((?: -?€[\d,]+\.\d\d)+)", text)
    assert match, (label, text)
    return match.group(1).split()


def test_the_report_shows_costs_by_category_as_booked_in_the_ledger(actual_cost_grant):
    grant = actual_cost_grant
    text = pdf_text(grant_report_pdf(grant, **PERIOD))
    # Independent arithmetic: Ada 50 % of 5,000.00 + 1,050.00 in two months; Bo 20 % of 3,333.33.
    personnel = 2 * (Decimal("2500.00") + Decimal("525.00"))
    freelancers = cents(Decimal("3333.33") * Decimal("0.20"))  # 666.666 -> 666.67
    travel = Decimal("412.50")
    indirect = cents((personnel + freelancers + travel) * Decimal("0.25"))
    assert personnel == ledger_total(
        grant.cost_centre,
        ["expense-salaries", "expense-social-costs"],
        start=PERIOD["start"],
        end=PERIOD["end"],
    )
    assert freelancers == ledger_total(grant.cost_centre, ["expense-freelancers"], **PERIOD)
    assert travel == ledger_total(grant.cost_centre, ["expense-travel"], **PERIOD)

    assert category_row(text, "Personnel") == [
        "€30,000.00",
        english_money(personnel),
        english_money(personnel),
        english_money(Decimal("30000.00") - personnel),
    ]
    assert category_row(text, "Freelancers")[:2] == [english_money(freelancers), english_money(freelancers)]
    assert category_row(text, "Travel") == [
        "€2,000.00",
        english_money(travel),
        english_money(travel),
        english_money(Decimal("2000.00") - travel),
    ]
    direct = personnel + freelancers + travel
    assert category_row(text, "Direct costs")[:2] == ["€32,000.00", english_money(direct)]
    assert category_row(text, "Indirect costs")[:2] == ["€8,000.00", english_money(indirect)]
    total = personnel + freelancers + travel + indirect
    assert category_row(text, "Total costs")[:2] == ["€40,000.00", english_money(total)]
    assert "Received from the funder in the period €20,000.00" in text


def test_the_report_lists_each_persons_days_and_the_cost_charged(actual_cost_grant):
    text = pdf_text(grant_report_pdf(actual_cost_grant, **PERIOD))
    ada_days = Decimal(MARCH_WORKING_DAYS + APRIL_WORKING_DAYS) / 2  # 50 % of March and April
    bo_days = Decimal("4.4")  # 20 % of 22
    assert f"Ada Example Backend developer {ada_days:.1f} {english_money(Decimal('6050.00'))}" in text
    assert f"Bo Freelance Backend developer {bo_days} {english_money(Decimal('666.67'))}" in text
    assert f"Total {ada_days + bo_days:.1f} {english_money(Decimal('6716.67'))}" in text
    assert "5,000.00" not in text and "3,333.33" not in text  # no one's whole salary


def test_the_report_shows_milestone_states(organisation):
    grant = GrantFactory()
    paid = MilestoneFactory(grant=grant, position=1, title="Design", amount=Decimal("5000.00"))
    MilestoneFactory(grant=grant, position=2, title="Prototype", due_date=datetime.date(2026, 9, 30))
    services.grant_payment_record(
        grant=grant,
        amount=Decimal("5000.00"),
        received_on=datetime.date(2026, 7, 3),
        reference="M1",
        milestone=paid,
    )
    text = pdf_text(grant_report_pdf(grant, start=grant.start_date, end=datetime.date(2026, 10, 31)))
    assert "1 Design 30 Jun 2026 paid €5,000.00 3 Jul 2026" in text
    assert "2 Prototype 30 Sept 2026 planned (overdue) €10,000.00" in text


def test_one_more_pay_record_changes_the_reported_personnel_cost_by_its_charged_share(actual_cost_grant):
    grant = actual_cost_grant
    period = {"start": MARCH, "end": datetime.date(2026, 5, 31)}
    before = category_row(pdf_text(grant_report_pdf(grant, **period)), "Personnel")[1]
    person = PersonFactory(name="Cleo Newcomer")
    services.allocations_set(person=person, month=MAY, shares={grant: Decimal("37.5")})
    services.pay_record_post(
        pay_record=PayRecordFactory(
            person=person, month=MAY, gross_salary=Decimal("4321.09"), employer_social_costs=Decimal("907.43")
        )
    )
    text = pdf_text(grant_report_pdf(grant, **period))
    charged = cents(Decimal("4321.09") * Decimal("0.375")) + cents(Decimal("907.43") * Decimal("0.375"))
    assert charged == Decimal("1620.41") + Decimal("340.29")
    assert before == english_money(Decimal("6050.00"))
    assert category_row(text, "Personnel")[1] == english_money(Decimal("6050.00") + charged)
    assert (
        f"Cleo Newcomer Backend developer 7.9 {english_money(charged)}" in text
    )  # 37.5 % of 21 days = 7.875


def test_the_report_in_german(actual_cost_grant):
    text = pdf_text(grant_report_pdf(actual_cost_grant, **PERIOD, language="de"))
    assert "Projektbericht" in text
    assert "01.03.2026 bis 30.04.2026" in text
    assert f"Personal {german_money(Decimal('30000.00'))} {german_money(Decimal('6050.00'))}" in text


# --- Downloads in the admin -----------------------------------------------------------------------


def test_finance_downloads_the_three_documents(finance_client, milestone, actual_cost_grant):
    person = Allocation.objects.filter(grant=actual_cost_grant).first().person
    person.name = "Jürgen Łukasz"
    person.save()
    urls = [
        f"{DOCUMENTS}/request/{milestone.pk}.pdf",
        f"{DOCUMENTS}/request/{milestone.pk}.pdf?language=de",
        f"{DOCUMENTS}/time-declaration/{person.pk}/{actual_cost_grant.pk}/2026-03.pdf",
        f"{DOCUMENTS}/report/{actual_cost_grant.pk}.pdf",
        f"{DOCUMENTS}/report/{actual_cost_grant.pk}.pdf?start=2026-03-01&end=2026-04-30",
    ]
    for url in urls:
        response = finance_client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(finance_client.get(urls[-1]).content)
    assert "1 Mar 2026 to 30 Apr 2026" in text


def test_downloading_a_request_gives_the_milestone_its_number_first(finance_client, organisation):
    milestone = MilestoneFactory(amount=Decimal("8000.00"))
    response = finance_client.get(f"{DOCUMENTS}/request/{milestone.pk}.pdf")
    assert response.status_code == 200
    milestone.refresh_from_db()
    assert milestone.request_number.startswith("ZA-")
    assert milestone.state == Milestone.State.SUBMITTED
    assert milestone.request_number in pdf_text(response.content)
    finance_client.get(f"{DOCUMENTS}/request/{milestone.pk}.pdf")
    number = milestone.request_number
    milestone.refresh_from_db()
    assert milestone.request_number == number  # a second download keeps the number


def test_the_report_defaults_to_the_grant_period_up_to_today(finance_client, actual_cost_grant):
    text = pdf_text(finance_client.get(f"{DOCUMENTS}/report/{actual_cost_grant.pk}.pdf").content)
    assert "Reporting period: 1 Jan 2026 to" in text
    assert "Travel €2,000.00 €511.50" in text  # the June bill is within the whole period


def test_unknown_ids_are_not_found(finance_client, organisation):
    grant = GrantFactory()
    person = PersonFactory()
    for url in (
        f"{DOCUMENTS}/request/999999.pdf",
        f"{DOCUMENTS}/time-declaration/999999/{grant.pk}/2026-03.pdf",
        f"{DOCUMENTS}/time-declaration/{person.pk}/999999/2026-03.pdf",
        f"{DOCUMENTS}/report/999999.pdf",
    ):
        assert finance_client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("time-declaration/{person}/{grant}/2026-13.pdf", "There is no month 2026-13."),
        ("time-declaration/{person}/{grant}/0000-01.pdf", "There is no month 0000-01."),
        ("time-declaration/{person}/{grant}/2027-03.pdf", "does not run in 2027-03."),
        ("report/{grant}.pdf?start=2026-02-30", "is not a date"),
        ("report/{grant}.pdf?start=March&end=2026-04-30", "is not a date"),
        ("report/{grant}.pdf?start=2026-05-01&end=2026-04-30", "The period ends before it starts."),
    ],
)
def test_a_month_or_period_that_makes_no_sense_is_a_message(finance_client, organisation, path, message):
    grant = GrantFactory()
    person = PersonFactory()
    url = f"{DOCUMENTS}/" + path.format(person=person.pk, grant=grant.pk)
    response = finance_client.get(url, HTTP_REFERER="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    page = finance_client.get(response["Location"]).content.decode()
    assert message in page.replace("&quot;", '"').replace("&#x27;", "'")


def test_only_finance_with_mfa_downloads(client, make_user, editor_client, milestone):
    grant = milestone.grant
    person = PersonFactory()
    services.allocations_set(person=person, month=MARCH, shares={grant: Decimal("50")})
    unrequested = MilestoneFactory(grant=grant)
    urls = [
        f"{DOCUMENTS}/request/{milestone.pk}.pdf",
        f"{DOCUMENTS}/request/{unrequested.pk}.pdf",
        f"{DOCUMENTS}/time-declaration/{person.pk}/{grant.pk}/2026-03.pdf",
        f"{DOCUMENTS}/report/{grant.pk}.pdf",
    ]
    for url in urls:
        response = editor_client.get(url)
        assert response.status_code in (302, 403), url
        assert b"%PDF" not in response.content
    editor_client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    client.force_login(make_user("patron", "finance", mfa=False))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and b"%PDF" not in response.content, url
    unrequested.refresh_from_db()
    assert unrequested.request_number == "" and unrequested.state == Milestone.State.PLANNED
