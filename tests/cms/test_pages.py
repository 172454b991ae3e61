"""Pages as visitors see them: languages, navigation, legal pages, error pages."""

import datetime
import re

import pytest
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import connection
from django.shortcuts import render
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.models import PageViewRestriction

from cms.models import FooterLink, NavigationSettings
from tests.factories.cms import ContentPageFactory, translate_page

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_home_page_renders_in_english_at_the_root(client, home):
    html = html_of(client.get("/"))

    assert '<html lang="en"' in html
    assert "Social media that belongs to everyone" in html
    assert "Skip to main content" in html


def test_home_page_renders_in_german_under_de(client, german_home):
    html = html_of(client.get("/de/"))

    assert '<html lang="de"' in html
    assert "Soziale Medien, die allen gehören" in html
    assert "Zum Hauptinhalt springen" in html
    assert ">Anmelden<" in html


def test_page_has_landmarks_and_a_skip_link_to_main(client, about):
    html = html_of(client.get("/"))

    assert re.search(r'<a class="skip-link" href="#main">', html)
    assert '<main id="main" class="site-main" tabindex="-1">' in html
    assert '<header class="site-header">' in html
    assert '<footer class="site-footer">' in html
    assert '<nav class="main-nav" aria-label="Main">' in html
    assert '<nav class="language-switcher" aria-label="Language">' in html


def test_stylesheet_is_served_from_this_site_and_nothing_from_outside(client, about, organisation):
    html = html_of(client.get("/about-us/"))

    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert set(re.findall(r'(?:src|href)="(?:https?:)?//([^/"]+)', html)) <= {"testserver"}


def test_content_page_renders_title_intro_and_body(client, about):
    about.body = [("paragraph", "<p>We pay the people who build the fediverse.</p>")]
    about.save_revision().publish()

    html = html_of(client.get("/about-us/"))

    assert "<h1" in html and "About us" in html
    assert "A short lead paragraph." in html
    assert "We pay the people who build the fediverse." in html


def test_language_switcher_links_to_the_translation(client, about, german_about):
    html = html_of(client.get("/about-us/"))

    assert re.search(
        r'<a class="language-switcher__link" href="/de/ueber-uns/" lang="de" hreflang="de">Deutsch</a>', html
    )


def test_language_switcher_links_back_from_the_translation(client, about, german_about):
    html = html_of(client.get("/de/ueber-uns/"))

    assert re.search(r'href="/about-us/" lang="en" hreflang="en">English</a>', html)
    assert re.search(r'href="/de/ueber-uns/" lang="de" hreflang="de" aria-current="true">Deutsch</a>', html)


def test_language_switcher_falls_back_to_the_other_home_page_without_a_translation(
    client, transparency, german_home
):
    html = html_of(client.get("/transparency/"))

    assert re.search(r'href="/de/" lang="de" hreflang="de">Deutsch</a>', html)


def test_language_switcher_ignores_a_draft_translation(client, about):
    translate_page(about, "de", title="Über uns", slug="ueber-uns", publish=False)

    html = html_of(client.get("/about-us/"))

    assert re.search(r'href="/de/" lang="de" hreflang="de">Deutsch</a>', html)


def test_head_names_the_translations_as_alternates(client, about, german_about):
    html = html_of(client.get("/about-us/"))

    assert '<link rel="alternate" hreflang="en" href="http://testserver/about-us/">' in html
    assert '<link rel="alternate" hreflang="de" href="http://testserver/de/ueber-uns/">' in html


def test_head_names_no_alternate_for_a_missing_translation(client, transparency, german_home):
    html = html_of(client.get("/transparency/"))

    assert 'hreflang="en" href="http://testserver/transparency/"' in html
    assert '<link rel="alternate" hreflang="de"' not in html


def test_main_menu_lists_live_pages_marked_for_menus_in_the_visitors_language(client, about, german_about):
    ContentPageFactory(parent=about.get_parent(), title="Hidden from menus", show_in_menus=False)

    english = html_of(client.get("/"))
    german = html_of(client.get("/de/"))

    assert re.search(r'<a class="main-nav__link" href="/about-us/">About us</a>', english)
    assert "Hidden from menus" not in english
    assert re.search(r'<a class="main-nav__link" href="/de/ueber-uns/">Über uns</a>', german)
    assert "About us" not in german


def test_main_menu_leaves_out_drafts_and_private_pages(client, home, about):
    draft = ContentPageFactory(parent=home, title="Coming soon")
    draft.unpublish()
    private = ContentPageFactory(parent=home, title="Board only")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)

    html = html_of(client.get("/"))

    assert "About us" in html
    assert "Coming soon" not in html
    assert "Board only" not in html


def test_main_menu_marks_the_current_page(client, about):
    html = html_of(client.get("/about-us/"))

    assert 'href="/about-us/" aria-current="page">About us</a>' in html


def test_menu_and_footer_queries_do_not_grow_with_the_number_of_pages(client, home, about, imprint, privacy):
    client.get("/")  # warm caches (content types, site root paths)
    with CaptureQueriesContext(connection) as few_pages:
        client.get("/")
    for number in range(6):
        ContentPageFactory(parent=home, title=f"Menu page {number}")
    client.get("/")
    with CaptureQueriesContext(connection) as many_pages:
        html = html_of(client.get("/"))

    assert "Menu page 5" in html
    assert len(many_pages) == len(few_pages)


