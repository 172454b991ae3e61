"""Import of monthly pay records from a CSV file (docs/grants-pay-import.md).

``pay_records_import`` reads the whole file and checks every row first. If any row is bad, nothing is
imported and every problem is returned, each naming its row as a spreadsheet shows it (the header is row
1) and the column. If every row is good, all pay records are created and posted with
``grants.services.pay_record_post`` inside one database transaction: if one posting fails, none stays.

The file: UTF-8 (with or without byte order mark), separated by commas or semicolons (German Excel), a
header row naming the columns ``person``, ``month``, ``gross_salary``, ``employer_social_costs``,
``freelancer_invoice`` and optionally ``note``. Amounts are written as 1234.56, 1,234.56, 1234,56 or
1.234,56; an empty cell is 0.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ledger.errors import LedgerError
from ledger.querysets import month_end

from .models import ZERO, PayRecord, Person
from .services import pay_record_post

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
NOTE_MAX_LENGTH = PayRecord._meta.get_field("note").max_length
LARGEST_AMOUNT = Decimal("9999999999.99")  # PayRecord amounts hold 12 digits, two after the point

PERSON = "person"
MONTH = "month"
GROSS_SALARY = "gross_salary"
SOCIAL_COSTS = "employer_social_costs"
FREELANCER_INVOICE = "freelancer_invoice"
NOTE = "note"
REQUIRED_COLUMNS = (PERSON, MONTH, GROSS_SALARY, SOCIAL_COSTS, FREELANCER_INVOICE)
COLUMNS = (*REQUIRED_COLUMNS, NOTE)
AMOUNT_COLUMNS = (GROSS_SALARY, SOCIAL_COSTS, FREELANCER_INVOICE)

UTF8_BOM = b"\xef\xbb\xbf"
MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass(frozen=True)
class RowError:
    """One problem of the file: ``row`` as a spreadsheet numbers it (header = 1), or None for the whole
    file; ``column`` is the column's name, or empty when the problem is the row as a whole."""

    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class ImportResult:
    """What an import did: the pay records created and posted, or the problems (then nothing was)."""

    records: list[PayRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return not self.errors

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def total(self) -> Decimal:
        return sum((record.total_cost for record in self.records), ZERO)

    @property
    def file_errors(self) -> list[RowError]:
        return [error for error in self.errors if error.row is None]

    @property
    def row_errors(self) -> list[RowError]:
        return [error for error in self.errors if error.row is not None]


class _FileRefused(Exception):
    """The file as a whole cannot be read as pay records."""


class _AmountRefused(Exception):
    pass


@dataclass
class _Row:
    number: int
    person: Person | None = None
    month: datetime.date | None = None
    amounts: dict[str, Decimal] = field(default_factory=dict)
    note: str = ""


# --- Reading the file -----------------------------------------------------------------------------


def _whole_number(value: int) -> str:
    return number_format(value, force_grouping=True)


def _file_bytes(file) -> bytes:
    size = getattr(file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _FileRefused(_too_big_message())
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise _FileRefused(_too_big_message())
    return data


def _too_big_message() -> str:
    return _("The file is larger than 2 MB. Split it into smaller files of at most %(rows)s rows each.") % {
        "rows": _whole_number(MAX_ROWS)
    }


def _text(data: bytes) -> str:
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data.strip():
        raise _FileRefused(_("The file is empty. Choose the CSV file with the pay records."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _FileRefused(
            _(
                "This is an Excel workbook, not a CSV file. In Excel choose File › Save as › "
                "“CSV UTF-8 (comma delimited)” and upload that file."
            )
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _FileRefused(_not_utf8_message())
    if b"\x00" in data:
        raise _FileRefused(_("This is not a CSV file. Save the table as “CSV UTF-8” and upload that file."))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _FileRefused(_not_utf8_message()) from None
    return text


def _not_utf8_message() -> str:
    return _(
        "The file is not UTF-8 text. In Excel save it as “CSV UTF-8 (comma delimited)”; in LibreOffice "
        "choose the character set “Unicode (UTF-8)” when saving as CSV."
    )


def _delimiter(text: str) -> str:
    """Semicolon when the header row has more semicolons than commas (German Excel), else comma."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _column_name(cell: str) -> str:
    return SPACES.sub("_", cell.strip().lower()).replace("-", "_")


def _records(text: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """The delimiter and the non-empty records, each with its spreadsheet row number (header = 1)."""
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                records.append((number, cells))
    except csv.Error as error:
        raise _FileRefused(
            _("The file could not be read as CSV (line %(line)s: %(problem)s).")
            % {"line": reader.line_num, "problem": error}
        ) from None
    return delimiter, records


def _header(cells: list[str]) -> dict[str, int]:
    names = [_column_name(cell) for cell in cells]
    expected = _(
        "The first row must name the columns person, month, gross_salary, employer_social_costs, "
        "freelancer_invoice and, if you like, note (see the template)."
    )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise _FileRefused(
            _("The header row (row 1) lacks the columns %(missing)s.") % {"missing": ", ".join(missing)}
            + " "
            + expected
        )
    unknown = [cell.strip() for cell, name in zip(cells, names, strict=True) if name and name not in COLUMNS]
    if unknown:
        raise _FileRefused(
            _("The header row (row 1) has columns this import does not know: %(unknown)s.")
            % {"unknown": ", ".join(f"“{name}”" for name in unknown)}
            + " "
            + expected
        )
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:
        raise _FileRefused(
            _("The header row (row 1) names the column %(column)s more than once.")
            % {"column": ", ".join(twice)}
        )
    return {name: position for position, name in enumerate(names) if name}


# --- Cells ----------------------------------------------------------------------------------------


def amount_parse(raw: str) -> Decimal:
    """An amount in euros from a cell: 1234.56, 1,234.56, 1234,56, 1.234,56 (or without cents); empty is 0.

    Raises ``_AmountRefused`` with the reason for anything else, for a single separator followed by
    exactly three digits (1.234 or 1,234: thousands or decimals?), more than two decimals and negative
    amounts."""
    value = SPACES.sub("", raw)
    for sign in ("€", "EUR"):
        value = value.removesuffix(sign).removeprefix(sign)
    if not value:
        return ZERO
    negative = value[0] in "-−"
    if negative or value[0] == "+":
        value = value[1:]
    if not value or not re.fullmatch(r"[0-9.,]+", value):
        raise _AmountRefused("invalid")
    dots, commas = value.count("."), value.count(",")
    if dots and commas:
        decimal_mark = "." if value.rfind(".") > value.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, _mark, fraction = value.rpartition(decimal_mark)
        if not re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", whole) or not fraction:
            raise _AmountRefused("invalid")
        whole = whole.replace(thousands, "")
    elif dots > 1 or commas > 1:
        thousands = "." if dots else ","
        if not re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", value):
            raise _AmountRefused("invalid")
        whole, fraction = value.replace(thousands, ""), ""
    elif dots or commas:
        whole, _mark, fraction = value.partition("." if dots else ",")
        if not whole or not fraction:
            raise _AmountRefused("invalid")
        if len(fraction) == 3 and len(whole) <= 3 and not whole.startswith("0"):
            raise _AmountRefused("ambiguous")
    else:
        whole, fraction = value, ""
    if len(fraction) > 2:
        raise _AmountRefused("decimals")
    # Before Decimal(): quantize() fails on more digits than its context holds (30 ones were a 500).
    if len(whole.lstrip("0")) > len(str(int(LARGEST_AMOUNT))):
        raise _AmountRefused("large")
    amount = Decimal(f"{whole}.{fraction or '0'}").quantize(Decimal("0.01"))
    if negative and amount:
        raise _AmountRefused("negative")
    if amount > LARGEST_AMOUNT:
        raise _AmountRefused("large")
    return amount


def _amount_message(reason: str, *, raw: str, column: str) -> str:
    values = {"value": raw.strip(), "column": column}
    if reason == "ambiguous":
        digits = re.sub(r"\D", "", raw)
        return _(
            "“%(value)s” in %(column)s is ambiguous: is the separator a thousands separator or the decimal "
            "point? Write it without a thousands separator and with the cents, e.g. %(plain)s.00 or "
            "%(plain)s,00."
        ) % {**values, "plain": digits}
    if reason == "decimals":
        return (
            _("“%(value)s” in %(column)s has more than two decimals; amounts are euros and cents.") % values
        )
    if reason == "negative":
        return _("“%(value)s” in %(column)s is negative; amounts cannot be negative.") % values
    if reason == "large":
        return _("“%(value)s” in %(column)s is too large for an amount.") % values
    return _("“%(value)s” in %(column)s is not an amount. Write it like 1234.56 or 1.234,56.") % values


def _month_parse(raw: str) -> datetime.date | None:
    match = MONTH_PATTERN.fullmatch(raw.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        return None
    return datetime.date(int(match[1]), int(match[2]), 1)


class _People:
    """Who a ``person`` cell names: a name exactly as in People, or an e-mail."""

    def __init__(self):
        self.by_name: dict[str, list[Person]] = defaultdict(list)
        self.by_folded_name: dict[str, list[Person]] = defaultdict(list)
        self.by_email: dict[str, list[Person]] = defaultdict(list)
        for person in Person.objects.order_by("pk"):
            self.by_name[person.name.strip()].append(person)
            self.by_folded_name[person.name.strip().casefold()].append(person)
            if person.email:
                self.by_email[person.email.strip().casefold()].append(person)

    def find(self, raw: str) -> tuple[Person | None, str]:
        """The person, or None and why not."""
        value = " ".join(raw.split())
        if not value:
            return None, _("The person is empty. Enter the name exactly as in People, or the e-mail.")
        if "@" in value:
            found = self.by_email.get(value.casefold(), [])
            if not found:
                return None, _("Nobody in People has the e-mail “%(value)s”.") % {"value": value}
            if len(found) > 1:
                return None, _(
                    "%(count)s people in People have the e-mail “%(value)s”; enter the name instead."
                ) % {"count": len(found), "value": value}
            return found[0], ""
        found = self.by_name.get(value, [])
        if len(found) > 1:
            return None, _(
                "%(count)s people in People are called “%(value)s”; enter the e-mail of the one you mean "
                "instead."
            ) % {"count": len(found), "value": value}
        if found:
            return found[0], ""
        similar = self.by_folded_name.get(value.casefold(), [])
        if len(similar) == 1:
            return None, _("Nobody in People is called “%(value)s”. Did you mean “%(name)s”?") % {
                "value": value,
                "name": similar[0].name,
            }
        return None, _(
            "Nobody in People is called “%(value)s”. Enter the name exactly as in People, or the e-mail."
        ) % {"value": value}


# --- Checking the rows ----------------------------------------------------------------------------


def _check_row(
    number: int,
    cells: list[str],
    *,
    columns: dict[str, int],
    width: int,
    people: _People,
    this_month: datetime.date,
) -> tuple[_Row, list[RowError]]:
    row = _Row(number=number)
    errors: list[RowError] = []

    def problem(column: str, message: str) -> None:
        errors.append(RowError(row=number, column=column, message=message))

    if any(cell.strip() for cell in cells[width:]):
        problem(
            "",
            _(
                "The row has more cells than the header has columns. Is there a separator inside a "
                "value? Put such a value in double quotes."
            ),
        )
        return row, errors

    def cell(column: str) -> str:
        position = columns.get(column)
        return cells[position] if position is not None and position < len(cells) else ""

    row.person, why = people.find(cell(PERSON))
    if row.person is None:
        problem(PERSON, why)

    raw_month = cell(MONTH).strip()
    example = this_month.strftime("%Y-%m")
    if not raw_month:
        problem(MONTH, _("The month is empty. Enter it as YYYY-MM, e.g. %(example)s.") % {"example": example})
    else:
        row.month = _month_parse(raw_month)
        if row.month is None:
            problem(
                MONTH,
                _(
                    "“%(value)s” is not a month in the form YYYY-MM (e.g. %(example)s). If the spreadsheet "
                    "turned it into a date, format the column as text."
                )
                % {"value": raw_month, "example": example},
            )
        elif row.month > this_month:
            problem(
                MONTH,
                _("%(month)s lies in the future; pay can be imported up to the current month.")
                % {"month": raw_month},
            )
            row.month = None

    amounts_ok = True
    for column in AMOUNT_COLUMNS:
        raw = cell(column)
        try:
            row.amounts[column] = amount_parse(raw)
        except _AmountRefused as refusal:
            amounts_ok = False
            problem(column, _amount_message(str(refusal), raw=raw, column=column))

    row.note = " ".join(cell(NOTE).split())
    if len(row.note) > NOTE_MAX_LENGTH:
        problem(
            NOTE,
            _("The note is %(length)s characters long; at most %(limit)s fit.")
            % {"length": len(row.note), "limit": NOTE_MAX_LENGTH},
        )

    person, month = row.person, row.month
    if person is not None and month is not None:
        month_text = month.strftime("%Y-%m")
        if person.start_date > month_end(month):
            problem(
                MONTH,
                _("“%(person)s” starts on %(start)s, so has no pay in %(month)s.")
                % {"person": person.name, "start": person.start_date.isoformat(), "month": month_text},
            )
        elif person.end_date is not None and person.end_date < month:
            problem(
                MONTH,
                _("“%(person)s” left on %(end)s, so has no pay in %(month)s.")
                % {"person": person.name, "end": person.end_date.isoformat(), "month": month_text},
            )
    if person is not None and amounts_ok:
        errors.extend(_kind_errors(number, person, row.amounts))
    return row, errors


def _kind_errors(number: int, person: Person, amounts: dict[str, Decimal]) -> list[RowError]:
    """Employees are paid a salary, freelancers an invoice, never both."""
    values = {"person": person.name}
    if person.kind == Person.Kind.FREELANCER:
        for column in (GROSS_SALARY, SOCIAL_COSTS):
            if amounts[column]:
                message = _(
                    "“%(person)s” is a freelancer, so enter the invoice amount in freelancer_invoice, "
                    "not a salary."
                )
                return [RowError(row=number, column=column, message=message % values)]
        if not amounts[FREELANCER_INVOICE]:
            message = _(
                "“%(person)s” is a freelancer: enter the invoice amount (more than 0) in "
                "freelancer_invoice, or delete the row if there was no invoice this month."
            )
            return [RowError(row=number, column=FREELANCER_INVOICE, message=message % values)]
        return []
    if amounts[FREELANCER_INVOICE]:
        message = _(
            "“%(person)s” is an employee, so enter the pay in gross_salary and employer_social_costs, "
            "not in freelancer_invoice."
        )
        return [RowError(row=number, column=FREELANCER_INVOICE, message=message % values)]
    if not amounts[GROSS_SALARY]:
        message = _(
            "“%(person)s” is an employee: enter the gross salary (more than 0) in gross_salary, or "
            "delete the row if there was no pay this month."
        )
        return [RowError(row=number, column=GROSS_SALARY, message=message % values)]
    return []


def _check_repeats(rows: list[_Row]) -> list[RowError]:
    """One row per person and month in the file, and none for a month that already has a pay record."""
    errors = []
    first_row: dict[tuple[int, datetime.date], int] = {}
    keyed = [row for row in rows if row.person is not None and row.month is not None]
    existing = set(
        PayRecord.objects.filter(
            person__in={row.person.pk for row in keyed}, month__in={row.month for row in keyed}
        ).values_list("person_id", "month")
    )
    for row in keyed:
        key = (row.person.pk, row.month)
        values = {"person": row.person.name, "month": row.month.strftime("%Y-%m")}
        if key in first_row:
            errors.append(
                RowError(
                    row=row.number,
                    column="",
                    message=_(
                        "“%(person)s” already has a row for %(month)s (row %(first)s); one row per person "
                        "and month."
                    )
                    % {**values, "first": first_row[key]},
                )
            )
            continue
        first_row[key] = row.number
        if key in existing:
            errors.append(
                RowError(
                    row=row.number,
                    column="",
                    message=_(
                        "“%(person)s” already has a pay record for %(month)s (entered or imported before); "
                        "remove this row."
                    )
                    % values,
                )
            )
    return errors


def _file_check(file) -> tuple[list[_Row], list[RowError]]:
    """Read and check every row of ``file``; the rows, and the problems (empty when all are good)."""
    try:
        text = _text(_file_bytes(file))
        _delimiter_used, records = _records(text)
        if not records:
            raise _FileRefused(_("The file is empty. Choose the CSV file with the pay records."))
        header_row, header_cells = records[0]
        if header_row != 1:
            raise _FileRefused(_("Row 1 is empty. The first row must name the columns (see the template)."))
        columns = _header(header_cells)
        data = records[1:]
        if not data:
            raise _FileRefused(_("The file has a header row but no pay records."))
        if len(data) > MAX_ROWS:
            raise _FileRefused(
                _(
                    "The file has %(count)s rows of pay records; at most %(limit)s can be imported at once. "
                    "Split it into smaller files."
                )
                % {"count": _whole_number(len(data)), "limit": _whole_number(MAX_ROWS)}
            )
    except _FileRefused as refusal:
        return [], [RowError(row=None, column="", message=str(refusal))]

    people = _People()
    this_month = timezone.localdate().replace(day=1)
    rows, errors = [], []
    for number, cells in data:
        row, row_errors = _check_row(
            number, cells, columns=columns, width=len(header_cells), people=people, this_month=this_month
        )
        rows.append(row)
        errors.extend(row_errors)
    errors.extend(_check_repeats(rows))
    errors.sort(key=lambda error: (error.row, COLUMNS.index(error.column) if error.column else -1))
    return rows, errors


# --- The import -----------------------------------------------------------------------------------


class _PostingFailed(Exception):
    def __init__(self, row: _Row, reason: str):
        super().__init__(reason)
        self.row = row
        self.reason = reason


def pay_records_import(*, file, by) -> ImportResult:
    """Import the pay records of a CSV file: all of them, created and posted, or none.

    Every row is checked first; any problem returns them all (``ImportResult.errors``) and changes
    nothing. Otherwise each record is created and posted (by month, then person) in one transaction."""
    rows, errors = _file_check(file)
    if errors:
        return ImportResult(errors=errors)
    rows.sort(key=lambda row: (row.month, row.person.name, row.person.pk))
    records = []
    try:
        with transaction.atomic():
            for row in rows:
                try:
                    record = PayRecord.objects.create(
                        person=row.person,
                        month=row.month,
                        gross_salary=row.amounts[GROSS_SALARY],
                        employer_social_costs=row.amounts[SOCIAL_COSTS],
                        freelancer_invoice=row.amounts[FREELANCER_INVOICE],
                        note=row.note,
                    )
                    records.append(pay_record_post(pay_record=record))
                except IntegrityError:
                    raise _PostingFailed(
                        row,
                        _(
                            "a pay record for “%(person)s” in %(month)s was entered while the file was being "
                            "imported."
                        )
                        % {"person": row.person.name, "month": row.month.strftime("%Y-%m")},
                    ) from None
                except (ValidationError, LedgerError) as error:
                    reason = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                    raise _PostingFailed(row, reason) from error
    except _PostingFailed as failure:
        logger.warning("Pay import refused at row %s: %s", failure.row.number, failure.reason)
        return ImportResult(
            errors=[
                RowError(
                    row=failure.row.number,
                    column="",
                    message=_("The pay could not be posted (%(reason)s). Nothing was imported.")
                    % {"reason": failure.reason},
                )
            ]
        )
    result = ImportResult(records=records)
    logger.info(
        "Pay import by user %s: %s pay records posted, total %s",
        getattr(by, "pk", None),
        result.count,
        result.total,
    )
    return result
