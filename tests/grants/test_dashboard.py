"""The finance dashboard: budget against actual, burn rate, runway and the charts, all read from the ledger
postings made through grants.services; for finance with MFA only."""

import datetime
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from grants import figures, services
from grants.models import BudgetLine, Grant, Person
from tests.factories.grants import (
    BillFactory,
    GrantFactory,
    MilestoneFactory,
    PayRecordFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

URL = "/admin/grants/dashboard/"
SVG = "{http://www.w3.org/2000/svg}"
TODAY = timezone.localdate()
THIS_MONTH = TODAY.replace(day=1)


def months_ago(count: int) -> datetime.date:
    index = THIS_MONTH.year * 12 + THIS_MONTH.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


M1, M2, M3 = months_ago(3), months_ago(2), months_ago(1)  # the last three complete months


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def running_grant(**fields) -> Grant:
    values = {"start_date": months_ago(10), "end_date": months_ago(-12), "state": Grant.State.ACTIVE}
    values.update(fields)
    return GrantFactory(**values)


def pay(person: Person, month: datetime.date, grant: Grant, percent: str, **amounts):
    record = PayRecordFactory(person=person, month=month, **amounts)
    services.allocations_set(person=person, month=month, shares={grant: Decimal(percent)})
    return services.pay_record_post(pay_record=record)


def bill(grant: Grant, *, account: str, net: str, vat: str = "0.00", day: datetime.date):
    centre = services.grant_cost_centre_ensure(grant=grant)
    return services.bill_post(
        bill=BillFactory(
            account_code=account,
            cost_centre=centre,
            net_amount=Decimal(net),
            vat_amount=Decimal(vat),
            bill_date=day,
        )
    )


@pytest.fixture
def grant():
    """An actual-cost grant (25 % indirect) with a budget, three months of pay, a freelancer, travel over its
    budget, a grant payment, and a hosting bill on core that the grant must not see."""
    grant = running_grant(code="HE-2026", title="Moderation at scale", indirect_cost_rate=Decimal("25"))
    for category, amount in [("personnel", "30000.00"), ("travel", "1000.00"), ("indirect", "5000.00")]:
        BudgetLine.objects.create(grant=grant, category=category, amount=Decimal(amount))
    developer = PersonFactory(name="Ada Example")
    for month in (M1, M2, M3):
        pay(
            developer,
            month,
            grant,
            "50",
            gross_salary=Decimal("5000.00"),
            employer_social_costs=Decimal("1050.00"),
        )
    freelancer = PersonFactory(name="Grace Example", kind=Person.Kind.FREELANCER)
    pay(
        freelancer,
        M3,
        grant,
        "100",
        gross_salary=Decimal("0"),
        employer_social_costs=Decimal("0"),
        freelancer_invoice=Decimal("2000.00"),
    )
    bill(grant, account="expense-travel", net="1000.00", vat="200.00", day=M3 + datetime.timedelta(days=4))
    services.bill_post(bill=BillFactory(bill_date=M3 + datetime.timedelta(days=1)))  # hosting on core
    services.grant_payment_record(
        grant=grant, amount=Decimal("10000.00"), received_on=M2 + datetime.timedelta(days=9), reference="EU 1"
    )
    return grant


# --- Figures --------------------------------------------------------------------------------------


def test_budget_against_actual_equals_the_postings_on_the_grants_cost_centre(grant):
    result = figures.grant_figures(grant)

    # Independent arithmetic: half of 5,000 + 1,050 for three months; the freelancer and travel in full.
    personnel = 3 * (Decimal("2500.00") + Decimal("525.00"))
    direct = personnel + Decimal("2000.00") + Decimal("1200.00")
    indirect = cents(direct * Decimal("0.25"))
    actual = {row.category: (row.budget, row.actual) for row in result.categories}
    assert actual == {
        "personnel": (Decimal("30000.00"), personnel),
        "freelancers": (Decimal("0.00"), Decimal("2000.00")),
        "travel": (Decimal("1000.00"), Decimal("1200.00")),
        "indirect": (Decimal("5000.00"), indirect),
    }
    assert result.direct_actual == direct
    assert result.spent == direct + indirect
    assert result.budget_total == Decimal("36000.00")
    assert result.income_received == Decimal("10000.00")
    assert result.budget_used_percent == (result.spent * 100 / Decimal("36000")).quantize(Decimal("0.1"))
    overspent = {row.category for row in result.categories if row.overspent}
    assert overspent == {"freelancers", "travel"}


def test_burn_rate_is_the_average_of_the_last_three_complete_months_and_gives_the_months_left(grant):
    result = figures.grant_figures(grant)

    month_costs = [
        Decimal("3025.00"),
        Decimal("3025.00"),
        Decimal("3025.00") + Decimal("2000.00") + Decimal("1200.00"),
    ]
    burn = cents(sum(month_costs) / 3 * Decimal("1.25"))
    assert result.burn_months == [M1, M2, M3]
    assert result.burn_rate == burn
    assert result.months_left == ((Decimal("36000.00") - result.spent) / burn).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def test_burn_rate_of_a_young_grant_averages_the_months_since_it_started():
    grant = running_grant(start_date=M3 + datetime.timedelta(days=3))
    pay(
        PersonFactory(),
        M3,
        grant,
        "100",
        gross_salary=Decimal("3000.00"),
        employer_social_costs=Decimal("600.00"),
    )

    result = figures.grant_figures(grant)

    assert result.burn_months == [M3]
    assert result.burn_rate == Decimal("3600.00")


def test_milestones_carry_their_state_and_overdue_flag(grant):
    late = MilestoneFactory(grant=grant, position=1, due_date=TODAY - datetime.timedelta(days=5))
    MilestoneFactory(grant=grant, position=2, due_date=TODAY + datetime.timedelta(days=40), state="accepted")

    result = figures.grant_figures(grant)

    assert [(m.position, m.state, m.is_overdue) for m in result.milestones] == [
        (1, "planned", True),
        (2, "accepted", False),
    ]
    assert result.milestones_done == 1
    assert result.milestones_overdue == 1
    assert late.pk == result.milestones[0].pk


def test_organisation_cash_average_spending_and_runway_come_from_the_ledger(grant):
    result = figures.organisation_figures()

    # Cash: the bank paid all pay records and received the grant payment (bills are still open).
    paid_out = 3 * Decimal("6050.00") + Decimal("2000.00")
    assert result.cash == Decimal("10000.00") - paid_out
    spending = {month.month: month.spending for month in result.months}
    assert spending[M1] == Decimal("6050.00")
    assert spending[M2] == Decimal("6050.00")
    assert spending[M3] == Decimal("6050.00") + Decimal("2000.00") + Decimal("1200.00") + Decimal("840.00")
    # Spending began three months ago: the average covers those months only.
    assert result.average_months == [M1, M2, M3]
    assert result.average_spending == cents((spending[M1] + spending[M2] + spending[M3]) / 3)
    assert result.runway_months == Decimal("0.0")  # the bank is overdrawn: no runway


def test_runway_is_cash_divided_by_the_average_monthly_spending():
    from ledger.services import PostingLine, transaction_post

    transaction_post(
        booking_date=months_ago(8),
        description="Opening balance",
        idempotency_key="test:opening",
        lines=[
            PostingLine("bank", Decimal("120000.00")),
            PostingLine("opening-balances", Decimal("-120000.00")),
        ],
    )
    for count in range(1, 8):
        transaction_post(
            booking_date=months_ago(count) + datetime.timedelta(days=2),
            description="Servers",
            idempotency_key=f"test:servers:{count}",
            lines=[
                PostingLine("expense-hosting", Decimal("1000.00") * count),
                PostingLine("bank", -Decimal("1000.00") * count),
            ],
        )

    result = figures.organisation_figures()

    # The last six complete months: 1,000 … 6,000, average 3,500; the seventh month back is left out.
    assert result.average_spending == Decimal("3500.00")
    cash = Decimal("120000.00") - sum(Decimal("1000.00") * count for count in range(1, 8))
    assert result.cash == cash
    assert result.runway_months == (cash / Decimal("3500.00")).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    assert {month.month: month.cash for month in result.months}[months_ago(2)] == cash + Decimal("1000.00")


def test_one_more_pay_record_changes_grant_dashboard_and_month_spending_by_the_same_amount(
    grant, finance_client
):
    before = figures.grant_figures(grant)
    month_before = {month.month: month.spending for month in figures.organisation_figures().months}[M3]

    record = pay(
        PersonFactory(),
        M3,
        grant,
        "40",
        gross_salary=Decimal("4321.09"),
        employer_social_costs=Decimal("907.43"),
    )

    charged = cents(Decimal("4321.09") * Decimal("0.40")) + cents(Decimal("907.43") * Decimal("0.40"))
    after = figures.grant_figures(grant)
    personnel = {row.category: row.actual for row in after.categories}["personnel"]
    assert personnel - {row.category: row.actual for row in before.categories}["personnel"] == charged
    assert after.direct_actual - before.direct_actual == charged
    month_after = {month.month: month.spending for month in figures.organisation_figures().months}[M3]
    assert month_after - month_before == record.total_cost  # the whole record: the core share is spent too
    html = finance_client.get(URL).content.decode()
    assert figures.money(personnel) in html  # “€11,166.41” in the budget table
    assert figures.money(after.spent) in html


# --- The page -------------------------------------------------------------------------------------


def test_dashboard_shows_the_organisation_and_each_running_grant(grant, finance_client):
    GrantFactory(title="Still only applied for", state=Grant.State.APPLIED)
    GrantFactory(title="Closed long ago", state=Grant.State.CLOSED)
    MilestoneFactory(
        grant=grant, position=1, title="Federation API", due_date=TODAY - datetime.timedelta(days=2)
    )

    response = finance_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Finance dashboard" in html
    assert "Moderation at scale" in html
    assert "Still only applied for" not in html
    assert "Closed long ago" not in html
    assert f'href="/admin/grants/documents/report/{grant.pk}.pdf"' in html
    result = figures.grant_figures(grant)
    for shown in (result.spent_display, result.burn_rate_display, result.income_received_display):
        assert shown in html
    assert "Over budget by" in html
    assert "overdue" in html
    assert html.count('class="grant-chart"') == 3  # organisation, budget, milestones
    assert html.count('class="grant-figures__table"') == 3  # a table next to each chart
    assert "Ada Example" not in html  # people are not on the dashboard


def test_dashboard_queries_do_not_grow_with_the_number_of_grants(
    finance_client, django_assert_max_num_queries
):
    def grant_with_everything(number: int) -> Grant:
        grant = running_grant(code=f"G-{number}", title=f"Grant {number}")
        BudgetLine.objects.create(grant=grant, category="personnel", amount=Decimal("20000.00"))
        BudgetLine.objects.create(grant=grant, category="travel", amount=Decimal("500.00"))
        MilestoneFactory(grant=grant, position=1, due_date=TODAY - datetime.timedelta(days=3))
        MilestoneFactory(
            grant=grant,
            position=2,
            due_date=TODAY + datetime.timedelta(days=30),
            amount=None,
            tranche_percent=Decimal("40"),
        )
        pay(PersonFactory(), M3, grant, "50")
        bill(grant, account="expense-travel", net="300.00", day=M2)
        return grant

    grant_with_everything(1)
    finance_client.get(URL)  # warm up what is cached per process (content types, site)
    with CaptureQueriesContext(connection) as one:
        assert finance_client.get(URL).status_code == 200
    for number in range(2, 6):
        grant_with_everything(number)
    with django_assert_max_num_queries(len(one.captured_queries)) as five:
        response = finance_client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('data-grant="G-') == 5
    assert (
        len(five.captured_queries) <= 25
    )  # session, user, roles, MFA, admin furniture and 7 for the figures


# --- The charts -----------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox").startswith("0 0 ")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text.strip()
    assert desc is not None and desc.text.strip()
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    for element in root.iter():
        for name in ("x", "y", "width", "height", "x1", "x2", "y1", "y2", "cx", "cy", "r"):
            if element.get(name) is not None and not element.get(name).startswith("url("):
                float(element.get(name))  # a dot as decimal mark, in every language
    return root


def texts(root: ET.Element) -> str:
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("language", ["en", "de"])
def test_charts_are_well_formed_svg_with_title_and_description(grant, language):
    MilestoneFactory(
        grant=grant,
        position=1,
        title="A <b>bold</b> & risky plan",
        due_date=TODAY - datetime.timedelta(days=2),
    )
    MilestoneFactory(grant=grant, position=2, due_date=TODAY + datetime.timedelta(days=20), state="submitted")
    with translation.override(language):
        result = figures.grant_figures(grant)
        budget = parse(figures.budget_chart(result))
        timeline = parse(figures.milestone_chart(result))
        organisation = parse(figures.organisation_chart(figures.organisation_figures()))

    assert "Moderation at scale" in budget.find(f"{SVG}title").text
    assert "A <b>bold</b> & risky plan" in texts(timeline)
    assert organisation.find(f"{SVG}desc").text.count(";") == 11  # twelve months described


def test_budget_chart_marks_overspending_by_pattern_and_in_words(grant):
    root = parse(figures.budget_chart(figures.grant_figures(grant)))

    hatched = [rect for rect in root.iter(f"{SVG}rect") if (rect.get("fill") or "").startswith("url(#")]
    assert len(hatched) == 1 + 2  # the legend's swatch, freelancers and travel
    words = texts(root)
    assert "Over budget by €2,000" in words
    assert "Over budget by €200" in words
    assert "over budget by €200" in root.find(f"{SVG}desc").text


def test_milestone_timeline_has_a_today_marker_and_names_each_state(grant):
    MilestoneFactory(grant=grant, position=1, due_date=TODAY - datetime.timedelta(days=2))
    MilestoneFactory(grant=grant, position=2, due_date=TODAY + datetime.timedelta(days=20), state="paid")

    root = parse(figures.milestone_chart(figures.grant_figures(grant)))

    words = texts(root)
    assert "Today" in words
    assert re.search(r"M1 .*overdue", words)
    assert re.search(r"M2 .*paid", words)


# --- Access ---------------------------------------------------------------------------------------


def test_finance_with_mfa_sees_the_dashboard_and_its_menu_item(finance_client):
    assert finance_client.get(URL).status_code == 200
    assert (
        "/admin/grants/dashboard/" in finance_client.get("/admin/").content.decode()
    )  # the sidebar's menu data


@pytest.mark.parametrize(
    ("roles", "mfa"),
    [
        (("patron",), True),
        (("patron", "sponsor contact"), True),
        (("patron", "editor"), True),
        (("patron", "editor"), False),
        (("patron", "finance"), False),
    ],
    ids=["patron", "sponsor-contact", "editor-with-mfa", "editor-without-mfa", "finance-without-mfa"],
)
def test_everyone_else_is_refused(client, make_user, grant, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))

    response = client.get(URL)

    assert response.status_code in (302, 403)
    assert b"Moderation at scale" not in response.content
    if response.status_code == 302:
        assert not response["Location"].startswith(URL)  # to log in or to set up MFA


def test_editor_does_not_see_the_menu_item(editor_client):
    assert "/admin/grants/dashboard/" not in editor_client.get("/admin/").content.decode()


def test_anonymous_visitor_is_sent_to_log_in(client, grant):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_grant_without_postings_shows_empty_figures(finance_client):
    grant = running_grant(code="EMPTY-1", title="Nothing spent yet")

    result = figures.grant_figures(grant)

    assert result.spent == Decimal("0.00")
    assert result.burn_rate == Decimal("0.00")
    assert result.months_left is None
    assert result.budget_total == grant.awarded_amount  # no budget lines: the award is the budget
    html = finance_client.get(URL).content.decode()
    assert "Nothing spent yet" in html
    assert "No budget lines and no costs yet." in html
    assert "This grant has no milestones." in html
