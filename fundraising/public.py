"""What the public sees of patrons: the tier cards, the supporters wall and the patron figures.

Each read returns plain, picklable dataclasses with the text already formatted for the language, and is
cached under one version number. fundraising/signals.py bumps the version whenever a tier, a patron or a
patronage changes, so the next reader rebuilds; the timeout only bounds how long a change made behind
the signals' back (a bulk ``update()``) can stay unseen. Nothing here depends on who is looking, so the
pages and badges built from it can be cached as a whole.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from babel import Locale as BabelLocale
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Interval, Patron, Patronage, Tier

CACHE_TIMEOUT = 60 * 60
VERSION_KEY = "fundraising:public:version"
RECENT_GIFT_DAYS = 365  # one-time gifts stay on the wall this long

OWN_AMOUNT_GROUP = "own-amount"
ONE_TIME_GROUP = "one-time"


# --- Cache ------------------------------------------------------------------------------------


def cache_version() -> str:
    from cms.page_cache import version_read

    return version_read(VERSION_KEY)


def cache_bump() -> None:
    """Make every cached public read stale: the next reader rebuilds it from the database."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def cached(name: str, build: Callable[[], object], *, language: str = "-") -> object:
    key = f"fundraising:public:{name}:{language}:{cache_version()}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, CACHE_TIMEOUT)
    return value


def active_language(language: str | None = None) -> str:
    return (language or get_language() or settings.LANGUAGE_CODE).split("-")[0]


# --- Formatting -------------------------------------------------------------------------------


def money_display(amount: Decimal, currency: str, *, language: str | None = None) -> str:
    """“€5”, “5 €”, “€4.50”, “4,50 €”: CLDR's currency format, without cents when there are none."""
    locale = BabelLocale.parse(active_language(language))
    if amount == amount.to_integral_value():
        pattern = locale.currency_formats["standard"].pattern.replace(".00", "")
        return format_currency(amount, currency.upper(), format=pattern, locale=locale, currency_digits=False)
    return format_currency(amount, currency.upper(), locale=locale)


def number_display(number: int | Decimal, *, language: str | None = None) -> str:
    """“7,412” in English, “7.412” in German."""
    return format_decimal(number, locale=active_language(language))


def whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def amount_with_interval(amount: Decimal, currency: str, interval: str) -> str:
    money = money_display(amount, currency)
    if interval == Interval.MONTH:
        return _("%(amount)s a month") % {"amount": money}
    if interval == Interval.YEAR:
        return _("%(amount)s a year") % {"amount": money}
    return money


# --- Links to the checkout --------------------------------------------------------------------


def checkout_url(*, interval: str, tier: str | None = None) -> str:
    """The uncached checkout page for a tier (or a free amount) and an interval, in the active language."""
    if tier:
        path = reverse("fundraising:checkout", kwargs={"tier": tier})
    else:
        path = reverse("fundraising:checkout_free")
    return f"{path}?{urlencode({'interval': interval})}"


# --- Tiers page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutOption:
    interval: str  # month, year, once
    amount: str  # formatted, e.g. “€5”
    url: str


@dataclass(frozen=True)
class TierCard:
    slug: str
    name: str
    description: str
    is_perk_tier: bool
    options: tuple[CheckoutOption, ...]
    slot_limit: int | None
    slots_left: int | None

    @property
    def sold_out(self) -> bool:
        return self.slots_left is not None and self.slots_left <= 0


@dataclass(frozen=True)
class TiersOffer:
    cards: tuple[TierCard, ...]
    own_amount_url: str  # a free amount, monthly
    one_time_url: str  # a one-time gift of a free amount
    minimum: str  # formatted, e.g. “€2”
    maximum: str


def tiers_offer(language: str | None = None) -> TiersOffer:
    """Every offered tier as a card (two queries), plus the free-amount and one-time choices."""
    language = active_language(language)

    def build() -> TiersOffer:
        with translation.override(language):
            tiers = list(Tier.objects.offered().order_by("sort_order", "monthly_amount", "pk"))
            limited = [tier for tier in tiers if tier.slot_limit]
            taken = {}
            if limited:
                taken = dict(
                    Patronage.objects.active()
                    .filter(tier__in=limited)
                    .order_by()
                    .values("tier")
                    .annotate(count=Count("pk"))
                    .values_list("tier", "count")
                )
            cards = tuple(_tier_card(tier, taken.get(tier.pk, 0)) for tier in tiers)
            return TiersOffer(
                cards=cards,
                own_amount_url=checkout_url(interval=Interval.MONTH),
                one_time_url=checkout_url(interval=Interval.ONCE),
                minimum=money_display(settings.PATRON_MIN_AMOUNT, "eur"),
                maximum=money_display(settings.PATRON_MAX_AMOUNT, "eur"),
            )

    return cached("tiers", build, language=language)


