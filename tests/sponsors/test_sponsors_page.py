"""The public sponsors page: the offer (packages with net price, VAT, benefits and free places), the way to
apply, and the current sponsors; in English at /sponsors/ and in German at /de/sponsors/."""

import datetime
import io
import os
import re
import types
from decimal import Decimal

import pytest
from django.conf.urls.i18n import i18n_patterns
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.http import HttpResponse
from django.urls import include, path
from django.utils import timezone, translation
from PIL import Image
from wagtail import urls as wagtail_urls
from wagtail.models import Page, Site

from cms.models import SponsorsPage
from sponsors.models import SponsorLogo
from tests.cms.test_browser import save_screenshot
from tests.conftest import CHROMIUM_PATH
from tests.factories.cms import HomePageFactory, translate_page
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def site_urls(*, with_application: bool) -> types.ModuleType:
    """The site's people-facing URLs, with or without the application form (``sponsors:apply``)."""
    application = ([path("apply/", lambda request: HttpResponse("Apply"), name="apply")], "sponsors")
    urls = types.ModuleType("sponsors_page_test_urls")
    urls.urlpatterns = i18n_patterns(
        path("accounts/", include("allauth.urls")),
        path("account/", include("accounts.urls")),
        *([path("sponsors/account/", include(application))] if with_application else []),
        path("", include(wagtail_urls)),
        prefix_default_language=False,
    )
    return urls


@pytest.fixture(autouse=True)
def _application_url(settings):
    settings.ROOT_URLCONF = site_urls(with_application=True)


@pytest.fixture
def home(db):
    page = HomePageFactory(parent=Page.get_first_root_node())
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def sponsors_page(home):
    page = SponsorsPage(
        title="Sponsors",
        slug="sponsors",
        intro="<p>Companies that fund open social media.</p>",
        outro="<p>Questions? Write to sponsors@example.org.</p>",
    )
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def german_sponsors_page(home, sponsors_page):
    translate_page(home, "de", slug="startseite", title="Startseite")
    return translate_page(sponsors_page, "de", title="Sponsoren")


@pytest.fixture
def gold():
    return PackageFactory(
        slug="gold",
        name="Gold",
        name_de="Gold (Deutsch)",
        description="Your logo on every page.",
        description_de="Ihr Logo auf jeder Seite.",
        price=Decimal("6000.00"),
        rank=2,
        on_home_page=True,
        on_sponsors_page=True,
        in_footer=True,
        logo_size="l",
        links_to_sponsor=True,
        mentioned_in_announcements=True,
    )


