"""Tax figures for finance (issue 7, point 5): spheres, the §64(3) AO monitor, VAT return and EC sales list.

Read-only. Every money figure comes from the ledger; only the customers' VAT ids of the EC sales list come
from the sponsors' invoices (``Invoice.objects.reverse_charge_issued``), because the ledger knows no
customers.

- ``sphere_figures(year)``: income and spending per tax sphere (1-4) and report category, one GROUP BY.
- ``taxable_receipts(year)``: the gross receipts (VAT included) of the taxable business (sphere 4): the net
  income on sphere-4 income accounts plus the VAT posted in the same transactions (that is how the
  fundraising and sponsors services book a sale: income net, VAT on ``vat-payable-19``). Refunds and credit
  notes reduce both. Compared with ``TAXABLE_BUSINESS_LIMIT`` (45,000 EUR, §64(3) AO).
- ``threshold_check(year=None)``: records and e-mails the 80 % and 100 % alerts, once per year and level
  (the unique constraint of ``ThresholdAlert`` decides, also when two workers race).
- ``vat_return(period)``: the figures of the Umsatzsteuer-Voranmeldung for a month or a quarter.
- ``ec_sales_list(year, quarter)``: the Zusammenfassende Meldung: reverse-charge sales per customer VAT id.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledger.models import Account, Posting, TaxSphere
from ledger.querysets import month_end

from .figures import IncomeAndSpending
from .models import ThresholdAlert

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
EURO = Decimal("1")
DEFAULT_TAXABLE_BUSINESS_LIMIT = Decimal("45000.00")
ALERT_LEVELS = (80, 100)  # percent of the §64(3) AO limit

INCOME = Account.Kind.INCOME
EXPENSE = Account.Kind.EXPENSE
TAX = Account.Category.TAX

# Income accounts whose sales the VAT return lists in fields of their own (ledger/migrations/0002).
REVERSE_CHARGE_ACCOUNTS = ("income-sponsorship-reverse-charge",)  # Kz 21: EU services, reverse charge
NON_EU_ACCOUNTS = ("income-sponsorship-non-eu",)  # Kz 45: not taxable here (place of supply abroad)

# Fields of the Umsatzsteuer-Voranmeldung for taxable sales at a rate (the base, in whole euros).
RATE_FIELDS = {Decimal("19.00"): "81", Decimal("7.00"): "86"}
OTHER_RATES_FIELD = "35"  # "Umsätze, die anderen Steuersätzen unterliegen" (base; tax in Kz 36)
REVERSE_CHARGE_FIELD = "21"
NON_EU_FIELD = "45"
INPUT_VAT_FIELD = "66"

INCOME_CATEGORIES = Account.Category.for_kind(INCOME)
SPENDING_CATEGORIES = Account.Category.for_kind(EXPENSE)


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(CENT)


def year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


# --- Spheres ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SphereColumn(IncomeAndSpending):
    """One tax sphere's income and spending in a year, by report category (every category present)."""

    sphere: int
    income: dict[str, Decimal]
    spending: dict[str, Decimal]

    @property
    def label(self) -> str:
        return str(TaxSphere(self.sphere).label)


@dataclass(frozen=True)
class SphereFigures:
    year: int
    spheres: list[SphereColumn]  # spheres 1-4, in order

    def sphere(self, number: int) -> SphereColumn:
        return self.spheres[number - 1]

    @property
    def income_total(self) -> Decimal:
        return sum((column.income_total for column in self.spheres), ZERO)

    @property
    def spending_total(self) -> Decimal:
        return sum((column.spending_total for column in self.spheres), ZERO)

    @property
    def result(self) -> Decimal:
        return self.income_total - self.spending_total

    def income_by_category(self, category: str) -> list[Decimal]:
        return [column.income[category] for column in self.spheres]

    def spending_by_category(self, category: str) -> list[Decimal]:
        return [column.spending[category] for column in self.spheres]


