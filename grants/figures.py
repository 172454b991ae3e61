"""The finance dashboard's figures and charts, and the public grants page's listing.

Every amount comes from the ledger: the postings on a grant's cost centre (never the pay records), and for
the organisation the cash accounts and all expense accounts. Sums are grouped in SQL, for all grants at once:

- ``grants_figures(grants)``: per grant, budget against actual by category (CATEGORY_ACCOUNTS; an expense
  account not listed there counts as "other direct costs"; indirect costs = direct actual × the grant's
  indirect cost rate), total spent, grant income received, burn rate, months left at that rate, budget used
  and the milestones. Five queries whatever the number of grants.
- ``organisation_figures()``: cash (accounts of the report category "cash": bank and Stripe), spending per
  month over the last 12 complete months with the cash at each month's end, average monthly spending over
  the last 6 complete months, and the runway. Two queries.
- ``budget_chart``, ``milestone_chart`` and ``organisation_chart``: SVG drawn on the server (no JavaScript,
  fine in a PDF) from templates/grants/charts/, each with ``role="img"``, a title and a description; the
  pages show a table with the same figures next to each chart.
- ``public_grants()``: what the public grants page shows (funder, amount, period, purpose, milestone
  progress): nothing about people, pay or costs.

Burn rate: the average monthly cost on the grant's cost centre over the last three complete months up to the
latest complete month with postings (fewer when the grant started more recently), the indirect rate added.
Months left = (total budget − spent) / burn rate.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.db.models import Count, Min, Prefetch, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from ledger.models import Posting
from ledger.querysets import month_start

from .models import (
    CATEGORY_ACCOUNTS,
    BudgetLine,
    CostCategory,
    Grant,
    Milestone,
    MilestoneState,
    indirect_costs,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
HUNDRED = Decimal("100")
GRANT_INCOME_ACCOUNT = "income-grants"
BURN_RATE_MONTHS = 3
AVERAGE_SPENDING_MONTHS = 6
CHART_MONTHS = 12
DONE_MILESTONE_STATES = (MilestoneState.ACCEPTED, MilestoneState.PAID)
DIRECT_CATEGORIES = [category for category in CostCategory.values if category != CostCategory.INDIRECT]
ACCOUNT_CATEGORY = {
    account: category for category, accounts in CATEGORY_ACCOUNTS.items() for account in accounts
}


# --- Formatting -----------------------------------------------------------------------------------


def _locale() -> Locale:
    return Locale.parse((get_language() or settings.LANGUAGE_CODE).split("-")[0])


def money(amount: Decimal, currency: str = "EUR", *, cents: bool = True) -> str:
    """“€1,234.50” / “1.234,50 €”; with ``cents=False`` rounded to whole units: “€1,235”."""
    locale = _locale()
    if cents:
        return format_currency(amount, currency.upper(), locale=locale)
    whole = Decimal(amount).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    pattern = locale.currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(whole, currency.upper(), format=pattern, locale=locale, currency_digits=False)


def number(value: Decimal) -> str:
    """“12.5” / “12,5”."""
    return format_decimal(value, locale=_locale())


def format_day(day: datetime.date) -> str:
    return format_date(day, "medium", locale=_locale())


def format_month(day: datetime.date, *, short: bool = False) -> str:
    return format_date(day, "MMM yy" if short else "MMMM yyyy", locale=_locale())


def format_period(start: datetime.date, end: datetime.date) -> str:
    """“Jan – Dec 2026” / “Jan.–Dez. 2026”."""
    return format_interval(start, end, "yMMM", locale=_locale())


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole <= 0:
        return None
    return (part * HUNDRED / whole).quantize(TENTH, rounding=ROUND_HALF_UP)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month_range(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = _add_months(current, 1)
    return months


# --- Grants ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryFigure:
    category: str
    label: str
    budget: Decimal
    actual: Decimal
    currency: str = "EUR"

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.actual

    @property
    def overspent(self) -> bool:
        return self.actual > self.budget

    @property
    def over_by(self) -> Decimal:
        return max(self.actual - self.budget, ZERO)

    @property
    def used_percent(self) -> Decimal | None:
        return _percent(self.actual, self.budget)

    @property
    def budget_display(self) -> str:
        return money(self.budget, self.currency)

    @property
    def actual_display(self) -> str:
        return money(self.actual, self.currency)

    @property
    def remaining_display(self) -> str:
        return money(self.remaining, self.currency)

    @property
    def over_by_display(self) -> str:
        return money(self.over_by, self.currency)


@dataclass
class GrantFigures:
    grant: Grant
    categories: list[CategoryFigure]
    budget_total: Decimal
    direct_actual: Decimal
    indirect_actual: Decimal
    income_received: Decimal
    burn_rate: Decimal
    burn_months: list[datetime.date]
    milestones: list[Milestone]
    today: datetime.date

    @property
    def currency(self) -> str:
        return self.grant.currency

    @property
    def spent(self) -> Decimal:
        return self.direct_actual + self.indirect_actual

    @property
    def remaining(self) -> Decimal:
        return self.budget_total - self.spent

    @property
    def budget_used_percent(self) -> Decimal | None:
        return _percent(self.spent, self.budget_total)

    @property
    def months_left(self) -> Decimal | None:
        """(Total budget − spent) / burn rate; None without a burn rate."""
        if self.burn_rate <= 0:
            return None
        return max(self.remaining / self.burn_rate, ZERO).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def time_elapsed_percent(self) -> Decimal:
        grant = self.grant
        total = (grant.end_date - grant.start_date).days + 1
        elapsed = min(max((self.today - grant.start_date).days + 1, 0), total)
        return _percent(Decimal(elapsed), Decimal(total)) or ZERO

    @property
    def overspent(self) -> bool:
        return any(category.overspent for category in self.categories)

    @property
    def milestones_done(self) -> int:
        return sum(1 for milestone in self.milestones if milestone.state in DONE_MILESTONE_STATES)

    @property
    def milestones_overdue(self) -> int:
        return sum(1 for milestone in self.milestones if milestone.is_overdue)

    # Shown in the dashboard's template, in the active language.
    @property
    def budget_total_display(self) -> str:
        return money(self.budget_total, self.currency)

    @property
    def spent_display(self) -> str:
        return money(self.spent, self.currency)

    @property
    def direct_actual_display(self) -> str:
        return money(self.direct_actual, self.currency)

    @property
    def indirect_actual_display(self) -> str:
        return money(self.indirect_actual, self.currency)

    @property
    def remaining_display(self) -> str:
        return money(self.remaining, self.currency)

    @property
    def income_received_display(self) -> str:
        return money(self.income_received, self.currency)

    @property
    def awarded_display(self) -> str:
        return money(self.grant.awarded_amount, self.currency)

    @property
    def burn_rate_display(self) -> str:
        return money(self.burn_rate, self.currency)

    @property
    def months_left_display(self) -> str:
        return "" if self.months_left is None else number(self.months_left)

    @property
    def budget_used_display(self) -> str:
        used = self.budget_used_percent
        return "" if used is None else f"{number(used)} %"

    @property
    def time_elapsed_display(self) -> str:
        return f"{number(self.time_elapsed_percent)} %"

    @property
    def period_display(self) -> str:
        return format_period(self.grant.start_date, self.grant.end_date)

    @property
    def burn_period_display(self) -> str:
        if not self.burn_months:
            return ""
        if len(self.burn_months) == 1:
            return format_month(self.burn_months[0])
        return format_period(self.burn_months[0], self.burn_months[-1])


def dashboard_grants():
    """The grants the dashboard shows: awarded or active (also past their end until closed)."""
    return Grant.objects.filter(state__in=(Grant.State.AWARDED, Grant.State.ACTIVE)).order_by(
        "end_date", "title", "pk"
    )


def grants_figures(grants=None, *, today: datetime.date | None = None) -> list[GrantFigures]:
    """Figures of each grant in ``grants`` (a Grant queryset; default: ``dashboard_grants()``).

    Five queries: the grants with their funder, their budget lines, their milestones, the postings on their
    cost centres by account, and their monthly costs."""
    today = today or timezone.localdate()
    grants = list(
        (dashboard_grants() if grants is None else grants)
        .select_related("funder")
        .prefetch_related(
            Prefetch("budget_lines", queryset=BudgetLine.objects.order_by()),
            Prefetch("milestones", queryset=Milestone.objects.order_by("due_date", "position", "pk")),
        )
    )
    centre_ids = [grant.cost_centre_id for grant in grants if grant.cost_centre_id]
    by_account: dict[int, dict[str, Decimal]] = defaultdict(dict)
    monthly: dict[int, dict[datetime.date, Decimal]] = defaultdict(dict)
    if centre_ids:
        rows = (
            Posting.objects.filter(cost_centre_id__in=centre_ids)
            .filter(Q(account__kind="expense") | Q(account__code=GRANT_INCOME_ACCOUNT))
            .order_by()
            .values_list("cost_centre_id", "account__code")
            .annotate(total=Sum("amount"))
        )
        for centre_id, account, total in rows:
            by_account[centre_id][account] = total or ZERO
        costs = (
            Posting.objects.spending()
            .filter(cost_centre_id__in=centre_ids, booking_date__lt=month_start(today))
            .monthly_totals(by="cost_centre")
        )
        codes = {grant.cost_centre_id: grant.code for grant in grants if grant.cost_centre_id}
        centre_by_code = {code: centre_id for centre_id, code in codes.items()}
        for month, totals in costs.items():
            for code, total in totals.items():
                if code in centre_by_code:
                    monthly[centre_by_code[code]][month] = total
    return [
        _grant_figures(
            grant, by_account.get(grant.cost_centre_id, {}), monthly.get(grant.cost_centre_id, {}), today
        )
        for grant in grants
    ]


def grant_figures(grant: Grant, *, today: datetime.date | None = None) -> GrantFigures:
    return grants_figures(Grant.objects.filter(pk=grant.pk), today=today)[0]


def _grant_figures(
    grant: Grant, by_account: dict[str, Decimal], monthly: dict[datetime.date, Decimal], today: datetime.date
) -> GrantFigures:
    actual: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account, total in by_account.items():
        if account == GRANT_INCOME_ACCOUNT:
            continue
        actual[ACCOUNT_CATEGORY.get(account, CostCategory.OTHER)] += total
    direct = sum((actual[category] for category in DIRECT_CATEGORIES), ZERO)
    rate = grant.indirect_cost_rate or ZERO
    indirect = indirect_costs(
        direct={category: actual[category] for category in DIRECT_CATEGORIES}, rate=rate
    )
    actual[CostCategory.INDIRECT] = indirect
    budget = {line.category: line.amount for line in grant.budget_lines.all()}
    labels = dict(CostCategory.choices)
    categories = [
        CategoryFigure(
            category=category,
            label=str(labels[category]),
            budget=budget.get(category, ZERO),
            actual=actual[category],
            currency=grant.currency,
        )
        for category in CostCategory.values
        if category in budget or actual[category]
    ]
    burn_months = _burn_months(grant, monthly, today)
    burn_direct = sum((monthly.get(month, ZERO) for month in burn_months), ZERO)
    burn_rate = ZERO
    if burn_months:
        burn_rate = (burn_direct * (HUNDRED + rate) / HUNDRED / len(burn_months)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    milestones = list(grant.milestones.all())
    for milestone in milestones:
        milestone.amount_display = money(milestone.payable_amount, grant.currency)
    return GrantFigures(
        grant=grant,
        categories=categories,
        budget_total=sum(budget.values(), ZERO) if budget else grant.awarded_amount,
        direct_actual=direct,
        indirect_actual=indirect,
        income_received=-by_account.get(GRANT_INCOME_ACCOUNT, ZERO),
        burn_rate=burn_rate,
        burn_months=burn_months,
        milestones=milestones,
        today=today,
    )


def _burn_months(grant: Grant, monthly: dict[datetime.date, Decimal], today: datetime.date) -> list:
    """Up to three complete months ending with the latest complete month that has costs, not before the
    grant's first month."""
    with_costs = [month for month, total in monthly.items() if total and month < month_start(today)]
    if not with_costs:
        return []
    last = max(with_costs)
    first = max(_add_months(last, 1 - BURN_RATE_MONTHS), month_start(grant.start_date))
    return _month_range(min(first, last), last)


