"""Demo sponsors: four packages and 46 sponsorships of 40 companies over the 24 months of the demo books,
in every status and every VAT case (DOMAIN.md 4), made through the services staff and companies use.

- Packages: Platinum (one seat, linked, extra large, home page + sponsors page + footer), Gold (linked,
  large, home + sponsors page), Silver (linked, medium, sponsors page + footer), Bronze (no link, small,
  sponsors page only: a passive mention without VAT).
- Companies from Germany (19 % VAT), other EU countries with valid VAT ids (reverse charge), one EU
  association without a VAT id (19 % VAT), countries outside the EU (not taxable in Germany); Bronze
  is passive whoever buys it.
- Sponsorships: ended, active (some renewals), invoiced (three overdue with reminders, one corrected by a
  credit note and a new invoice), approved, submitted, drafts, rejected, cancelled (one with a credit note).

History is replayed in date order, so invoice numbers follow the invoice dates: an application for a
start date in the past is submitted through the model's guarded ``submit`` (``application_submit``
refuses past start dates, as it should for companies), everything after it through ``sponsors.services``:
``sponsorship_approve``, ``invoice_issue(issue_date=...)``, ``invoice_mark_paid(paid_on=...)``, Stripe
payments as ``payments.types.PaymentSucceeded`` through ``payments.services.events_dispatch`` (and their
payouts), ``sponsorships_end_expired``, ``invoice_reminders_send``, ``sponsorship_cancel``,
``invoice_cancel(reissue=True)``. The timestamps of the recorded moves are then set to the days they
stand for. Credit notes are dated today: ``invoice_cancel`` issues them on the day it runs.

E-mails and invoice PDFs are not made while seeding (PDFs render on their first download). The demo
sponsor login (sponsor@example.org, made by accounts/demo.py) manages one active sponsor. A second run
finds the demo companies and adds nothing.
"""

from __future__ import annotations

import datetime
import io
import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from ledger.demo import window

from . import services
from .models import (
    Invoice,
    Package,
    Sponsor,
    SponsorContact,
    SponsorLogo,
    Sponsorship,
    SponsorshipChange,
    Status,
)

ORDER = 60  # after fundraising (50) and perks (55), before the ledger closes the demo months (100)
PROVIDES = frozenset({"sponsorships"})

DEMO_SPONSOR_LOGIN = "sponsor@example.org"
FINANCE_LOGIN = "finance@example.org"
EDITOR_LOGIN = "editor@example.org"
CENT = Decimal("0.01")

PACKAGES = [
    # slug, name, German name, price, capacity, home, sponsors page, footer, size, link, announcements, rank,
    # description, German description
    (
        "platinum",
        "Platinum",
        "Platin",
        "12000.00",
        1,
        True,
        True,
        True,
        Package.LogoSize.EXTRA_LARGE,
        True,
        True,
        1,
        "Our one principal sponsor: your logo, linked, on the home page, the sponsors page and in the footer "
        "of every page, and a mention in our announcements.",
        "Unser einziger Hauptsponsor: Ihr Logo mit Link auf der Startseite, der Sponsorenseite und im "
        "Fußbereich jeder Seite, dazu eine Erwähnung in unseren Ankündigungen.",
    ),
    (
        "gold",
        "Gold",
        "Gold",
        "6000.00",
        None,
        True,
        True,
        False,
        Package.LogoSize.LARGE,
        True,
        False,
        2,
        "Your logo, linked to your site, on the home page and the sponsors page.",
        "Ihr Logo mit Link zu Ihrer Website auf der Startseite und der Sponsorenseite.",
    ),
    (
        "silver",
        "Silver",
        "Silber",
        "3000.00",
        None,
        False,
        True,
        True,
        Package.LogoSize.MEDIUM,
        True,
        False,
        3,
        "Your logo, linked to your site, on the sponsors page and in the footer.",
        "Ihr Logo mit Link zu Ihrer Website auf der Sponsorenseite und im Fußbereich.",
    ),
    (
        "bronze",
        "Bronze",
        "Bronze",
        "1200.00",
        None,
        False,
        True,
        False,
        Package.LogoSize.SMALL,
        False,
        False,
        4,
        "Your name and logo on the sponsors page, without a link: a thank-you, not an advertisement "
        "(no VAT).",
        "Ihr Name und Logo auf der Sponsorenseite, ohne Link: ein Dankeschön, keine Werbung "
        "(ohne Umsatzsteuer).",
    ),
]


@dataclass(frozen=True)
class Company:
    key: str
    display_name: str
    legal_name: str
    country: str
    city: str
    postcode: str
    street: str
    vat: str  # a VAT id pattern ("#" = a digit chosen so the check digits hold), "" for none
    language: str = "en"
    colour: tuple[int, int, int] = (40, 90, 160)
    shape: str = "wide"  # wide, square, tall


