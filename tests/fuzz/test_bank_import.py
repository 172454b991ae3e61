"""The bank statement import (ledger/bank_parsers.py, ledger/bank.py) under fuzzed files.

- Any bytes, and valid CAMT.053 and MT940 statements with bytes deleted, inserted, replaced or cut off:
  refused with a ``StatementError`` (the message the import screen shows), or read into statements that
  keep the parser's promises (EUR, amounts in cents and never zero, entries leading from the opening to the
  closing balance); never another exception. Imported through the service: a refusal stores nothing, a
  statement read is stored with every line.
- Statements built with fuzzed fields (amounts, credit or debit, status, dates, currencies, accounts,
  balances): refused exactly when a booked entry breaks a documented rule (worked out here), otherwise
  read with the exact signed amounts.
- Through the import screen: never a 500, nothing stored by a refused file.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import event, example, given
from hypothesis import strategies as st

from ledger.bank import statement_import
from ledger.bank_parsers import StatementError, statement_parse
from ledger.models import BankLine, BankStatement, Posting, Transaction

from .conftest import fuzz_settings, ledger_problems, rolled_back, row_counts

pytestmark = pytest.mark.django_db

STORED = (BankStatement, BankLine, Transaction, Posting)
IBAN = "DE89370400440532013000"
CENT = Decimal("0.01")
DAY = datetime.date(2026, 3, 3)


# --- Samples --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    amount: str = "100.00"
    indicator: str = "CRDT"
    status: str = "BOOK"
    booking_date: str = "2026-03-03"
    currency: str = "EUR"
    name: str = "Example Hosting GmbH"
    text: str = "Rechnung RS-2026-00001"


def camt053(
    entries: list[Entry],
    *,
    version: str = "02",
    iban: str = IBAN,
    opening: str = "1000.00",
    closing: str = "1100.00",
    statement_id: str = "STMT-2026-03-001",
) -> bytes:
    status = (lambda s: f"<Sts>{s}</Sts>") if version == "02" else (lambda s: f"<Sts><Cd>{s}</Cd></Sts>")
    party = (
        (lambda name: f"<Dbtr><Nm>{name}</Nm></Dbtr>")
        if version == "02"
        else (lambda name: f"<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>")
    )

    def balance(code: str, amount: str) -> str:
        sign = "DBIT" if amount.startswith("-") else "CRDT"
        return (
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount.lstrip("-")}</Amt>'
            f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>{DAY}</Dt></Dt></Bal>"
        )

    xml_entries = "".join(
        f'<Ntry><Amt Ccy="{escape(e.currency)}">{escape(e.amount)}</Amt><CdtDbtInd>{escape(e.indicator)}</CdtDbtInd>'
        f"{status(escape(e.status))}<BookgDt><Dt>{escape(e.booking_date)}</Dt></BookgDt>"
        f"<AcctSvcrRef>REF-{number}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId>"
        f"</Refs><RltdPties>{party(escape(e.name))}<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id>"
        f"</DbtrAcct></RltdPties><RmtInf><Ustrd>{escape(e.text)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for number, e in enumerate(entries, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.'
        f'{version}"><BkToCstmrStmt><GrpHdr><MsgId>MSG-1</MsgId></GrpHdr><Stmt><Id>{escape(statement_id)}</Id>'
        f"<ElctrncSeqNb>42</ElctrncSeqNb><FrToDt><FrDtTm>2026-03-01T00:00:00+01:00</FrDtTm>"
        f"<ToDtTm>2026-03-31T23:59:59+01:00</ToDtTm></FrToDt><Acct><Id><IBAN>{escape(iban)}</IBAN></Id>"
        f"<Ccy>EUR</Ccy></Acct>{balance('PRCD', opening)}{balance('CLBD', closing)}{xml_entries}</Stmt>"
        f"</BkToCstmrStmt></Document>"
    ).encode()


def mt940(
    lines: list[tuple[str, str]], *, opening: str = "C260301EUR12500,00", closing: str = "C260331EUR13440,00"
) -> bytes:
    body = "".join(f":61:{entry}\r\n:86:{details}\r\n" for entry, details in lines)
    return (
        f":20:STARTUMSE\r\n:25:37040044/0532013000\r\n:28C:00042/001\r\n:60F:{opening}\r\n{body}:62F:{closing}\r\n-\r\n"
    ).encode("latin-1", "replace")


CAMT_SAMPLE = camt053(
    [Entry("1190.00"), Entry("250.50", "DBIT", name="Hetzner Online GmbH"), Entry("99.00", status="PDNG")],
    closing="1939.50",
)
CAMT_SAMPLE_08 = camt053([Entry("1200.00"), Entry("10.00", "DBIT")], version="08", closing="2190.00")
MT940_SAMPLE = mt940(
    [
        (
            "2603030303C1190,00NTRFNONREF//BANKREF-0001",
            "166?00GUTSCHRIFT?20EREF+E2E-RS-1?21SVWZ+Rechnung RS-2026-0?220001?31DE02120300000000202051"
            "?32Müller Webhosting GmbH",
        ),
        ("2603040304D250,00NMSCNONREF//BANKREF-0002", "177?00UEBERWEISUNG?20SVWZ+Hosting April?32Hoster AG"),
    ]
)
SAMPLES = [CAMT_SAMPLE, CAMT_SAMPLE_08, MT940_SAMPLE]


def test_the_samples_are_read():
    """The fuzzing starts from files the parser reads (so a refusal below comes from the change)."""
    assert [len(statement_parse(sample)[0].lines) for sample in SAMPLES] == [2, 2, 2]


# --- What a statement read must be ----------------------------------------------------------------


def assert_statements_keep_their_promises(statements) -> None:
    assert statements
    for statement in statements:
        assert statement.format in ("camt053", "mt940")
        assert statement.account and statement.statement_id
        assert statement.from_date <= statement.to_date or statement.format == "camt053"
        if statement.opening_balance is not None and statement.closing_balance is not None:
            total = sum((line.amount for line in statement.lines), Decimal("0.00"))
            assert statement.opening_balance + total == statement.closing_balance
        for line in statement.lines:
            assert line.currency == "EUR"
            assert (
                isinstance(line.amount, Decimal) and line.amount and line.amount == line.amount.quantize(CENT)
            )
            assert isinstance(line.booking_date, datetime.date)


def read_or_refuse(content: bytes):
    """The statements, or None for a refusal; any exception other than ``StatementError`` fails the test."""
    try:
        statements = statement_parse(content)
    except StatementError as error:
        assert str(error).strip()
        return None
    assert_statements_keep_their_promises(statements)
    return statements


def import_or_refuse(content: bytes) -> None:
    """Through the import service: a refusal stores nothing; a file read is stored with all its lines."""
    before = row_counts(*STORED)
    try:
        result = statement_import(content=content, file_name="fuzz.xml")
    except StatementError:
        assert row_counts(*STORED) == before
        event("refused")
        return
    event("imported")
    statements = statement_parse(content)
    assert result.new_lines + result.known_lines == sum(len(statement.lines) for statement in statements)
    assert BankLine.objects.count() == before["BankLine"] + result.new_lines
    assert ledger_problems() == []


# --- Any bytes and mutated samples ----------------------------------------------------------------


@st.composite
def mutated_samples(draw) -> bytes:
    """A valid statement with a few bytes deleted, inserted, replaced, repeated or cut off."""
    content = bytearray(draw(st.sampled_from(SAMPLES), label="sample"))
    for _ in range(draw(st.integers(1, 4), label="changes")):
        if not content:
            break
        at = draw(st.integers(0, len(content) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "repeat", "cut"]))
        size = draw(st.integers(1, 12))
        if kind == "delete":
            del content[at : at + size]
        elif kind == "insert":
            content[at:at] = draw(
                st.one_of(st.binary(min_size=1, max_size=size), st.sampled_from(INTERESTING))
            )
        elif kind == "replace":
            content[at : at + size] = draw(st.binary(min_size=size, max_size=size))
        elif kind == "repeat":
            content[at:at] = content[at : at + size]
        else:
            del content[at:]
    return bytes(content)


# Pieces that mean something to one of the formats.
INTERESTING = [
    b"<", b">", b"</Ntry>", b"<Ntry>", b"&amp;", b"&x;", b"\x00", b"\xff", b"\r\n", b"\n:61:", b"\n:20:", b"\n:86:",
    b":62F:", b"-", b",", b".", b"9" * 14, b"DBIT", b"RD", b'<?xml version="1.0" encoding="x-unknown"?>',
    b"<!DOCTYPE d>", b"]]>", b"\xef\xbb\xbf",
]  # fmt: skip


@fuzz_settings(max_examples=150)
@given(content=st.one_of(st.binary(max_size=300), st.sampled_from([b":20:", b"<a/>", b"\xef\xbb\xbf"])))
# Found by this test (a LookupError or ValueError, a 500 on the import screen): an XML declaration naming
# an encoding Python does not know, or a multi-byte one expat cannot read.
@example(content=b'<?xml version="1.0" encoding="x-unknown"?><Document/>')
@example(content=b'<?xml version="1.0" encoding="utf-7"?><Document/>')
def test_any_bytes_are_refused_with_a_statement_error(content):
    read_or_refuse(content)


@fuzz_settings(max_examples=400)
@given(content=mutated_samples())
# Found by this test on PostgreSQL (a DataError, a 500 on the import screen): a NUL byte in an MT940 file.
@example(content=MT940_SAMPLE.replace(b":20:", b":20:\x00", 1))
def test_a_mutated_statement_is_refused_or_read_consistently_and_imported_all_or_nothing(content):
    statements = read_or_refuse(content)
    event("read" if statements else "refused")
    with rolled_back():
        import_or_refuse(content)


# --- Statements built with fuzzed fields -----------------------------------------------------------

AMOUNTS = st.one_of(
    st.integers(1, 10**14 - 1).map(lambda cents: f"{Decimal(cents) / 100:.2f}"),
    st.integers(1, 10**6).map(lambda cents: f"{Decimal(cents) / 100}"),  # "12.5", "7"
    st.sampled_from(["0.00", "0", "12,50", "1e3", "-5.00", "+5.00", "0.001", "5.000", "5.10000", " 7.00 ", "", ".5",
                     "5.", "NaN", "١٢.٠٠", "1234567890123.00"]),
)  # fmt: skip
DATES = st.one_of(
    st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)).map(datetime.date.isoformat),
    st.sampled_from(
        ["2026-03-03T10:00:00+01:00", "2026-02-30", "03.03.2026", "", "2026-13-01", "20260303", "x"]
    ),
)


def amount_valid(raw: str) -> bool:
    """The rule for an ``<Amt>``: digits, a point and at most two decimals that mean something, not zero."""
    raw = raw.strip()
    if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,5})?", raw):
        return False
    value = Decimal(raw)
    return value != 0 and value == value.quantize(CENT)


def date_valid(raw: str) -> bool:
    try:
        datetime.date.fromisoformat(raw[:10])
    except ValueError:
        return False
    return bool(raw)


ENTRIES = st.builds(
    Entry,
    amount=st.one_of(st.just("100.00"), AMOUNTS),
    indicator=st.sampled_from(["CRDT", "DBIT", "CRDT", "DBIT", "crdt", "", "CREDIT"]),
    status=st.sampled_from(["BOOK", "BOOK", "BOOK", "PDNG", "INFO", ""]),
    booking_date=st.one_of(st.just("2026-03-03"), DATES),
    currency=st.sampled_from(["EUR", "EUR", "EUR", "eur", " EUR ", "USD", ""]),
    name=st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40),
    text=st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60),
)


@fuzz_settings(max_examples=300)
@given(
    entries=st.lists(ENTRIES, max_size=5),
    version=st.sampled_from(["02", "08"]),
    iban=st.sampled_from(
        [IBAN, "DE89 3704 0044 0532 0130 00", "DE00370400440532013000", "", "12345", "ACCOUNT-" + "9" * 40]
    ),
    off_by=st.sampled_from([Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0.01")]),
)
# Found by this test on PostgreSQL (a DataError, a 500 on the import screen): an account longer than its
# column (40 characters).
@example(entries=[Entry()], version="02", iban="ACCOUNT-" + "9" * 40, off_by=Decimal("0"))
def test_a_camt053_statement_with_fuzzed_fields_is_read_exactly_or_refused_by_the_rules(
    entries, version, iban, off_by
):
    booked = [entry for entry in entries if entry.status in ("BOOK", "")]
    breaks_a_rule = (
        iban in ("", "DE00370400440532013000")
        or len(iban) > 40
        or any(
            not amount_valid(entry.amount)
            or entry.indicator not in ("CRDT", "DBIT")
            or entry.currency.strip().upper() != "EUR"
            or not date_valid(entry.booking_date)
            for entry in booked
        )
        or off_by != 0
    )
    signed = []
    if not breaks_a_rule:
        signed = [
            Decimal(e.amount.strip()).quantize(CENT) * (1 if e.indicator == "CRDT" else -1) for e in booked
        ]
    opening = Decimal("1000.00")
    closing = opening + sum(signed, Decimal("0.00")) + off_by
    breaks_a_rule |= abs(closing) >= 10**12  # a balance has at most 12 digits before the point, too
    content = camt053(entries, version=version, iban=iban, opening=f"{opening:.2f}", closing=f"{closing:.2f}")

    statements = read_or_refuse(content)

    event("read" if statements else "refused")
    if breaks_a_rule:
        assert statements is None, "a statement that breaks a rule was read"
        return
    assert statements is not None, "a statement that keeps every rule was refused"
    (statement,) = statements
    assert [line.amount for line in statement.lines] == signed
    assert statement.account == iban.replace(" ", "")
    with rolled_back():
        import_or_refuse(content)


MT940_AMOUNTS = st.one_of(
    st.integers(1, 10**14 - 1).map(lambda cents: f"{cents // 100},{cents % 100:02d}"),
    st.integers(1, 10**6).map(lambda whole: f"{whole},"),
    st.sampled_from(["0,00", "12.50", "1,234", ",50", "1.000,00", "", "-5,00", "99999999999999,00"]),
)


@fuzz_settings(max_examples=200)
@given(
    lines=st.lists(
        st.tuples(
            st.dates(datetime.date(2001, 1, 1), datetime.date(2049, 12, 31)),
            st.one_of(st.none(), st.sampled_from(["0229", "1301", "0000", "1231", "0101"])),
            st.sampled_from(["C", "D", "RC", "RD", "X", ""]),
            MT940_AMOUNTS,
            st.sampled_from(["NTRF", "NMSC", "FCHG", "XXXX", "N"]),
            st.text(st.characters(max_codepoint=0xFF, exclude_categories=("Cc",)), max_size=50),
        ),
        max_size=4,
    ),
    off_by=st.sampled_from([Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0.01")]),
)
def test_an_mt940_statement_with_fuzzed_entries_is_read_exactly_or_refused(lines, off_by):
    entries, total = [], Decimal("0.00")
    for value_date, entry_date, mark, amount, kind, details in lines:
        entries.append((f"{value_date:%y%m%d}{entry_date or ''}{mark}{amount}{kind}NONREF//B-1", details))
        if re.fullmatch(r"[0-9]{1,12},[0-9]{0,2}", amount):
            whole, fraction = amount.split(",")
            value = Decimal(f"{whole}.{fraction or '0'}")
            total += -value if mark in ("D", "RC") else value
    opening = Decimal("12500.00")
    closing = opening + total + off_by
    sign = "D" if closing < 0 else "C"
    content = mt940(
        entries,
        opening=f"C260301EUR{opening:.2f}".replace(".", ","),
        closing=f"{sign}260331EUR{abs(closing):.2f}".replace(".", ","),
    )

    statements = read_or_refuse(content)

    event("read" if statements else "refused")
    if statements is not None:
        assert off_by == 0
        assert sum((line.amount for line in statements[0].lines), Decimal("0.00")) == total


# --- Through the import screen --------------------------------------------------------------------


@fuzz_settings(max_examples=40)
@given(content=st.one_of(mutated_samples(), st.binary(max_size=200), st.sampled_from(SAMPLES)))
@example(content=b'<?xml version="1.0" encoding="x-unknown"?><Document/>')
def test_the_import_screen_answers_any_file_without_a_server_error(finance_client, content):
    with rolled_back():
        before = row_counts(*STORED)

        response = finance_client.post(
            reverse("ledger_bankstatement:import"),
            {
                "statement": SimpleUploadedFile(
                    "statement.xml", content, content_type="application/octet-stream"
                )
            },
        )

        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 400:
            assert row_counts(*STORED) == before
            assert b"Nothing was imported" in response.content or b"statement" in response.content