# --- The organisation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigure:
    month: datetime.date
    spending: Decimal
    cash: Decimal  # at the month's end

    @property
    def month_display(self) -> str:
        return format_month(self.month)

    @property
    def spending_display(self) -> str:
        return money(self.spending)

    @property
    def cash_display(self) -> str:
        return money(self.cash)


@dataclass
class OrganisationFigures:
    today: datetime.date
    cash: Decimal
    average_spending: Decimal
    average_months: list[datetime.date]
    months: list[MonthFigure] = field(default_factory=list)

    @property
    def runway_months(self) -> Decimal | None:
        """Cash / average monthly spending; None when nothing is spent."""
        if self.average_spending <= 0:
            return None
        return max(self.cash / self.average_spending, ZERO).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def cash_display(self) -> str:
        return money(self.cash)

    @property
    def average_spending_display(self) -> str:
        return money(self.average_spending)

    @property
    def runway_display(self) -> str:
        return "" if self.runway_months is None else number(self.runway_months)

    @property
    def average_period_display(self) -> str:
        if not self.average_months:
            return ""
        if len(self.average_months) == 1:
            return format_month(self.average_months[0])
        return format_period(self.average_months[0], self.average_months[-1])


def organisation_figures(*, today: datetime.date | None = None) -> OrganisationFigures:
    """Cash today, spending per month (12 complete months, with cash at each month's end), the average
    monthly spending of the last 6 complete months (fewer when spending began more recently) and the runway.
    Two queries."""
    today = today or timezone.localdate()
    this_month = month_start(today)
    chart_start = _add_months(this_month, -CHART_MONTHS)
    totals = Posting.objects.filter(booking_date__lte=today).aggregate(
        cash=Sum("amount", filter=Q(account__category="cash")),
        first_spending=Min("booking_date", filter=Q(account__kind="expense")),
    )
    cash = totals["cash"] or ZERO
    by_month = (
        Posting.objects.filter(Q(account__kind="expense") | Q(account__category="cash"))
        .filter(booking_date__gte=chart_start, booking_date__lte=today)
        .monthly_totals(by="category")
    )
    spending = {
        month: sum((total for category, total in values.items() if category != "cash"), ZERO)
        for month, values in by_month.items()
    }
    cash_change = {month: values.get("cash", ZERO) for month, values in by_month.items()}

    months = []
    for month in _month_range(chart_start, _add_months(this_month, -1)):
        later = sum((change for key, change in cash_change.items() if key > month), ZERO)
        months.append(MonthFigure(month=month, spending=spending.get(month, ZERO), cash=cash - later))

    average_months: list[datetime.date] = []
    first = totals["first_spending"]
    if first is not None and month_start(first) < this_month:
        start = max(_add_months(this_month, -AVERAGE_SPENDING_MONTHS), month_start(first))
        average_months = _month_range(start, _add_months(this_month, -1))
    average = ZERO
    if average_months:
        total = sum((spending.get(month, ZERO) for month in average_months), ZERO)
        average = (total / len(average_months)).quantize(CENT, rounding=ROUND_HALF_UP)
    return OrganisationFigures(
        today=today, cash=cash, average_spending=average, average_months=average_months, months=months
    )