# fmt: off
COMPANIES = [
    Company("nordlicht", "Nordlicht Cloud", "Nordlicht Cloud GmbH", "DE", "Hamburg", "20457", "Am Sandtorkai 54", "DE#########", "de", (16, 96, 160), "wide"),
    Company("spreewald", "Spreewald Hosting", "Spreewald Hosting GmbH", "DE", "Cottbus", "03046", "Berliner Straße 12", "DE#########", "de", (34, 139, 87), "square"),
    Company("isar", "Isar Rechenzentrum", "Isar Rechenzentrum AG", "DE", "München", "80331", "Sendlinger Straße 7", "DE#########", "de", (0, 102, 153), "wide"),
    Company("elbe", "Elbe Datenwerk", "Elbe Datenwerk GmbH", "DE", "Dresden", "01067", "Ostra-Allee 9", "DE#########", "de", (120, 40, 140), "wide"),
    Company("rheinwerk", "Rheinwerk Server", "Rheinwerk Server eG", "DE", "Köln", "50667", "Hohe Straße 101", "DE#########", "de", (180, 60, 40), "tall"),
    Company("schwarzwald", "Schwarzwald Netz", "Schwarzwald Netz GmbH", "DE", "Freiburg im Breisgau", "79098", "Kaiser-Joseph-Straße 244", "DE#########", "de", (20, 70, 40), "wide"),
    Company("havelblick", "Havelblick Software", "Havelblick Software GmbH", "DE", "Potsdam", "14467", "Brandenburger Straße 30", "DE#########", "de", (200, 120, 20), "square"),
    Company("kiel", "Kieler Förde IT", "Kieler Förde IT GmbH", "DE", "Kiel", "24103", "Holstenstraße 88", "DE#########", "de", (10, 60, 120), "wide"),
    Company("weserbergland", "Weserbergland Daten", "Weserbergland Daten GmbH", "DE", "Hameln", "31785", "Osterstraße 15", "DE#########", "de", (90, 90, 90), "wide"),
    Company("ostsee", "Ostsee Compute", "Ostsee Compute GmbH", "DE", "Rostock", "18055", "Kröpeliner Straße 26", "DE#########", "de", (0, 130, 170), "tall"),
    Company("nuage", "Nuage Libre", "Nuage Libre SAS", "FR", "Lyon", "69002", "12 rue de la République", "FR###########", "en", (200, 30, 70), "wide"),
    Company("solidaire", "Hébergement Solidaire", "Hébergement Solidaire SCIC", "FR", "Nantes", "44000", "5 quai de la Fosse", "FR###########", "en", (230, 100, 30), "square"),
    Company("octet", "Octet Lumière", "Octet Lumière SARL", "FR", "Lille", "59000", "18 rue Faidherbe", "FR###########", "en", (240, 180, 0), "wide"),
    Company("polderhost", "Polderhost", "Polderhost B.V.", "NL", "Utrecht", "3511 LX", "Oudegracht 150", "NL#########B01", "en", (255, 120, 0), "wide"),
    Company("grachtenwolk", "Grachtenwolk", "Grachtenwolk B.V.", "NL", "Amsterdam", "1016 GV", "Herengracht 420", "NL#########B01", "en", (0, 80, 200), "tall"),
    Company("dijkstra", "Dijkstra Netwerken", "Dijkstra Netwerken B.V.", "NL", "Rotterdam", "3011 AD", "Coolsingel 40", "NL#########B01", "en", (60, 60, 160), "wide"),
    Company("alpenrechner", "Alpenrechner", "Alpenrechner GmbH", "AT", "Wien", "1010", "Graben 19", "ATU########", "de", (200, 16, 46), "wide"),
    Company("donauwelle", "Donauwelle IT", "Donauwelle IT GmbH", "AT", "Linz", "4020", "Landstraße 31", "ATU########", "de", (0, 110, 110), "square"),
    Company("brabant", "Brabant Cloud", "Brabant Cloud BV", "BE", "Leuven", "3000", "Bondgenotenlaan 72", "BE0#########", "en", (70, 30, 110), "wide"),
    Company("nuvola", "Nuvola Aperta", "Nuvola Aperta S.r.l.", "IT", "Bologna", "40121", "Via dell'Indipendenza 8", "IT###########", "en", (0, 140, 70), "wide"),
    Company("redlibre", "Red Libre", "Asociación Red Libre", "ES", "Valencia", "46002", "Carrer de Sant Vicent Màrtir 22", "", "en", (190, 0, 40), "square"),
    Company("norrsken", "Norrsken Drift", "Norrsken Drift AB", "SE", "Göteborg", "411 19", "Kungsportsavenyen 10", "SE##########01", "en", (0, 90, 160), "wide"),
    Company("fjordsky", "Fjordsky", "Fjordsky ApS", "DK", "Aarhus", "8000", "Søndergade 45", "DK########", "en", (30, 120, 180), "tall"),
    Company("revontuli", "Revontuli Pilvi", "Revontuli Pilvi Oy", "FI", "Tampere", "33100", "Hämeenkatu 14", "FI########", "en", (40, 160, 120), "wide"),
    Company("wisla", "Wisła Serwery", "Wisła Serwery sp. z o.o.", "PL", "Kraków", "31-042", "Rynek Główny 28", "PL##########", "en", (180, 20, 60), "wide"),
    Company("moselle", "Moselle Datacenter", "Moselle Datacenter S.à r.l.", "LU", "Luxembourg", "1330", "2 boulevard Grande-Duchesse Charlotte", "LU########", "en", (0, 100, 150), "square"),
    Company("cascadia", "Cascadia Compute", "Cascadia Compute Inc.", "US", "Portland, OR", "97204", "1000 SW Broadway", "", "en", (16, 110, 60), "wide"),
    Company("prairie", "Open Prairie Foundation", "Open Prairie Foundation", "US", "Madison, WI", "53703", "22 E Mifflin St", "", "en", (170, 120, 40), "tall"),
    Company("helvetia", "Helvetia Cloud", "Helvetia Cloud AG", "CH", "Zürich", "8001", "Bahnhofstrasse 45", "", "de", (220, 0, 0), "square"),
    Company("thamesbyte", "Thames Byte", "Thames Byte Ltd", "GB", "London", "EC2A 4NE", "86 Paul Street", "", "en", (10, 40, 90), "wide"),
    Company("maplerelay", "Maple Relay", "Maple Relay Inc.", "CA", "Toronto, ON", "M5V 2T6", "150 King St W", "", "en", (200, 20, 20), "wide"),
    Company("fjellnett", "Fjellnett", "Fjellnett AS", "NO", "Bergen", "5003", "Torgallmenningen 8", "", "en", (0, 60, 110), "square"),
    Company("sakura", "Sakura Edge", "Sakura Edge K.K.", "JP", "Osaka", "530-0001", "3-1-3 Umeda, Kita-ku", "", "en", (230, 90, 140), "wide"),
    Company("lakeview", "Lakeview Labs", "Lakeview Labs LLC", "US", "Chicago, IL", "60601", "200 E Randolph St", "", "en", (30, 80, 140), "wide"),
    Company("bergbahn", "Bergbahn Software", "Bergbahn Software AG", "CH", "Bern", "3011", "Marktgasse 50", "", "de", (90, 40, 20), "tall"),
    Company("lausitz", "Lausitz Energie IT", "Lausitz Energie IT GmbH", "DE", "Senftenberg", "01968", "Markt 1", "DE#########", "de", (250, 170, 0), "wide"),
    Company("mainmetrics", "Main Metrics", "Main Metrics GmbH", "DE", "Frankfurt am Main", "60311", "Neue Mainzer Straße 52", "DE#########", "de", (0, 50, 100), "wide"),
    Company("saale", "Saale Systemhaus", "Saale Systemhaus GmbH", "DE", "Halle (Saale)", "06108", "Große Ulrichstraße 60", "DE#########", "de", (110, 20, 20), "square"),
    Company("ruhrpott", "Ruhrpott Rechenzentrum", "Ruhrpott Rechenzentrum GmbH", "DE", "Essen", "45127", "Kettwiger Straße 2", "DE#########", "de", (60, 60, 60), "wide"),
    Company("bodensee", "Bodensee Backup", "Bodensee Backup GmbH", "DE", "Konstanz", "78462", "Marktstätte 3", "DE#########", "de", (0, 120, 200), "wide"),
]
# fmt: on

