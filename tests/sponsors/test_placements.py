"""Sponsors' logos on the site: only paid sponsorships within their dates, only where the package grants it,
with or without a link as the package says, rotated fairly each day, scaled to equal area, cached and
refreshed on any change."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.template import Context, Template
from django.utils import timezone, translation
from PIL import Image
from wagtail.models import Page, Site

from cms.models import SponsorsPage
from sponsors.models import SponsorLogo
from sponsors.placements import placements
from tests.factories.cms import HomePageFactory
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
PLACES = {"home", "sponsors", "footer"}


@pytest.fixture(autouse=True)
def _empty_cache():
    # Wagtail's site root paths and the placement fragments live in the cache; each test starts afresh.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def home(db):
    page = HomePageFactory(parent=Page.get_first_root_node())
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def sponsors_page(home):
    page = SponsorsPage(title="Sponsors", slug="sponsors", intro="<p>Thank you.</p>")
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def everywhere():
    """A package with a link whose logos go on the home page, the sponsors page and in the footer."""
    return PackageFactory(slug="gold", name="Gold", on_home_page=True, on_sponsors_page=True, in_footer=True)


def png(size=(200, 100)) -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#0f766e").save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="logo.png")


def add_logo(sponsor, *, size=(200, 100), status=SponsorLogo.Status.APPROVED, reviewed_at=None):
    logo = SponsorLogo(sponsor=sponsor, status=status)
    if status != SponsorLogo.Status.PENDING:
        logo.reviewed_at = reviewed_at or timezone.now()
    logo.image.save("logo.png", png(size), save=False)
    logo.width, logo.height = size  # as sponsors.services.logo_upload records them
    logo.save()
    return logo


def sponsorship(package, *, status="active", start=None, end=None, logo_size=(200, 100), **sponsor_fields):
    """A sponsorship of ``package`` (active from a month ago for a year unless told) whose sponsor has an
    approved logo."""
    sponsor = SponsorFactory(**sponsor_fields)
    add_logo(sponsor, size=logo_size)
    return SponsorshipFactory(
        sponsor=sponsor,
        package=package,
        status=status,
        start_date=start or TODAY - 30 * DAY,
        end_date=end or TODAY + 300 * DAY,
    )


def page_html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


SECTION = re.compile(r'<section[^>]*data-placement="(?P<where>\w+)"[^>]*>(?P<html>.*?)</section>', re.S)
IMAGE = re.compile(
    r'<img src="(?P<src>[^"]*)" alt="(?P<alt>[^"]*)" width="(?P<width>\d+)" height="(?P<height>\d+)"'
)


def sections(html: str) -> dict[str, str]:
    """The placement sections of a page, by place."""
    return {match["where"]: match["html"] for match in SECTION.finditer(html)}


def site_sections(client) -> dict[str, str]:
    """Every placement a visitor can see: home page and footer from /, the sponsors page from /sponsors/."""
    found = sections(page_html(client, "/"))
    found.update(sections(page_html(client, "/sponsors/")))
    return found


def places_of(name: str, found: dict[str, str]) -> set[str]:
    return {where for where, html in found.items() if f'alt="{name}"' in html}


def logos(html: str) -> list[dict]:
    return [match.groupdict() for match in IMAGE.finditer(html)]


# --- Which sponsorships show, and where ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "start", "end"),
    [
        pytest.param("invoiced", TODAY - 30 * DAY, TODAY + 300 * DAY, id="unpaid"),
        pytest.param("active", TODAY + DAY, TODAY + 365 * DAY, id="future"),
        pytest.param("active", TODAY - 365 * DAY, TODAY - DAY, id="expired"),
        pytest.param("cancelled", TODAY - 30 * DAY, TODAY + 300 * DAY, id="cancelled"),
        pytest.param("ended", TODAY - 30 * DAY, TODAY + 300 * DAY, id="ended"),
        pytest.param("rejected", TODAY - 30 * DAY, TODAY + 300 * DAY, id="rejected"),
        pytest.param("approved", TODAY - 30 * DAY, TODAY + 300 * DAY, id="approved"),
        pytest.param("draft", TODAY - 30 * DAY, TODAY + 300 * DAY, id="draft"),
    ],
)
def test_sponsorship_not_paid_or_outside_its_dates_shows_nowhere(
    client, sponsors_page, everywhere, status, start, end
):
    sponsorship(everywhere, display_name="Paid Hosting")
    sponsorship(everywhere, status=status, start=start, end=end, display_name="Not Placed")

    found = site_sections(client)

    assert places_of("Paid Hosting", found) == PLACES  # the pages do show sponsors
    assert places_of("Not Placed", found) == set()
    assert "Not Placed" not in page_html(client, "/") + page_html(client, "/sponsors/")


@pytest.mark.parametrize(
    ("on_home_page", "on_sponsors_page", "in_footer", "expected"),
    [
        (False, True, True, {"sponsors", "footer"}),
        (True, False, False, {"home"}),
        (True, True, False, {"home", "sponsors"}),
        (False, False, True, {"footer"}),
        (True, True, True, PLACES),
    ],
)
def test_active_sponsorship_shows_exactly_where_its_package_grants(
    client, sponsors_page, on_home_page, on_sponsors_page, in_footer, expected
):
    package = PackageFactory(
        slug="silver", on_home_page=on_home_page, on_sponsors_page=on_sponsors_page, in_footer=in_footer
    )
    sponsorship(package, display_name="Placed Hosting")

    assert places_of("Placed Hosting", site_sections(client)) == expected


def test_sponsor_without_an_approved_logo_shows_nowhere(client, sponsors_page, everywhere):
    sponsor = SponsorFactory(display_name="Logo In Review")
    add_logo(sponsor, status=SponsorLogo.Status.PENDING)
    add_logo(sponsor, status=SponsorLogo.Status.REJECTED)
    SponsorshipFactory(
        sponsor=sponsor, package=everywhere, status="active", start_date=TODAY - DAY, end_date=TODAY + DAY
    )

    html = page_html(client, "/") + page_html(client, "/sponsors/")

    assert "Logo In Review" not in html
    assert 'data-placement="home"' not in html


def test_the_latest_approved_logo_is_shown(client, home, everywhere):
    placed = sponsorship(everywhere, display_name="Rebranded")
    older = placed.sponsor.logos.get()
    newer = add_logo(placed.sponsor, reviewed_at=timezone.now() + datetime.timedelta(minutes=5))
    add_logo(placed.sponsor, status=SponsorLogo.Status.PENDING)  # waiting for review: not yet

    home_logos = logos(sections(page_html(client, "/"))["home"])

    assert [logo["src"] for logo in home_logos] == [newer.image.url]
    assert older.image.url != newer.image.url


def test_nothing_is_rendered_without_placements(client, sponsors_page, everywhere):
    sponsorship(everywhere, status="invoiced", display_name="Unpaid Hosting")

    html = page_html(client, "/")

    assert "data-placement" not in html
    assert "Our sponsors" not in html
    assert "sponsor-logo" not in html


def test_a_sponsor_with_two_placed_packages_appears_once_in_the_better_one(home):
    gold = PackageFactory(slug="gold", name="Gold", rank=1)
    silver = PackageFactory(slug="silver", name="Silver", rank=2)
    placed = sponsorship(silver, display_name="Twice Booked")
    SponsorshipFactory(
        sponsor=placed.sponsor, package=gold, status="active", start_date=TODAY - DAY, end_date=TODAY + DAY
    )

    groups = placements(where="home")

    assert [(group.package.name, [s.display_name for s in group.sponsors]) for group in groups] == [
        ("Gold", ["Twice Booked"])
    ]


# --- Links ------------------------------------------------------------------------------------------


def test_linked_package_links_the_logo_with_rel_sponsored_noopener(client, home, everywhere):
    sponsorship(everywhere, display_name="Linked Hosting", website="https://linked.example.com/")

    home_html = sections(page_html(client, "/"))["home"]

    link = re.search(
        r'<a class="sponsor-logo" href="([^"]*)" rel="([^"]*)" target="_blank">(.*?)</a>', home_html
    )
    assert link is not None
    assert link[1] == "https://linked.example.com/"
    assert link[2] == "sponsored noopener"
    assert 'alt="Linked Hosting"' in link[3]
    assert "(opens in a new tab)" in link[3]


def test_passive_package_shows_the_logo_without_any_link(client, sponsors_page):
    passive = PackageFactory(passive=True, on_home_page=True, on_sponsors_page=True, in_footer=True)
    sponsorship(passive, display_name="Passive Hosting", website="https://passive.example.com/")

    found = site_sections(client)

    assert places_of("Passive Hosting", found) == PLACES
    for html in found.values():
        assert "<a" not in html
        assert "passive.example.com" not in html


def test_website_that_is_not_http_gets_no_link(client, home, everywhere):
    sponsorship(everywhere, display_name="Odd Website", website="javascript:alert(1)")

    home_html = sections(page_html(client, "/"))["home"]

    assert 'alt="Odd Website"' in home_html
    assert "<a" not in home_html
    assert "javascript:" not in home_html


# --- Order, rotation, size --------------------------------------------------------------------------


def test_packages_are_ordered_by_rank_then_price(client, home):
    bronze = PackageFactory(slug="bronze", name="Bronze", rank=3)
    gold = PackageFactory(slug="gold", name="Gold", rank=1, price=Decimal("5000.00"))
    platinum = PackageFactory(slug="platinum", name="Platinum", rank=1, price=Decimal("9000.00"))
    for package in (bronze, gold, platinum):
        sponsorship(package, display_name=f"{package.name} Sponsor")

    names = [logo["alt"] for logo in logos(sections(page_html(client, "/"))["home"])]

    assert names == ["Platinum Sponsor", "Gold Sponsor", "Bronze Sponsor"]


def test_rotation_is_the_same_for_every_visitor_on_a_day(client, home, everywhere):
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        sponsorship(everywhere, display_name=name)

    first = [logo["alt"] for logo in logos(sections(page_html(client, "/"))["home"])]
    cache.clear()  # another visitor, rendered anew
    second = [logo["alt"] for logo in logos(sections(page_html(client, "/"))["home"])]

    assert sorted(first) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert second == first


def test_rotation_moves_everyone_up_one_place_each_day(everywhere):
    placed = [sponsorship(everywhere, display_name=name) for name in ("Alpha", "Bravo", "Charlie")]
    by_id = [s.sponsor.display_name for s in sorted(placed, key=lambda s: s.sponsor_id)]
    days = [TODAY + offset * DAY for offset in range(3)]

    orders = {day: [s.display_name for s in placements(where="sponsors", on=day)[0].sponsors] for day in days}

    for day in days:  # expected: the sponsors by id, turned by the day's ordinal number
        turn = day.toordinal() % 3
        assert orders[day] == by_id[turn:] + by_id[:turn]
    assert len({tuple(order) for order in orders.values()}) == 3
    assert sorted(order[0] for order in orders.values()) == ["Alpha", "Bravo", "Charlie"]  # each leads once


def test_logos_in_a_package_cover_equal_areas(client, home, everywhere):
    sponsorship(everywhere, display_name="Wide Logo", logo_size=(400, 100))
    sponsorship(everywhere, display_name="Square Logo", logo_size=(100, 100))

    shown = {logo["alt"]: logo for logo in logos(sections(page_html(client, "/"))["home"])}

    wide, square = shown["Wide Logo"], shown["Square Logo"]
    wide_area = int(wide["width"]) * int(wide["height"])
    square_area = int(square["width"]) * int(square["height"])
    assert abs(wide_area - square_area) / square_area < 0.05
    assert int(wide["width"]) / int(wide["height"]) == pytest.approx(4, rel=0.05)
    assert int(square["width"]) == int(square["height"])


def test_larger_packages_show_larger_logos(home):
    extra_large = PackageFactory(slug="platinum", rank=1, logo_size="xl")
    small = PackageFactory(slug="bronze", rank=3, logo_size="s")
    sponsorship(extra_large, display_name="Big", logo_size=(100, 100))
    sponsorship(small, display_name="Small", logo_size=(100, 100))

    big, little = (group.sponsors[0] for group in placements(where="home"))

    assert big.width * big.height > 3 * little.width * little.height


# --- Cache ------------------------------------------------------------------------------------------


def render(where: str) -> str:
    return Template("{% load sponsor_tags %}{% sponsor_placements where %}").render(Context({"where": where}))


def test_placements_are_rendered_from_the_cache_until_something_changes(
    home, everywhere, django_assert_num_queries
):
    sponsorship(everywhere, display_name="Cached Hosting")
    first = render("home")

    with django_assert_num_queries(0):
        again = render("home")

    assert again == first
    assert 'alt="Cached Hosting"' in first


def test_a_new_logo_shows_on_the_next_request(client, home, everywhere):
    placed = sponsorship(everywhere, display_name="New Look")
    before = sections(page_html(client, "/"))["home"]

    new_logo = add_logo(
        placed.sponsor, size=(300, 100), reviewed_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    after = sections(page_html(client, "/"))["home"]

    assert new_logo.image.url not in before
    assert [logo["src"] for logo in logos(after)] == [new_logo.image.url]


def test_a_cancelled_sponsorship_disappears_on_the_next_request(client, home, everywhere):
    placed = sponsorship(everywhere, display_name="Leaving Soon")
    assert 'alt="Leaving Soon"' in page_html(client, "/")

    placed.cancel(reason="The company closed.")

    assert "Leaving Soon" not in page_html(client, "/")


def test_a_package_change_shows_on_the_next_request(client, home, everywhere):
    sponsorship(everywhere, display_name="Moved Out Of Footer")
    assert places_of("Moved Out Of Footer", sections(page_html(client, "/"))) == {"home", "footer"}

    everywhere.in_footer = False
    everywhere.save()

    assert places_of("Moved Out Of Footer", sections(page_html(client, "/"))) == {"home"}


def test_the_fragment_is_cached_per_language(home, everywhere):
    everywhere.name_de = "Gold (de)"
    everywhere.save()
    sponsorship(everywhere, display_name="Bilingual")

    english = render("home")
    with translation.override("de"):
        german = render("home")

    assert ">Gold<" in english
    assert ">Gold (de)<" in german


# --- Cost and safety ------------------------------------------------------------------------------


def test_placements_take_at_most_two_queries(everywhere, django_assert_max_num_queries):
    silver = PackageFactory(slug="silver", rank=3)
    bronze = PackageFactory(passive=True, on_sponsors_page=True)
    for package in (everywhere, silver, bronze):
        for _ in range(3):
            sponsorship(package)

    with django_assert_max_num_queries(2):
        groups = placements(where="sponsors")
        urls = [sponsor.logo_url for group in groups for sponsor in group.sponsors]

    assert len(urls) == 9


def test_rendering_the_placements_takes_at_most_two_queries(everywhere, django_assert_max_num_queries):
    for _ in range(5):
        sponsorship(everywhere)

    with django_assert_max_num_queries(2):
        html = render("sponsors")

    assert html.count("<img") == 5


def test_a_company_name_with_markup_is_escaped(client, sponsors_page, everywhere):
    sponsorship(everywhere, display_name="<script>alert(1)</script>")

    html = page_html(client, "/") + page_html(client, "/sponsors/")

    assert "<script>alert(1)</script>" not in html
    assert html.count('alt="&lt;script&gt;alert(1)&lt;/script&gt;"') == 4  # home, footer twice, sponsors


def test_an_unknown_place_is_refused():
    with pytest.raises(ValueError, match="Unknown placement"):
        placements(where="sidebar")
