"""A patron uploads a custom emoji on /support/perks/emoji/: Mastodon's rules, files decoded for real and
re-encoded, hostile files refused with a clear sentence, and nothing stored when refused."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from PIL import Image

from perks import emoji as emoji_module
from perks.emoji import EmojiRefused, emoji_image_clean, emoji_reject, emoji_submit
from perks.models import Emoji
from tests.factories.fundraising import PatronageFactory, TierFactory

from .emoji_support import (
    SVG_WITH_SCRIPT,
    approved_emoji,
    gif_bytes,
    gif_with_frames,
    patron_with_emoji_perk,
    perk_suspend,
    png_bytes,
    png_claiming_size,
    png_of_exact_size,
)

URL = "/support/perks/emoji/"


@pytest.fixture
def patron_client(client, make_user):
    user = make_user("patron")
    client.force_login(user)
    client.patron = patron_with_emoji_perk(user=user, allowance=2)
    return client


def _upload(client, content: bytes, *, name="emoji.png", content_type="image/png", shortcode="blobcat"):
    return client.post(
        URL, {"shortcode": shortcode, "image": SimpleUploadedFile(name, content, content_type=content_type)}
    )


def _stored_files(settings) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "emoji"
    return sorted(folder.iterdir()) if folder.exists() else []


def _assert_refused(response, message: str, settings) -> None:
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Emoji.objects.exists()
    assert _stored_files(settings) == []


# --- Refused files --------------------------------------------------------------------------


def test_svg_with_a_script_renamed_png_is_refused(patron_client, settings):
    response = _upload(patron_client, SVG_WITH_SCRIPT, name="cute.png", content_type="image/png")

    _assert_refused(response, "The file is not a PNG or GIF image.", settings)


def test_png_claiming_20000_by_20000_pixels_is_refused_before_decoding(patron_client, settings):
    bomb = png_claiming_size(20000, 20000)
    assert len(bomb) < 1024  # small on disk

    started = time.monotonic()
    response = _upload(patron_client, bomb)

    assert time.monotonic() - started < 5
    _assert_refused(
        response, "The image is 20000 × 20000 pixels; the largest allowed is 1024 × 1024.", settings
    )


def test_gif_with_3000_frames_is_refused(patron_client, settings):
    gif = gif_with_frames(3000)
    with Image.open(io.BytesIO(gif)) as image:  # a real GIF, as Pillow reads it
        assert image.n_frames == 3000

    response = _upload(patron_client, gif, name="party.gif", content_type="image/gif")

    _assert_refused(response, "The GIF has 3000 frames; at most 200 are allowed.", settings)


def test_300_kb_file_is_refused(patron_client, settings):
    response = _upload(patron_client, png_of_exact_size(300 * 1024))

    _assert_refused(response, "The file is 300 KB; the largest allowed is 256 KB.", settings)


def test_html_appended_to_a_png_is_refused(patron_client, settings):
    polyglot = png_bytes() + b"<html><body><script>alert(1)</script></body></html>"

    response = _upload(patron_client, polyglot)

    _assert_refused(response, "The file has other data after the end of the image.", settings)


def test_zip_appended_to_a_gif_is_refused(patron_client, settings):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.html", "<p>hello</p>")
    polyglot = gif_bytes(frames=1) + archive.getvalue()

    response = _upload(patron_client, polyglot, name="a.gif", content_type="image/gif")

    _assert_refused(response, "The file has other data after the end of the image.", settings)


def test_script_hidden_in_a_png_text_chunk_is_refused(patron_client, settings):
    sneaky = png_bytes(text={"Comment": "<script>alert(1)</script>"})

    response = _upload(patron_client, sneaky)

    _assert_refused(response, "The file contains web page or script code", settings)


def test_jpeg_renamed_png_is_refused(patron_client, settings):
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(jpeg, "JPEG")

    response = _upload(patron_client, jpeg.getvalue(), name="photo.png")

    _assert_refused(response, "The file is not a PNG or GIF image.", settings)


def test_decompression_bomb_raised_by_pillow_is_refused(patron_client, settings, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow's own limit, far below 64 × 64

    response = _upload(patron_client, png_bytes(size=(64, 64)))

    _assert_refused(response, "The image would be too large once unpacked", settings)


def test_damaged_png_is_refused(patron_client, settings):
    damaged = bytearray(png_bytes(size=(64, 64)))
    start = damaged.index(b"IDAT") + 4
    damaged[start : start + 6] = b"\xff" * 6  # broken pixel data, chunk structure intact

    response = _upload(patron_client, bytes(damaged))

    _assert_refused(response, "The image could not be read", settings)


# --- Shortcodes -----------------------------------------------------------------------------


@pytest.mark.parametrize("shortcode", ["a", "blob-cat", "blob cat", "blöb", ""])
def test_bad_shortcode_is_refused(patron_client, settings, shortcode):
    response = _upload(patron_client, png_bytes(), shortcode=shortcode)

    assert response.status_code == 400
    if shortcode:
        assert (
            "Shortcodes use letters, digits and underscores, at least 2 characters."
            in response.content.decode()
        )
    assert not Emoji.objects.exists()
    assert _stored_files(settings) == []


def test_shortcode_taken_by_another_patron_in_other_case_is_refused(patron_client, settings):
    other = patron_with_emoji_perk()
    approved_emoji(patron=other, shortcode="BlobCat")
    files_before = _stored_files(settings)

    response = _upload(patron_client, png_bytes(), shortcode="blobcat")

    assert response.status_code == 400
    assert "The shortcode :blobcat: is already taken." in response.content.decode()
    assert not Emoji.objects.filter(patron=patron_client.patron).exists()
    assert _stored_files(settings) == files_before


def test_shortcode_of_a_rejected_emoji_is_free_again(patron_client):
    other = patron_with_emoji_perk()
    Emoji.objects.create(patron=other, shortcode="blobcat", image="emoji/x.png", status=Emoji.Status.REJECTED)

    response = _upload(patron_client, png_bytes(), shortcode="BlobCat")

    assert response.status_code == 302
    assert Emoji.objects.filter(patron=patron_client.patron, shortcode="BlobCat").exists()


def test_upload_racing_for_the_same_shortcode_gets_the_same_message(db, settings, monkeypatch):
    """Two uploads pass the check at once; the database constraint stops the second one."""
    first, second = patron_with_emoji_perk(), patron_with_emoji_perk()
    image = emoji_image_clean(png_bytes())
    emoji_submit(patron=first, shortcode="blobcat", image=image)
    files_before = _stored_files(settings)
    monkeypatch.setattr(emoji_module, "shortcode_is_taken", lambda shortcode: False)  # the check ran first

    with pytest.raises(EmojiRefused) as refusal:
        emoji_submit(patron=second, shortcode="BLOBCAT", image=image)

    assert refusal.value.message == "The shortcode :BLOBCAT: is already taken."
    assert not Emoji.objects.filter(patron=second).exists()
    assert _stored_files(settings) == files_before


def test_database_refuses_a_second_pending_emoji_with_the_same_shortcode(db):
    patron = patron_with_emoji_perk()
    Emoji.objects.create(patron=patron, shortcode="blobcat", image="emoji/a.png")

    with pytest.raises(IntegrityError):
        Emoji.objects.create(patron=patron, shortcode="BlobCat", image="emoji/b.png")


# --- Accepted files -------------------------------------------------------------------------


def test_valid_png_is_stored_pending_reencoded_without_metadata(patron_client, settings):
    original = png_bytes(size=(600, 300), text={"Author": "someone", "Comment": "hello"})
    assert b"tEXt" in original

    response = _upload(patron_client, original, shortcode=":blob_cat2:")

    assert response.status_code == 302
    emoji = Emoji.objects.get(patron=patron_client.patron)
    assert (emoji.shortcode, emoji.status, emoji.image_format) == ("blob_cat2", "pending", "png")
    stored = emoji.image.read()
    assert stored != original
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"):
        assert chunk not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG"
        assert image.size == (256, 128) == (emoji.width, emoji.height)
        assert not image.text
    page = patron_client.get(URL).content.decode()
    assert ":blob_cat2:" in page
    assert "Waiting for review" in page


def test_animated_gif_is_reencoded_frame_by_frame_keeping_durations_and_loop(patron_client):
    original = gif_bytes(frames=5, size=(512, 256), duration=70, comment=b"made by a secret tool")

    response = _upload(patron_client, original, name="party.gif", content_type="image/gif", shortcode="party")

    assert response.status_code == 302
    emoji = Emoji.objects.get(patron=patron_client.patron)
    assert (emoji.image_format, emoji.frames, emoji.width, emoji.height) == ("gif", 5, 256, 128)
    stored = emoji.image.read()
    assert b"made by a secret tool" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "GIF"
        assert image.n_frames == 5
        assert image.size == (256, 128)
        assert image.info["loop"] == 0
        assert "comment" not in image.info
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations == [70] * 5


def test_small_png_is_not_enlarged(patron_client):
    _upload(patron_client, png_bytes(size=(40, 30)))

    emoji = Emoji.objects.get()
    assert (emoji.width, emoji.height) == (40, 30)


# --- Who may upload -------------------------------------------------------------------------


def test_patron_without_the_perk_sees_why_and_cannot_upload(client, make_user, settings):
    user = make_user("patron")
    PatronageFactory(tier=TierFactory(), kind="perk", patron__user=user)  # a tier without the emoji perk
    client.force_login(user)

    page = client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Your current support does not include custom emoji." in text
    assert "See the tiers and their perks" in text
    assert 'type="file"' not in text

    response = _upload(client, png_bytes())

    assert response.status_code == 403
    assert not Emoji.objects.exists()
    assert _stored_files(settings) == []


def test_logged_in_person_who_is_not_a_patron_is_told_how_to_become_one(client, make_user):
    client.force_login(make_user())

    text = client.get(URL).content.decode()

    assert "become a patron with a tier that includes custom emoji" in text


def test_patron_whose_perk_is_suspended_keeps_their_list_but_cannot_upload(patron_client):
    approved_emoji(patron=patron_client.patron, shortcode="blobcat")
    perk_suspend(patron_client.patron)

    text = patron_client.get(URL).content.decode()
    assert "Your custom emoji perk is not active at the moment" in text
    assert ":blobcat:" in text
    assert _upload(patron_client, png_bytes(), shortcode="other").status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_allowance_counts_pending_and_approved_emoji(patron_client, settings):
    approved_emoji(patron=patron_client.patron, shortcode="first")
    assert "You can upload 1 more." in patron_client.get(URL).content.decode()
    assert _upload(patron_client, png_bytes(), shortcode="second").status_code == 302  # now 2 of 2

    page = patron_client.get(URL).content.decode()
    assert "You have used all of them" in page
    assert 'type="file"' not in page
    response = _upload(patron_client, png_bytes(), shortcode="third")

    assert response.status_code == 403
    assert not Emoji.objects.filter(shortcode="third").exists()
    assert len(_stored_files(settings)) == 2


def test_withdrawing_an_emoji_frees_its_slot_and_shortcode(patron_client):
    emoji = approved_emoji(patron=patron_client.patron, shortcode="blobcat")
    approved_emoji(patron=patron_client.patron, shortcode="second")

    response = patron_client.post(f"{URL}{emoji.pk}/withdraw/")

    assert response.status_code == 302
    emoji.refresh_from_db()
    assert emoji.status == "withdrawn"
    assert _upload(patron_client, png_bytes(), shortcode="BLOBCAT").status_code == 302


def test_patron_cannot_withdraw_someone_elses_emoji(patron_client):
    other = approved_emoji(patron=patron_with_emoji_perk(), shortcode="theirs")

    response = patron_client.post(f"{URL}{other.pk}/withdraw/")

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "approved"


def test_rejected_emoji_shows_the_reason_to_the_patron(patron_client, make_user):
    emoji = emoji_submit(
        patron=patron_client.patron, shortcode="blobcat", image=emoji_image_clean(png_bytes())
    )
    emoji_reject(emoji=emoji, by=make_user(), reason="Too similar to an existing emoji.")

    text = patron_client.get(URL).content.decode()

    assert "Rejected" in text
    assert "Too similar to an existing emoji." in text