# --- Charts (SVG) ---------------------------------------------------------------------------------

CHART_WIDTH = 640


def _n(value: float) -> str:
    """A coordinate for SVG: a dot as decimal mark whatever the language, one place at most."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(template: str, chart: dict) -> SafeString:
    # Rendered by the template engine, which escaped every text; coordinates are preformatted strings.
    return mark_safe(render_to_string(template, {"chart": chart}).strip())  # noqa: S308


def budget_chart(figures: GrantFigures) -> SafeString:
    """Horizontal bars, one per category: the budget as an outlined bar, the actual as a filled bar inside it;
    spending beyond the budget as a hatched bar past the budget's end, and “over budget by …” in words."""
    rows = figures.categories
    if not rows:
        return mark_safe("")
    chart_id = f"grant-{figures.grant.pk}-budget"
    legend_height, row_height, bar_height, inner_height = 34, 44, 24, 12
    label_right, bar_x, bar_width = 164, 172, 280
    value_x = bar_x + bar_width + 12
    scale = max([row.budget for row in rows] + [row.actual for row in rows] + [Decimal("1")])

    def width(value: Decimal) -> float:
        return float(max(value, ZERO) / scale) * bar_width

    drawn = []
    for index, row in enumerate(rows):
        top = legend_height + index * row_height
        budget_width = width(row.budget)
        inside_width = width(min(row.actual, row.budget))
        over_width = width(row.actual) - budget_width if row.overspent else 0.0
        used = row.used_percent
        if row.overspent:
            note = gettext("Over budget by %(amount)s") % {
                "amount": money(row.over_by, row.currency, cents=False)
            }
        elif used is not None:
            note = gettext("%(percent)s %% used") % {"percent": number(used)}
        else:
            note = ""
        drawn.append(
            {
                "label": row.label,
                "label_y": _n(top + bar_height / 2 + 4),
                "budget_x": _n(bar_x),
                "budget_y": _n(top),
                "budget_width": _n(max(budget_width, 0.0)),
                "bar_height": _n(bar_height),
                "has_budget": row.budget > 0,
                "inside_y": _n(top + (bar_height - inner_height) / 2),
                "inside_width": _n(inside_width),
                "inner_height": _n(inner_height),
                "has_inside": inside_width > 0,
                "over": row.overspent,
                "over_x": _n(bar_x + budget_width),
                "over_width": _n(max(over_width, 1.0)),
                "marker_x": _n(bar_x + budget_width),
                "marker_top": _n(top - 3),
                "marker_bottom": _n(top + bar_height + 3),
                "value_x": _n(value_x),
                "value_y": _n(top + 10),
                "note_y": _n(top + 25),
                "value": gettext("%(actual)s of %(budget)s")
                % {
                    "actual": money(row.actual, row.currency, cents=False),
                    "budget": money(row.budget, row.currency, cents=False),
                },
                "note": note,
            }
        )
    descriptions = []
    for row in rows:
        text = gettext("%(category)s: %(actual)s spent of a budget of %(budget)s") % {
            "category": row.label,
            "actual": money(row.actual, row.currency, cents=False),
            "budget": money(row.budget, row.currency, cents=False),
        }
        if row.overspent:
            text += ", " + gettext("over budget by %(amount)s") % {
                "amount": money(row.over_by, row.currency, cents=False)
            }
        descriptions.append(text)
    chart = {
        "id": chart_id,
        "width": CHART_WIDTH,
        "height": legend_height + len(rows) * row_height,
        "title": gettext("Budget against actual by category: %(grant)s") % {"grant": figures.grant.title},
        "description": "; ".join(descriptions) + ".",
        "label_right": _n(label_right),
        "rows": drawn,
    }
    return _svg("grants/charts/budget.svg", chart)


