"""Patrons and what they pay: tiers, each patron's support (a patronage), payments, refunds, disputes,
donation receipts.

A **perk tier** is a taxable sale (sphere 4, VAT included in the price); a **donation tier** has no perks
and is a donation (sphere 1, receipt-eligible). A patron may choose "no perks" on a perk tier: the same
amount is then a donation. A patronage stores the kind it was bought as, so a later change of the tier
never turns past payments into something else (DOMAIN.md 2).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.models import DraftStateMixin, RevisionMixin
from wagtail.search import index

from config.storages import private_storage

from .querysets import PatronageQuerySet, PaymentQuerySet, TierQuerySet

CENT = Decimal("0.01")


class InvalidTransition(Exception):
    """The status of a record does not allow this change."""


class Currency(models.TextChoices):
    EUR = "eur", "EUR"
    USD = "usd", "USD"


class Kind(models.TextChoices):
    """What a payment is in tax law (DOMAIN.md 2)."""

    PERK = "perk", _("Perk tier (taxable sale)")
    DONATION = "donation", _("Donation (no perks, receipt-eligible)")


class Interval(models.TextChoices):
    MONTH = "month", _("monthly")
    YEAR = "year", _("yearly")
    ONCE = "once", _("once")


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class Tier(DraftStateMixin, RevisionMixin, index.Indexed, models.Model):
    """A level of support patrons pick on the tiers page. Edited in Wagtail as a snippet with drafts."""

    slug = models.SlugField(
        _("key"),
        max_length=50,
        unique=True,
        help_text=_("Stable name used in links and at Stripe, e.g. “supporter”. Do not change it later."),
    )
    name = models.CharField(_("name (English)"), max_length=80)
    name_de = models.CharField(_("name (German)"), max_length=80, blank=True)
    description = models.TextField(_("description (English)"), blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERK)
    monthly_amount = _money(verbose_name=_("monthly amount"), validators=[MinValueValidator(Decimal("1.00"))])
    yearly_amount = _money(
        verbose_name=_("yearly amount"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1.00"))],
        help_text=_("Leave empty to offer this tier monthly only."),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.EUR)
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("19.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("30"))],
        help_text=_(
            "Perk tiers only: the VAT included in the price. Stripe Tax's figure is used where it is on."
        ),
    )
    slot_limit = models.PositiveIntegerField(
        _("slot limit"),
        null=True,
        blank=True,
        help_text=_("Most patrons this tier takes at once; empty for no limit."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("offered"), default=True, help_text=_("Untick to stop offering the tier."))

    objects = TierQuerySet.as_manager()

    panels = [
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("name"), FieldPanel("name_de")]), FieldPanel("slug")],
            heading=_("Name"),
        ),
        FieldPanel("description"),
        FieldPanel("description_de"),
        MultiFieldPanel(
            [
                FieldPanel("kind"),
                FieldRowPanel(
                    [FieldPanel("monthly_amount"), FieldPanel("yearly_amount"), FieldPanel("currency")]
                ),
                FieldPanel("vat_rate"),
            ],
            heading=_("Price and tax"),
        ),
        FieldRowPanel([FieldPanel("slot_limit"), FieldPanel("sort_order"), FieldPanel("active")]),
    ]
    search_fields = [index.SearchField("name"), index.SearchField("name_de"), index.FilterField("active")]

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["sort_order", "monthly_amount"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if (
            self.yearly_amount is not None
            and self.monthly_amount
            and self.yearly_amount > self.monthly_amount * 12
        ):
            raise ValidationError(
                {"yearly_amount": _("The yearly amount should not be more than twelve monthly payments.")}
            )

    @property
    def display_name(self) -> str:
        return self.name_de if get_language() == "de" and self.name_de else self.name

    @property
    def display_description(self) -> str:
        return self.description_de if get_language() == "de" and self.description_de else self.description

    @property
    def is_perk_tier(self) -> bool:
        return self.kind == Kind.PERK

    def amount_for(self, interval: str) -> Decimal | None:
        return {Interval.MONTH: self.monthly_amount, Interval.YEAR: self.yearly_amount}.get(interval)

    def price_lookup_key(self, interval: str) -> str:
        """Stripe Prices cannot change their amount: a new amount is a new lookup key."""
        amount = self.amount_for(interval)
        cents = int((amount * 100).to_integral_value())
        return f"tier-{self.slug}-{interval}-{self.currency}-{cents}"


class Patron(models.Model):
    """A person who supports the organisation, with or without a log-in (guests may pay).

    On erasure (GDPR) personal fields are emptied at once; the row stays under ``pseudonym`` so ledger
    amounts and receipts kept for their retention period still add up.
    """

    class Listing(models.TextChoices):
        ANONYMOUS = "anonymous", _("Anonymous")
        NAME = "name", _("My name")
        HANDLE = "handle", _("My fediverse handle")

    pseudonym = models.UUIDField(_("pseudonymous id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patron",
    )
    email = models.EmailField(_("e-mail address"), blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    address_line1 = models.CharField(_("street and number"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postal_code = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    stripe_customer_id = models.CharField(max_length=255, null=True, blank=True, unique=True)

    listing = models.CharField(
        _("public listing"), max_length=10, choices=Listing.choices, default=Listing.ANONYMOUS
    )
    public_name = models.CharField(_("name shown"), max_length=100, blank=True)
    fediverse_handle = models.CharField(
        _("fediverse handle"),
        max_length=255,
        blank=True,
        validators=[
            RegexValidator(
                r"^@?[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
                _("Enter a handle like @name@example.social."),
            )
        ],
    )
    show_amount = models.BooleanField(_("show my amount"), default=False)
    annual_report_consent = models.BooleanField(
        _("may be named in the annual report"),
        default=False,
        help_text=_("Only if my payments in a year exceed 10 % of the annual budget."),
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("patron")
        verbose_name_plural = _("patrons")

    def __str__(self):
        if self.erased_at:
            return f"erased patron {self.pseudonym}"
        return self.name or self.email or str(self.pseudonym)

    @property
    def has_postal_address(self) -> bool:
        return bool(self.name and self.address_line1 and self.postal_code and self.city)

    @property
    def public_label(self) -> str:
        """What the supporters wall shows, following the patron's own choice."""
        if self.listing == self.Listing.HANDLE and self.fediverse_handle:
            return (
                self.fediverse_handle
                if self.fediverse_handle.startswith("@")
                else f"@{self.fediverse_handle}"
            )
        if self.listing == self.Listing.NAME:
            return self.public_name or self.name
        return ""

    @property
    def fediverse_url(self) -> str:
        """https://server/@name for a handle @name@server."""
        handle = self.fediverse_handle.lstrip("@")
        if "@" not in handle:
            return ""
        user, server = handle.split("@", 1)
        return f"https://{server}/@{user}"


