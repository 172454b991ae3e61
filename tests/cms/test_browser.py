"""The public site in a real browser: phone widths, keyboard focus, and no JavaScript needed."""

import datetime
import os
import random
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cms import demo
from tests.conftest import CHROMIUM_PATH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SEEDED_PATHS = [
    "/",
    "/about-us/",
    "/transparency/",
    "/imprint/",
    "/privacy/",
    "/de/",
    "/de/ueber-uns/",
    "/de/transparenz/",
    "/de/impressum/",
    "/de/datenschutz/",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": ["--no-sandbox", "--headless=new", "--disable-gpu"],
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def seeded_site():
    demo.seed(
        rng=random.Random(1), today=datetime.date(2026, 11, 1), real_kinds=frozenset(), log=lambda m: None
    )


def save_screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_every_page_fits_a_phone_screen_without_sideways_scrolling(page, live_server, seeded_site):
    page.set_viewport_size({"width": 390, "height": 844})
    for path in SEEDED_PATHS:
        page.goto(live_server.url + path)
        expect(page.locator("main h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(live_server.url + "/about-us/")
    save_screenshot(page, "cms-about-mobile")


def test_keyboard_focus_shows_a_thick_outline(page, live_server, seeded_site):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the site name, linking home

    outline = page.evaluate(
        "(() => { const style = getComputedStyle(document.activeElement);"
        " return [style.outlineStyle, parseFloat(style.outlineWidth)]; })()"
    )
    assert page.evaluate("document.activeElement.className") == "brand"
    assert outline[0] == "solid" and outline[1] >= 2


def test_skip_link_moves_the_keyboard_to_the_main_content(page, live_server, seeded_site):
    page.goto(live_server.url + "/about-us/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"


def test_site_works_without_javascript(browser, live_server, seeded_site):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/de/")

    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Transparenz").click()
    expect(page.locator("main h1")).to_have_text("Transparenz")
    page.get_by_text("Ausführliche Beschreibung dieser Abbildung").click()
    expect(page.get_by_text("Ideeller Bereich: Spenden ohne Gegenleistung")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Transparency")
    save_screenshot(page, "cms-transparency-no-javascript")
    context.close()
