"""Staff screens of sponsors in Wagtail: finance decides on applications, issues and settles invoices,
editors review logos; every action is a POST with CSRF that changes the books once; nobody else gets in;
exports neutralise formulas and the admin escapes company names."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from ledger.models import Posting, Transaction
from sponsors import services
from sponsors.models import Invoice, Package, SponsorLogo, Sponsorship
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

SPONSORSHIPS = "/admin/sponsors/sponsorships/"
INVOICES = "/admin/sponsors/invoices/"
UNPAID = "/admin/sponsors/unpaid-invoices/"
COMPANIES = "/admin/sponsors/companies/"
LOGOS = "/admin/sponsors/logos/"
PACKAGES = "/admin/snippets/sponsors/package/"


def png_bytes(width=240, height=80, colour=(20, 90, 160)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def balance(account: str) -> Decimal:
    return Posting.objects.filter(account__code=account).total()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def follow_messages(client, response) -> str:
    """The page the redirect leads to, where the flash message is shown."""
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"]).content.decode()


@pytest.fixture
def package(db):
    return PackageFactory(slug="gold", name="Gold", price=Decimal("6000.00"))


@pytest.fixture
def submitted(package):
    return SponsorshipFactory(package=package, status=Sponsorship.Status.SUBMITTED)


@pytest.fixture
def invoiced(organisation, package):
    sponsorship = SponsorshipFactory(package=package, status=Sponsorship.Status.SUBMITTED)
    return services.sponsorship_approve(sponsorship=sponsorship, by=None, issue_invoice=True)


def open_invoice(sponsorship) -> Invoice:
    return sponsorship.invoices.get(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN)


def pending_logo(sponsor=None) -> SponsorLogo:
    logo = SponsorLogo(sponsor=sponsor or SponsorFactory(), original_format="PNG", original_name="logo.png")
    logo.image.save("logo.png", ContentFile(png_bytes(), name="logo.png"), save=False)
    logo.save()
    return logo


# --- Sponsorships: approve, reject, invoice, cancel -----------------------------------------------


def test_approving_an_application_issues_and_books_the_invoice(finance_client, organisation, submitted):
    response = finance_client.post(f"{SPONSORSHIPS}approve/{submitted.pk}/", {"issue_invoice": "on"})

    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.INVOICED
    invoice = open_invoice(submitted)
    assert invoice.gross_amount == Decimal("7140.00")  # 6,000 net + 19 % VAT (German company)
    assert balance("receivables") == Decimal("7140.00")
    assert balance("vat-payable-19") == Decimal("-1140.00")
    assert submitted.changes.get(to_status="approved").by == finance_client.user
    assert invoice.number in follow_messages(finance_client, response)


def test_approving_without_the_invoice_leaves_the_sponsorship_approved(finance_client, submitted):
    finance_client.post(f"{SPONSORSHIPS}approve/{submitted.pk}/", {"reason": "Welcome aboard"})

    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.APPROVED
    assert not submitted.invoices.exists()
    assert submitted.changes.get(to_status="approved").reason == "Welcome aboard"


def test_approving_twice_issues_and_books_one_invoice(finance_client, organisation, submitted):
    url = f"{SPONSORSHIPS}approve/{submitted.pk}/"
    finance_client.post(url, {"issue_invoice": "on"})

    second = finance_client.post(url, {"issue_invoice": "on"})

    assert second.status_code == 302
    assert "cannot be approved" in follow_messages(finance_client, second)
    assert Invoice.objects.count() == 1
    assert Transaction.objects.count() == 1


def test_approving_a_fully_booked_package_is_refused_with_a_message(finance_client, package, submitted):
    Package.objects.filter(pk=package.pk).update(capacity=1)
    SponsorshipFactory(package=package, status=Sponsorship.Status.APPROVED, start_date=submitted.start_date)

    response = finance_client.post(f"{SPONSORSHIPS}approve/{submitted.pk}/", {"issue_invoice": "on"})

    assert "fully booked" in follow_messages(finance_client, response)
    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.SUBMITTED


def test_confirm_page_of_approval_changes_nothing(finance_client, submitted):
    response = finance_client.get(f"{SPONSORSHIPS}approve/{submitted.pk}/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "Issue the invoice now" in text
    assert 'name="issue_invoice"' in text and "checked" in text
    assert "csrfmiddlewaretoken" in text
    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.SUBMITTED


def test_rejecting_needs_a_reason(finance_client, submitted):
    response = finance_client.post(f"{SPONSORSHIPS}reject/{submitted.pk}/", {"reason": "  "})

    assert response.status_code == 400
    assert "Enter the reason." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.SUBMITTED


def test_rejecting_records_the_reason(finance_client, submitted):
    finance_client.post(f"{SPONSORSHIPS}reject/{submitted.pk}/", {"reason": "Not a fit for our mission"})

    submitted.refresh_from_db()
    assert submitted.status == Sponsorship.Status.REJECTED
    assert submitted.rejection_reason == "Not a fit for our mission"
    assert not Transaction.objects.exists()


def test_issuing_the_invoice_of_an_approved_sponsorship_books_it(finance_client, organisation, package):
    approved = SponsorshipFactory(package=package, status=Sponsorship.Status.APPROVED)

    finance_client.post(f"{SPONSORSHIPS}invoice/{approved.pk}/")
    finance_client.post(f"{SPONSORSHIPS}invoice/{approved.pk}/")

    approved.refresh_from_db()
    assert approved.status == Sponsorship.Status.INVOICED
    assert Invoice.objects.filter(sponsorship=approved).count() == 1
    assert balance("receivables") == Decimal("7140.00")


def test_confirm_page_of_an_impossible_action_sends_back_with_a_message(finance_client, invoiced):
    response = finance_client.get(f"{SPONSORSHIPS}approve/{invoiced.pk}/")

    assert response.status_code == 302
    assert "cannot be approved" in follow_messages(finance_client, response)


def test_cancelling_an_invoiced_sponsorship_issues_a_credit_note(finance_client, invoiced):
    invoice = open_invoice(invoiced)

    response = finance_client.post(f"{SPONSORSHIPS}cancel/{invoiced.pk}/", {"reason": "Company closed"})

    assert response.status_code == 302
    invoiced.refresh_from_db()
    invoice.refresh_from_db()
    assert invoiced.status == Sponsorship.Status.CANCELLED
    assert invoice.status == Invoice.Status.CANCELLED
    credit_note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit_note.cancels == invoice
    assert balance("receivables") == Decimal("0.00")
    assert balance("vat-payable-19") == Decimal("0.00")


def test_cancelling_a_sponsorship_needs_a_reason(finance_client, invoiced):
    response = finance_client.post(f"{SPONSORSHIPS}cancel/{invoiced.pk}/", {"reason": ""})

    assert response.status_code == 400
    invoiced.refresh_from_db()
    assert invoiced.status == Sponsorship.Status.INVOICED
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_inspect_view_shows_company_history_invoices_and_the_actions_the_status_allows(
    finance_client, invoiced
):
    invoice = open_invoice(invoiced)

    text = finance_client.get(f"{SPONSORSHIPS}inspect/{invoiced.pk}/").content.decode()

    assert invoiced.sponsor.legal_name in text
    assert invoiced.sponsor.billing_email in text
    assert invoice.number in text
    assert "19 % VAT" in text
    assert "History" in text
    assert f"{SPONSORSHIPS}cancel/{invoiced.pk}/" in text
    assert f"{SPONSORSHIPS}approve/{invoiced.pk}/" not in text


# --- Invoices: mark paid, cancel with credit note, PDF ---------------------------------------------


def test_marking_paid_twice_books_the_transfer_once(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    url = f"{INVOICES}pay/{invoice.pk}/"
    paid_on = timezone.localdate().isoformat()

    finance_client.post(url, {"paid_on": paid_on, "reference": "SEPA 4711"})
    second = finance_client.post(url, {"paid_on": paid_on, "reference": "SEPA 4711"})

    assert "not open" in follow_messages(finance_client, second)
    invoice.refresh_from_db()
    invoiced.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payment_reference == "SEPA 4711"
    assert invoice.marked_paid_by == finance_client.user
    assert invoiced.status == Sponsorship.Status.ACTIVE
    assert balance("bank") == Decimal("7140.00")
    assert balance("receivables") == Decimal("0.00")


def test_marking_paid_refuses_a_future_date_and_books_nothing(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = finance_client.post(f"{INVOICES}pay/{invoice.pk}/", {"paid_on": tomorrow, "reference": "x"})

    assert response.status_code == 400
    assert "lies in the future" in response.content.decode()
    assert balance("bank") == Decimal("0.00")


def test_marking_paid_needs_the_bank_reference(finance_client, invoiced):
    invoice = open_invoice(invoiced)

    response = finance_client.post(
        f"{INVOICES}pay/{invoice.pk}/", {"paid_on": timezone.localdate().isoformat(), "reference": ""}
    )

    assert response.status_code == 400
    assert "bank&#x27;s reference" in response.content.decode()
    assert balance("bank") == Decimal("0.00")


def test_cancelling_an_invoice_with_reissue_issues_a_corrected_invoice(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    sponsor = invoiced.sponsor
    sponsor.street = "Neue Straße 1"
    sponsor.save()

    response = finance_client.post(
        f"{INVOICES}cancel/{invoice.pk}/", {"reason": "Wrong address", "reissue": "on"}
    )

    text = follow_messages(finance_client, response)
    corrected = open_invoice(invoiced)
    assert corrected.number != invoice.number
    assert corrected.buyer["street"] == "Neue Straße 1"
    assert corrected.number in text
    credit_note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit_note.cancels_id == invoice.pk
    assert credit_note.description.endswith("Wrong address")
    invoiced.refresh_from_db()
    assert invoiced.status == Sponsorship.Status.INVOICED
    assert balance("receivables") == corrected.gross_amount


def test_cancelling_an_invoice_twice_issues_one_credit_note(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    url = f"{INVOICES}cancel/{invoice.pk}/"

    finance_client.post(url, {"reason": "Duplicate"})
    second = finance_client.post(url, {"reason": "Duplicate"})

    assert "already cancelled" in follow_messages(finance_client, second)
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    assert balance("receivables") == Decimal("0.00")


def test_reissue_is_not_offered_for_a_paid_invoice(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    services.invoice_mark_paid(invoice=invoice, paid_on=timezone.localdate(), reference="r", by=None)

    text = finance_client.get(f"{INVOICES}cancel/{invoice.pk}/").content.decode()

    assert 'name="reason"' in text
    assert 'name="reissue"' not in text


def test_finance_downloads_the_stored_pdf(finance_client, invoiced):
    invoice = open_invoice(invoiced)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(b"%PDF-1.7 demo"), save=True)

    response = finance_client.get(f"{INVOICES}pdf/{invoice.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"{invoice.number}.pdf" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"%PDF-1.7 demo"


def test_actions_need_csrf(make_user, invoiced):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("patron", "finance", mfa=True))
    invoice = open_invoice(invoiced)

    response = browser.post(
        f"{INVOICES}pay/{invoice.pk}/",
        {"paid_on": timezone.localdate().isoformat(), "reference": "SEPA 1"},
    )

    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_nobody_edits_or_deletes_an_invoice_or_a_sponsorship(client, make_user, invoiced):
    client.force_login(make_user(is_superuser=True, is_staff=True, mfa=True))
    invoice = open_invoice(invoiced)
    for prefix, pk in ((INVOICES, invoice.pk), (SPONSORSHIPS, invoiced.pk)):
        for url in (f"{prefix}edit/{pk}/", f"{prefix}delete/{pk}/", f"{prefix}new/"):
            assert client.get(url).status_code in (302, 403, 404), url
            client.post(url, {})
    assert Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).exists()
    assert Sponsorship.objects.filter(pk=invoiced.pk).exists()


# --- Lists: filters and the unpaid invoices ---------------------------------------------------------


def test_sponsorship_list_filters_by_the_vat_treatment_of_the_latest_invoice(
    finance_client, organisation, package
):
    german = services.sponsorship_approve(
        sponsorship=SponsorshipFactory(
            package=package, status="submitted", sponsor=SponsorFactory(display_name="Berlin Cloud")
        ),
        by=None,
    )
    french = services.sponsorship_approve(
        sponsorship=SponsorshipFactory(
            package=package,
            status="submitted",
            sponsor=SponsorFactory(french=True, display_name="Nuage Lyon"),
        ),
        by=None,
    )

    text = finance_client.get(SPONSORSHIPS, {"vat_treatment": "reverse_charge"}).content.decode()

    assert french.sponsor.display_name in text
    assert german.sponsor.display_name not in text


def test_sponsorship_list_filters_by_status_and_searches_by_name(finance_client, package):
    SponsorshipFactory(package=package, status="submitted", sponsor=SponsorFactory(display_name="Alpha Host"))
    SponsorshipFactory(package=package, status="rejected", sponsor=SponsorFactory(display_name="Beta Host"))

    by_status = finance_client.get(SPONSORSHIPS, {"status": "submitted"}).content.decode()
    by_name = finance_client.get(SPONSORSHIPS, {"q": "Beta"}).content.decode()

    assert "Alpha Host" in by_status and "Beta Host" not in by_status
    assert "Beta Host" in by_name and "Alpha Host" not in by_name


def test_unpaid_invoices_list_shows_overdue_invoices_with_days_and_reminders(finance_client, invoiced):
    overdue = open_invoice(invoiced)
    Invoice.objects.filter(pk=overdue.pk).update(
        issue_date=timezone.localdate() - datetime.timedelta(days=40),
        due_date=timezone.localdate() - datetime.timedelta(days=26),
        reminder_1_sent_at=timezone.now() - datetime.timedelta(days=19),
    )
    not_due = open_invoice(
        services.sponsorship_approve(
            sponsorship=SponsorshipFactory(package=invoiced.package, status="submitted"), by=None
        )
    )

    text = finance_client.get(UNPAID).content.decode()

    assert overdue.number in text
    assert not_due.number not in text
    assert ">26<" in text.replace(" ", "").replace("\n", "")
    assert f"{INVOICES}inspect/{overdue.pk}/" in text
    overdue_only = finance_client.get(INVOICES, {"overdue": "true"}).content.decode()
    assert overdue.number in overdue_only and not_due.number not in overdue_only


# --- Packages (snippet with drafts) ---------------------------------------------------------------


def test_finance_adds_a_package_as_a_draft_and_publishes_it(finance_client):
    data = {
        "slug": "silver",
        "name": "Silver",
        "name_de": "Silber",
        "description": "",
        "description_de": "",
        "rank": "3",
        "price": "3000.00",
        "price_period": "year",
        "duration_months": "12",
        "capacity": "",
        "open_for_applications": "on",
        "on_sponsors_page": "on",
        "in_footer": "on",
        "logo_size": "m",
        "links_to_sponsor": "on",
    }

    response = finance_client.post(f"{PACKAGES}add/", data)

    assert response.status_code == 302
    package = Package.objects.get(slug="silver")
    assert package.live is False  # a draft until published
    finance_client.post(f"{PACKAGES}edit/{package.pk}/", {**data, "action-publish": "action-publish"})
    package.refresh_from_db()
    assert package.live is True


# --- Companies ------------------------------------------------------------------------------------


def company_data(sponsor, **changes) -> dict:
    fields = ["legal_name", "display_name", "website", "street", "address_extra", "postcode", "city"]
    fields += ["country", "vat_id", "billing_email", "purchase_order", "language"]
    data = {name: getattr(sponsor, name) for name in fields}
    data["consent_annual_report"] = "on"
    return {**data, **changes}


def test_finance_corrects_a_companys_vat_id(finance_client):
    sponsor = SponsorFactory(french=True)

    response = finance_client.post(
        f"{COMPANIES}edit/{sponsor.pk}/", company_data(sponsor, vat_id="fr 23 334 175 221")
    )

    assert response.status_code == 302
    sponsor.refresh_from_db()
    assert sponsor.vat_id == "FR23334175221"


def test_a_vat_id_with_wrong_check_digits_is_refused(finance_client):
    sponsor = SponsorFactory(french=True)

    response = finance_client.post(
        f"{COMPANIES}edit/{sponsor.pk}/", company_data(sponsor, vat_id="FR00334175221")
    )

    assert response.status_code == 200
    assert "This VAT ID is not valid" in response.content.decode()
    sponsor.refresh_from_db()
    assert sponsor.vat_id == "FR40303265045"


# --- Logo review ----------------------------------------------------------------------------------


def test_editor_sees_pending_logos_with_previews(editor_client):
    logo = pending_logo(SponsorFactory(display_name="Nordlicht Hosting"))

    text = editor_client.get(LOGOS).content.decode()

    assert "Nordlicht Hosting" in text
    assert text.count(logo.image.url) == 2  # on a light and on a dark background


def test_editor_approves_a_logo(editor_client):
    logo = pending_logo()

    response = editor_client.post(f"{LOGOS}approve/{logo.pk}/")

    assert response.status_code == 302
    logo.refresh_from_db()
    assert logo.status == SponsorLogo.Status.APPROVED
    assert logo.reviewed_by == editor_client.user


def test_editor_rejects_a_logo_with_a_reason(editor_client):
    logo = pending_logo()

    editor_client.post(f"{LOGOS}reject/{logo.pk}/", {"reason": "Too blurry at small sizes"})

    logo.refresh_from_db()
    assert logo.status == SponsorLogo.Status.REJECTED
    assert logo.review_reason == "Too blurry at small sizes"


def test_rejecting_a_logo_needs_a_reason(editor_client):
    logo = pending_logo()

    response = editor_client.post(f"{LOGOS}reject/{logo.pk}/", {"reason": ""})

    assert response.status_code == 400
    logo.refresh_from_db()
    assert logo.status == SponsorLogo.Status.PENDING


def test_reviewing_a_logo_twice_shows_a_message(editor_client):
    logo = pending_logo()
    editor_client.post(f"{LOGOS}approve/{logo.pk}/")

    second = editor_client.post(f"{LOGOS}reject/{logo.pk}/", {"reason": "Changed my mind"})

    assert "already been reviewed" in follow_messages(editor_client, second)
    logo.refresh_from_db()
    assert logo.status == SponsorLogo.Status.APPROVED


# --- Who gets in ----------------------------------------------------------------------------------


@pytest.fixture
def sponsors_urls(invoiced, submitted):
    invoice = open_invoice(invoiced)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(b"%PDF-1.7 demo"), save=True)
    logo = pending_logo(invoiced.sponsor)
    money = [
        SPONSORSHIPS,
        f"{SPONSORSHIPS}?export=csv",
        f"{SPONSORSHIPS}inspect/{invoiced.pk}/",
        f"{SPONSORSHIPS}approve/{submitted.pk}/",
        f"{SPONSORSHIPS}reject/{submitted.pk}/",
        f"{SPONSORSHIPS}cancel/{invoiced.pk}/",
        INVOICES,
        f"{INVOICES}?export=csv",
        f"{INVOICES}inspect/{invoice.pk}/",
        f"{INVOICES}pay/{invoice.pk}/",
        f"{INVOICES}cancel/{invoice.pk}/",
        f"{INVOICES}pdf/{invoice.pk}/",
        UNPAID,
        COMPANIES,
        f"{COMPANIES}inspect/{invoiced.sponsor.pk}/",
        f"{COMPANIES}edit/{invoiced.sponsor.pk}/",
        PACKAGES,
    ]
    logos = [LOGOS, f"{LOGOS}inspect/{logo.pk}/", f"{LOGOS}approve/{logo.pk}/", f"{LOGOS}reject/{logo.pk}/"]
    return {"money": money, "logos": logos, "invoice": invoice}


def test_editor_gets_no_sponsorship_invoice_or_company_screen(editor_client, sponsors_urls):
    invoice = sponsors_urls["invoice"]
    for url in sponsors_urls["money"]:
        response = editor_client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert invoice.number.encode() not in response.content, url
        assert b"7140" not in response.content and b"7,140" not in response.content, url
    for url in sponsors_urls["logos"]:
        assert editor_client.get(url).status_code == 200, url


def test_editor_cannot_take_money_actions(editor_client, sponsors_urls, submitted):
    invoice = sponsors_urls["invoice"]

    editor_client.post(f"{INVOICES}pay/{invoice.pk}/", {"paid_on": "2020-01-01", "reference": "x"})
    editor_client.post(f"{SPONSORSHIPS}approve/{submitted.pk}/", {"issue_invoice": "on"})

    invoice.refresh_from_db()
    submitted.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert submitted.status == Sponsorship.Status.SUBMITTED


def test_finance_opens_every_sponsors_screen(finance_client, sponsors_urls):
    for url in sponsors_urls["money"] + sponsors_urls["logos"]:
        assert finance_client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("roles", "mfa"),
    [((), False), (("patron",), True), (("patron", "sponsor contact"), True), (("patron", "finance"), False)],
    ids=["anonymous", "patron", "sponsor-contact", "finance-without-mfa"],
)
def test_others_reach_no_sponsors_screen(client, make_user, sponsors_urls, roles, mfa):
    if roles:
        client.force_login(make_user(*roles, mfa=mfa))
    invoice = sponsors_urls["invoice"]
    for url in sponsors_urls["money"] + sponsors_urls["logos"]:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert invoice.number.encode() not in response.content, url
    for url in sponsors_urls["logos"][2:]:
        client.post(url, {"reason": "x"})
    assert not SponsorLogo.objects.exclude(status=SponsorLogo.Status.PENDING).exists()


# --- Exports and escaping -------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x")'
SCRIPT = "<script>alert(1)</script>"


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_csv_exports_neutralise_cells_that_start_like_formulas(finance_client, organisation, package):
    for name in (FORMULA, "+49 30 123", "-minus", "@at"):
        services.sponsorship_approve(
            sponsorship=SponsorshipFactory(
                package=package,
                status="submitted",
                sponsor=SponsorFactory(legal_name=name, display_name=name),
            ),
            by=None,
        )

    for url in (f"{SPONSORSHIPS}?export=csv", f"{INVOICES}?export=csv", f"{COMPANIES}?export=csv"):
        cells = [cell for row in csv_rows(finance_client.get(url))[1:] for cell in row]
        assert "'" + FORMULA in cells, url
        assert "'+49 30 123" in cells and "'-minus" in cells and "'@at" in cells, url
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")], url


def test_csv_export_keeps_amounts_as_numbers(finance_client, invoiced):
    rows = csv_rows(finance_client.get(f"{INVOICES}?export=csv"))
    header, row = rows[0], rows[1]

    assert row[header.index("Gross")] == "7140.00"


def test_xlsx_export_stores_a_formula_name_as_text(finance_client, package):
    from openpyxl import load_workbook

    SponsorshipFactory(package=package, sponsor=SponsorFactory(legal_name=FORMULA, display_name=FORMULA))

    response = finance_client.get(SPONSORSHIPS, {"export": "xlsx"})

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == FORMULA]
    assert cells and all(cell.data_type == "s" for cell in cells)


def test_company_names_are_escaped_in_the_admin(finance_client, package):
    sponsor = SponsorFactory(legal_name=SCRIPT, display_name=SCRIPT)
    sponsorship = SponsorshipFactory(package=package, sponsor=sponsor, status="submitted")
    logo = pending_logo(sponsor)

    pages = [
        finance_client.get(SPONSORSHIPS),
        finance_client.get(f"{SPONSORSHIPS}inspect/{sponsorship.pk}/"),
        finance_client.get(f"{SPONSORSHIPS}approve/{sponsorship.pk}/"),
        finance_client.get(COMPANIES),
        finance_client.get(f"{COMPANIES}inspect/{sponsor.pk}/"),
        finance_client.get(LOGOS),
        finance_client.get(f"{LOGOS}inspect/{logo.pk}/"),
    ]

    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200
        assert SCRIPT not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
