"""Bank statements into the books: import a statement, propose what each line pays, book it once.

- ``statement_import``: a CAMT.053 or MT940 file (``ledger.bank_parsers``), all or nothing: every entry is
  read and checked before anything is stored. Idempotent: a statement is known by (account, statement id,
  sequence, from, to) and a line by its fingerprint, so the same file twice adds nothing and an overlapping
  statement adds only the lines not seen before.
- Matchers: the ledger knows no invoices, bills or grants. Domain apps register a function with
  ``matcher_register(name, match_fn)`` in their ``AppConfig.ready()``; ``match_fn(line)`` returns a ``Match``
  (a description for people and a callable that books it) or None. ``line_matches`` asks them all.
- ``line_book_match``: finance confirms a proposal (or the import books exact ones when asked to).
- ``line_book_account``: a line no matcher explains is booked by hand, bank against a chosen account and
  cost centre, under the key ``bank:line:<id>``.

Every booking moves the line's amount through the ledger account ``bank`` (checked before the line is
marked booked) and a line is booked once (``BankLine.booked_transaction``).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .bank_models import BankLine, BankStatement
from .bank_parsers import ParsedLine, ParsedStatement, StatementError, statement_parse
from .errors import LedgerError
from .models import Account, CostCentre, Posting, Transaction
from .services import PostingLine, first_open_day, transaction_post

logger = logging.getLogger(__name__)

BANK_ACCOUNT = "bank"  # the ledger account every bank statement books against
LOOKUP_CHUNK = 500

__all__ = [
    "BANK_ACCOUNT",
    "BankLineRefused",
    "ImportResult",
    "Match",
    "MatchRefused",
    "StatementError",
    "line_book_account",
    "line_book_match",
    "line_matches",
    "matcher_register",
    "statement_import",
]


class MatchRefused(Exception):
    """Raised by a match's ``book`` when its domain refuses (the invoice is no longer open, …)."""


class BankLineRefused(Exception):
    """The line cannot be booked that way; the message says why, for finance."""


@dataclass(frozen=True)
class Match:
    """What a bank line pays, as a matcher proposes it.

    ``key`` names what is paid, stable between requests (e.g. ``sponsors:invoice:RS-2026-00001``): finance
    confirms a key and the line is booked only if the same proposal still stands. ``book(line, user)`` posts
    the booking (through the domain's own service) and returns its transaction, which must move the line's
    amount through the bank account. ``exact``: amount and a document number agree, so the import may book
    it without asking when finance ticked "book exact matches".
    """

    key: str
    description: str
    book: Callable[[BankLine, Any], Transaction]
    exact: bool = True


_matchers: dict[str, Callable[[BankLine], Match | None]] = {}


def matcher_register(name: str, match_fn: Callable[[BankLine], Match | None]) -> None:
    """Add (or replace) the matcher ``name``; called from a domain app's ``AppConfig.ready()``."""
    _matchers[name] = match_fn


def line_matches(line: BankLine) -> list[Match]:
    """Every registered matcher's proposal for an unbooked line (a failing matcher is logged and skipped)."""
    if line.is_booked:
        return []
    found: dict[str, Match] = {}
    for name, match_fn in list(_matchers.items()):
        try:
            with (
                db_transaction.atomic()
            ):  # a savepoint: a matcher's error leaves the caller's transaction usable
                match = match_fn(line)
        except Exception:
            logger.exception("ledger.bank: matcher %s failed on bank line %s", name, line.pk)
            continue
        if match is not None and match.key not in found:
            found[match.key] = match
    if not found:  # what no domain claims may still be in the books already (a payout, a pay run)
        fallback = _already_in_the_books(line)
        if fallback is not None:
            found[fallback.key] = fallback
    return list(found.values())


def _already_in_the_books(line: BankLine) -> Match | None:
    """A bank movement the books already hold (a Stripe payout booked from ``payout.paid``, a pay record,
    a bill paid by hand): a transaction that moves exactly the line's amount through the bank within three
    days and belongs to no bank line yet. Linking it books nothing new, so nothing is counted twice."""
    window = datetime.timedelta(days=3)
    candidates = (
        Posting.objects.filter(
            account__code=BANK_ACCOUNT,
            amount=line.amount,
            transaction__booking_date__gte=line.booking_date - window,
            transaction__booking_date__lte=line.booking_date + window,
        )
        .exclude(
            transaction__in=BankLine.objects.filter(booked_transaction__isnull=False).values(
                "booked_transaction"
            )
        )
        .select_related("transaction")
        .order_by("transaction__booking_date", "transaction_id")
    )
    posting = candidates.first()
    if posting is None:
        return None
    transaction = posting.transaction
    return Match(
        key=f"ledger:transaction:{transaction.pk}",
        description=_("Already in the books: %(description)s (%(date)s)")
        % {"description": transaction.description, "date": transaction.booking_date.isoformat()},
        book=lambda line, by: transaction,
        exact=False,  # same amount and date only: finance confirms
    )


