"""The patron's journey in a real browser against the local sandbox: pick a tier, pay, see the support,
download the invoice, change the public listing, cancel; and a one-time gift that gets a donation receipt
which a perk tier never gets."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fundraising.models import DonationReceipt, Patronage, Payment
from tests.factories.fundraising import TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("eager_tasks")]

DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture
def tiers(demo_site, settings, live_server):
    settings.SITE_URL = live_server.url
    TierFactory(slug="supporter", name="Supporter", name_de="Unterstützer:in", monthly_amount=Decimal("5.00"))
    TierFactory(slug="coffee", name="Coffee", kind="donation", monthly_amount=Decimal("3.00"))


def _log_in(page, live_server):
    page.goto(live_server.url + "/accounts/login/")
    page.locator("input[name=login]").fill("patron@example.org")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))


def _pay(page, *, address: bool = False):
    expect(page.get_by_text(re.compile("Sandbox", re.I)).first).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Full name" if address else "Name on card").fill("Erika Mustermann")
    if address:
        page.get_by_label("Address line 1").fill("Musterstraße 1")
        page.get_by_label("Postal code").fill("10115")
        page.get_by_label("City").fill("Berlin")
    page.get_by_role("button", name=re.compile("^(Subscribe|Pay)")).click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()


def test_patron_picks_a_tier_pays_manages_and_cancels(page, live_server, tiers, screenshot):
    from cms.models import TiersPage

    _log_in(page, live_server)
    tiers_page = TiersPage.objects.live().filter(locale__language_code="en").first()
    page.goto(live_server.url + tiers_page.url)
    screenshot(page, "tiers-page")
    page.locator("a[href*='/support/checkout/supporter/']").first.click()
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    screenshot(page, "sandbox-checkout")
    _pay(page)

    page.goto(live_server.url + "/support/mine/")
    expect(page.get_by_text("Supporter").first).to_be_visible()
    expect(page.get_by_text(re.compile("active", re.I)).first).to_be_visible()
    screenshot(page, "my-support")
    payment = Payment.objects.get(patron__user__email="patron@example.org")
    assert payment.kind == "perk" and payment.amount == Decimal("5.00")
    invoice = page.request.get(live_server.url + f"/support/mine/payments/{payment.number}.pdf")
    assert invoice.status == 200 and invoice.body()[:4] == b"%PDF"

    page.get_by_label(re.compile("fediverse handle", re.I)).first.check()
    page.locator("input[name=fediverse_handle]").fill("@erika@social.example")
    page.get_by_role("button", name=re.compile("Save listing choice")).click()
    expect(page.get_by_text(re.compile("saved", re.I)).first).to_be_visible()
    assert payment.patron.__class__.objects.get(pk=payment.patron_id).listing == "handle"

    page.goto(live_server.url + "/support/mine/")
    page.get_by_role("button", name=re.compile("Manage payment, card or tier")).click()
    screenshot(page, "sandbox-portal")
    page.get_by_role("button", name=re.compile("Cancel now")).first.click()
    expect(page.get_by_text(re.compile("cancel", re.I)).first).to_be_visible()
    assert Patronage.objects.get(pk=payment.patronage_id).status == "canceled"
    page.goto(live_server.url + "/support/mine/")
    expect(page.get_by_text(re.compile("ended", re.I)).first).to_be_visible()
    assert not DonationReceipt.objects.exists()  # a perk tier never gets a donation receipt


def test_one_time_gift_gets_a_donation_receipt(page, live_server, tiers, screenshot):
    _log_in(page, live_server)
    page.goto(live_server.url + "/support/checkout/own-amount/?interval=once")
    page.locator("input[name=amount]").fill("25")
    page.get_by_label("Once").check()
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    _pay(page, address=True)
    receipt = DonationReceipt.objects.get()
    assert receipt.total == Decimal("25.00") and receipt.kind == "single"
    page.goto(live_server.url + "/support/mine/")
    link = page.get_by_role("link", name=re.compile(f"Donation receipt {receipt.number}"))
    expect(link).to_be_visible()
    pdf = page.request.get(live_server.url + link.get_attribute("href"))
    assert pdf.status == 200 and pdf.body()[:4] == b"%PDF"
    screenshot(page, "my-support-receipt")
