"""Bank statements, their lines, and manual bookings with a voucher (imported from ``ledger.models``).

- ``BankStatement``: one statement of one bank account as the bank sent it (CAMT.053 or MT940), known by
  (account, statement id, sequence, from, to), so the same statement is stored once.
- ``BankLine``: one booked entry of a statement, known by a fingerprint of what the bank says about it
  (booking date, amount, currency, references, remittance text, counterparty and an occurrence counter for
  identical entries), unique per account: an overlapping statement adds only the lines not seen before.
  A line reaches the books once, through ``ledger.bank`` (``booked_transaction``).
- ``ManualBooking``: a booking finance enters by hand with its voucher (PDF or image), posted through
  ``ledger.manual_bookings``.

Amounts are EUR; a bank line's ``amount`` is signed as the bank account sees it: positive money in,
negative money out.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.storages import private_storage

from .models import Account, CostCentre, Transaction


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", _("CAMT.053 (XML)")
        MT940 = "mt940", _("MT940")

    account = models.CharField(
        _("bank account"), max_length=40, help_text=_("The IBAN (or account number) the statement is for.")
    )
    statement_id = models.CharField(_("statement id"), max_length=80)
    sequence = models.CharField(_("sequence number"), max_length=40, blank=True)
    from_date = models.DateField(_("from"))
    to_date = models.DateField(_("to"))
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    opening_balance = models.DecimalField(
        _("opening balance (EUR)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    closing_balance = models.DecimalField(
        _("closing balance (EUR)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    entry_count = models.PositiveIntegerField(_("entries in the statement"), default=0)
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-to_date", "-imported_at"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_id", "sequence", "from_date", "to_date"],
                name="ledger_bank_statement_unique",
            )
        ]

    def __str__(self):
        return f"{self.account} {self.statement_id} ({self.from_date:%Y-%m-%d} – {self.to_date:%Y-%m-%d})"


class BankLineQuerySet(models.QuerySet):
    def open(self):
        """Lines not booked yet: finance's to-do list."""
        return self.filter(booked_transaction__isnull=True)

    def booked(self):
        return self.filter(booked_transaction__isnull=False)


class BankLine(models.Model):
    statement = models.ForeignKey(
        BankStatement, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="lines"
    )
    account = models.CharField(_("bank account"), max_length=40)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, editable=False)
    position = models.PositiveIntegerField(_("position"), help_text=_("Order in the statement file."))
    entry = models.CharField(_("entry"), max_length=20, help_text=_("The entry's number in the statement."))
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount = models.DecimalField(
        _("amount (EUR)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Positive: money in. Negative: money out."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("counterparty's IBAN"), max_length=40, blank=True)
    remittance_text = models.TextField(_("remittance information"), blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=80, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=80, blank=True)
    looks_like_duplicate = models.BooleanField(
        _("looks like an earlier line"),
        default=False,
        help_text=_(
            "Another statement already has a line with the same day, amount and counterparty "
            "(for example the same month imported as MT940 and as CAMT). Never booked automatically."
        ),
    )
    booked_transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("booked as"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_line",
    )
    booking_note = models.CharField(_("booked how"), max_length=255, blank=True)
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = BankLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank line")
        verbose_name_plural = _("bank lines")
        ordering = ["-booking_date", "statement_id", "position"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["account", "fingerprint"], name="ledger_bank_line_unique"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_bank_line_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["booking_date"], name="ledger_bank_line_date")]

    def __str__(self):
        return f"{self.booking_date:%Y-%m-%d} {self.amount} {self.currency} {self.counterparty_name}".strip()

    @property
    def is_booked(self) -> bool:
        return self.booked_transaction_id is not None

    @property
    def incoming(self) -> bool:
        return self.amount > 0

    @property
    def text(self) -> str:
        """Everything a person or a matcher reads to see what the line pays: remittance, references, name."""
        return " ".join(
            part
            for part in (
                self.remittance_text,
                self.end_to_end_id,
                self.bank_reference,
                self.counterparty_name,
            )
            if part
        )


def _voucher_path(instance: ManualBooking, filename: str) -> str:
    return f"ledger/vouchers/{timezone.now():%Y/%m}/{filename}"


class ManualBooking(models.Model):
    """A booking finance enters by hand, with its voucher; posted once under ``manual:<id>``."""

    booking_date = models.DateField(_("booking date"))
    description = models.CharField(_("description"), max_length=200)
    debit_account = models.ForeignKey(
        Account, verbose_name=_("debit account"), on_delete=models.PROTECT, related_name="+"
    )
    credit_account = models.ForeignKey(
        Account, verbose_name=_("credit account"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(
        _("amount (EUR)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    cost_centre = models.ForeignKey(
        CostCentre, verbose_name=_("cost centre"), on_delete=models.PROTECT, related_name="+"
    )
    voucher = models.FileField(_("voucher"), storage=private_storage, upload_to=_voucher_path)
    voucher_name = models.CharField(_("voucher file name"), max_length=255, blank=True)
    voucher_type = models.CharField(_("voucher type"), max_length=40)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("transaction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="manual_booking",
    )
    submission = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("entered"), default=timezone.now)

    class Meta:
        verbose_name = _("manual booking")
        verbose_name_plural = _("manual bookings")
        ordering = ["-booking_date", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_manual_booking_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=models.F("credit_account")),
                name="ledger_manual_booking_two_accounts",
            ),
        ]

    def __str__(self):
        return f"{self.booking_date:%Y-%m-%d} {self.description}"
