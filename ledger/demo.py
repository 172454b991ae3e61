"""Demo books: 24 months of ledger activity shaped like Mastodon gGmbH's published finances.

``seed()`` posts through ``ledger.services.transaction_post`` only, with idempotency keys like
``demo:patrons:2025-03``, so running it twice posts nothing new. A kind named in ``real_kinds`` is
not generated: a domain app seeds it for real through its own services, and nothing is counted
twice. Random figures come from the given ``rng`` alone, and every figure is drawn whether or not
its kind is skipped, so the remaining kinds keep the same figures whatever ``real_kinds`` holds.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from .models import CostCentre, Transaction
from .querysets import month_start
from .services import PostingLine, ledger_month_close, transaction_post

DEMO_KINDS = frozenset(
    {"patrons", "donations", "sponsorships", "grants", "personnel", "freelancers", "hosting", "payment_fees"}
)
MONTHS = 24
CENT = Decimal("0.01")
VAT_RATE = Decimal("0.19")
PERK_SHARE = Decimal("0.35")  # share of patron income from perk tiers (taxable, sphere 4)
STRIPE_FEE_RATE = Decimal("0.025")
SOCIAL_COST_RATE = Decimal("0.21")  # employer's statutory social costs on top of gross pay
GRANT_PERSONNEL_SHARE = Decimal("0.25")  # part of personnel charged to a running grant
OPENING_BANK_BALANCE = Decimal("320000.00")

# Demo grant cost centres: code, name, milestone months (index into the 24-month window).
DEMO_GRANTS = [
    ("NGI0-2025", "NGI Zero Core 2025 (demo)", (2, 8, 14)),
    ("STF-2026", "Sovereign Tech Fund 2026 (demo)", (12, 18, 23)),
]


def _euros(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount from ``low`` to ``high`` EUR, in cents, as an exact Decimal."""
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def window(today: datetime.date) -> list[datetime.date]:
    """The first days of the 24 months ending with the last complete month before ``today``."""
    month = month_start(month_start(today) - datetime.timedelta(days=1))
    months = []
    for _ in range(MONTHS):
        months.append(month)
        month = month_start(month - datetime.timedelta(days=1))
    return list(reversed(months))


