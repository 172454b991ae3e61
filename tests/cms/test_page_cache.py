"""Whole public pages kept for visitors without a session (cms/page_cache.py): who gets a copy, what is never
kept, and that every kind of change shows at once."""

from decimal import Decimal

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory

from cms import page_cache
from cms.models import PatronUpdateIndexPage, PatronUpdatePage, TiersPage
from tests.factories.fundraising import TierFactory

pytestmark = pytest.mark.django_db

HIT = page_cache.HEADER


def add_page(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def get_twice(client, path):
    """The first rendering of a site also creates its settings row, which counts as a change: warm up once."""
    first = client.get(path)
    client.get(path)
    second = client.get(path)
    return first, second


def test_a_visitor_without_a_session_gets_the_same_page_from_the_cache(client, about):
    first, second = get_twice(client, "/about-us/")

    assert first.status_code == second.status_code == 200
    assert HIT not in first
    assert second[HIT] == "hit"
    assert second.content == first.content
    assert "About us" in second.content.decode()


def test_a_copy_keeps_the_security_and_language_headers(client, german_about):
    first, second = get_twice(client, "/de/ueber-uns/")

    assert second[HIT] == "hit"
    for header in ("Content-Type", "Content-Language", "X-Frame-Options", "Content-Security-Policy"):
        assert second[header] == first[header], header
    assert second["Content-Language"] == "de"


def test_each_language_has_its_own_copy(client, about, german_about):
    get_twice(client, "/about-us/")
    german = client.get("/de/ueber-uns/")

    assert "Über uns" in german.content.decode()
    assert client.get("/de/ueber-uns/")[HIT] == "hit"


def test_publishing_a_change_shows_on_the_next_request(client, about):
    get_twice(client, "/about-us/")

    about.title = "About the gGmbH"
    about.save_revision().publish()

    response = client.get("/about-us/")
    assert HIT not in response
    assert "About the gGmbH" in response.content.decode()


def test_a_saved_draft_is_not_shown(client, about):
    get_twice(client, "/about-us/")
    about.title = "Unpublished title"
    about.save_revision()

    assert "Unpublished title" not in client.get("/about-us/").content.decode()


def test_unpublishing_removes_the_page_at_once(client, about):
    get_twice(client, "/about-us/")

    about.unpublish()

    assert client.get("/about-us/").status_code == 404


def test_a_new_tier_shows_on_the_tiers_page_at_once(client, home):
    add_page(home, TiersPage(title="Support us", slug="support-us", intro="<p>Choose.</p>"))
    TierFactory(slug="friend", name="Friend", monthly_amount=Decimal("5.00"))
    get_twice(client, "/support-us/")

    TierFactory(slug="champion", name="Champion", monthly_amount=Decimal("50.00"))

    response = client.get("/support-us/")
    assert HIT not in response
    assert "Champion" in response.content.decode()


def test_a_logged_in_visitor_never_gets_a_copy(client, about, django_user_model, password):
    client.get("/about-us/")
    user = django_user_model.objects.create_user("reader", "reader@example.org", password)
    client.force_login(user)

    response = client.get("/about-us/")

    assert HIT not in response
    assert "My account" in response.content.decode()


def test_a_visitor_with_pending_messages_is_served_fresh(client, about):
    get_twice(client, "/about-us/")
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.INFO, "Your gift was received.")])

    response = client.get("/about-us/")

    assert HIT not in response
    assert "Your gift was received." in response.content.decode()


def test_a_query_string_is_never_served_from_the_cache(client, about):
    get_twice(client, "/about-us/")

    assert HIT not in client.get("/about-us/?utm_source=newsletter")


def test_a_page_with_a_form_is_never_kept(client, home):
    # The log-in page carries a CSRF token and sets its cookie: a copy would hand one visitor's token to all.
    first, second = get_twice(client, "/accounts/login/")

    assert first.status_code == 200
    assert HIT not in second


def test_a_patron_only_update_is_never_kept(client, home):
    index = add_page(home, PatronUpdateIndexPage(title="Updates", slug="updates"))
    add_page(
        index,
        PatronUpdatePage(title="Road map", slug="road-map", teaser="What comes next.", patrons_only=True),
    )

    first, second = get_twice(client, "/updates/road-map/")

    assert first.status_code == 200
    assert HIT not in second


def test_not_found_is_never_kept(client, home):
    first, second = get_twice(client, "/no-such-page/")

    assert second.status_code == 404
    assert HIT not in second


def test_the_cache_can_be_switched_off(client, about, settings):
    settings.PAGE_CACHE_SECONDS = 0

    _first, second = get_twice(client, "/about-us/")

    assert HIT not in second


def test_a_copy_in_the_shared_cache_serves_another_process(client, about):
    get_twice(client, "/about-us/")
    page_cache._local.clear()  # as if another gunicorn worker: only the shared cache has the page

    response = client.get("/about-us/")

    assert response[HIT] == "hit"
    assert "About us" in response.content.decode()


def test_without_the_shared_cache_pages_are_rendered(client, about, monkeypatch):
    get_twice(client, "/about-us/")

    def unavailable(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(page_cache, "versions_digest", unavailable)

    response = client.get("/about-us/")
    assert response.status_code == 200
    assert HIT not in response


def test_the_operators_command_makes_every_kept_page_stale(client, about):
    from django.core.management import call_command

    get_twice(client, "/about-us/")
    about.title = "Changed behind the signals' back"
    type(about).objects.filter(pk=about.pk).update(title=about.title)

    assert "behind the signals" not in client.get("/about-us/").content.decode()  # still the kept copy
    call_command("page_cache_clear")
    assert "behind the signals" in client.get("/about-us/").content.decode()


def test_a_change_made_in_another_process_shows_within_the_grace_period(client, about, settings):
    import time

    from django.core.cache import cache

    from fundraising import public

    settings.PAGE_CACHE_VERSION_SECONDS = 0.3
    get_twice(client, "/about-us/")

    cache.set(public.VERSION_KEY, "changed-by-a-worker", None)  # not through this process's bump()

    assert client.get("/about-us/")[HIT] == "hit"  # still trusted for up to 0.3 s
    time.sleep(0.35)
    assert HIT not in client.get("/about-us/")  # the new version: rendered afresh


def test_a_change_made_in_this_process_shows_at_once_despite_the_grace_period(client, about, settings):
    settings.PAGE_CACHE_VERSION_SECONDS = 60
    get_twice(client, "/about-us/")

    about.title = "Renamed just now"
    about.save_revision().publish()

    assert "Renamed just now" in client.get("/about-us/").content.decode()
