"""The application form at /sponsors/account/apply/: a company, its contacts, a package, a start date and a
logo in one go; every refusal leaves nothing behind."""

from __future__ import annotations

import datetime
import io
import os
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from accounts.roles import SPONSOR_CONTACT
from sponsors import services
from sponsors.models import Sponsor, SponsorContact, SponsorLogo, Sponsorship
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

APPLY = "/sponsors/account/apply/"
TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _english_again():
    """A request under /de/ leaves German active in this thread; later tests expect English."""
    yield
    translation.activate("en")


def png(width: int = 400, height: int = 160, name: str = "logo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (29, 78, 216, 255)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def package():
    return PackageFactory(
        slug="gold", name="Gold", name_de="Gold (de)", price=Decimal("6000.00"), links_to_sponsor=True
    )


@pytest.fixture
def applicant(make_user):
    return make_user("patron", email="alex@hosting.example.com", first_name="Alex", last_name="Beispiel")


@pytest.fixture
def applicant_client(client, applicant):
    client.force_login(applicant)
    return client


def form_data(package, **overrides) -> dict:
    data = {
        "legal_name": "Example Hosting GmbH",
        "display_name": "Example Hosting",
        "website": "https://hosting.example.com/",
        "street": "Friedrichstraße 123",
        "address_extra": "",
        "postcode": "10117",
        "city": "Berlin",
        "country": "DE",
        "vat_id": "DE 136 695 976",
        "billing_email": "billing@hosting.example.com",
        "purchase_order": "PO-4711",
        "package": str(package.pk),
        "start_date": (TODAY + datetime.timedelta(days=14)).isoformat(),
        "consent_annual_report": "on",
        "accept_terms": "on",
        "logo": png(),
        "contacts-TOTAL_FORMS": "2",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "1",
        "contacts-MAX_NUM_FORMS": "5",
        "contacts-0-name": "Alex Beispiel",
        "contacts-0-email": "alex@hosting.example.com",
        "contacts-0-phone": "+49 30 1234567",
        "contacts-1-name": "",
        "contacts-1-email": "",
        "contacts-1-phone": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored_files(settings) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(settings.MEDIA_ROOT):
        found += [os.path.join(root, name) for name in files]
    return found


def assert_nothing_stored(settings):
    assert not Sponsor.objects.exists()
    assert not SponsorContact.objects.exists()
    assert not SponsorLogo.objects.exists()
    assert not Sponsorship.objects.exists()
    assert stored_files(settings) == []


# --- The happy path -------------------------------------------------------------------------------


def test_a_company_applies_and_its_application_waits_for_review(
    applicant_client, applicant, package, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = applicant_client.post(APPLY, form_data(package))

    assert response.status_code == 302
    assert response["Location"] == reverse("sponsors:dashboard")
    sponsor = Sponsor.objects.get()
    assert (sponsor.legal_name, sponsor.display_name, sponsor.country, sponsor.vat_id) == (
        "Example Hosting GmbH",
        "Example Hosting",
        "DE",
        "DE136695976",
    )
    assert sponsor.billing_email == "billing@hosting.example.com"
    assert sponsor.purchase_order == "PO-4711"
    assert sponsor.consent_annual_report is True
    assert sponsor.language == "en"
    assert list(sponsor.contacts.values_list("name", "email", "phone")) == [
        ("Alex Beispiel", "alex@hosting.example.com", "+49 30 1234567")
    ]
    assert list(sponsor.users.all()) == [applicant]
    assert applicant.groups.filter(name=SPONSOR_CONTACT).exists()
    sponsorship = Sponsorship.objects.get()
    assert sponsorship.status == Sponsorship.Status.SUBMITTED
    assert sponsorship.package == package
    assert sponsorship.start_date == TODAY + datetime.timedelta(days=14)
    assert sponsorship.applicant == applicant
    logo = SponsorLogo.objects.get()
    assert logo.status == SponsorLogo.Status.PENDING
    assert logo.sponsor == sponsor
    to_contacts = [message for message in mail.outbox if "alex@hosting.example.com" in message.to]
    assert len(to_contacts) == 1
    assert "We received your sponsorship application" in to_contacts[0].subject
    assert set(to_contacts[0].to) == {"alex@hosting.example.com", "billing@hosting.example.com"}


def test_the_dashboard_says_the_application_was_sent(applicant_client, package):
    response = applicant_client.post(APPLY, form_data(package), follow=True)

    page = response.content.decode()
    assert "Your application for “Gold” was sent" in page
    assert "Submitted" in page


def test_staff_hear_of_the_new_application(
    applicant_client, package, make_user, django_capture_on_commit_callbacks
):
    finance = make_user("finance", email="finance@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        applicant_client.post(APPLY, form_data(package))

    to_staff = [message for message in mail.outbox if finance.email in message.to]
    assert len(to_staff) == 1
    assert "New sponsorship application: Example Hosting" in to_staff[0].subject


def test_the_form_fills_in_the_applicant_as_the_first_contact(applicant_client, package):
    response = applicant_client.get(APPLY)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="alex@hosting.example.com"' in page
    assert 'value="Alex Beispiel"' in page


def test_the_consent_to_be_named_is_not_ticked_by_default(applicant_client, package):
    page = applicant_client.get(APPLY).content.decode()

    consent = page[
        page.index('name="consent_annual_report"') - 200 : page.index('name="consent_annual_report"')
    ]
    assert "checked" not in consent


def test_the_offer_shows_price_benefits_and_vat(applicant_client, package):
    PackageFactory(slug="bronze", name="Bronze", links_to_sponsor=False, price=Decimal("1200.00"))

    page = applicant_client.get(APPLY).content.decode()

    assert "€6,000.00 per year (net)" in page
    assert "The logo links to your website" in page
    assert "Plus 19 % VAT" in page
    assert "No VAT: a mention without a link is not a taxable sale." in page


def test_a_company_outside_the_eu_needs_no_vat_id(applicant_client, package):
    data = form_data(package, country="US", vat_id="", city="Portland", postcode="97201", street="1 Main St")

    response = applicant_client.post(APPLY, data)

    assert response.status_code == 302
    assert Sponsor.objects.get().vat_id == ""


def test_a_greek_vat_id_is_stored_with_the_el_prefix(applicant_client, package):
    data = form_data(package, country="GR", vat_id="GR094259216", city="Athens", postcode="10552")

    response = applicant_client.post(APPLY, data)

    assert response.status_code == 302
    assert Sponsor.objects.get().vat_id == "EL094259216"


def test_applying_again_reuses_the_company(applicant_client, applicant, package):
    sponsor = SponsorFactory(legal_name="Example Hosting GmbH")
    sponsor.users.add(applicant)
    sponsor.contacts.create(name="Alex Beispiel", email="alex@hosting.example.com")
    services.logo_approve(logo=services.logo_upload(sponsor=sponsor, upload=png()), by=None)
    data = form_data(
        package,
        logo=None,
        **{
            "contacts-TOTAL_FORMS": "2",
            "contacts-INITIAL_FORMS": "1",
            "contacts-0-id": str(sponsor.contacts.get().pk),
            "contacts-0-sponsor": str(sponsor.pk),
        },
    )

    response = applicant_client.post(APPLY, data)

    assert response.status_code == 302
    assert Sponsor.objects.count() == 1
    assert SponsorContact.objects.count() == 1
    assert Sponsorship.objects.get().sponsor == sponsor


# --- Refusals: a clear message and nothing stored ------------------------------------------------


def test_a_vat_id_with_a_wrong_check_digit_is_refused(applicant_client, package, settings):
    response = applicant_client.post(APPLY, form_data(package, vat_id="DE136695977"))

    assert response.status_code == 400
    assert "The check digit of this VAT ID is wrong" in response.content.decode()
    assert_nothing_stored(settings)


def test_a_vat_id_of_another_country_is_refused(applicant_client, package, settings):
    data = form_data(package, country="FR", city="Paris", postcode="75002", vat_id="DE136695976")

    response = applicant_client.post(APPLY, data)

    page = response.content.decode()
    assert response.status_code == 400
    assert "This VAT ID starts with DE, the prefix of Germany, but the company is in France" in page
    assert_nothing_stored(settings)


def test_an_eu_vat_id_with_a_country_outside_the_eu_is_refused(applicant_client, package, settings):
    response = applicant_client.post(APPLY, form_data(package, country="US", vat_id="FR40303265045"))

    assert response.status_code == 400
    assert "This is a VAT ID from France" in response.content.decode()
    assert_nothing_stored(settings)


def test_a_file_that_is_not_an_image_is_refused(applicant_client, package, settings):
    fake = SimpleUploadedFile("logo.png", b"<html><script>alert(1)</script></html>", content_type="image/png")

    response = applicant_client.post(APPLY, form_data(package, logo=fake))

    assert response.status_code == 400
    assert 'id="id_logo_error"' in response.content.decode()
    assert_nothing_stored(settings)


def test_a_logo_refused_when_it_is_stored_leaves_nothing(applicant_client, package, settings, monkeypatch):
    def refuse(**kwargs):
        raise ValidationError("This logo is too large once decoded.")

    monkeypatch.setattr(services, "logo_upload", refuse)

    response = applicant_client.post(APPLY, form_data(package))

    assert response.status_code == 400
    assert "This logo is too large once decoded." in response.content.decode()
    assert_nothing_stored(settings)


def test_a_refusal_of_the_service_after_the_logo_was_stored_leaves_no_file(
    applicant_client, package, settings, monkeypatch
):
    def refuse(**kwargs):
        raise services.SponsorshipRefused("The package “Gold” is not offered any more.")

    monkeypatch.setattr(services, "application_submit", refuse)

    response = applicant_client.post(APPLY, form_data(package))

    assert response.status_code == 400
    assert "The package “Gold” is not offered any more." in response.content.decode()
    assert_nothing_stored(settings)


def test_a_start_date_in_the_past_is_refused(applicant_client, package, settings):
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()

    response = applicant_client.post(APPLY, form_data(package, start_date=yesterday))

    assert response.status_code == 400
    assert "The start date lies in the past" in response.content.decode()
    assert_nothing_stored(settings)


def test_the_terms_must_be_confirmed(applicant_client, package, settings):
    response = applicant_client.post(APPLY, form_data(package, accept_terms=None))

    assert response.status_code == 400
    assert "Please confirm the details and the terms to apply." in response.content.decode()
    assert_nothing_stored(settings)


def test_at_least_one_contact_is_needed(applicant_client, package, settings):
    response = applicant_client.post(
        APPLY, form_data(package, **{"contacts-0-name": "", "contacts-0-email": ""})
    )

    assert response.status_code == 400
    assert "Contact 1" in response.content.decode()
    assert_nothing_stored(settings)


def test_a_fully_booked_package_is_marked_and_refused(applicant_client, settings):
    package = PackageFactory(slug="platinum", name="Platinum", capacity=1)
    SponsorshipFactory(
        package=package,
        status=Sponsorship.Status.ACTIVE,
        start_date=TODAY - datetime.timedelta(days=10),
        end_date=TODAY + datetime.timedelta(days=300),
    )

    page = applicant_client.get(APPLY).content.decode()
    response = applicant_client.post(APPLY, form_data(package))

    assert "fully booked at the moment" in page
    assert response.status_code == 400
    assert "is fully booked for that start date" in response.content.decode()
    assert Sponsorship.objects.count() == 1
    assert Sponsor.objects.count() == 1
    assert not SponsorLogo.objects.exists()


# --- Who and where --------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(APPLY)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={APPLY}"


def test_the_german_page_shows_german_country_and_package_names(applicant_client, package):
    response = applicant_client.get("/de/sponsors/account/apply/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de"' in page
    assert '<option value="DE" selected>Deutschland</option>' in page
    assert "Gold (de)" in page
    assert "6.000,00\xa0€" in page


def test_an_application_in_german_makes_a_german_speaking_sponsor(applicant_client, package):
    response = applicant_client.post("/de/sponsors/account/apply/", form_data(package))

    assert response.status_code == 302
    assert response["Location"] == "/de/sponsors/account/"
    assert Sponsor.objects.get().language == "de"
