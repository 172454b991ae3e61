"""Demo perks: the catalogue on the seeded tiers, entitlements derived from the demo patronages, and emoji
in every state (pending, approved, rejected, withdrawn), made through the same services patrons and staff use.
The patron-only updates are editorial pages: cms/demo.py seeds them."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from django.test.utils import override_settings
from django.utils import timezone

from .models import Emoji, Entitlement, Perk, PerkTier
from .services import entitlements_sync_all

ORDER = 55  # after fundraising (tiers, patronages), before the ledger closes months

PERKS = [
    # name, German name, kind, checklist, {tier slug: emoji allowance}
    (
        "Custom emoji",
        "Eigenes Emoji",
        Perk.Kind.EMOJI,
        "",
        {"supporter": 1, "champion": 3, "hero": 5, "benefactor": 10},
    ),
    (
        "Development updates",
        "Entwicklungs-Updates",
        Perk.Kind.UPDATES,
        "",
        {"supporter": 0, "champion": 0, "hero": 0, "benefactor": 0},
    ),
    (
        "Yearly video call with the team",
        "Jährliches Videotelefonat mit dem Team",
        Perk.Kind.MANUAL,
        "Write to the patron to find a date\nSend the invitation link\nHold the call",
        {"hero": 0, "benefactor": 0},
    ),
]

EMOJI_STATES = ["approved"] * 8 + ["pending"] * 3 + ["rejected", "withdrawn"]


def seed(*, rng: random.Random, today, real_kinds, log: Callable[[str], None]) -> None:
    from fundraising.models import Tier

    tiers = {tier.slug: tier for tier in Tier.objects.all()}
    for name, name_de, kind, checklist, links in PERKS:
        perk, _created = Perk.objects.get_or_create(
            name=name, defaults={"name_de": name_de, "kind": kind, "checklist": checklist}
        )
        for slug, allowance in links.items():
            if slug in tiers:
                PerkTier.objects.get_or_create(
                    perk=perk, tier=tiers[slug], defaults={"emoji_allowance": allowance}
                )
    changes = entitlements_sync_all(source="demo seed", now=timezone.now())
    _seed_emoji(rng)
    log(
        f"perks demo: {Perk.objects.count()} perks, {changes} entitlement changes, "
        f"{Entitlement.objects.active().count()} active entitlements, {Emoji.objects.count()} emoji"
    )


def _png(rng: random.Random) -> bytes:
    """A small round emoji-like picture, drawn here (no files from outside)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colour = tuple(rng.randint(40, 230) for _ in range(3)) + (255,)
    draw.ellipse((8, 8, 120, 120), fill=colour)
    draw.ellipse((38, 44, 54, 60), fill=(255, 255, 255, 255))
    draw.ellipse((74, 44, 90, 60), fill=(255, 255, 255, 255))
    draw.arc((36, 56, 92, 100), start=20, end=160, fill=(255, 255, 255, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _seed_emoji(rng: random.Random) -> None:
    if Emoji.objects.exists():
        return
    try:
        from . import emoji as emoji_services
    except ImportError:
        return
    holders = list(
        Entitlement.objects.active()
        .of_kind(Perk.Kind.EMOJI)
        .select_related("patron")
        .order_by("pk")[: len(EMOJI_STATES)]
    )
    from accounts.models import User

    reviewer = User.objects.filter(email="editor@example.org").first()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        for number, (entitlement, state) in enumerate(zip(holders, EMOJI_STATES, strict=False)):
            emoji = emoji_services.emoji_submit(
                patron=entitlement.patron,
                shortcode=f"fedi_{number:02d}",
                image=emoji_services.emoji_image_clean(_png(rng)),
            )
            if state == "approved":
                emoji_services.emoji_approve(emoji=emoji, by=reviewer)
            elif state == "rejected":
                emoji_services.emoji_reject(
                    emoji=emoji, by=reviewer, reason="Too close to an existing emoji."
                )
            elif state == "withdrawn":
                emoji_services.emoji_withdraw(emoji=emoji, patron=entitlement.patron)