# --- Import ---------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    statements: list[BankStatement] = field(default_factory=list)
    new_statements: int = 0
    new_lines: int = 0
    known_lines: int = 0
    suspected_duplicates: int = 0
    auto_booked: int = 0
    auto_refused: list[str] = field(default_factory=list)
    new_line_ids: list[int] = field(default_factory=list)

    @property
    def nothing_new(self) -> bool:
        return self.new_statements == 0 and self.new_lines == 0


def _fingerprint_base(line: ParsedLine) -> str:
    return "\x1f".join(
        [
            line.booking_date.isoformat(),
            f"{line.amount:.2f}",
            line.currency,
            line.bank_reference,
            line.end_to_end_id,
            line.remittance_text,
            line.counterparty_iban,
        ]
    )


def line_fingerprints(statement: ParsedStatement) -> list[str]:
    """A stable fingerprint per line; identical lines within one statement are told apart by their count."""
    seen: Counter[str] = Counter()
    fingerprints = []
    for line in statement.lines:
        base = _fingerprint_base(line)
        seen[base] += 1
        fingerprints.append(hashlib.sha256(f"{base}\x1f{seen[base]}".encode()).hexdigest())
    return fingerprints


def _known_fingerprints(account: str, fingerprints: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(fingerprints), LOOKUP_CHUNK):
        chunk = fingerprints[start : start + LOOKUP_CHUNK]
        known.update(
            BankLine.objects.filter(account=account, fingerprint__in=chunk).values_list(
                "fingerprint", flat=True
            )
        )
    return known


def _store(parsed: ParsedStatement, *, file_name: str, by, result: ImportResult) -> None:
    statement, created = BankStatement.objects.get_or_create(
        account=parsed.account,
        statement_id=parsed.statement_id[:80],
        sequence=parsed.sequence[:40],
        from_date=parsed.from_date,
        to_date=parsed.to_date,
        defaults={
            "format": parsed.format,
            "opening_balance": parsed.opening_balance,
            "closing_balance": parsed.closing_balance,
            "file_name": file_name[:255],
            "entry_count": len(parsed.lines),
            "imported_by": by if getattr(by, "is_authenticated", False) else None,
        },
    )
    result.statements.append(statement)
    result.new_statements += int(created)
    fingerprints = line_fingerprints(parsed)
    known = _known_fingerprints(parsed.account, fingerprints)
    position = statement.lines.count()
    new_lines = []
    for line, fingerprint in zip(parsed.lines, fingerprints, strict=True):
        if fingerprint in known:
            result.known_lines += 1
            continue
        known.add(fingerprint)
        position += 1
        similar = (
            BankLine.objects.filter(
                account=parsed.account,
                booking_date=line.booking_date,
                amount=line.amount,
                counterparty_iban=line.counterparty_iban,
            )
            .exclude(statement=statement)
            .exists()
        )
        result.suspected_duplicates += int(similar)
        new_lines.append(
            BankLine(
                statement=statement,
                account=parsed.account,
                fingerprint=fingerprint,
                position=position,
                entry=line.entry,
                booking_date=line.booking_date,
                value_date=line.value_date,
                amount=line.amount,
                currency=line.currency,
                counterparty_name=line.counterparty_name,
                counterparty_iban=line.counterparty_iban,
                remittance_text=line.remittance_text,
                end_to_end_id=line.end_to_end_id,
                bank_reference=line.bank_reference,
                looks_like_duplicate=similar,
            )
        )
    for created_line in BankLine.objects.bulk_create(new_lines):
        result.new_line_ids.append(created_line.pk)
    result.new_lines += len(new_lines)


def statement_import(
    *, content: bytes, file_name: str = "", by=None, auto_book: bool = False
) -> ImportResult:
    """Store the statements of a CAMT.053 or MT940 file and their lines not seen before, all or nothing.

    Raises ``StatementError`` (nothing stored) for a file the books cannot take: malformed, not EUR,
    entries that do not lead from the opening to the closing balance. With ``auto_book``, new lines with
    exactly one proposal that is exact are booked afterwards, each on its own; a refusal leaves that line
    open and is listed in ``auto_refused``.
    """
    parsed = statement_parse(content)
    result = ImportResult()
    try:
        with db_transaction.atomic():
            for statement in parsed:
                _store(statement, file_name=file_name, by=by, result=result)
    except IntegrityError:
        raise StatementError(
            _(
                "The same statement was being imported at the same moment; look at the statements and try again."
            )
        ) from None
    logger.info(
        "ledger.bank: imported %s: %d new statements, %d new lines, %d already known",
        file_name,
        result.new_statements,
        result.new_lines,
        result.known_lines,
    )
    if auto_book:
        _auto_book(result, by=by)
    return result


def _auto_book(result: ImportResult, *, by) -> None:
    for line in BankLine.objects.filter(pk__in=result.new_line_ids, looks_like_duplicate=False).order_by(
        "pk"
    ):
        matches = line_matches(line)
        if len(matches) != 1 or not matches[0].exact:
            continue
        try:
            line_book_match(line=line, key=matches[0].key, by=by)
        except BankLineRefused as refusal:
            result.auto_refused.append(
                _("%(line)s: %(reason)s") % {"line": line_label(line), "reason": str(refusal)}
            )
        else:
            result.auto_booked += 1


