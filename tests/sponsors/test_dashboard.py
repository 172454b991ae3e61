"""The sponsor dashboard at /sponsors/account/: only the company's own sponsorships and invoices, the
downloads, paying in the sandbox, renewing, replacing the logo, withdrawing an application."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from payments.errors import PaymentServiceUnavailable
from sponsors import services
from sponsors.models import Invoice, SponsorLogo, Sponsorship
from tests.factories.sponsors import PackageFactory, SponsorContactFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/sponsors/account/"
TODAY = timezone.localdate()
FAKE_PDF = b"%PDF-1.7 test"


@pytest.fixture(autouse=True)
def _english_again():
    """A request under /de/ leaves German active in this thread; later tests expect English."""
    yield
    translation.activate("en")


def png(colour=(29, 78, 216, 255), name: str = "logo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 120), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    """The PDF itself has its own tests (sponsors/invoice_documents.py); here only who gets it."""
    monkeypatch.setattr("sponsors.invoice_documents.invoice_pdf", lambda invoice: FAKE_PDF)


@pytest.fixture
def contact(make_user):
    return make_user("patron", "sponsor contact", email="alex@hosting.example.com")


@pytest.fixture
def sponsor(contact):
    sponsor = SponsorFactory(legal_name="Example Hosting GmbH", display_name="Example Hosting")
    sponsor.users.add(contact)
    SponsorContactFactory(sponsor=sponsor, name="Alex Beispiel", email=contact.email)
    return sponsor


@pytest.fixture
def contact_client(client, contact):
    client.force_login(contact)
    return client


def invoiced(sponsor, package=None) -> Invoice:
    """An application approved with its invoice issued, through the services (the books follow)."""
    package = package or PackageFactory(slug="gold", name="Gold", price=Decimal("6000.00"))
    sponsorship = services.sponsorship_draft(
        sponsor=sponsor, package=package, start_date=TODAY + datetime.timedelta(days=3)
    )
    services.application_submit(sponsorship=sponsorship)
    sponsorship = services.sponsorship_approve(sponsorship=sponsorship, by=None, issue_invoice=True)
    return sponsorship.invoices.get()


def active(sponsor, *, ends_in_days: int, package=None) -> Sponsorship:
    """A paid sponsorship that started a while ago (a record without postings)."""
    package = package or PackageFactory(slug="gold", name="Gold", price=Decimal("6000.00"))
    return SponsorshipFactory(
        sponsor=sponsor,
        package=package,
        status=Sponsorship.Status.ACTIVE,
        start_date=TODAY - datetime.timedelta(days=300),
        end_date=TODAY + datetime.timedelta(days=ends_in_days),
    )


# --- Only one's own -------------------------------------------------------------------------------


def test_the_dashboard_shows_only_the_companys_own_sponsorships(contact_client, sponsor, organisation):
    own = invoiced(sponsor)
    other = invoiced(SponsorFactory(display_name="Other Company"), package=own.sponsorship.package)

    page = contact_client.get(DASHBOARD).content.decode()

    assert own.number in page
    assert other.number not in page
    assert "Other Company" not in page


def test_another_companys_invoice_pdf_is_not_found(contact_client, sponsor, organisation):
    other = invoiced(SponsorFactory(display_name="Other Company"))

    response = contact_client.get(reverse("sponsors:invoice_download", kwargs={"number": other.number}))

    assert response.status_code == 404


def test_another_companys_invoice_cannot_be_paid(contact_client, sponsor, organisation):
    other = invoiced(SponsorFactory(display_name="Other Company"))

    response = contact_client.post(reverse("sponsors:invoice_pay", kwargs={"number": other.number}))

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.stripe_checkout_session_id == ""


def test_another_companys_sponsorship_cannot_be_renewed(contact_client, sponsor, organisation):
    other = active(SponsorFactory(), ends_in_days=20)

    response = contact_client.post(reverse("sponsors:renewal_accept", kwargs={"pk": other.pk}))

    assert response.status_code == 404
    assert not Sponsorship.objects.filter(previous=other).exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={DASHBOARD}"


def test_a_user_without_a_sponsor_is_invited_to_apply(client, make_user):
    client.force_login(make_user("patron"))

    page = client.get(DASHBOARD).content.decode()

    assert reverse("sponsors:apply") in page
    assert "You do not manage a sponsor yet." in page


# --- Invoices -------------------------------------------------------------------------------------


def test_the_own_invoice_downloads_as_pdf(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    response = contact_client.get(reverse("sponsors:invoice_download", kwargs={"number": invoice.number}))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == FAKE_PDF
    invoice.refresh_from_db()
    assert invoice.pdf  # made once and stored


def test_finance_downloads_any_invoice(finance_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    response = finance_client.get(reverse("sponsors:invoice_download", kwargs={"number": invoice.number}))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == FAKE_PDF


def test_the_open_invoice_shows_amounts_due_date_and_bank_details(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    page = contact_client.get(DASHBOARD).content.decode()

    assert "€6,000.00" in page  # net
    assert "€1,140.00" in page  # 19 % VAT
    assert "€7,140.00" in page  # gross
    assert "DE89 3704 0044 0532 0130 00" in page
    assert "COBADEFFXXX" in page
    assert f"<code>{invoice.number}</code>" in page  # the transfer's reference
    assert "Pay by card or SEPA Direct Debit" in page


def test_an_overdue_invoice_is_marked(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)
    Invoice.objects.filter(pk=invoice.pk).update(due_date=TODAY - datetime.timedelta(days=3))

    page = contact_client.get(DASHBOARD).content.decode()

    assert "overdue by 3 days" in page


def test_the_pay_button_opens_a_sandbox_checkout(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    response = contact_client.post(reverse("sponsors:invoice_pay", kwargs={"number": invoice.number}))

    assert response.status_code == 303
    invoice.refresh_from_db()
    assert invoice.stripe_checkout_session_id
    assert invoice.stripe_checkout_session_id in response["Location"]


def test_paying_an_invoice_that_is_no_longer_open_says_so(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="Transfer 1", by=None)

    response = contact_client.post(
        reverse("sponsors:invoice_pay", kwargs={"number": invoice.number}), follow=True
    )

    assert response.redirect_chain[-1][0] == DASHBOARD
    assert "This invoice is not open for payment." in response.content.decode()


def test_an_unreachable_payment_service_gives_a_message_not_an_error(
    contact_client, sponsor, organisation, monkeypatch
):
    invoice = invoiced(sponsor)

    def unavailable(**kwargs):
        raise PaymentServiceUnavailable("timeout")

    monkeypatch.setattr(services, "invoice_checkout_start", unavailable)

    response = contact_client.post(
        reverse("sponsors:invoice_pay", kwargs={"number": invoice.number}), follow=True
    )

    assert response.status_code == 200
    assert "The payment service could not take your request just now." in response.content.decode()


def test_coming_back_from_checkout_says_the_payment_is_being_confirmed(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    response = contact_client.get(
        reverse("sponsors:invoice_paid", kwargs={"number": invoice.number}), follow=True
    )

    assert "We are confirming your payment" in response.content.decode()


# --- Status and history ---------------------------------------------------------------------------


def test_a_rejection_shows_its_reason(contact_client, sponsor, make_user):
    sponsorship = services.sponsorship_draft(
        sponsor=sponsor, package=PackageFactory(), start_date=TODAY + datetime.timedelta(days=3)
    )
    services.application_submit(sponsorship=sponsorship)
    services.sponsorship_reject(sponsorship=sponsorship, by=make_user("finance"), reason="Not a fit for us.")

    page = contact_client.get(DASHBOARD).content.decode()

    assert "Rejected" in page
    assert page.count("Not a fit for us.") == 2  # the notice and the history


def test_a_submitted_application_can_be_withdrawn(contact_client, sponsor):
    sponsorship = services.application_submit(
        sponsorship=services.sponsorship_draft(
            sponsor=sponsor, package=PackageFactory(), start_date=TODAY + datetime.timedelta(days=3)
        )
    )

    response = contact_client.post(
        reverse("sponsors:application_withdraw", kwargs={"pk": sponsorship.pk}),
        {"reason": "We chose another date."},
    )

    assert response.status_code == 302
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.CANCELLED
    assert sponsorship.changes.last().reason == "We chose another date."


def test_an_invoiced_sponsorship_cannot_be_withdrawn_here(contact_client, sponsor, organisation):
    invoice = invoiced(sponsor)

    contact_client.post(
        reverse("sponsors:application_withdraw", kwargs={"pk": invoice.sponsorship_id}),
        {"reason": "Changed our mind."},
    )

    invoice.sponsorship.refresh_from_db()
    assert invoice.sponsorship.status == Sponsorship.Status.INVOICED


def test_a_company_name_with_markup_is_shown_as_text(contact_client, sponsor):
    sponsor.display_name = "<script>alert(1)</script>"
    sponsor.save()

    page = contact_client.get(DASHBOARD).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- Placement preview and renewal ----------------------------------------------------------------


def test_the_preview_shows_the_approved_logo_linked_where_the_package_links(contact_client, sponsor):
    logo = services.logo_approve(logo=services.logo_upload(sponsor=sponsor, upload=png()), by=None)
    package = PackageFactory(
        slug="gold", name="Gold", links_to_sponsor=True, on_home_page=True, in_footer=True
    )
    active(sponsor, ends_in_days=200, package=package)

    page = contact_client.get(DASHBOARD).content.decode()

    assert (
        f'<a href="{sponsor.website}" rel="sponsored noopener"><img class="sponsor-logo--l" src="{logo.image.url}"'
        in page
    )
    assert "Where it appears: the home page, the sponsors page, and the footer of every page." in page


def test_the_preview_of_a_passive_mention_has_no_link(contact_client, sponsor):
    logo = services.logo_approve(logo=services.logo_upload(sponsor=sponsor, upload=png()), by=None)
    package = PackageFactory(slug="bronze", name="Bronze", links_to_sponsor=False, logo_size="s")
    active(sponsor, ends_in_days=200, package=package)

    page = contact_client.get(DASHBOARD).content.decode()

    assert f'<img class="sponsor-logo--s" src="{logo.image.url}"' in page
    assert 'rel="sponsored noopener"' not in page
    assert "It is shown without a link (a passive mention)." in page


def test_the_renewal_button_shows_in_the_last_60_days(contact_client, sponsor):
    soon = active(sponsor, ends_in_days=30)

    page = contact_client.get(DASHBOARD).content.decode()

    assert reverse("sponsors:renewal_accept", kwargs={"pk": soon.pk}) in page


def test_no_renewal_button_earlier(contact_client, sponsor):
    later = active(sponsor, ends_in_days=200)

    page = contact_client.get(DASHBOARD).content.decode()

    assert reverse("sponsors:renewal_accept", kwargs={"pk": later.pk}) not in page


def test_renewing_creates_the_next_sponsorship_and_its_invoice(
    contact_client, contact, sponsor, organisation
):
    current = active(sponsor, ends_in_days=30)

    response = contact_client.post(reverse("sponsors:renewal_accept", kwargs={"pk": current.pk}), follow=True)

    renewal = Sponsorship.objects.get(previous=current)
    assert renewal.status == Sponsorship.Status.INVOICED
    assert renewal.start_date == current.end_date + datetime.timedelta(days=1)
    assert renewal.applicant == contact
    invoice = renewal.invoices.get()
    assert invoice.gross_amount == Decimal("7140.00")
    page = response.content.decode()
    assert "Thank you for renewing!" in page
    assert invoice.number in page


def test_renewing_early_is_refused(contact_client, sponsor, organisation):
    current = active(sponsor, ends_in_days=200)

    response = contact_client.post(reverse("sponsors:renewal_accept", kwargs={"pk": current.pk}), follow=True)

    assert "can be renewed in the last 60 days" in response.content.decode()
    assert not Sponsorship.objects.filter(previous=current).exists()


# --- Logo replacement -----------------------------------------------------------------------------


def test_a_new_logo_waits_for_review_and_the_approved_one_stays(contact_client, sponsor):
    approved = services.logo_approve(logo=services.logo_upload(sponsor=sponsor, upload=png()), by=None)

    response = contact_client.post(
        reverse("sponsors:logo_replace", kwargs={"pk": sponsor.pk}),
        {"logo": png(colour=(220, 38, 38, 255), name="new.png")},
        follow=True,
    )

    page = response.content.decode()
    assert "Your new logo is waiting for our review." in page
    approved.refresh_from_db()
    assert approved.status == SponsorLogo.Status.APPROVED
    assert sponsor.current_logo() == approved
    pending = sponsor.pending_logo()
    assert pending is not None and pending.uploaded_by is not None
    assert "New logo, waiting for our review" in page


def test_a_refused_logo_replacement_shows_why_and_stores_nothing(contact_client, sponsor):
    fake = SimpleUploadedFile("logo.png", b"not an image at all", content_type="image/png")

    response = contact_client.post(
        reverse("sponsors:logo_replace", kwargs={"pk": sponsor.pk}), {"logo": fake}
    )

    assert response.status_code == 400
    assert f'id="id_logo{sponsor.pk}_logo_error"' in response.content.decode()
    assert not SponsorLogo.objects.exists()


def test_another_companys_logo_cannot_be_replaced(contact_client, sponsor):
    other = SponsorFactory()

    response = contact_client.post(reverse("sponsors:logo_replace", kwargs={"pk": other.pk}), {"logo": png()})

    assert response.status_code == 404
    assert not SponsorLogo.objects.exists()


def test_the_german_dashboard_renders(contact_client, sponsor, organisation):
    invoiced(sponsor)

    response = contact_client.get("/de/sponsors/account/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de"' in page
    assert "7.140,00\xa0€" in page
