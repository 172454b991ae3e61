"""The one book every euro passes through: double-entry, posted once, never edited.

Sign convention: a posting's ``amount`` is in EUR, **positive for a debit and negative for a
credit**. The postings of a transaction sum to zero. Income accounts therefore carry negative
sums (credits); ``Account.Kind.reported()`` and the ``reported=True`` option of the totals methods
turn credit-normal figures (income, liabilities, equity) positive for reports.

The ledger imports no domain app: a grant points to its cost centre, not the other way round.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import ImmutableRecord
from .querysets import (
    AccountQuerySet,
    ClosedMonthQuerySet,
    ClosingBalanceQuerySet,
    CostCentreQuerySet,
    PostingQuerySet,
    TransactionQuerySet,
)

CORE_COST_CENTRE_CODE = "CORE"


class TaxSphere(models.IntegerChoices):
    """The four tax spheres of a gGmbH (DOMAIN.md 1); the number is DATEV's KOST1."""

    NON_PROFIT_CORE = 1, _("Non-profit core (ideeller Bereich)")
    ASSET_MANAGEMENT = 2, _("Asset management (Vermögensverwaltung)")
    PURPOSE_BUSINESS = 3, _("Purpose business (Zweckbetrieb)")
    TAXABLE_BUSINESS = 4, _("Taxable business (wirtschaftlicher Geschäftsbetrieb)")


class Account(models.Model):
    class Kind(models.TextChoices):
        ASSET = "asset", _("Asset")
        LIABILITY = "liability", _("Liability")
        EQUITY = "equity", _("Equity")
        INCOME = "income", _("Income")
        EXPENSE = "expense", _("Expense")

        @classmethod
        def credit_normal(cls) -> list[str]:
            """Kinds whose balance is normally a credit (negative in the ledger)."""
            return [cls.LIABILITY, cls.EQUITY, cls.INCOME]

        def reported(self, amount: Decimal) -> Decimal:
            """Present a signed ledger amount the way a report shows it: income positive."""
            return -amount if self in self.credit_normal() else amount

    class Category(models.TextChoices):
        # Income
        PATRONS = "patrons", _("Patrons")
        DONATIONS = "donations", _("Donations")
        SPONSORSHIPS = "sponsorships", _("Sponsorships")
        GRANTS = "grants", _("Grants")
        SERVICES = "services", _("Services")
        OTHER_INCOME = "other_income", _("Other income")
        # Spending
        PERSONNEL = "personnel", _("Personnel")
        FREELANCERS = "freelancers", _("Freelancers")
        HOSTING = "hosting", _("Hosting")
        PAYMENT_FEES = "payment_fees", _("Payment fees")
        OTHER_SPENDING = "other_spending", _("Other spending")
        # Balance sheet
        CASH = "cash", _("Cash and bank")
        RECEIVABLES = "receivables", _("Receivables")
        PAYABLES = "payables", _("Payables")
        TAX = "tax", _("Tax")
        EQUITY = "equity", _("Equity")

        @classmethod
        def for_kind(cls, kind: str) -> list[str]:
            return CATEGORIES_BY_KIND[kind]

    # Fields that give past postings their meaning: fixed once the account has postings.
    LOCKED_ONCE_POSTED = ("code", "kind", "category", "tax_sphere", "vat_rate")

    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Stable name the software posts to, e.g. “income-donations”. Fixed once posted to."),
    )
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    category = models.CharField(
        _("report category"),
        max_length=20,
        choices=Category.choices,
        help_text=_("Where the account's money appears in the monthly and annual reports."),
    )
    tax_sphere = models.PositiveSmallIntegerField(
        _("tax sphere"),
        choices=TaxSphere.choices,
        null=True,
        blank=True,
        help_text=_("Required for income and expense accounts; exported to DATEV as KOST1."),
    )
    datev_number = models.CharField(
        _("DATEV account number"),
        max_length=9,
        blank=True,
        validators=[RegexValidator(r"^\d{4,9}$", _("Enter the account number as 4 to 9 digits."))],
        help_text=_("Account in the tax adviser's chart (SKR 03 by default). Editable."),
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    datev_automatic = models.BooleanField(
        _("DATEV automatic account"),
        default=False,
        help_text=_(
            "DATEV derives the VAT on this account itself: the export sends the gross amount and no "
            "separate VAT line or BU key."
        ),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive accounts refuse new postings.")
    )

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["income", "expense"]) | Q(tax_sphere__isnull=False),
                name="ledger_account_result_account_has_sphere",
                violation_error_message=_("Income and expense accounts need a tax sphere."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="income",
                        category__in=[
                            "patrons",
                            "donations",
                            "sponsorships",
                            "grants",
                            "services",
                            "other_income",
                        ],
                    )
                    | Q(
                        kind="expense",
                        category__in=[
                            "personnel",
                            "freelancers",
                            "hosting",
                            "payment_fees",
                            "other_spending",
                        ],
                    )
                    | Q(
                        kind__in=["asset", "liability", "equity"],
                        category__in=["cash", "receivables", "payables", "tax", "equity"],
                    )
                ),
                name="ledger_account_category_fits_kind",
                violation_error_message=_("The report category does not fit the account's kind."),
            ),
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"

    def save(self, *args, **kwargs):
        changed = self.changed_locked_fields()
        if changed and self.has_postings:
            raise ImmutableRecord(f"Account {self.code} has postings; {', '.join(changed)} cannot change.")
        super().save(*args, **kwargs)

    @property
    def has_postings(self) -> bool:
        return self.pk is not None and self.postings.exists()

    def changed_locked_fields(self) -> list[str]:
        """Names of LOCKED_ONCE_POSTED fields that differ from the stored row (empty for a new account)."""
        if self._state.adding or self.pk is None:
            return []
        stored = Account.objects.filter(pk=self.pk).values(*self.LOCKED_ONCE_POSTED).first()
        if stored is None:
            return []
        return [name for name in self.LOCKED_ONCE_POSTED if stored[name] != getattr(self, name)]

    def clean(self):
        super().clean()
        changed = self.changed_locked_fields()
        if changed and self.has_postings:
            raise ValidationError(
                {
                    name: _("This account already has postings, so its %(field)s cannot change.")
                    % {"field": self._meta.get_field(name).verbose_name}
                    for name in changed
                }
            )


