"""The tiers page: every offered tier as a card with links to the checkout, cacheable, refreshed on change."""

import datetime
import os
import random
from decimal import Decimal

import pytest

from cms import demo
from cms.models import ContentPage, HomePage, SupportersPage, TiersPage
from fundraising import public
from fundraising.models import Kind, Patronage, Tier
from tests.cms.test_browser import save_screenshot
from tests.conftest import CHROMIUM_PATH
from tests.factories.cms import translate_page
from tests.factories.fundraising import PatronageFactory, PatronFactory, TierFactory

pytestmark = pytest.mark.django_db


def add_page(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def tiers_page(home):
    return add_page(
        home, TiersPage(title="Support us", slug="support-us", intro="<p>Choose how you help.</p>")
    )


@pytest.fixture
def supporter():
    return TierFactory(
        slug="supporter",
        name="Supporter",
        name_de="Unterstützer:in",
        description="Our thanks and a custom emoji.",
        monthly_amount=Decimal("5.00"),
        yearly_amount=Decimal("50.00"),
        sort_order=1,
    )


def page_html(client, url="/support-us/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_tiers_page_shows_every_offered_tier_in_order(client, tiers_page, supporter):
    TierFactory(
        slug="friend", name="Friend", monthly_amount=Decimal("2.00"), yearly_amount=None, sort_order=0
    )
    TierFactory(slug="champion", name="Champion", monthly_amount=Decimal("50.00"), sort_order=2)

    html = page_html(client)

    assert html.index("Friend") < html.index("Supporter") < html.index("Champion")
    assert "Our thanks and a custom emoji." in html
    assert "€5</span> a month" in html
    assert "or €50 a year" in html


def test_tiers_page_hides_draft_and_withdrawn_tiers(client, tiers_page, supporter):
    TierFactory(slug="draft", name="Tier still in draft", live=False)
    TierFactory(slug="withdrawn", name="Tier no longer offered", active=False)

    html = page_html(client)

    assert "Supporter" in html
    assert "Tier still in draft" not in html
    assert "Tier no longer offered" not in html


def test_each_card_links_to_the_checkout_with_its_interval(client, tiers_page, supporter):
    TierFactory(slug="friend", name="Friend", yearly_amount=None)

    html = page_html(client)

    assert 'href="/support/checkout/supporter/?interval=month"' in html
    assert 'href="/support/checkout/supporter/?interval=year"' in html
    assert 'href="/support/checkout/friend/?interval=month"' in html
    assert "/support/checkout/friend/?interval=year" not in html


def test_own_amount_and_one_time_gift_link_to_the_free_checkout_with_the_minimum(
    client, tiers_page, settings
):
    settings.PATRON_MIN_AMOUNT = Decimal("3.00")

    html = page_html(client)

    assert 'href="/support/checkout/own-amount/?interval=month"' in html
    assert 'href="/support/checkout/own-amount/?interval=once"' in html
    assert 'From <span class="tier-card__amount">€3</span> a month' in html


def test_perk_and_donation_tiers_say_what_they_are(client, tiers_page, supporter):
    TierFactory(slug="donor", name="Donor", kind=Kind.DONATION, sort_order=2)

    html = page_html(client)
    supporter_card = html[html.index('id="tier-supporter"') : html.index('id="tier-donor"')]
    donor_card = html[html.index('id="tier-donor"') : html.index('id="tier-own-amount"')]

    assert "Perk tier" in supporter_card
    assert "tax-deductible donation" in supporter_card  # the “no perks” choice at checkout
    assert "Tax-deductible donation" in donor_card
    assert "Perk tier" not in donor_card


def test_limited_tier_shows_the_slots_left_counting_running_patronages_only(client, tiers_page):
    limited = TierFactory(slug="sponsor", name="Sponsor", slot_limit=3)
    PatronageFactory.create_batch(2, tier=limited)
    PatronageFactory(tier=limited, status=Patronage.Status.CANCELED)

    html = page_html(client)

    assert "1 of 3 slots left" in html
    assert 'href="/support/checkout/sponsor/?interval=month"' in html


def test_full_tier_shows_no_checkout_link(client, tiers_page):
    limited = TierFactory(slug="sponsor", name="Sponsor", slot_limit=1)
    PatronageFactory(tier=limited)

    html = page_html(client)

    assert "0 of 1 slot left" in html
    assert "All slots are taken" in html
    assert "/support/checkout/sponsor/" not in html


def test_page_carries_no_form_and_no_csrf_token(client, tiers_page, supporter):
    response = client.get("/support-us/")
    html = response.content.decode()

    assert "<form" not in html
    assert "csrfmiddlewaretoken" not in html
    assert "csrftoken" not in response.cookies


def test_tier_cards_are_cached_between_requests(client, tiers_page, supporter):
    page_html(client)
    Tier.objects.filter(pk=supporter.pk).update(name="Changed behind the cache's back")

    assert "Changed behind the cache" not in page_html(client)


def test_publishing_a_new_tier_name_refreshes_the_page(client, tiers_page, supporter):
    assert "Supporter" in page_html(client)

    supporter.name = "Sustaining supporter"
    supporter.save_revision().publish()

    assert "Sustaining supporter" in page_html(client)


def test_unpublishing_a_tier_removes_its_card(client, tiers_page, supporter):
    assert "Supporter" in page_html(client)

    supporter.unpublish()

    assert "Supporter" not in page_html(client)


def test_a_new_patronage_refreshes_the_slots_left(client, tiers_page):
    limited = TierFactory(slug="sponsor", name="Sponsor", slot_limit=5)
    assert "5 of 5 slots left" in page_html(client)

    PatronageFactory(tier=limited)

    assert "4 of 5 slots left" in page_html(client)


def test_publishing_the_tiers_page_refreshes_the_cached_figures(tiers_page):
    before = public.cache_version()

    tiers_page.save_revision().publish()

    assert public.cache_version() != before


def test_german_page_shows_german_names_amounts_and_links(client, tiers_page, german_home, supporter):
    translate_page(tiers_page, "de", title="Unterstützen", slug="unterstuetzen")

    html = page_html(client, "/de/unterstuetzen/")

    assert "Unterstützer:in" in html
    assert "5\xa0€" in html  # CLDR: the amount, a no-break space, the sign
    assert 'href="/de/support/checkout/supporter/?interval=month"' in html


def test_tiers_page_links_to_the_supporters_wall(client, home, tiers_page):
    add_page(home, SupportersPage(title="Our supporters", slug="supporters"))

    assert 'href="/supporters/"' in page_html(client)


def test_tiers_page_lives_under_a_home_page_without_subpages():
    assert TiersPage.parent_page_types == ["cms.HomePage"]
    assert TiersPage.subpage_types == []
    assert TiersPage.can_create_at(HomePage()) is True
    assert ContentPage.can_create_at(TiersPage()) is False


def test_only_one_tiers_page_per_home_page(tiers_page, home):
    assert TiersPage.can_create_at(home) is False


def test_demo_seeds_the_tiers_and_supporters_pages_in_english_and_german(client):
    TierFactory(slug="supporter", name="Supporter", name_de="Unterstützer:in")
    for _ in range(2):  # idempotent
        demo.seed(rng=random.Random(1), today=datetime.date(2026, 11, 1), log=lambda message: None)

    assert TiersPage.objects.live().count() == 2
    assert SupportersPage.objects.live().count() == 2
    for path, texts in [
        ("/support-us/", ["Support us", "Supporter", "Where we stand", 'href="/supporters/"']),
        (
            "/de/unterstuetzen/",
            ["Unterstützen", "Unterstützer:in", "Wo wir stehen", "/de/unterstuetzer-innen/"],
        ),
        ("/supporters/", ["Our supporters", "Together"]),
        ("/de/unterstuetzer-innen/", ["Unsere Unterstützer:innen", "Gemeinsam"]),
    ]:
        html = page_html(client, path)
        for text in texts:
            assert text in html, (path, text)


# --- In a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": ["--no-sandbox", "--headless=new", "--disable-gpu"],
        "headless": True,
    }


@pytest.fixture
def seeded_patrons():
    demo.seed(rng=random.Random(1), today=datetime.date(2026, 11, 1), log=lambda message: None)
    friend = TierFactory(slug="friend", name="Friend", name_de="Freund:in", monthly_amount=Decimal("3.00"))
    TierFactory(slug="supporter", name="Supporter", name_de="Unterstützer:in", sort_order=1)
    TierFactory(
        slug="donor", name="Monthly donor", name_de="Monatliche Spende", kind=Kind.DONATION, sort_order=2
    )
    sponsor = TierFactory(
        slug="server-sponsor",
        name="Server sponsor with a long name",
        name_de="Serverpatenschaftsunterstützer:in",
        monthly_amount=Decimal("250.00"),
        yearly_amount=Decimal("2500.00"),
        slot_limit=10,
        sort_order=3,
    )
    PatronageFactory.create_batch(3, tier=sponsor)
    PatronageFactory(
        tier=friend,
        patron=PatronFactory(listing="handle", fediverse_handle="@averyveryverylongname@social.example.org"),
    )
    PatronageFactory(
        tier=friend, patron=PatronFactory(listing="name", public_name="Ada L.", show_amount=True)
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_tiers_and_supporters_pages_fit_a_phone_and_show_keyboard_focus(page, live_server, seeded_patrons):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/support-us/", "/de/unterstuetzen/", "/supporters/", "/de/unterstuetzer-innen/"):
        page.goto(live_server.url + path)
        assert page.locator("main h1").is_visible(), path
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(live_server.url + "/support-us/")
    save_screenshot(page, "patrons-tiers-mobile")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/support-us/")
    link = page.locator('a[href="/support/checkout/friend/?interval=month"]')
    link.focus()
    outline = page.evaluate("(() => getComputedStyle(document.activeElement).outlineStyle)()")
    assert outline == "solid"
    assert page.locator("progress").get_attribute("max") == "40000"
    save_screenshot(page, "patrons-tiers")
    page.goto(live_server.url + "/supporters/")
    save_screenshot(page, "patrons-supporters")
