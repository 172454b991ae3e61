"""The month close in the staff admin: finance drafts a month, writes its commentary, publishes it (which
locks the month in the books) and re-opens it with a reason. Every step is a POST; refusals are messages."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter

from ledger.errors import MonthClosed
from ledger.manual_bookings import ManualBookingRefused, manual_booking_post
from ledger.models import Account, ClosedMonth, ClosingBalance, CostCentre, MonthReopening
from ledger.services import PostingLine, transaction_post
from reports.models import COMMENTARY_FEATURES, MonthlyReport, ReportEvent

pytestmark = pytest.mark.django_db

INDEX = "/admin/reports/months/"
DRAFT = "/admin/reports/months/new/"
REOPENED = "/admin/reports/reopened-months/"


def months_ago(count: int) -> datetime.date:
    """The first day of the month ``count`` months before this one."""
    month = timezone.localdate().replace(day=1)
    for _ in range(count):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return month


def post(day: datetime.date, key: str, *lines):
    return transaction_post(
        booking_date=day, description=key, idempotency_key=key, lines=[PostingLine(*line) for line in lines]
    )


def url(name: str, report: MonthlyReport) -> str:
    return f"/admin/reports/months/{name}/{report.pk}/"


def draft(month: datetime.date) -> MonthlyReport:
    report = MonthlyReport.objects.create(month=month)
    ReportEvent.objects.create(report=report, action=ReportEvent.Action.DRAFTED)
    return report


def contentstate(html: str) -> str:
    """What the Draftail editor sends for ``html``."""
    return ContentstateConverter(COMMENTARY_FEATURES).from_database_format(html)


def page_text(response) -> str:
    return response.content.decode()


@pytest.fixture
def last_month():
    return months_ago(1)


@pytest.fixture
def books(last_month):
    """Two months of postings: the month before last (donation, hosting) and last month (patrons with VAT,
    a refund, a grant, salaries, a fee). Returns the expected totals of last month, summed here."""
    before = months_ago(2)
    post(
        before.replace(day=3),
        "t:before:donation",
        ("bank", Decimal("300.00")),
        ("income-donations", Decimal("-300.00")),
    )
    post(
        before.replace(day=9),
        "t:before:hosting",
        ("expense-hosting", Decimal("80.00")),
        ("bank", Decimal("-80.00")),
    )
    post(
        last_month.replace(day=2),
        "t:last:patrons",
        ("stripe", Decimal("1190.00")),
        ("income-patrons-perks", Decimal("-1000.00")),
        ("vat-payable-19", Decimal("-190.00")),
    )
    post(
        last_month.replace(day=6),
        "t:last:refund",
        ("income-patrons-perks", Decimal("100.00")),
        ("vat-payable-19", Decimal("19.00")),
        ("stripe", Decimal("-119.00")),
    )
    post(
        last_month.replace(day=12),
        "t:last:grant",
        ("bank", Decimal("2500.00")),
        ("income-grants", Decimal("-2500.00")),
    )
    post(
        last_month.replace(day=25),
        "t:last:pay",
        ("expense-salaries", Decimal("1800.00")),
        ("bank", Decimal("-1800.00")),
    )
    post(
        last_month.replace(day=26),
        "t:last:fee",
        ("expense-payment-fees", Decimal("23.45")),
        ("stripe", Decimal("-23.45")),
    )
    income = Decimal("1000.00") - Decimal("100.00") + Decimal("2500.00")
    spending = Decimal("1800.00") + Decimal("23.45")
    cash = (
        Decimal("300.00") - Decimal("80.00")  # the month before
        + Decimal("1190.00") - Decimal("119.00") + Decimal("2500.00") - Decimal("1800.00") - Decimal("23.45")
    )  # fmt: skip
    return {"income": income, "spending": spending, "result": income - spending, "cash": cash}


# --- Draft ----------------------------------------------------------------------------------------


def test_finance_drafts_a_month_that_is_over(finance_client, last_month):
    response = finance_client.post(DRAFT, {"month": f"{last_month:%Y-%m}"})

    report = MonthlyReport.objects.get(month=last_month)
    assert response.status_code == 302
    assert response["Location"] == url("inspect", report)
    assert report.status == MonthlyReport.Status.DRAFT
    event = report.events.get()
    assert (event.action, event.by) == ("drafted", finance_client.user)
    page = finance_client.get(response["Location"])
    assert "is drafted from the books" in page_text(page)
    assert "Draft — not published" in page_text(page)


def test_the_draft_form_suggests_last_month(finance_client, last_month):
    response = finance_client.get(DRAFT)

    assert response.status_code == 200
    assert f'value="{last_month:%Y-%m}"' in page_text(response)


def test_drafting_a_month_not_over_yet_is_refused_with_the_reason(finance_client):
    this_month = timezone.localdate().replace(day=1)

    response = finance_client.post(DRAFT, {"month": f"{this_month:%Y-%m}"})

    assert response.status_code == 400
    assert f"{this_month:%Y-%m} has not ended yet." in page_text(response)
    assert not MonthlyReport.objects.exists()


@pytest.mark.parametrize("month", ["2026-13", "0000-01", "next month", ""])
def test_drafting_a_month_that_does_not_exist_is_refused(finance_client, month):
    response = finance_client.post(DRAFT, {"month": month})

    assert response.status_code == 400
    assert not MonthlyReport.objects.exists()


def test_drafting_a_month_twice_keeps_the_first_report(finance_client, last_month):
    report = draft(last_month)

    response = finance_client.post(DRAFT, {"month": f"{last_month:%Y-%m}"}, follow=True)

    assert MonthlyReport.objects.get() == report
    assert report.events.count() == 1
    assert "already has a report" in page_text(response)


# --- The listing ----------------------------------------------------------------------------------


def test_listing_shows_each_month_with_its_status_and_last_event(finance_client, books, last_month):
    finance_client.post(DRAFT, {"month": f"{months_ago(2):%Y-%m}"})
    finance_client.post(DRAFT, {"month": f"{last_month:%Y-%m}"})
    finance_client.post(url("publish", MonthlyReport.objects.get(month=months_ago(2))))

    response = finance_client.get(INDEX)

    text = page_text(response)
    assert response.status_code == 200
    assert f"{last_month:%Y-%m}" in text and f"{months_ago(2):%Y-%m}" in text
    assert "Published" in text and "Draft" in text
    assert "published, " in text  # the last event of the published month
    assert "Draft a month" in text


def test_listing_filters_by_status_and_year(finance_client):
    old = draft(datetime.date(2024, 5, 1))
    MonthlyReport.objects.filter(pk=old.pk).update(status=MonthlyReport.Status.PUBLISHED)
    draft(datetime.date(2025, 2, 1))

    published = page_text(finance_client.get(INDEX + "?status=published"))
    year = page_text(finance_client.get(INDEX + "?year=2025"))

    assert "2024-05" in published and "2025-02" not in published
    assert "2025-02" in year and "2024-05" not in year


def test_listing_exports_as_csv(finance_client, last_month):
    draft(last_month)

    response = finance_client.get(INDEX + "?export=csv")

    assert response.status_code == 200
    assert f"{last_month:%Y-%m}" in b"".join(response.streaming_content).decode()


# --- Commentary -----------------------------------------------------------------------------------


def test_finance_writes_the_commentary_in_english_and_german(finance_client, last_month):
    report = draft(last_month)

    response = finance_client.post(
        url("edit", report),
        {
            "commentary_en": contentstate("<p>We shipped <b>moderation tools</b>.</p>"),
            "commentary_de": contentstate("<p>Wir haben Moderationswerkzeuge veröffentlicht.</p>"),
        },
    )

    report.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == url("inspect", report)
    assert "We shipped <b>moderation tools</b>." in report.commentary_en
    assert "Wir haben Moderationswerkzeuge veröffentlicht." in report.commentary_de
    event = report.events.get(action=ReportEvent.Action.EDITED)
    assert event.by == finance_client.user
    page = page_text(finance_client.get(url("inspect", report)))
    assert "moderation tools" in page and "Moderationswerkzeuge" in page


def test_an_empty_editor_saves_no_commentary_so_german_falls_back_to_english(finance_client, last_month):
    report = draft(last_month)
    empty = '{"blocks":[{"key":"a1b2c","text":"","type":"unstyled","depth":0,"inlineStyleRanges":[],'
    empty += '"entityRanges":[],"data":{}}],"entityMap":{}}'

    finance_client.post(url("edit", report), {"commentary_en": empty, "commentary_de": empty})
    assert not report.events.filter(action=ReportEvent.Action.EDITED).exists()
    finance_client.post(
        url("edit", report), {"commentary_en": contentstate("<p>A quiet month.</p>"), "commentary_de": empty}
    )

    report.refresh_from_db()
    assert report.commentary_de == ""
    assert "A quiet month." in report.commentary("de")


def test_the_commentary_form_uses_the_rich_text_editor(finance_client, last_month):
    report = draft(last_month)

    response = finance_client.get(url("edit", report))

    assert response.status_code == 200
    assert page_text(response).count("w-field--draftail_rich_text_area") == 2  # English and German


# --- Publish --------------------------------------------------------------------------------------


def test_publish_page_shows_the_totals_and_that_the_month_will_be_locked(finance_client, books, last_month):
    draft(months_ago(2))
    MonthlyReport.objects.filter(month=months_ago(2)).update(status=MonthlyReport.Status.PUBLISHED)
    report = draft(last_month)

    response = finance_client.get(url("publish", report))

    text = page_text(response)
    assert response.status_code == 200
    assert f"{books['income']:,.2f}" in text  # 3,400.00
    assert f"{books['spending']:,.2f}" in text  # 1,823.45
    assert f"{books['result']:,.2f}" in text
    assert f"{books['cash']:,.2f}" in text
    assert f"Publishing locks {last_month:%Y-%m} in the books." in text
    assert "Manual postings dated in this month (or earlier) will be refused." in text
    assert "first day of the next open month" in text
    assert f"/reports/{last_month:%Y}/{last_month:%m}/" in text  # the preview


def test_publishing_closes_the_month_and_manual_postings_into_it_are_refused(
    finance_client, books, last_month
):
    report = draft(last_month)
    draft(months_ago(2))
    MonthlyReport.objects.filter(month=months_ago(2)).update(status=MonthlyReport.Status.PUBLISHED)

    response = finance_client.post(url("publish", report), follow=True)

    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.PUBLISHED
    assert report.published_by == finance_client.user
    assert report.published_at is not None
    assert ClosedMonth.objects.filter(month=last_month).exists()
    assert ClosingBalance.objects.filter(month=last_month).exists()
    assert report.events.filter(action=ReportEvent.Action.PUBLISHED, by=finance_client.user).exists()
    assert "is published and the month is closed in the books" in page_text(response)
    with pytest.raises(MonthClosed):
        post(
            last_month.replace(day=15),
            "t:late:manual",
            ("expense-other", Decimal("5.00")),
            ("bank", Decimal("-5.00")),
        )
    with pytest.raises(ManualBookingRefused, match="closed"):
        manual_booking_post(
            booking_date=last_month.replace(day=15),
            description="Bank fee",
            debit_account=Account.objects.get(code="expense-other"),
            credit_account=Account.objects.get(code="bank"),
            amount=Decimal("5.00"),
            cost_centre=CostCentre.objects.get(code="CORE"),
            voucher=SimpleUploadedFile("v.pdf", b"%PDF-1.7 x"),
        )


def test_publishing_out_of_order_is_refused_with_the_services_message(finance_client, books, last_month):
    earlier = draft(months_ago(2))
    report = draft(last_month)

    response = finance_client.post(url("publish", report))

    assert response.status_code == 400
    assert f"Publish {earlier.period} first: months are closed in order." in page_text(response)
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.DRAFT
    assert not ClosedMonth.objects.exists()
    assert not report.events.filter(action=ReportEvent.Action.PUBLISHED).exists()


def test_publishing_a_published_report_again_is_refused(finance_client, last_month):
    report = draft(last_month)
    finance_client.post(url("publish", report))

    response = finance_client.post(url("publish", report), follow=True)

    assert "is already published" in page_text(response)
    assert report.events.filter(action=ReportEvent.Action.PUBLISHED).count() == 1


# --- Re-open --------------------------------------------------------------------------------------


def test_reopening_with_a_reason_unlocks_the_month_and_is_recorded(finance_client, books, last_month):
    report = draft(last_month)
    draft(months_ago(2))
    MonthlyReport.objects.filter(month=months_ago(2)).update(status=MonthlyReport.Status.PUBLISHED)
    finance_client.post(url("publish", report))
    reason = "A supplier's invoice for the month arrived late."

    page = finance_client.get(url("reopen", report))
    response = finance_client.post(url("reopen", report), {"reason": reason}, follow=True)

    assert page.status_code == 200
    assert "The public report is taken offline" in page_text(page)
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.DRAFT
    assert not ClosedMonth.objects.filter(month=last_month).exists()
    reopening = MonthReopening.objects.get()
    assert (reopening.month, reopening.reopened_by, reopening.reason) == (
        last_month,
        finance_client.user,
        reason,
    )
    event = report.events.get(action=ReportEvent.Action.REOPENED)
    assert (event.by, event.note) == (finance_client.user, reason)
    assert "is re-opened" in page_text(response)
    post(
        last_month.replace(day=15),
        "t:late:accepted",
        ("expense-other", Decimal("5.00")),
        ("bank", Decimal("-5.00")),
    )


def test_reopening_without_a_reason_is_refused_and_changes_nothing(finance_client, last_month):
    report = draft(last_month)
    finance_client.post(url("publish", report))

    response = finance_client.post(url("reopen", report), {"reason": "   "})

    assert response.status_code == 400
    assert "Say why the month is re-opened" in page_text(response)
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.PUBLISHED
    assert ClosedMonth.objects.filter(month=last_month).exists()
    assert not MonthReopening.objects.exists()
    assert not report.events.filter(action=ReportEvent.Action.REOPENED).exists()


def test_reopening_an_older_month_first_is_refused_with_the_services_message(finance_client, last_month):
    older = draft(months_ago(2))
    newer = draft(last_month)
    finance_client.post(url("publish", older))
    finance_client.post(url("publish", newer))

    response = finance_client.post(url("reopen", older), {"reason": "Wrong fee"})

    assert response.status_code == 400
    assert f"Re-open {newer.period} first: months are re-opened newest first." in page_text(response)
    assert not MonthReopening.objects.exists()


def test_reopening_a_draft_is_refused(finance_client, last_month):
    report = draft(last_month)

    response = finance_client.post(url("reopen", report), {"reason": "Why not"}, follow=True)

    assert "is not published" in page_text(response)
    assert not MonthReopening.objects.exists()


def test_get_on_publish_and_reopen_changes_nothing(finance_client, last_month):
    report = draft(last_month)

    assert finance_client.get(url("publish", report)).status_code == 200
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.DRAFT
    assert not ClosedMonth.objects.exists()

    finance_client.post(url("publish", report))
    assert finance_client.get(url("reopen", report)).status_code == 200
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.PUBLISHED
    assert ClosedMonth.objects.filter(month=last_month).exists()
    assert not MonthReopening.objects.exists()


# --- History and re-opened months -----------------------------------------------------------------


def test_history_lists_what_happened_with_who_and_why(finance_client, last_month):
    finance_client.post(DRAFT, {"month": f"{last_month:%Y-%m}"})
    report = MonthlyReport.objects.get()
    finance_client.post(url("publish", report))
    finance_client.post(url("reopen", report), {"reason": "Late invoice from the hosting company"})

    response = finance_client.get(url("history", report))

    text = page_text(response)
    assert response.status_code == 200
    for action in ("drafted", "published", "re-opened"):
        assert action in text
    assert "Late invoice from the hosting company" in text
    assert finance_client.user.get_username() in text or finance_client.user.get_full_name() in text


def test_reopened_months_list_who_when_and_why(finance_client, last_month):
    report = draft(last_month)
    finance_client.post(url("publish", report))
    finance_client.post(url("reopen", report), {"reason": "Bank fee booked twice"})

    response = finance_client.get(REOPENED)

    text = page_text(response)
    assert response.status_code == 200
    assert f"{last_month:%Y-%m}" in text
    assert "Bank fee booked twice" in text
    assert finance_client.user.get_full_name() in text or finance_client.user.get_username() in text


# --- Who may do what ------------------------------------------------------------------------------


def assert_denied(response):
    """Wagtail answers a refused admin permission with a redirect to the dashboard and a message (403 for
    a script)."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] == "/admin/"


