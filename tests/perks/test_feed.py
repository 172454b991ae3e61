"""The private Atom feed of updates: a secret URL per patron, full posts while the perk is active."""

import datetime
import xml.etree.ElementTree as ElementTree

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from cms.models import PatronUpdateIndexPage, PatronUpdatePage
from fundraising.models import Patronage
from perks.models import FeedToken, Perk, PerkTier
from perks.services import entitlements_sync
from tests.factories.cms import HomePageFactory, translate_page
from tests.factories.fundraising import PatronageFactory, PatronFactory, TierFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SECRET = "The moderation dashboard ships in March"
PUBLIC_BODY = "Our first audit report is out"


@pytest.fixture(autouse=True)
def _clean_cache_and_language():
    cache.clear()  # Wagtail caches the site root paths; each test builds its own tree
    with translation.override("en"):
        yield
    cache.clear()


def add_page(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def body(text: str) -> list:
    return [("paragraph", RichText(f"<p>{text}</p>"))]


@pytest.fixture
def home(db):
    page = HomePageFactory(parent=Page.get_first_root_node())
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def index(home):
    return add_page(home, PatronUpdateIndexPage(title="Updates", slug="updates"))


@pytest.fixture
def updates(index):
    protected = add_page(
        index,
        PatronUpdatePage(
            title="Roadmap for spring",
            slug="roadmap",
            date=datetime.date(2026, 11, 2),
            teaser="What we build next.",
            body=body(SECRET),
        ),
    )
    public = add_page(
        index,
        PatronUpdatePage(
            title="Audit report",
            slug="audit",
            date=datetime.date(2026, 10, 1),
            teaser="An outside look.",
            body=body(PUBLIC_BODY),
            patrons_only=False,
        ),
    )
    return protected, public


@pytest.fixture
def insider_tier():
    tier = TierFactory(slug="insider", name="Insider")
    perk = Perk.objects.create(name="Development updates", kind=Perk.Kind.UPDATES)
    PerkTier.objects.create(perk=perk, tier=tier)
    return tier


@pytest.fixture
def patronage(make_user, insider_tier):
    user = make_user()
    patron = PatronFactory(user=user, email=user.email)
    patronage = PatronageFactory(
        patron=patron, tier=insider_tier, status=Patronage.Status.ACTIVE, kind="perk"
    )
    entitlements_sync(patronage=patronage, source="test")
    return patronage


@pytest.fixture
def patron_client(client, patronage):
    client.force_login(patronage.patron.user)
    return client


def feed_path(token: str) -> str:
    return f"/feeds/updates/{token}.atom"


def token_of(patronage) -> str:
    return FeedToken.objects.get(patron=patronage.patron).token


def feed_entries(client, token: str) -> dict[str, str]:
    """Title -> the entry's full content, as a feed reader would show it."""
    response = client.get(feed_path(token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    return {
        entry.findtext(f"{ATOM}title"): entry.findtext(f"{ATOM}content") or ""
        for entry in root.findall(f"{ATOM}entry")
    }


def test_feed_page_needs_a_login(client):
    response = client.get("/support/perks/feed/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_feed_page_shows_the_private_feed_address(patron_client, patronage):
    response = patron_client.get("/support/perks/feed/")

    token = token_of(patronage)
    assert response.status_code == 200
    assert f'value="http://testserver/feeds/updates/{token}.atom"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_feed_page_keeps_the_same_address_on_every_visit(patron_client, patronage):
    patron_client.get("/support/perks/feed/")
    first = token_of(patronage)
    patron_client.get("/support/perks/feed/")

    assert token_of(patronage) == first


def test_feed_with_a_valid_token_has_the_full_posts(patron_client, patronage, updates):
    patron_client.get("/support/perks/feed/")

    entries = feed_entries(Client(), token_of(patronage))

    assert list(entries) == ["Roadmap for spring", "Audit report"]
    assert SECRET in entries["Roadmap for spring"]
    assert PUBLIC_BODY in entries["Audit report"]


def test_feed_with_an_unknown_token_is_not_found(client, updates):
    assert client.get(feed_path("not-a-real-token-at-all-0123456789")).status_code == 404


def test_revoking_stops_the_old_address_and_the_new_one_works(patron_client, patronage, updates):
    patron_client.get("/support/perks/feed/")
    old = token_of(patronage)

    response = patron_client.post("/support/perks/feed/revoke/")

    new = token_of(patronage)
    assert response.status_code == 302
    assert new != old
    assert Client().get(feed_path(old)).status_code == 404
    assert SECRET in feed_entries(Client(), new)["Roadmap for spring"]
    assert new in patron_client.get("/support/perks/feed/").content.decode()


def test_revoking_needs_a_post_with_a_csrf_token(patronage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patronage.patron.user)
    client.get("/support/perks/feed/")
    old = token_of(patronage)

    assert client.get("/support/perks/feed/revoke/").status_code == 405
    assert client.post("/support/perks/feed/revoke/").status_code == 403
    assert token_of(patronage) == old


def test_feed_of_a_suspended_patron_shows_only_teasers_of_patron_posts(patron_client, patronage, updates):
    patron_client.get("/support/perks/feed/")
    patronage.status = Patronage.Status.PAST_DUE
    patronage.payment_failed_at = timezone.now() - datetime.timedelta(days=30)  # grace period over
    patronage.save()
    entitlements_sync(patronage=patronage, source="test")

    entries = feed_entries(Client(), token_of(patronage))

    assert SECRET not in entries["Roadmap for spring"]
    assert "What we build next." in entries["Roadmap for spring"]
    assert PUBLIC_BODY in entries["Audit report"]


def test_feed_of_an_erased_patron_is_not_found(patron_client, patronage, updates):
    patron_client.get("/support/perks/feed/")
    token = token_of(patronage)
    patronage.patron.erased_at = timezone.now()
    patronage.patron.save()

    assert Client().get(feed_path(token)).status_code == 404


def test_feed_is_in_the_patrons_language(patron_client, patronage, home, index, updates):
    translate_page(home, "de", slug="startseite", title="Startseite")
    translate_page(index, "de", slug="neuigkeiten", title="Neuigkeiten")
    translate_page(
        updates[0], "de", title="Fahrplan für den Frühling", body=body("Das Dashboard kommt im März")
    )
    patronage.patron.language = "de"
    patronage.patron.save()
    patron_client.get("/support/perks/feed/")

    entries = feed_entries(Client(), token_of(patronage))

    assert list(entries) == ["Fahrplan für den Frühling"]
    assert "Das Dashboard kommt im März" in entries["Fahrplan für den Frühling"]


def test_logged_in_person_without_patron_record_is_told_the_feed_is_for_patrons(client, make_user):
    client.force_login(make_user())

    response = client.get("/support/perks/feed/")

    assert response.status_code == 200
    assert "The updates feed is for patrons." in response.content.decode()
    assert not FeedToken.objects.exists()