def sphere_figures(year: int) -> SphereFigures:
    """Income and spending per tax sphere and report category in ``year``: one GROUP BY over the year's
    postings on income and expense accounts. Income is shown positive (credits), spending positive
    (debits); a refund reduces its category."""
    start, end = year_bounds(year)
    rows = (
        Posting.objects.between(start, end)
        .filter(account__kind__in=[INCOME, EXPENSE])
        .order_by()
        .values("account__tax_sphere", "account__kind", "account__category")
        .annotate(total=Sum("amount"))
        .values_list("account__tax_sphere", "account__kind", "account__category", "total")
    )
    income = {sphere: dict.fromkeys(INCOME_CATEGORIES, ZERO) for sphere in TaxSphere.values}
    spending = {sphere: dict.fromkeys(SPENDING_CATEGORIES, ZERO) for sphere in TaxSphere.values}
    for sphere, kind, category, total in rows:
        if kind == INCOME:
            income[sphere][category] += -_money(total)
        else:
            spending[sphere][category] += _money(total)
    return SphereFigures(
        year=year,
        spheres=[
            SphereColumn(sphere=sphere, income=income[sphere], spending=spending[sphere])
            for sphere in TaxSphere.values
        ],
    )


# --- §64(3) AO monitor -----------------------------------------------------------------------------


def taxable_business_limit() -> Decimal:
    """The §64(3) AO limit of the taxable business's gross receipts per year (setting, 45,000 EUR)."""
    value = getattr(settings, "TAXABLE_BUSINESS_LIMIT", DEFAULT_TAXABLE_BUSINESS_LIMIT)
    return Decimal(str(value)).quantize(CENT)


@dataclass(frozen=True)
class TaxableReceipts:
    """The taxable business's receipts in a year so far: net income, the VAT booked with it, gross."""

    year: int
    net: Decimal
    vat: Decimal
    limit: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    @property
    def share(self) -> Decimal:
        """Gross receipts as a percentage of the limit, one decimal."""
        if self.limit <= 0:
            return Decimal("0.0")
        return (self.gross * 100 / self.limit).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def remaining(self) -> Decimal:
        return self.limit - self.gross

    def reached(self, level: int) -> bool:
        return self.gross * 100 >= self.limit * level


def taxable_receipts_breakdown(year: int) -> TaxableReceipts:
    """Net income on sphere-4 income accounts in ``year`` and the VAT posted in the same transactions.

    One query: the year's postings that are sphere-4 income, or on a tax account in a transaction that
    has sphere-4 income (a payment of VAT to the tax office touches no income and is left out).
    """
    start, end = year_bounds(year)
    taxable_income = Q(account__kind=INCOME, account__tax_sphere=TaxSphere.TAXABLE_BUSINESS)
    with_taxable_income = Exists(
        Posting.objects.filter(
            transaction=OuterRef("transaction"),
            account__kind=INCOME,
            account__tax_sphere=TaxSphere.TAXABLE_BUSINESS,
        )
    )
    sums = (
        Posting.objects.between(start, end)
        .filter(taxable_income | (Q(account__category=TAX) & with_taxable_income))
        .aggregate(
            net=Sum("amount", filter=Q(account__kind=INCOME)),
            vat=Sum("amount", filter=Q(account__category=TAX)),
        )
    )
    return TaxableReceipts(
        year=year, net=-_money(sums["net"]), vat=-_money(sums["vat"]), limit=taxable_business_limit()
    )


def taxable_receipts(year: int) -> Decimal:
    """The gross receipts (VAT included) of the taxable business (sphere 4) in ``year`` so far."""
    return taxable_receipts_breakdown(year).gross


