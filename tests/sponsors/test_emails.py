"""E-mails about sponsorships: to the right people, in the sponsor's language, with absolute links, the
invoice attached, and a company name with markup kept as plain text."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from sponsors import emails, services
from sponsors.models import TRANSITIONS, Invoice, Sponsorship, SponsorshipChange
from tests.factories.sponsors import PackageFactory, SponsorContactFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
START = datetime.date(2031, 3, 1)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://commons.example.org"
    settings.DEFAULT_FROM_EMAIL = "Fediverse Commons <hello@example.org>"


@pytest.fixture(autouse=True)
def _quiet_services(monkeypatch):
    """The services' own e-mails and PDFs stay out of the outbox: each test sends exactly one e-mail."""
    monkeypatch.setattr(services, "_on_commit", lambda callback: None)


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 120), (29, 78, 216, 255)).save(buffer, "PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


def make_sponsor(language="en", **fields):
    sponsor = SponsorFactory(
        language=language,
        legal_name=fields.pop("legal_name", "Example Hosting GmbH"),
        display_name=fields.pop("display_name", "Example Hosting"),
        billing_email=fields.pop("billing_email", "billing@hosting.example.com"),
        **fields,
    )
    SponsorContactFactory(sponsor=sponsor, name="Alex Beispiel", email="alex@hosting.example.com")
    return sponsor


@pytest.fixture
def sponsor():
    return make_sponsor()


@pytest.fixture
def german_sponsor():
    return make_sponsor(language="de", display_name="Beispiel Hosting")


@pytest.fixture
def package():
    return PackageFactory(
        slug="gold",
        name="Gold",
        name_de="Gold (de)",
        on_home_page=True,
        on_sponsors_page=True,
        in_footer=False,
    )


def change(
    sponsor, package, action: str, *, status=Sponsorship.Status.SUBMITTED, reason=""
) -> SponsorshipChange:
    sponsorship = SponsorshipFactory(sponsor=sponsor, package=package, status=status, start_date=START)
    sources, target = TRANSITIONS[action]
    return SponsorshipChange.objects.create(
        sponsorship=sponsorship,
        action=action,
        from_status=next(iter(sources)),
        to_status=target,
        reason=reason,
    )


def invoiced(sponsor, package) -> Invoice:
    sponsorship = services.sponsorship_draft(
        sponsor=sponsor, package=package, start_date=TODAY + datetime.timedelta(days=3)
    )
    services.application_submit(sponsorship=sponsorship)
    return services.sponsorship_approve(sponsorship=sponsorship, by=None).invoices.get()


def only_message():
    assert len(mail.outbox) == 1
    return mail.outbox[0]


# --- Status changes -------------------------------------------------------------------------------


def test_a_submitted_application_is_confirmed_to_contacts_and_billing(sponsor, package):
    emails.sponsorship_changed(change_id=change(sponsor, package, "submit").pk)

    message = only_message()
    assert message.to == ["alex@hosting.example.com", "billing@hosting.example.com"]
    assert message.from_email == "Fediverse Commons <hello@example.org>"
    assert message.subject.startswith("We received your sponsorship application")
    assert message.extra_headers["Content-Language"] == "en"
    assert "Hello Example Hosting team," in message.body
    assert "thank you for applying for the sponsorship package “Gold” from March 1, 2031" in message.body
    assert "https://commons.example.org/sponsors/account/" in message.body


def test_the_confirmation_goes_out_in_german_for_a_german_sponsor(german_sponsor, package):
    emails.sponsorship_changed(change_id=change(german_sponsor, package, "submit").pk)

    message = only_message()
    assert message.extra_headers["Content-Language"] == "de"
    assert "Gold (de)" in message.body
    assert "1. März 2031" in message.body
    assert "https://commons.example.org/de/sponsors/account/" in message.body


def test_a_rejection_gives_the_reason(sponsor, package):
    rejected = change(sponsor, package, "reject", status=Sponsorship.Status.REJECTED, reason="Not a fit.")
    Sponsorship.objects.filter(pk=rejected.sponsorship_id).update(rejection_reason="Not a fit.")

    emails.sponsorship_changed(change_id=rejected.pk)

    message = only_message()
    assert "we cannot accept your application" in message.body
    assert "Not a fit." in message.body
    assert "https://commons.example.org/sponsors/account/apply/" in message.body


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("approve", Sponsorship.Status.APPROVED, "we have approved your sponsorship “Gold”"),
        ("invoice", Sponsorship.Status.INVOICED, "It comes in a separate e-mail with the PDF."),
        ("end", Sponsorship.Status.ENDED, "ended on"),
        ("correct", Sponsorship.Status.APPROVED, "we are correcting the invoice for your sponsorship"),
    ],
)
def test_each_move_has_its_own_text(sponsor, package, action, status, expected):
    emails.sponsorship_changed(change_id=change(sponsor, package, action, status=status).pk)

    assert expected in only_message().body


