"""The pay CSV import (grants/pay_import.py, docs/grants-pay-import.md) under fuzzed files.

- Any bytes: refused with messages (each naming its row and column, or the file), nothing written.
- Any cell in an amount column: an amount of euros and cents in range, or a refusal; a rendering of an
  amount in any of the documented notations reads back as that amount.
- A CSV with a valid header (any order, case, separator, byte order mark) and rows with fuzzed cells
  (known, unknown and ambiguous people, months in odd forms and outside the person's time here, amounts in
  every notation and malformed, duplicates, long notes): imported whole, each record exactly as written,
  when every row keeps the rules; otherwise nothing written and exactly the bad rows named. The rules are
  worked out here, independently of the import.
- Through the screen: never a 500, nothing written by a refused file.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import event, example, given
from hypothesis import strategies as st

from grants.models import AllocationBooking, PayRecord, Person
from grants.pay_import import COLUMNS, _AmountRefused, amount_parse, pay_records_import
from ledger.models import Posting, Transaction
from tests.factories.grants import PayRecordFactory, PersonFactory

from .conftest import fuzz_settings, ledger_problems, rolled_back, row_counts

pytestmark = pytest.mark.django_db

WRITTEN = (PayRecord, AllocationBooking, Transaction, Posting)
LARGEST = Decimal("9999999999.99")
CENT = Decimal("0.01")
IMPORT_URL = "/admin/grants/pay-import/"


def this_month() -> datetime.date:
    return timezone.localdate().replace(day=1)


def month_add(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_last_day(month: datetime.date) -> datetime.date:
    return month_add(month, 1) - datetime.timedelta(days=1)


def csv_upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("pay.csv", data, content_type="text/csv")


def assert_refusal_is_clear(result, *, data_rows: int | None = None) -> None:
    assert result.errors and not result.records
    for error in result.errors:
        assert str(error).strip()
        assert error.column in ("", *COLUMNS)
        if error.row is not None:
            assert error.row >= 2 and (data_rows is None or error.row <= data_rows + 1)
            assert str(error).startswith(f"Row {error.row}: ")


# --- Any bytes ------------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS)
ANY_FILE = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.text(max_size=300).map(lambda text: (HEADER + "\n" + text).encode("utf-8", "surrogatepass")),
    st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=6).map(
        lambda rows: (HEADER + "\r\n" + "\r\n".join(",".join(row) for row in rows)).encode(
            "utf-8", "surrogatepass"
        )
    ),
)


@fuzz_settings(max_examples=200)
@given(data=ANY_FILE)
@example(data=(HEADER + "\nJonas Weber,2026-01," + "1" * 30 + ",0,,\n").encode())
def test_any_file_is_imported_whole_or_refused_with_clear_messages_and_nothing_written(people, data):
    with rolled_back():
        before = row_counts(*WRITTEN)

        result = pay_records_import(file=csv_upload(data), by=None)

        if result.errors:
            assert_refusal_is_clear(result)
            assert row_counts(*WRITTEN) == before
        else:
            assert row_counts(PayRecord)["PayRecord"] == before["PayRecord"] + len(result.records)
        assert ledger_problems() == []


# --- Amount cells ---------------------------------------------------------------------------------


@fuzz_settings(max_examples=300)
@given(raw=st.one_of(st.text(max_size=30), st.text(alphabet="0123456789.,-+€ EUR\u00a0", max_size=45)))
# Found by this test (an unhandled decimal.InvalidOperation, a 500 on the import screen): a number with
# more digits than the decimal context holds.
@example(raw="1" * 30)
@example(raw="9" * 27 + ",99")
def test_an_amount_cell_reads_as_euros_and_cents_in_range_or_is_refused(raw):
    try:
        amount = amount_parse(raw)
    except _AmountRefused as refusal:
        assert str(refusal) in ("invalid", "ambiguous", "decimals", "negative", "large")
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert amount == amount.quantize(CENT) and amount.as_tuple().exponent == -2
    assert Decimal("0.00") <= amount <= LARGEST


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    return separator.join([digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))])


@st.composite
def amounts_written(draw, *, valid: bool = False) -> tuple[str, Decimal | None]:
    """(cell, the amount it means, or None when the import must refuse it); ``valid``: a positive amount in
    range, written in one of the documented notations."""
    smallest, largest = (1, 10**12 - 1) if valid else (0, 10**13)
    value = Decimal(draw(st.one_of(st.integers(smallest, 10**6), st.integers(smallest, largest)))) / 100
    whole, cents = f"{value:.2f}".split(".")
    notations = ["plain", "plain", "whole", "english", "german"] + ([] if valid else ["bad", "bad"])
    notation = draw(st.sampled_from(notations))
    if notation == "whole" and cents == "00":
        cell = whole
    elif notation in ("english", "german"):
        thousands, mark = (",", ".") if notation == "english" else (".", ",")
        cell = f"{_group(whole, thousands)}{mark}{cents}"
    else:
        mark = draw(st.sampled_from([".", ","]))
        cell = f"{whole}{mark}{cents[0] if cents[1] == '0' and draw(st.booleans()) else cents}"
    cell = draw(st.sampled_from(["{}", " {} ", "{} €", "€{}", "{} EUR", "+{}"])).format(cell)
    expected: Decimal | None = value if value <= LARGEST else None
    if notation == "bad":
        ambiguous = (
            f"{draw(st.integers(1, 999))}{draw(st.sampled_from(['.', ',']))}{draw(st.integers(0, 999)):03d}"
        )
        cell, expected = draw(
            st.sampled_from(
                [
                    (f"-{whole}.{cents}", None if value else Decimal("0.00")),
                    (f"−{whole},{cents}", None if value else Decimal("0.00")),  # a minus sign
                    (f"{whole}.{cents}5", None),  # three decimals
                    (ambiguous, None),  # 1.234: a thousands separator or a decimal point?
                    (f"{whole}{cents}x", None),
                    ("1e5", None),
                    ("NaN", None),
                    ("12..50", None),
                    (",50", None),
                    ("1,234.567,89", None),
                    ("1" * draw(st.integers(13, 60)), None),  # more digits than any amount
                    ("", Decimal("0.00")),
                ]
            )
        )
    return cell, expected


@fuzz_settings(max_examples=200)
@given(written=amounts_written())
def test_an_amount_written_in_any_documented_notation_reads_back_exactly(written):
    cell, expected = written
    try:
        amount = amount_parse(cell)
    except _AmountRefused:
        amount = None
    assert amount == expected, cell


# --- Whole files with fuzzed cells ----------------------------------------------------------------


@pytest.fixture
def people(db):
    """Who the rows name; one record exists already (Jonas, last month)."""
    start = datetime.date(2020, 1, 1)
    now = this_month()
    people = {
        "jonas": PersonFactory(name="Jonas Weber", email="jonas@commons.example.org", start_date=start),
        "ana": PersonFactory(name="Ana Pereira", kind=Person.Kind.FREELANCER, start_date=start),
        "mei": PersonFactory(name="Mei Lin", start_date=month_add(now, -6) + datetime.timedelta(days=9)),
        "kai": PersonFactory(
            name="Kai Berg", start_date=start, end_date=month_add(now, -12) + datetime.timedelta(days=3)
        ),
        "alex1": PersonFactory(name="Alex Kim", email="alex.one@example.org", start_date=start),
        "alex2": PersonFactory(
            name="Alex Kim", email="alex.two@example.org", kind=Person.Kind.FREELANCER, start_date=start
        ),
    }
    PayRecordFactory(person=people["jonas"], month=month_add(now, -1))
    return people


# (cell, who it names: a key of ``people`` or None when nobody can be told)
PERSON_CELLS = [
    ("Jonas Weber", "jonas"),
    ("  Jonas   Weber ", "jonas"),
    ("JONAS@commons.example.org", "jonas"),
    ("jonas weber", None),  # names are exact ("Did you mean …?")
    ("Ana Pereira", "ana"),
    ("Mei Lin", "mei"),
    ("Kai Berg", "kai"),
    ("Alex Kim", None),  # two people have that name
    ("alex.two@example.org", "alex2"),
    ("nobody@example.org", None),
    ("Nobody Here", None),
    ("", None),
]
MONTH_FORMS = ["03.2026", "2026-3", "2026/03", "2026-13", "1899-12", "2026-03-01", "März 2026", "", "2026-00"]


@dataclass
class Row:
    person_cell: str
    person: str | None
    month_cell: str
    month: datetime.date | None  # None: not a month the import may take
    future: bool
    amounts: dict[str, tuple[str, Decimal | None]]
    note: str
    extra_cell: str = ""
    cells: list[str] = field(default_factory=list)


# Whom a valid row can name, and the months (counted back from this one) they work in.
WORKING = {"jonas": range(-30, 1), "ana": range(-30, 1), "mei": range(-6, 1), "kai": range(-30, -11)}
PERSON_CELL_OF = {"jonas": "Jonas Weber", "ana": "Ana Pereira", "mei": "Mei Lin", "kai": "Kai Berg"}
EMPTY = ("", Decimal("0.00"))


@st.composite
def rows(draw) -> Row:
    """Mostly a row that keeps every rule (so that whole files get imported too), else any row."""
    now = this_month()
    if draw(st.integers(0, 9), label="valid row") < 8:
        person = draw(st.sampled_from(sorted(WORKING)))
        person_cell = draw(st.sampled_from([PERSON_CELL_OF[person], f" {PERSON_CELL_OF[person]} "]))
        if person == "jonas" and draw(st.booleans()):
            person_cell = "jonas@Commons.example.org"
        month = month_add(now, draw(st.sampled_from(list(WORKING[person]))))
        if person == "ana":
            amounts = {"gross_salary": EMPTY, "employer_social_costs": EMPTY}
            amounts["freelancer_invoice"] = draw(amounts_written(valid=True))
        else:
            amounts = {"gross_salary": draw(amounts_written(valid=True)), "freelancer_invoice": EMPTY}
            amounts["employer_social_costs"] = draw(st.one_of(st.just(EMPTY), amounts_written(valid=True)))
        note = draw(
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=30)
        )
        return Row(person_cell, person, f"{month:%Y-%m}", month, False, amounts, note)
    person_cell, person = draw(st.sampled_from(PERSON_CELLS), label="person")
    month_kind = draw(st.sampled_from(["past", "past", "this", "future", "odd"]))
    future = False
    if month_kind == "odd":
        month_cell, month = draw(st.sampled_from(MONTH_FORMS)), None
    else:
        offset = {"past": -draw(st.integers(1, 30)), "this": 0, "future": draw(st.integers(1, 14))}[
            month_kind
        ]
        month = month_add(now, offset)
        future = offset > 0
        month_cell = draw(st.sampled_from(["{:%Y-%m}", " {:%Y-%m} "])).format(month)
    amounts = {
        column: draw(st.one_of(st.just(EMPTY), amounts_written()))
        for column in ("gross_salary", "employer_social_costs", "freelancer_invoice")
    }
    note = draw(
        st.one_of(
            st.just(""),
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=30),
            st.text(alphabet='ab ;,"\n', min_size=190, max_size=215),
        ),
        label="note",
    )
    extra = draw(st.sampled_from(["", "", "", "surplus"]))
    return Row(person_cell, person, month_cell, month, future, amounts, note, extra)


def expected_errors(table: list[Row], people: dict[str, Person]) -> set[int]:
    """The spreadsheet row numbers the import must refuse (rows are numbered from 2), by the documented rules."""
    existing = {(record.person_id, record.month) for record in PayRecord.objects.all()}
    bad, first = set(), {}
    for number, row in enumerate(table, start=2):
        if row.extra_cell:
            bad.add(number)  # more cells than the header: nothing else is looked at
            continue
        person = people[row.person] if row.person else None
        values = {column: value for column, (_cell, value) in row.amounts.items()}
        month_ok = row.month is not None and not row.future
        wrong = person is None or not month_ok or None in values.values()
        wrong |= len(" ".join(row.note.split())) > 200
        if person is not None and month_ok:
            starts_late = person.start_date > month_last_day(row.month)
            left = person.end_date is not None and person.end_date < row.month
            wrong |= starts_late or left
        if person is not None and None not in values.values():
            if person.kind == Person.Kind.FREELANCER:
                wrong |= bool(values["gross_salary"] or values["employer_social_costs"])
                wrong |= not values["freelancer_invoice"]
            else:
                wrong |= bool(values["freelancer_invoice"]) or not values["gross_salary"]
        if person is not None and month_ok:
            key = (person.pk, row.month)
            wrong |= key in first or key in existing
            first.setdefault(key, number)
        if wrong:
            bad.add(number)
    return bad


@st.composite
def files(draw):
    """A CSV with a valid header in any order and spelling and 1 to 6 rows of fuzzed cells: its bytes (UTF-8
    with or without byte order mark, UTF-16 or Windows-1252), the rows, and whether the import must refuse
    the encoding."""
    table = draw(st.lists(rows(), min_size=1, max_size=6), label="rows")
    with_note = draw(st.booleans()) or any(row.note.strip() for row in table)
    columns = list(COLUMNS if with_note else COLUMNS[:-1])
    order = draw(st.permutations(columns), label="column order")
    spellings = {
        column: draw(
            st.sampled_from(
                [column, column.upper(), column.replace("_", " ").title(), column.replace("_", "-")]
            )
        )
        for column in order
    }
    delimiter = draw(st.sampled_from([",", ";"]), label="separator")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerow([spellings[column] for column in order])
    for row in table:
        values = {
            "person": row.person_cell,
            "month": row.month_cell,
            "note": row.note,
            **{column: cell for column, (cell, _value) in row.amounts.items()},
        }
        cells = [values[column] for column in order]
        while cells and not cells[-1].strip() and not row.extra_cell and draw(st.booleans()):
            cells.pop()  # a short row: the missing cells are empty
        if row.extra_cell:
            cells.append(row.extra_cell)
        row.cells = cells
        writer.writerow(cells)
    text = buffer.getvalue()
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252"]), label="encoding"
    )
    if encoding == "cp1252":
        try:
            data = text.encode("cp1252")
            data.decode("utf-8")
        except UnicodeEncodeError:  # not a text Windows-1252 can write
            encoding, data = "utf-8", text.encode("utf-8")
        except UnicodeDecodeError:  # Windows-1252 that is no UTF-8: the import must refuse the file
            return data, table, True
        else:  # plain ASCII: UTF-8 as well
            return data, table, False
    return text.encode(encoding), table, encoding == "utf-16"


@fuzz_settings(max_examples=250)
@given(upload=files())
def test_a_file_of_fuzzed_rows_is_imported_exactly_or_names_exactly_its_bad_rows(people, upload):
    data, table, not_utf8 = upload
    # a row whose cells are all blank is skipped (Excel writes such lines); it still counts in the numbering
    blank = {
        number for number, row in enumerate(table, start=2) if not any(cell.strip() for cell in row.cells)
    }
    written = [row for number, row in enumerate(table, start=2) if number not in blank]
    with rolled_back():
        wrong = expected_errors(table, people) - blank
        before = row_counts(*WRITTEN)

        result = pay_records_import(file=csv_upload(data), by=None)

        event("imported" if result.imported else "refused")
        if not_utf8:
            assert [error.row for error in result.errors] == [None]  # "The file is not UTF-8 text. …"
            assert "UTF-8" in str(result.errors[0])
        elif not written:
            assert [error.row for error in result.errors] == [None]  # "a header row but no pay records"
        elif wrong:
            assert_refusal_is_clear(result, data_rows=len(table))
            assert {error.row for error in result.errors} == wrong, [str(error) for error in result.errors]
        else:
            assert result.imported, [str(error) for error in result.errors]
        if not result.imported:
            assert row_counts(*WRITTEN) == before
            return
        assert row_counts(PayRecord, Transaction) == {
            "PayRecord": before["PayRecord"] + len(written),
            "Transaction": before["Transaction"] + len(written),
        }
        for row in written:
            record = PayRecord.objects.get(person=people[row.person], month=row.month)
            assert record.posted_at is not None
            assert (record.gross_salary, record.employer_social_costs, record.freelancer_invoice) == tuple(
                row.amounts[column][1]
                for column in ("gross_salary", "employer_social_costs", "freelancer_invoice")
            )
            assert record.note == " ".join(row.note.split())
        assert ledger_problems() == []


# --- Through the screen ---------------------------------------------------------------------------


@fuzz_settings(max_examples=40)
@given(data=st.one_of(ANY_FILE, files().map(lambda upload: upload[0])))
@example(data=(HEADER + "\nJonas Weber,2026-01," + "1" * 30 + ",0,,\n").encode())
def test_the_import_screen_answers_any_file_without_a_server_error(finance_client, people, data):
    with rolled_back():
        before = row_counts(*WRITTEN)

        response = finance_client.post(IMPORT_URL, {"file": csv_upload(data)})

        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code != 302:
            assert row_counts(*WRITTEN) == before