class Patronage(models.Model):
    """One patron's support: a subscription (monthly, yearly) or a one-time gift.

    ``status`` mirrors Stripe's subscription status; one-time gifts are ``paid`` once their payment
    arrived. ``state_at`` is when Stripe created the state last applied, so an older event arriving
    late never overwrites a newer state.
    """

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("expired before the first payment")
        TRIALING = "trialing", _("trial")
        ACTIVE = "active", _("active")
        PAST_DUE = "past_due", _("payment overdue")
        UNPAID = "unpaid", _("unpaid")
        CANCELED = "canceled", _("ended")
        PAUSED = "paused", _("paused")
        PAID = "paid", _("paid (one-time)")
        FAILED = "failed", _("payment failed (one-time)")

    patron = models.ForeignKey(
        Patron, verbose_name=_("patron"), on_delete=models.PROTECT, related_name="patronages"
    )
    tier = models.ForeignKey(
        Tier,
        verbose_name=_("tier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patronages",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = _money(verbose_name=_("amount"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.EUR)
    interval = models.CharField(_("interval"), max_length=5, choices=Interval.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.INCOMPLETE)
    stripe_subscription_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    checkout_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    current_period_end = models.DateTimeField(_("next charge"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("ends at period end"), default=False)
    state_at = models.DateTimeField(_("state as of"), null=True, blank=True)
    payment_failed_at = models.DateTimeField(_("payment failed since"), null=True, blank=True)
    perks_suspended_at = models.DateTimeField(_("perks suspended since"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = PatronageQuerySet.as_manager()

    class Meta:
        verbose_name = _("patronage")
        verbose_name_plural = _("patronages")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "interval"], name="fundraising_patronage_status")]

    def __str__(self):
        return f"{self.patron} · {self.amount} {self.currency.upper()} {self.get_interval_display()}"

    @property
    def is_recurring(self) -> bool:
        return self.interval != Interval.ONCE

    @property
    def monthly_equivalent(self) -> Decimal:
        """Yearly plans count as 1/12 of their amount per month."""
        if self.interval == Interval.YEAR:
            return (self.amount / 12).quantize(CENT)
        return self.amount

    def perks_active(self, *, now: datetime.datetime | None = None) -> bool:
        """Perks follow the money: on while active, kept through the grace period after a failed payment."""
        if self.kind != Kind.PERK:
            return False
        if self.status in (self.Status.ACTIVE, self.Status.TRIALING):
            return True
        if self.status in (self.Status.PAST_DUE, self.Status.UNPAID) and self.payment_failed_at:
            grace = datetime.timedelta(days=settings.PATRON_GRACE_DAYS)
            return (now or timezone.now()) < self.payment_failed_at + grace
        return False


class CheckoutAttempt(models.Model):
    """A patron started a checkout. Saved, with its idempotency key, before Stripe is called.

    Also the record the card-testing defences count (per IP, per session, share of failures).
    """

    class Status(models.TextChoices):
        CREATED = "created", _("sent to checkout")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")
        ERROR = "error", _("could not reach the payment service")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = _money()
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.EUR)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    language = models.CharField(max_length=8, default="en")
    client_ip_hash = models.CharField(max_length=64, db_index=True)
    session_key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    stripe_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("checkout attempt")
        verbose_name_plural = _("checkout attempts")
        ordering = ["-created"]

    def __str__(self):
        return f"checkout {self.id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return f"checkout:{self.id}"


class Payment(models.Model):
    """Money a patron paid, booked once under its Stripe charge id.

    ``amount`` and ``vat_amount`` are in the patron's currency; ``amount_eur``, ``fee_eur`` and
    ``net_eur`` come from Stripe's balance transaction.
    """

    class Status(models.TextChoices):
        PAID = "paid", _("paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("partly refunded")
        REFUNDED = "refunded", _("refunded")
        DISPUTED = "disputed", _("disputed")
        DISPUTE_LOST = "dispute_lost", _("dispute lost")

    stripe_charge_id = models.CharField(max_length=255, unique=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    patron = models.ForeignKey(
        Patron, verbose_name=_("patron"), on_delete=models.PROTECT, related_name="payments"
    )
    patronage = models.ForeignKey(
        Patronage,
        verbose_name=_("patronage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    number = models.CharField(
        _("document number"),
        max_length=30,
        unique=True,
        help_text=_("Number of the payment confirmation or invoice."),
    )
    amount = _money(verbose_name=_("amount"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2, default=Decimal("0"))
    vat_amount = _money(verbose_name=_("VAT"), default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.EUR)
    amount_eur = _money(verbose_name=_("amount in EUR"))
    fee_eur = _money(verbose_name=_("Stripe fee in EUR"))
    net_eur = _money(verbose_name=_("net in EUR"))
    paid_at = models.DateTimeField(_("paid"))
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PAID)
    refunded_amount = _money(verbose_name=_("refunded"), default=Decimal("0"))
    receipt = models.ForeignKey(
        "DonationReceipt",
        verbose_name=_("donation receipt"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    confirmation_file = models.FileField(
        _("confirmation PDF"), upload_to="payments/%Y/", blank=True, storage=private_storage
    )

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at"]
        indexes = [models.Index(fields=["paid_at"], name="fundraising_payment_paid_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(receipt__isnull=True) | Q(kind="donation"),
                name="fundraising_receipt_only_for_donations",
            )
        ]

    def __str__(self):
        return f"{self.number} · {self.amount} {self.currency.upper()}"

    @property
    def net_amount(self) -> Decimal:
        """The amount without VAT, in the patron's currency."""
        return self.amount - self.vat_amount

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.refunded_amount


class Refund(models.Model):
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = _money(verbose_name=_("amount"))
    amount_eur = _money(verbose_name=_("amount in EUR"))
    created = models.DateTimeField(_("refunded"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self):
        return f"refund {self.stripe_refund_id} of {self.payment}"


class Dispute(models.Model):
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    status = models.CharField(_("status"), max_length=30)
    reason = models.CharField(_("reason"), max_length=50, blank=True)
    amount = _money(verbose_name=_("amount"))
    amount_eur = _money(verbose_name=_("amount in EUR"))
    fee_eur = _money(verbose_name=_("dispute fee in EUR"), default=Decimal("0"))
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    state_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self):
        return f"dispute {self.stripe_dispute_id} ({self.status})"


class DonationReceipt(models.Model):
    """A Zuwendungsbestätigung: one per one-time donation, or one a year for recurring ones.

    Numbers are gap-free (``ledger.services.document_number_next``). The PDF is kept as a copy in
    restricted storage until ``retain_until`` (8 years after the end of the year, DOMAIN.md 8).
    """

    class Kind(models.TextChoices):
        SINGLE = "single", _("single donation")
        ANNUAL = "annual", _("annual collective receipt")
        SIMPLIFIED = "simplified", _("simplified receipt (up to 300 EUR)")

    number = models.CharField(_("number"), max_length=30, unique=True)
    patron = models.ForeignKey(
        Patron, verbose_name=_("patron"), on_delete=models.PROTECT, related_name="receipts"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    total = _money(verbose_name=_("total"))
    donor_name = models.CharField(_("donor name"), max_length=200)
    donor_address = models.TextField(_("donor address"))
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    pdf = models.FileField(_("PDF"), upload_to="receipts/%Y/", blank=True, storage=private_storage)
    retain_until = models.DateField(_("keep until"))
    purged_at = models.DateTimeField(_("deleted after retention"), null=True, blank=True)

    class Meta:
        verbose_name = _("donation receipt")
        verbose_name_plural = _("donation receipts")
        ordering = ["-issued_at"]

    def __str__(self):
        return self.number


class ReceiptBatch(models.Model):
    """The January run that issues every donor's annual collective receipt; finance watches its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("donors"), default=0)
    done = models.PositiveIntegerField(_("receipts issued"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    message = models.TextField(_("message"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    claimed_by = models.CharField(
        _("claimed by"), max_length=255, blank=True, help_text=_("The task message running it.")
    )

    class Meta:
        verbose_name = _("annual receipt run")
        verbose_name_plural = _("annual receipt runs")
        ordering = ["-year"]

    def __str__(self):
        return f"{self.year}: {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * (self.done + self.skipped) / self.total)