def _alert_send(*, receipts: TaxableReceipts, level: int) -> None:
    from accounts.alerts import alert_finance

    if level >= 100:
        subject = gettext("§64 AO: the taxable business passed %(limit)s EUR in %(year)s") % {
            "limit": receipts.limit,
            "year": receipts.year,
        }
        consequence = gettext(
            "Above the limit the taxable business owes corporate and trade tax for the whole year. "
            "Tell the tax adviser."
        )
    else:
        subject = gettext("§64 AO: the taxable business reached %(level)s %% of the limit in %(year)s") % {
            "level": level,
            "year": receipts.year,
        }
        consequence = gettext(
            "Above %(limit)s EUR the taxable business owes corporate and trade tax for the whole year. "
            "Plan with the tax adviser now."
        ) % {"limit": receipts.limit}
    message = "\n\n".join(
        [
            gettext(
                "The gross receipts (VAT included) of the taxable business (sphere 4) in %(year)s are "
                "%(gross)s EUR so far: %(share)s %% of the limit of %(limit)s EUR under §64(3) AO "
                "(net %(net)s EUR, VAT %(vat)s EUR)."
            )
            % {
                "year": receipts.year,
                "gross": receipts.gross,
                "share": receipts.share,
                "limit": receipts.limit,
                "net": receipts.net,
                "vat": receipts.vat,
            },
            consequence,
            gettext("The monitor is the admin screen “Tax spheres” (/admin/reports/tax/spheres/)."),
        ]
    )
    alert_finance(subject=subject, message=message)


def _year_check(year: int) -> list[ThresholdAlert]:
    receipts = taxable_receipts_breakdown(year)
    created: list[ThresholdAlert] = []
    for level in ALERT_LEVELS:
        if not receipts.reached(level):
            break
        try:
            # The unique (year, level) constraint decides who sends: a second run, or a worker racing this
            # one, fails the insert and sends nothing.
            with transaction.atomic():
                alert = ThresholdAlert.objects.create(year=year, level=level, receipts=receipts.gross)
        except IntegrityError:
            continue
        created.append(alert)
    if created:
        # One e-mail per run, for the highest level newly reached (a jump past 100 % says so once).
        _alert_send(receipts=receipts, level=created[-1].level)
        logger.warning(
            "reports: §64 AO alert %s %% for %s (gross receipts %s EUR)",
            created[-1].level,
            year,
            receipts.gross,
        )
    return created


def threshold_check(year: int | None = None) -> list[ThresholdAlert]:
    """Record and e-mail to finance the §64(3) AO alerts newly reached (80 %, 100 %); returns them.

    Without ``year``: the current year, and in January also the year before (its late bookings).
    Safe to run any number of times and in parallel: each year and level is alerted once.
    """
    if year is not None:
        return _year_check(year)
    today = timezone.localdate()
    years = [today.year - 1, today.year] if today.month == 1 else [today.year]
    return [alert for checked in years for alert in _year_check(checked)]


# --- VAT return (Umsatzsteuer-Voranmeldung) --------------------------------------------------------


@dataclass(frozen=True)
class TaxPeriod:
    """A month or a quarter of a year, the periods of the VAT return and the EC sales list."""

    year: int
    month: int | None = None
    quarter: int | None = None

    def __post_init__(self):
        if not 1 <= self.year <= 9999:
            raise ValueError(f"No such year: {self.year}")
        if (self.month is None) == (self.quarter is None):
            raise ValueError("A tax period is either a month or a quarter.")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError(f"No such month: {self.month}")
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            raise ValueError(f"No such quarter: {self.quarter}")

    @property
    def start(self) -> datetime.date:
        first_month = self.month if self.month is not None else 3 * self.quarter - 2
        return datetime.date(self.year, first_month, 1)

    @property
    def end(self) -> datetime.date:
        last_month = self.month if self.month is not None else 3 * self.quarter
        return month_end(datetime.date(self.year, last_month, 1))

    @property
    def label(self) -> str:
        if self.month is not None:
            return f"{self.year}-{self.month:02d}"
        return f"{self.year} Q{self.quarter}"

    @property
    def slug(self) -> str:
        if self.month is not None:
            return f"{self.year}-{self.month:02d}"
        return f"{self.year}-Q{self.quarter}"


