"""Grants and what they pay for: funders, grants with budgets and milestones, grant payments, people, their
monthly pay, how their time is split across grants and core work (allocations), supplier bills.

Money reaches the books only through ``grants.services`` (DOMAIN.md 5):

- a grant has its own ledger cost centre; grant income and the costs charged to it are posted there, and
  budget against actual reads those postings, never the pay records;
- a pay record posts its cost split across cost centres by the person's allocation of that month; a later
  change of allocation is booked as a reclassification (``AllocationBooking`` keeps what was booked where);
- a bill posts its cost to its account and cost centre against payables; paying it moves payables to the bank.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.storages import private_storage

from .querysets import AllocationQuerySet, GrantQuerySet, MilestoneQuerySet, PayRecordQuerySet

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
WORKING_DAYS_PER_YEAR = Decimal("215")  # Horizon Europe's daily-rate divisor (DOMAIN.md 5)


class InvalidTransition(Exception):
    """The state of a grant or milestone does not allow this change."""


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


# --- Funders and grants ---------------------------------------------------------------------------


class Funder(models.Model):
    class Kind(models.TextChoices):
        EU_PROGRAMME = "eu", _("EU programme")
        FOUNDATION = "foundation", _("Foundation")
        COMPANY = "company", _("Company")
        PUBLIC_BODY = "public", _("Public body")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. NL."))
    website = models.URLField(_("website"), blank=True)
    consent_annual_report = models.BooleanField(_("may be named in the annual report"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("funder")
        verbose_name_plural = _("funders")

    def __str__(self):
        return self.name


class GrantState(models.TextChoices):
    APPLIED = "applied", _("applied")
    AWARDED = "awarded", _("awarded")
    ACTIVE = "active", _("active")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")


# The allowed moves of a grant: action -> (states it may start from, state it leads to).
GRANT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "award": (frozenset({GrantState.APPLIED}), GrantState.AWARDED),
    "reject": (frozenset({GrantState.APPLIED}), GrantState.REJECTED),
    "start": (frozenset({GrantState.AWARDED}), GrantState.ACTIVE),
    "close": (frozenset({GrantState.ACTIVE, GrantState.AWARDED}), GrantState.CLOSED),
}


class Grant(models.Model):
    class FundingModel(models.TextChoices):
        MILESTONES = "milestones", _("Fixed amount per milestone (e.g. NGI Zero / NLnet)")
        TRANCHES = "tranches", _("Tranches as a percentage of the award")
        ACTUAL_COST = "actual_cost", _("Actual costs (e.g. Horizon Europe)")

    State = GrantState

    title = models.CharField(_("title"), max_length=200)
    funder = models.ForeignKey(
        Funder, on_delete=models.PROTECT, related_name="grants", verbose_name=_("funder")
    )
    reference = models.CharField(_("funder's reference"), max_length=80, blank=True)
    code = models.SlugField(
        _("cost centre code"),
        max_length=40,
        unique=True,
        help_text=_("The grant's cost centre in the ledger, e.g. NGI0-2026-FEDI. Fixed once created."),
    )
    cost_centre = models.OneToOneField(
        "ledger.CostCentre",
        on_delete=models.PROTECT,
        related_name="grant",
        null=True,
        blank=True,
        editable=False,
    )
    awarded_amount = _money(verbose_name=_("awarded amount"), validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    purpose = models.TextField(
        _("purpose"), help_text=_("What the grant pays for; shown on the public grants page.")
    )
    restricted = models.BooleanField(_("restricted funds"), default=True)
    funding_model = models.CharField(
        _("funding model"), max_length=12, choices=FundingModel.choices, default=FundingModel.MILESTONES
    )
    indirect_cost_rate = models.DecimalField(
        _("indirect costs (%)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)],
        help_text=_("Flat rate on direct costs, e.g. 25 for Horizon Europe."),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=GrantState.choices, default=GrantState.APPLIED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grants_owned",
        verbose_name=_("owner"),
        help_text=_("Gets the milestone and deadline reminders, with finance."),
    )
    public = models.BooleanField(_("show on the public grants page"), default=True)
    end_reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "title"]
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="grant_ends_after_start",
                violation_error_message=_("The grant ends before it starts."),
            )
        ]

    def __str__(self):
        return self.title

    def can(self, action: str) -> bool:
        return self.state in GRANT_TRANSITIONS[action][0]

    def _move(self, action: str) -> None:
        allowed_from, target = GRANT_TRANSITIONS[action]
        if self.state not in allowed_from:
            raise InvalidTransition(
                _("A grant that is %(state)s cannot be moved that way.") % {"state": self.get_state_display()}
            )
        self.state = target
        self.save(update_fields=["state"])

    def award(self) -> None:
        self._move("award")

    def reject(self) -> None:
        self._move("reject")

    def start(self) -> None:
        self._move("start")

    def close(self) -> None:
        self._move("close")

    @property
    def months(self) -> int:
        return (
            (self.end_date.year - self.start_date.year) * 12 + self.end_date.month - self.start_date.month + 1
        )


def _grant_document_path(instance: GrantDocument, filename: str) -> str:
    return f"grants/{instance.grant_id}/documents/{filename}"


class GrantDocument(models.Model):
    """An agreement, amendment or annex of a grant (private file)."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), storage=private_storage, upload_to=_grant_document_path)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("grant document")
        verbose_name_plural = _("grant documents")

    def __str__(self):
        return self.title


