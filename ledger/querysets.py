"""Reusable reads of the ledger: QuerySet classes exposed on the models with ``as_manager()``.

Amounts follow the ledger's sign convention: positive is a debit, negative a credit, so the signed
sum of an income account is negative. Every ``totals_*`` method takes ``reported=True`` to present
credit-normal accounts (income, liability, equity) as positive figures, the way a report shows them.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Case, F, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth

from .errors import ImmutableRecord

if TYPE_CHECKING:
    from .models import Account

ZERO = Decimal("0.00")
AMOUNT_FIELD = models.DecimalField(max_digits=14, decimal_places=2)

# The groupings the totals methods offer, by name: the posting field each one groups on.
GROUPINGS = {
    "account": "account__code",
    "kind": "account__kind",
    "category": "account__category",
    "sphere": "account__tax_sphere",
    "cost_centre": "cost_centre__code",
}


def month_start(day: datetime.date) -> datetime.date:
    """The first day of the month ``day`` falls in."""
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    """The last day of the month ``day`` falls in."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month_start(day: datetime.date) -> datetime.date:
    """The first day of the month after the one ``day`` falls in."""
    return month_end(day) + datetime.timedelta(days=1)


def _as_decimal(value) -> Decimal:
    """Database sums come back as Decimal (or None for no rows); keep two places, never a float."""
    if value is None:
        return ZERO
    return Decimal(value).quantize(ZERO)


class ImmutableQuerySet(models.QuerySet):
    """Bulk ``update()`` and ``delete()`` refused: the books are never edited, only reversed."""

    def update(self, **kwargs):
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows are never updated; post a reversal.")

    def delete(self):
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows are never deleted; post a reversal.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows are never updated; post a reversal.")


class AccountQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def income(self):
        return self.filter(kind="income")

    def spending(self):
        return self.filter(kind="expense")


class CostCentreQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class TransactionQuerySet(ImmutableQuerySet):
    def between(self, start: datetime.date, end: datetime.date):
        """Transactions booked from ``start`` to ``end``, both days included."""
        return self.filter(booking_date__gte=start, booking_date__lte=end)

    def in_month(self, day: datetime.date):
        return self.filter(booking_date__gte=month_start(day), booking_date__lt=next_month_start(day))

    def touching_account(self, account: Account | str):
        """Transactions with at least one posting on ``account`` (an Account or its code)."""
        lookup = (
            {"postings__account__code": account}
            if isinstance(account, str)
            else {"postings__account": account}
        )
        return self.filter(**lookup).distinct()

    def with_total(self):
        """Annotate ``total``: the sum of the debit postings, i.e. the money the transaction moves."""
        return self.annotate(
            total=Coalesce(
                Sum("postings__amount", filter=models.Q(postings__amount__gt=0)),
                Value(ZERO),
                output_field=AMOUNT_FIELD,
            )
        )


class PostingQuerySet(ImmutableQuerySet):
    # --- filters ------------------------------------------------------------------------------
    def in_month(self, day: datetime.date):
        """Postings booked in the calendar month ``day`` falls in (uses the booking_date indexes)."""
        return self.filter(booking_date__gte=month_start(day), booking_date__lt=next_month_start(day))

    def between(self, start: datetime.date, end: datetime.date):
        """Postings booked from ``start`` to ``end``, both days included."""
        return self.filter(booking_date__gte=start, booking_date__lte=end)

    def up_to(self, day: datetime.date):
        return self.filter(booking_date__lte=day)

    def for_account(self, account: Account | str):
        if isinstance(account, str):
            return self.filter(account__code=account)
        return self.filter(account=account)

    def for_cost_centre(self, cost_centre):
        if isinstance(cost_centre, str):
            return self.filter(cost_centre__code=cost_centre)
        return self.filter(cost_centre=cost_centre)

    def income(self):
        return self.filter(account__kind="income")

    def spending(self):
        return self.filter(account__kind="expense")

    def in_sphere(self, sphere: int):
        return self.filter(account__tax_sphere=sphere)

    # --- sums ---------------------------------------------------------------------------------
    def _amount_expression(self, reported: bool):
        if not reported:
            return F("amount")
        from .models import Account

        return Case(
            When(account__kind__in=Account.Kind.credit_normal(), then=-F("amount")),
            default=F("amount"),
            output_field=AMOUNT_FIELD,
        )

    def total(self, *, reported: bool = False) -> Decimal:
        """The sum of the amounts (signed, or as reported when ``reported``)."""
        return _as_decimal(
            self.aggregate(total=Sum(self._amount_expression(reported), output_field=AMOUNT_FIELD))["total"]
        )

    def totals_by(self, grouping: str, *, reported: bool = False) -> dict:
        """One SQL GROUP BY: ``{key: Decimal}`` for a grouping named in GROUPINGS."""
        field = GROUPINGS[grouping]
        rows = (
            self.order_by()
            .values(field)
            .annotate(total=Sum(self._amount_expression(reported), output_field=AMOUNT_FIELD))
            .values_list(field, "total")
        )
        return {key: _as_decimal(total) for key, total in rows}

    def totals_by_category(self, *, reported: bool = False) -> dict[str, Decimal]:
        """``{report category: Decimal}``, e.g. ``{"patrons": Decimal("-27000.00"), ...}``."""
        return self.totals_by("category", reported=reported)

    def totals_by_sphere(self, *, reported: bool = False) -> dict[int | None, Decimal]:
        """``{tax sphere (1-4): Decimal}``; balance-sheet accounts carry no sphere (key None)."""
        return self.totals_by("sphere", reported=reported)

    def totals_by_cost_centre(self, *, reported: bool = False) -> dict[str, Decimal]:
        """``{cost centre code: Decimal}``."""
        return self.totals_by("cost_centre", reported=reported)

    def totals_by_account(self, *, reported: bool = False) -> dict[str, Decimal]:
        """``{account code: Decimal}``."""
        return self.totals_by("account", reported=reported)

    def monthly_totals(
        self, *, by: str | None = None, reported: bool = False
    ) -> dict[datetime.date, Decimal] | dict[datetime.date, dict]:
        """Sums per calendar month (key: the month's first day), grouped in SQL with TruncMonth.

        Without ``by``: ``{month: Decimal}``. With ``by`` (a name in GROUPINGS: "category", "sphere",
        "cost_centre", "account", "kind"): ``{month: {key: Decimal}}``. Months without postings are
        absent.
        """
        group_fields = ["month"] if by is None else ["month", GROUPINGS[by]]
        rows = (
            self.order_by()
            .annotate(month=TruncMonth("booking_date", output_field=models.DateField()))
            .values(*group_fields)
            .annotate(total=Sum(self._amount_expression(reported), output_field=AMOUNT_FIELD))
            .values_list(*group_fields, "total")
            .order_by("month")
        )
        if by is None:
            return {_as_date(month): _as_decimal(total) for month, total in rows}
        nested: dict[datetime.date, dict] = defaultdict(dict)
        for month, key, total in rows:
            nested[_as_date(month)][key] = _as_decimal(total)
        return dict(nested)


def _as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


class ClosingBalanceQuerySet(models.QuerySet):
    def for_month(self, day: datetime.date):
        return self.filter(month=month_start(day))


class ClosedMonthQuerySet(models.QuerySet):
    def ended_by(self, day: datetime.date):
        """Closed months whose last day is on or before ``day``, latest first."""
        bound = next_month_start(day) if day == month_end(day) else month_start(day)
        return self.filter(month__lt=bound).order_by("-month")
