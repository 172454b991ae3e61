"""Patron-only updates: everyone reads the title, date and teaser; only patrons with the perk read the body."""

import datetime
import os
import random

import pytest
from django.utils import timezone
from wagtail.rich_text import RichText

from cms import demo
from cms.models import PatronUpdateIndexPage, PatronUpdatePage, TiersPage
from fundraising.models import Patronage
from perks.models import Perk, PerkTier
from perks.services import entitlements_sync
from tests.cms.test_browser import save_screenshot
from tests.conftest import CHROMIUM_PATH
from tests.factories.cms import translate_page
from tests.factories.fundraising import PatronageFactory, PatronFactory, TierFactory

pytestmark = pytest.mark.django_db

SECRET = "We will ship the moderation dashboard in March"
PUBLIC_BODY = "Our first audit report is out"


def add_page(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def body(text: str) -> list:
    return [("paragraph", RichText(f"<p>{text}</p>"))]


@pytest.fixture
def insider_tier():
    tier = TierFactory(slug="insider", name="Insider", name_de="Insider:in", sort_order=2)
    perk = Perk.objects.create(name="Development updates", kind=Perk.Kind.UPDATES)
    PerkTier.objects.create(perk=perk, tier=tier)
    return tier


@pytest.fixture
def tiers_page(home):
    return add_page(home, TiersPage(title="Support us", slug="support-us"))


@pytest.fixture
def index(home):
    return add_page(home, PatronUpdateIndexPage(title="Updates", slug="updates"))


@pytest.fixture
def protected(index):
    return add_page(
        index,
        PatronUpdatePage(
            title="Roadmap for spring",
            slug="roadmap-spring",
            date=datetime.date(2026, 11, 2),
            teaser="What we build next, and why.",
            body=body(SECRET),
        ),
    )


@pytest.fixture
def public_update(index):
    return add_page(
        index,
        PatronUpdatePage(
            title="Audit report",
            slug="audit-report",
            date=datetime.date(2026, 10, 1),
            teaser="An outside look at our code.",
            body=body(PUBLIC_BODY),
            patrons_only=False,
        ),
    )


def patron_with_updates(make_user, tier) -> tuple:
    user = make_user()
    patron = PatronFactory(user=user, email=user.email)
    patronage = PatronageFactory(patron=patron, tier=tier, status=Patronage.Status.ACTIVE, kind="perk")
    entitlements_sync(patronage=patronage, source="test")
    return user, patronage


def html_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitor_sees_title_date_teaser_and_tiers_but_not_the_body(
    client, protected, insider_tier, tiers_page
):
    html = html_of(client, protected.url)

    assert "Roadmap for spring" in html
    assert "What we build next, and why." in html
    assert 'datetime="2026-11-02"' in html
    assert 'href="/support-us/#tier-insider">Insider</a>' in html
    assert SECRET not in html
    assert "moderation dashboard" not in html


def test_logged_in_patron_without_the_perk_does_not_see_the_body(client, make_user, protected, insider_tier):
    other_tier = TierFactory(slug="friend", name="Friend")
    user, _patronage = patron_with_updates(make_user, other_tier)  # a tier without the updates perk
    client.force_login(user)

    html = html_of(client, protected.url)

    assert "What we build next, and why." in html
    assert "Insider" in html
    assert SECRET not in html


def test_patron_with_the_updates_perk_reads_the_body(client, make_user, protected, insider_tier):
    user, _patronage = patron_with_updates(make_user, insider_tier)
    client.force_login(user)

    html = html_of(client, protected.url)

    assert SECRET in html
    assert "This update is for patrons" not in html
    assert 'href="/support/perks/feed/"' in html


def test_patron_whose_perk_is_suspended_is_locked_out_again(client, make_user, protected, insider_tier):
    user, patronage = patron_with_updates(make_user, insider_tier)
    client.force_login(user)
    assert SECRET in html_of(client, protected.url)

    patronage.status = Patronage.Status.PAST_DUE
    patronage.payment_failed_at = timezone.now() - datetime.timedelta(days=30)  # grace period over
    patronage.save()
    entitlements_sync(patronage=patronage, source="test")

    html = html_of(client, protected.url)
    assert SECRET not in html
    assert "What we build next, and why." in html


def test_protected_post_is_not_cached_for_everyone(client, protected):
    response = client.get(protected.url)

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "private" in cache_control
    assert "public" not in cache_control
    assert "Cookie" in response["Vary"]


def test_public_post_shows_its_body_to_everyone(client, public_update):
    html = html_of(client, public_update.url)

    assert PUBLIC_BODY in html
    assert "private" not in client.get(public_update.url).get("Cache-Control", "")


def test_meta_description_of_a_protected_post_is_the_teaser(client, protected):
    protected.search_description = SECRET
    protected.save_revision().publish()

    html = html_of(client, protected.url)

    assert '<meta name="description" content="What we build next, and why.">' in html
    assert SECRET not in html


def test_search_finds_a_protected_post_by_its_teaser_but_never_by_its_body(protected, public_update):
    assert list(PatronUpdatePage.objects.live().search("moderation dashboard")) == []
    assert [page.pk for page in PatronUpdatePage.objects.live().search("build next")] == [protected.pk]
    # A public post's body is searchable, so the protected body is left out on purpose, not by accident.
    assert [page.pk for page in PatronUpdatePage.objects.live().search("first audit")] == [public_update.pk]


def test_staff_preview_shows_the_body(protected):
    response = protected.make_preview_request()

    assert SECRET in response.content.decode()


def test_index_lists_updates_newest_first_without_bodies(client, index, protected, public_update):
    html = html_of(client, index.url)

    assert html.index("Roadmap for spring") < html.index("Audit report")
    assert "An outside look at our code." in html
    assert SECRET not in html
    assert PUBLIC_BODY not in html
    assert "For patrons" in html


def test_index_leaves_out_drafts(client, index, protected):
    draft = PatronUpdatePage(title="Not ready", slug="not-ready", teaser="Soon.", body=body("Draft text"))
    index.add_child(instance=draft)
    draft.unpublish()

    assert "Not ready" not in html_of(client, index.url)


def test_german_update_names_the_tier_in_german(client, german_home, index, protected, insider_tier):
    translate_page(index, "de", title="Neuigkeiten", slug="neuigkeiten")
    german = translate_page(
        protected, "de", title="Fahrplan für den Frühling", teaser="Was wir als Nächstes bauen."
    )

    html = html_of(client, german.url)

    assert german.url.startswith("/de/")
    assert "Was wir als Nächstes bauen." in html
    assert "Insider:in" in html
    assert SECRET not in html


# --- In a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": ["--no-sandbox", "--headless=new", "--disable-gpu"],
        "headless": True,
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_visitor_sees_the_teaser_and_a_patron_reads_the_update_in_a_browser(page, live_server, make_user):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    demo.seed(rng=random.Random(1), today=datetime.date(2026, 11, 1), real_kinds=(), log=lambda m: None)
    tier = TierFactory(slug="insider", name="Insider", name_de="Insider:in")
    perk = Perk.objects.create(name="Development updates", kind=Perk.Kind.UPDATES)
    PerkTier.objects.create(perk=perk, tier=tier)
    user, _patronage = patron_with_updates(make_user, tier)
    body_text = "shared report queue"

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/updates/winter-roadmap/")
    assert page.locator("main h1").inner_text() == "Roadmap for the winter: moderation tools first"
    assert page.get_by_role("heading", name="This update is for patrons").is_visible()
    assert page.get_by_role("link", name="Insider").is_visible()
    assert body_text not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(page, "perks-update-teaser-mobile")

    from django.test import Client

    session = Client()
    session.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/updates/winter-roadmap/")
    assert page.get_by_text(body_text).is_visible()
    feed_link = page.get_by_role("link", name="Get the updates for patrons in your feed reader")
    feed_link.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    save_screenshot(page, "perks-update-patron")
