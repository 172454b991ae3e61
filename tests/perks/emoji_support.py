"""What the custom emoji tests share: patrons with (or without) the emoji perk, and image files built in
memory (real PNG and GIF files, and hostile ones built byte by byte so they stay small and fast)."""

from __future__ import annotations

import io
import struct
import zlib

from django.contrib.auth.models import Permission
from PIL import Image, PngImagePlugin

from fundraising.models import Patronage
from perks.emoji import emoji_approve, emoji_image_clean, emoji_submit
from perks.models import Perk, PerkTier
from perks.services import entitlements_sync
from tests.factories.fundraising import PatronageFactory, TierFactory


def patron_with_emoji_perk(*, user=None, allowance: int = 1, language: str = "en", **patron_fields):
    """A patron on a tier with the custom emoji perk, whose support is active (the perk is granted)."""
    tier = TierFactory()
    perk = Perk.objects.create(name="Custom emoji", kind=Perk.Kind.EMOJI)
    PerkTier.objects.create(perk=perk, tier=tier, emoji_allowance=allowance)
    patronage = PatronageFactory(
        tier=tier,
        kind="perk",
        status=Patronage.Status.ACTIVE,
        patron__user=user,
        patron__language=language,
        **{f"patron__{name}": value for name, value in patron_fields.items()},
    )
    entitlements_sync(patronage=patronage, source="test")
    return patronage.patron


def perk_suspend(patron) -> None:
    """The patron paused their support: the perk is suspended."""
    patronage = patron.patronages.get()
    patronage.status = Patronage.Status.PAUSED
    patronage.save(update_fields=["status"])
    entitlements_sync(patronage=patronage, source="test")


def approved_emoji(*, patron, shortcode: str, content: bytes | None = None, by=None):
    emoji = emoji_submit(patron=patron, shortcode=shortcode, image=emoji_image_clean(content or png_bytes()))
    return emoji_approve(emoji=emoji, by=by)


def grant_emoji_permissions(user, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="perks", codename__in=codenames or ["view_emoji"])
    )


# --- Image files ------------------------------------------------------------------------------


def png_bytes(size=(64, 64), *, color=(40, 160, 90, 255), text: dict | None = None) -> bytes:
    image = Image.new("RGBA", size, color)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    output = io.BytesIO()
    image.save(output, "PNG", pnginfo=info)
    return output.getvalue()


def gif_bytes(*, frames: int = 4, size=(320, 160), duration: int = 80, comment: bytes | None = None) -> bytes:
    images = [
        Image.new("RGB", size, (40 * index % 255, 90, 200 - 30 * index % 200)) for index in range(frames)
    ]
    output = io.BytesIO()
    options = {"comment": comment} if comment else {}
    images[0].save(
        output, "GIF", save_all=True, append_images=images[1:], duration=duration, loop=0, **options
    )
    return output.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose header says width × height (1-bit greyscale) with a few bytes of pixel data: small on disk,
    a decompression bomb for a decoder that trusts it."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def png_of_exact_size(total: int) -> bytes:
    """A real PNG padded with a private ancillary chunk to exactly ``total`` bytes."""
    image = png_bytes()
    body_length = total - len(image) - 12
    return image[:-12] + png_chunk(b"prVt", b"\x00" * body_length) + image[-12:]


def gif_with_frames(frames: int) -> bytes:
    """A 1 × 1 GIF with ``frames`` frames, built by repeating one real frame's blocks (a few bytes each)."""
    output = io.BytesIO()
    Image.new("P", (1, 1), 0).save(output, "GIF")
    data = output.getvalue()
    start = data.index(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00")  # the image descriptor at 0,0 size 1 × 1
    return data[:start] + data[start:-1] * frames + b"\x3b"


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    b'<script>alert(document.cookie)</script><circle cx="32" cy="32" r="30" fill="gold"/></svg>'
)
