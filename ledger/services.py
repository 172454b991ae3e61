"""Workflows of the ledger: the ONE way transactions are created, reversed, and months closed.

Every function is keyword-only; the ones that write run inside ``transaction.atomic()``. Amounts are ``Decimal``
with at most two places, in EUR; positive = debit, negative = credit.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.db.models import Sum
from django.utils import timezone

from .errors import (
    InactiveAccount,
    InvalidPosting,
    MonthClosed,
    MonthNotOver,
    ReopenRefused,
    ReversalRefused,
    UnbalancedTransaction,
    UnknownAccount,
)
from .models import (
    CORE_COST_CENTRE_CODE,
    Account,
    ClosedMonth,
    ClosingBalance,
    CostCentre,
    DocumentSequence,
    MonthReopening,
    Posting,
    Transaction,
)
from .querysets import ZERO, month_end, month_start, next_month_start

logger = logging.getLogger(__name__)

REVERSAL_KEY_PREFIX = "reversal:"
LARGEST_AMOUNT = Decimal("1000000000000")  # Posting.amount holds 12 digits before the point


@dataclass(frozen=True)
class PostingLine:
    """One line handed to ``transaction_post``.

    ``account`` and ``cost_centre`` are a model instance or its code; ``cost_centre`` None means the
    core cost centre. ``amount`` is EUR (positive = debit, negative = credit). ``original_amount``
    and ``original_currency`` record a foreign-currency amount and go together.
    """

    account: Account | str
    amount: Decimal
    cost_centre: CostCentre | str | None = None
    original_amount: Decimal | None = None
    original_currency: str = ""


def _check_amount(value, *, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} is a float ({value!r}); the ledger takes Decimal only.")
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}.")
    if not value.is_finite():
        raise InvalidPosting(f"{what} is not a finite number ({value}).")
    if value != value.quantize(ZERO):
        raise InvalidPosting(f"{what} has more than two decimal places ({value}).")
    if abs(value) >= LARGEST_AMOUNT:
        raise InvalidPosting(f"{what} is too large for the books ({value}).")
    return value.quantize(ZERO)


def _check_lines(lines: Sequence[PostingLine]) -> list[Decimal]:
    lines = list(lines)
    if len(lines) < 2:
        raise InvalidPosting(f"A transaction needs at least two postings; got {len(lines)}.")
    amounts = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, PostingLine):
            raise TypeError(f"Line {number} must be a PostingLine, not {type(line).__name__}.")
        amount = _check_amount(line.amount, what=f"Line {number} amount")
        if amount == 0:
            raise InvalidPosting(f"Line {number} has a zero amount.")
        if line.original_amount is not None:
            _check_amount(line.original_amount, what=f"Line {number} original amount")
            if len(line.original_currency) != 3:
                raise InvalidPosting(f"Line {number} has an original amount but no three-letter currency.")
        elif line.original_currency:
            raise InvalidPosting(f"Line {number} has an original currency but no original amount.")
        amounts.append(amount)
    total = sum(amounts, ZERO)
    if total != 0:
        debits = sum((a for a in amounts if a > 0), ZERO)
        credits = -sum((a for a in amounts if a < 0), ZERO)
        raise UnbalancedTransaction(
            f"The postings do not balance: debits {debits} EUR, credits {credits} EUR, difference {total} EUR."
        )
    return amounts


def _resolve_accounts(lines: Sequence[PostingLine], *, allow_inactive: bool) -> dict[str, Account]:
    """The accounts the lines name, read fresh from the database (an Account instance may be stale)."""
    codes = {_code(line.account) for line in lines}
    by_code = {account.code: account for account in Account.objects.filter(code__in=codes)}
    missing = codes - by_code.keys()
    if missing:
        raise UnknownAccount(f"No account with code {', '.join(sorted(missing))}.")
    inactive = (
        [] if allow_inactive else sorted(code for code, account in by_code.items() if not account.active)
    )
    if inactive:
        raise InactiveAccount(f"Account {', '.join(inactive)} is inactive and takes no new postings.")
    return by_code


def _resolve_cost_centres(lines: Sequence[PostingLine], *, allow_inactive: bool) -> dict[str, CostCentre]:
    codes = {CORE_COST_CENTRE_CODE if line.cost_centre is None else line.cost_centre for line in lines}
    codes = {code.code if isinstance(code, CostCentre) else code for code in codes}
    by_code = {centre.code: centre for centre in CostCentre.objects.filter(code__in=codes)}
    missing = codes - by_code.keys()
    if missing:
        raise UnknownAccount(f"No cost centre with code {', '.join(sorted(missing))}.")
    inactive = [] if allow_inactive else sorted(code for code, centre in by_code.items() if not centre.active)
    if inactive:
        raise InactiveAccount(f"Cost centre {', '.join(inactive)} is inactive and takes no new postings.")
    return by_code


def _code(value) -> str:
    return value if isinstance(value, str) else value.code


def latest_closed_month() -> datetime.date | None:
    """The first day of the latest closed month, or None."""
    return ClosedMonth.objects.order_by("-month").values_list("month", flat=True).first()


def closed_month_refuse(booking_date: datetime.date) -> None:
    """Raise ``MonthClosed`` if ``booking_date`` lies in or before the latest closed month.

    Closing a month (publishing its report) locks it and every month before it: its stored balances
    must stay true. Automatic bookings ask ``first_open_day`` for their date first.
    """
    latest = latest_closed_month()
    if latest is not None and booking_date <= month_end(latest):
        raise MonthClosed(
            f"The books up to {latest:%Y-%m} are closed, so nothing can be booked on {booking_date}. "
            f"Book it on {next_month_start(latest)} or later (the original date goes in the reference), "
            "or re-open the month first."
        )


def transaction_post(
    *,
    booking_date: datetime.date,
    description: str,
    idempotency_key: str,
    source_reference: str = "",
    lines: Sequence[PostingLine],
) -> Transaction:
    """Post one balanced transaction, once.

    Refuses (``LedgerError`` subclasses) fewer than two lines, zero amounts, amounts with more than
    two places, postings that do not sum to zero, unknown or inactive accounts/cost centres, and a
    booking date in a closed month (``MonthClosed``: ask ``first_open_day`` for the date);
    raises ``TypeError`` for an amount that is not a Decimal (floats above all).

    Idempotent: if a transaction with ``idempotency_key`` exists, it is returned unchanged and
    nothing is posted, also when two processes post the same key at the same moment (the unique
    key decides; the loser re-reads the winner's transaction).
    """
    return _post(
        booking_date=booking_date,
        description=description,
        idempotency_key=idempotency_key,
        source_reference=source_reference,
        lines=lines,
        reverses=None,
        allow_inactive=False,
    )


def _post(
    *,
    booking_date: datetime.date,
    description: str,
    idempotency_key: str,
    source_reference: str,
    lines: Sequence[PostingLine],
    reverses: Transaction | None,
    allow_inactive: bool,
) -> Transaction:
    if isinstance(booking_date, datetime.datetime) or not isinstance(booking_date, datetime.date):
        raise TypeError("booking_date must be a datetime.date.")
    if not idempotency_key or len(idempotency_key) > 200:
        raise InvalidPosting("A transaction needs an idempotency key of 1 to 200 characters.")
    if not description or len(description) > 255:
        raise InvalidPosting("A transaction needs a description of 1 to 255 characters.")
    if len(source_reference) > 200:
        raise InvalidPosting("The source reference is longer than 200 characters.")
    lines = list(lines)
    amounts = _check_lines(lines)

    with db_transaction.atomic():
        existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing

        accounts = _resolve_accounts(lines, allow_inactive=allow_inactive)
        cost_centres = _resolve_cost_centres(lines, allow_inactive=allow_inactive)
        try:
            with db_transaction.atomic():  # a savepoint: a lost race rolls back only this part
                txn = Transaction.objects.create(
                    booking_date=booking_date,
                    description=description,
                    source_reference=source_reference,
                    idempotency_key=idempotency_key,
                    reverses=reverses,
                )
                Posting.objects.bulk_create(
                    [
                        Posting(
                            transaction=txn,
                            account=accounts[_code(line.account)],
                            cost_centre=cost_centres[
                                CORE_COST_CENTRE_CODE if line.cost_centre is None else _code(line.cost_centre)
                            ],
                            amount=amount,
                            original_amount=line.original_amount,
                            original_currency=line.original_currency,
                            booking_date=booking_date,
                        )
                        for line, amount in zip(lines, amounts, strict=True)
                    ]
                )
        except IntegrityError:
            existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing
        # Checked after the insert: on PostgreSQL the insert waits for a month close in flight
        # (it holds a SHARE lock on postings), so a close that commits first is seen here.
        closed_month_refuse(booking_date)
    return txn


def transaction_reverse(*, transaction: Transaction, booking_date: datetime.date, reason: str) -> Transaction:
    """Post the mirror image of ``transaction`` (every amount negated) on ``booking_date``.

    Idempotent under the key ``reversal:<original key>``: reversing the same transaction again
    returns the first reversal. A reversal itself is never reversed (post the original again under a
    new key instead): that raises ``ReversalRefused``. A reversal may post to accounts and cost
    centres that have since been switched off.
    """
    if transaction.reverses_id is not None:
        raise ReversalRefused(
            f"Transaction {transaction.idempotency_key!r} is itself a reversal and cannot be reversed; "
            "post the original again under a new idempotency key."
        )
    postings = list(transaction.postings.select_related("account", "cost_centre"))
    lines = [
        PostingLine(
            account=posting.account,
            amount=-posting.amount,
            cost_centre=posting.cost_centre,
            original_amount=None if posting.original_amount is None else -posting.original_amount,
            original_currency=posting.original_currency,
        )
        for posting in postings
    ]
    return _post(
        booking_date=booking_date,
        description=f"Reversal: {transaction.description} ({reason})"[:255],
        idempotency_key=f"{REVERSAL_KEY_PREFIX}{transaction.idempotency_key}",
        source_reference=f"reversal:{transaction.pk}",
        lines=lines,
        reverses=transaction,
        allow_inactive=True,
    )


def _lock_postings_for_close() -> None:
    """On PostgreSQL, wait for postings in flight and hold new ones back until the close commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Posting._meta.db_table} IN SHARE MODE")


def ledger_month_close(*, month: datetime.date) -> int:
    """Store the closing balance of every account and cost centre at the end of ``month``.

    Balance = the stored closing balance of the latest closed month before ``month`` (zero if none)
    + the postings after that month up to the end of ``month``. Months in between need not be
    closed. Re-running replaces the month's rows with the same figures. Returns the number of
    ClosingBalance rows stored. Refuses a month that has not ended yet.
    """
    start = month_start(month)
    end = month_end(month)
    if end >= timezone.localdate():
        raise MonthNotOver(
            f"{start:%Y-%m} has not ended yet; it can be closed from {end + datetime.timedelta(days=1)}."
        )

    with db_transaction.atomic():
        _lock_postings_for_close()
        previous = ClosedMonth.objects.filter(month__lt=start).order_by("-month").first()
        balances: dict[tuple[int, int], Decimal] = {}
        postings = Posting.objects.filter(booking_date__lte=end)
        if previous is not None:
            for account_id, cost_centre_id, balance in ClosingBalance.objects.filter(
                month=previous.month
            ).values_list("account_id", "cost_centre_id", "balance"):
                balances[(account_id, cost_centre_id)] = balance
            postings = postings.filter(booking_date__gte=next_month_start(previous.month))
        movements = (
            postings.order_by()
            .values("account_id", "cost_centre_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "cost_centre_id", "total")
        )
        for account_id, cost_centre_id, total in movements:
            key = (account_id, cost_centre_id)
            balances[key] = balances.get(key, ZERO) + Decimal(total).quantize(ZERO)

        ClosingBalance.objects.filter(month=start).delete()
        ClosingBalance.objects.bulk_create(
            [
                ClosingBalance(
                    account_id=account_id, cost_centre_id=cost_centre_id, month=start, balance=balance
                )
                for (account_id, cost_centre_id), balance in sorted(balances.items())
            ]
        )
        ClosedMonth.objects.update_or_create(month=start, defaults={"closed_at": timezone.now()})
    logger.info("ledger: closed %s with %d balances", f"{start:%Y-%m}", len(balances))
    return len(balances)


def ledger_month_reopen(*, month: datetime.date, by, reason: str) -> MonthReopening:
    """Re-open the latest closed month: drop its stored balances and record who did it and why.

    Only the latest closed month can be re-opened (re-open later months first), so stored balances
    of later months never go stale. ``by`` is the user (finance role checked by the caller).
    """
    start = month_start(month)
    reason = (reason or "").strip()
    if not reason:
        raise ReopenRefused("Say why the month is re-opened; the reason is kept with the books.")
    with db_transaction.atomic():
        _lock_postings_for_close()
        closed = list(
            ClosedMonth.objects.select_for_update().order_by("-month").values_list("month", flat=True)
        )
        if start not in closed:
            raise ReopenRefused(f"{start:%Y-%m} is not closed.")
        if closed[0] != start:
            raise ReopenRefused(
                f"{closed[0]:%Y-%m} is closed after {start:%Y-%m}; re-open the later months first, newest first."
            )
        ClosingBalance.objects.filter(month=start).delete()
        ClosedMonth.objects.filter(month=start).delete()
        reopening = MonthReopening.objects.create(
            month=start,
            reopened_by=by if getattr(by, "pk", None) else None,
            reopened_by_name=(getattr(by, "get_username", lambda: "")() or "")[:150],
            reason=reason[:1000],
        )
    logger.warning("ledger: %s re-opened by %s: %s", f"{start:%Y-%m}", reopening.reopened_by_name, reason)
    return reopening


def account_balance(
    *, account: Account | str, at: datetime.date, cost_centre: CostCentre | str | None = None
) -> Decimal:
    """The signed balance of ``account`` at the end of day ``at`` (all cost centres unless one is given).

    = the stored closing balance of the latest closed month ending on or before ``at`` + the
    postings after that month up to ``at``. Never a sum over all history once months are closed.
    Use ``Account.Kind.reported()`` to show an income balance as a positive figure.
    """
    if isinstance(account, str):
        account = Account.objects.get(code=account)
    closed = ClosedMonth.objects.ended_by(at).values_list("month", flat=True).first()
    postings = Posting.objects.for_account(account).up_to(at)
    stored = ZERO
    if closed is not None:
        closing = ClosingBalance.objects.filter(account=account, month=closed)
        if cost_centre is not None:
            closing = closing.filter(**_cost_centre_lookup(cost_centre))
        stored = Decimal(closing.aggregate(total=Sum("balance"))["total"] or ZERO).quantize(ZERO)
        postings = postings.filter(booking_date__gte=next_month_start(closed))
    if cost_centre is not None:
        postings = postings.filter(**_cost_centre_lookup(cost_centre))
    return stored + postings.total()


def _cost_centre_lookup(cost_centre: CostCentre | str) -> dict:
    if isinstance(cost_centre, str):
        return {"cost_centre__code": cost_centre}
    return {"cost_centre": cost_centre}


def document_number_next(*, series: str, year: int) -> str:
    """The next number of a gap-free series, e.g. ``ZB-2026-00042``. Call inside the transaction that
    stores the document: the row lock serialises concurrent callers and a rollback returns the number."""
    if not db_transaction.get_connection().in_atomic_block:
        raise RuntimeError("document_number_next must run inside the transaction that stores the document.")
    # One statement in the usual case: the UPDATE takes the row lock and returns the new number (PostgreSQL
    # and SQLite 3.35+ both know RETURNING). The first number of a series and year creates its row.
    table = DocumentSequence._meta.db_table
    statement = f"UPDATE {table} SET last_number = last_number + 1 WHERE series = %s AND year = %s RETURNING last_number"  # noqa: S608 - the table name is our own
    with db_transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, [series, year])
        found = cursor.fetchone()
        if found is None:
            DocumentSequence.objects.get_or_create(series=series, year=year)
            cursor.execute(statement, [series, year])
            found = cursor.fetchone()
    return f"{series}-{year}-{found[0]:05d}"


def first_open_day(day: datetime.date) -> datetime.date:
    """``day``, or the first day after the latest closed month if ``day`` falls in a closed month.

    Late events (a refund for a month finance already closed) are booked here instead of being
    refused or reopening the month; the caller keeps the original date in the source reference.
    """
    latest = latest_closed_month()
    if latest is not None and day <= month_end(latest):
        return next_month_start(latest)
    return day
