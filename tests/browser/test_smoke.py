"""The main journeys of the foundation, in a real browser: read, sign up, verify, log in, staff MFA."""

import re

import pyotp
import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_home_page_in_english_and_german(page, live_server, demo_site, screenshot):
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_be_visible()
    screenshot(page, "home-en")
    page.goto(live_server.url + "/de/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("link", name=re.compile("Anmelden|Einloggen"))).to_be_visible()
    screenshot(page, "home-de")


def test_home_page_is_usable_on_a_phone(page, live_server, demo_site, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    expect(page.locator("main h1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "home-mobile")


def test_keyboard_user_reaches_main_content_with_the_skip_link(page, live_server, demo_site):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"


def test_sign_up_verify_and_log_in(page, live_server, demo_site, screenshot):
    page.goto(live_server.url + "/accounts/signup/")
    page.locator("input[name=email]").fill("new.patron@example.org")
    page.locator("input[name=password1]").fill("a-long-enough-pass-2026")
    page.locator("input[name=password2]").fill("a-long-enough-pass-2026")
    screenshot(page, "signup")
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_text(re.compile("Verify Your Email Address", re.I)).first).to_be_visible()

    link = re.search(r"http://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace(re.match(r"http://[^/]+", link).group(0), live_server.url))
    page.get_by_role("button", name=re.compile("Confirm", re.I)).click()
    page.goto(live_server.url + "/account/")
    expect(page.get_by_text("new.patron@example.org")).to_be_visible()

    page.get_by_role("button", name=re.compile("Log out", re.I)).click()
    page.goto(live_server.url + "/accounts/login/")
    page.locator("input[name=login]").fill("new.patron@example.org")
    page.locator("input[name=password]").fill("a-long-enough-pass-2026")
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    page.goto(live_server.url + "/account/")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def test_finance_user_must_set_up_mfa_before_the_admin_opens(
    page, live_server, make_user, password, screenshot
):
    user = make_user("patron", "finance")
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    # The admin does not open: the finance user is sent to set up an authenticator app first
    # (allauth asks for the password once more before showing the secret).
    expect(page).to_have_url(
        re.compile(r"/accounts/(reauthenticate/\?next=%2Faccounts%2F2fa%2Ftotp%2Factivate|2fa/totp/activate)")
    )
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(
        re.compile(r"/accounts/(reauthenticate/\?next=%2Faccounts%2F2fa%2Ftotp%2Factivate|2fa/totp/activate)")
    )
    if "reauthenticate" in page.url:
        page.locator("input[name=password]").fill(password)
        page.get_by_role("button", name=re.compile("Confirm", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    screenshot(page, "staff-mfa-setup")

    secret = page.locator("input[name=secret], #authenticator_secret, [data-secret]").first.input_value()
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=re.compile("Activate", re.I)).click()
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    screenshot(page, "admin-dashboard")