def test_footer_shows_the_organisation_and_links_to_imprint_and_privacy(
    client, imprint, privacy, organisation
):
    html = html_of(client.get("/"))
    footer = html[html.index('<footer class="site-footer">') :]

    assert "Fediverse Commons gGmbH" in footer
    assert "Oranienstraße 183<br>10999 Berlin<br>Germany<br>" in footer
    assert '<a href="/imprint/">Imprint</a>' in footer
    assert '<a href="/privacy/">Privacy notice</a>' in footer


def test_footer_links_to_the_german_imprint_and_privacy_notice_on_german_pages(
    client, german_imprint, german_privacy, organisation
):
    html = html_of(client.get("/de/"))
    footer = html[html.index('<footer class="site-footer">') :]

    assert '<a href="/de/impressum/">Impressum</a>' in footer
    assert '<a href="/de/datenschutz/">Datenschutzerklärung</a>' in footer
    assert "Deutschland" in footer


def test_footer_shows_extra_links_in_order_and_only_for_their_language(
    client, about, german_about, organisation
):
    navigation = NavigationSettings.for_site(organisation.site)
    FooterLink.objects.create(navigation=navigation, sort_order=2, page=about)
    FooterLink.objects.create(
        navigation=navigation, sort_order=1, url="https://example.org/jobs", label="Jobs", locale=about.locale
    )

    english = html_of(client.get("/"))
    german = html_of(client.get("/de/"))

    assert english.index('<a href="https://example.org/jobs">Jobs</a>') < english.index(
        '<li><a href="/about-us/">About us</a></li>'
    )
    assert "Jobs" not in german
    assert '<li><a href="/de/ueber-uns/">Über uns</a></li>' in german


def test_header_shows_the_organisations_short_name(client, home, organisation):
    html = html_of(client.get("/"))

    assert '<span class="brand__name">Fediverse Commons</span>' in html
    assert "<title>Home · Fediverse Commons</title>" in html


def test_anonymous_visitor_sees_log_in_and_sign_up(client, home):
    html = html_of(client.get("/"))

    assert f'href="{reverse("account_login")}">Log in</a>' in html
    assert f'href="{reverse("account_signup")}">Sign up</a>' in html
    assert "My account" not in html


def test_logged_in_visitor_sees_my_account_and_log_out(client, home, make_user):
    client.force_login(make_user())

    html = html_of(client.get("/"))

    assert f'href="{reverse("accounts:profile")}">My account</a>' in html
    assert f'href="{reverse("account_logout")}">Log out</a>' in html
    assert "Sign up" not in html


def test_imprint_shows_the_legal_identity_from_the_settings(client, imprint, organisation):
    html = html_of(client.get("/imprint/"))

    for fact in [
        "Fediverse Commons gGmbH",
        "Oranienstraße 183",
        "10999 Berlin",
        "Amtsgericht Charlottenburg, HRB 123456 B",
        "Lena Hoffmann, Tomás Reyes",
        "Finanzamt für Körperschaften I Berlin, 27/123/45678",
        "DE123456788",
        'href="mailto:hello@fediverse-commons.example"',
        "+49 30 12345678",
        "Responsible for the content according to § 18 (2) MStV",
        "Lena Hoffmann<br>Oranienstraße 183<br>10999 Berlin",
        "dated March 14, 2025 for the assessment period 2021–2023",
    ]:
        assert fact in html, fact


def test_german_imprint_is_in_german(client, german_imprint, organisation):
    html = html_of(client.get("/de/impressum/"))

    assert "Angaben gemäß § 5 DDG" in html
    assert "Verantwortlich für den Inhalt nach § 18 Abs. 2 MStV" in html
    assert "Freistellungsbescheid vom 14. März 2025 für den Veranlagungszeitraum 2021–2023" in html


def test_imprint_names_the_section_60a_determination_when_there_is_no_exemption_notice(
    client, imprint, organisation
):
    organisation.exemption_notice_date = None
    organisation.exemption_period_start_year = organisation.exemption_period_end_year = None
    organisation.section_60a_determination_date = datetime.date(2024, 6, 3)
    organisation.save()

    html = html_of(client.get("/imprint/"))

    assert "determined on June 3, 2024 that our statutes meet the requirements" in html


def test_imprint_renders_its_optional_body_after_the_identity(client, imprint, organisation):
    imprint.body = [("heading", {"text": "Liability for links", "level": "h2"})]
    imprint.save_revision().publish()

    html = html_of(client.get("/imprint/"))

    assert html.index("Information according to § 5 DDG") < html.index("Liability for links")


def test_privacy_notice_names_the_controller_from_the_settings(client, privacy, organisation):
    html = html_of(client.get("/privacy/"))

    assert "Controller" in html
    assert "Fediverse Commons gGmbH" in html
    assert "Oranienstraße 183" in html
    assert "Represented by the managing directors: Lena Hoffmann, Tomás Reyes" in html


def test_unknown_address_shows_the_404_page_in_the_site_design(client, home, organisation):
    response = client.get("/no-such-page/")
    html = response.content.decode()

    assert response.status_code == 404
    assert "Page not found" in html
    assert 'class="skip-link"' in html
    assert '<footer class="site-footer">' in html
    assert "Fediverse Commons" in html


def test_404_page_is_in_german_under_de(client, german_home):
    response = client.get("/de/keine-seite/")

    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


def test_500_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")

    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert '<main id="main"' in html
    assert "Something went wrong on our side" in html


def test_messages_are_shown_in_a_status_region(home):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.user = AnonymousUser()
    messages.success(request, "Thank you for your support!")

    html = render(request, "base.html").content.decode()

    assert re.search(
        r'<div class="messages container" role="status">\s*<ul class="messages__list" role="list">', html
    )
    assert '<li class="message message--success">Thank you for your support!</li>' in html
