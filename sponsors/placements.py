"""Where sponsors' logos appear on the site: the home page, the sponsors page and the footer.

Only a paid sponsorship within its dates (``Sponsorship.objects.placed``) whose sponsor has an approved
logo is placed, and only where its package grants it. Logos are grouped by package (rank, then price,
highest first); a sponsor with several placed sponsorships appears once, in its best package.

**Rotation.** Within a package the order turns by one place a day: the sponsors sorted by their id, then
rotated by ``day.toordinal() % n``. Every visitor sees the same order on a day, the order changes at
midnight, and over any ``n`` consecutive days each sponsor holds each position exactly once (a shuffle
seeded by the day would be the same for everyone too, but could leave a sponsor last several days
running).

**Equal visual area.** A wide logo and a square one look equally big when they cover the same area,
not when they share a height. Each package's logo size has a target area; a logo with aspect ratio
``a`` (width / height) is shown ``sqrt(area * a)`` wide and ``sqrt(area / a)`` high, scaled down
(keeping its shape) only when that exceeds the size's maximum width or height. The footer shows one
small size for everyone.

The template tag ``{% sponsor_placements "home" %}`` (sponsors/templatetags/sponsor_tags.py) renders these
and caches the HTML under the placement cache version of sponsors/signals.py.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from .models import Package, SponsorLogo, Sponsorship

# The package flag that grants each place.
PLACES = {"home": "on_home_page", "sponsors": "on_sponsors_page", "footer": "in_footer"}


@dataclass(frozen=True)
class LogoSize:
    area: int  # px²: what every logo of this size covers
    max_width: int
    max_height: int


# By Package.LogoSize: a square logo is about 167, 134, 105 and 77 px wide, a 4:1 one 335, 268, 210, 155.
LOGO_SIZES = {
    "xl": LogoSize(area=28_000, max_width=400, max_height=200),
    "l": LogoSize(area=18_000, max_width=320, max_height=160),
    "m": LogoSize(area=11_000, max_width=250, max_height=125),
    "s": LogoSize(area=6_000, max_width=180, max_height=90),
}
FOOTER_LOGO_SIZE = LogoSize(area=2_400, max_width=140, max_height=48)


@dataclass(frozen=True)
class PlacedSponsor:
    display_name: str
    website: str
    link: bool  # the package links to the sponsor and the sponsor has a website
    logo_url: str
    width: int  # display size in CSS pixels
    height: int
    package: Package


@dataclass(frozen=True)
class PackageGroup:
    package: Package
    sponsors: tuple[PlacedSponsor, ...]


def placements(*, where: str, on: datetime.date | None = None) -> list[PackageGroup]:
    """The sponsors shown in ``where`` ("home", "sponsors" or "footer") on a day (today), by package.

    Two queries at most: the placed sponsorships with their sponsor and package, then their logos.
    """
    if where not in PLACES:
        raise ValueError(f"Unknown placement {where!r}: choose one of {', '.join(PLACES)}.")
    day = on or timezone.localdate()
    sponsorships = list(
        Sponsorship.objects.placed(on=day)
        .filter(**{f"package__{PLACES[where]}": True})
        .select_related("sponsor", "package")
        .order_by("package__rank", "-package__price", "package__pk", "sponsor__pk", "pk")
    )
    if not sponsorships:
        return []
    logos = _latest_approved_logos({sponsorship.sponsor_id for sponsorship in sponsorships})

    by_package: dict[int, list[Sponsorship]] = {}
    packages: dict[int, Package] = {}
    seen: set[int] = set()
    for sponsorship in sponsorships:  # best package first, so a sponsor stays in its best one
        if sponsorship.sponsor_id in seen or sponsorship.sponsor_id not in logos:
            continue
        seen.add(sponsorship.sponsor_id)
        packages[sponsorship.package_id] = sponsorship.package
        by_package.setdefault(sponsorship.package_id, []).append(sponsorship)

    groups = []
    for package_id, members in by_package.items():
        package = packages[package_id]
        size = FOOTER_LOGO_SIZE if where == "footer" else LOGO_SIZES.get(package.logo_size, LOGO_SIZES["m"])
        groups.append(
            PackageGroup(
                package=package,
                sponsors=tuple(
                    _placed(sponsorship, logos[sponsorship.sponsor_id], size)
                    for sponsorship in rotated(members, day=day)
                ),
            )
        )
    return groups


def rotated(items: list, *, day: datetime.date) -> list:
    """``items`` (in a fixed order) turned by one place per day."""
    if not items:
        return []
    offset = day.toordinal() % len(items)
    return items[offset:] + items[:offset]


def display_size(*, width: int, height: int, size: LogoSize) -> tuple[int, int]:
    """The width and height that give a ``width`` × ``height`` image the size's area, within its limits."""
    aspect = width / height if width and height else 1.0
    display_width = math.sqrt(size.area * aspect)
    display_height = math.sqrt(size.area / aspect)
    scale = min(1.0, size.max_width / display_width, size.max_height / display_height)
    return max(1, round(display_width * scale)), max(1, round(display_height * scale))


def _latest_approved_logos(sponsor_ids: set[int]) -> dict[int, SponsorLogo]:
    """Each sponsor's latest approved logo (as ``Sponsor.current_logo``), in one query."""
    logos: dict[int, SponsorLogo] = {}
    approved = (
        SponsorLogo.objects.filter(sponsor_id__in=sponsor_ids, status=SponsorLogo.Status.APPROVED)
        .only("sponsor_id", "image", "width", "height")
        .order_by("sponsor_id", F("reviewed_at").desc(nulls_last=True), "-pk")
    )
    for logo in approved:
        logos.setdefault(logo.sponsor_id, logo)
    return logos


def _placed(sponsorship: Sponsorship, logo: SponsorLogo, size: LogoSize) -> PlacedSponsor:
    sponsor, package = sponsorship.sponsor, sponsorship.package
    website = sponsor.website if sponsor.website.lower().startswith(("https://", "http://")) else ""
    width, height = display_size(width=logo.width, height=logo.height, size=size)
    return PlacedSponsor(
        display_name=sponsor.display_name or sponsor.legal_name,
        website=website,
        link=package.links_to_sponsor and bool(website),
        logo_url=logo.image.url,
        width=width,
        height=height,
        package=package,
    )