MILESTONE_SHAPES = {
    MilestoneState.PLANNED: "circle-open",
    MilestoneState.IN_PROGRESS: "diamond",
    MilestoneState.SUBMITTED: "triangle",
    MilestoneState.ACCEPTED: "square",
    MilestoneState.PAID: "circle-check",
    "overdue": "alert",
}


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def milestone_chart(figures: GrantFigures) -> SafeString:
    """The grant's period as a time axis with month ticks and a “today” line; each milestone on its own row
    at its due date, its state shown by shape, colour and in words, overdue ones marked."""
    grant, today = figures.grant, figures.today
    milestones = figures.milestones
    if not milestones:
        return mark_safe("")
    left, right = 24, CHART_WIDTH - 24
    axis_y, first_row, row_height = 44, 74, 30
    span = max((grant.end_date - grant.start_date).days, 1)

    def x(day: datetime.date) -> float:
        offset = min(max((day - grant.start_date).days, 0), span)
        return left + (right - left) * offset / span

    month_starts = [
        month for month in _month_range(grant.start_date, grant.end_date) if month >= grant.start_date
    ]
    count = len(month_starts)
    step = 1 if count <= 12 else 2 if count <= 24 else 3 if count <= 36 else 6
    ticks = [
        {"x": _n(x(month)), "label": format_month(month, short=True)} for month in month_starts[::step]
    ] or [{"x": _n(x(grant.start_date)), "label": format_month(grant.start_date, short=True)}]
    labels = dict(MilestoneState.choices)
    height = first_row + len(milestones) * row_height + 6  # the last row, then the “today” label
    rows = []
    for index, milestone in enumerate(milestones):
        overdue = milestone.is_overdue
        key = "overdue" if overdue else milestone.state
        state = gettext("overdue") if overdue else str(labels[milestone.state])
        centre_x, centre_y = x(milestone.due_date), first_row + index * row_height
        text_right = centre_x < (left + right) / 2
        rows.append(
            {
                "shape": MILESTONE_SHAPES[key],
                "key": key,
                "overdue": overdue,
                "x": _n(centre_x),
                "y": _n(centre_y),
                "left": _n(centre_x - 7),
                "right": _n(centre_x + 7),
                "top": _n(centre_y - 7),
                "bottom": _n(centre_y + 7),
                "square_x": _n(centre_x - 6),
                "square_y": _n(centre_y - 6),
                "check": f"M{_n(centre_x - 3.5)} {_n(centre_y)} l2.5 2.5 l4.5 -5",
                "text_x": _n(centre_x + 12 if text_right else centre_x - 12),
                "text_y": _n(centre_y + 4),
                "anchor": "start" if text_right else "end",
                "guide_y": _n(centre_y),
                "label": f"M{milestone.position} {_truncate(milestone.title, 34)}",
                "state": state,
                "due": format_day(milestone.due_date),
            }
        )
    descriptions = [
        gettext("M%(number)s %(title)s, due %(due)s: %(state)s")
        % {"number": milestone.position, "title": milestone.title, "due": row["due"], "state": row["state"]}
        for row, milestone in zip(rows, milestones, strict=True)
    ]
    shows_today = grant.start_date <= today <= grant.end_date
    intro = gettext("Milestones from %(start)s to %(end)s, today is %(today)s.") % {
        "start": format_day(grant.start_date),
        "end": format_day(grant.end_date),
        "today": format_day(today),
    }
    chart = {
        "id": f"grant-{grant.pk}-milestones",
        "width": CHART_WIDTH,
        "height": height,
        "title": gettext("Milestones on a timeline: %(grant)s") % {"grant": grant.title},
        "description": intro + " " + "; ".join(descriptions) + ".",
        "axis_left": _n(left),
        "axis_right": _n(right),
        "axis_y": _n(axis_y),
        "tick_top": _n(axis_y - 4),
        "tick_bottom": _n(axis_y + 4),
        "tick_label_y": _n(axis_y - 10),
        "ticks": ticks,
        "shows_today": shows_today,
        "today_x": _n(x(today)),
        "today_top": _n(axis_y + 6),
        "today_bottom": _n(height - 20),
        "today_label_y": _n(height - 6),
        "today_anchor": "start" if x(today) < (left + right) / 2 else "end",
        "today_text_x": _n(x(today) + 4 if x(today) < (left + right) / 2 else x(today) - 4),
        "rows": rows,
    }
    return _svg("grants/charts/milestones.svg", chart)


