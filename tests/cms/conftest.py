"""A small bilingual site: English home as the default site's root, its German translation, an
“About us” page in both languages, a “Transparency” page only in English, imprint and privacy notice
in both languages, and the organisation's settings."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import translation
from wagtail.models import Page, Site

from cms.models import OrganisationSettings
from tests.factories.cms import (
    ContentPageFactory,
    HomePageFactory,
    ImprintPageFactory,
    PrivacyPageFactory,
    translate_page,
)


@pytest.fixture(autouse=True)
def _empty_cache():
    # Wagtail caches the site root paths; each test builds its own tree.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english_until_a_request_says_otherwise():
    # The locale middleware leaves the last request's language active in this thread.
    with translation.override("en"):
        yield


@pytest.fixture
def root(db):
    return Page.get_first_root_node()


@pytest.fixture
def home(root):
    page = HomePageFactory(parent=root)
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def german_home(home):
    return translate_page(
        home, "de", slug="startseite", title="Startseite", hero_heading="Soziale Medien, die allen gehören"
    )


@pytest.fixture
def about(home, german_home):
    return ContentPageFactory(parent=home, title="About us", slug="about-us")


@pytest.fixture
def german_about(about):
    return translate_page(about, "de", title="Über uns", slug="ueber-uns", intro="Wer wir sind.")


@pytest.fixture
def transparency(home):
    """Only in English."""
    return ContentPageFactory(parent=home, title="Transparency", slug="transparency")


@pytest.fixture
def imprint(home):
    return ImprintPageFactory(parent=home, slug="imprint")


@pytest.fixture
def german_imprint(imprint, german_home):
    return translate_page(imprint, "de", title="Impressum", slug="impressum")


@pytest.fixture
def privacy(home):
    return PrivacyPageFactory(parent=home, slug="privacy")


@pytest.fixture
def german_privacy(privacy, german_home):
    return translate_page(privacy, "de", title="Datenschutzerklärung", slug="datenschutz")


@pytest.fixture
def organisation(home):
    settings = OrganisationSettings.for_site(Site.objects.get(is_default_site=True))
    values = {
        "short_name": "Fediverse Commons",
        "legal_name": "Fediverse Commons gGmbH",
        "street": "Oranienstraße 183",
        "postcode": "10999",
        "city": "Berlin",
        "country": "DE",
        "founding_year": 2022,
        "email": "hello@fediverse-commons.example",
        "phone": "+49 30 12345678",
        "register_court": "Amtsgericht Charlottenburg",
        "register_number": "HRB 123456 B",
        "managing_directors": "Lena Hoffmann\nTomás Reyes",
        "content_responsible_person": "Lena Hoffmann\nOranienstraße 183\n10999 Berlin",
        "tax_office": "Finanzamt für Körperschaften I Berlin",
        "tax_number": "27/123/45678",
        "vat_id": "DE123456788",
        "exemption_notice_date": datetime.date(2025, 3, 14),
        "exemption_period_start_year": 2021,
        "exemption_period_end_year": 2023,
        "bank_account_holder": "Fediverse Commons gGmbH",
        "iban": "DE89370400440532013000",
        "bic": "GENODEM1GLS",
        "bank_name": "GLS Gemeinschaftsbank eG",
    }
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings
