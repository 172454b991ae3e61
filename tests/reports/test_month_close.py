"""The month close as finance and the books meet it: publishing locks the month, late automatic bookings
land on the first open day with their original date, manual ones are refused, re-opening is recorded."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from fundraising.models import Payment
from ledger.models import Account, ClosedMonth, CostCentre, ManualBooking, MonthReopening, Transaction
from payments.models import WebhookEvent
from payments.services import events_sweep
from reports.figures import month_figures
from reports.models import MonthlyReport, ReportEvent
from reports.services import report_draft, report_publish, report_reopen
from reports.tasks import draft_previous_month
from tests.factories import stripe as s

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def last_month() -> datetime.date:
    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def unix(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC).timestamp())


def paid_invoice_event(fake_stripe, *, paid_on: datetime.date, amount="10.00", fee="0.40") -> dict:
    settlement = fake_stripe.add_charge(amount_eur=Decimal(amount), fee_eur=Decimal(fee))
    inv = s.invoice(
        subscription_id=s.new_id("sub"),
        customer=s.new_id("cus"),
        amount=Decimal(amount),
        metadata={},
        paid_at=unix(paid_on),
    )
    fake_stripe.add_invoice(inv, settlement=settlement)
    return s.event("invoice.paid", inv)


@pytest.fixture
def finance(make_user):
    return make_user("finance", mfa=True)


@pytest.fixture
def published_last_month(client, fake_stripe, finance):
    """Last month has one patron payment and a published report."""
    s.post_event(client, paid_invoice_event(fake_stripe, paid_on=last_month().replace(day=10)))
    report = report_publish(report=report_draft(month=last_month()), by=finance)
    return report


def test_the_first_of_the_month_task_drafts_last_months_report_once():
    draft_previous_month.delay()
    draft_previous_month.delay()

    report = MonthlyReport.objects.get()
    assert (report.month, report.status) == (last_month(), MonthlyReport.Status.DRAFT)
    assert list(report.events.values_list("action", flat=True)) == ["drafted"]


def test_publishing_closes_the_month_and_records_who_did_it(published_last_month, finance):
    report = published_last_month

    assert ClosedMonth.objects.filter(month=last_month()).exists()
    assert (report.status, report.published_by) == (MonthlyReport.Status.PUBLISHED, finance)
    assert report.events.filter(action=ReportEvent.Action.PUBLISHED, by=finance).exists()


def test_a_late_stripe_payment_for_a_published_month_lands_on_the_first_open_day(
    client, fake_stripe, published_last_month
):
    published = month_figures(last_month()).as_json(status="published")
    late_day = last_month().replace(day=20)

    s.post_event(client, paid_invoice_event(fake_stripe, paid_on=late_day, amount="25.00", fee="0.60"))

    late = Transaction.objects.order_by("-id").first()
    assert late.booking_date == timezone.localdate().replace(day=1)
    assert f"original date {late_day:%Y-%m-%d}" in late.source_reference
    assert Payment.objects.count() == 2
    assert month_figures(last_month()).as_json(status="published") == published  # the report stands


def test_a_manual_booking_into_a_published_month_is_refused_with_a_reason(published_last_month, finance):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ledger.manual_bookings import ManualBookingRefused, manual_booking_post

    with pytest.raises(ManualBookingRefused, match="closed"):
        manual_booking_post(
            booking_date=last_month().replace(day=15),
            description="Bank fee",
            debit_account=Account.objects.get(code="expense-other"),
            credit_account=Account.objects.get(code="bank"),
            amount=Decimal("4.50"),
            cost_centre=CostCentre.objects.get(code="CORE"),
            voucher=SimpleUploadedFile("fee.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
            by=finance,
        )
    assert not ManualBooking.objects.exists()


def test_an_event_caught_by_a_close_in_flight_is_kept_and_booked_by_the_sweep(
    client, fake_stripe, published_last_month, monkeypatch
):
    """The close commits between the handler asking for its booking date and posting: the ledger refuses,
    the event stays stored with the error, and the periodic sweep books it once on the first open day."""
    import fundraising.services

    raw = paid_invoice_event(fake_stripe, paid_on=last_month().replace(day=21), amount="12.00")
    with monkeypatch.context() as patch:
        patch.setattr(fundraising.services, "first_open_day", lambda day: day)  # the date asked too early
        s.post_event(client, raw)

    event = WebhookEvent.objects.get(stripe_id=raw["id"])
    assert event.processed_at is None
    assert "MonthClosed" in event.last_error
    assert Payment.objects.count() == 1

    events_sweep(older_than=datetime.timedelta(0))
    events_sweep(older_than=datetime.timedelta(0))

    assert WebhookEvent.objects.get(stripe_id=raw["id"]).processed_at is not None
    assert Payment.objects.count() == 2
    assert Transaction.objects.filter(source_reference__contains="original date").count() == 1


def test_reopening_is_recorded_unlocks_the_month_and_a_new_publication_includes_the_correction(
    published_last_month, finance
):
    from ledger.services import PostingLine, transaction_post

    report = report_reopen(report=published_last_month, by=finance, reason="Bank fee missing")
    transaction_post(
        booking_date=last_month().replace(day=28),
        description="Bank fee",
        idempotency_key="test:bank-fee",
        lines=[PostingLine("expense-other", Decimal("4.50")), PostingLine("bank", Decimal("-4.50"))],
    )
    report_publish(report=report, by=finance)

    reopening = MonthReopening.objects.get()
    assert (reopening.month, reopening.reopened_by, reopening.reason) == (
        last_month(),
        finance,
        "Bank fee missing",
    )
    assert report.events.filter(action=ReportEvent.Action.REOPENED, note="Bank fee missing").exists()
    assert month_figures(last_month()).spending["other"] == Decimal("4.50")
    assert ClosedMonth.objects.filter(month=last_month()).exists()


def test_only_finance_may_publish_or_reopen(make_user, published_last_month):
    from django.core.exceptions import PermissionDenied

    editor = make_user("editor", mfa=True)
    with pytest.raises(PermissionDenied):
        report_reopen(report=published_last_month, by=editor, reason="no")
    assert not MonthReopening.objects.exists()