def organisation_chart(figures: OrganisationFigures) -> SafeString:
    """Two panels over the same months: spending per month as bars (with the average as a dashed line), and
    the cash at each month's end as a line with points."""
    months = figures.months
    if not months:
        return mark_safe("")
    left, right = 92, CHART_WIDTH - 12
    slot = (right - left) / len(months)
    bar_width = min(slot * 0.6, 32)
    spend_top, spend_bottom = 34, 170
    cash_top, cash_bottom = 222, 330
    label_y = 350
    spend_max = max([month.spending for month in months] + [figures.average_spending, Decimal("1")])
    cash_values = [month.cash for month in months]
    cash_max = max(cash_values + [Decimal("1")])
    cash_min = min(cash_values + [ZERO])

    def spend_y(value: Decimal) -> float:
        return spend_bottom - float(max(value, ZERO) / spend_max) * (spend_bottom - spend_top)

    def cash_y(value: Decimal) -> float:
        return cash_bottom - float((value - cash_min) / (cash_max - cash_min)) * (cash_bottom - cash_top)

    bars, points = [], []
    for index, month in enumerate(months):
        centre = left + slot * index + slot / 2
        top = spend_y(month.spending)
        bars.append(
            {
                "x": _n(centre - bar_width / 2),
                "y": _n(top),
                "width": _n(bar_width),
                "height": _n(max(spend_bottom - top, 0.0)),
                "label_x": _n(centre),
                "label": format_date(month.month, "MMM", locale=_locale()),
                "year": str(month.month.year) if index == 0 or month.month.month == 1 else "",
            }
        )
        points.append({"x": _n(centre), "y": _n(cash_y(month.cash))})
    average_y = spend_y(figures.average_spending)
    description = "; ".join(
        gettext("%(month)s: spent %(spending)s, cash at the end %(cash)s")
        % {
            "month": format_month(month.month),
            "spending": money(month.spending, cents=False),
            "cash": money(month.cash, cents=False),
        }
        for month in months
    )
    chart = {
        "id": "organisation-spending",
        "width": CHART_WIDTH,
        "height": label_y + 20,
        "title": gettext("Spending per month and cash over the last %(count)s months")
        % {"count": len(months)},
        "description": description + ".",
        "left": _n(left),
        "right": _n(right),
        "axis_label_x": _n(left - 6),
        "spend_heading": gettext("Spending per month"),
        "spend_heading_y": _n(spend_top - 16),
        "spend_top": _n(spend_top),
        "spend_bottom": _n(spend_bottom),
        "spend_max_label": money(spend_max, cents=False),
        "spend_zero_label": money(ZERO, cents=False),
        "shows_average": figures.average_spending > 0,
        "average_y": _n(average_y),
        "average_label": gettext("average %(amount)s")
        % {"amount": money(figures.average_spending, cents=False)},
        "legend_line_left": _n(right - 250),
        "legend_line_right": _n(right - 222),
        "legend_text_x": _n(right - 216),
        "legend_y": _n(spend_top - 20),
        "legend_text_y": _n(spend_top - 16),
        "cash_heading": gettext("Cash at the end of each month"),
        "cash_heading_y": _n(cash_top - 16),
        "cash_top": _n(cash_top),
        "cash_bottom": _n(cash_bottom),
        "cash_max_label": money(cash_max, cents=False),
        "cash_min_label": money(cash_min, cents=False),
        "cash_zero_y": _n(cash_y(ZERO)),
        "shows_cash_zero": cash_min < 0,
        "cash_path": "M" + " L".join(f"{point['x']} {point['y']}" for point in points),
        "label_y": _n(label_y),
        "year_y": _n(label_y + 14),
        "bars": bars,
        "points": points,
    }
    return _svg("grants/charts/organisation.svg", chart)