# key, package, start (a month of the demo window by index, or days from today as "+30"), fate, payment.
# Fates: ended, active, overdue (invoiced, unpaid, past due), invoiced (not yet due), corrected (invoiced,
# cancelled by a credit note and issued again), approved, submitted, draft, rejected, withdrawn
# (cancelled before review), cancelled (invoiced, then cancelled: a credit note).
PLAN = [
    ("nordlicht", "platinum", 1, "ended", "bank"),
    ("nordlicht", "platinum", 13, "active", "bank"),  # renewal
    ("spreewald", "gold", 3, "ended", "stripe"),
    ("spreewald", "gold", 15, "active", "stripe"),  # renewal
    ("isar", "silver", 5, "ended", "bank"),
    ("elbe", "gold", 14, "active", "bank"),  # the demo sponsor login
    ("rheinwerk", "bronze", 2, "ended", "bank"),
    ("rheinwerk", "bronze", 14, "active", "bank"),  # renewal
    ("schwarzwald", "silver", 18, "active", "stripe"),
    ("havelblick", "gold", "-20", "overdue", ""),
    ("kiel", "silver", "+40", "submitted", ""),
    ("weserbergland", "gold", 6, "rejected", ""),
    ("ostsee", "silver", "+5", "cancelled", ""),
    ("nuage", "gold", 2, "ended", "stripe"),
    ("nuage", "gold", 14, "active", "stripe"),  # renewal
    ("solidaire", "silver", 16, "active", "bank"),
    ("octet", "silver", "+12", "invoiced", ""),
    ("polderhost", "gold", 7, "ended", "bank"),
    ("grachtenwolk", "silver", 19, "active", "stripe"),
    ("dijkstra", "platinum", "next-platinum", "submitted", ""),
    ("alpenrechner", "silver", 4, "ended", "bank"),
    ("alpenrechner", "silver", 16, "active", "bank"),  # renewal
    ("donauwelle", "gold", "-35", "overdue", ""),
    ("brabant", "gold", 20, "active", "bank"),
    ("nuvola", "silver", 8, "ended", "stripe"),
    ("redlibre", "silver", 17, "active", "bank"),
    ("norrsken", "gold", 9, "ended", "bank"),
    ("fjordsky", "silver", "+30", "approved", ""),
    ("revontuli", "bronze", 10, "ended", "bank"),
    ("wisla", "silver", 21, "active", "stripe"),
    ("moselle", "gold", "+60", "draft", ""),
    ("cascadia", "gold", 6, "ended", "stripe"),
    ("cascadia", "gold", 18, "active", "stripe"),  # renewal
    ("prairie", "bronze", 12, "ended", "stripe"),
    ("helvetia", "gold", 11, "ended", "bank"),
    ("thamesbyte", "silver", 22, "active", "stripe"),
    ("maplerelay", "gold", "-50", "overdue", ""),
    ("fjellnett", "silver", "+25", "submitted", ""),
    ("sakura", "gold", "+20", "rejected", ""),
    ("lakeview", "gold", 8, "withdrawn", ""),
    ("bergbahn", "bronze", 20, "active", "bank"),
    ("lausitz", "bronze", 15, "active", "bank"),
    ("mainmetrics", "silver", "+45", "draft", ""),
    ("saale", "silver", "+10", "corrected", ""),
    ("ruhrpott", "silver", 10, "rejected", ""),
    ("bodensee", "gold", "+50", "approved", ""),
]