@dataclass(frozen=True)
class RateSales:
    """Taxable sales at one VAT rate: the net base and the VAT booked on the rate's tax accounts."""

    rate: Decimal
    base: Decimal
    vat_booked: Decimal

    @property
    def field(self) -> str:
        return RATE_FIELDS.get(self.rate, OTHER_RATES_FIELD)

    @property
    def base_whole(self) -> int:
        """The base in whole euros as the return takes it (cents dropped)."""
        return int(self.base.to_integral_value(rounding=ROUND_DOWN))

    @property
    def vat_at_rate(self) -> Decimal:
        """The VAT the return computes: the whole-euro base times the rate."""
        return (Decimal(self.base_whole) * self.rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxAccountMovement:
    code: str
    name: str
    datev_number: str
    kind: str
    amount: Decimal  # output VAT positive (credit), input VAT positive (debit)


@dataclass(frozen=True)
class VatReturn:
    period: TaxPeriod
    sales_by_rate: list[RateSales]
    tax_accounts: list[TaxAccountMovement]
    reverse_charge: Decimal  # Kz 21
    non_eu: Decimal  # Kz 45
    untaxed_by_sphere: dict[int, Decimal]  # income without VAT, per sphere (not in the return)

    @property
    def vat_payable(self) -> Decimal:
        """Output VAT booked in the period (net of refunds): the movement on the VAT payable accounts."""
        return sum((item.amount for item in self.tax_accounts if item.kind != Account.Kind.ASSET), ZERO)

    @property
    def input_vat(self) -> Decimal:
        """Input VAT (Vorsteuer, Kz 66) booked on tax accounts that are assets; none in the default chart."""
        return sum((item.amount for item in self.tax_accounts if item.kind == Account.Kind.ASSET), ZERO)

    @property
    def balance(self) -> Decimal:
        """What the period owes the tax office (negative: a refund)."""
        return self.vat_payable - self.input_vat

    @property
    def taxable_base_total(self) -> Decimal:
        return sum((item.base for item in self.sales_by_rate), ZERO)

    @property
    def reverse_charge_whole(self) -> int:
        return int(self.reverse_charge.to_integral_value(rounding=ROUND_DOWN))

    @property
    def non_eu_whole(self) -> int:
        return int(self.non_eu.to_integral_value(rounding=ROUND_DOWN))

    @property
    def untaxed_total(self) -> Decimal:
        return sum(self.untaxed_by_sphere.values(), ZERO)


def vat_return(period: TaxPeriod) -> VatReturn:
    """The figures of the VAT return for ``period``, from one GROUP BY over its postings per account.

    - Taxable sales by rate: net income on accounts with a VAT rate (refunds reduce it); Kz 81 (19 %),
      Kz 86 (7 %).
    - VAT payable: the movement on tax accounts in transactions that touch income or expense (a sale, a
      refund, a credit note), so the monthly payment of VAT to the tax office does not cancel it out.
    - Reverse-charge EU sales (Kz 21) and non-EU sales (Kz 45) from their income accounts.
    - Income without VAT per sphere, for information (donations, grants: not in the return).
    """
    with_result = Exists(
        Posting.objects.filter(transaction=OuterRef("transaction"), account__kind__in=[INCOME, EXPENSE])
    )
    rows = (
        Posting.objects.between(period.start, period.end)
        .filter(Q(account__kind=INCOME) | Q(account__category=TAX))
        .annotate(with_result=with_result)
        .order_by()
        .values(
            "account__code",
            "account__name",
            "account__datev_number",
            "account__kind",
            "account__category",
            "account__tax_sphere",
            "account__vat_rate",
            "with_result",
        )
        .annotate(total=Sum("amount"))
    )
    base_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    vat_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    tax_accounts: dict[str, dict] = {}
    reverse_charge = non_eu = ZERO
    untaxed = dict.fromkeys(TaxSphere.values, ZERO)
    for row in rows:
        total = _money(row["total"])
        code, rate = row["account__code"], row["account__vat_rate"]
        if row["account__category"] == TAX:
            if not row["with_result"]:
                continue
            kind = row["account__kind"]
            amount = total if kind == Account.Kind.ASSET else -total
            entry = tax_accounts.setdefault(
                code,
                {
                    "code": code,
                    "name": row["account__name"],
                    "datev_number": row["account__datev_number"],
                    "kind": kind,
                    "amount": ZERO,
                },
            )
            entry["amount"] += amount
            if rate and kind != Account.Kind.ASSET:
                vat_by_rate[Decimal(rate).quantize(CENT)] += amount
            continue
        income = -total
        if code in REVERSE_CHARGE_ACCOUNTS:
            reverse_charge += income
        elif code in NON_EU_ACCOUNTS:
            non_eu += income
        elif rate:
            base_by_rate[Decimal(rate).quantize(CENT)] += income
        else:
            untaxed[row["account__tax_sphere"]] += income
    rates = sorted(set(base_by_rate) | set(vat_by_rate), reverse=True)
    return VatReturn(
        period=period,
        sales_by_rate=[
            RateSales(rate=rate, base=base_by_rate[rate], vat_booked=vat_by_rate[rate]) for rate in rates
        ],
        tax_accounts=[TaxAccountMovement(**tax_accounts[code]) for code in sorted(tax_accounts)],
        reverse_charge=reverse_charge,
        non_eu=non_eu,
        untaxed_by_sphere=untaxed,
    )


# --- EC sales list (Zusammenfassende Meldung) ------------------------------------------------------


@dataclass
class EcSalesLine:
    """One customer VAT id's reverse-charge sales of a quarter (credit notes subtract)."""

    country_code: str
    vat_number: str
    amount: Decimal = ZERO
    documents: list[str] = field(default_factory=list)

    @property
    def vat_id(self) -> str:
        return f"{self.country_code}{self.vat_number}"

    @property
    def amount_whole(self) -> int:
        """The sum in whole euros, rounded half up, as the EC sales list takes it."""
        return int(self.amount.quantize(EURO, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class EcSalesList:
    period: TaxPeriod
    lines: list[EcSalesLine]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def total_whole(self) -> int:
        return sum(line.amount_whole for line in self.lines)


EC_SALES_LIST_NOTE = _(
    "Each reverse-charge invoice counts in the quarter of its invoice date. §18a UStG takes a service in the "
    "period in which it was rendered; a sponsorship is invoiced when it starts, so check sponsorships that run "
    "over several quarters with the tax adviser. A credit note subtracts in the quarter it is issued. Amounts "
    "are net, summed per customer VAT id and rounded half up to whole euros."
)


def ec_sales_list(year: int, quarter: int) -> EcSalesList:
    """Reverse-charge sales per customer VAT id in a quarter, by invoice date (sponsors' invoices)."""
    from sponsors.models import Invoice

    period = TaxPeriod(year=year, quarter=quarter)
    documents = (
        Invoice.objects.reverse_charge_issued(start=period.start, end=period.end)
        .order_by("issue_date", "number")
        .values_list("number", "kind", "net_amount", "buyer")
    )
    lines: dict[str, EcSalesLine] = {}
    for number, kind, net, buyer in documents:
        vat_id = "".join(str((buyer or {}).get("vat_id", "")).split()).upper()
        country, rest = vat_id[:2], vat_id[2:]
        if not vat_id:
            country, rest = str((buyer or {}).get("country", "")).upper(), ""
        line = lines.setdefault(vat_id, EcSalesLine(country_code=country, vat_number=rest))
        amount = _money(net)
        line.amount += -amount if kind == Invoice.Kind.CREDIT_NOTE else amount
        line.documents.append(number)
    return EcSalesList(period=period, lines=[lines[key] for key in sorted(lines)])
