"""Least privilege: every staff URL that shows finance data, for every role.

Only the finance role with MFA set up (and superusers with MFA) may open them. Anonymous visitors,
patrons, sponsor contacts, editors (even with MFA) and finance users without MFA get nothing.
"""

import datetime
from decimal import Decimal

import pytest

from ledger.models import Account, CostCentre, Transaction
from ledger.services import PostingLine, transaction_post

FINANCE_PAGES = [
    "/admin/ledger/transactions/",
    "/admin/ledger/transactions/inspect/{transaction}/",
    "/admin/ledger/transactions/?export=csv",
    "/admin/ledger/postings/",
    "/admin/ledger/postings/inspect/{posting}/",
    "/admin/ledger/accounts/",
    "/admin/ledger/accounts/inspect/{account}/",
    "/admin/ledger/accounts/edit/{account}/",
    "/admin/ledger/cost-centres/",
    "/admin/ledger/cost-centres/inspect/{cost_centre}/",
    "/admin/ledger/closing-balances/",
    "/admin/failed-jobs/",
    "/admin/failed-jobs/inspect/{failed_task}/",
    # Patrons: donors' personal data
    "/admin/fundraising/patrons/",
    "/admin/fundraising/patrons/inspect/{patron}/",
    "/admin/fundraising/patrons/?export=csv",
    "/admin/fundraising/patronages/",
    "/admin/fundraising/patronages/inspect/{patronage}/",
    "/admin/fundraising/payments/",
    "/admin/fundraising/payments/inspect/{payment}/",
    "/admin/fundraising/checkout-attempts/",
    "/admin/fundraising/receipts/",
    "/admin/fundraising/receipt-runs/",
    "/admin/payments/events/",
    "/admin/payments/events/inspect/{webhook_event}/",
    # Sponsors: sponsorships, invoices, companies' billing data, packages
    "/admin/sponsors/sponsorships/",
    "/admin/sponsors/sponsorships/?export=csv",
    "/admin/sponsors/sponsorships/inspect/{sponsorship}/",
    "/admin/sponsors/sponsorships/approve/{submitted_sponsorship}/",
    "/admin/sponsors/sponsorships/reject/{submitted_sponsorship}/",
    "/admin/sponsors/sponsorships/invoice/{approved_sponsorship}/",
    "/admin/sponsors/sponsorships/cancel/{sponsorship}/",
    "/admin/sponsors/invoices/",
    "/admin/sponsors/invoices/?export=csv",
    "/admin/sponsors/invoices/inspect/{invoice}/",
    "/admin/sponsors/invoices/pay/{invoice}/",
    "/admin/sponsors/invoices/cancel/{invoice}/",
    "/admin/sponsors/invoices/pdf/{invoice}/",
    "/admin/sponsors/unpaid-invoices/",
    "/admin/sponsors/unpaid-invoices/?export=csv",
    "/admin/sponsors/companies/",
    "/admin/sponsors/companies/?export=csv",
    "/admin/sponsors/companies/inspect/{sponsor}/",
    "/admin/sponsors/companies/edit/{sponsor}/",
    "/admin/snippets/sponsors/package/",
    "/admin/snippets/sponsors/package/edit/{package}/",
    # Grants, people, pay, allocations and bills (salaries)
    "/admin/grants/funders/",
    "/admin/grants/funders/?export=csv",
    "/admin/grants/funders/new/",
    "/admin/grants/funders/inspect/{funder}/",
    "/admin/grants/funders/edit/{funder}/",
    "/admin/grants/grants/",
    "/admin/grants/grants/?export=csv",
    "/admin/grants/grants/new/",
    "/admin/grants/grants/inspect/{grant}/",
    "/admin/grants/grants/edit/{grant}/",
    "/admin/grants/grants/award/{applied_grant}/",
    "/admin/grants/grants/reject/{applied_grant}/",
    "/admin/grants/grants/start/{awarded_grant}/",
    "/admin/grants/grants/close/{grant}/",
    "/admin/grants/grants/documents/{grant}/upload/",
    "/admin/grants/grants/documents/file/{grant_document}/",
    "/admin/grants/milestones/",
    "/admin/grants/milestones/?export=csv",
    "/admin/grants/milestones/new/",
    "/admin/grants/milestones/inspect/{milestone}/",
    "/admin/grants/milestones/edit/{milestone}/",
    "/admin/grants/milestones/begin/{milestone}/",
    "/admin/grants/milestones/submit/{milestone}/",
    "/admin/grants/milestones/accept/{submitted_milestone}/",
    "/admin/grants/milestones/reopen/{submitted_milestone}/",
    "/admin/grants/milestones/request/{milestone}/",
    "/admin/grants/milestones/payment/{milestone}/",
    "/admin/grants/payments/",
    "/admin/grants/payments/?export=csv",
    "/admin/grants/payments/new/",
    "/admin/grants/payments/inspect/{grant_payment}/",
    "/admin/grants/people/",
    "/admin/grants/people/?export=csv",
    "/admin/grants/people/new/",
    "/admin/grants/people/inspect/{person}/",
    "/admin/grants/people/edit/{person}/",
    "/admin/grants/pay-records/",
    "/admin/grants/pay-records/?export=csv",
    "/admin/grants/pay-records/new/",
    "/admin/grants/pay-records/inspect/{pay_record}/",
    "/admin/grants/pay-records/edit/{open_pay_record}/",
    "/admin/grants/allocations/",
    "/admin/grants/allocations/?export=csv",
    "/admin/grants/allocations/allocate/",
    "/admin/grants/allocations/allocate/?person={person}&month=2026-03",
    "/admin/grants/bills/",
    "/admin/grants/bills/?export=csv",
    "/admin/grants/bills/new/",
    "/admin/grants/bills/inspect/{bill}/",
    "/admin/grants/bills/pay/{bill}/",
    "/admin/grants/bills/voucher/{bill}/",
    "/admin/grants/dashboard/",
    "/admin/grants/pay-import/",
    "/admin/grants/pay-import/template.csv",
    "/admin/grants/documents/request/{milestone}.pdf",
    "/admin/grants/documents/time-declaration/{person}/{grant}/2026-03.pdf",
    "/admin/grants/documents/report/{grant}.pdf",
    "/admin/ledger/bank-statements/",
    "/admin/ledger/bank-statements/?export=csv",
    "/admin/ledger/bank-statements/import/",
    "/admin/ledger/bank-statements/inspect/{bank_statement}/",
    "/admin/ledger/bank-lines/",
    "/admin/ledger/bank-lines/?state=open",
    "/admin/ledger/bank-lines/?export=csv",
    "/admin/ledger/bank-lines/inspect/{bank_line}/",
    "/admin/ledger/bank-lines/book/{bank_line}/",
    "/admin/ledger/bank-lines/confirm/{bank_line}/",
    "/admin/ledger/manual-bookings/",
    "/admin/ledger/manual-bookings/?export=csv",
    "/admin/ledger/manual-bookings/inspect/{manual_booking}/",
    "/admin/ledger/manual-bookings/book/",
    "/admin/ledger/manual-bookings/voucher/{manual_booking}/",
    # Reports: the month close (drafts, commentary, publish, re-open, history, re-opened months)
    "/admin/reports/months/",
    "/admin/reports/months/?status=draft",
    "/admin/reports/months/?export=csv",
    "/admin/reports/months/new/",
    "/admin/reports/months/inspect/{draft_report}/",
    "/admin/reports/months/edit/{draft_report}/",
    "/admin/reports/months/publish/{draft_report}/",
    "/admin/reports/months/history/{draft_report}/",
    "/admin/reports/months/reopen/{published_report}/",
    "/admin/reports/reopened-months/",
    "/admin/reports/reopened-months/?export=csv",
    # Reports: tax spheres and the §64 AO monitor, VAT return, EC sales list, DATEV export
    "/admin/reports/tax/spheres/",
    "/admin/reports/tax/spheres/?year=2026",
    "/admin/reports/tax/spheres/?year=2026&export=csv",
    "/admin/reports/tax/vat/",
    "/admin/reports/tax/vat/?year=2026&period=10",
    "/admin/reports/tax/vat/?year=2026&period=q3&export=csv",
    "/admin/reports/tax/ec-sales/",
    "/admin/reports/tax/ec-sales/?year=2026&quarter=3",
    "/admin/reports/tax/ec-sales/?year=2026&quarter=3&export=csv",
    "/admin/reports/tax/datev/",
    "/admin/reports/tax/datev/?start=2026-10-01&end=2026-10-31",
]

