"""Finance's grant journey in a real browser: create a grant with a budget and milestones, allocate a
person's month to it, record that month's pay, and see the budget used on the finance dashboard."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from playwright.sync_api import expect

from grants.models import Grant, PayRecord
from ledger.models import Posting
from tests.factories.grants import FunderFactory, PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("eager_tasks")]


def _log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_finance_creates_a_grant_records_pay_and_sees_the_budget_used(
    page, live_server, demo_site, make_user, screenshot
):
    funder = FunderFactory(name="NLnet Foundation")
    person = PersonFactory(
        name="Mira Kowalski", role="Backend developer", start_date=datetime.date(2025, 1, 1)
    )
    month = datetime.date.today().replace(day=1) - datetime.timedelta(days=1)
    month = month.replace(day=1)  # last month: pay is recorded for a month that is over
    _log_in(page, live_server, make_user("finance", mfa=True))

    # Create the grant with its budget and two milestones.
    page.goto(live_server.url + "/admin/grants/grants/new/")
    page.locator("[name=title]").fill("Federated moderation tools")
    page.locator("[name=funder]").select_option(str(funder.pk))
    page.locator("[name=reference]").fill("2026-02-017")
    page.locator("[name=code]").fill("NGI0-2026-MOD")
    page.locator("[name=awarded_amount]").fill("48000.00")
    page.locator("[name=start_date]").fill(f"{month.year}-01-01")
    page.locator("[name=end_date]").fill(f"{month.year + 1}-12-31")
    page.locator("[name=purpose]").fill("Moderation tools for small Mastodon servers.")
    page.locator("[name=funding_model]").select_option("milestones")
    page.locator("[name=state]").select_option("active")
    page.locator("[name=budget_personnel]").fill("40000.00")
    page.locator("[name=budget_other]").fill("8000.00")
    for row, (title, due, amount) in enumerate(
        [
            ("Report queue", f"{month.year}-06-30", "24000.00"),
            ("Federated blocklists", f"{month.year + 1}-06-30", "24000.00"),
        ]
    ):
        page.locator(f"[name=milestones-{row}-position]").fill(str(row + 1))
        page.locator(f"[name=milestones-{row}-title]").fill(title)
        page.locator(f"[name=milestones-{row}-due_date]").fill(due)
        page.locator(f"[name=milestones-{row}-amount]").fill(amount)
    screenshot(page, "grants-new-grant")
    page.get_by_role("button", name=re.compile("^Save|^Create", re.I)).first.click()
    grant = Grant.objects.get(code="NGI0-2026-MOD")
    assert grant.milestones.count() == 2
    assert grant.cost_centre is not None

    # Allocate half of last month to the grant.
    page.goto(live_server.url + f"/admin/grants/allocations/allocate/?person={person.pk}&month={month:%Y-%m}")
    page.locator(f"[name=percent_{grant.pk}]").fill("50")
    page.get_by_role("button", name="Save the allocation").click()
    expect(page.get_by_text(re.compile("50")).first).to_be_visible()
    assert person.allocations.get(month=month).percent == Decimal("50.00")

    # Record last month's pay: it is posted at once, half of it on the grant.
    page.goto(live_server.url + "/admin/grants/pay-records/new/")
    page.locator("[name=person]").select_option(str(person.pk))
    page.locator("[name=month]").fill(f"{month:%Y-%m}")
    page.locator("[name=gross_salary]").fill("5000.00")
    page.locator("[name=employer_social_costs]").fill("1050.00")
    page.get_by_role("button", name=re.compile("^Save|^Create", re.I)).first.click()
    record = PayRecord.objects.get(person=person, month=month)
    assert record.posted_at is not None
    charged = Posting.objects.filter(cost_centre=grant.cost_centre).aggregate(total=Sum("amount"))["total"]
    assert charged == Decimal("3025.00")  # 50 % of 6,050.00

    # The dashboard shows the budget used: 3,025 of 48,000 = 6.3 %.
    page.goto(live_server.url + "/admin/grants/dashboard/")
    expect(page.get_by_text("Federated moderation tools").first).to_be_visible()
    used = page.locator("[data-figure=budget-used]").first
    expect(used).to_contain_text("6.3")
    screenshot(page, "grants-dashboard")