@pytest.fixture
def reviewer_client(client, make_user):
    """Staff with MFA who may see and draft reports, but not publish them."""
    user = make_user(mfa=True, is_staff=True)
    for codename in ("access_admin", "view_monthlyreport", "add_monthlyreport", "change_monthlyreport"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return client


def test_a_user_without_the_publish_permission_can_neither_publish_nor_reopen(reviewer_client, last_month):
    report = draft(last_month)
    published = draft(months_ago(2))
    MonthlyReport.objects.filter(pk=published.pk).update(status=MonthlyReport.Status.PUBLISHED)

    page = reviewer_client.get(url("inspect", report))

    assert page.status_code == 200
    assert url("publish", report) not in page_text(page)
    assert_denied(reviewer_client.get(url("publish", report)))
    assert_denied(reviewer_client.post(url("publish", report)))
    assert_denied(reviewer_client.post(url("reopen", published), {"reason": "x"}))
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.DRAFT
    assert not ClosedMonth.objects.exists()
    assert not MonthReopening.objects.exists()


def test_editors_see_no_report_screen(editor_client, last_month):
    report = draft(last_month)

    for path in (INDEX, DRAFT, url("inspect", report), url("edit", report), url("publish", report), REOPENED):
        assert editor_client.get(path).status_code in (302, 403), path
    assert editor_client.post(url("publish", report)).status_code in (302, 403)
    report.refresh_from_db()
    assert report.status == MonthlyReport.Status.DRAFT


def test_the_reports_menu_is_there_for_finance_only(make_user):
    finance, editor = Client(), Client()
    finance.force_login(make_user("finance", mfa=True))
    editor.force_login(make_user("editor", mfa=True))

    finance_menu = page_text(finance.get("/admin/"))

    assert INDEX in finance_menu and REOPENED in finance_menu
    assert "/admin/reports/tax/vat/" in finance_menu  # the tax screens of reports/tax_admin.py join it
    assert INDEX not in page_text(editor.get("/admin/"))


def test_a_report_that_does_not_exist_is_not_found(finance_client):
    for name in ("inspect", "edit", "publish", "reopen", "history"):
        assert finance_client.get(f"/admin/reports/months/{name}/987654/").status_code == 404, name