def seed(
    *, rng: random.Random, today: datetime.date, real_kinds: set[str], log: Callable[[str], None]
) -> None:
    unknown = set(real_kinds) - DEMO_KINDS
    if unknown:
        log(f"ledger demo: ignoring unknown kinds {', '.join(sorted(unknown))}")
    generated = DEMO_KINDS - set(real_kinds)
    months = window(today)

    # The demo grant cost centres are made only when generated postings use them: when a domain app seeds
    # grants and personnel for real, its grants bring their own cost centres.
    grant_centres = {}
    if generated & {"grants", "personnel"}:
        for code, name, _milestones in DEMO_GRANTS:
            grant_centres[code], _ = CostCentre.objects.get_or_create(
                code=code, defaults={"name": name, "kind": CostCentre.Kind.GRANT}
            )

    demo_transactions = Transaction.objects.filter(idempotency_key__startswith="demo:")
    already_there = demo_transactions.count()

    def post(
        kind: str | None, key: str, day: datetime.date, description: str, lines: list[PostingLine]
    ) -> None:
        if kind is not None and kind not in generated:
            return
        transaction_post(
            booking_date=day,
            description=description,
            idempotency_key=key,
            source_reference="demo",
            lines=lines,
        )

    post(
        None,
        "demo:opening_balance",
        months[0],
        "Opening balance (demo)",
        [PostingLine("bank", OPENING_BANK_BALANCE), PostingLine("opening-balances", -OPENING_BANK_BALANCE)],
    )

    vat_due = Decimal("0.00")  # VAT of the previous month, paid to the tax office on the 10th
    for index, month in enumerate(months):
        label = f"{month:%Y-%m}"
        growth = Decimal(index) / (MONTHS - 1)
        day = month.replace

        if vat_due:
            post(
                None,
                f"demo:vat_payment:{label}",
                day(day=10),
                "VAT return: payment to the tax office (demo)",
                [PostingLine("vat-payable-19", vat_due), PostingLine("bank", -vat_due)],
            )
        vat_due = Decimal("0.00")

        # Patrons: 25-30k a month through Stripe, growing slowly; perk tiers carry 19 % VAT.
        patrons_gross = _round(Decimal(25000) + Decimal(5000) * growth) + _euros(rng, -800, 800)
        perks_gross = _round(patrons_gross * PERK_SHARE)
        perks_net = _round(perks_gross / (1 + VAT_RATE))
        perks_vat = perks_gross - perks_net
        post(
            "patrons",
            f"demo:patrons:{label}",
            day(day=28),
            f"Patron payments {label} (demo)",
            [
                PostingLine("stripe", patrons_gross),
                PostingLine("income-patrons-no-perks", -(patrons_gross - perks_gross)),
                PostingLine("income-patrons-perks", -perks_net),
                PostingLine("vat-payable-19", -perks_vat),
            ],
        )
        if "patrons" in generated:
            vat_due += perks_vat

        # One-off donations: 2-5k, with a December peak.
        donations = _euros(rng, 2000, 5000)
        if month.month == 12:
            donations = _round(donations * Decimal("2.5"))
        post(
            "donations",
            f"demo:donations:{label}",
            day(day=15),
            f"One-off donations {label} (demo)",
            [PostingLine("stripe", donations), PostingLine("income-donations", -donations)],
        )

        # Stripe fees (~2.5 % of what came in through Stripe) and the payout to the bank.
        stripe_income = (patrons_gross if "patrons" in generated else 0) + (
            donations if "donations" in generated else 0
        )
        fee_rate = STRIPE_FEE_RATE + Decimal(rng.randint(-20, 20)) / 10000
        fees = _round(stripe_income * fee_rate)
        if fees:
            post(
                "payment_fees",
                f"demo:payment_fees:{label}",
                day(day=28),
                f"Stripe fees {label} (demo)",
                [PostingLine("expense-payment-fees", fees), PostingLine("stripe", -fees)],
            )
        payout = stripe_income - (fees if "payment_fees" in generated else 0)
        if payout > 0:
            post(
                None,
                f"demo:stripe_payout:{label}",
                day(day=28),
                f"Stripe payout {label} (demo)",
                [PostingLine("bank", payout), PostingLine("stripe", -payout)],
            )

        # Sponsorships: a few 1-5k payments a quarter, with 19 % VAT (logo with link).
        for number in range(1, rng.choice([0, 1, 1, 2]) + 1):
            net = Decimal(rng.randrange(1000, 5001, 250))
            vat = _round(net * VAT_RATE)
            post(
                "sponsorships",
                f"demo:sponsorships:{label}:{number}",
                day(day=min(27, 5 + 7 * number)),
                f"Sponsorship payment {label} #{number} (demo)",
                [
                    PostingLine("bank", net + vat),
                    PostingLine("income-sponsorship-vat", -net),
                    PostingLine("vat-payable-19", -vat),
                ],
            )
            if "sponsorships" in generated:
                vat_due += vat

        # Grants: large milestone payments booked on the grant's cost centre.
        running_grants = []
        for code, name, milestones in DEMO_GRANTS:
            if milestones[0] <= index <= milestones[-1]:
                running_grants.append(code)
            if index in milestones:
                amount = Decimal(rng.randint(20, 60) * 1000)
                number = milestones.index(index) + 1
                post(
                    "grants",
                    f"demo:grants:{label}:{code}",
                    day(day=20),
                    f"{name}: milestone {number} paid (demo)",
                    [
                        PostingLine("bank", amount, cost_centre=grant_centres.get(code)),
                        PostingLine("income-grants", -amount, cost_centre=grant_centres.get(code)),
                    ],
                )

        # Personnel: 20-30k gross a month plus social costs; running grants carry a share.
        gross = _round(Decimal(20000) + Decimal(10000) * growth) + _euros(rng, -500, 500)
        shares = {code: GRANT_PERSONNEL_SHARE / len(running_grants) for code in running_grants}
        lines = []
        remaining_gross = gross
        for code, share in shares.items():
            part = _round(gross * share)
            remaining_gross -= part
            lines += _payroll_lines(part, grant_centres.get(code))
        lines += _payroll_lines(remaining_gross, None)
        post("personnel", f"demo:personnel:{label}", day(day=25), f"Salaries {label} (demo)", lines)

        freelancers = _euros(rng, 3000, 10000)
        post(
            "freelancers",
            f"demo:freelancers:{label}",
            day(day=20),
            f"Freelancer invoices {label} (demo)",
            [PostingLine("expense-freelancers", freelancers), PostingLine("bank", -freelancers)],
        )

        hosting = _euros(rng, 3000, 6000)
        post(
            "hosting",
            f"demo:hosting:{label}",
            day(day=5),
            f"Servers and hosting {label} (demo)",
            [PostingLine("expense-hosting", hosting), PostingLine("bank", -hosting)],
        )

    # The last month stays open: its report is a draft for finance to review and publish (reports/demo.py).
    for month in months[:-1]:
        ledger_month_close(month=month)
    posted = demo_transactions.count() - already_there
    log(
        f"ledger demo: {posted} new transactions over {months[0]:%Y-%m}..{months[-1]:%Y-%m} "
        f"({', '.join(sorted(generated)) or 'no kinds'}; real: {', '.join(sorted(real_kinds)) or 'none'}); "
        f"{len(months) - 1} months closed"
    )


def _payroll_lines(gross: Decimal, cost_centre: CostCentre | None) -> list[PostingLine]:
    social = _round(gross * SOCIAL_COST_RATE)
    return [
        PostingLine("expense-salaries", gross, cost_centre=cost_centre),
        PostingLine("expense-social-costs", social, cost_centre=cost_centre),
        PostingLine("bank", -(gross + social), cost_centre=cost_centre),
    ]