def page_html(client, url="/sponsors/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def card(html: str, slug: str) -> str:
    """The text of one package's card: from its opening tag to the next card or the note below them."""
    marker = f'<li class="package-card" id="package-{slug}">'
    assert marker in html, f"no card for {slug}"
    rest = html.split(marker, 1)[1]
    return re.sub(r"\s+", " ", re.split(r'<li class="package-card"|<p class="packages__note">', rest)[0])


def placed_sponsor(package, *, size=(300, 100), **fields):
    """A sponsor with an approved logo and a paid sponsorship of ``package`` that runs today."""
    sponsor = SponsorFactory(**fields)
    buffer = io.BytesIO()
    Image.new("RGB", size, "#3730a3").save(buffer, format="PNG")
    logo = SponsorLogo(sponsor=sponsor, status=SponsorLogo.Status.APPROVED, reviewed_at=timezone.now())
    logo.image.save("logo.png", ContentFile(buffer.getvalue()), save=False)
    logo.width, logo.height = size
    logo.save()
    SponsorshipFactory(
        sponsor=sponsor, package=package, status="active", start_date=TODAY, end_date=TODAY + DAY
    )
    return sponsor


def seat(package, *, status="active"):
    return SponsorshipFactory(
        package=package, status=status, start_date=TODAY - DAY, end_date=TODAY + 300 * DAY
    )


# --- The offer --------------------------------------------------------------------------------------


def test_offer_lists_the_offered_packages_best_first(client, sponsors_page, gold):
    PackageFactory(slug="platinum", name="Platinum", rank=1, price=Decimal("12000.00"))
    PackageFactory(slug="bronze", name="Bronze", rank=4, price=Decimal("1200.00"))

    html = page_html(client)

    assert html.index(">Platinum<") < html.index(">Gold<") < html.index(">Bronze<")


def test_draft_and_closed_packages_are_not_offered(client, sponsors_page, gold):
    PackageFactory(slug="draft", name="Package In Draft", live=False)
    PackageFactory(slug="closed", name="Package Closed", open_for_applications=False)

    html = page_html(client)

    assert ">Gold<" in html
    assert "Package In Draft" not in html
    assert "Package Closed" not in html


def test_linked_package_shows_its_net_yearly_price_plus_vat(client, sponsors_page, gold):
    text = card(page_html(client), "gold")

    assert "€6,000</span> net per year" in text
    assert "plus 19 % VAT where applicable" in text
    assert "Your logo on every page." in text


def test_passive_package_says_it_carries_no_vat(client, sponsors_page):
    PackageFactory(passive=True, description="Your name and logo, quietly.")

    text = card(page_html(client), "bronze")

    assert "€1,200</span> net per year" in text
    assert "no VAT (passive mention)" in text
    assert "plus 19 % VAT" not in text
    assert "Your name and logo, without a link" in text


def test_monthly_package_shows_its_price_per_month(client, sponsors_page):
    PackageFactory(slug="monthly", price=Decimal("450.00"), price_period="month", duration_months=6)

    text = card(page_html(client), "monthly")

    assert "€450</span> net per month" in text
    assert "For 6 months" in text


def test_card_lists_the_benefits_the_package_grants(client, sponsors_page, gold):
    text = card(page_html(client), "gold")

    for benefit in (
        "For 12 months",
        "Your logo on our home page",
        "Your logo on this page",
        "Your logo in the footer of every page",
        "Logo size: large",
        "Your logo links to your website",
        "Thanks in our announcements",
    ):
        assert benefit in text, benefit


def test_card_leaves_out_benefits_the_package_does_not_grant(client, sponsors_page):
    PackageFactory(slug="plain", on_home_page=False, in_footer=False, mentioned_in_announcements=False)

    text = card(page_html(client), "plain")

    assert "Your logo on this page" in text
    assert "home page" not in text
    assert "footer" not in text
    assert "announcements" not in text


def test_package_with_a_capacity_shows_the_free_places(client, sponsors_page, gold):
    gold.capacity = 4
    gold.save()
    seat(gold, status="active")
    seat(gold, status="approved")  # an approved application holds its place too
    seat(gold, status="rejected")  # holds none

    text = card(page_html(client), "gold")

    assert "2 of 4 places free" in text


def test_fully_booked_package_says_so_and_offers_no_application(client, sponsors_page, gold):
    gold.capacity = 1
    gold.save()
    seat(gold)

    text = card(page_html(client), "gold")

    assert "Fully booked" in text
    assert "/sponsors/account/apply/" not in text


def test_package_without_a_capacity_shows_no_places(client, sponsors_page, gold):
    seat(gold)

    text = card(page_html(client), "gold")

    assert "free" not in text
    assert "Fully booked" not in text


def test_no_offered_package_says_no_new_sponsors_are_taken(client, sponsors_page):
    html = page_html(client)

    assert "We are not taking on new sponsors at the moment." in html
    assert "Become a sponsor" not in html


# --- Applying ---------------------------------------------------------------------------------------


def test_become_a_sponsor_links_to_the_application(client, sponsors_page, gold):
    html = page_html(client)

    assert re.search(
        r'<a class="button button--large" href="/sponsors/account/apply/">Become a sponsor</a>', html
    )
    assert 'href="/sponsors/account/apply/?package=gold"' in card(html, "gold")


def test_page_renders_without_the_application_url(client, settings, sponsors_page, gold):
    settings.ROOT_URLCONF = site_urls(with_application=False)

    html = page_html(client)

    assert ">Gold<" in html
    assert "Become a sponsor" not in html
    assert "/apply/" not in html


# --- Current sponsors, texts and languages -----------------------------------------------------------


def test_current_sponsors_are_shown_by_package(client, sponsors_page, gold):
    placed_sponsor(gold, display_name="Example Hosting")

    html = page_html(client)
    placed = re.search(r'<section[^>]*data-placement="sponsors"[^>]*>(.*?)</section>', html, re.S)

    assert placed is not None
    assert "Our sponsors" in placed[1]
    assert ">Gold<" in placed[1]
    assert 'alt="Example Hosting"' in placed[1]
    assert "No company sponsors us yet" not in html


def test_without_sponsors_the_page_invites_the_first(client, sponsors_page, gold):
    SponsorshipFactory(package=gold, status="invoiced", start_date=TODAY, end_date=TODAY + DAY)

    html = page_html(client)

    assert "No company sponsors us yet. Your logo could be the first one here." in html
    assert 'data-placement="sponsors"' not in html


def test_page_shows_the_editors_introduction_and_closing_text(client, sponsors_page):
    html = page_html(client)

    assert '<h1 class="page-header__title">Sponsors</h1>' in html
    assert "Companies that fund open social media." in html
    assert "Questions? Write to sponsors@example.org." in html


def test_german_page_shows_the_german_offer(client, german_sponsors_page, gold):
    html = page_html(client, "/de/sponsors/")
    text = card(html, "gold")

    assert "Sponsoren" in html
    assert "Gold (Deutsch)" in text
    assert "Ihr Logo auf jeder Seite." in text
    assert "6.000 €</span>" in text  # the amount as Germans write it (no-break space collapsed)
    assert 'href="/de/sponsors/account/apply/?package=gold"' in text


def test_english_page_keeps_the_english_offer_next_to_the_german_one(client, german_sponsors_page, gold):
    text = card(page_html(client, "/sponsors/"), "gold")

    assert ">Gold<" in text
    assert "Deutsch" not in text


def test_each_language_has_at_most_one_sponsors_page(home, sponsors_page, german_sponsors_page):
    german_home = home.get_translation(german_sponsors_page.locale)

    assert not SponsorsPage.can_create_at(home)
    assert not SponsorsPage.can_create_at(german_home)
    assert SponsorsPage.allowed_parent_page_models() == [home.specific_class]
    assert SponsorsPage.allowed_subpage_models() == []


def test_offer_takes_two_queries_whatever_the_number_of_packages(sponsors_page, django_assert_num_queries):
    for rank in range(5):
        package = PackageFactory(slug=f"package-{rank}", rank=rank, capacity=3)
        seat(package)

    with django_assert_num_queries(2):
        packages = sponsors_page.offered_packages()

    assert [package.places_left for package in packages] == [2, 2, 2, 2, 2]


# --- In a real browser ------------------------------------------------------------------------------


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
def test_sponsors_fit_a_phone_and_their_links_show_keyboard_focus(
    page, live_server, german_sponsors_page, gold
):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    bronze = PackageFactory(passive=True, on_home_page=True, in_footer=True, logo_size="s", capacity=3)
    placed_sponsor(gold, display_name="Wide Hosting", size=(800, 200))
    placed_sponsor(gold, display_name="Square Cloud", size=(400, 400))
    placed_sponsor(bronze, display_name="Quiet Servers", size=(300, 200))

    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/", "/sponsors/", "/de/sponsors/"):
        page.goto(live_server.url + url)
        assert page.locator("main h1").is_visible(), url
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    save_screenshot(page, "sponsors-page-mobile")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    link = page.locator('[data-placement="home"] a[rel="sponsored noopener"]').first
    link.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    assert page.locator('[data-placement="home"] img[alt="Quiet Servers"]').is_visible()
    assert page.locator('[data-placement="footer"] img[alt="Wide Hosting"]').is_visible()
    save_screenshot(page, "sponsors-home")
    page.goto(live_server.url + "/sponsors/")
    save_screenshot(page, "sponsors-page")
