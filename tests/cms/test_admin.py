"""Editors maintain the organisation's identity and the footer links in Wagtail's settings."""

import pytest
from django.urls import reverse

from cms.models import FooterLink, NavigationSettings, OrganisationSettings

pytestmark = pytest.mark.django_db


def settings_url(model, site) -> str:
    return reverse("wagtailsettings:edit", args=[model._meta.app_label, model._meta.model_name, site.pk])


def organisation_form(**changes) -> dict:
    data = {
        "short_name": "Fediverse Commons",
        "legal_name": "Fediverse Commons gGmbH",
        "street": "Oranienstraße 183",
        "postcode": "10999",
        "city": "Berlin",
        "country": "DE",
        "founding_year": "2022",
        "email": "hello@fediverse-commons.example",
        "phone": "",
        "register_court": "Amtsgericht Charlottenburg",
        "register_number": "HRB 123456 B",
        "managing_directors": "Lena Hoffmann",
        "content_responsible_person": "Lena Hoffmann",
        "tax_office": "Finanzamt für Körperschaften I Berlin",
        "tax_number": "27/123/45678",
        "vat_id": "DE123456788",
        "exemption_notice_date": "2025-03-14",
        "exemption_period_start_year": "2021",
        "exemption_period_end_year": "2023",
        "section_60a_determination_date": "",
        "bank_account_holder": "Fediverse Commons gGmbH",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "GENODEM1GLS",
        "bank_name": "GLS Bank",
        "logo": "",
    }
    data.update(changes)
    return data


def test_editor_opens_the_organisation_settings_with_their_tabs(editor_client, home):
    response = editor_client.get(settings_url(OrganisationSettings, home.get_site()))

    html = response.content.decode()
    assert response.status_code == 200
    for tab in ("Identity", "Legal", "Tax", "Bank account"):
        assert tab in html


def test_editor_saves_the_organisation_settings_with_a_normalised_iban(editor_client, home):
    site = home.get_site()

    response = editor_client.post(settings_url(OrganisationSettings, site), organisation_form())

    assert response.status_code == 302
    assert OrganisationSettings.for_site(site).iban == "DE89370400440532013000"


def test_editor_sees_why_an_iban_is_refused(editor_client, home):
    site = home.get_site()

    response = editor_client.post(
        settings_url(OrganisationSettings, site), organisation_form(iban="DE89370400440532013001")
    )

    assert response.status_code == 200
    assert (
        "This IBAN&#x27;s check digits do not match: please look for a typing mistake."
        in response.content.decode()
    )
    assert OrganisationSettings.for_site(site).iban == ""


def test_editor_adds_a_footer_link(editor_client, home, about):
    site = home.get_site()
    data = {
        "footer_links-TOTAL_FORMS": "1",
        "footer_links-INITIAL_FORMS": "0",
        "footer_links-MIN_NUM_FORMS": "0",
        "footer_links-MAX_NUM_FORMS": "1000",
        "footer_links-0-page": str(about.pk),
        "footer_links-0-url": "",
        "footer_links-0-label": "",
        "footer_links-0-locale": "",
        "footer_links-0-ORDER": "1",
        "footer_links-0-id": "",
        "footer_links-0-DELETE": "",
    }

    response = editor_client.post(settings_url(NavigationSettings, site), data)

    assert response.status_code == 302
    assert list(FooterLink.objects.values_list("page_id", flat=True)) == [about.pk]