class CostCategory(models.TextChoices):
    """Budget categories of a grant, and the ledger accounts whose postings count as each."""

    PERSONNEL = "personnel", _("Personnel")
    FREELANCERS = "freelancers", _("Freelancers")
    TRAVEL = "travel", _("Travel")
    EQUIPMENT = "equipment", _("Equipment")
    SUBCONTRACTING = "subcontracting", _("Subcontracting")
    OTHER = "other", _("Other direct costs")
    INDIRECT = "indirect", _("Indirect costs")


# The ledger accounts whose postings on a grant's cost centre count as each budget category.
CATEGORY_ACCOUNTS: dict[str, tuple[str, ...]] = {
    CostCategory.PERSONNEL: ("expense-salaries", "expense-social-costs"),
    CostCategory.FREELANCERS: ("expense-freelancers",),
    CostCategory.TRAVEL: ("expense-travel",),
    CostCategory.EQUIPMENT: ("expense-equipment",),
    CostCategory.SUBCONTRACTING: ("expense-subcontracting",),
    CostCategory.OTHER: ("expense-hosting", "expense-other"),
}


# Horizon Europe's flat rate for indirect costs (25 %) applies to the direct costs except subcontracting.
INDIRECT_BASE_EXCLUDES = frozenset({CostCategory.SUBCONTRACTING, CostCategory.INDIRECT})


def indirect_costs(*, direct: dict[str, Decimal], rate: Decimal) -> Decimal:
    """The flat-rate indirect costs on ``direct`` (category -> amount), subcontracting left out of the base."""
    base = sum(
        (amount for category, amount in direct.items() if category not in INDIRECT_BASE_EXCLUDES), ZERO
    )
    return round_cents(base * (rate or ZERO) / HUNDRED)


class BudgetLine(models.Model):
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(_("category"), max_length=16, choices=CostCategory.choices)
    amount = _money(verbose_name=_("budget"), validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["grant", "category"]
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        constraints = [
            models.UniqueConstraint(fields=["grant", "category"], name="grant_budget_one_line_per_category")
        ]

    def __str__(self):
        return f"{self.grant}: {self.get_category_display()}"


class MilestoneState(models.TextChoices):
    PLANNED = "planned", _("planned")
    IN_PROGRESS = "in_progress", _("in progress")
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted")
    PAID = "paid", _("paid")


MILESTONE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "begin": (frozenset({MilestoneState.PLANNED}), MilestoneState.IN_PROGRESS),
    "submit": (frozenset({MilestoneState.PLANNED, MilestoneState.IN_PROGRESS}), MilestoneState.SUBMITTED),
    "accept": (frozenset({MilestoneState.SUBMITTED}), MilestoneState.ACCEPTED),
    "reopen": (frozenset({MilestoneState.SUBMITTED}), MilestoneState.IN_PROGRESS),
    "mark_paid": (frozenset({MilestoneState.SUBMITTED, MilestoneState.ACCEPTED}), MilestoneState.PAID),
}


