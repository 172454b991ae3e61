"""Staff screens of grants, people, pay, allocations and bills: finance with MFA enters and moves things,
every action is a POST that changes the books once, bad input is a message, and nobody else gets in."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.test import Client

from grants import services
from grants.admin_forms import MAX_DOCUMENT_BYTES, MAX_VOUCHER_BYTES
from grants.models import (
    Allocation,
    Bill,
    BudgetLine,
    Funder,
    Grant,
    GrantDocument,
    GrantPayment,
    PayRecord,
    Person,
)
from ledger.models import CostCentre, Posting, Transaction
from tests.factories.grants import (
    BillFactory,
    FunderFactory,
    GrantFactory,
    MilestoneFactory,
    PayRecordFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/grants"
MARCH = datetime.date(2026, 3, 1)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def balance(account: str) -> Decimal:
    total = Posting.objects.filter(account__code=account).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def on_centre(code: str) -> Decimal:
    total = Posting.objects.filter(cost_centre__code=code).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def page(client, response) -> str:
    """The page a redirect leads to (where the flash message is shown), or the page itself."""
    if response.status_code == 302:
        response = client.get(response["Location"])
    return response.content.decode()


def image_bytes(image_format: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 90, 160)).save(buffer, format=image_format)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def grant(db):
    grant = GrantFactory(code="NGI0-FEDI", title="Federated moderation", awarded_amount=Decimal("50000.00"))
    services.grant_cost_centre_ensure(grant=grant)
    grant.refresh_from_db()
    return grant


@pytest.fixture
def employee(db):
    return PersonFactory(name="Ada Example", kind=Person.Kind.EMPLOYEE, start_date=datetime.date(2024, 1, 1))


@pytest.fixture
def freelancer(db):
    return PersonFactory(
        name="Fred Freelance", kind=Person.Kind.FREELANCER, start_date=datetime.date(2024, 1, 1)
    )


# --- Funders --------------------------------------------------------------------------------------


def test_finance_adds_edits_lists_and_inspects_a_funder(finance_client):
    response = finance_client.post(
        f"{ADMIN}/funders/new/",
        {"name": "NLnet Foundation", "kind": "foundation", "country": "nl", "consent_annual_report": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    funder = Funder.objects.get(name="NLnet Foundation")
    assert funder.country == "NL"
    response = finance_client.post(
        f"{ADMIN}/funders/edit/{funder.pk}/",
        {"name": "NLnet Foundation", "kind": "foundation", "country": "NL", "website": "nlnet.nl"},
    )
    assert response.status_code == 302
    funder.refresh_from_db()
    assert funder.website == "https://nlnet.nl"
    assert funder.consent_annual_report is False
    assert "NLnet Foundation" in finance_client.get(f"{ADMIN}/funders/").content.decode()
    GrantFactory(funder=funder, title="Moderation tools")
    assert "Moderation tools" in finance_client.get(f"{ADMIN}/funders/inspect/{funder.pk}/").content.decode()


def test_a_bad_country_code_is_a_message(finance_client):
    response = finance_client.post(
        f"{ADMIN}/funders/new/", {"name": "X", "kind": "company", "country": "Holland"}
    )
    assert response.status_code == 200
    assert "two-letter ISO code" in response.content.decode()
    assert not Funder.objects.exists()


def test_script_in_a_funder_or_person_name_is_escaped(finance_client):
    funder = FunderFactory(name="<script>alert('funder')</script>")
    person = PersonFactory(name="<script>alert('person')</script>")
    GrantFactory(funder=funder)
    for url in (
        f"{ADMIN}/funders/",
        f"{ADMIN}/funders/inspect/{funder.pk}/",
        f"{ADMIN}/grants/",
        f"{ADMIN}/people/",
        f"{ADMIN}/people/inspect/{person.pk}/",
        f"{ADMIN}/allocations/allocate/?person={person.pk}&month=2026-03",
    ):
        content = finance_client.get(url).content.decode()
        assert "<script>alert(" not in content, url
        assert "&lt;script&gt;alert(" in content, url
    content = page(
        finance_client, finance_client.post(f"{ADMIN}/allocations/allocate/?person={person.pk}&month=2026-03")
    )
    assert "<script>alert(" not in content and "Allocation of &lt;script&gt;alert(" in content


# --- Grants ---------------------------------------------------------------------------------------


def grant_data(funder, **overrides) -> dict:
    data = {
        "title": "Fediverse moderation tools",
        "funder": funder.pk,
        "reference": "2026-02-042",
        "code": "NGI0-2026-MOD",
        "awarded_amount": "50000.00",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "purpose": "Moderation tools for small servers.",
        "restricted": "on",
        "funding_model": "milestones",
        "indirect_cost_rate": "0",
        "state": "active",
        "public": "on",
        "budget_personnel": "40000.00",
        "budget_travel": "2000.00",
        "milestones-TOTAL_FORMS": "3",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "1000",
        "milestones-0-position": "1",
        "milestones-0-title": "Design",
        "milestones-0-due_date": "2026-04-30",
        "milestones-0-amount": "10000.00",
        "milestones-1-position": "2",
        "milestones-1-title": "Release",
        "milestones-1-due_date": "2026-09-30",
        "milestones-1-amount": "15000.00",
        "milestones-2-position": "3",  # the empty row, numbered on from the others
    }
    data.update(overrides)
    return data


def test_a_new_grant_gets_its_budget_milestones_and_cost_centre(finance_client):
    funder = FunderFactory()
    response = finance_client.post(f"{ADMIN}/grants/new/", grant_data(funder))
    assert response.status_code == 302, response.content.decode()[-4000:]
    grant = Grant.objects.get(code="NGI0-2026-MOD")
    assert dict(grant.budget_lines.values_list("category", "amount")) == {
        "personnel": Decimal("40000.00"),
        "travel": Decimal("2000.00"),
    }
    assert list(grant.milestones.values_list("title", "amount")) == [
        ("Design", Decimal("10000.00")),
        ("Release", Decimal("15000.00")),
    ]
    assert grant.cost_centre.code == "NGI0-2026-MOD"
    assert grant.cost_centre.kind == CostCentre.Kind.GRANT
    content = page(finance_client, response)
    assert "Federated" not in content and "Fediverse moderation tools" in content
    assert "Design" in content and "10,000.00" in content and "40,000.00" in content


def test_the_code_stays_fixed_and_the_budget_follows_the_form(finance_client, grant):
    BudgetLine.objects.create(grant=grant, category="travel", amount=Decimal("900.00"))
    data = grant_data(
        grant.funder,
        code="SOMETHING-ELSE",
        title="Renamed",
        budget_travel="",
        **{"milestones-TOTAL_FORMS": "0"},
    )
    response = finance_client.post(f"{ADMIN}/grants/edit/{grant.pk}/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    grant.refresh_from_db()
    assert grant.code == "NGI0-FEDI"
    assert grant.title == "Renamed"
    assert dict(grant.budget_lines.values_list("category", "amount")) == {"personnel": Decimal("40000.00")}


def test_a_grant_code_that_the_ledger_already_has_is_refused(finance_client):
    response = finance_client.post(f"{ADMIN}/grants/new/", grant_data(FunderFactory(), code="CORE"))
    assert response.status_code == 200
    assert "already has a cost centre" in response.content.decode()
    assert not Grant.objects.exists()


def test_milestones_above_the_award_are_refused(finance_client):
    data = grant_data(FunderFactory(), **{"milestones-1-amount": "45000.00"})
    response = finance_client.post(f"{ADMIN}/grants/new/", data)
    assert response.status_code == 200
    assert "more than the award" in response.content.decode()
    assert not Grant.objects.exists()
    assert not CostCentre.objects.filter(code="NGI0-2026-MOD").exists()


def test_a_milestone_needs_an_amount_or_a_tranche(finance_client):
    data = grant_data(FunderFactory(), **{"milestones-1-amount": ""})
    response = finance_client.post(f"{ADMIN}/grants/new/", data)
    assert response.status_code == 200
    assert "fixed amount or a tranche percentage" in response.content.decode()
    assert not Grant.objects.exists()


def test_the_grant_list_filters_and_searches(finance_client):
    nlnet, eu = FunderFactory(name="NLnet"), FunderFactory(name="European Commission", kind="eu")
    GrantFactory(title="Moderation", funder=nlnet, state="active", code="G-MOD")
    GrantFactory(title="Bridges", funder=eu, state="applied", funding_model="actual_cost", code="G-HOR")
    cases = {
        "?state=applied": "Bridges",
        f"?funder={nlnet.pk}": "Moderation",
        "?funding_model=actual_cost": "Bridges",
        "?q=moderation": "Moderation",
    }
    for query, expected in cases.items():
        content = finance_client.get(f"{ADMIN}/grants/{query}").content.decode()
        other = "Moderation" if expected == "Bridges" else "Bridges"
        assert expected in content, query
        assert other not in content, query
    export = finance_client.get(f"{ADMIN}/grants/?export=csv")
    assert export.status_code == 200
    assert b"G-MOD" in b"".join(export.streaming_content)


def test_the_grant_page_shows_budget_milestones_payments_documents_and_cost_centre(finance_client, grant):
    BudgetLine.objects.create(grant=grant, category="personnel", amount=Decimal("30000.00"))
    milestone = MilestoneFactory(grant=grant, title="Audit report", amount=Decimal("12000.00"))
    MilestoneFactory(grant=grant, title="Tranche two", amount=None, tranche_percent=Decimal("40"))
    services.grant_payment_record(
        grant=grant, amount=Decimal("12000.00"), received_on=MARCH, reference="NLNET-77", milestone=milestone
    )
    record = PayRecordFactory(gross_salary=Decimal("1000.00"), employer_social_costs=Decimal("0"))
    services.allocations_set(person=record.person, month=MARCH, shares={grant: Decimal("50")})
    services.pay_record_post(pay_record=record)
    GrantDocument.objects.create(grant=grant, title="Grant agreement", file="grants/x/agreement.pdf")
    content = finance_client.get(f"{ADMIN}/grants/inspect/{grant.pk}/").content.decode()
    for text in ("Audit report", "12,000.00", "Tranche two", "20,000.00", "NLNET-77", "Grant agreement"):
        assert text in content, text
    assert "30,000.00" in content and "500.00" in content  # budget and booked personnel
    assert "NGI0-FEDI" in content and "/admin/ledger/cost-centres/inspect/" in content


def test_grant_moves_are_posts_and_a_wrong_move_is_a_message(finance_client):
    grant = GrantFactory(state="applied")
    assert finance_client.get(f"{ADMIN}/grants/award/{grant.pk}/").status_code == 200
    response = finance_client.post(f"{ADMIN}/grants/award/{grant.pk}/")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.state == "awarded"
    content = page(finance_client, finance_client.post(f"{ADMIN}/grants/award/{grant.pk}/"))
    assert "cannot be moved that way" in content
    content = page(finance_client, finance_client.post(f"{ADMIN}/grants/reject/{grant.pk}/"))
    assert "cannot be moved that way" in content
    grant.refresh_from_db()
    assert grant.state == "awarded"
    finance_client.post(f"{ADMIN}/grants/start/{grant.pk}/")
    finance_client.post(f"{ADMIN}/grants/close/{grant.pk}/")
    grant.refresh_from_db()
    assert grant.state == "closed"


def test_a_grant_document_must_be_a_pdf_within_the_limit(finance_client, grant, make_user):
    url = f"{ADMIN}/grants/documents/{grant.pk}/upload/"
    assert finance_client.get(url).status_code == 200
    response = finance_client.post(
        url, {"title": "Agreement", "file": upload("agreement.pdf", b"<html>no</html>")}
    )
    assert response.status_code == 400
    assert "not a PDF" in response.content.decode()
    too_big = PDF + b"0" * (MAX_DOCUMENT_BYTES + 1 - len(PDF))
    response = finance_client.post(url, {"title": "Agreement", "file": upload("big.pdf", too_big)})
    assert response.status_code == 400
    assert "the limit is 20.0" in response.content.decode()
    assert not GrantDocument.objects.exists()
    response = finance_client.post(url, {"title": "", "file": upload("Grant Agreement.pdf", PDF)})
    assert response.status_code == 302
    document = GrantDocument.objects.get()
    assert document.title == "Grant agreement"
    download = finance_client.get(f"{ADMIN}/grants/documents/file/{document.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    editor = Client()
    editor.force_login(make_user("patron", "editor", mfa=True))
    assert editor.get(f"{ADMIN}/grants/documents/file/{document.pk}/").status_code in (302, 403)


# --- Milestones -----------------------------------------------------------------------------------


def test_the_milestone_list_filters_by_grant_state_and_overdue(finance_client, grant):
    other = GrantFactory(code="OTHER")
    MilestoneFactory(grant=grant, title="Late one", due_date=datetime.date(2026, 2, 1))
    MilestoneFactory(grant=grant, title="Future one", due_date=datetime.date(2099, 1, 1))
    MilestoneFactory(
        grant=other, title="Submitted one", state="submitted", due_date=datetime.date(2026, 2, 1)
    )
    cases = {
        "?overdue=true": {"Late one"},
        "?overdue=false": {"Future one", "Submitted one"},
        "?state=submitted": {"Submitted one"},
        f"?grant={grant.pk}": {"Late one", "Future one"},
    }
    for query, expected in cases.items():
        content = finance_client.get(f"{ADMIN}/milestones/{query}").content.decode()
        for title in {"Late one", "Future one", "Submitted one"}:
            assert (title in content) == (title in expected), (query, title)


def test_milestone_moves_follow_the_table(finance_client, grant):
    milestone = MilestoneFactory(grant=grant)
    inspect = finance_client.get(f"{ADMIN}/milestones/inspect/{milestone.pk}/").content.decode()
    assert f"{ADMIN}/milestones/begin/{milestone.pk}/" in inspect
    for action, state in (("begin", "in_progress"), ("submit", "submitted"), ("reopen", "in_progress")):
        assert finance_client.post(f"{ADMIN}/milestones/{action}/{milestone.pk}/").status_code == 302
        milestone.refresh_from_db()
        assert milestone.state == state, action
    content = page(finance_client, finance_client.post(f"{ADMIN}/milestones/accept/{milestone.pk}/"))
    assert "cannot be moved that way" in content
    finance_client.post(f"{ADMIN}/milestones/submit/{milestone.pk}/")
    finance_client.post(f"{ADMIN}/milestones/accept/{milestone.pk}/")
    milestone.refresh_from_db()
    assert milestone.state == "accepted" and milestone.accepted_at is not None


def test_a_request_for_payment_is_issued_once(finance_client, grant):
    milestone = MilestoneFactory(grant=grant)
    url = f"{ADMIN}/milestones/request/{milestone.pk}/"
    assert finance_client.get(url).status_code == 200
    first = page(finance_client, finance_client.post(url))
    milestone.refresh_from_db()
    number = milestone.request_number
    assert number.startswith("ZA-") and number in first
    assert milestone.state == "submitted"
    second = page(finance_client, finance_client.post(url))
    assert "already issued" in second
    milestone.refresh_from_db()
    assert milestone.request_number == number


def test_a_milestone_payment_books_once_on_a_double_submit(finance_client, grant):
    milestone = MilestoneFactory(grant=grant, amount=None, tranche_percent=Decimal("40"))
    url = f"{ADMIN}/milestones/payment/{milestone.pk}/"
    form = finance_client.get(url).content.decode()
    assert 'value="20000.00"' in form  # the payable amount: 40 % of 50,000
    data = {"amount": "20000.00", "received_on": "2026-03-10", "reference": "NLNET 2026-02-042 M1"}
    assert finance_client.post(url, data).status_code == 302
    second = page(finance_client, finance_client.post(url, data))
    assert "already been paid" in second
    assert GrantPayment.objects.count() == 1
    assert balance("bank") == Decimal("20000.00")
    assert on_centre("NGI0-FEDI") == Decimal("-20000.00")  # grant income on the grant's cost centre
    milestone.refresh_from_db()
    assert milestone.state == "paid"


def test_a_future_payment_date_is_a_message(finance_client, grant):
    milestone = MilestoneFactory(grant=grant)
    data = {"amount": "10000.00", "received_on": "2099-01-01", "reference": "X"}
    response = finance_client.post(f"{ADMIN}/milestones/payment/{milestone.pk}/", data)
    assert response.status_code == 400
    assert "lies in the future" in response.content.decode()
    assert not Transaction.objects.exists()


# --- Grant payments -------------------------------------------------------------------------------


def test_a_payment_without_milestone_books_once_on_a_double_submit(finance_client, grant):
    url = f"{ADMIN}/payments/new/"
    assert finance_client.get(f"{url}?grant={grant.pk}").status_code == 200
    data = {"grant": grant.pk, "amount": "5000.00", "received_on": "2026-02-01", "reference": "Advance 1"}
    response = finance_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    second = finance_client.post(url, data)
    assert second.status_code == 200
    assert "already recorded" in second.content.decode()
    assert GrantPayment.objects.count() == 1
    assert balance("bank") == Decimal("5000.00")
    payment = GrantPayment.objects.get()
    assert payment.recorded_by == finance_client.user
    content = finance_client.get(f"{ADMIN}/payments/inspect/{payment.pk}/").content.decode()
    assert "Advance 1" in content and "Grant payment: Federated moderation" in content
    assert "Advance 1" in finance_client.get(f"{ADMIN}/payments/?grant={grant.pk}").content.decode()


# --- People and pay -------------------------------------------------------------------------------


def test_finance_adds_edits_and_inspects_a_person(finance_client):
    data = {
        "name": "Grace Example",
        "role": "Backend developer",
        "kind": "employee",
        "start_date": "2025-01-01",
        "weekly_hours": "32",
        "core_development": "on",
    }
    assert finance_client.post(f"{ADMIN}/people/new/", data).status_code == 302
    person = Person.objects.get(name="Grace Example")
    response = finance_client.post(f"{ADMIN}/people/edit/{person.pk}/", {**data, "end_date": "2024-12-31"})
    assert response.status_code == 200
    assert "The end lies before the start." in response.content.decode()
    assert (
        finance_client.post(f"{ADMIN}/people/edit/{person.pk}/", {**data, "role": "Maintainer"}).status_code
        == 302
    )
    person.refresh_from_db()
    assert person.role == "Maintainer"
    assert "Maintainer" in finance_client.get(f"{ADMIN}/people/inspect/{person.pk}/").content.decode()
    assert "Grace Example" in finance_client.get(f"{ADMIN}/people/?kind=employee").content.decode()


def pay_data(person, **overrides) -> dict:
    data = {
        "person": person.pk,
        "month": "2026-03",
        "gross_salary": "5000.00",
        "employer_social_costs": "1050.00",
        "freelancer_invoice": "0",
        "note": "",
    }
    data.update(overrides)
    return data


def test_a_new_pay_record_posts_at_once_and_a_double_submit_books_once(finance_client, employee, grant):
    services.allocations_set(person=employee, month=MARCH, shares={grant: Decimal("50")})
    url = f"{ADMIN}/pay-records/new/"
    response = finance_client.post(url, pay_data(employee))
    assert response.status_code == 302, response.content.decode()[-3000:]
    content = page(finance_client, response)
    assert "posted" in content and "6,050.00" in content
    second = finance_client.post(url, pay_data(employee))
    assert second.status_code == 200
    assert "already has a pay record for 2026-03" in second.content.decode()
    record = PayRecord.objects.get()
    assert record.posted_at is not None and record.month == MARCH
    assert balance("bank") == Decimal("-6050.00")
    assert on_centre("NGI0-FEDI") == Decimal("3025.00")
    assert Transaction.objects.filter(idempotency_key__startswith="grants:pay:").count() == 1


def test_a_full_date_is_stored_as_its_month(finance_client, employee):
    response = finance_client.post(f"{ADMIN}/pay-records/new/", pay_data(employee, month="2026-03-17"))
    assert response.status_code == 302
    assert PayRecord.objects.get().month == MARCH


def test_pay_fields_must_fit_the_persons_kind(finance_client, employee, freelancer):
    url = f"{ADMIN}/pay-records/new/"
    response = finance_client.post(url, pay_data(employee, freelancer_invoice="900.00"))
    assert "is an employee" in response.content.decode()
    response = finance_client.post(url, pay_data(freelancer))
    assert "is a freelancer" in response.content.decode()
    response = finance_client.post(url, pay_data(freelancer, gross_salary="0", employer_social_costs="0"))
    assert "Enter the amount of the freelancer" in response.content.decode()
    assert not PayRecord.objects.exists()
    assert not Transaction.objects.exists()
    response = finance_client.post(
        url, pay_data(freelancer, gross_salary="0", employer_social_costs="0", freelancer_invoice="3200.00")
    )
    assert response.status_code == 302
    assert balance("expense-freelancers") == Decimal("3200.00")


def test_a_month_outside_the_employment_or_in_the_future_is_refused(finance_client):
    person = PersonFactory(start_date=datetime.date(2026, 6, 1))
    response = finance_client.post(f"{ADMIN}/pay-records/new/", pay_data(person))
    assert "does not work here in 2026-03" in response.content.decode()
    response = finance_client.post(f"{ADMIN}/pay-records/new/", pay_data(person, month="2099-01"))
    assert "not a future one" in response.content.decode()
    assert not PayRecord.objects.exists()


def test_a_posted_pay_record_cannot_be_edited(finance_client, employee):
    record = services.pay_record_post(pay_record=PayRecordFactory(person=employee))
    url = f"{ADMIN}/pay-records/edit/{record.pk}/"
    content = page(finance_client, finance_client.get(url))
    assert "is posted and cannot be changed" in content
    finance_client.post(url, pay_data(employee, gross_salary="9999.00"))
    record.refresh_from_db()
    assert record.gross_salary == Decimal("5000.00")
    inspect = finance_client.get(f"{ADMIN}/pay-records/inspect/{record.pk}/").content.decode()
    assert "reclassification" in inspect and url not in inspect


def test_an_unposted_pay_record_opens_as_a_form_and_posts_on_save(finance_client, employee):
    record = PayRecordFactory(person=employee)
    url = f"{ADMIN}/pay-records/edit/{record.pk}/"
    assert finance_client.get(url).status_code == 200
    assert finance_client.post(url, pay_data(employee, gross_salary="5100.00")).status_code == 302
    record.refresh_from_db()
    assert record.posted_at is not None
    assert balance("bank") == Decimal("-6150.00")


def test_the_pay_record_list_filters_by_month_person_and_posted(finance_client, employee, freelancer):
    posted = services.pay_record_post(pay_record=PayRecordFactory(person=employee, month=MARCH))
    open_record = PayRecordFactory(
        person=freelancer,
        month=datetime.date(2026, 4, 1),
        gross_salary=0,
        employer_social_costs=0,
        freelancer_invoice=Decimal("3000"),
    )
    rows = {"posted": f"/pay-records/inspect/{posted.pk}/", "open": f"/pay-records/inspect/{open_record.pk}/"}
    cases = {
        "?month=2026-03-01": {"posted"},
        f"?person={freelancer.pk}": {"open"},
        "?posted=true": {"posted"},
        "?posted=false": {"open"},
    }
    for query, expected in cases.items():
        content = finance_client.get(f"{ADMIN}/pay-records/{query}").content.decode()
        for row, link in rows.items():
            assert (link in content) == (row in expected), (query, row)


# --- Allocation -----------------------------------------------------------------------------------


def allocate(client, person, month="2026-03", **fields):
    return client.post(f"{ADMIN}/allocations/allocate/?person={person.pk}&month={month}", fields)


def test_allocate_time_in_percent_and_days(finance_client, employee, grant):
    other = GrantFactory(code="HORIZON", title="Horizon project")
    GrantFactory(code="LATER", start_date=datetime.date(2026, 6, 1))
    screen = finance_client.get(f"{ADMIN}/allocations/allocate/?person={employee.pk}&month=2026-03")
    content = screen.content.decode()
    assert "22 working days" in content  # March 2026: Monday to Friday
    assert "NGI0-FEDI" in content and "HORIZON" in content and "LATER" not in content
    response = allocate(finance_client, employee, **{f"percent_{grant.pk}": "25", f"days_{other.pk}": "11"})
    assert response.status_code == 302
    message = page(finance_client, response)
    assert "HORIZON 50.00 % (11 days), NGI0-FEDI 25.00 %, core 25.00 %" in message
    rows = {row.grant.code: (row.percent, row.days) for row in Allocation.objects.select_related("grant")}
    assert rows == {"NGI0-FEDI": (Decimal("25.00"), None), "HORIZON": (Decimal("50.00"), Decimal("11.0"))}


def test_an_allocation_above_100_percent_is_refused_on_the_form(finance_client, employee, grant):
    other = GrantFactory(code="HORIZON")
    services.allocations_set(person=employee, month=MARCH, shares={grant: Decimal("30")})
    response = allocate(finance_client, employee, **{f"percent_{grant.pk}": "60", f"days_{other.pk}": "10"})
    assert response.status_code == 400
    assert "at most 100 %" in response.content.decode()
    assert list(Allocation.objects.values_list("grant__code", "percent")) == [("NGI0-FEDI", Decimal("30.00"))]


def test_percent_and_days_that_disagree_are_refused(finance_client, employee, grant):
    response = allocate(finance_client, employee, **{f"percent_{grant.pk}": "10", f"days_{grant.pk}": "11"})
    assert response.status_code == 400
    assert "not both" in response.content.decode()
    assert not Allocation.objects.exists()


def test_a_new_allocation_after_posting_is_booked_once_as_a_reclassification(finance_client, employee, grant):
    services.pay_record_post(pay_record=PayRecordFactory(person=employee))
    fields = {f"percent_{grant.pk}": "40"}
    message = page(finance_client, allocate(finance_client, employee, **fields))
    assert "booked as a reclassification" in message
    allocate(finance_client, employee, **fields)
    assert Transaction.objects.filter(idempotency_key__contains=":v").count() == 1
    assert on_centre("NGI0-FEDI") == Decimal("2420.00")  # 40 % of 6,050.00
    assert balance("bank") == Decimal("-6050.00")


def test_the_allocation_list_filters_by_month_person_and_grant(finance_client, employee, freelancer, grant):
    other = GrantFactory(code="HORIZON")
    services.allocations_set(person=employee, month=MARCH, shares={grant: Decimal("20")})
    services.allocations_set(
        person=freelancer, month=datetime.date(2026, 4, 1), shares={other: Decimal("30")}
    )
    rows = {
        "ada": f"?person={employee.pk}&amp;month=2026-03",
        "fred": f"?person={freelancer.pk}&amp;month=2026-04",
    }
    cases = {
        "?month=2026-03-01": {"ada"},
        f"?person={freelancer.pk}": {"fred"},
        f"?grant={grant.pk}": {"ada"},
    }
    for query, expected in cases.items():
        content = finance_client.get(f"{ADMIN}/allocations/{query}").content.decode()
        for row, link in rows.items():
            assert (link in content) == (row in expected), (query, row)
    assert "Allocate time" in finance_client.get(f"{ADMIN}/allocations/").content.decode()


# --- Bills ----------------------------------------------------------------------------------------


def bill_data(voucher, **overrides) -> dict:
    data = {
        "supplier": "Hetzner Online GmbH",
        "number": "R0012345",
        "bill_date": "2026-03-05",
        "due_date": "2026-03-19",
        "description": "Dedicated servers, March",
        "account_code": "expense-hosting",
        "cost_centre": CostCentre.objects.get(code="CORE").pk,
        "net_amount": "840.00",
        "vat_amount": "159.60",
        "voucher": voucher,
    }
    data.update(overrides)
    return data


def test_a_bill_is_booked_once_and_paid_once(finance_client):
    url = f"{ADMIN}/bills/new/"
    assert finance_client.get(url).status_code == 200
    response = finance_client.post(url, bill_data(upload("rechnung.pdf", PDF)))
    assert response.status_code == 302, response.content.decode()[-3000:]
    second = finance_client.post(url, bill_data(upload("rechnung.pdf", PDF)))
    assert "already recorded" in second.content.decode()
    bill = Bill.objects.get()
    assert balance("payables") == Decimal("-999.60")
    assert balance("expense-hosting") == Decimal("999.60")
    pay_url = f"{ADMIN}/bills/pay/{bill.pk}/"
    assert finance_client.get(pay_url).status_code == 200
    paid = {"paid_on": "2026-03-15", "reference": "SEPA 4711"}
    assert finance_client.post(pay_url, paid).status_code == 302
    assert "already paid" in page(finance_client, finance_client.post(pay_url, paid))
    bill.refresh_from_db()
    assert bill.status == "paid" and bill.payment_reference == "SEPA 4711"
    assert balance("payables") == Decimal("0.00")
    assert balance("bank") == Decimal("-999.60")


@pytest.mark.parametrize(
    ("name", "content", "accepted"),
    [
        ("voucher.pdf", PDF, True),
        ("scan.png", image_bytes("PNG"), True),
        ("photo.jpg", image_bytes("JPEG"), True),
        ("voucher.pdf", b"<html><script>alert(1)</script></html>", False),
        ("voucher.png", image_bytes("GIF"), False),
        ("voucher.pdf", b"", False),
    ],
    ids=["pdf", "png", "jpeg", "html-named-pdf", "gif-named-png", "empty"],
)
def test_the_voucher_type_is_read_from_its_content(finance_client, name, content, accepted):
    response = finance_client.post(
        f"{ADMIN}/bills/new/", bill_data(upload(name, content, "application/octet-stream"))
    )
    assert (response.status_code == 302) == accepted, response.content.decode()[-2000:]
    assert Bill.objects.exists() == accepted
    assert Transaction.objects.exists() == accepted
    if not accepted:
        text = response.content.decode()
        assert "PDF, PNG or JPEG" in text


def test_a_voucher_above_10_mb_is_refused(finance_client):
    too_big = PDF + b"0" * (MAX_VOUCHER_BYTES + 1 - len(PDF))
    response = finance_client.post(f"{ADMIN}/bills/new/", bill_data(upload("big.pdf", too_big)))
    assert response.status_code == 200
    assert "the limit is 10.0" in response.content.decode()
    assert not Bill.objects.exists()


def test_the_bill_export_shows_a_formula_as_text(finance_client):
    BillFactory(supplier='=HYPERLINK("http://evil.example","Hetzner")', net_amount=Decimal("12.50"))
    export = b"".join(finance_client.get(f"{ADMIN}/bills/?export=csv").streaming_content).decode()
    assert "'=HYPERLINK(" in export
    assert ",12.50," in export


def test_the_allocate_screen_opens_on_this_month_from_a_persons_page(finance_client, employee):
    content = finance_client.get(f"{ADMIN}/allocations/allocate/?person={employee.pk}").content.decode()
    assert "Ada Example in " in content
    assert "This field is required" not in content


def test_a_bill_account_must_be_an_active_expense_account(finance_client):
    response = finance_client.post(
        f"{ADMIN}/bills/new/", bill_data(upload("v.pdf", PDF), account_code="bank")
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Bill.objects.exists()


def test_the_voucher_is_for_finance_only(finance_client, make_user):
    bill = BillFactory()
    url = f"{ADMIN}/bills/voucher/{bill.pk}/"
    response = finance_client.get(url)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == b"%PDF-1.4 voucher"
    anonymous = Client()
    assert anonymous.get(url).status_code == 302
    anonymous.force_login(make_user("patron", "editor", mfa=True))
    assert anonymous.get(url).status_code in (302, 403)


def test_the_bill_list_filters_by_status_account_cost_centre_and_month(finance_client, grant):
    BillFactory(supplier="Hetzner", bill_date=datetime.date(2026, 3, 5))
    BillFactory(
        supplier="Deutsche Bahn",
        account_code="expense-travel",
        cost_centre=grant.cost_centre,
        bill_date=datetime.date(2026, 4, 2),
        status="paid",
    )
    cases = {
        "?status=paid": {"Deutsche Bahn"},
        "?account_code=expense-hosting": {"Hetzner"},
        f"?cost_centre={grant.cost_centre_id}": {"Deutsche Bahn"},
        "?month=2026-03-01": {"Hetzner"},
    }
    for query, expected in cases.items():
        content = finance_client.get(f"{ADMIN}/bills/{query}").content.decode()
        for supplier in ("Hetzner", "Deutsche Bahn"):
            assert (supplier in content) == (supplier in expected), (query, supplier)


# --- Who gets in ----------------------------------------------------------------------------------


@pytest.fixture
def grant_urls(grant, employee):
    milestone = MilestoneFactory(grant=grant)
    record = services.pay_record_post(pay_record=PayRecordFactory(person=employee))
    services.allocations_set(person=employee, month=MARCH, shares={grant: Decimal("10")})
    payment = services.grant_payment_record(
        grant=grant, amount=Decimal("1000.00"), received_on=MARCH, reference="Advance"
    )
    bill = services.bill_post(bill=BillFactory())
    return {
        "get": [
            f"{ADMIN}/funders/",
            f"{ADMIN}/grants/",
            f"{ADMIN}/grants/new/",
            f"{ADMIN}/grants/inspect/{grant.pk}/",
            f"{ADMIN}/grants/edit/{grant.pk}/",
            f"{ADMIN}/milestones/",
            f"{ADMIN}/milestones/inspect/{milestone.pk}/",
            f"{ADMIN}/milestones/payment/{milestone.pk}/",
            f"{ADMIN}/payments/",
            f"{ADMIN}/payments/inspect/{payment.pk}/",
            f"{ADMIN}/people/",
            f"{ADMIN}/people/inspect/{employee.pk}/",
            f"{ADMIN}/pay-records/",
            f"{ADMIN}/pay-records/?export=csv",
            f"{ADMIN}/pay-records/inspect/{record.pk}/",
            f"{ADMIN}/allocations/",
            f"{ADMIN}/allocations/allocate/?person={employee.pk}&month=2026-03",
            f"{ADMIN}/bills/",
            f"{ADMIN}/bills/inspect/{bill.pk}/",
            f"{ADMIN}/bills/voucher/{bill.pk}/",
        ],
        "post": [
            (f"{ADMIN}/grants/close/{grant.pk}/", {}),
            (f"{ADMIN}/milestones/request/{milestone.pk}/", {}),
            (
                f"{ADMIN}/milestones/payment/{milestone.pk}/",
                {"amount": "10000.00", "received_on": "2026-03-10", "reference": "X"},
            ),
            (
                f"{ADMIN}/allocations/allocate/?person={employee.pk}&month=2026-03",
                {f"percent_{grant.pk}": "90"},
            ),
            (f"{ADMIN}/bills/pay/{bill.pk}/", {"paid_on": "2026-03-10", "reference": "X"}),
            (f"{ADMIN}/funders/new/", {"name": "Sneaky", "kind": "company"}),
        ],
    }


@pytest.mark.parametrize(
    ("roles", "mfa"),
    [((), False), (("patron",), True), (("patron", "editor"), True), (("patron", "finance"), False)],
    ids=["anonymous", "patron", "editor", "finance-without-mfa"],
)
def test_only_finance_with_mfa_gets_in(client, make_user, grant_urls, roles, mfa):
    if roles:
        client.force_login(make_user(*roles, mfa=mfa))
    transactions = Transaction.objects.count()
    for url in grant_urls["get"]:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert b"Ada Example" not in response.content and b"5,000.00" not in response.content, url
    for url, data in grant_urls["post"]:
        assert client.post(url, data).status_code in (302, 403), url
    assert Transaction.objects.count() == transactions
    assert not Funder.objects.filter(name="Sneaky").exists()
    assert Grant.objects.get().state == "active"


def test_finance_with_mfa_opens_every_screen(finance_client, grant_urls):
    for url in grant_urls["get"]:
        assert finance_client.get(url).status_code == 200, url


def test_the_grants_menu_group_lists_the_screens(finance_client):
    content = finance_client.get("/admin/").content.decode()
    for label in ("Grants", "Funders", "Milestones", "Pay records", "Allocate time", "Bills"):
        assert label in content, label


def test_nobody_deletes_what_posted(finance_client, grant_urls, make_user):
    client = Client()
    client.force_login(make_user(is_superuser=True, is_staff=True, mfa=True))
    record, bill, payment = PayRecord.objects.get(), Bill.objects.get(), GrantPayment.objects.get()
    for browser in (finance_client, client):
        for url in (
            f"{ADMIN}/pay-records/delete/{record.pk}/",
            f"{ADMIN}/bills/delete/{bill.pk}/",
            f"{ADMIN}/bills/edit/{bill.pk}/",
            f"{ADMIN}/payments/delete/{payment.pk}/",
            f"{ADMIN}/payments/edit/{payment.pk}/",
            f"{ADMIN}/allocations/edit/{Allocation.objects.first().pk}/",
        ):
            assert browser.get(url).status_code in (302, 403, 404), url
            browser.post(url, {})
    assert PayRecord.objects.exists() and Bill.objects.exists() and GrantPayment.objects.exists()
    assert Allocation.objects.exists()


def test_new_milestone_rows_continue_the_numbering_and_a_submitted_one_stays(finance_client, grant):
    submitted = MilestoneFactory(grant=grant, position=1, state="submitted", title="Audit")
    planned = MilestoneFactory(grant=grant, position=2, title="Docs")
    form = finance_client.get(f"{ADMIN}/grants/edit/{grant.pk}/").content.decode()
    assert 'name="milestones-2-position" value="3"' in form
    assert 'name="milestones-0-DELETE"' not in form and 'name="milestones-1-DELETE"' in form
    data = grant_data(
        grant.funder,
        **{
            "milestones-TOTAL_FORMS": "2",
            "milestones-INITIAL_FORMS": "2",
            "milestones-0-id": submitted.pk,
            "milestones-0-position": "1",
            "milestones-0-title": "Audit",
            "milestones-0-due_date": "2026-06-30",
            "milestones-0-DELETE": "on",
            "milestones-1-id": planned.pk,
            "milestones-1-position": "2",
            "milestones-1-title": "Docs",
            "milestones-1-due_date": "2026-06-30",
            "milestones-1-amount": "10000.00",
            "milestones-1-DELETE": "on",
        },
    )
    response = finance_client.post(f"{ADMIN}/grants/edit/{grant.pk}/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert list(grant.milestones.values_list("title", "amount")) == [("Audit", Decimal("10000.00"))]
