"""The demo seeder builds the bilingual site once, whatever the number of runs."""

import datetime
import random

import pytest
from wagtail.models import Page, Site

from cms import demo
from cms.models import (
    ContentPage,
    EmojiGalleryPage,
    GrantsPage,
    HomePage,
    ImprintPage,
    OrganisationSettings,
    PatronUpdateIndexPage,
    PatronUpdatePage,
    PrivacyPage,
)

pytestmark = pytest.mark.django_db


def run_seed():
    demo.seed(
        rng=random.Random(1),
        today=datetime.date(2026, 11, 1),
        real_kinds=frozenset(),
        log=lambda message: None,
    )


def test_seeding_twice_gives_the_same_pages():
    run_seed()
    first = sorted(Page.objects.values_list("url_path", "locale__language_code", "live"))
    run_seed()

    assert sorted(Page.objects.values_list("url_path", "locale__language_code", "live")) == first
    assert len(first) == 29  # root + 14 pages (home, 10 under it, 3 updates) in each of two languages


def test_seeding_replaces_wagtails_welcome_page_with_the_home_page():
    run_seed()

    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    assert site.root_page.locale.language_code == "en"
    assert not Page.objects.filter(title="Welcome to your new Wagtail site!").exists()


def test_seeded_site_has_every_page_in_english_and_german():
    run_seed()

    for model, count in [
        (HomePage, 2),
        (ContentPage, 4),
        (ImprintPage, 2),
        (PrivacyPage, 2),
        (PatronUpdateIndexPage, 2),
        (PatronUpdatePage, 6),
        (EmojiGalleryPage, 2),
        (GrantsPage, 2),
    ]:
        languages = sorted(model.objects.live().values_list("locale__language_code", flat=True))
        assert languages == sorted(["en", "de"] * (count // 2)), model


def test_seeded_pages_are_served_in_both_languages(client):
    run_seed()

    for path, text in [
        ("/", "Social media that belongs to everyone"),
        ("/de/", "Soziale Medien, die allen gehören"),
        ("/about-us/", "Public money, public code"),
        ("/de/ueber-uns/", "Öffentliches Geld, öffentlicher Code"),
        ("/transparency/", "Our tax status"),
        ("/de/transparenz/", "Unsere Steuerbegünstigung"),
        ("/imprint/", "HRB 123456 B"),
        ("/de/impressum/", "HRB 123456 B"),
        ("/privacy/", "Your rights"),
        ("/de/datenschutz/", "Ihre Rechte"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert text in response.content.decode(), path


def test_seeded_updates_are_one_public_post_and_two_for_patrons_in_each_language():
    run_seed()

    for language in ("en", "de"):
        updates = PatronUpdatePage.objects.live().filter(locale__language_code=language)
        assert sorted(updates.values_list("patrons_only", flat=True)) == [False, True, True], language


def test_seeded_updates_and_gallery_are_served_in_both_languages(client):
    run_seed()

    for path, text in [
        ("/updates/", "Roadmap for the winter: moderation tools first"),
        ("/de/neuigkeiten/", "Fahrplan für den Winter: zuerst die Moderation"),
        ("/updates/faster-timelines/", "rewrote the query behind the home timeline"),
        ("/de/neuigkeiten/schnellere-zeitleisten/", "die Abfrage hinter der Startseite neu geschrieben"),
        ("/updates/winter-roadmap/", "What we build from November to February"),
        ("/de/neuigkeiten/fahrplan-winter/", "Was wir von November bis Februar bauen"),
        ("/emoji/", "Custom emoji"),
        ("/de/emoji/", "Eigene Emoji"),
        ("/grants/", "Current grants"),
        ("/de/grants/", "Förderungen"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert text in response.content.decode(), path


def test_seeded_patron_update_keeps_its_body_from_visitors(client):
    run_seed()

    html = client.get("/de/neuigkeiten/fahrplan-winter/").content.decode()

    assert "Was wir von November bis Februar bauen" in html
    assert "gemeinsamen Meldeliste" not in html


def test_seeded_menu_shows_about_and_transparency(client):
    run_seed()

    html = client.get("/de/").content.decode()

    assert 'href="/de/ueber-uns/">Über uns</a>' in html
    assert 'href="/de/transparenz/">Transparenz</a>' in html


def test_seeded_organisation_settings_are_valid():
    run_seed()

    settings = OrganisationSettings.objects.get()
    settings.full_clean()
    assert settings.legal_name == "Fediverse Commons gGmbH"
    assert settings.logo is not None


def test_seeding_keeps_an_editors_changes_to_a_page():
    run_seed()
    about = ContentPage.objects.get(slug="about-us")
    about.intro = "Edited by an editor."
    about.save_revision().publish()

    run_seed()

    assert ContentPage.objects.get(slug="about-us").intro == "Edited by an editor."


@pytest.mark.django_db(transaction=True)
def test_seeding_works_on_a_flushed_database(client):
    # Transactional tests flush every table, including the root page, site and locales that
    # Wagtail's migrations created.
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)

    run_seed()

    assert client.get("/de/").status_code == 200
    assert HomePage.objects.count() == 2