class Milestone(models.Model):
    State = MilestoneState

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(_("number"), default=1)
    title = models.CharField(_("title"), max_length=200)
    deliverables = models.TextField(_("deliverables"), blank=True)
    due_date = models.DateField(_("due date"))
    amount = _money(
        verbose_name=_("amount"), null=True, blank=True, help_text=_("Fixed amount of this milestone.")
    )
    tranche_percent = models.DecimalField(
        _("tranche (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)],
        help_text=_("Share of the award paid for this milestone, instead of a fixed amount."),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=MilestoneState.choices, default=MilestoneState.PLANNED
    )
    evidence_links = models.TextField(_("evidence links"), blank=True, help_text=_("One URL per line."))
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    request_number = models.CharField(_("request for payment"), max_length=30, blank=True)
    request_date = models.DateField(_("requested on"), null=True, blank=True)
    reminder_14_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminder_3_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["grant", "position", "due_date"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=False) | Q(tranche_percent__isnull=False),
                name="milestone_has_amount_or_tranche",
                violation_error_message=_("Give the milestone a fixed amount or a tranche percentage."),
            )
        ]

    def __str__(self):
        return f"{self.grant.code} M{self.position}: {self.title}"

    def save(self, *args, **kwargs):
        """A new due date means new reminders: the ones sent for the old date no longer count."""
        if self.pk and not kwargs.get("update_fields"):
            old_due = Milestone.objects.filter(pk=self.pk).values_list("due_date", flat=True).first()
            if old_due is not None and old_due != self.due_date:
                self.reminder_14_sent_at = self.reminder_3_sent_at = self.overdue_reminder_sent_at = None
        super().save(*args, **kwargs)

    @property
    def payable_amount(self) -> Decimal:
        """The fixed amount, or the tranche's share of the award."""
        if self.amount is not None:
            return self.amount
        return round_cents(self.grant.awarded_amount * (self.tranche_percent or ZERO) / HUNDRED)

    @property
    def is_overdue(self) -> bool:
        return (
            self.state in (MilestoneState.PLANNED, MilestoneState.IN_PROGRESS)
            and self.due_date < timezone.localdate()
        )

    def can(self, action: str) -> bool:
        return self.state in MILESTONE_TRANSITIONS[action][0]

    def move(self, action: str) -> None:
        """Change the state by ``action`` (saved); ``InvalidTransition`` when the table does not allow it."""
        allowed_from, target = MILESTONE_TRANSITIONS[action]
        if self.state not in allowed_from:
            raise InvalidTransition(
                _("A milestone that is %(state)s cannot be moved that way.")
                % {"state": self.get_state_display()}
            )
        self.state = target
        update = ["state"]
        if action == "submit":
            self.submitted_at = timezone.now()
            update.append("submitted_at")
        if action == "accept":
            self.accepted_at = timezone.now()
            update.append("accepted_at")
        self.save(update_fields=update)


