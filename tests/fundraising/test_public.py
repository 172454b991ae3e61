"""What the public sees of patrons: the supporters wall, the patron figures block and the SVG badges."""

import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from wagtail.models import Page, Site

from cms.blocks import BodyBlock
from cms.models import SupportersPage, TiersPage
from fundraising import badges, public
from fundraising.models import Interval, Kind, Patron, Patronage
from tests.factories.cms import HomePageFactory
from tests.factories.fundraising import PatronageFactory, PatronFactory, TierFactory

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    with translation.override("en"):
        yield
    cache.clear()


@pytest.fixture
def home(db):
    page = HomePageFactory(parent=Page.get_first_root_node())
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def supporters_page(home):
    page = SupportersPage(title="Our supporters", slug="supporters")
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def listed(listing=Patron.Listing.NAME, **fields):
    return PatronFactory(listing=listing, **fields)


def one_time_gift(patron, *, days_ago, amount=Decimal("20.00")):
    return PatronageFactory(
        patron=patron,
        tier=None,
        kind=Kind.DONATION,
        amount=amount,
        interval=Interval.ONCE,
        status=Patronage.Status.PAID,
        stripe_subscription_id=None,
        started_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


# --- Supporters wall ------------------------------------------------------------------------


def test_wall_lists_only_patrons_who_opted_in_with_the_label_they_chose(client, supporters_page):
    tier = TierFactory(name="Supporter")
    PatronageFactory(tier=tier, patron=listed(name="Ada Lovelace", public_name="Ada L."))
    PatronageFactory(
        tier=tier, patron=listed(Patron.Listing.HANDLE, fediverse_handle="@grace@example.social")
    )
    PatronageFactory(tier=tier, patron=PatronFactory(name="Anonymous Andrea"))
    PatronageFactory(tier=tier, patron=listed(name="Erased Erin", erased_at=timezone.now()))
    PatronageFactory(tier=tier, patron=listed(name="Former Fiona"), status=Patronage.Status.CANCELED)

    html = client.get("/supporters/").content.decode()

    assert "Ada L." in html
    assert "Ada Lovelace" not in html
    assert "@grace@example.social" in html
    for hidden in ("Anonymous Andrea", "Erased Erin", "Former Fiona"):
        assert hidden not in html


def test_wall_links_fediverse_handles_to_the_profile(client, supporters_page):
    PatronageFactory(patron=listed(Patron.Listing.HANDLE, fediverse_handle="grace@example.social"))

    html = client.get("/supporters/").content.decode()

    assert ('<li><a href="https://example.social/@grace" rel="nofollow">@grace@example.social</a>') in html


def test_wall_shows_the_amount_only_when_the_patron_chose_to(client, supporters_page):
    tier = TierFactory(monthly_amount=Decimal("5.00"))
    PatronageFactory(tier=tier, amount=Decimal("5.00"), patron=listed(public_name="Shows", show_amount=True))
    PatronageFactory(tier=tier, amount=Decimal("7.50"), patron=listed(public_name="Hides", show_amount=False))

    html = client.get("/supporters/").content.decode()

    assert "<li>Shows <small>€5 a month</small></li>" in html
    assert "7.50" not in html


def test_wall_groups_by_tier_then_own_amounts_then_recent_one_time_gifts():
    small = TierFactory(name="Friend", sort_order=1)
    large = TierFactory(name="Champion", sort_order=2)
    PatronageFactory(tier=large, patron=listed(public_name="Carla"))
    PatronageFactory(tier=small, patron=listed(public_name="Frank"))
    PatronageFactory(
        tier=None, kind=Kind.DONATION, amount=Decimal("12.00"), patron=listed(public_name="Olga")
    )
    PatronageFactory(
        tier=small, interval=Interval.YEAR, amount=Decimal("50.00"), patron=listed(public_name="Yusuf")
    )
    one_time_gift(listed(public_name="Gita"), days_ago=60)
    one_time_gift(listed(public_name="Long Ago Lars"), days_ago=400)

    wall = public.supporters_wall()

    assert [(group.title, [entry.label for entry in group.entries]) for group in wall] == [
        ("Friend", ["Frank", "Yusuf"]),
        ("Champion", ["Carla"]),
        ("Their own amount", ["Olga"]),
        ("One-time gifts", ["Gita"]),
    ]


def test_wall_is_read_with_one_query_however_many_patrons(django_assert_num_queries):
    tiers = TierFactory.create_batch(3)
    for number in range(30):
        patron = listed(public_name=f"Patron {number}", show_amount=True)
        PatronageFactory(tier=tiers[number % 3], patron=patron)
    for number in range(5):
        one_time_gift(
            listed(Patron.Listing.HANDLE, fediverse_handle=f"@p{number}@example.social"), days_ago=3
        )
    cache.clear()

    with django_assert_num_queries(1):
        wall = public.supporters_wall()

    assert sum(len(group.entries) for group in wall) == 35


def test_wall_is_refreshed_when_a_patron_changes_their_listing(client, supporters_page):
    patron = PatronFactory(public_name="Late Decider")
    PatronageFactory(patron=patron)
    assert "Late Decider" not in client.get("/supporters/").content.decode()

    patron.listing = Patron.Listing.NAME
    patron.save()

    assert "Late Decider" in client.get("/supporters/").content.decode()


# --- Patron figures block -------------------------------------------------------------------


@pytest.fixture
def patronages():
    """Three patrons on 5 + 10 + 120/12 = 25 EUR a month; ended, one-time and USD support does not count."""
    alice = PatronFactory()
    PatronageFactory(patron=alice, amount=Decimal("5.00"), interval=Interval.MONTH)
    PatronageFactory(amount=Decimal("10.00"), interval=Interval.MONTH, status=Patronage.Status.PAST_DUE)
    PatronageFactory(amount=Decimal("120.00"), interval=Interval.YEAR)
    PatronageFactory(amount=Decimal("50.00"), status=Patronage.Status.CANCELED)
    PatronageFactory(amount=Decimal("30.00"), currency="usd")  # counted as a patron, not in the EUR income
    one_time_gift(alice, days_ago=1, amount=Decimal("100.00"))


def render_stats(goal: str, heading: str = "Where we stand") -> str:
    block = BodyBlock().child_blocks["patron_stats"]
    return block.render(
        block.to_python({"heading": heading, "monthly_goal": goal, "goal_text": "Five jobs."})
    )


def test_stats_block_shows_patrons_and_monthly_income_with_yearly_plans_as_a_twelfth(patronages):
    expected_patrons = 4  # alice, the past-due one, the yearly one, the USD one
    expected_income = Decimal("5") + Decimal("10") + Decimal("120") / 12

    html = render_stats("50")

    assert "<h2" in html and "Where we stand" in html
    assert f"<dd>{expected_patrons}</dd>" in html
    assert f"<dd>€{expected_income:.0f}</dd>" in html
    assert "€25 of our monthly goal of €50 (50%)" in html


def test_stats_block_draws_an_accessible_progress_bar_capped_at_the_goal(patronages):
    html = render_stats("20")

    assert '<progress class="patron-stats__progress" max="20" value="20">125%</progress>' in html
    assert "<label" in html  # the bar's name is the sentence with the figures
    assert "€25 of our monthly goal of €20 (125%)" in html


def test_stats_block_is_refreshed_when_a_patronage_changes(patronages):
    assert "€25 of our" in render_stats("50")

    PatronageFactory(amount=Decimal("15.00"))

    assert "€40 of our" in render_stats("50")


def test_stats_block_speaks_german():
    PatronageFactory(amount=Decimal("1234.00"))

    with translation.override("de"):
        html = render_stats("2000")

    assert "1.234\xa0€" in html
    assert "61\xa0%" in html


def test_stats_block_is_offered_to_editors_on_every_page_body():
    assert "patron_stats" in BodyBlock().child_blocks
    assert "patron_stats" in TiersPage.body.field.stream_block.child_blocks


# --- Badges -------------------------------------------------------------------------------


def svg_title(response) -> str:
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    return root.find(f"{SVG}title").text


def test_patrons_badge_is_an_svg_with_the_number_of_active_patrons(client, patronages):
    response = client.get("/badges/patrons.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert svg_title(response) == "patrons: 4"


def test_monthly_badge_shows_the_monthly_recurring_income(client, patronages):
    response = client.get("/badges/monthly.svg")

    assert svg_title(response) == "monthly: €25"


def test_badges_may_be_cached_and_embedded_by_other_sites(client):
    response = client.get("/badges/patrons.svg")

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", "max-age=600"} <= cache_control
    assert response["X-Content-Type-Options"] == "nosniff"  # fine: the content type is right
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies


def test_badges_change_after_a_new_patronage_is_saved(client, patronages):
    assert svg_title(client.get("/badges/patrons.svg")) == "patrons: 4"

    PatronageFactory(amount=Decimal("10.00"))

    assert svg_title(client.get("/badges/patrons.svg")) == "patrons: 5"
    assert svg_title(client.get("/badges/monthly.svg")) == "monthly: €35"


def test_badges_are_cached_on_the_server(client, patronages):
    client.get("/badges/patrons.svg")
    Patronage.objects.update(status=Patronage.Status.CANCELED)  # behind the signals' back

    assert svg_title(client.get("/badges/patrons.svg")) == "patrons: 4"


def test_badge_speaks_german_on_request(client):
    PatronageFactory.create_batch(2, amount=Decimal("1000.00"))

    assert svg_title(client.get("/badges/monthly.svg?lang=de")) == "monatlich: 2.000\xa0€"


def test_badge_text_is_escaped_and_its_width_grows_with_the_text():
    short = ET.fromstring(badges.badge_svg(label="a", value="1"))
    long = ET.fromstring(badges.badge_svg(label="<patrons & friends>", value="7,412"))

    assert long.find(f"{SVG}title").text == "<patrons & friends>: 7,412"
    assert int(long.get("width")) > int(short.get("width"))
    assert long.get("role") == "img"


def test_badge_only_answers_reads(client):
    assert client.post("/badges/patrons.svg").status_code == 405


# --- Formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "language", "expected"),
    [
        ("31250", "en", "€31,250"),
        ("31250", "de", "31.250\xa0€"),
        ("4.50", "en", "€4.50"),
        ("4.50", "de", "4,50\xa0€"),
    ],
)
def test_amounts_drop_cents_only_when_there_are_none(amount, language, expected):
    assert public.money_display(Decimal(amount), "eur", language=language) == expected
