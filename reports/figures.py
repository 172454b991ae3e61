"""The money figures of a month's report, read from the ledger only (issue 7 builds the pages on these).

Income and spending are one GROUP BY over the month's postings by report category; cash at the month's end
comes from ``ledger.services.account_balance`` (the stored closing balance of the latest closed month plus
the postings after it), so the cost of a report grows with one month's rows, not with the whole history.
Counts (patrons) and consents come from the domain apps' read-only querysets, not from here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from ledger.models import Account, Posting
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


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date  # first day
    income: dict[str, Decimal]  # JSON key -> amount, every key present
    spending: dict[str, Decimal]
    cash_end: Decimal

    @property
    def income_total(self) -> Decimal:
        return sum(self.income.values(), ZERO)

    @property
    def spending_total(self) -> Decimal:
        return sum(self.spending.values(), ZERO)

    @property
    def result(self) -> Decimal:
        return self.income_total - self.spending_total

    def as_json(self, *, status: str) -> dict:
        """The money part of the public JSON format: amounts as strings with two decimals."""

        def text(amount: Decimal) -> str:
            return f"{amount.quantize(ZERO)}"

        return {
            "period": f"{self.month:%Y-%m}",
            "currency": "EUR",
            "status": status,
            "income": {
                **{key: text(value) for key, value in self.income.items()},
                "total": text(self.income_total),
            },
            "spending": {
                **{key: text(value) for key, value in self.spending.items()},
                "total": text(self.spending_total),
            },
            "result": text(self.result),
            "cash_end": text(self.cash_end),
        }


def month_figures(month: datetime.date) -> MonthFigures:
    """Income by source, spending by category (as reported: positive figures) and cash at the month's end."""
    first = month_start(month)
    by_category = Posting.objects.in_month(first).totals_by_category(reported=True)
    income = {key: by_category.get(category, ZERO) for category, key in INCOME_KEYS.items()}
    spending = {key: by_category.get(category, ZERO) for category, key in SPENDING_KEYS.items()}
    cash_accounts = Account.objects.filter(category=Account.Category.CASH).values_list("code", flat=True)
    cash_end = sum((account_balance(account=code, at=month_end(first)) for code in cash_accounts), ZERO)
    return MonthFigures(month=first, income=income, spending=spending, cash_end=cash_end)
