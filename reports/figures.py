"""The money figures of a month's report, read from the ledger only (issue 7 builds the pages on these).

Income and spending are one GROUP BY over the month's postings by report category; cash at the month's end
comes from ``ledger.services.account_balance`` (the stored closing balance of the latest closed month plus
the postings after it), so the cost of a report grows with one month's rows, not with the whole history.
Counts (patrons) and consents come from the domain apps' read-only querysets, not from here.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum

from ledger.models import Account, ClosedMonth, ClosingBalance, Posting
from ledger.querysets import month_end, month_start
from ledger.services import account_balance

ZERO = Decimal("0.00")

# Report category of the ledger -> key of the public JSON format (docs/reports.md, issue 7).
INCOME_KEYS = {
    Account.Category.PATRONS: "patrons",
    Account.Category.DONATIONS: "donations",
    Account.Category.SPONSORSHIPS: "sponsorships",
    Account.Category.GRANTS: "grants",
    Account.Category.SERVICES: "services",
    Account.Category.OTHER_INCOME: "other",
}
SPENDING_KEYS = {
    Account.Category.PERSONNEL: "personnel",
    Account.Category.FREELANCERS: "freelancers",
    Account.Category.HOSTING: "hosting",
    Account.Category.PAYMENT_FEES: "payment_fees",
    Account.Category.OTHER_SPENDING: "other",
}


class IncomeAndSpending:
    """Totals and the result of anything with ``income`` and ``spending`` dicts (a month, a year, a sphere)."""

    income: dict[str, Decimal]
    spending: dict[str, Decimal]

    @property
    def income_total(self) -> Decimal:
        return sum(self.income.values(), ZERO)

    @property
    def spending_total(self) -> Decimal:
        return sum(self.spending.values(), ZERO)

    @property
    def result(self) -> Decimal:
        return self.income_total - self.spending_total

    def money_json(self) -> dict:
        """Income, spending and the result as the public JSON format writes them."""
        return {
            "income": {
                **{key: money_text(value) for key, value in self.income.items()},
                "total": money_text(self.income_total),
            },
            "spending": {
                **{key: money_text(value) for key, value in self.spending.items()},
                "total": money_text(self.spending_total),
            },
            "result": money_text(self.result),
        }


@dataclass(frozen=True)
class MonthFigures(IncomeAndSpending):
    month: datetime.date  # first day
    income: dict[str, Decimal]  # JSON key -> amount, every key present
    spending: dict[str, Decimal]
    cash_end: Decimal

    @property
    def development_spending(self) -> Decimal:
        """Spending on the people who build the software: personnel and freelancers (docs/reports.md)."""
        return self.spending["personnel"] + self.spending["freelancers"]

    @property
    def development_share(self) -> Decimal | None:
        """Development spending as a percentage of all spending, one decimal; None without spending."""
        return percent_share(self.development_spending, self.spending_total)

    def as_json(self, *, status: str) -> dict:
        """The money part of the public JSON format: amounts as strings with two decimals."""
        return {
            "period": f"{self.month:%Y-%m}",
            "currency": "EUR",
            "status": status,
            **self.money_json(),
            "cash_end": money_text(self.cash_end),
        }


def percent_share(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole``, one decimal rounded half up (every format uses this); None
    when ``whole`` is not positive."""
    if whole <= 0:
        return None
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def money_text(amount: Decimal) -> str:
    """An amount as the JSON and CSV formats write it: a string with two decimals."""
    return f"{amount.quantize(ZERO)}"


def _previous(month: datetime.date) -> datetime.date:
    return month_start(month - datetime.timedelta(days=1))


def months_figures(months: list[datetime.date]) -> list[MonthFigures]:
    """The figures of several months in a handful of queries, whatever their number and the ledger's size.

    - one query for which of the months (and the month before each) are closed;
    - one query on the stored closing balances of the closed ones, by month, report category and kind;
    - one GROUP BY over the postings of the months that are not read from balances, bounded by their
      dates: a closed month whose previous month is closed too is the difference of the two months'
      stored balances (a few rows per account, whatever the month's size);
    - cash at a month's end is the stored balance of a closed month, or the cash at the end of the month
      before plus the month's movement on cash accounts; only when the month before the earliest open
      one is neither closed nor asked for does ``account_balance`` add up from the latest closed month.
    Both ways give the same figures (tests/reports/test_figures.py).
    """
    months = sorted({month_start(m) for m in months})
    if not months:
        return []
    wanted = set(months) | {_previous(m) for m in months}
    closed = set(ClosedMonth.objects.filter(month__in=wanted).values_list("month", flat=True))

    balances: dict[datetime.date, dict[str, Decimal]] = defaultdict(dict)
    if closed:
        rows = (
            ClosingBalance.objects.filter(month__in=closed)
            .order_by()
            .values_list("month", "account__category")
            .annotate(total=Sum("balance"))
        )
        for month, category, total in rows:
            balances[month][category] = Decimal(total).quantize(ZERO)

    from_postings = [m for m in months if not (m in closed and _previous(m) in closed)]
    movements: dict[datetime.date, dict[str, Decimal]] = defaultdict(dict)
    if from_postings:
        bounds = Q()
        for m in from_postings:
            bounds |= Q(booking_date__gte=m, booking_date__lte=month_end(m))
        for month, by_category in Posting.objects.filter(bounds).monthly_totals(by="category").items():
            movements[month_start(month)] = by_category

    def category_movement(month: datetime.date, category: str) -> Decimal:
        """The signed movement of ``category`` in ``month`` (a debit positive)."""
        if month in closed and _previous(month) in closed:
            return balances[month].get(category, ZERO) - balances[_previous(month)].get(category, ZERO)
        return movements[month].get(category, ZERO)

    cash: dict[datetime.date, Decimal] = {}

    def cash_end(month: datetime.date) -> Decimal:
        if month not in cash:
            if month in closed:
                cash[month] = balances[month].get(Account.Category.CASH, ZERO)
            elif month in from_postings:
                cash[month] = cash_end(_previous(month)) + movements[month].get(Account.Category.CASH, ZERO)
            else:  # the month before the earliest asked for, not closed
                cash[month] = cash_at(month_end(month))
        return cash[month]

    figures = []
    for month in months:
        income = {key: -category_movement(month, category) for category, key in INCOME_KEYS.items()}
        spending = {key: category_movement(month, category) for category, key in SPENDING_KEYS.items()}
        figures.append(MonthFigures(month=month, income=income, spending=spending, cash_end=cash_end(month)))
    return figures