def _tier_card(tier: Tier, taken: int) -> TierCard:
    intervals = [Interval.MONTH] if tier.yearly_amount is None else [Interval.MONTH, Interval.YEAR]
    options = tuple(
        CheckoutOption(
            interval=str(interval),
            amount=money_display(tier.amount_for(interval), tier.currency),
            url=checkout_url(tier=tier.slug, interval=interval),
        )
        for interval in intervals
    )
    return TierCard(
        slug=tier.slug,
        name=tier.display_name,
        description=tier.display_description,
        is_perk_tier=tier.is_perk_tier,
        options=options,
        slot_limit=tier.slot_limit,
        slots_left=max(tier.slot_limit - taken, 0) if tier.slot_limit else None,
    )


# --- Supporters wall --------------------------------------------------------------------------


@dataclass(frozen=True)
class WallEntry:
    label: str  # name or @handle@server, as the patron chose
    url: str  # the fediverse profile, or ""
    amount: str  # e.g. “€5 a month”, or "" unless the patron chose to show it


@dataclass(frozen=True)
class WallGroup:
    key: str  # the tier's slug, “own-amount” or “one-time”
    title: str
    entries: tuple[WallEntry, ...]


def supporters_wall(language: str | None = None, *, now: datetime.datetime | None = None) -> list[WallGroup]:
    """Patrons who chose to be listed, by tier, then free amounts, then recent one-time gifts. One query.

    A patron is listed while a recurring patronage is running, or for a year after a one-time gift.
    """
    language = active_language(language)

    def build() -> list[WallGroup]:
        with translation.override(language):
            return _wall_groups(now or timezone.now())

    return cached("wall", build, language=language)


def _wall_groups(now: datetime.datetime) -> list[WallGroup]:
    recent_gifts = Patronage.objects.filter(
        interval=Interval.ONCE,
        status=Patronage.Status.PAID,
        started_at__gte=now - datetime.timedelta(days=RECENT_GIFT_DAYS),
    )
    patronages = (
        (Patronage.objects.active() | recent_gifts)
        .filter(patron__erased_at__isnull=True)
        .exclude(patron__listing=Patron.Listing.ANONYMOUS)
        .select_related("patron", "tier")
        .order_by("started_at", "pk")
    )
    tiers: dict[str, Tier] = {}
    entries: dict[str, list[WallEntry]] = {}
    seen: set[tuple[str, int]] = set()
    for patronage in patronages:
        patron = patronage.patron
        label = patron.public_label
        if not label:
            continue
        if patronage.interval == Interval.ONCE:
            key = ONE_TIME_GROUP
        elif patronage.tier is None:
            key = OWN_AMOUNT_GROUP
        else:
            key = patronage.tier.slug
            tiers[key] = patronage.tier
        if (key, patron.pk) in seen:
            continue
        seen.add((key, patron.pk))
        is_handle = patron.listing == Patron.Listing.HANDLE
        amount = ""
        if patron.show_amount:
            amount = amount_with_interval(patronage.amount, patronage.currency, patronage.interval)
        entries.setdefault(key, []).append(
            WallEntry(label=label, url=patron.fediverse_url if is_handle else "", amount=amount)
        )

    ordered = sorted(tiers.values(), key=lambda tier: (tier.sort_order, tier.monthly_amount, tier.pk))
    titles = [(tier.slug, tier.display_name) for tier in ordered]
    titles += [(OWN_AMOUNT_GROUP, _("Their own amount")), (ONE_TIME_GROUP, _("One-time gifts"))]
    return [WallGroup(key, title, tuple(entries[key])) for key, title in titles if entries.get(key)]


# --- Figures (stats block, badges) ------------------------------------------------------------


@dataclass(frozen=True)
class PatronFigures:
    active_patrons: int
    monthly_income: Decimal  # EUR, yearly plans counted as 1/12


def patron_figures() -> PatronFigures:
    """Active patrons and monthly recurring income in EUR (two queries)."""

    def build() -> PatronFigures:
        return PatronFigures(
            active_patrons=Patronage.objects.active_patron_count(),
            monthly_income=Patronage.objects.monthly_recurring_income("eur"),
        )

    return cached("figures", build)