CATEGORIES_BY_KIND = {
    Account.Kind.INCOME: [
        Account.Category.PATRONS,
        Account.Category.DONATIONS,
        Account.Category.SPONSORSHIPS,
        Account.Category.GRANTS,
        Account.Category.SERVICES,
        Account.Category.OTHER_INCOME,
    ],
    Account.Kind.EXPENSE: [
        Account.Category.PERSONNEL,
        Account.Category.FREELANCERS,
        Account.Category.HOSTING,
        Account.Category.PAYMENT_FEES,
        Account.Category.OTHER_SPENDING,
    ],
    Account.Kind.ASSET: [
        Account.Category.CASH,
        Account.Category.RECEIVABLES,
        Account.Category.PAYABLES,
        Account.Category.TAX,
        Account.Category.EQUITY,
    ],
}
CATEGORIES_BY_KIND[Account.Kind.LIABILITY] = CATEGORIES_BY_KIND[Account.Kind.ASSET]
CATEGORIES_BY_KIND[Account.Kind.EQUITY] = CATEGORIES_BY_KIND[Account.Kind.ASSET]


class CostCentre(models.Model):
    class Kind(models.TextChoices):
        CORE = "core", _("Core")
        GRANT = "grant", _("Grant")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("E.g. “CORE” or “NGI0-2025”."))
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OTHER)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive cost centres refuse new postings.")
    )

    objects = CostCentreQuerySet.as_manager()

    class Meta:
        verbose_name = _("cost centre")
        verbose_name_plural = _("cost centres")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} – {self.name}"


def core_cost_centre_id() -> int:
    """Default cost centre of a posting: the "CORE" one created by the ledger's data migration."""
    return CostCentre.objects.values_list("pk", flat=True).get(code=CORE_COST_CENTRE_CODE)


class Transaction(models.Model):
    """One business event in the books: two or more postings that sum to zero.

    Created only by ``ledger.services.transaction_post``; never edited or deleted (a correction is a
    reversing transaction, ``ledger.services.transaction_reverse``).
    """

    booking_date = models.DateField(_("booking date"))
    description = models.CharField(_("description"), max_length=255)
    source_reference = models.CharField(
        _("source reference"),
        max_length=200,
        blank=True,
        help_text=_("What caused the transaction, e.g. “stripe:in_123”."),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
    )

    objects = TransactionQuerySet.as_manager()

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-booking_date", "-id"]
        default_permissions = ("view",)
        permissions = [("view_finance", _("Can see finance figures (ledger and finance reports)"))]
        indexes = [models.Index(fields=["booking_date"], name="ledger_txn_booking_date_idx")]

    def __str__(self):
        return f"{self.booking_date:%Y-%m-%d} {self.description}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecord("A transaction is never edited; post a reversing transaction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("A transaction is never deleted; post a reversing transaction instead.")

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    @property
    def is_reversed(self) -> bool:
        return Transaction.objects.filter(reverses=self).exists()