REJECTIONS = {
    "weserbergland": "Our sponsorship policy excludes companies whose main business is online gambling.",
    "sakura": "The billing address is incomplete and the website is not reachable; please apply again.",
    "ruhrpott": "The logo shows a product advertisement, not the company's logo; please apply with the logo.",
}
CONTACT_NAMES = [
    ("Jana Köhler", "Marketing"),
    ("Lukas Brandt", "Finance"),
    ("Camille Martin", "Partnerships"),
    ("Sem de Vries", "CTO"),
    ("Emily Carter", "Community"),
    ("Matteo Ricci", "Marketing"),
    ("Sofia Lindqvist", "Finance"),
    ("Yuki Tanaka", "Developer relations"),
]


@dataclass
class Booking:
    """One planned sponsorship and, once made, the records that stand for it."""

    number: int
    company: Company
    package: str
    start: datetime.date
    fate: str
    payment: str
    previous: Booking | None = None
    sponsorship: Sponsorship | None = None
    days: dict[str, datetime.date] = field(default_factory=dict)


def seed(*, rng: random.Random, today: datetime.date, real_kinds, log: Callable[[str], None]) -> None:
    packages = _seed_packages()
    if Sponsor.objects.filter(billing_email__in=[_billing_email(c) for c in COMPANIES]).exists():
        log(f"sponsors demo: already there ({Sponsorship.objects.count()} sponsorships)")
        return
    months = window(today)
    users = _demo_users()
    with transaction.atomic(), _side_effects_skipped():
        _seller_ready(log)
        sponsors = {company.key: _sponsor(company, rng) for company in COMPANIES}
        bookings = _bookings(months, today, rng)
        _replay(bookings, packages, sponsors, users, today, rng)
        _wrap_up(bookings, sponsors, users, today, rng)
    by_status = {status: Sponsorship.objects.filter(status=status).count() for status in Status.values}
    log(
        f"sponsors demo: {len(PACKAGES)} packages, {Sponsor.objects.count()} companies, "
        f"{Sponsorship.objects.count()} sponsorships ("
        + ", ".join(f"{count} {status}" for status, count in by_status.items() if count)
        + f"), {Invoice.objects.invoices().count()} invoices, "
        f"{Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count()} credit notes"
        + (f"; {DEMO_SPONSOR_LOGIN} manages {sponsors['elbe']}" if users["sponsor"] else "")
    )


# --- Side effects ---------------------------------------------------------------------------------


@contextmanager
def _side_effects_skipped():
    """No e-mails or PDF tasks after commit while seeding; direct e-mails go to the dummy backend."""
    with (
        services.side_effects_suppressed(),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
    ):
        yield


