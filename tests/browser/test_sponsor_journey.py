"""The sponsor's journey in a real browser against the local sandbox: a company applies with its logo,
finance approves (the invoice is issued), the company pays by card in the sandbox, the logo appears on
the home page with a sponsored link."""

import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from ledger.models import Posting
from sponsors.models import Invoice, Sponsorship
from tests.factories.sponsors import PackageFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("eager_tasks")]


def _log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.fixture
def gold(demo_site, settings, live_server):
    settings.SITE_URL = live_server.url
    return PackageFactory(
        slug="gold",
        name="Gold",
        name_de="Gold",
        price=Decimal("6000.00"),
        on_home_page=True,
        on_sponsors_page=True,
        links_to_sponsor=True,
        rank=2,
    )


def _logo(tmp_path):
    picture = Image.new("RGBA", (600, 200), (255, 255, 255, 0))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((10, 10, 590, 190), radius=30, fill=(14, 92, 140, 255))
    draw.ellipse((40, 50, 140, 150), fill=(255, 200, 60, 255))
    path = tmp_path / "elbe-datenwerk.png"
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_company_applies_finance_approves_company_pays_logo_appears(
    page, live_server, gold, make_user, tmp_path, screenshot
):
    company_user = make_user(email="anna@elbe-datenwerk.example")
    _log_in(page, live_server, company_user)

    # The company applies.
    page.goto(live_server.url + "/sponsors/account/apply/")
    page.get_by_label("Legal name of the company").fill("Elbe Datenwerk GmbH")
    page.get_by_label("Name to show on our site").fill("Elbe Datenwerk")
    page.get_by_label("Website").fill("https://elbe-datenwerk.example/")
    page.get_by_label("Street and number").fill("Am Sandtorkai 5")
    page.get_by_label("Postcode").fill("20457")
    page.get_by_label("City").fill("Hamburg")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("VAT ID (optional)").fill("DE136695976")
    page.get_by_label("E-mail address for invoices").fill("billing@elbe-datenwerk.example")
    page.get_by_label(re.compile("^Gold")).check()
    page.get_by_label("Start date").fill(timezone.localdate().isoformat())
    page.get_by_label("Logo").set_input_files(str(_logo(tmp_path)))
    page.get_by_label("I confirm these details and accept the sponsorship terms").check()
    screenshot(page, "sponsors-apply")
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_text(re.compile("submitted", re.I)).first).to_be_visible()
    sponsorship = Sponsorship.objects.get(sponsor__display_name="Elbe Datenwerk")
    assert sponsorship.status == Sponsorship.Status.SUBMITTED

    # Finance reviews and approves: the invoice is issued.
    _log_in(page, live_server, make_user("finance", mfa=True))
    page.goto(live_server.url + f"/admin/sponsors/sponsorships/inspect/{sponsorship.pk}/")
    expect(page.get_by_text("Elbe Datenwerk GmbH").first).to_be_visible()
    screenshot(page, "sponsors-review")
    page.get_by_role("link", name=re.compile("^Approve")).first.click()
    expect(page).to_have_url(re.compile(f"/approve/{sponsorship.pk}/"))
    page.get_by_role("main").get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text(re.compile("RS-\\d{4}-\\d{5}")).first).to_be_visible()
    invoice = Invoice.objects.get(sponsorship=sponsorship, kind="invoice")
    assert invoice.gross_amount == Decimal("7140.00")
    assert invoice.status == Invoice.Status.OPEN

    # The company pays by card in the sandbox.
    _log_in(page, live_server, company_user)
    page.goto(live_server.url + "/sponsors/account/")
    expect(page.get_by_text(invoice.number).first).to_be_visible()
    screenshot(page, "sponsors-dashboard")
    page.get_by_role("button", name=re.compile("Pay .*card", re.I)).first.click()
    expect(page.get_by_text(re.compile("Sandbox", re.I)).first).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label(re.compile("Name on card|Full name")).fill("Anna Beispiel")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page).to_have_url(re.compile("/sponsors/account/"))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.ACTIVE
    receivables = sum(p.amount for p in Posting.objects.filter(account__code="receivables"))
    assert receivables == Decimal("0.00")

    # The public sees the logo on the home page, linked as sponsored.
    page.context.clear_cookies()
    page.goto(live_server.url + "/")
    logo = page.get_by_alt_text("Elbe Datenwerk").first
    expect(logo).to_be_visible()
    link = page.locator("a[href='https://elbe-datenwerk.example/']").first
    assert link.get_attribute("rel") == "sponsored noopener"
    screenshot(page, "sponsors-home-after-payment")
