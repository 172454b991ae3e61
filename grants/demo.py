"""Demo grants, people, pay and bills over the 24 months of the demo books (``ledger.demo.window``), made
through ``grants.services`` so the books follow (DOMAIN.md 5, issue 6).

- Funders: NLnet Foundation (NGI Zero), the European Commission (Horizon Europe), the Sovereign Tech Fund
  and a German foundation.
- Grants: a closed foundation grant (two fixed-amount milestones, both paid); two NGI Zero grants with
  fixed-amount milestones (some paid, one accepted and waiting for the money, one submitted, one overdue,
  one due within 14 days); an actual-cost Horizon Europe grant (25 % indirect costs, a budget line per
  category, pre-financing received); a Sovereign Tech Fund grant paid in tranches of 40/45/15 %.
  Requests for payment are issued with ``milestone_request_issue`` and payments recorded with
  ``grant_payment_record``, in date order, so request numbers follow their dates.
- People: four employees (Berlin non-profit salaries, a raise each January, about 21 % employer's social
  costs) and two freelancers with monthly invoices; 24 months of pay, each month allocated across the
  grants running then (``allocations_set``, never above 100 %, varying from month to month) and posted
  (``pay_record_post``). One allocation is corrected afterwards: a reclassification, booked today.
- Bills: Hetzner servers, a CDN and the accountant every month, the test servers of one NGI Zero grant,
  conference travel, laptops, printing, a publication fee and two audits (subcontracting), on the core or
  the grant they serve, each with a small PDF voucher, posted (``bill_post``) and paid (``bill_mark_paid``);
  the accountant's last bill is still open.
- Reminders that the daily task would have sent by today are marked as sent, on the days they stand for.

No e-mails are sent. Runs before the ledger's seeder closes the demo months (ORDER 65 < 100) and provides
the ledger kinds "grants", "personnel", "freelancers" and "hosting", so the ledger invents none of them. A
second run finds the demo grants and adds nothing.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.text import slugify

from ledger.demo import window
from ledger.models import CORE_COST_CENTRE_CODE, CostCentre
from ledger.querysets import month_end

from . import services
from .models import (
    Bill,
    BudgetLine,
    CostCategory,
    Funder,
    Grant,
    GrantDocument,
    GrantPayment,
    Milestone,
    PayRecord,
    Person,
)

ORDER = 65  # after sponsors (60), before the ledger closes the demo months (100)
PROVIDES = frozenset({"grants", "personnel", "freelancers", "hosting"})

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
FINANCE_LOGIN = "finance@example.org"
ADMIN_LOGIN = "admin@example.org"


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(month: datetime.date, count: int) -> datetime.date:
    """The first day of the month ``count`` months after (or before) ``month``."""
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _moment(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


# --- Funders and grants ---------------------------------------------------------------------------

# key, name, kind, country, may be named in the annual report
FUNDERS = [
    ("nlnet", "NLnet Foundation (NGI Zero)", Funder.Kind.FOUNDATION, "NL", True),
    ("ec", "European Commission (Horizon Europe)", Funder.Kind.EU_PROGRAMME, "BE", True),
    ("stf", "Sovereign Tech Fund", Funder.Kind.PUBLIC_BODY, "DE", True),
    ("allmende", "Allmende-Stiftung für digitale Teilhabe", Funder.Kind.FOUNDATION, "DE", False),
]


@dataclass(frozen=True)
class GrantPlan:
    key: str
    funder: str
    title: str
    code: str  # prefix; the start year and a suffix are added: NGI0-2025-MOD
    suffix: str
    reference: str
    funding_model: str
    awarded: str
    purpose: str
    budget: dict[str, str]
    indirect_rate: str = "0"
    owner: str = FINANCE_LOGIN


GRANTS = [
    GrantPlan(
        "allmende",
        "allmende",
        "Accessible web client",
        "ADS",
        "A11Y",
        "ADS-F-0417",
        Grant.FundingModel.MILESTONES,
        "60000.00",
        "Make the web client usable with screen readers and keyboard alone, tested with disabled users.",
        {"personnel": "48000.00", "freelancers": "10000.00", "travel": "2000.00"},
    ),
    GrantPlan(
        "he",
        "ec",
        "FEDCOM – Federated communities for trustworthy public discourse",
        "HE",
        "FEDCOM",
        "Grant Agreement 101135742",
        Grant.FundingModel.ACTUAL_COST,
        "395000.00",
        "Our share of a Horizon Europe research project with seven partners: moderation, trust and safety "
        "tooling for federated social networks, evaluated with public institutions.",
        {
            "personnel": "240000.00",
            "freelancers": "24000.00",
            "travel": "18000.00",
            "equipment": "12000.00",
            "subcontracting": "20000.00",
            "other": "6000.00",
            "indirect": "75000.00",
        },
        indirect_rate="25",
        owner=ADMIN_LOGIN,
    ),
    GrantPlan(
        "ngi_a",
        "nlnet",
        "Moderation tools for small servers",
        "NGI0",
        "MOD",
        "2024-12-045",
        Grant.FundingModel.MILESTONES,
        "50000.00",
        "Shared blocklists, report triage and moderation notes for servers run by volunteers.",
        {"personnel": "44000.00", "other": "6000.00"},
    ),
    GrantPlan(
        "stf",
        "stf",
        "Maintenance of the federation server core",
        "STF",
        "CORE",
        "STF-2025-0142",
        Grant.FundingModel.TRANCHES,
        "160000.00",
        "Long-term maintenance of the server core: dependency updates, security fixes, an external "
        "security audit and documentation for administrators.",
        {"personnel": "100000.00", "freelancers": "36000.00", "subcontracting": "24000.00"},
    ),
    GrantPlan(
        "ngi_b",
        "nlnet",
        "End-to-end encrypted direct messages",
        "NGI0",
        "E2EE",
        "2025-10-112",
        Grant.FundingModel.MILESTONES,
        "45000.00",
        "End-to-end encryption for direct messages between servers, with key verification and a security "
        "review.",
        {"personnel": "36000.00", "freelancers": "9000.00"},
    ),
]
DEMO_TITLES = [plan.title for plan in GRANTS]


@dataclass
class MilestonePlan:
    """One milestone and what happened to it: ``fate`` is paid, accepted (waiting for the money),
    submitted, in_progress or planned."""

    title: str
    deliverables: str
    due: datetime.date
    fate: str
    amount: Decimal | None = None
    tranche: Decimal | None = None
    days: dict[str, datetime.date] = field(default_factory=dict)


def _periods(
    months: list[datetime.date], today: datetime.date
) -> dict[str, tuple[datetime.date, datetime.date]]:
    return {
        "allmende": (months[0], month_end(months[11])),
        "he": (months[6], month_end(add_months(months[6], 35))),
        "ngi_a": (months[9], today + datetime.timedelta(days=50)),  # ends within 60 days: reminded
        "stf": (months[12], month_end(add_months(months[12], 17))),
        "ngi_b": (months[17], month_end(add_months(months[17], 17))),
    }


def _milestone_plans(months, today, periods) -> dict[str, list[MilestonePlan]]:
    def day(index: int, day_of_month: int) -> datetime.date:
        return months[index].replace(day=day_of_month)

    def ago(count: int) -> datetime.date:
        return today - datetime.timedelta(days=count)

    def amount(value: str) -> Decimal:
        return Decimal(value)

    return {
        "allmende": [
            MilestonePlan(
                "Audit and keyboard navigation",
                "Accessibility audit report; every screen usable with the keyboard alone.",
                month_end(months[5]),
                "paid",
                amount=amount("30000.00"),
            ),
            MilestonePlan(
                "Screen reader support and user testing",
                "ARIA landmarks and live regions; two rounds of testing with blind and low-vision users.",
                month_end(months[11]) - datetime.timedelta(days=3),
                "paid",
                amount=amount("30000.00"),
            ),
        ],
        "ngi_a": [
            MilestonePlan(
                "Shared blocklists: design",
                "Design document and data format, reviewed by two server administrators.",
                day(11, 15),
                "paid",
                amount=amount("8000.00"),
            ),
            MilestonePlan(
                "Shared blocklists: import and export",
                "Import, export and subscription to blocklists, with tests and documentation.",
                day(14, 15),
                "paid",
                amount=amount("10000.00"),
            ),
            MilestonePlan(
                "Report triage",
                "A queue of reports grouped by account and instance, with keyboard shortcuts.",
                day(18, 15),
                "paid",
                amount=amount("12000.00"),
            ),
            MilestonePlan(
                "Moderation notes",
                "Private notes on accounts shared among the moderators of a server.",
                ago(40),
                "accepted",
                amount=amount("10000.00"),
            ),
            MilestonePlan(
                "Documentation and release",
                "Administrator guide, translations and the 1.0 release.",
                ago(9),
                "in_progress",  # overdue
                amount=amount("10000.00"),
            ),
        ],
        "stf": [
            MilestonePlan(
                "First tranche on signature",
                "Signed service agreement and work plan.",
                day(12, 20),
                "paid",
                tranche=Decimal("40"),
            ),
            MilestonePlan(
                "Second tranche: interim report",
                "Dependency updates, the security audit and an interim report.",
                day(21, 20),
                "paid",
                tranche=Decimal("45"),
            ),
            MilestonePlan(
                "Final tranche: final report",
                "Final report and administrator documentation.",
                periods["stf"][1],
                "planned",
                tranche=Decimal("15"),
            ),
        ],
        "ngi_b": [
            MilestonePlan(
                "Protocol design",
                "Specification of the key exchange, reviewed by an external cryptographer.",
                day(19, 20),
                "paid",
                amount=amount("6000.00"),
            ),
            MilestonePlan(
                "Key management",
                "Device keys, key backup and key verification by QR code.",
                day(22, 20),
                "submitted",
                amount=amount("9000.00"),
            ),
            MilestonePlan(
                "Encrypted messages between servers",
                "Sending and receiving encrypted direct messages across two implementations.",
                today + datetime.timedelta(days=10),  # due within 14 days
                "in_progress",
                amount=amount("10000.00"),
            ),
            MilestonePlan(
                "Security review",
                "Review by an independent security firm; fixes of its findings.",
                today + datetime.timedelta(days=75),
                "planned",
                amount=amount("10000.00"),
            ),
            MilestonePlan(
                "Documentation and release",
                "User documentation, translations and the release.",
                periods["ngi_b"][1] - datetime.timedelta(days=30),
                "planned",
                amount=amount("10000.00"),
            ),
        ],
    }


# --- People ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonPlan:
    key: str
    name: str
    role: str
    kind: str
    weekly_hours: str
    months_before_window: int  # started this many months before the first demo month
    pay: str  # employees: monthly gross in the first demo year; freelancers: hourly rate
    social_rate: str = "0"  # employer's social costs as a share of gross
    hours: tuple[int, int] = (0, 0)  # freelancers: hours invoiced a month
    core_development: bool = True
    # grant key -> share (%) of the month while that grant runs
    shares: dict[str, int] = field(default_factory=dict)


PEOPLE = [
    PersonPlan(
        "mara",
        "Mara Lindner",
        "Lead backend developer",
        Person.Kind.EMPLOYEE,
        "40",
        44,
        "5600.00",
        social_rate="0.2093",
        shares={"allmende": 10, "he": 30, "ngi_a": 20, "stf": 35},
    ),
    PersonPlan(
        "jonas",
        "Jonas Albrecht",
        "Backend developer",
        Person.Kind.EMPLOYEE,
        "40",
        26,
        "4700.00",
        social_rate="0.2107",
        shares={"allmende": 20, "he": 50, "ngi_b": 15, "stf": 20},
    ),
    PersonPlan(
        "aylin",
        "Aylin Yıldız",
        "Frontend developer",
        Person.Kind.EMPLOYEE,
        "32",
        20,
        "3950.00",
        social_rate="0.2112",
        shares={"allmende": 40, "ngi_a": 20, "ngi_b": 20},
    ),
    PersonPlan(
        "henrike",
        "Henrike Sommer",
        "Community and grants manager",
        Person.Kind.EMPLOYEE,
        "30",
        34,
        "3300.00",
        social_rate="0.2089",
        core_development=False,
        shares={"he": 20},
    ),
    PersonPlan(
        "tomas",
        "Tomás Ferreira",
        "DevOps engineer (freelance)",
        Person.Kind.FREELANCER,
        "8",
        17,
        "95.00",
        hours=(22, 40),
        shares={"he": 20, "stf": 60},
    ),
    PersonPlan(
        "nora",
        "Nora Kaminski",
        "UX designer (freelance)",
        Person.Kind.FREELANCER,
        "5",
        9,
        "85.00",
        hours=(12, 28),
        shares={"allmende": 50, "ngi_b": 40},
    ),
]
RAISE = Decimal("0.035")  # each January
RECLASSIFIED = ("jonas", 22, "he", 10)  # person, month index, grant, percentage points moved from core


# --- Bills ----------------------------------------------------------------------------------------

HETZNER = "Hetzner Online GmbH"
CDN = "Fernlicht CDN GmbH"
ACCOUNTANT = "Steuerkanzlei Brandt & Okonkwo PartG mbB"
RAIL = "DB Fernverkehr AG"
EQUIPMENT_SHOP = "Technikhaus Berlin GmbH"

# calendar month -> (trip, hotel, hotel's city, the grant it is charged to while that grant runs)
TRIPS = {
    2: ("FOSDEM, Brussels", "Hôtel Gare du Midi", "Brussels", "allmende"),
    6: ("FEDCOM consortium meeting, Vienna", "Hotel Donaukanal", "Vienna", "he"),
    9: ("FEDCOM workshop with public institutions, Amsterdam", "Hotel Oosterdok", "Amsterdam", "he"),
    12: ("Chaos Communication Congress, Hamburg", "Hotel Elbbrücken", "Hamburg", "core"),
}
# month index -> (item, net, charged to)
EQUIPMENT = {
    2: ("Laptop for frontend development (ThinkPad T14)", "1390.00", "core"),
    8: ("Two laptops for the FEDCOM team (Framework 13)", "2780.00", "he"),
    15: ("Test phones for the mobile web client (2 devices)", "840.00", "he"),
    20: ("Laptop for backend development (ThinkPad P14s)", "1890.00", "core"),
}
# month index -> (supplier, description, net, charged to, account); 19 % VAT
PROJECT_BILLS = {
    10: (
        "Druckerei Lindenblatt GmbH",
        "FEDCOM project leaflets and posters",
        "640.00",
        "he",
        "expense-other",
    ),
    14: (
        "Barrierefrei Prüfen GmbH",
        "Accessibility evaluation of the FEDCOM moderation interface",
        "6800.00",
        "he",
        "expense-subcontracting",
    ),
    16: (
        "Kestrel Security Audits GmbH",
        "Security audit of the server core, part 1",
        "10200.00",
        "stf",
        "expense-subcontracting",
    ),
    19: (
        "Open Research Press GmbH",
        "Open-access publication fee: study of moderation in federated networks",
        "1450.00",
        "he",
        "expense-other",
    ),
    22: (
        "Kestrel Security Audits GmbH",
        "Security audit of the server core, part 2 and retest",
        "8000.00",
        "stf",
        "expense-subcontracting",
    ),
}
# The moderation tools' test federation runs on its own cloud servers, charged to that grant.
TEST_SERVERS = "ngi_a"


# --- Vouchers -------------------------------------------------------------------------------------


def voucher_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ``lines`` of text (Helvetica, Latin-1): small, valid, made without a renderer."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = ["BT", "/F1 11 Tf", "15 TL", "56 780 Td"]
    for index, line in enumerate(lines):
        if index == 0:
            text += ["/F1 15 Tf", f"({escape(line)}) Tj", "/F1 11 Tf", "T* T*"]
        else:
            text.append(f"({escape(line)}) Tj T*")
    text.append("ET")
    content = "\n".join(text).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def _money_text(amount: Decimal) -> str:
    return f"{amount:,.2f} EUR"


# --- Seeding --------------------------------------------------------------------------------------


def seed(*, rng: random.Random, today: datetime.date, real_kinds, log: Callable[[str], None]) -> None:
    if (
        Grant.objects.filter(title__in=DEMO_TITLES).exists()
        or Person.objects.filter(name__in=[plan.name for plan in PEOPLE]).exists()
    ):
        log(
            f"grants demo: already there ({Grant.objects.count()} grants, {Person.objects.count()} people, "
            f"{Bill.objects.count()} bills)"
        )
        return
    months = window(today)
    with (
        transaction.atomic(),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
    ):
        owners = _owners()
        grants = _grants(months, today, owners)
        _milestones_replay(grants, months, today, rng, owners)
        people = _people(months)
        reclassified = _pay(people, grants, months, rng)
        bills = _bills(grants, months, today, rng)
        _reminder_history(today)
    log(
        f"grants demo: {len(FUNDERS)} funders, {len(grants)} grants "
        f"({Milestone.objects.filter(grant__in=grants.values()).count()} milestones, "
        f"{GrantPayment.objects.filter(grant__in=grants.values()).count()} payments), {len(people)} people, "
        f"{PayRecord.objects.filter(person__in=people.values()).count()} pay records "
        f"({reclassified} reclassified), {bills} bills"
    )


def _owners() -> dict:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    found = {user.email: user for user in User.objects.filter(email__in=[FINANCE_LOGIN, ADMIN_LOGIN])}
    return {email: found.get(email) for email in (FINANCE_LOGIN, ADMIN_LOGIN)}


def _grants(months, today, owners) -> dict[str, Grant]:
    funders = {}
    for key, name, kind, country, consent in FUNDERS:
        funders[key], _created = Funder.objects.get_or_create(
            name=name, defaults={"kind": kind, "country": country, "consent_annual_report": consent}
        )
    periods = _periods(months, today)
    grants = {}
    for plan in GRANTS:
        start, end = periods[plan.key]
        grant = Grant.objects.create(
            title=plan.title,
            funder=funders[plan.funder],
            reference=plan.reference,
            code=f"{plan.code}-{start.year}-{plan.suffix}",
            awarded_amount=Decimal(plan.awarded),
            start_date=start,
            end_date=end,
            purpose=plan.purpose,
            restricted=True,
            funding_model=plan.funding_model,
            indirect_cost_rate=Decimal(plan.indirect_rate),
            owner=owners.get(plan.owner) or owners.get(FINANCE_LOGIN),
            created_at=_moment(start - datetime.timedelta(days=75), 10),
        )
        grant.award()
        grant.start()
        grant.cost_centre = services.grant_cost_centre_ensure(grant=grant)
        for category, amount in plan.budget.items():
            BudgetLine.objects.create(grant=grant, category=CostCategory(category), amount=Decimal(amount))
        agreement = voucher_pdf(
            [
                f"Grant agreement {plan.reference}",
                f"Funder: {funders[plan.funder].name}",
                f"Project: {plan.title}",
                f"Period: {start:%d.%m.%Y} - {end:%d.%m.%Y}",
                f"Awarded: {_money_text(Decimal(plan.awarded))}",
                "Demo document: not a real agreement.",
            ]
        )
        document = GrantDocument(grant=grant, title=f"Grant agreement {plan.reference}")
        document.file.save(f"agreement-{slugify(grant.code)}.pdf", ContentFile(agreement), save=False)
        document.uploaded_at = _moment(start - datetime.timedelta(days=20), 11)
        document.save()
        grants[plan.key] = grant
    return grants


def _milestones_replay(grants, months, today, rng, owners) -> None:
    """Create the milestones, then replay requests, acceptances and payments in date order."""
    periods = _periods(months, today)
    plans = _milestone_plans(months, today, periods)
    events = []
    for key, milestones in plans.items():
        grant = grants[key]
        for position, plan in enumerate(milestones, start=1):
            milestone = Milestone.objects.create(
                grant=grant,
                position=position,
                title=plan.title,
                deliverables=plan.deliverables,
                due_date=plan.due,
                amount=plan.amount,
                tranche_percent=plan.tranche,
            )
            if plan.fate == "in_progress":
                milestone.move("begin")
            if plan.fate in ("paid", "accepted", "submitted"):
                plan.days["request"] = plan.due - datetime.timedelta(days=rng.randint(0, 4))
            if plan.fate in ("paid", "accepted"):
                plan.days["accept"] = plan.days["request"] + datetime.timedelta(days=rng.randint(3, 10))
            if plan.fate == "paid":
                plan.days["paid"] = min(
                    plan.days["accept"] + datetime.timedelta(days=rng.randint(8, 25)),
                    today - datetime.timedelta(days=1),
                )
            for step, day in plan.days.items():
                rank = ("request", "accept", "paid").index(step)
                events.append((day, rank, grant.pk, position, step, milestone))

    # Horizon Europe pays pre-financing (60 %) within a month of the start; no milestones.
    he = grants["he"]
    prefinancing_day = months[7].replace(day=12)
    events.append((prefinancing_day, 2, he.pk, 0, "prefinancing", None))

    for day, _rank, _grant, _position, step, milestone in sorted(events, key=lambda event: event[:4]):
        if step == "request":
            services.milestone_request_issue(milestone=milestone, on=day)
            Milestone.objects.filter(pk=milestone.pk).update(submitted_at=_moment(day, 11))
        elif step == "accept":
            milestone.refresh_from_db()
            milestone.move("accept")
            Milestone.objects.filter(pk=milestone.pk).update(accepted_at=_moment(day, 15))
        elif step == "paid":
            milestone.refresh_from_db()
            payment = services.grant_payment_record(
                grant=milestone.grant,
                amount=milestone.payable_amount,
                received_on=day,
                reference=f"{milestone.grant.reference} {milestone.request_number} M{milestone.position}",
                milestone=milestone,
                by=owners.get(FINANCE_LOGIN),
            )
            GrantPayment.objects.filter(pk=payment.pk).update(created_at=_moment(day, 9))
        else:
            amount = _round(he.awarded_amount * Decimal("0.60"))
            payment = services.grant_payment_record(
                grant=he,
                amount=amount,
                received_on=day,
                reference=f"EC pre-financing {he.reference}",
                by=owners.get(FINANCE_LOGIN),
            )
            GrantPayment.objects.filter(pk=payment.pk).update(created_at=_moment(day, 9))

    # The foundation's grant ended and was closed after its final payment.
    grants["allmende"].close()


def _people(months) -> dict[str, Person]:
    people = {}
    for plan in PEOPLE:
        first, last = plan.name.split(" ", 1)
        people[plan.key] = Person.objects.create(
            name=plan.name,
            role=plan.role,
            kind=plan.kind,
            email=f"{slugify(first)}.{slugify(last)}@commons.example",
            start_date=add_months(months[0], -plan.months_before_window),
            weekly_hours=Decimal(plan.weekly_hours),
            core_development=plan.core_development,
        )
    return people


def _running(grant: Grant, month: datetime.date) -> bool:
    return grant.start_date <= month_end(month) and grant.end_date >= month


def _shares(plan: PersonPlan, grants, month, rng) -> dict[Grant | None, Decimal]:
    """This month's shares: the plan's share of each running grant, give or take 5 points, at most 100 %."""
    shares = {}
    for key, share in plan.shares.items():
        wobble = rng.choice((-5, 0, 0, 0, 5))
        if _running(grants[key], month):
            shares[key] = max(5, share + wobble)
    while sum(shares.values()) > 100:
        largest = max(shares, key=shares.get)
        shares[largest] -= 5
    return {grants[key]: Decimal(share) for key, share in shares.items()}


def _pay(people, grants, months, rng) -> int:
    """24 months of pay per person, allocated and posted; then one month's allocation is corrected."""
    for index, month in enumerate(months):
        for plan in PEOPLE:
            person = people[plan.key]
            services.allocations_set(person=person, month=month, shares=_shares(plan, grants, month, rng))
            if plan.kind == Person.Kind.EMPLOYEE:
                raises = sum(1 for later in months[1 : index + 1] if later.month == 1)
                gross = _round(Decimal(plan.pay) * (1 + RAISE) ** raises)
                record = PayRecord.objects.create(
                    person=person,
                    month=month,
                    gross_salary=gross,
                    employer_social_costs=_round(gross * Decimal(plan.social_rate)),
                    note=f"Payroll {month:%m/%Y}",
                )
            else:
                hours = rng.randint(*plan.hours)
                initials = "".join(part[0] for part in plan.name.split())
                record = PayRecord.objects.create(
                    person=person,
                    month=month,
                    freelancer_invoice=_round(Decimal(hours) * Decimal(plan.pay)),
                    note=f"Invoice {initials}-{month:%Y-%m}: {hours} h × {plan.pay} EUR",
                )
            services.pay_record_post(pay_record=record)
            PayRecord.objects.filter(pk=record.pk).update(
                created_at=_moment(month_end(month) - datetime.timedelta(days=3), 10),
                posted_at=_moment(month_end(month), 16),
            )

    # The timesheets of one month were corrected after the pay was posted: a reclassification today.
    key, index, grant_key, points = RECLASSIFIED
    person, month = people[key], months[index]
    shares = {allocation.grant: allocation.percent for allocation in person.allocations.in_month(month)}
    grant = grants[grant_key]
    shares[grant] = shares.get(grant, Decimal(0)) + min(Decimal(points), HUNDRED - sum(shares.values()))
    services.allocations_set(person=person, month=month, shares=shares)
    return 1