def _seller_ready(log) -> None:
    """Every invoice freezes the seller from the organisation's settings. cms/demo.py fills them, but it
    runs after this seeder (its ORDER is the default 100), so on a fresh database they are filled here
    first from the same values; the cms seeder sets them again (with the logo) later."""
    if services.seller_snapshot().get("name"):
        return
    from wagtail.models import Site

    from cms.demo import ORGANISATION
    from cms.models import OrganisationSettings

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        log("sponsors demo: no default site, so the demo invoices name no seller")
        return
    organisation = OrganisationSettings.for_site(site)
    for name, value in ORGANISATION.items():
        setattr(organisation, name, value)
    organisation.save()


# --- Packages and companies -----------------------------------------------------------------------


def _seed_packages() -> dict[str, Package]:
    packages = {}
    for (
        slug,
        name,
        name_de,
        price,
        capacity,
        home,
        sponsors_page,
        footer,
        size,
        link,
        announcements,
        rank,
        text,
        text_de,
    ) in PACKAGES:
        package, created = Package.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_de": name_de,
                "description": text,
                "description_de": text_de,
                "price": Decimal(price),
                "price_period": Package.PricePeriod.YEAR,
                "duration_months": 12,
                "capacity": capacity,
                "on_home_page": home,
                "on_sponsors_page": sponsors_page,
                "in_footer": footer,
                "logo_size": size,
                "links_to_sponsor": link,
                "mentioned_in_announcements": announcements,
                "rank": rank,
                "open_for_applications": True,
            },
        )
        if created:
            package.save_revision().publish()
            package.refresh_from_db()
        packages[slug] = package
    return packages


def _billing_email(company: Company) -> str:
    return f"invoices@{company.key}.example"


def vat_id_make(pattern: str, rng: random.Random) -> str:
    """A VAT id of ``pattern`` ("DE#########") whose check digits hold (python-stdnum decides)."""
    from stdnum.eu import vat as eu_vat

    for _attempt in range(10_000):
        candidate = "".join(str(rng.randint(0, 9)) if char == "#" else char for char in pattern)
        if eu_vat.is_valid(candidate):
            return candidate
    raise ValueError(f"No valid VAT id for {pattern}")


def _sponsor(company: Company, rng: random.Random) -> Sponsor:
    sponsor = Sponsor.objects.create(
        legal_name=company.legal_name,
        display_name=company.display_name,
        website=f"https://www.{company.key}.example/",
        street=company.street,
        postcode=company.postcode,
        city=company.city,
        country=company.country,
        vat_id=vat_id_make(company.vat, rng) if company.vat else "",
        billing_email=_billing_email(company),
        purchase_order=f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.25 else "",
        consent_annual_report=rng.random() < 0.85,
        language=company.language,
    )
    for name, role in rng.sample(CONTACT_NAMES, rng.choice([1, 1, 2])):
        first = name.split()[0].lower()
        SponsorContact.objects.create(
            sponsor=sponsor, name=name, role=role, email=f"{first}@{company.key}.example"
        )
    return sponsor