def test_the_payment_confirmation_says_where_and_from_when_the_logo_appears(sponsor, package):
    emails.sponsorship_changed(change_id=change(sponsor, package, "activate", status="active").pk)

    body = only_message().body
    assert "Your sponsorship “Gold” is now active." in body
    assert "Your logo appears on the home page and the sponsors page from March 1, 2031" in body


def test_a_cancellation_gives_the_reason(sponsor, package):
    cancelled = change(sponsor, package, "cancel", status="cancelled", reason="Budget was cut.")

    emails.sponsorship_changed(change_id=cancelled.pk)

    body = only_message().body
    assert "was cancelled" in body
    assert "Budget was cut." in body


def test_no_recipients_means_no_email_and_no_error(package):
    sponsor = SponsorFactory(billing_email="")

    emails.sponsorship_changed(change_id=change(sponsor, package, "submit").pk)

    assert mail.outbox == []


def test_a_company_name_with_markup_stays_plain_text(package):
    sponsor = make_sponsor(display_name="<script>alert(1)</script>")

    emails.sponsorship_changed(change_id=change(sponsor, package, "submit").pk)

    message = only_message()
    assert "Hello <script>alert(1)</script> team," in message.body
    assert "&lt;" not in message.body
    assert getattr(message, "alternatives", []) == []  # no HTML part that could run it


# --- Staff ----------------------------------------------------------------------------------------


def test_finance_hears_of_a_new_application_with_its_figures(make_user, sponsor, package):
    finance = make_user("finance", email="finance@example.org")
    make_user("patron", email="patron@example.org")
    sponsorship = SponsorshipFactory(sponsor=sponsor, package=package, status="submitted", start_date=START)

    emails.staff_application_submitted(sponsorship_id=sponsorship.pk)

    message = only_message()
    assert message.to == [finance.email]
    assert "New sponsorship application: Example Hosting" in message.subject
    assert "Example Hosting GmbH" in message.body
    assert "€6,000.00" in message.body
    assert "19 % VAT" in message.body
    assert (
        f"https://commons.example.org/admin/sponsors/sponsorships/inspect/{sponsorship.pk}/" in message.body
    )


def test_editors_hear_only_of_the_logo_to_review(make_user, sponsor, package):
    make_user("finance", email="finance@example.org")
    editor = make_user("editor", email="editor@example.org")
    services.logo_upload(sponsor=sponsor, upload=png())
    sponsorship = SponsorshipFactory(sponsor=sponsor, package=package, status="submitted", start_date=START)

    emails.staff_application_submitted(sponsorship_id=sponsorship.pk)

    to_editor = [message for message in mail.outbox if editor.email in message.to]
    assert len(mail.outbox) == 2
    assert len(to_editor) == 1
    assert to_editor[0].subject.startswith("New logo to review: Example Hosting")
    assert "€" not in to_editor[0].body
    assert "Example Hosting GmbH" not in to_editor[0].body


def test_the_staff_alert_is_english_even_for_a_german_sponsor(make_user, german_sponsor, package):
    make_user("finance", email="finance@example.org")
    sponsorship = SponsorshipFactory(
        sponsor=german_sponsor, package=package, status="submitted", start_date=START
    )

    emails.staff_application_submitted(sponsorship_id=sponsorship.pk)

    message = only_message()
    assert message.extra_headers["Content-Language"] == "en"
    assert "A company has applied for a sponsorship." in message.body