class GrantPayment(models.Model):
    """Money received from a funder (for a milestone, a tranche or an advance), posted as grant income."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="payments")
    milestone = models.OneToOneField(
        Milestone, null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    amount = _money(verbose_name=_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("bank reference"), max_length=140)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_on"]
        verbose_name = _("grant payment")
        verbose_name_plural = _("grant payments")

    def __str__(self):
        return f"{self.grant.code} {self.amount} ({self.received_on})"


# --- People, pay, allocation ----------------------------------------------------------------------


class Person(models.Model):
    class Kind(models.TextChoices):
        EMPLOYEE = "employee", _("Employee")
        FREELANCER = "freelancer", _("Freelancer")

    name = models.CharField(_("name"), max_length=150)
    role = models.CharField(_("role"), max_length=150, help_text=_("E.g. “Backend developer”."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    email = models.EmailField(_("e-mail"), blank=True)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    weekly_hours = models.DecimalField(
        _("weekly hours"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("40.0"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("60"))],
    )
    core_development = models.BooleanField(
        _("core development"),
        default=True,
        help_text=_("Counts toward the share of spending on core development."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self):
        return self.name


class PayRecord(models.Model):
    """One person's cost for one month: gross salary and employer's social costs, or a freelancer's invoice."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="pay_records")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    gross_salary = _money(verbose_name=_("gross salary"), default=ZERO, validators=[MinValueValidator(ZERO)])
    employer_social_costs = _money(
        verbose_name=_("employer's social costs"), default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    freelancer_invoice = _money(
        verbose_name=_("freelancer's invoice (net)"), default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PayRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "person"]
        verbose_name = _("pay record")
        verbose_name_plural = _("pay records")
        constraints = [
            models.UniqueConstraint(fields=["person", "month"], name="pay_record_one_per_person_and_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="pay_record_month_is_first_day"),
        ]

    def __str__(self):
        return f"{self.person} {self.month:%Y-%m}"

    @property
    def total_cost(self) -> Decimal:
        return self.gross_salary + self.employer_social_costs + self.freelancer_invoice

    def cost_lines(self) -> list[tuple[str, Decimal]]:
        """(expense account, amount) of this record, before the split by allocation."""
        lines = []
        if self.gross_salary:
            lines.append(("expense-salaries", self.gross_salary))
        if self.employer_social_costs:
            lines.append(("expense-social-costs", self.employer_social_costs))
        if self.freelancer_invoice:
            lines.append(("expense-freelancers", self.freelancer_invoice))
        return lines


class Allocation(models.Model):
    """The share of one person's month that goes to one grant (or core work when ``grant`` is empty).

    Entered as percent or as days; days are turned into a share of the month's working days. The shares of a
    person's month never add up to more than 100 % (``grants.services.allocations_set`` refuses it); what is
    not allocated is core work.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="allocations")
    month = models.DateField(_("month"))
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)],
    )
    days = models.DecimalField(_("days"), max_digits=4, decimal_places=1, null=True, blank=True)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["month", "person", "grant"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.UniqueConstraint(fields=["person", "month", "grant"], name="allocation_one_per_grant"),
            models.UniqueConstraint(
                fields=["person", "month"], condition=Q(grant__isnull=True), name="allocation_one_core_share"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="allocation_month_is_first_day"),
        ]

    def __str__(self):
        return f"{self.person} {self.month:%Y-%m} {self.grant or _('core')}: {self.percent} %"


class AllocationBooking(models.Model):
    """What is booked where for a pay record: one row per (pay record, cost centre, account), the amount
    currently posted there. A reclassification posts the difference and updates these rows."""

    pay_record = models.ForeignKey(PayRecord, on_delete=models.PROTECT, related_name="bookings")
    cost_centre = models.ForeignKey("ledger.CostCentre", on_delete=models.PROTECT, related_name="+")
    account_code = models.CharField(max_length=60)
    amount = _money()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("allocation booking")
        verbose_name_plural = _("allocation bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["pay_record", "cost_centre", "account_code"], name="allocation_booking_unique"
            )
        ]

    def __str__(self):
        return f"{self.pay_record}: {self.account_code} on {self.cost_centre_id} = {self.amount}"


# --- Bills ----------------------------------------------------------------------------------------


def _voucher_path(instance, filename: str) -> str:
    return f"vouchers/{timezone.now():%Y/%m}/{filename}"


class Bill(models.Model):
    """A supplier's bill (hosting, services, travel, equipment) with its voucher, on a cost centre."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PAID = "paid", _("paid")

    supplier = models.CharField(_("supplier"), max_length=200)
    number = models.CharField(_("supplier's invoice number"), max_length=80)
    bill_date = models.DateField(_("date"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200)
    account_code = models.CharField(
        _("account"), max_length=60, help_text=_("The expense account, e.g. expense-hosting.")
    )
    cost_centre = models.ForeignKey(
        "ledger.CostCentre", on_delete=models.PROTECT, related_name="+", verbose_name=_("cost centre")
    )
    net_amount = _money(verbose_name=_("net"), validators=[MinValueValidator(Decimal("0.01"))])
    vat_amount = _money(verbose_name=_("input VAT"), default=ZERO, validators=[MinValueValidator(ZERO)])
    voucher = models.FileField(_("voucher"), storage=private_storage, upload_to=_voucher_path)
    status = models.CharField(_("status"), max_length=6, choices=Status.choices, default=Status.OPEN)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=140, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-bill_date"]
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="bill_unique_per_supplier")
        ]

    def __str__(self):
        return f"{self.supplier} {self.number}"

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.vat_amount