# A draft report is finance data too, but on the public URLs of reports: for everyone else the draft does
# not exist (404, never a redirect to the log-in page that would say there is something); finance with MFA
# sees it, never cached. The draft's year has no published month, so the year's pages are drafts only.
DRAFT_PAGES = [
    "/reports/{draft_year}/{draft_month}/",
    "/de/reports/{draft_year}/{draft_month}/",
    "/reports/{draft_year}/{draft_month}.pdf",
    "/reports/{draft_year}/{draft_month}.csv",
    "/reports/{draft_year}/{draft_month}.json",
    "/reports/{draft_year}/",
    "/de/reports/{draft_year}/",
    "/reports/{draft_year}.pdf",
    "/reports/{draft_year}.csv",
    "/reports/{draft_year}.json",
]


@pytest.fixture
def finance_objects(db):
    from jobs.models import FailedTask

    transaction = transaction_post(
        booking_date=datetime.date(2026, 10, 5),
        description="Salary October",
        idempotency_key="test:salary:2026-10",
        lines=[PostingLine("expense-salaries", Decimal("4200.00")), PostingLine("bank", Decimal("-4200.00"))],
    )
    failed = FailedTask.objects.create(
        task_name="grants.tasks.salary_import", task_id="t-1", exception_class="ValueError", message="bad row"
    )
    from django.utils import timezone

    from payments.models import WebhookEvent
    from tests.factories.fundraising import PaymentFactory

    payment = PaymentFactory()
    sponsorships = _sponsorships()
    event = WebhookEvent.objects.create(
        stripe_id="evt_access_1", type="invoice.paid", created=timezone.now(), payload={"id": "evt_access_1"}
    )
    return {
        "patron": payment.patron_id,
        "patronage": payment.patronage_id,
        "payment": payment.pk,
        "payment_number": payment.number,
        "webhook_event": event.pk,
        "transaction": transaction.pk,
        "posting": transaction.postings.first().pk,
        "account": Account.objects.get(code="expense-salaries").pk,
        "cost_centre": CostCentre.objects.get(code="CORE").pk,
        "failed_task": failed.pk,
        **sponsorships,
        **_grants(),
        **_reports(),
    }