def _bill(
    *,
    supplier: str,
    number: str,
    day: datetime.date,
    description: str,
    account: str,
    centre: CostCentre,
    net: Decimal,
    vat: Decimal,
    today: datetime.date,
    rng: random.Random,
    keep_open: bool = False,
) -> Bill:
    gross = net + vat
    pdf = voucher_pdf(
        [
            supplier,
            f"Invoice {number}",
            f"Date: {day:%d.%m.%Y}",
            "To: Fediverse Commons gGmbH, Berlin",
            "",
            description,
            f"Net: {_money_text(net)}",
            f"VAT: {_money_text(vat)}",
            f"Total: {_money_text(gross)}",
            "Payable within 14 days. Demo document.",
        ]
    )
    bill = Bill(
        supplier=supplier,
        number=number,
        bill_date=day,
        due_date=day + datetime.timedelta(days=14),
        description=description,
        account_code=account,
        cost_centre=centre,
        net_amount=net,
        vat_amount=vat,
        created_at=_moment(day + datetime.timedelta(days=1), 9),
    )
    bill.voucher.save(f"{slugify(supplier)}-{slugify(number)}.pdf", ContentFile(pdf), save=False)
    bill.save()
    services.bill_post(bill=bill)
    paid_on = day + datetime.timedelta(days=rng.randint(4, 13))
    if not keep_open and paid_on < min(today, timezone.localdate()):
        services.bill_mark_paid(bill=bill, paid_on=paid_on, reference=f"SEPA {supplier[:40]} {number}")
    return bill


