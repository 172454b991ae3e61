"""Sponsors: packages companies buy, their applications (sponsorships), logos, invoices and credit notes.

A **package** (Platinum, Gold, ...) says what a sponsor gets and what it costs. A **sponsorship** is one
company's booking of one package for one period; it moves through the statuses in ``TRANSITIONS`` (one
table, guarded methods, every move recorded in ``SponsorshipChange``). A renewal is the next sponsorship,
pointing to the one before.

Whether the sponsorship is a taxable sale depends on the package (DOMAIN.md 4): a logo **with a link** is
active advertising (sphere 4, 19 % VAT for German customers, reverse charge for EU businesses with a VAT
id, not taxable in Germany outside the EU); a mention **without link** is passive (no VAT). The treatment
is frozen on each invoice when it is issued, so a later change of the package never rewrites an invoice.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.models import DraftStateMixin, RevisionMixin
from wagtail.search import index

from config.storages import private_storage

from .querysets import InvoiceQuerySet, PackageQuerySet, SponsorshipQuerySet

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# EU member states (ISO 3166-1 alpha-2) for the reverse-charge rule; Greece's VAT prefix is EL.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
HOME_COUNTRY = "DE"


class InvalidTransition(Exception):
    """The status of a sponsorship (or invoice) does not allow this change."""


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- Packages -------------------------------------------------------------------------------------


class Package(DraftStateMixin, RevisionMixin, index.Indexed, models.Model):
    """What a sponsor buys. Edited in Wagtail as a snippet with drafts and revisions."""

    class PricePeriod(models.TextChoices):
        YEAR = "year", _("per year")
        MONTH = "month", _("per month")

    class LogoSize(models.TextChoices):
        EXTRA_LARGE = "xl", _("extra large")
        LARGE = "l", _("large")
        MEDIUM = "m", _("medium")
        SMALL = "s", _("small")

    slug = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name (English)"), max_length=80)
    name_de = models.CharField(_("name (German)"), max_length=80, blank=True)
    description = models.TextField(_("description (English)"), blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    price = _money(
        verbose_name=_("price (net)"),
        validators=[MinValueValidator(Decimal("1.00"))],
        help_text=_("Net amount in EUR; VAT is added where the law requires it."),
    )
    price_period = models.CharField(
        _("price is"), max_length=5, choices=PricePeriod.choices, default=PricePeriod.YEAR
    )
    duration_months = models.PositiveSmallIntegerField(
        _("duration in months"),
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_("How long one sponsorship period lasts; one invoice covers one period."),
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        help_text=_("How many sponsors this package can have at the same time; empty for no limit."),
    )
    on_home_page = models.BooleanField(_("logo on the home page"), default=False)
    on_sponsors_page = models.BooleanField(_("logo on the sponsors page"), default=True)
    in_footer = models.BooleanField(_("logo in the footer"), default=False)
    logo_size = models.CharField(
        _("logo size"), max_length=2, choices=LogoSize.choices, default=LogoSize.MEDIUM
    )
    links_to_sponsor = models.BooleanField(
        _("logo links to the sponsor's site"),
        default=True,
        help_text=_(
            "A link is active advertising: a taxable sale with 19 % VAT (sphere 4). Without a link and "
            "without emphasis it is a passive mention: no VAT."
        ),
    )
    mentioned_in_announcements = models.BooleanField(_("mention in announcements"), default=False)
    rank = models.PositiveSmallIntegerField(
        _("rank"), default=10, help_text=_("Lower ranks are shown first (Platinum 1, Gold 2, ...).")
    )
    open_for_applications = models.BooleanField(_("open for applications"), default=True)

    objects = PackageQuerySet.as_manager()

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("slug"),
                FieldRowPanel([FieldPanel("name"), FieldPanel("name_de")]),
                FieldPanel("description"),
                FieldPanel("description_de"),
                FieldPanel("rank"),
            ],
            heading=_("Package"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("price"), FieldPanel("price_period")]),
                FieldRowPanel([FieldPanel("duration_months"), FieldPanel("capacity")]),
                FieldPanel("open_for_applications"),
            ],
            heading=_("Price and availability"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [FieldPanel("on_home_page"), FieldPanel("on_sponsors_page"), FieldPanel("in_footer")]
                ),
                FieldPanel("logo_size"),
                FieldPanel("links_to_sponsor"),
                FieldPanel("mentioned_in_announcements"),
            ],
            heading=_("Benefits"),
        ),
    ]

    search_fields = [index.SearchField("name"), index.SearchField("name_de"), index.FilterField("slug")]

    class Meta:
        ordering = ["rank", "-price"]
        verbose_name = _("sponsorship package")
        verbose_name_plural = _("sponsorship packages")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "en").startswith("de") and self.name_de:
            return self.name_de
        return self.name

    @property
    def display_description(self) -> str:
        if (get_language() or "en").startswith("de") and self.description_de:
            return self.description_de
        return self.description

    @property
    def is_passive_mention(self) -> bool:
        """No link (and so no active advertising): not a taxable sale (DOMAIN.md 4)."""
        return not self.links_to_sponsor

    def period_net(self) -> Decimal:
        """The net price of one sponsorship period (``duration_months`` long)."""
        if self.price_period == self.PricePeriod.MONTH:
            return round_cents(self.price * self.duration_months)
        return round_cents(self.price * Decimal(self.duration_months) / Decimal(12))

    def period_end(self, start: datetime.date) -> datetime.date:
        """The last day of a period that starts on ``start``."""
        month = start.month - 1 + self.duration_months
        year = start.year + month // 12
        month = month % 12 + 1
        day = min(start.day, _days_in_month(year, month))
        return datetime.date(year, month, day) - datetime.timedelta(days=1)

    def seats_taken(self, *, on: datetime.date | None = None, exclude_pk: int | None = None) -> int:
        """Sponsorships of this package that hold a seat (approved or further, not ended) on a day."""
        on = on or timezone.localdate()
        qs = self.sponsorships.holding_seat().filter(start_date__lte=on, end_date__gte=on)
        if exclude_pk:
            qs = qs.exclude(pk=exclude_pk)
        return qs.count()

    def has_capacity(self, *, start: datetime.date, exclude_pk: int | None = None) -> bool:
        if self.capacity is None:
            return True
        return self.seats_taken(on=start, exclude_pk=exclude_pk) < self.capacity


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)).day


# --- Sponsors (companies) -------------------------------------------------------------------------


class Sponsor(models.Model):
    """A company that sponsors. Its users manage it in the sponsor dashboard."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    display_name = models.CharField(
        _("display name"), max_length=80, help_text=_("The name shown on the site next to the logo.")
    )
    website = models.URLField(_("website"), max_length=300, blank=True)
    street = models.CharField(_("street and number"), max_length=200)
    address_extra = models.CharField(_("address line 2"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=16)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. DE, FR, US."))
    vat_id = models.CharField(
        _("VAT ID"),
        max_length=20,
        blank=True,
        help_text=_("Required for the reverse charge within the EU, e.g. FR40303265045."),
    )
    billing_email = models.EmailField(_("billing e-mail"))
    purchase_order = models.CharField(
        _("purchase order or reference"), max_length=80, blank=True, help_text=_("Printed on each invoice.")
    )
    consent_annual_report = models.BooleanField(_("may be named in the annual report"), default=False)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sponsors",
        blank=True,
        verbose_name=_("users who manage this sponsor"),
    )
    language = models.CharField(_("language"), max_length=5, default="en")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("sponsor")
        verbose_name_plural = _("sponsors")

    def __str__(self):
        return self.display_name or self.legal_name

    @property
    def is_eu(self) -> bool:
        return self.country in EU_COUNTRIES

    def address_lines(self) -> list[str]:
        lines = [self.street]
        if self.address_extra:
            lines.append(self.address_extra)
        lines.append(f"{self.postcode} {self.city}".strip())
        lines.append(self.country_name())
        return [line for line in lines if line]

    def country_name(self) -> str:
        from babel import Locale

        language = (get_language() or "en")[:2]
        try:
            return Locale.parse(language).territories.get(self.country, self.country)
        except (ValueError, TypeError):
            return self.country

    def current_logo(self) -> SponsorLogo | None:
        """The latest approved logo (the one the site shows)."""
        return self.logos.filter(status=SponsorLogo.Status.APPROVED).order_by("-reviewed_at", "-pk").first()

    def pending_logo(self) -> SponsorLogo | None:
        return self.logos.filter(status=SponsorLogo.Status.PENDING).order_by("-pk").first()

    def contact_emails(self) -> list[str]:
        """Everyone to tell about a change: the contacts, then the billing address; no duplicates."""
        seen: list[str] = []
        for email in [*self.contacts.values_list("email", flat=True), self.billing_email]:
            if email and email.lower() not in (known.lower() for known in seen):
                seen.append(email)
        return seen


