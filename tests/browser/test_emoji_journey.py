"""The emoji perk in a real browser: a patron uploads an emoji, an editor approves it, the public sees it."""

import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from fundraising.models import Patron
from perks.models import Emoji, Perk, PerkTier
from perks.services import entitlements_sync
from tests.factories.fundraising import PatronageFactory, TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("eager_tasks")]


def _log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.fixture
def emoji_patron(demo_site, make_user):
    user = make_user("patron")
    tier = TierFactory(slug="emoji-tier", name="Emoji friend", monthly_amount=Decimal("5.00"))
    perk = Perk.objects.create(name="Custom emoji", kind=Perk.Kind.EMOJI)
    PerkTier.objects.create(perk=perk, tier=tier, emoji_allowance=1)
    patron = Patron.objects.create(
        user=user, email=user.email, name="Erika", listing=Patron.Listing.NAME, public_name="Erika M."
    )
    patronage = PatronageFactory(patron=patron, tier=tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    return user


def test_patron_uploads_editor_approves_public_sees_it(
    page, live_server, emoji_patron, make_user, tmp_path, screenshot
):
    from cms.models import EmojiGalleryPage

    picture = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((8, 8, 120, 120), fill=(230, 120, 40, 255))
    path = tmp_path / "blobfox.png"
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())

    _log_in(page, live_server, emoji_patron)
    page.goto(live_server.url + "/support/perks/emoji/")
    page.get_by_label("Image").set_input_files(str(path))
    page.get_by_label("Shortcode").fill("blobfox")
    page.get_by_role("button", name="Upload for review").click()
    expect(page.get_by_text(":blobfox:").first).to_be_visible()
    screenshot(page, "perks-emoji-upload")
    emoji = Emoji.objects.get(shortcode="blobfox")
    assert emoji.status == "pending"

    _log_in(page, live_server, make_user("editor", mfa=True))
    page.goto(live_server.url + f"/admin/perks/emoji/inspect/{emoji.pk}/")
    screenshot(page, "perks-emoji-moderation")
    page.get_by_role("button", name=re.compile("Approve :blobfox:")).click()
    expect(page.get_by_text(re.compile("approved", re.I)).first).to_be_visible()
    emoji.refresh_from_db()
    assert emoji.status == "approved"

    page.context.clear_cookies()
    gallery = EmojiGalleryPage.objects.live().filter(locale__language_code="en").first()
    page.goto(live_server.url + gallery.url)
    expect(page.get_by_alt_text(":blobfox:")).to_be_visible()
    expect(page.get_by_text("Erika M.")).to_be_visible()
    screenshot(page, "perks-emoji-gallery")
