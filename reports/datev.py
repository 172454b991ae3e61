"""The DATEV export for the tax adviser: an EXTF "Buchungsstapel" (format 700, category 21, version 13).

Read-only: the file is made from the ledger's transactions booked from ``start`` to ``end`` (one fiscal
year at most: DATEV takes a batch from one fiscal year only; the fiscal year here is the calendar year).

File (DATEV's format description "Buchungsstapel", DOMAIN.md 7):
- line 1, the header of 31 fields: ``"EXTF";700;21;"Buchungsstapel";13;<created YYYYMMDDHHMMSSfff>;;"";"";"";
  <adviser number>;<client number>;<fiscal year start YYYYMMDD>;<account length>;<from YYYYMMDD>;
  <to YYYYMMDD>;"<description>";"";1;0;0;"EUR";;"";;;"<chart>";;;"";""``;
- line 2, the 125 column names of the booking lines;
- then one booking a line. Windows-1252 (characters it lacks become "?"), ``;``, CRLF, texts in double
  quotes (a quote inside doubled), amounts positive with a decimal comma and two places.

Bookings:
- every account is exported under its one editable DATEV number (``Account.datev_number``);
- a transaction with two postings is one line: Konto = the debit account, Gegenkonto = the credit account,
  Soll/Haben "S";
- a transaction with more postings is one line per posting against its main account (the account of the
  largest bank, Stripe, receivables or payables posting; otherwise of the largest posting): Konto = the main
  account, Gegenkonto = the posting's account, "S" when the posting is a credit (the main account takes the
  debit), "H" when it is a debit;
- VAT the DATEV way, never doubled: a VAT posting that belongs to an income or expense posting at the same
  rate (``vat_rate`` of the VAT account = ``vat_rate`` of the income/expense account) is not exported as a
  line of its own; the income/expense line carries the gross amount (net + its share of the VAT). On an
  automatic account (``datev_automatic``) DATEV takes the VAT out itself and the line has no BU key;
  on an account with a VAT rate that is not automatic the line carries the BU key of the rate (SKR 03: 3 =
  19 % output VAT, 2 = 7 % output VAT on income; 9 = 19 % input VAT, 8 = 7 % input VAT on expenses). Never
  both. A VAT posting without such a partner (a payment to the tax office) is an ordinary line.
- KOST1 = the tax sphere (1-4) of the line's income or expense account; Belegfeld 1 = the document number
  (an invoice, receipt or payment number like RS-2026-00001 in the source reference or description, else
  ``TX-<transaction id>``); Buchungstext = the description (60 characters); Belegdatum = the booking date
  (DDMM); Beleginfo 1 = the source reference, Beleginfo 2 = the ledger transaction.

Settings: ``DATEV_ADVISER_NUMBER`` (default 1001), ``DATEV_CLIENT_NUMBER`` (default 1),
``DATEV_ACCOUNT_LENGTH`` (default 4, SKR 03), ``DATEV_CHART`` (default "03").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import Account, Posting

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ENCODING = "cp1252"
LINE_END = "\r\n"
SEPARATOR = ";"

FORMAT_VERSION = 700
DATA_CATEGORY = 21
FORMAT_NAME = "Buchungsstapel"
FORMAT_CATEGORY_VERSION = 13
HEADER_FIELD_COUNT = 31
BOOKING_TYPE_FINANCIAL_ACCOUNTING = 1

# The main account of a multi-posting transaction is the largest posting in one of these categories.
MAIN_CATEGORIES = (
    Account.Category.CASH,
    Account.Category.RECEIVABLES,
    Account.Category.PAYABLES,
)

# BU keys (Steuerschlüssel) in SKR 03 for a line on a VAT-rated account that is not automatic.
BU_KEYS = {
    (Account.Kind.INCOME, Decimal("19.00")): "3",  # Umsatzsteuer 19 %
    (Account.Kind.INCOME, Decimal("7.00")): "2",  # Umsatzsteuer 7 %
    (Account.Kind.EXPENSE, Decimal("19.00")): "9",  # Vorsteuer 19 %
    (Account.Kind.EXPENSE, Decimal("7.00")): "8",  # Vorsteuer 7 %
}

# The columns of a booking line (format 700, Buchungsstapel version 13). 1-based positions matter:
# 1 Umsatz, 2 Soll/Haben, 3 WKZ, 7 Konto, 8 Gegenkonto, 9 BU-Schlüssel, 10 Belegdatum, 11 Belegfeld 1,
# 14 Buchungstext, 21/22 Beleginfo 1, 23/24 Beleginfo 2, 37 KOST1.
COLUMNS = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    *[
        name
        for number in range(1, 9)
        for name in (f"Beleginfo - Art {number}", f"Beleginfo - Inhalt {number}")
    ],
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    *[
        name
        for number in range(1, 21)
        for name in (f"Zusatzinformation - Art {number}", f"Zusatzinformation - Inhalt {number}")
    ],
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
]
assert len(COLUMNS) == 125, len(COLUMNS)
COLUMN = {name: index for index, name in enumerate(COLUMNS)}  # name -> 0-based position

BELEGFELD_LENGTH = 36
BUCHUNGSTEXT_LENGTH = 60
BELEGINFO_LENGTH = 210
# Belegfeld 1 takes letters, digits and $ & % * + - / only (DATEV's format description).
BELEGFELD_REFUSED = re.compile(r"[^A-Za-z0-9$&%*+\-/]")
DOCUMENT_NUMBER = re.compile(r"\b[A-Z]{1,5}-\d{4}-\d{3,}\b")


class DatevExportError(ValueError):
    """The export cannot be made as asked (dates, missing DATEV numbers); the message says why."""


@dataclass(frozen=True)
class DatevSettings:
    adviser_number: int
    client_number: int
    account_length: int
    chart: str

    @classmethod
    def from_settings(cls) -> DatevSettings:
        return cls(
            adviser_number=int(getattr(settings, "DATEV_ADVISER_NUMBER", 1001)),
            client_number=int(getattr(settings, "DATEV_CLIENT_NUMBER", 1)),
            account_length=int(getattr(settings, "DATEV_ACCOUNT_LENGTH", 4)),
            chart=str(getattr(settings, "DATEV_CHART", "03")),
        )


@dataclass(frozen=True)
class BookingLine:
    """One line of the Buchungsstapel, before it is written."""

    amount: Decimal  # positive
    debit_credit: str  # "S" or "H", relative to ``account``
    account: str  # DATEV number (Konto)
    contra_account: str  # DATEV number (Gegenkonto)
    bu_key: str
    date: datetime.date
    document_number: str
    text: str
    sphere: int | None
    source_reference: str
    transaction_id: int


@dataclass
class DatevExport:
    start: datetime.date
    end: datetime.date
    content: bytes
    booking_count: int
    transaction_count: int
    warnings: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"EXTF_Buchungsstapel_{self.start:%Y%m%d}_{self.end:%Y%m%d}.csv"


def fiscal_year_start(day: datetime.date) -> datetime.date:
    """The first day of the fiscal year ``day`` falls in (the calendar year)."""
    return datetime.date(day.year, 1, 1)


def period_check(start: datetime.date, end: datetime.date) -> None:
    """Raise ``DatevExportError`` unless ``start`` ≤ ``end`` and both lie in one fiscal year."""
    if start > end:
        raise DatevExportError(
            _("The start date %(start)s lies after the end date %(end)s.") % {"start": start, "end": end}
        )
    if fiscal_year_start(start) != fiscal_year_start(end):
        raise DatevExportError(
            _(
                "%(start)s and %(end)s lie in different fiscal years; DATEV takes one fiscal year per batch. "
                "Export each year on its own."
            )
            % {"start": start, "end": end}
        )


# --- Writing -------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    """A text field: in double quotes, a quote inside doubled, no line breaks."""
    cleaned = " ".join(str(value).split())
    return '"' + cleaned.replace('"', '""') + '"'


def _amount(value: Decimal) -> str:
    return f"{abs(value).quantize(CENT, rounding=ROUND_HALF_UP):f}".replace(".", ",")


def _created_at(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def header_fields(
    *, start: datetime.date, end: datetime.date, created: datetime.datetime, options: DatevSettings
) -> list[str]:
    """The 31 fields of line 1, written as they go into the file."""
    description = f"Buchungen {start:%d.%m.}-{end:%d.%m.%Y}"
    fields = [
        _text("EXTF"),  # 1 format: created outside DATEV
        str(FORMAT_VERSION),  # 2 version number 700
        str(DATA_CATEGORY),  # 3 data category 21 = Buchungsstapel
        _text(FORMAT_NAME),  # 4 format name
        str(FORMAT_CATEGORY_VERSION),  # 5 format version 13
        _created_at(created),  # 6 created YYYYMMDDHHMMSSfff
        "",  # 7 imported (set by DATEV)
        _text(""),  # 8 origin (set to "SV" on import)
        _text(""),  # 9 exported by
        _text(""),  # 10 imported by (set by DATEV)
        str(options.adviser_number),  # 11 adviser number
        str(options.client_number),  # 12 client number
        f"{fiscal_year_start(start):%Y%m%d}",  # 13 start of the fiscal year
        str(options.account_length),  # 14 length of the G/L account numbers
        f"{start:%Y%m%d}",  # 15 period from
        f"{end:%Y%m%d}",  # 16 period to
        _text(description[:30]),  # 17 description of the batch
        _text(""),  # 18 dictation initials
        str(BOOKING_TYPE_FINANCIAL_ACCOUNTING),  # 19 booking type 1 = financial accounting
        "0",  # 20 accounting purpose: independent
        "0",  # 21 not locked (Festschreibung): the tax adviser locks after review
        _text("EUR"),  # 22 currency
        "",  # 23 reserved
        _text(""),  # 24 derivative flag
        "",  # 25 reserved
        "",  # 26 reserved
        _text(options.chart),  # 27 chart of accounts (SKR)
        "",  # 28 industry solution id
        "",  # 29 reserved
        _text(""),  # 30 reserved
        _text(""),  # 31 application information
    ]
    assert len(fields) == HEADER_FIELD_COUNT
    return fields


def booking_fields(line: BookingLine) -> list[str]:
    fields = [""] * len(COLUMNS)
    fields[COLUMN["Umsatz (ohne Soll/Haben-Kz)"]] = _amount(line.amount)
    fields[COLUMN["Soll/Haben-Kennzeichen"]] = _text(line.debit_credit)
    fields[COLUMN["WKZ Umsatz"]] = _text("EUR")
    fields[COLUMN["Konto"]] = line.account
    fields[COLUMN["Gegenkonto (ohne BU-Schlüssel)"]] = line.contra_account
    if line.bu_key:
        fields[COLUMN["BU-Schlüssel"]] = _text(line.bu_key)
    fields[COLUMN["Belegdatum"]] = f"{line.date:%d%m}"
    fields[COLUMN["Belegfeld 1"]] = _text(line.document_number)
    fields[COLUMN["Buchungstext"]] = _text(line.text[:BUCHUNGSTEXT_LENGTH])
    if line.source_reference:
        fields[COLUMN["Beleginfo - Art 1"]] = _text("Referenz")
        fields[COLUMN["Beleginfo - Inhalt 1"]] = _text(line.source_reference[:BELEGINFO_LENGTH])
    fields[COLUMN["Beleginfo - Art 2"]] = _text("Buchung im Hauptbuch")
    fields[COLUMN["Beleginfo - Inhalt 2"]] = _text(str(line.transaction_id))
    if line.sphere:
        fields[COLUMN["KOST1 - Kostenstelle"]] = _text(str(line.sphere))
    return fields


def document_number(*, source_reference: str, description: str, transaction_id: int) -> str:
    """Belegfeld 1: an invoice, receipt or payment number found in the reference or the description,
    else ``TX-<transaction id>``; only the characters DATEV allows, at most 36."""
    for text in (source_reference, description):
        found = DOCUMENT_NUMBER.search(text or "")
        if found:
            return BELEGFELD_REFUSED.sub("", found.group(0))[:BELEGFELD_LENGTH]
    return f"TX-{transaction_id}"


# --- From postings to lines ----------------------------------------------------------------------------


@dataclass
class _Entry:
    """A posting on its way to a line: its amount grows by the VAT it absorbs."""

    posting: Posting
    amount: Decimal
    bu_key: str = ""

    @property
    def account(self) -> Account:
        return self.posting.account


def _rate(account: Account) -> Decimal | None:
    if account.vat_rate is None or account.vat_rate == 0:
        return None
    return Decimal(account.vat_rate).quantize(CENT)


def _vat_absorb(entries: list[_Entry]) -> tuple[list[_Entry], list[str]]:
    """Fold each VAT posting into the income/expense postings of the same rate (gross amounts), and set
    the BU key where the account is not automatic. Returns the entries left to export and warnings."""
    warnings: list[str] = []
    vat_entries = [e for e in entries if e.account.category == Account.Category.TAX and _rate(e.account)]
    result_entries = [
        e
        for e in entries
        if e.account.kind in (Account.Kind.INCOME, Account.Kind.EXPENSE) and _rate(e.account)
    ]
    absorbed: set[int] = set()
    for rate in sorted({_rate(e.account) for e in vat_entries}):
        partners = [e for e in result_entries if _rate(e.account) == rate]
        if not partners:
            continue
        vat_total = sum((e.amount for e in vat_entries if _rate(e.account) == rate), ZERO)
        net_total = sum((e.amount for e in partners), ZERO)
        shares = _split(vat_total, [e.amount for e in partners], net_total)
        for entry, share in zip(partners, shares, strict=True):
            entry.amount += share
        absorbed.update(id(e) for e in vat_entries if _rate(e.account) == rate)
    for entry in result_entries:
        rate = _rate(entry.account)
        has_vat = any(_rate(e.account) == rate for e in vat_entries)
        if entry.account.datev_automatic:
            if not has_vat:
                warnings.append(
                    f"Transaction {entry.posting.transaction_id}: account {entry.account.code} is a DATEV "
                    f"automatic account with {rate} % VAT, but no VAT was booked with it; DATEV will take "
                    "VAT out of the amount."
                )
        elif has_vat:
            entry.bu_key = BU_KEYS.get((entry.account.kind, rate), "")
            if not entry.bu_key:
                warnings.append(
                    f"Transaction {entry.posting.transaction_id}: no BU key is known for {rate} % on "
                    f"account {entry.account.code}; the line carries the gross amount without one."
                )
    return [e for e in entries if id(e) not in absorbed], warnings


def _split(total: Decimal, weights: list[Decimal], weight_total: Decimal) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, to the cent, the remainder on the largest share."""
    if len(weights) == 1 or weight_total == 0:
        return [total] + [ZERO] * (len(weights) - 1)
    shares = [(total * weight / weight_total).quantize(CENT, rounding=ROUND_HALF_UP) for weight in weights]
    remainder = total - sum(shares, ZERO)
    if remainder:
        largest = max(range(len(weights)), key=lambda index: abs(weights[index]))
        shares[largest] += remainder
    return shares