def test_no_staff_means_no_alert(sponsor, package):
    sponsorship = SponsorshipFactory(sponsor=sponsor, package=package, status="submitted", start_date=START)

    emails.staff_application_submitted(sponsorship_id=sponsorship.pk)

    assert mail.outbox == []


def test_staff_hear_of_a_replaced_logo(make_user, sponsor):
    editor = make_user("editor", email="editor@example.org")
    logo = services.logo_upload(sponsor=sponsor, upload=png())

    emails.staff_logo_uploaded(logo_id=logo.pk)

    message = only_message()
    assert message.to == [editor.email]
    assert "New logo to review: Example Hosting" in message.subject
    assert "https://commons.example.org/admin/" in message.body


# --- Logos ----------------------------------------------------------------------------------------


def test_an_approved_logo_is_announced(sponsor):
    logo = services.logo_approve(logo=services.logo_upload(sponsor=sponsor, upload=png()), by=None)

    emails.logo_reviewed(logo_id=logo.pk)

    message = only_message()
    assert message.subject.startswith("Your logo is approved")
    assert "alex@hosting.example.com" in message.to


def test_a_rejected_logo_gives_the_reason_in_german(german_sponsor):
    logo = services.logo_upload(sponsor=german_sponsor, upload=png())
    logo = services.logo_reject(logo=logo, by=None, reason="Zu wenig Kontrast.")

    emails.logo_reviewed(logo_id=logo.pk)

    message = only_message()
    assert message.extra_headers["Content-Language"] == "de"
    assert "Zu wenig Kontrast." in message.body
    assert f"https://commons.example.org/de/sponsors/account/#logo-{german_sponsor.pk}" in message.body


# --- Invoices and credit notes --------------------------------------------------------------------


def test_the_invoice_goes_to_billing_and_contacts_with_the_pdf_and_payment_details(
    sponsor, package, organisation
):
    invoice = invoiced(sponsor, package)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(b"%PDF-1.7 test"))

    emails.invoice_issued(invoice_id=invoice.pk)

    message = only_message()
    assert message.to == ["billing@hosting.example.com", "alex@hosting.example.com"]
    assert message.subject.startswith(f"Invoice {invoice.number} for your sponsorship")
    assert message.attachments == [(f"{invoice.number}.pdf", b"%PDF-1.7 test", "application/pdf")]
    body = message.body
    assert "Amount: €7,140.00, including 19 % VAT (€1,140.00) on the net amount of €6,000.00." in body
    assert "IBAN: DE89 3704 0044 0532 0130 00" in body
    assert "BIC: COBADEFFXXX" in body
    assert f"Reference: {invoice.number}" in body
    assert f"https://commons.example.org/sponsors/account/#invoice-{invoice.number}" in body
    assert f"https://commons.example.org/sponsors/account/invoices/{invoice.number}.pdf" in body
    assert "Fediverse Commons gGmbH" in body


def test_an_invoice_without_its_pdf_still_goes_out_with_the_link(sponsor, package, organisation):
    invoice = invoiced(sponsor, package)

    emails.invoice_issued(invoice_id=invoice.pk)

    message = only_message()
    assert message.attachments == []
    assert f"/sponsors/account/invoices/{invoice.number}.pdf" in message.body


def test_a_german_invoice_email_has_german_amounts_and_links(german_sponsor, package, organisation):
    invoice = invoiced(german_sponsor, package)

    emails.invoice_issued(invoice_id=invoice.pk)

    body = only_message().body
    assert "7.140,00\xa0€" in body
    assert f"https://commons.example.org/de/sponsors/account/invoices/{invoice.number}.pdf" in body


def test_a_reverse_charge_invoice_says_so(package, organisation):
    french = make_sponsor(french=True)
    invoice = invoiced(french, package)

    emails.invoice_issued(invoice_id=invoice.pk)

    assert "reverse charge" in only_message().body


