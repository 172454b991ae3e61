"""The emoji pack for Mastodon (`manage.py export_emoji_pack`): the approved emoji of entitled patrons, one
`shortcode.png` / `shortcode.gif` file each at the top level of a .tar.gz, and what happens when a perk ends."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.core.management import call_command
from PIL import Image

from perks.emoji import emoji_image_clean, emoji_reject, emoji_submit, emoji_withdraw
from perks.models import Emoji
from tests.factories.fundraising import PatronFactory

from .emoji_support import approved_emoji, gif_bytes, patron_with_emoji_perk, perk_suspend, png_bytes


@pytest.fixture
def emoji_of_everyone(db, make_user):
    """Emoji in every status, of patrons whose perk is active, suspended, or who never had it."""
    reviewer = make_user()
    active = patron_with_emoji_perk(allowance=5)
    approved_emoji(patron=active, shortcode="blobcat", by=reviewer)
    approved_emoji(patron=active, shortcode="Party_Parrot", content=gif_bytes(frames=6), by=reviewer)
    emoji_submit(patron=active, shortcode="waiting", image=emoji_image_clean(png_bytes()))
    rejected = emoji_submit(patron=active, shortcode="refused", image=emoji_image_clean(png_bytes()))
    emoji_reject(emoji=rejected, by=reviewer, reason="Not readable when small.")
    withdrawn = approved_emoji(patron=active, shortcode="taken_back", by=reviewer)
    emoji_withdraw(emoji=withdrawn, patron=active)

    other = patron_with_emoji_perk()
    approved_emoji(patron=other, shortcode="other_patron", by=reviewer)

    suspended = patron_with_emoji_perk()
    approved_emoji(patron=suspended, shortcode="paused_patron", by=reviewer)
    perk_suspend(suspended)

    never_entitled = PatronFactory()  # e.g. a donor without perks, whose emoji staff approved by mistake
    Emoji.objects.create(
        patron=never_entitled,
        shortcode="no_perk",
        image=Emoji.objects.get(shortcode="blobcat").image.name,
        image_format="png",
        status=Emoji.Status.APPROVED,
    )


def _export(tmp_path) -> dict[str, bytes]:
    output = tmp_path / "pack.tar.gz"
    call_command("export_emoji_pack", "--output", str(output), stdout=io.StringIO())
    with tarfile.open(output, mode="r:gz") as archive:
        members = archive.getmembers()
        assert all(member.isfile() for member in members)
        return {member.name: archive.extractfile(member).read() for member in members}


def test_pack_holds_exactly_the_approved_emoji_of_entitled_patrons_each_decodable(
    emoji_of_everyone, tmp_path
):
    files = _export(tmp_path)

    assert sorted(files) == [
        "Party_Parrot.gif",
        "blobcat.png",
        "other_patron.png",
        "paused_patron.png",  # "keep" is the default: a suspended perk keeps its emoji
    ]
    for name, content in files.items():
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            assert image.format == name.rsplit(".", 1)[1].upper()
            assert max(image.size) <= 256
    with Image.open(io.BytesIO(files["Party_Parrot.gif"])) as parrot:
        assert parrot.n_frames == 6


def test_pack_files_sit_at_the_top_level_for_tootctl(emoji_of_everyone, tmp_path):
    files = _export(tmp_path)

    assert all("/" not in name and not name.startswith(".") for name in files)


def test_omit_leaves_out_the_emoji_of_a_patron_whose_perk_is_suspended(emoji_of_everyone, tmp_path, settings):
    settings.PERKS_EMOJI_ON_END = "omit"

    files = _export(tmp_path)

    assert "paused_patron.png" not in files
    assert sorted(files) == ["Party_Parrot.gif", "blobcat.png", "other_patron.png"]


def test_keep_includes_the_emoji_of_a_patron_whose_support_ended(db, tmp_path, settings):
    from perks.services import entitlements_sync

    settings.PERKS_EMOJI_ON_END = "keep"
    patron = patron_with_emoji_perk()
    approved_emoji(patron=patron, shortcode="former_patron")
    patronage = patron.patronages.get()
    patronage.status = "canceled"
    patronage.save(update_fields=["status"])
    entitlements_sync(patronage=patronage, source="test")

    assert sorted(_export(tmp_path)) == ["former_patron.png"]
    settings.PERKS_EMOJI_ON_END = "omit"
    assert _export(tmp_path) == {}


def test_erased_patrons_emoji_are_left_out(db, tmp_path):
    from django.utils import timezone

    patron = patron_with_emoji_perk()
    approved_emoji(patron=patron, shortcode="gone")
    patron.erased_at = timezone.now()
    patron.save(update_fields=["erased_at"])

    assert _export(tmp_path) == {}


def test_empty_pack_is_a_valid_archive(db, tmp_path):
    assert _export(tmp_path) == {}


def test_command_says_how_many_emoji_it_wrote(emoji_of_everyone, tmp_path):
    out = io.StringIO()

    call_command("export_emoji_pack", "--output", str(tmp_path / "pack.tar.gz"), stdout=out)

    assert "Wrote 4 emoji" in out.getvalue()