def _bills(grants, months, today, rng) -> int:
    core = CostCentre.objects.get(code=CORE_COST_CENTRE_CODE)
    centres = {key: grant.cost_centre for key, grant in grants.items()}
    count = 0

    def centre(key: str, month: datetime.date) -> CostCentre:
        return centres[key] if key != "core" and _running(grants[key], month) else core

    for index, month in enumerate(months):
        growth = Decimal(index) / (len(months) - 1)
        label = f"{month:%B %Y}"

        # Servers at Hetzner: more of them as the network grows.
        net = _round(Decimal("2100") + Decimal("900") * growth + Decimal(rng.randint(-6000, 6000)) / 100)
        _bill(
            supplier=HETZNER,
            number=f"R00{rng.randint(10_000_000, 99_999_999)}",
            day=month.replace(day=2),
            description=f"Dedicated servers, cloud servers and storage boxes, {label}",
            account="expense-hosting",
            centre=core,
            net=net,
            vat=_round(net * Decimal("0.19")),
            today=today,
            rng=rng,
        )
        if _running(grants[TEST_SERVERS], month):
            net = _round(Decimal(rng.randint(16000, 26000)) / 100)
            _bill(
                supplier=HETZNER,
                number=f"R00{rng.randint(10_000_000, 99_999_999)}",
                day=month.replace(day=2),
                description=f"Cloud servers of the moderation tools' test federation, {label}",
                account="expense-hosting",
                centre=centres[TEST_SERVERS],
                net=net,
                vat=_round(net * Decimal("0.19")),
                today=today,
                rng=rng,
            )
            count += 1
        # The CDN for media files: billed by traffic.
        net = _round(Decimal("310") + Decimal("260") * growth + Decimal(rng.randint(-4000, 4000)) / 100)
        _bill(
            supplier=CDN,
            number=f"FL-{month:%Y%m}-{rng.randint(1000, 9999)}",
            day=month.replace(day=5),
            description=f"CDN traffic and media storage, {label}",
            account="expense-hosting",
            centre=core,
            net=net,
            vat=_round(net * Decimal("0.19")),
            today=today,
            rng=rng,
        )
        # The accountant: bookkeeping and payroll every month, the annual accounts in May.
        net = Decimal("540.00") + (Decimal("2900.00") if month.month == 5 else Decimal("0"))
        description = f"Bookkeeping and payroll, {label}" + (
            f"; annual accounts {month.year - 1}" if month.month == 5 else ""
        )
        _bill(
            supplier=ACCOUNTANT,
            number=f"{month:%Y}-{index + 101:04d}",
            day=month_end(month) - datetime.timedelta(days=2),
            description=description,
            account="expense-other",
            centre=core,
            net=net,
            vat=_round(net * Decimal("0.19")),
            today=today,
            rng=rng,
            keep_open=index == len(months) - 1,
        )
        count += 3

        if month.month in TRIPS:
            trip, hotel, city, key = TRIPS[month.month]
            charged = centre(key, month)
            travel_day = month.replace(day=rng.randint(3, 12))
            rail = _round(Decimal(rng.randint(2, 3)) * Decimal(rng.randint(14000, 23000)) / 100)
            _bill(
                supplier=RAIL,
                number=f"{rng.randint(100000, 999999)}-{month:%y%m}",
                day=travel_day,
                description=f"Train tickets: {trip}",
                account="expense-travel",
                centre=charged,
                net=rail,
                vat=_round(rail * Decimal("0.07")),
                today=today,
                rng=rng,
            )
            nights = _round(Decimal(rng.randint(4, 8)) * Decimal(rng.randint(9500, 16000)) / 100)
            _bill(
                supplier=f"{hotel}, {city}",
                number=f"H{month:%y%m}{rng.randint(100, 999)}",
                day=travel_day + datetime.timedelta(days=3),
                description=f"Hotel: {trip}",
                account="expense-travel",
                centre=charged,
                net=nights,
                vat=Decimal("0.00") if city != "Hamburg" else _round(nights * Decimal("0.07")),
                today=today,
                rng=rng,
            )
            count += 2

        if index in EQUIPMENT:
            item, net, key = EQUIPMENT[index]
            net = Decimal(net)
            _bill(
                supplier=EQUIPMENT_SHOP,
                number=f"TB-{month:%Y}-{rng.randint(10000, 99999)}",
                day=month.replace(day=rng.randint(8, 20)),
                description=item,
                account="expense-equipment",
                centre=centre(key, month),
                net=net,
                vat=_round(net * Decimal("0.19")),
                today=today,
                rng=rng,
            )
            count += 1

        if index in PROJECT_BILLS:
            supplier, description, net, key, account = PROJECT_BILLS[index]
            net = Decimal(net)
            _bill(
                supplier=supplier,
                number=f"{month:%Y}-{month:%m}{rng.randint(100, 999)}",
                day=month.replace(day=rng.randint(15, 25)),
                description=description,
                account=account,
                centre=centre(key, month),
                net=net,
                vat=_round(net * Decimal("0.19")),
                today=today,
                rng=rng,
            )
            count += 1
    return count


def _reminder_history(today: datetime.date) -> None:
    """Mark the reminders the daily task would have sent by ``today`` as sent, on their days (before the
    milestone was submitted; 60 days before a grant's end)."""
    for milestone in Milestone.objects.select_related("grant").filter(grant__title__in=DEMO_TITLES):
        submitted = milestone.submitted_at.date() if milestone.submitted_at else None
        reminders = {
            "reminder_14_sent_at": milestone.due_date - datetime.timedelta(days=14),
            "reminder_3_sent_at": milestone.due_date - datetime.timedelta(days=3),
            "overdue_reminder_sent_at": milestone.due_date + datetime.timedelta(days=1),
        }
        sent = {
            name: _moment(day, 7)
            for name, day in reminders.items()
            if day <= today and (submitted is None or day < submitted)
        }
        if sent:
            Milestone.objects.filter(pk=milestone.pk).update(**sent)
    for grant in Grant.objects.filter(title__in=DEMO_TITLES):
        day = grant.end_date - datetime.timedelta(days=60)
        if day <= today:
            Grant.objects.filter(pk=grant.pk).update(end_reminder_sent_at=_moment(day, 7))
