"""The month close in a real browser: finance opens the Reports menu, opens last month's drafted report,
writes a commentary and publishes it; then an anonymous visitor reads the report with its totals and
chart and downloads the PDF."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from ledger.models import ClosedMonth
from ledger.services import PostingLine, transaction_post
from reports.models import MonthlyReport, ReportEvent
from reports.services import report_draft

pytestmark = [pytest.mark.browser]

COMMENTARY = "We shipped the new moderation tools and thank every patron who made it possible."


def _log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _post(day, key, *lines):
    transaction_post(
        booking_date=day, description=key, idempotency_key=key, lines=[PostingLine(*line) for line in lines]
    )


def _euros(amount: Decimal) -> str:
    return f"€{amount:,.2f}"


@pytest.fixture
def last_month_books(demo_site):
    """Last month's postings and its drafted report (as the task of the 1st of the month drafts it)."""
    month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    _post(
        month.replace(day=3),
        "journey:patrons",
        ("stripe", Decimal("2380.00")),
        ("income-patrons-perks", Decimal("-2000.00")),
        ("vat-payable-19", Decimal("-380.00")),
    )
    _post(
        month.replace(day=8),
        "journey:donation",
        ("bank", Decimal("750.00")),
        ("income-donations", Decimal("-750.00")),
    )
    _post(
        month.replace(day=15),
        "journey:hosting",
        ("expense-hosting", Decimal("310.40")),
        ("bank", Decimal("-310.40")),
    )
    _post(
        month.replace(day=28),
        "journey:pay",
        ("expense-salaries", Decimal("1900.00")),
        ("bank", Decimal("-1900.00")),
    )
    report_draft(month=month)
    income = Decimal("2000.00") + Decimal("750.00")
    spending = Decimal("310.40") + Decimal("1900.00")
    return {"month": month, "income": income, "spending": spending}


def test_finance_publishes_a_month_and_the_public_reads_it_and_downloads_the_pdf(
    page, browser, live_server, last_month_books, make_user, screenshot
):
    month = last_month_books["month"]
    period = f"{month:%Y-%m}"
    finance = make_user("finance", mfa=True)
    _log_in(page, live_server, finance)

    # Finance opens the Reports menu and the drafted month.
    page.goto(live_server.url + "/admin/")
    page.locator("#wagtail-sidebar").get_by_role("button", name="Reports and tax").click()
    page.locator("#wagtail-sidebar").get_by_role("link", name="Monthly reports").click()
    expect(page).to_have_url(re.compile(r"/admin/reports/months/$"))
    month_link = page.get_by_role("link", name=period)
    expect(month_link).to_be_visible()
    screenshot(page, "reports-admin-months")
    month_link.click()
    expect(page.get_by_text("Draft — not published")).to_be_visible()

    # Writes the commentary (English) in the rich text editor.
    page.get_by_role("link", name="Edit the commentary").click()
    editor = page.locator("[data-contentpath=commentary_en] [contenteditable=true]")
    editor.click()
    editor.type(COMMENTARY)
    # the editor hands its text to the form a moment after typing
    expect(page.locator("input[name=commentary_en]")).to_have_value(re.compile("moderation tools"))
    screenshot(page, "reports-commentary")
    page.get_by_role("button", name="Save the commentary").click()
    expect(page.get_by_text(f"The commentary of {period} is saved.")).to_be_visible()
    assert COMMENTARY in MonthlyReport.objects.get(month=month).commentary_en

    # Publishes it: the confirm page shows the totals and says the month will be locked.
    page.get_by_role("link", name="Publish").click()
    expect(page.get_by_text(f"Publishing locks {period} in the books.")).to_be_visible()
    expect(page.locator("[data-figure=income-total]")).to_have_text(f"{last_month_books['income']:,.2f}")
    expect(page.locator("[data-figure=spending-total]")).to_have_text(f"{last_month_books['spending']:,.2f}")
    screenshot(page, "reports-publish")
    page.get_by_role("button", name=f"Publish and close {period}").click()
    expect(page.get_by_text("is published and the month is closed in the books")).to_be_visible()
    screenshot(page, "reports-admin-published")
    report = MonthlyReport.objects.get(month=month)
    assert report.status == MonthlyReport.Status.PUBLISHED
    assert ClosedMonth.objects.filter(month=month).exists()
    assert report.events.filter(action=ReportEvent.Action.PUBLISHED, by=finance).exists()

    # An anonymous visitor reads the report: commentary, totals, chart.
    visitor = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True
    )
    public = visitor.new_page()
    public.goto(live_server.url + f"/reports/{month:%Y}/{month:%m}/")
    expect(public.get_by_text(COMMENTARY)).to_be_visible()
    expect(public.get_by_text("Draft — not published")).to_have_count(0)
    summary = public.locator(".report-summary")
    expect(summary).to_contain_text(_euros(last_month_books["income"]))
    expect(summary).to_contain_text(_euros(last_month_books["spending"]))
    expect(summary).to_contain_text(_euros(last_month_books["income"] - last_month_books["spending"]))
    expect(public.locator("svg[role=img]").first).to_be_visible()
    screenshot(public, "reports-month-public")

    # ... and downloads the PDF.
    with public.expect_download() as download_info:
        public.get_by_role("link", name=re.compile(r"^PDF")).first.click()
    pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    visitor.close()