def line_label(line: BankLine) -> str:
    return _("Line of %(date)s over %(amount)s EUR (%(counterparty)s)") % {
        "date": line.booking_date.isoformat(),
        "amount": line.amount,
        "counterparty": line.counterparty_name or line.bank_reference or "–",
    }


# --- Booking --------------------------------------------------------------------------------------


def _line_lock(line: BankLine) -> BankLine:
    line = BankLine.objects.select_for_update().get(pk=line.pk)
    if line.is_booked:
        raise BankLineRefused(
            _("This line is already booked (%(how)s).")
            % {"how": line.booking_note or line.booked_transaction}
        )
    return line


def _line_booked(line: BankLine, transaction: Transaction, *, note: str, by) -> None:
    """Mark ``line`` booked as ``transaction``, which must move exactly the line's amount through the bank."""
    moved = Posting.objects.filter(transaction=transaction, account__code=BANK_ACCOUNT).aggregate(
        total=Sum("amount")
    )["total"]
    if Decimal(moved or 0).quantize(Decimal("0.01")) != line.amount:
        raise BankLineRefused(
            _(
                "The booking moves %(moved)s EUR through the bank account, but the line is over %(amount)s EUR; "
                "nothing was booked."
            )
            % {"moved": Decimal(moved or 0).quantize(Decimal("0.01")), "amount": line.amount}
        )
    other = BankLine.objects.filter(booked_transaction=transaction).exclude(pk=line.pk).first()
    if other is not None:
        raise BankLineRefused(
            _("That booking already belongs to another bank line (%(line)s).") % {"line": line_label(other)}
        )
    line.booked_transaction = transaction
    line.booking_note = note[:255]
    line.booked_at = timezone.now()
    line.booked_by = by if getattr(by, "is_authenticated", False) else None
    line.save(update_fields=["booked_transaction", "booking_note", "booked_at", "booked_by"])


def line_book_match(*, line: BankLine, key: str, by) -> Transaction:
    """Book ``line`` as the proposal ``key`` (which must still stand); once."""
    with db_transaction.atomic():
        line = _line_lock(line)
        match = next((match for match in line_matches(line) if match.key == key), None)
        if match is None:
            raise BankLineRefused(
                _(
                    "That proposal no longer applies to this line (the invoice, bill or milestone has changed "
                    "since). Nothing was booked; look at the line again."
                )
            )
        try:
            with db_transaction.atomic():
                transaction = match.book(line, by)
                _line_booked(line, transaction, note=str(match.description), by=by)
        except MatchRefused as refusal:
            raise BankLineRefused(str(refusal)) from None
        except ValidationError as error:
            raise BankLineRefused(" ".join(error.messages)) from None
        except LedgerError as error:
            raise BankLineRefused(str(error)) from None
    return transaction


def line_book_account(
    *, line: BankLine, account: Account, cost_centre: CostCentre, note: str, by
) -> Transaction:
    """Book a line no proposal explains: bank against ``account`` (on ``cost_centre``), key ``bank:line:<id>``.

    A line dated in a closed month is booked on the first open day, its date kept in the source reference.
    """
    note = (note or "").strip()
    if not note:
        raise BankLineRefused(_("Say in a note what the money is for."))
    if account.code == BANK_ACCOUNT:
        raise BankLineRefused(
            _("Choose the account the money comes from or goes to, not the bank account itself.")
        )
    from .manual_bookings import ManualBookingRefused, cost_centre_check, posting_cost_centre

    try:
        cost_centre_check(accounts=[account], cost_centre=cost_centre)
    except ManualBookingRefused as refusal:
        raise BankLineRefused(str(refusal)) from None
    centre = posting_cost_centre(account=account, cost_centre=cost_centre)
    with db_transaction.atomic():
        line = _line_lock(line)
        booking_date = first_open_day(line.booking_date)
        late = (
            ""
            if booking_date == line.booking_date
            else f" (dated {line.booking_date}, booked in the first open month)"
        )
        reference = line.bank_reference or line.end_to_end_id or f"line {line.pk}"
        try:
            with db_transaction.atomic():
                transaction = transaction_post(
                    booking_date=booking_date,
                    description=" – ".join(part for part in (note, line.counterparty_name) if part)[:255],
                    idempotency_key=f"bank:line:{line.pk}",
                    source_reference=f"bank {reference}{late}"[:200],
                    lines=[
                        PostingLine(account=BANK_ACCOUNT, amount=line.amount),
                        PostingLine(account=account, amount=-line.amount, cost_centre=centre),
                    ],
                )
                _line_booked(
                    line,
                    transaction,
                    note=_("Booked to %(account)s: %(note)s") % {"account": account.code, "note": note},
                    by=by,
                )
        except LedgerError as error:
            raise BankLineRefused(str(error)) from None
    return transaction