class SponsorContact(models.Model):
    sponsor = models.ForeignKey(Sponsor, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=80, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("sponsor contact")
        verbose_name_plural = _("sponsor contacts")

    def __str__(self):
        return f"{self.name} <{self.email}>"


def _logo_path(instance: SponsorLogo, filename: str) -> str:
    return f"sponsors/logos/{uuid.uuid4().hex}.{filename.rsplit('.', 1)[-1]}"


class SponsorLogo(models.Model):
    """A logo as stored after ``sponsors.logos.logo_process`` re-encoded it (never the upload itself).

    A new or replaced logo is reviewed by staff; the site shows the latest approved one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    sponsor = models.ForeignKey(Sponsor, on_delete=models.CASCADE, related_name="logos")
    image = models.ImageField(_("logo"), upload_to=_logo_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_name = models.CharField(_("uploaded file"), max_length=200, blank=True)
    original_format = models.CharField(_("uploaded format"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("sponsor logo")
        verbose_name_plural = _("sponsor logos")

    def __str__(self):
        return f"{self.sponsor} ({self.get_status_display()})"

    @property
    def aspect_ratio(self) -> float:
        return self.width / self.height if self.height else 1.0


# --- Sponsorships and their statuses --------------------------------------------------------------


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    INVOICED = "invoiced", _("invoiced")
    ACTIVE = "active", _("active (paid)")
    ENDED = "ended", _("ended")
    CANCELLED = "cancelled", _("cancelled")


# The allowed moves: action -> (statuses it may start from, status it leads to). The one table.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({Status.DRAFT}), Status.SUBMITTED),
    "approve": (frozenset({Status.SUBMITTED}), Status.APPROVED),
    "reject": (frozenset({Status.SUBMITTED}), Status.REJECTED),
    "invoice": (frozenset({Status.APPROVED}), Status.INVOICED),
    "activate": (frozenset({Status.INVOICED}), Status.ACTIVE),
    "end": (frozenset({Status.ACTIVE}), Status.ENDED),
    # An unpaid invoice cancelled by a credit note to be issued again (wrong address, new VAT id).
    "correct": (frozenset({Status.INVOICED}), Status.APPROVED),
    "cancel": (
        frozenset({Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.INVOICED, Status.ACTIVE}),
        Status.CANCELLED,
    ),
}

# Statuses that hold a seat of the package's capacity.
SEAT_STATUSES = frozenset({Status.APPROVED, Status.INVOICED, Status.ACTIVE})


class Sponsorship(models.Model):
    """One sponsor's booking of one package for one period (``start_date`` to ``end_date``)."""

    Status = Status

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="sponsorships")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="sponsorships")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    net_amount = _money(verbose_name=_("net amount"), help_text=_("The package's price for this period."))
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal",
        verbose_name=_("renews"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    renewal_reminder_30_sent_at = models.DateTimeField(null=True, blank=True)
    renewal_reminder_7_sent_at = models.DateTimeField(null=True, blank=True)

    objects = SponsorshipQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = _("sponsorship")
        verbose_name_plural = _("sponsorships")
        indexes = [models.Index(fields=["status", "start_date", "end_date"], name="sponsorship_placement")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="sponsorship_ends_after_start",
                violation_error_message=_("The end date lies before the start date."),
            )
        ]

    def __str__(self):
        return f"{self.sponsor} · {self.package.name} · {self.start_date:%Y-%m-%d}"

    # -- transitions ------------------------------------------------------------------------------

    def can(self, action: str) -> bool:
        allowed_from, _target = TRANSITIONS[action]
        return self.status in allowed_from

    def allowed_actions(self) -> list[str]:
        return [action for action in TRANSITIONS if self.can(action)]

    def _move(self, action: str, *, by=None, reason: str = "") -> SponsorshipChange:
        """Change the status by ``action`` (saved), recording who, when and why.

        Raises ``InvalidTransition`` if the table does not allow ``action`` from the current status.
        E-mails to the contacts are queued by the services that call these methods.
        """
        allowed_from, target = TRANSITIONS[action]
        if self.status not in allowed_from:
            raise InvalidTransition(
                _("A sponsorship that is %(status)s cannot be %(action)s.")
                % {"status": self.get_status_display(), "action": ACTION_LABELS.get(action, action)}
            )
        previous = self.status
        self.status = target
        update = ["status"]
        if action == "submit":
            self.submitted_at = timezone.now()
            update.append("submitted_at")
        if action == "reject":
            self.rejection_reason = reason
            update.append("rejection_reason")
        if action == "activate":
            self.paid_at = self.paid_at or timezone.now()
            update.append("paid_at")
        self.save(update_fields=update)
        return SponsorshipChange.objects.create(
            sponsorship=self,
            from_status=previous,
            to_status=target,
            action=action,
            by=by if getattr(by, "is_authenticated", False) else None,
            reason=reason,
        )

    def submit(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("submit", by=by, reason=reason)

    def approve(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("approve", by=by, reason=reason)

    def reject(self, *, by=None, reason: str) -> SponsorshipChange:
        if not (reason or "").strip():
            raise ValidationError(_("Say why the application is rejected: the company reads this reason."))
        return self._move("reject", by=by, reason=reason.strip())

    def mark_invoiced(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("invoice", by=by, reason=reason)

    def activate(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("activate", by=by, reason=reason)

    def end(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("end", by=by, reason=reason)

    def cancel(self, *, by=None, reason: str = "") -> SponsorshipChange:
        return self._move("cancel", by=by, reason=reason)

    # -- reads ------------------------------------------------------------------------------------

    @property
    def is_placed_today(self) -> bool:
        today = timezone.localdate()
        return self.status == Status.ACTIVE and self.start_date <= today <= self.end_date

    def open_invoice(self) -> Invoice | None:
        return self.invoices.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN).first()


ACTION_LABELS = {
    "submit": _("submitted"),
    "approve": _("approved"),
    "reject": _("rejected"),
    "invoice": _("invoiced"),
    "activate": _("activated"),
    "end": _("ended"),
    "correct": _("sent back for a corrected invoice"),
    "cancel": _("cancelled"),
}


class SponsorshipChange(models.Model):
    """One move of a sponsorship's status: who, when, why. Never edited."""

    sponsorship = models.ForeignKey(Sponsorship, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(_("from"), max_length=10, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("sponsorship change")
        verbose_name_plural = _("sponsorship changes")

    def __str__(self):
        return f"{self.sponsorship_id}: {self.from_status} → {self.to_status}"


# --- Invoices and credit notes --------------------------------------------------------------------


class VatTreatment(models.TextChoices):
    """How VAT applies to one invoice (DOMAIN.md 4); chosen by ``vat_treatment_for``."""

    DOMESTIC = "domestic", _("19 % VAT")
    REVERSE_CHARGE = "reverse_charge", _("Reverse charge (EU business)")
    NON_EU = "non_eu", _("Not taxable in Germany (customer outside the EU)")
    PASSIVE = "passive", _("Passive mention: no VAT")


VAT_RATE_DOMESTIC = Decimal("19.00")

# The ledger account each treatment books income on (ledger/migrations/0002_default_chart.py).
INCOME_ACCOUNTS = {
    VatTreatment.DOMESTIC: "income-sponsorship-vat",
    VatTreatment.REVERSE_CHARGE: "income-sponsorship-reverse-charge",
    VatTreatment.NON_EU: "income-sponsorship-non-eu",
    VatTreatment.PASSIVE: "income-sponsorship-passive",
}


def vat_treatment_for(*, package: Package, country: str, vat_id: str) -> VatTreatment:
    """The VAT treatment of a sponsorship of ``package`` for a customer in ``country`` (DOMAIN.md 4).

    A passive mention is no taxable sale; otherwise German customers pay 19 %, EU businesses with a
    valid VAT id get the reverse charge (an EU customer without one pays German VAT), and customers
    outside the EU are not taxable in Germany.
    """
    from stdnum.eu import vat as eu_vat

    if package.is_passive_mention:
        return VatTreatment.PASSIVE
    country = (country or "").upper()
    if country == HOME_COUNTRY:
        return VatTreatment.DOMESTIC
    if country in EU_COUNTRIES:
        if vat_id and eu_vat.is_valid(vat_id):
            return VatTreatment.REVERSE_CHARGE
        return VatTreatment.DOMESTIC
    return VatTreatment.NON_EU


class Invoice(models.Model):
    """An invoice (§14 UStG) for one sponsorship period, or a credit note cancelling one.

    Issued once and never edited: its figures, buyer and seller are frozen here when it is issued
    (``sponsors.services.invoice_issue``). Cancelling an issued invoice makes a credit note.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("invoice")
        CREDIT_NOTE = "credit_note", _("credit note")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled (credit note issued)")
        ISSUED = "issued", _("issued")  # credit notes

    class PaidVia(models.TextChoices):
        STRIPE = "stripe", _("card or SEPA (Stripe)")
        BANK = "bank", _("bank transfer")

    sponsorship = models.ForeignKey(Sponsorship, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    cancels = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_note",
        verbose_name=_("cancels invoice"),
    )
    number = models.CharField(_("number"), max_length=30, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    issue_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    service_start = models.DateField(_("service from"))
    service_end = models.DateField(_("service until"))
    description = models.CharField(_("description"), max_length=300)
    vat_treatment = models.CharField(_("VAT treatment"), max_length=16, choices=VatTreatment.choices)
    net_amount = _money(verbose_name=_("net"))
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=2, default=ZERO)
    vat_amount = _money(verbose_name=_("VAT"), default=ZERO)
    gross_amount = _money(verbose_name=_("gross"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # Frozen parties: the invoice shows what was true when it was issued.
    buyer = models.JSONField(_("buyer"), default=dict)
    seller = models.JSONField(_("seller"), default=dict)
    language = models.CharField(_("language"), max_length=5, default="en")
    pdf = models.FileField(_("PDF"), storage=private_storage, upload_to="sponsors/invoices/", blank=True)
    # Payment
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_via = models.CharField(_("paid via"), max_length=10, choices=PaidVia.choices, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=140, blank=True)
    marked_paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True)
    # A SEPA Direct Debit was authorised and is on its way (Stripe confirms it days later).
    payment_pending_since = models.DateTimeField(_("debit pending since"), null=True, blank=True)
    stripe_charge_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    amount_eur_received = _money(verbose_name=_("received (EUR)"), null=True, blank=True)
    fee_eur = _money(verbose_name=_("payment fee (EUR)"), default=ZERO)
    refunded_amount = _money(verbose_name=_("refunded"), default=ZERO)
    reminder_1_sent_at = models.DateTimeField(_("first reminder sent"), null=True, blank=True)
    reminder_2_sent_at = models.DateTimeField(_("second reminder sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-number"]
        verbose_name = _("sponsor invoice")
        verbose_name_plural = _("sponsor invoices")
        indexes = [models.Index(fields=["status", "due_date"], name="sponsor_invoice_due")]
        constraints = [
            # A tolerance below a cent: SQLite adds decimals as floats (1234.56 + 234.57 != 1469.13).
            models.CheckConstraint(
                condition=Q(
                    gross_amount__gte=models.F("net_amount") + models.F("vat_amount") - Decimal("0.001"),
                    gross_amount__lte=models.F("net_amount") + models.F("vat_amount") + Decimal("0.001"),
                ),
                name="sponsor_invoice_gross_is_net_plus_vat",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", cancels__isnull=True)
                | Q(kind="credit_note", cancels__isnull=False),
                name="sponsor_credit_note_cancels_an_invoice",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def is_overdue(self) -> bool:
        return (
            self.kind == self.Kind.INVOICE
            and self.status == self.Status.OPEN
            and self.due_date is not None
            and self.due_date < timezone.localdate()
        )

    @property
    def days_overdue(self) -> int:
        if not self.is_overdue:
            return 0
        return (timezone.localdate() - self.due_date).days

    @property
    def income_account(self) -> str:
        return INCOME_ACCOUNTS[VatTreatment(self.vat_treatment)]