# --- The public grants page -----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicGrant:
    """A grant as the public grants page shows it: no people, no pay, no costs."""

    title: str
    funder: str
    amount: str
    period: str
    purpose: str
    milestones_total: int
    milestones_done: int
    current: bool

    @property
    def progress_percent(self) -> int:
        if not self.milestones_total:
            return 0
        return round(self.milestones_done * 100 / self.milestones_total)

    @property
    def progress_text(self) -> str:
        return ngettext(
            "%(done)s of %(total)s milestone completed",
            "%(done)s of %(total)s milestones completed",
            self.milestones_total,
        ) % {"done": self.milestones_done, "total": self.milestones_total}


@dataclass(frozen=True)
class PublicGrants:
    current: list[PublicGrant]
    past: list[PublicGrant]

    @property
    def groups(self) -> list[dict]:
        """The page's two sections, each with its heading and what it says when empty."""
        return [
            {
                "key": "current",
                "heading": gettext("Current grants"),
                "grants": self.current,
                "empty": gettext("No grant is running at the moment."),
            },
            {
                "key": "past",
                "heading": gettext("Past grants"),
                "grants": self.past,
                "empty": gettext("No grant has ended yet."),
            },
        ]


def public_grants(*, today: datetime.date | None = None) -> PublicGrants:
    """Awarded, active and closed grants marked public: current ones (newest first), then past ones (ended
    or closed, latest end first). One query."""
    today = today or timezone.localdate()
    grants = (
        Grant.objects.shown_publicly()
        .select_related("funder")
        .only(
            "title",
            "awarded_amount",
            "currency",
            "start_date",
            "end_date",
            "purpose",
            "state",
            "funder__name",
        )
        .annotate(
            milestones_total=Count("milestones"),
            milestones_done=Count("milestones", filter=Q(milestones__state__in=DONE_MILESTONE_STATES)),
        )
        .order_by("-start_date", "title", "pk")
    )
    current, past = [], []
    for grant in grants:
        is_current = grant.state != Grant.State.CLOSED and grant.end_date >= today
        entry = PublicGrant(
            title=grant.title,
            funder=grant.funder.name,
            amount=money(grant.awarded_amount, grant.currency, cents=False),
            period=format_period(grant.start_date, grant.end_date),
            purpose=grant.purpose,
            milestones_total=grant.milestones_total,
            milestones_done=grant.milestones_done,
            current=is_current,
        )
        (current if is_current else past).append((grant.end_date, entry))
    past.sort(key=lambda pair: pair[0], reverse=True)
    return PublicGrants(current=[entry for _end, entry in current], past=[entry for _end, entry in past])