def _sponsorships() -> dict[str, int]:
    """An invoiced sponsorship with its open invoice (PDF stored), a submitted and an approved one."""
    from django.core.files.base import ContentFile

    from sponsors import services
    from tests.factories.sponsors import PackageFactory, SponsorshipFactory

    package = PackageFactory()
    invoiced = services.sponsorship_approve(
        sponsorship=SponsorshipFactory(package=package, status="submitted"), by=None
    )
    invoice = invoiced.invoices.get()
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    return {
        "sponsorship": invoiced.pk,
        "sponsor": invoiced.sponsor_id,
        "invoice": invoice.pk,
        "package": package.pk,
        "submitted_sponsorship": SponsorshipFactory(package=package, status="submitted").pk,
        "approved_sponsorship": SponsorshipFactory(package=package, status="approved").pk,
        **_bank(invoice),
    }


def _bank(invoice) -> dict[str, int]:
    """A statement line that pays the sponsor invoice (so it has a proposal) and a manual booking."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from ledger.bank_models import BankLine, BankStatement
    from ledger.manual_bookings import manual_booking_post

    today = timezone.localdate()
    statement = BankStatement.objects.create(
        account="DE89370400440532013000", statement_id="S-1", from_date=today, to_date=today, format="camt053"
    )
    line = BankLine.objects.create(
        statement=statement,
        account=statement.account,
        fingerprint="f1",
        position=1,
        entry="1",
        booking_date=today,
        amount=invoice.gross_amount,
        remittance_text=invoice.number,
    )
    booking = manual_booking_post(
        booking_date=today,
        description="Bank fee",
        debit_account=Account.objects.get(code="expense-other"),
        credit_account=Account.objects.get(code="bank"),
        amount=Decimal("5.00"),
        cost_centre=CostCentre.objects.get(code="CORE"),
        voucher=SimpleUploadedFile("v.pdf", b"%PDF-1.7 x"),
    )
    return {"bank_statement": statement.pk, "bank_line": line.pk, "manual_booking": booking.pk}


def _grants() -> dict[str, int]:
    """A running grant with a milestone, a payment and a document; a person with a posted pay record and an
    allocation; a booked bill."""
    from django.core.files.base import ContentFile

    from grants import services as grant_services
    from grants.models import GrantDocument
    from tests.factories.grants import (
        BillFactory,
        GrantFactory,
        MilestoneFactory,
        PayRecordFactory,
        PersonFactory,
    )

    march = datetime.date(2026, 3, 1)
    grant = GrantFactory()
    grant_services.grant_cost_centre_ensure(grant=grant)
    person = PersonFactory()
    grant_services.allocations_set(person=person, month=march, shares={grant: Decimal("50")})
    record = grant_services.pay_record_post(pay_record=PayRecordFactory(person=person, month=march))
    document = GrantDocument(grant=grant, title="Grant agreement")
    document.file.save("agreement.pdf", ContentFile(b"%PDF-1.7 agreement"), save=True)
    payment = grant_services.grant_payment_record(
        grant=grant, amount=Decimal("5000.00"), received_on=march, reference="Advance"
    )
    return {
        "funder": grant.funder_id,
        "grant": grant.pk,
        "applied_grant": GrantFactory(state="applied").pk,
        "awarded_grant": GrantFactory(state="awarded").pk,
        "grant_document": document.pk,
        "milestone": MilestoneFactory(grant=grant).pk,
        "submitted_milestone": MilestoneFactory(grant=grant, state="submitted").pk,
        "grant_payment": payment.pk,
        "person": person.pk,
        "pay_record": record.pk,
        "open_pay_record": PayRecordFactory(month=march).pk,
        "bill": grant_services.bill_post(bill=BillFactory()).pk,
    }


def _reports() -> dict[str, object]:
    """A drafted report of October 2026 (whose books hold the October salary) and a published one of a year
    before (made directly, so no month is closed in the books of the other fixtures)."""
    from django.utils import timezone

    from reports.models import MonthlyReport
    from reports.services import report_draft

    draft = report_draft(month=datetime.date(2026, 10, 1))
    published = MonthlyReport.objects.create(
        month=datetime.date(2025, 10, 1),
        status=MonthlyReport.Status.PUBLISHED,
        published_at=timezone.now(),
        first_published_at=timezone.now(),
    )
    return {
        "draft_report": draft.pk,
        "draft_year": f"{draft.month:%Y}",
        "draft_month": f"{draft.month:%m}",
        "published_report": published.pk,
    }


def _urls(objects, pages=FINANCE_PAGES):
    return [url.format(**objects) for url in pages]


@pytest.mark.django_db
def test_anonymous_visitor_gets_no_finance_page(client, finance_objects):
    for url in _urls(finance_objects):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("roles", "mfa"),
    [
        (("patron",), True),
        (("patron", "sponsor contact"), True),
        (("patron", "editor"), True),
        (("patron", "editor"), False),
        (("patron", "finance"), False),
    ],
    ids=["patron", "sponsor-contact", "editor-with-mfa", "editor-without-mfa", "finance-without-mfa"],
)
def test_other_roles_get_no_finance_page(client, make_user, finance_objects, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))
    for url in _urls(finance_objects):
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert b"Salary October" not in response.content
        assert b"4200" not in response.content


@pytest.mark.django_db
def test_finance_with_mfa_opens_every_finance_page(finance_client, finance_objects):
    for url in _urls(finance_objects):
        assert finance_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_nobody_but_finance_finds_a_draft_report(client, make_user, finance_objects):
    visitors = [None] + [
        make_user(*roles, mfa=mfa)
        for roles, mfa in (
            (("patron",), True),
            (("patron", "sponsor contact"), True),
            (("patron", "editor"), True),
            (("patron", "finance"), False),
        )
    ]
    for visitor in visitors:
        client.logout()
        if visitor is not None:
            client.force_login(visitor)
        for url in _urls(finance_objects, DRAFT_PAGES):
            response = client.get(url)
            assert response.status_code == 404, (url, visitor, response.status_code)
            assert b"4200" not in response.content and b"4,200" not in response.content, url


@pytest.mark.django_db
def test_finance_with_mfa_sees_a_draft_report_uncached(finance_client, finance_objects):
    for url in _urls(finance_objects, DRAFT_PAGES):
        response = finance_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.get("Cache-Control", ""), url
        assert "private" in response.get("Cache-Control", ""), url


@pytest.mark.django_db
def test_nobody_edits_or_deletes_a_transaction(finance_client, make_user, client, finance_objects):
    superuser = make_user(is_superuser=True, is_staff=True, mfa=True)
    client.force_login(superuser)
    pk = finance_objects["transaction"]
    for browser in (finance_client, client):
        for url in (f"/admin/ledger/transactions/edit/{pk}/", f"/admin/ledger/transactions/delete/{pk}/"):
            assert browser.get(url).status_code in (302, 403, 404), url
            browser.post(url, {})
    assert Transaction.objects.filter(pk=pk).exists()