def _main_account(entries: list[_Entry]) -> Account:
    candidates = [e for e in entries if e.account.category in MAIN_CATEGORIES] or entries
    return max(candidates, key=lambda e: (abs(e.amount), -e.posting.pk)).account


def _number(account: Account) -> str:
    return account.datev_number


def _sphere(*accounts: Account) -> int | None:
    for account in accounts:
        if account.kind in (Account.Kind.INCOME, Account.Kind.EXPENSE) and account.tax_sphere:
            return account.tax_sphere
    return None


def transaction_lines(postings: list[Posting]) -> tuple[list[BookingLine], list[str]]:
    """The booking lines of one transaction (its postings, with account and transaction loaded)."""
    txn = postings[0].transaction
    entries, warnings = _vat_absorb([_Entry(posting=p, amount=p.amount) for p in postings])
    entries = [e for e in entries if e.amount != 0]
    common = {
        "date": txn.booking_date,
        "document_number": document_number(
            source_reference=txn.source_reference, description=txn.description, transaction_id=txn.pk
        ),
        "text": txn.description,
        "source_reference": txn.source_reference,
        "transaction_id": txn.pk,
    }
    if len(postings) == 2 and len(entries) == 2:
        debit, credit = sorted(entries, key=lambda e: e.amount, reverse=True)
        line = BookingLine(
            amount=debit.amount,
            debit_credit="S",
            account=_number(debit.account),
            contra_account=_number(credit.account),
            bu_key="",
            sphere=_sphere(debit.account, credit.account),
            **common,
        )
        return _without_same_account(lines=[line], warnings=warnings)
    main = _main_account(entries)
    lines = []
    for entry in entries:
        if entry.account.pk == main.pk:
            continue  # the main account is the other side of every line
        lines.append(
            BookingLine(
                amount=abs(entry.amount),
                # The line books the posting on the Gegenkonto and its opposite on the main account (Konto).
                debit_credit="S" if entry.amount < 0 else "H",
                account=_number(main),
                contra_account=_number(entry.account),
                bu_key=entry.bu_key,
                sphere=_sphere(entry.account),
                **common,
            )
        )
    return _without_same_account(lines=lines, warnings=warnings)