def _font(size: int):
    """DejaVu Sans Bold where the system has it; otherwise Pillow's own font (ASCII only)."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size), False
    except OSError:
        return ImageFont.load_default(size=size), True


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def logo_png(company: Company, rng: random.Random, *, variant: int = 0) -> bytes:
    """A simple coloured wordmark: a mark with the initial and the company's name; wide, square or tall."""
    from PIL import Image, ImageDraw

    colour = (
        company.colour if not variant else tuple((value + 70 * variant) % 256 for value in company.colour)
    )
    ink = (*colour, 255)
    name = company.display_name
    if company.shape == "wide":
        mark = rng.choice([200, 240, 260])
        font, ascii_only = _font(int(mark * 0.42))
        name = _ascii(name) if ascii_only else name
        text_width = int(font.getlength(name))
        size = (mark + text_width + 100, mark + 40)
    else:
        mark = 220
        font, ascii_only = _font(44 if company.shape == "square" else 40)
        name = _ascii(name) if ascii_only else name
        lines = name.split() if company.shape == "tall" else [name]
        text_width = max(int(font.getlength(line)) for line in lines)
        height = 20 + mark + 30 + int(font.size * 1.3) * len(lines) + 20
        size = (max(mark + 40, text_width + 40), max(height, mark + 40))
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    width, height = size
    initial_font, _ascii_only = _font(mark // 2)
    if company.shape == "wide":
        draw.rounded_rectangle((20, 20, 20 + mark, 20 + mark), radius=mark // 5, fill=ink)
        draw.text((20 + mark // 2, 20 + mark // 2), name[0], font=initial_font, fill="white", anchor="mm")
        draw.text((mark + 60, height // 2), name, font=font, fill=ink, anchor="lm")
    else:
        draw.ellipse(((width - mark) // 2, 20, (width + mark) // 2, 20 + mark), fill=ink)
        draw.text((width // 2, 20 + mark // 2), name[0], font=initial_font, fill="white", anchor="mm")
        top = mark + 50
        for line in lines:
            draw.text((width // 2, top), line, font=font, fill=ink, anchor="mt")
            top += int(font.size * 1.3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _logo_upload(sponsor: Sponsor, company: Company, rng, *, day: datetime.date, by=None, variant=0):
    upload = SimpleUploadedFile(
        f"{company.key}-logo.png", logo_png(company, rng, variant=variant), content_type="image/png"
    )
    logo = services.logo_upload(sponsor=sponsor, upload=upload, by=by)
    SponsorLogo.objects.filter(pk=logo.pk).update(uploaded_at=_moment(day, 10))
    return logo


# --- The plan and its replay in date order --------------------------------------------------------


def _moment(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _months_later(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (days 1 and 15 only, so every month has it)."""
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def _bookings(months: list[datetime.date], today: datetime.date, rng: random.Random) -> list[Booking]:
    companies = {company.key: company for company in COMPANIES}
    bookings: list[Booking] = []
    latest: dict[str, Booking] = {}
    for number, (key, package, start, fate, payment) in enumerate(PLAN, start=1):
        if isinstance(start, int):
            # A period that has ended by today starts on the 1st; a running one may start mid-month.
            day = months[start].replace(day=1 if fate == "ended" else rng.choice([1, 1, 1, 15]))
        elif start == "next-platinum":  # the day after the current Platinum sponsor's period
            current = [booking for booking in bookings if booking.package == "platinum"][-1]
            day = _months_later(current.start, 12)
        else:
            day = today + datetime.timedelta(days=int(start))
        previous = latest.get(key) if latest.get(key) and latest[key].fate == "ended" else None
        if previous is not None:
            day = _months_later(previous.start, 12)  # the day after the last period
        booking = Booking(number, companies[key], package, day, fate, payment, previous=previous)
        _plan_days(booking, months[0], today, rng)
        bookings.append(booking)
        latest[key] = booking
    return bookings


def _plan_days(booking: Booking, first_day: datetime.date, today: datetime.date, rng: random.Random):
    """The days of each step: application, decision, invoice, payment (all before today)."""
    days, start, fate = booking.days, booking.start, booking.fate
    if fate in ("overdue", "invoiced", "corrected", "cancelled"):
        overdue_by = {
            "overdue": 14 + abs((start - today).days),
            "invoiced": 4,
            "corrected": 9,
            "cancelled": 20,
        }
        days["invoice"] = today - datetime.timedelta(days=overdue_by[fate])
        days["decision"] = days["invoice"]
        days["apply"] = days["decision"] - datetime.timedelta(days=rng.randint(2, 6))
        return
    if start >= today:  # an application for a coming period, made recently
        days["apply"] = today - datetime.timedelta(days=rng.randint(3, 12))
        days["decision"] = days["apply"] + datetime.timedelta(days=rng.randint(1, 2))
        return
    lead = 30 if booking.previous is not None else rng.randint(18, 40)
    days["apply"] = start - datetime.timedelta(days=lead)
    days["decision"] = days["apply"] + datetime.timedelta(days=rng.randint(1, 5))
    days["invoice"] = max(days["decision"], first_day + datetime.timedelta(days=1))
    if fate in ("ended", "active"):
        paid = days["invoice"] + datetime.timedelta(days=rng.randint(2, 18))
        days["paid"] = min(paid, today - datetime.timedelta(days=1))


def _replay(bookings, packages, sponsors, users, today, rng) -> None:
    events = []
    for booking in bookings:
        for step, day in booking.days.items():
            rank = ["apply", "decision", "invoice", "paid"].index(step)
            events.append((day, rank, booking.number, step, booking))
    for day, _rank, _number, step, booking in sorted(events, key=lambda event: event[:3]):
        sponsor = sponsors[booking.company.key]
        if step == "apply":
            _apply(booking, sponsor, packages[booking.package], users, day, today, rng)
        elif step == "decision":
            _decide(booking, users, day)
        elif step == "invoice" and booking.sponsorship.status == Status.APPROVED:
            _dated(booking.sponsorship, day, lambda b=booking, d=day: _issue(b, users, d))
        elif step == "paid":
            _pay(booking, users, day, today)


def _dated(sponsorship: Sponsorship, day: datetime.date, step, *, hour: int = 12):
    """Run ``step`` and date the moves it recorded on ``day`` (they happened then)."""
    started = timezone.now()
    result = step()
    SponsorshipChange.objects.filter(sponsorship=sponsorship, at__gte=started).update(at=_moment(day, hour))
    return result


def _apply(booking: Booking, sponsor, package, users, day, today, rng) -> None:
    company = booking.company
    applicant = users["sponsor"] if company.key == "elbe" else None
    if booking.previous is None and booking.fate != "draft":
        _logo_upload(sponsor, company, rng, day=day, by=applicant)
    sponsorship = services.sponsorship_draft(
        sponsor=sponsor, package=package, start_date=booking.start, applicant=applicant
    )
    if booking.previous is not None:
        sponsorship.previous = booking.previous.sponsorship
        sponsorship.save(update_fields=["previous"])
    booking.sponsorship = sponsorship
    Sponsorship.objects.filter(pk=sponsorship.pk).update(created_at=_moment(day, 9))
    if booking.fate == "draft":
        return
    if booking.start >= today:
        _dated(sponsorship, day, lambda: services.application_submit(sponsorship=sponsorship, by=applicant))
    else:  # a past period: application_submit rightly refuses past start dates
        reason = "Renewal" if booking.previous is not None else ""
        _dated(sponsorship, day, lambda: sponsorship.submit(by=applicant, reason=reason), hour=10)
    Sponsorship.objects.filter(pk=sponsorship.pk).update(submitted_at=_moment(day, 10))
    sponsorship.refresh_from_db()


def _decide(booking: Booking, users, day) -> None:
    sponsorship, fate, finance = booking.sponsorship, booking.fate, users["finance"]
    if fate in ("draft", "submitted"):
        return
    if fate == "rejected":
        reason = REJECTIONS[booking.company.key]
        _dated(
            sponsorship,
            day,
            lambda: services.sponsorship_reject(sponsorship=sponsorship, by=finance, reason=reason),
        )
        _logo_close(sponsorship, users, day, "The application was rejected.")
        return
    if fate == "withdrawn":
        _dated(
            sponsorship,
            day,
            lambda: services.sponsorship_cancel(
                sponsorship=sponsorship,
                by=finance,
                reason="The company withdrew its application before review.",
            ),
        )
        _logo_close(sponsorship, users, day, "The application was withdrawn.")
        return
    logo = sponsorship.sponsor.pending_logo()
    _dated(
        sponsorship,
        day,
        lambda: services.sponsorship_approve(sponsorship=sponsorship, by=finance, issue_invoice=False),
    )
    if logo is not None:
        SponsorLogo.objects.filter(pk=logo.pk).update(reviewed_at=_moment(day, 12))
    sponsorship.refresh_from_db()


def _logo_close(sponsorship: Sponsorship, users, day, reason: str) -> None:
    """The logo of an application that will not run leaves the review queue."""
    logo = sponsorship.sponsor.pending_logo()
    if logo is not None:
        services.logo_reject(logo=logo, by=users["editor"], reason=reason)
        SponsorLogo.objects.filter(pk=logo.pk).update(reviewed_at=_moment(day, 13))


def _issue(booking: Booking, users, day) -> Invoice:
    invoice = services.invoice_issue(sponsorship=booking.sponsorship, by=users["finance"], issue_date=day)
    Invoice.objects.filter(pk=invoice.pk).update(created_at=_moment(day, 12))
    booking.sponsorship.refresh_from_db()
    return invoice


def _pay(booking: Booking, users, day, today) -> None:
    sponsorship = booking.sponsorship
    invoice = sponsorship.open_invoice()
    if invoice is None:
        return
    if booking.payment == "stripe":
        _dated(sponsorship, day, lambda: _stripe_payment(booking, invoice, day, today))
    else:
        reference = f"SEPA-{day:%Y%m%d}-{invoice.number}"
        _dated(
            sponsorship,
            day,
            lambda: services.invoice_mark_paid(
                invoice=invoice, paid_on=day, reference=reference, by=users["finance"]
            ),
        )
    Sponsorship.objects.filter(pk=sponsorship.pk).update(paid_at=_moment(day, 12))


def _stripe_payment(booking: Booking, invoice: Invoice, day: datetime.date, today: datetime.date) -> None:
    """A card or SEPA payment as Stripe's events report it, and its payout two days later."""
    from payments import types
    from payments.services import events_dispatch

    key = f"sponsor_{booking.number}"
    card = booking.number % 2 == 0
    fee = (invoice.gross_amount * Decimal("0.015") + Decimal("0.25")) if card else Decimal("0.35")
    fee = fee.quantize(CENT, ROUND_HALF_UP)
    paid_at = _moment(day, 11)
    base = {"event_created": paid_at, "livemode": False}
    sponsor = booking.sponsorship.sponsor
    events = [
        types.PaymentSucceeded(
            event_id=f"evt_demo_{key}",
            **base,
            charge_id=f"ch_demo_{key}",
            payment_intent_id=f"pi_demo_{key}",
            invoice_id="",
            subscription_id="",
            customer_id="",
            checkout_session_id=f"cs_demo_{key}",
            customer_email=sponsor.billing_email,
            customer_name=sponsor.legal_name,
            address=types.Address(
                line1=sponsor.street, postal_code=sponsor.postcode, city=sponsor.city, country=sponsor.country
            ),
            amount=invoice.gross_amount,
            tax_amount=Decimal("0.00"),
            currency="eur",
            paid_at=paid_at,
            settlement=types.Settlement(
                charge_id=f"ch_demo_{key}",
                payment_intent_id=f"pi_demo_{key}",
                balance_transaction_id=f"txn_demo_{key}",
                amount_eur=invoice.gross_amount,
                fee_eur=fee,
                net_eur=invoice.gross_amount - fee,
                exchange_rate=None,
            ),
            billing_reason="checkout",
            period_start=None,
            period_end=None,
            metadata={"purpose": services.PURPOSE, "invoice": invoice.number},
        )
    ]
    arrival = day + datetime.timedelta(days=2)
    if arrival < today:
        events.append(
            types.PayoutPaid(
                event_id=f"evt_demo_{key}_payout",
                event_created=_moment(arrival, 9),
                livemode=False,
                payout_id=f"po_demo_{key}",
                amount_eur=invoice.gross_amount - fee,
                arrival_date=arrival,
            )
        )
    events_dispatch(events)


# --- After the replay: periods that ended, reminders, today's cancellations and corrections --------


def _wrap_up(bookings, sponsors, users, today, rng) -> None:
    finance = users["finance"]
    started = timezone.now()
    services.sponsorships_end_expired(today=today)
    for change in SponsorshipChange.objects.filter(action="end", at__gte=started).select_related(
        "sponsorship"
    ):
        ended_on = change.sponsorship.end_date + datetime.timedelta(days=1)
        SponsorshipChange.objects.filter(pk=change.pk).update(at=_moment(ended_on, 3))

    for booking in bookings:
        sponsorship = booking.sponsorship
        if booking.fate == "cancelled":
            services.sponsorship_cancel(
                sponsorship=sponsorship,
                by=finance,
                reason="The company was taken over; the new owner does not continue the sponsorship.",
            )
        elif booking.fate == "corrected":
            sponsor = sponsorship.sponsor
            sponsor.street, sponsor.address_extra = "Große Ulrichstraße 60", "Aufgang B, 3. OG"
            sponsor.purchase_order = "PO-2291"
            sponsor.save(update_fields=["street", "address_extra", "purchase_order"])
            services.invoice_cancel(
                invoice=sponsorship.open_invoice(),
                by=finance,
                reason="Missing purchase order and address line",
                reissue=True,
            )

    services.invoice_reminders_send(today=today)
    for invoice in Invoice.objects.open().filter(reminder_1_sent_at__isnull=False):
        Invoice.objects.filter(pk=invoice.pk).update(
            reminder_1_sent_at=_moment(invoice.due_date + datetime.timedelta(days=7), 8),
            reminder_2_sent_at=(
                _moment(invoice.due_date + datetime.timedelta(days=21), 8)
                if invoice.reminder_2_sent_at
                else None
            ),
        )

    _replacement_logos(sponsors, users, today, rng)
    _link_demo_sponsor(sponsors["elbe"], users["sponsor"])


def _replacement_logos(sponsors, users, today, rng) -> None:
    """Two active sponsors sent a new logo: one waits for review, one was rejected."""
    companies = {company.key: company for company in COMPANIES}
    waiting = _logo_upload(
        sponsors["elbe"],
        companies["elbe"],
        rng,
        day=today - datetime.timedelta(days=2),
        variant=1,
        by=users["sponsor"],
    )
    rejected = _logo_upload(
        sponsors["grachtenwolk"],
        companies["grachtenwolk"],
        rng,
        day=today - datetime.timedelta(days=9),
        variant=1,
    )
    services.logo_reject(
        logo=rejected,
        by=users["editor"],
        reason="The new logo is cut off at the right edge; please send it with some space around it.",
    )
    SponsorLogo.objects.filter(pk=rejected.pk).update(
        reviewed_at=_moment(today - datetime.timedelta(days=8), 10)
    )
    assert waiting.status == SponsorLogo.Status.PENDING


def _demo_users() -> dict:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    found = {
        user.email: user
        for user in User.objects.filter(email__in=[DEMO_SPONSOR_LOGIN, FINANCE_LOGIN, EDITOR_LOGIN])
    }
    return {
        "sponsor": found.get(DEMO_SPONSOR_LOGIN),
        "finance": found.get(FINANCE_LOGIN),
        "editor": found.get(EDITOR_LOGIN),
    }


def _link_demo_sponsor(sponsor: Sponsor, user) -> None:
    """The demo sponsor login manages Elbe Datenwerk (an active Gold sponsorship)."""
    if user is None:
        return
    sponsor.users.add(user)
    SponsorContact.objects.get_or_create(
        sponsor=sponsor,
        email=user.email,
        defaults={"name": user.get_full_name() or user.email, "role": "Marketing"},
    )