def test_a_credit_note_has_its_own_wording(sponsor, package, organisation):
    invoice = invoiced(sponsor, package)
    credit_note = services.invoice_cancel(invoice=invoice, by=None, reason="Wrong address")

    emails.invoice_issued(invoice_id=credit_note.pk)

    message = only_message()
    assert message.subject.startswith(f"Credit note {credit_note.number}")
    assert f"It cancels invoice {invoice.number} in full (€7,140.00)." in message.body
    assert f"You do not need to pay invoice {invoice.number}." in message.body


@pytest.mark.parametrize(
    ("level", "subject", "text"),
    [
        (1, "Reminder: invoice", "perhaps it slipped through"),
        (2, "Second reminder: invoice", "Please pay it within the next 7 days."),
    ],
)
def test_payment_reminders_go_to_the_billing_address(sponsor, package, organisation, level, subject, text):
    invoice = invoiced(sponsor, package)

    emails.invoice_reminder(invoice_id=invoice.pk, level=level)

    message = only_message()
    assert message.to == ["billing@hosting.example.com"]
    assert message.subject.startswith(subject)
    assert text in message.body
    assert "IBAN: DE89 3704 0044 0532 0130 00" in message.body


def test_a_paid_invoice_gets_no_reminder(sponsor, package, organisation):
    invoice = invoiced(sponsor, package)
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="Transfer", by=None)

    emails.invoice_reminder(invoice_id=invoice.pk, level=1)

    assert mail.outbox == []


# --- Renewal --------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [30, 7])
def test_the_renewal_reminder_links_to_the_renewal(sponsor, package, days):
    sponsorship = SponsorshipFactory(
        sponsor=sponsor,
        package=package,
        status=Sponsorship.Status.ACTIVE,
        start_date=TODAY - datetime.timedelta(days=300),
        end_date=TODAY + datetime.timedelta(days=days),
    )

    emails.renewal_reminder(sponsorship_id=sponsorship.pk, days=days)

    message = only_message()
    assert message.to == ["alex@hosting.example.com", "billing@hosting.example.com"]
    assert message.subject.startswith(f"Your sponsorship ends in {days} days")
    assert f"https://commons.example.org/sponsors/account/#sponsorship-{sponsorship.pk}" in message.body
    assert "€6,000.00 net" in message.body


def test_a_renewed_sponsorship_gets_no_renewal_reminder(sponsor, package):
    current = SponsorshipFactory(
        sponsor=sponsor,
        package=package,
        status=Sponsorship.Status.ACTIVE,
        start_date=TODAY - datetime.timedelta(days=300),
        end_date=TODAY + datetime.timedelta(days=7),
    )
    SponsorshipFactory(sponsor=sponsor, package=package, previous=current, status="invoiced")

    emails.renewal_reminder(sponsorship_id=current.pk, days=7)

    assert mail.outbox == []


def test_the_german_renewal_reminder(german_sponsor, package):
    sponsorship = SponsorshipFactory(
        sponsor=german_sponsor,
        package=package,
        status=Sponsorship.Status.ACTIVE,
        start_date=TODAY - datetime.timedelta(days=300),
        end_date=TODAY + datetime.timedelta(days=30),
    )

    emails.renewal_reminder(sponsorship_id=sponsorship.pk, days=30)

    message = only_message()
    assert message.extra_headers["Content-Language"] == "de"
    assert "6.000,00\xa0€" in message.body
    assert f"https://commons.example.org/de/sponsors/account/#sponsorship-{sponsorship.pk}" in message.body


def test_a_returned_debit_asks_the_billing_contact_to_pay_another_way(db, organisation, mailoutbox):
    sponsorship = services.sponsorship_draft(
        sponsor=SponsorFactory(billing_email="ap@firma.example", language="de"),
        package=PackageFactory(),
        start_date=timezone.localdate() + datetime.timedelta(days=2),
    )
    services.application_submit(sponsorship=sponsorship)
    invoice = services.sponsorship_approve(sponsorship=sponsorship, by=None).invoices.get()
    mailoutbox.clear()
    emails.invoice_payment_failed(invoice_id=invoice.pk)
    (message,) = mailoutbox
    assert message.to == ["ap@firma.example"]
    assert invoice.number in message.subject
    assert "/de/sponsors/account/" in message.body