def _without_same_account(*, lines: list[BookingLine], warnings: list[str]):
    """DATEV refuses a line with Konto = Gegenkonto (a move between cost centres of one account): such a
    line changes no DATEV account and is left out."""
    kept = [line for line in lines if line.account != line.contra_account]
    return kept, warnings


def _postings(start: datetime.date, end: datetime.date) -> Iterable[Posting]:
    return (
        Posting.objects.between(start, end)
        .select_related("account", "transaction")
        .order_by("booking_date", "transaction_id", "id")
        .iterator(chunk_size=2000)
    )


def missing_datev_numbers(start: datetime.date, end: datetime.date) -> list[str]:
    """Codes of the accounts posted to in the period that have no DATEV number."""
    return sorted(
        set(
            Posting.objects.between(start, end)
            .filter(account__datev_number="")
            .values_list("account__code", flat=True)
            .distinct()
        )
    )


def datev_export(
    *,
    start: datetime.date,
    end: datetime.date,
    created: datetime.datetime | None = None,
    options: DatevSettings | None = None,
) -> DatevExport:
    """The Buchungsstapel of the transactions booked from ``start`` to ``end`` (both included).

    Raises ``DatevExportError`` for a period that is not one fiscal year or accounts without a DATEV
    number.
    """
    period_check(start, end)
    missing = missing_datev_numbers(start, end)
    if missing:
        raise DatevExportError(
            _(
                "These accounts have postings in the period but no DATEV account number: %(accounts)s. "
                "Enter their numbers in the chart of accounts first."
            )
            % {"accounts": ", ".join(missing)}
        )
    options = options or DatevSettings.from_settings()
    created = created or timezone.now()
    rows = [
        SEPARATOR.join(header_fields(start=start, end=end, created=created, options=options)),
        SEPARATOR.join(COLUMNS),
    ]
    booking_count = transaction_count = 0
    warnings: list[str] = []
    for _transaction_id, group in groupby(_postings(start, end), key=lambda posting: posting.transaction_id):
        lines, line_warnings = transaction_lines(list(group))
        transaction_count += 1
        warnings += line_warnings
        for line in lines:
            rows.append(SEPARATOR.join(booking_fields(line)))
            booking_count += 1
    text = LINE_END.join(rows) + LINE_END
    return DatevExport(
        start=start,
        end=end,
        content=text.encode(ENCODING, errors="replace"),
        booking_count=booking_count,
        transaction_count=transaction_count,
        warnings=warnings,
    )