class Posting(models.Model):
    """One line of a transaction: an amount on one account and cost centre.

    ``amount`` is EUR, positive = debit, negative = credit. ``booking_date`` is copied from the
    transaction so month queries use an index on this table alone.
    """

    transaction = models.ForeignKey(
        Transaction, verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="postings"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="postings"
    )
    cost_centre = models.ForeignKey(
        CostCentre,
        verbose_name=_("cost centre"),
        on_delete=models.PROTECT,
        related_name="postings",
        default=core_cost_centre_id,
    )
    amount = models.DecimalField(
        _("amount (EUR)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Positive is a debit, negative a credit."),
    )
    original_amount = models.DecimalField(
        _("original amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    original_currency = models.CharField(_("original currency"), max_length=3, blank=True)
    booking_date = models.DateField(_("booking date"))

    objects = PostingQuerySet.as_manager()

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["account", "booking_date"], name="ledger_posting_account_date"),
            models.Index(fields=["cost_centre", "booking_date"], name="ledger_posting_centre_date"),
            models.Index(fields=["booking_date"], name="ledger_posting_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_posting_amount_not_zero"),
            models.CheckConstraint(
                condition=(Q(original_amount__isnull=True) & Q(original_currency=""))
                | (Q(original_amount__isnull=False) & ~Q(original_currency="")),
                name="ledger_posting_original_amount_with_currency",
            ),
        ]

    def __str__(self):
        return f"{self.booking_date:%Y-%m-%d} {self.account.code} {self.amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecord("A posting is never edited; post a reversing transaction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("A posting is never deleted; post a reversing transaction instead.")

    @property
    def debit(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None


class ClosedMonth(models.Model):
    """A month whose closing balances are stored (see ``ledger.services.ledger_month_close``)."""

    month = models.DateField(_("month"), unique=True, help_text=_("First day of the month."))
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)

    objects = ClosedMonthQuerySet.as_manager()

    class Meta:
        verbose_name = _("closed month")
        verbose_name_plural = _("closed months")
        ordering = ["-month"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.month:%Y-%m}"


class MonthReopening(models.Model):
    """The record that a closed month was re-opened: who, when and why (``ledger_month_reopen``)."""

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    reopened_at = models.DateTimeField(_("re-opened at"), default=timezone.now)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("re-opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reopened_by_name = models.CharField(_("re-opened by (name)"), max_length=150, blank=True)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("re-opened month")
        verbose_name_plural = _("re-opened months")
        ordering = ["-reopened_at"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.month:%Y-%m} re-opened {self.reopened_at:%Y-%m-%d}"


class ClosingBalance(models.Model):
    """The balance of one account on one cost centre at the end of a closed month.

    A stored figure derived from the postings (previous closing balance + the month's postings),
    so balances never need a sum over all history.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="closing_balances"
    )
    cost_centre = models.ForeignKey(
        CostCentre, verbose_name=_("cost centre"), on_delete=models.PROTECT, related_name="closing_balances"
    )
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    balance = models.DecimalField(_("balance (EUR)"), max_digits=14, decimal_places=2)

    objects = ClosingBalanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("closing balance")
        verbose_name_plural = _("closing balances")
        ordering = ["-month", "account__code", "cost_centre__code"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["account", "cost_centre", "month"], name="ledger_closing_balance_unique_per_month"
            )
        ]
        indexes = [models.Index(fields=["month"], name="ledger_closing_month")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.account.code}/{self.cost_centre.code}: {self.balance}"


class DocumentSequence(models.Model):
    """A gap-free series of document numbers per year (donation receipts, invoices).

    Numbers are drawn by ``ledger.services.document_number_next`` under a row lock inside the
    caller's transaction: a rolled-back document gives its number back, so no gaps appear.
    """

    series = models.CharField(_("series"), max_length=20)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("document number series")
        verbose_name_plural = _("document number series")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="ledger_unique_series_year")]

    def __str__(self):
        return f"{self.series}-{self.year}: {self.last_number}"


from .bank_models import BankLine, BankStatement, ManualBooking  # noqa: E402,F401