def month_category_totals(month: datetime.date) -> dict[str, Decimal]:
    """``{report category: amount as reported}`` for one month (income and spending categories)."""
    figures = month_figures(month)
    return {
        **{category: figures.income[key] for category, key in INCOME_KEYS.items()},
        **{category: figures.spending[key] for category, key in SPENDING_KEYS.items()},
    }


def cash_at(day: datetime.date) -> Decimal:
    """Cash and bank at the end of ``day``: stored closing balances plus the postings after them."""
    cash_accounts = Account.objects.filter(category=Account.Category.CASH)
    return sum((account_balance(account=account, at=day) for account in cash_accounts), ZERO)


def month_figures(month: datetime.date) -> MonthFigures:
    """Income by source, spending by category (as reported: positive figures) and cash at the month's end."""
    return months_figures([month])[0]


def months_back(month: datetime.date, count: int) -> list[datetime.date]:
    """``count`` first-of-month dates ending with ``month``'s, oldest first."""
    months = [month_start(month)]
    while len(months) < count:
        months.insert(0, month_start(months[0] - datetime.timedelta(days=1)))
    return months


@dataclass(frozen=True)
class PatronFigures:
    active: int
    new: int
    ended: int
    monthly_recurring: Decimal

    def as_json(self) -> dict:
        return {
            "active": self.active,
            "new": self.new,
            "ended": self.ended,
            "monthly_recurring": money_text(self.monthly_recurring),
        }


def patron_figures(month: datetime.date) -> PatronFigures:
    """Counts from fundraising's read-only queryset (never money from the ledger)."""
    from fundraising.models import Patronage

    return PatronFigures(**Patronage.objects.month_figures(month_start(month)))


@dataclass(frozen=True)
class MonthReportData:
    """Everything a monthly report shows, in every format (HTML, PDF, CSV, JSON)."""

    figures: MonthFigures
    patrons: PatronFigures
    previous: MonthFigures
    year_before: MonthFigures
    history: list[MonthFigures]  # the last 12 months ending with this one, oldest first

    @property
    def month(self) -> datetime.date:
        return self.figures.month

    def as_json(self, *, status: str) -> dict:
        """The public JSON format (docs/reports.md), with comparisons as extra keys."""

        def brief(figures: MonthFigures) -> dict:
            return {
                "period": f"{figures.month:%Y-%m}",
                "income_total": money_text(figures.income_total),
                "spending_total": money_text(figures.spending_total),
                "result": money_text(figures.result),
            }

        share = self.figures.development_share
        return {
            **self.figures.as_json(status=status),
            "patrons": self.patrons.as_json(),
            "development_share": None if share is None else f"{share}",
            "previous_month": brief(self.previous),
            "same_month_last_year": brief(self.year_before),
        }


def month_report_data(month: datetime.date) -> MonthReportData:
    """The figures of ``month`` with its comparisons and its last 12 months.

    Reads this month's postings (or, once closed, its stored balances), the comparison months' and
    at most 12 months of history, each month the same way, so the cost never grows with the ledger.
    """
    first = month_start(month)
    thirteen = months_figures(months_back(first, 13))  # a year before, then the last 12 months
    history = thirteen[1:]
    return MonthReportData(
        figures=history[-1],
        patrons=patron_figures(first),
        previous=history[-2],
        year_before=thirteen[0],
        history=history,
    )


@dataclass(frozen=True)
class YearFigures(IncomeAndSpending):
    year: int
    months: list[MonthFigures]  # January to December (or to the last month asked for)
    patrons_end: PatronFigures

    @property
    def income(self) -> dict[str, Decimal]:
        return {key: sum((m.income[key] for m in self.months), ZERO) for key in INCOME_KEYS.values()}

    @property
    def spending(self) -> dict[str, Decimal]:
        return {key: sum((m.spending[key] for m in self.months), ZERO) for key in SPENDING_KEYS.values()}

    @property
    def cash_end(self) -> Decimal:
        return self.months[-1].cash_end if self.months else ZERO

    def as_json(self, *, status: str) -> dict:
        return {
            "period": str(self.year),
            "currency": "EUR",
            "status": status,
            **self.money_json(),
            "cash_end": money_text(self.cash_end),
            "patrons": self.patrons_end.as_json(),
            "months": [m.as_json(status=status) for m in self.months],
        }


def year_figures(year: int, *, through: datetime.date | None = None) -> YearFigures:
    """The months of ``year`` (up to ``through``'s month if given), each read like a monthly report."""
    months = [datetime.date(year, number, 1) for number in range(1, 13)]
    if through is not None:
        months = [m for m in months if m <= month_start(through)]
    figures = months_figures(months)
    return YearFigures(
        year=year,
        months=figures,
        patrons_end=patron_figures(months[-1] if months else datetime.date(year, 1, 1)),
    )
