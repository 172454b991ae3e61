"""Bank statement files read into plain data: CAMT.053 (ISO 20022 XML, what German banks export) and MT940.

Strict on purpose, since what is read here reaches the books: a file is read whole before anything is
stored, and the first problem raises ``StatementError`` with a message naming the statement and the entry
(number, booking date, reference). Only EUR is accepted. Where a statement carries its opening and closing
balances, the booked entries must lead from one to the other, so a truncated or garbled file is refused.

- CAMT.053: any version (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN``, e.g. .02 and .08), parsed with
  defusedxml (no entities, no external references). Entries that are not booked (status other than BOOK)
  are left out. A batch entry whose transaction details each carry an amount adding up to the entry becomes
  one line per transaction, so each payment can be matched on its own.
- MT940: parsed with the maintained ``mt-940`` package (the structured German ``:86:`` sub-fields, balances).
  That package skips what it cannot read without a word, so every ``:61:`` entry and every balance is first
  checked here against the SWIFT layout, and the package's result must agree with that check.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import mt940
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban

MAX_FILE_BYTES = 20 * 1024 * 1024
CURRENCY = "EUR"
CAMT_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})$")
CAMT_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,5})?$")
NOT_PROVIDED = {"NOTPROVIDED", "NONREF", "NOTAVAILABLE"}
CENT = Decimal("0.01")
MAX_ACCOUNT_LENGTH = 40  # BankStatement.account and BankLine.account


class StatementError(Exception):
    """The file cannot be imported; the message says which statement and entry, and why."""


@dataclass(frozen=True)
class ParsedLine:
    """One booked entry (or one transaction of a batch entry) as the bank reports it."""

    entry: str  # the entry's number in the statement, "3" or "3.2" for the second payment of a batch
    booking_date: datetime.date
    value_date: datetime.date | None
    amount: Decimal  # signed: positive money in, negative money out
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance_text: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""


@dataclass(frozen=True)
class ParsedStatement:
    format: str  # "camt053" or "mt940" (BankStatement.Format)
    account: str
    statement_id: str
    sequence: str
    from_date: datetime.date
    to_date: datetime.date
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    lines: tuple[ParsedLine, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.statement_id} ({self.account})"


def statement_parse(content: bytes) -> list[ParsedStatement]:
    """Every statement in a CAMT.053 or MT940 file; ``StatementError`` for anything the books cannot take."""
    if len(content) > MAX_FILE_BYTES:
        raise StatementError(
            _("The file is larger than %(size)d MB; split it into smaller statements.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise StatementError(_("The file is empty."))
    if stripped.startswith(b"<"):
        statements = camt053_parse(content)
    else:
        text = _decode(stripped)
        # No bank writes NUL characters into a statement, and no PostgreSQL text column stores them.
        if "\x00" in text:
            raise StatementError(_("The file contains NUL characters, so it is no MT940 statement."))
        if not re.search(r"(?m)^:20:", text):
            raise StatementError(
                _("This file is neither a CAMT.053 statement (XML) nor an MT940 statement (:20: … :62F:).")
            )
        statements = mt940_parse(text)
    if not statements:
        raise StatementError(_("The file contains no statement."))
    return statements


# --- shared checks --------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    """UTF-8, else ISO 8859-1 (what German banks' MT940 files use when they are not UTF-8)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _account_normalise(value: str, *, where: str) -> str:
    account = re.sub(r"\s+", "", value or "").upper()
    if account.endswith(CURRENCY) and stdnum_iban.is_valid(account[: -len(CURRENCY)]):
        account = account[: -len(CURRENCY)]  # some banks write the currency after the IBAN in :25:
    if not account:
        raise StatementError(_("%(where)s: the bank account is missing.") % {"where": where})
    if len(account) > MAX_ACCOUNT_LENGTH:  # an IBAN has at most 34 characters; the books keep 40
        raise StatementError(
            _("%(where)s: “%(account)s” is longer than any bank account number.")
            % {"where": where, "account": account[:60]}
        )
    if re.match(r"^[A-Z]{2}\d{2}[A-Z0-9]+$", account) and not stdnum_iban.is_valid(account):
        raise StatementError(
            _("%(where)s: the account IBAN %(iban)s is not valid.") % {"where": where, "iban": account}
        )
    return account


def _iban_or_blank(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()[:40]


def _currency_check(currency: str, *, where: str) -> None:
    if currency != CURRENCY:
        raise StatementError(
            _("%(where)s is in %(currency)s; only EUR statements can be imported.")
            % {"where": where, "currency": currency or _("no currency")}
        )


def _entry_where(statement_id: str, entry: str, booking_date=None, reference: str = "") -> str:
    where = _("Statement %(statement)s, entry %(entry)s") % {"statement": statement_id, "entry": entry}
    details = []
    if booking_date:
        details.append(_("booked %(date)s") % {"date": booking_date})
    if reference:
        details.append(_("reference %(reference)s") % {"reference": reference})
    return f"{where} ({', '.join(details)})" if details else where


def _balances_check(statement: ParsedStatement) -> None:
    if statement.opening_balance is None or statement.closing_balance is None:
        return
    total = sum((line.amount for line in statement.lines), Decimal("0.00"))
    if statement.opening_balance + total != statement.closing_balance:
        raise StatementError(
            _(
                "Statement %(statement)s: the entries add up to %(total)s EUR, but the balance goes from "
                "%(opening)s EUR to %(closing)s EUR. The file may be incomplete or changed; nothing was imported."
            )
            % {
                "statement": statement.statement_id,
                "total": total,
                "opening": statement.opening_balance,
                "closing": statement.closing_balance,
            }
        )


def _clean_text(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


# --- CAMT.053 -------------------------------------------------------------------------------------


def camt053_parse(content: bytes) -> list[ParsedStatement]:
    try:
        root = fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        raise StatementError(
            _(
                "The XML file declares a document type or entities; bank statements never do, so it was refused."
            )
        ) from None
    except (ParseError, LookupError, ValueError) as error:  # an encoding Python lacks or expat cannot read
        raise StatementError(
            _("The XML file is not well-formed (%(error)s).") % {"error": str(error)}
        ) from None
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if not CAMT_NAMESPACE.match(namespace):
        raise StatementError(
            _(
                "This XML file is not a CAMT.053 bank statement (its namespace is “%(namespace)s”). "
                "Export the account statement as CAMT.053; camt.052 and camt.054 are not statements."
            )
            % {"namespace": namespace or _("none")}
        )
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return [
        _camt_statement(element, number)
        for number, element in enumerate(root.findall("BkToCstmrStmt/Stmt"), start=1)
    ]


def _text(element: Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _first_text(element: Element | None, *paths: str) -> str:
    for path in paths:
        value = _text(element, path)
        if value:
            return value
    return ""


def _camt_date(element: Element | None, path: str, *, where: str, required: bool) -> datetime.date | None:
    """``<X><Dt>2026-03-03</Dt></X>`` or ``<X><DtTm>2026-03-03T10:00:00+01:00</DtTm></X>``."""
    raw = _first_text(element, f"{path}/Dt", f"{path}/DtTm") if path else ""
    if not raw:
        if required:
            raise StatementError(_("%(where)s: the booking date is missing.") % {"where": where})
        return None
    return _iso_date(raw, where=where)


def _iso_date(raw: str, *, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementError(
            _("%(where)s: “%(date)s” is not a date.") % {"where": where, "date": raw}
        ) from None


def _camt_amount(element: Element | None, *, where: str) -> tuple[Decimal, str]:
    """The amount of an ``<Amt Ccy="EUR">`` element: a Decimal with at most two places, and its currency."""
    if element is None or not (element.text or "").strip():
        raise StatementError(_("%(where)s: the amount is missing.") % {"where": where})
    raw = element.text.strip()
    currency = (element.get("Ccy") or "").strip().upper()
    _currency_check(currency, where=where)
    if not CAMT_AMOUNT.match(raw):
        raise StatementError(
            _("%(where)s: the amount “%(amount)s” is not a number.") % {"where": where, "amount": raw}
        )
    amount = Decimal(raw)
    if amount != amount.quantize(CENT):
        raise StatementError(
            _("%(where)s: the amount %(amount)s has fractions of a cent.") % {"where": where, "amount": raw}
        )
    return amount.quantize(CENT), currency


def _camt_sign(element: Element, *, where: str) -> int:
    indicator = _text(element, "CdtDbtInd")
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise StatementError(
        _("%(where)s: credit or debit (CdtDbtInd) is “%(value)s”, not CRDT or DBIT.")
        % {"where": where, "value": indicator or _("missing")}
    )


def _camt_statement(statement: Element, number: int) -> ParsedStatement:
    statement_id = _text(statement, "Id")
    if not statement_id:
        raise StatementError(_("Statement %(number)d has no id.") % {"number": number})
    where = _("Statement %(statement)s") % {"statement": statement_id}
    account = _account_normalise(_first_text(statement, "Acct/Id/IBAN", "Acct/Id/Othr/Id"), where=where)
    account_currency = _text(statement, "Acct/Ccy")
    if account_currency:
        _currency_check(
            account_currency.upper(),
            where=_("The account of statement %(statement)s") % {"statement": statement_id},
        )
    opening = closing = None
    opening_date = closing_date = None
    for balance in statement.findall("Bal"):
        code = _first_text(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        if code not in ("OPBD", "PRCD", "CLBD"):
            continue
        balance_where = _("%(where)s, balance %(code)s") % {"where": where, "code": code}
        amount, _currency = _camt_amount(balance.find("Amt"), where=balance_where)
        amount *= _camt_sign(balance, where=balance_where)
        day = _camt_date(balance, "Dt", where=balance_where, required=False)
        if code == "CLBD":
            closing, closing_date = amount, day
        elif opening is None or code == "OPBD":
            opening, opening_date = amount, day

    lines: list[ParsedLine] = []
    for entry_number, entry in enumerate(statement.findall("Ntry"), start=1):
        lines.extend(_camt_entry(entry, statement_id=statement_id, number=entry_number))

    raw_from = _text(statement, "FrToDt/FrDtTm")
    raw_to = _text(statement, "FrToDt/ToDtTm")
    from_date = _iso_date(raw_from, where=where) if raw_from else None
    to_date = _iso_date(raw_to, where=where) if raw_to else None
    booking_dates = [line.booking_date for line in lines]
    from_date = from_date or opening_date or (min(booking_dates) if booking_dates else None)
    to_date = to_date or closing_date or (max(booking_dates) if booking_dates else None)
    if from_date is None or to_date is None:
        raise StatementError(_("%(where)s says neither its period nor any booking date.") % {"where": where})

    parsed = ParsedStatement(
        format="camt053",
        account=account,
        statement_id=statement_id,
        sequence=_first_text(statement, "ElctrncSeqNb", "LglSeqNb"),
        from_date=from_date,
        to_date=to_date,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines),
    )
    _balances_check(parsed)
    return parsed


def _camt_status(entry: Element) -> str:
    return _first_text(entry, "Sts/Cd", "Sts")


def _camt_entry(entry: Element, *, statement_id: str, number: int) -> list[ParsedLine]:
    reference = _first_text(entry, "AcctSvcrRef", "NtryRef")
    where = _entry_where(statement_id, str(number), reference=reference)
    if _camt_status(entry) not in ("BOOK", ""):
        return []  # pending or information only: the bank has not booked it
    amount, currency = _camt_amount(entry.find("Amt"), where=where)
    sign = _camt_sign(entry, where=where)
    booking_date = _camt_date(entry, "BookgDt", where=where, required=True)
    where = _entry_where(statement_id, str(number), booking_date, reference)
    if amount == 0:
        raise StatementError(_("%(where)s: the amount is zero.") % {"where": where})
    value_date = _camt_date(entry, "ValDt", where=where, required=False)
    entry_text = _text(entry, "AddtlNtryInf")
    if (_text(entry, "RvslInd") or "").lower() == "true":
        entry_text = f"{_('Reversal')}: {entry_text}".strip(": ")
    details = entry.findall("NtryDtls/TxDtls")

    def line(entry_label: str, line_amount: Decimal, transaction: Element | None, extra: str) -> ParsedLine:
        name, iban = _camt_counterparty(transaction, incoming=sign > 0)
        end_to_end = _text(transaction, "Refs/EndToEndId")
        if end_to_end.upper() in NOT_PROVIDED:
            end_to_end = ""
        remittance = [
            *(
                (element.text or "").strip()
                for element in (transaction.findall("RmtInf/Ustrd") if transaction is not None else [])
            ),
            _text(transaction, "RmtInf/Strd/CdtrRefInf/Ref"),
            _text(transaction, "AddtlTxInf"),
            extra,
        ]
        return ParsedLine(
            entry=entry_label,
            booking_date=booking_date,
            value_date=value_date,
            amount=sign * line_amount,
            currency=currency,
            counterparty_name=_clean_text(name)[:200],
            counterparty_iban=_iban_or_blank(iban),
            remittance_text=_clean_text(" ".join(part for part in remittance if part)),
            end_to_end_id=end_to_end[:80],
            bank_reference=(_text(transaction, "Refs/AcctSvcrRef") or reference)[:80],
        )

    if len(details) > 1:
        parts = []
        for index, transaction in enumerate(details, start=1):
            element = transaction.find("AmtDtls/TxAmt/Amt")
            if element is None:
                element = transaction.find("Amt")
            if element is None:
                parts = []
                break
            part_amount, _currency = _camt_amount(
                element, where=_entry_where(statement_id, f"{number}.{index}", booking_date, reference)
            )
            parts.append((f"{number}.{index}", part_amount, transaction))
        if parts and sum((part[1] for part in parts), Decimal("0.00")) == amount and all(p[1] for p in parts):
            return [
                line(label, part_amount, transaction, entry_text) for label, part_amount, transaction in parts
            ]
    transaction = details[0] if details else None
    extra = entry_text
    if len(details) > 1:
        extra = " ".join(
            [entry_text, *(" ".join(e.text or "" for e in t.findall("RmtInf/Ustrd")) for t in details[1:])]
        )
    return [line(str(number), amount, transaction, extra)]


def _camt_counterparty(transaction: Element | None, *, incoming: bool) -> tuple[str, str]:
    """The other side: the debtor of money in, the creditor of money out (.02 and .08 layouts)."""
    if transaction is None:
        return "", ""
    party = "Dbtr" if incoming else "Cdtr"
    name = _first_text(
        transaction,
        f"RltdPties/{party}/Pty/Nm",
        f"RltdPties/{party}/Nm",
        f"RltdPties/Ultmt{party}/Pty/Nm",
        f"RltdPties/Ultmt{party}/Nm",
    )
    iban = _first_text(transaction, f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{party}Acct/Id/Othr/Id")
    return name, iban


# --- MT940 ----------------------------------------------------------------------------------------

MT940_TAG = re.compile(r"^:(\d{2}[A-Z]?):", re.MULTILINE)
MT940_BALANCE = re.compile(
    r"^(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d{1,12},\d{0,2})$"
)
MT940_ENTRY = re.compile(
    r"^(?P<value_date>\d{6})(?P<entry_date>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d{1,12},\d{0,2})(?P<type>[NSF][A-Z0-9]{3})(?P<customer>[^\n]*?)"
    r"(?://(?P<bank>[^\n]{0,16}))?(?:\n(?P<supplementary>.*))?$",
    re.DOTALL,
)
MT940_KEYWORDS = re.compile(r"/(EREF|REMI|NAME|IBAN|BIC|ORDP|BENM|CNTP|MARF|CSID|PREF|RTRN|ULTD|ULTB)/")


def _mt940_date(raw: str, *, where: str) -> datetime.date:
    try:
        return datetime.date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:6]))
    except ValueError:
        raise StatementError(
            _("%(where)s: “%(date)s” is not a date.") % {"where": where, "date": raw}
        ) from None


def _mt940_amount(raw: str) -> Decimal:
    integer, _comma, fraction = raw.partition(",")
    try:
        return Decimal(f"{integer}.{fraction or '0'}").quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        raise StatementError(_("“%(amount)s” is not an amount.") % {"amount": raw}) from None


def _mt940_tags(block: str) -> list[tuple[str, str]]:
    """(tag, value) pairs of one statement block; continuation lines stay in their tag's value."""
    tags: list[tuple[str, str]] = []
    matches = list(MT940_TAG.finditer(block))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(block)
        value = block[match.end() : end].strip("\r\n")
        value = "\n".join(part.rstrip("\r") for part in value.split("\n"))
        # the closing "-" of a statement (and a "-}" of a SWIFT envelope) is no part of the last tag
        value = re.sub(r"\n-\}?\s*$", "", value).rstrip()
        tags.append((match.group(1), value))
    return tags


def _mt940_balance(value: str, *, where: str) -> tuple[Decimal, datetime.date]:
    match = MT940_BALANCE.match(value.strip())
    if not match:
        raise StatementError(
            _("%(where)s: “%(value)s” is not a balance (C or D, date, currency, amount).")
            % {"where": where, "value": value}
        )
    _currency_check(match["currency"], where=where)
    amount = _mt940_amount(match["amount"])
    return (-amount if match["mark"] == "D" else amount), _mt940_date(match["date"], where=where)


def mt940_parse(text: str) -> list[ParsedStatement]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [block for block in re.split(r"(?m)^(?=:20:)", text) if block.strip().startswith(":20:")]
    if not blocks:
        raise StatementError(_("The MT940 file has no statement (:20:)."))
    return [_mt940_statement(block, number) for number, block in enumerate(blocks, start=1)]


def _mt940_statement(block: str, number: int) -> ParsedStatement:
    tags = _mt940_tags(block)
    first = {}
    for tag, value in tags:
        first.setdefault(tag, value)
    statement_id = first.get("20", "").strip() or str(number)
    where = _("Statement %(statement)s") % {"statement": statement_id}
    for required, label in (("25", ":25: account"), ("28C", ":28C: statement number")):
        if not first.get(required, "").strip():
            raise StatementError(_("%(where)s has no %(tag)s.") % {"where": where, "tag": label})
    opening_raw = first.get("60F") or first.get("60M")
    closing_raw = first.get("62F") or first.get("62M")
    if not opening_raw or not closing_raw:
        raise StatementError(
            _("%(where)s lacks its opening (:60F:) or closing (:62F:) balance.") % {"where": where}
        )
    account = _account_normalise(first["25"], where=where)
    opening, opening_date = _mt940_balance(
        opening_raw, where=_("%(where)s, opening balance") % {"where": where}
    )
    closing, closing_date = _mt940_balance(
        closing_raw, where=_("%(where)s, closing balance") % {"where": where}
    )

    entries: list[tuple[str, str]] = []  # (:61: value, :86: value)
    for index, (tag, value) in enumerate(tags):
        if tag == "61":
            details = tags[index + 1][1] if index + 1 < len(tags) and tags[index + 1][0] == "86" else ""
            entries.append((value, details))

    checked = [
        _mt940_entry_check(value, statement_id=statement_id, number=n)
        for n, (value, _details) in enumerate(entries, start=1)
    ]
    try:
        parsed = mt940.parse_statements(block, options=mt940.Options.all())
    except Exception as error:  # the package raises what it likes (ValueError, KeyError, …)
        raise StatementError(
            _("%(where)s could not be read (%(error)s).") % {"where": where, "error": error}
        ) from None
    transactions = list(parsed[0]) if parsed else []
    if len(transactions) != len(checked) or any(
        Decimal(transaction.data["amount"].amount).quantize(CENT) != entry["amount"]
        for transaction, entry in zip(transactions, checked, strict=False)
    ):
        raise StatementError(
            _("%(where)s could not be read consistently (%(found)d of %(count)d entries understood).")
            % {"where": where, "found": len(transactions), "count": len(checked)}
        )

    lines = []
    for n, (entry, transaction, (_value, raw_details)) in enumerate(
        zip(checked, transactions, entries, strict=True), start=1
    ):
        lines.append(_mt940_line(entry, transaction.data, raw_details, number=n))
    statement = ParsedStatement(
        format="mt940",
        account=account,
        statement_id=statement_id[:80],
        sequence=first["28C"].strip()[:40],
        from_date=opening_date,
        to_date=closing_date,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines),
    )
    _balances_check(statement)
    return statement


def _mt940_entry_check(value: str, *, statement_id: str, number: int) -> dict:
    """One ``:61:`` entry checked against the SWIFT layout; the dates, the signed amount and the references."""
    match = MT940_ENTRY.match(value)
    if not match:
        raise StatementError(
            _("%(where)s: “%(value)s” is not an MT940 entry (:61:).")
            % {"where": _entry_where(statement_id, str(number)), "value": value.split("\n", 1)[0]}
        )
    bank = (match["bank"] or "").strip()
    customer = (match["customer"] or "").strip()
    value_date = _mt940_date(match["value_date"], where=_entry_where(statement_id, str(number)))
    booking_date = value_date
    if match["entry_date"]:
        month, day = int(match["entry_date"][:2]), int(match["entry_date"][2:])
        year = value_date.year
        if month - value_date.month > 6:
            year -= 1
        elif value_date.month - month > 6:
            year += 1
        try:
            booking_date = datetime.date(year, month, day)
        except ValueError:
            raise StatementError(
                _("%(where)s: the booking date “%(date)s” is not a date.")
                % {"where": _entry_where(statement_id, str(number)), "date": match["entry_date"]}
            ) from None
    amount = _mt940_amount(match["amount"])
    where = _entry_where(statement_id, str(number), booking_date, bank or customer)
    if amount == 0:
        raise StatementError(_("%(where)s: the amount is zero.") % {"where": where})
    signed = -amount if match["mark"] in ("D", "RC") else amount
    return {
        "booking_date": booking_date,
        "value_date": value_date,
        "amount": signed,
        "bank_reference": "" if bank.upper() in NOT_PROVIDED else bank,
        "customer_reference": "" if customer.upper() in NOT_PROVIDED else customer,
        "supplementary": (match["supplementary"] or "").strip(),
        "reversal": match["mark"] in ("RC", "RD"),
    }


def _mt940_keywords(details: str) -> dict[str, str]:
    """``/EREF/…/REMI/…/NAME/…`` (the Dutch and international layout of ``:86:``)."""
    flat = details.replace("\n", "")
    found = {}
    matches = list(MT940_KEYWORDS.finditer(flat))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(flat)
        found.setdefault(match.group(1), flat[match.end() : end].strip("/ "))
    return found


def _mt940_line(entry: dict, data: dict, raw_details: str, *, number: int) -> ParsedLine:
    keywords = _mt940_keywords(raw_details) if raw_details.startswith("/") else {}
    remittance = data.get("purpose") or keywords.get("REMI") or ""
    if not remittance and not data.get("posting_text"):
        remittance = data.get("transaction_details") or raw_details
    texts = [
        remittance,
        data.get("additional_purpose") or "",
        entry["customer_reference"],
        entry["supplementary"],
        _("Reversal") if entry["reversal"] else "",
    ]
    end_to_end = data.get("end_to_end_reference") or keywords.get("EREF") or ""
    if end_to_end.upper() in NOT_PROVIDED:
        end_to_end = ""
    name = data.get("applicant_name") or keywords.get("NAME") or ""
    iban = data.get("applicant_iban") or keywords.get("IBAN") or ""
    return ParsedLine(
        entry=str(number),
        booking_date=entry["booking_date"],
        value_date=entry["value_date"],
        amount=entry["amount"],
        currency=CURRENCY,
        counterparty_name=_clean_text(name)[:200],
        counterparty_iban=_iban_or_blank(iban),
        remittance_text=_clean_text(" ".join(text for text in texts if text)),
        end_to_end_id=_clean_text(end_to_end)[:80],
        bank_reference=entry["bank_reference"][:80],
    )
