"""Sponsorship workflows and their books: the allowed moves, the VAT treatment of each case, invoices,
credit notes, Stripe and bank payments (each booked once), refunds, reminders, renewals, the daily pass."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from ledger.models import Posting, Transaction
from sponsors import services
from sponsors.models import (
    TRANSITIONS,
    InvalidTransition,
    Invoice,
    Sponsorship,
    SponsorshipChange,
    VatTreatment,
    vat_treatment_for,
)
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory
from tests.factories.stripe import charge_refunded, checkout_session, dispute, event, post_event

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _quiet_side_effects(monkeypatch):
    """E-mails and PDFs have their own tests: here only what was queued is recorded."""
    sent: list[tuple] = []

    class Emails:
        def __getattr__(self, name):
            return lambda **kwargs: sent.append((name, kwargs))

    monkeypatch.setattr(services, "_emails", lambda: Emails())
    monkeypatch.setattr(
        services, "_invoice_document_queue", lambda **kwargs: sent.append(("invoice_document", kwargs))
    )
    return sent


@pytest.fixture
def staff(make_user):
    return make_user("finance", mfa=True)


def balance(code: str) -> Decimal:
    return Posting.objects.filter(account__code=code).aggregate(total=Sum("amount"))["total"] or Decimal(
        "0.00"
    )


def submitted(**fields) -> Sponsorship:
    package = fields.pop("package", None) or PackageFactory(price=Decimal("6000.00"))
    sponsor = fields.pop("sponsor", None) or SponsorFactory()
    sponsorship = services.sponsorship_draft(
        sponsor=sponsor,
        package=package,
        start_date=fields.pop("start_date", TODAY + datetime.timedelta(days=3)),
    )
    return services.application_submit(sponsorship=sponsorship)


def invoiced(**fields) -> Invoice:
    sponsorship = submitted(**fields)
    sponsorship = services.sponsorship_approve(sponsorship=sponsorship, by=None)
    return sponsorship.invoices.get()


# --- The allowed moves ------------------------------------------------------------------------


def test_every_status_allows_exactly_the_moves_in_the_table(db):
    for status, _label in Sponsorship.Status.choices:
        sponsorship = SponsorshipFactory(status=status)
        expected = {action for action, (sources, _target) in TRANSITIONS.items() if status in sources}
        assert set(sponsorship.allowed_actions()) == expected


def test_a_refused_move_raises_and_changes_nothing(db):
    sponsorship = SponsorshipFactory(status=Sponsorship.Status.DRAFT)
    with pytest.raises(InvalidTransition):
        sponsorship.approve(by=None)
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.DRAFT
    assert not SponsorshipChange.objects.exists()


def test_each_move_is_recorded_with_who_when_and_why(db, staff):
    sponsorship = submitted()
    services.sponsorship_reject(sponsorship=sponsorship, by=staff, reason="Not a fit for our community.")
    changes = list(sponsorship.changes.values_list("from_status", "to_status", "by", "reason"))
    assert changes == [
        ("draft", "submitted", None, ""),
        ("submitted", "rejected", staff.pk, "Not a fit for our community."),
    ]


def test_rejecting_needs_a_reason(db, staff):
    sponsorship = submitted()
    with pytest.raises(ValidationError):
        services.sponsorship_reject(sponsorship=sponsorship, by=staff, reason="  ")
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.SUBMITTED


def test_a_full_package_refuses_a_new_application(db):
    package = PackageFactory(capacity=1)
    invoiced(package=package)
    draft = services.sponsorship_draft(
        sponsor=SponsorFactory(), package=package, start_date=TODAY + datetime.timedelta(days=3)
    )
    with pytest.raises(services.SponsorshipRefused, match="fully booked"):
        services.application_submit(sponsorship=draft)
    draft.refresh_from_db()
    assert draft.status == Sponsorship.Status.DRAFT


def test_a_past_start_date_is_refused(db):
    draft = services.sponsorship_draft(
        sponsor=SponsorFactory(), package=PackageFactory(), start_date=TODAY - datetime.timedelta(days=1)
    )
    with pytest.raises(services.SponsorshipRefused, match="past"):
        services.application_submit(sponsorship=draft)


# --- VAT treatment and the invoice's books -----------------------------------------------------


@pytest.mark.parametrize(
    ("sponsor_traits", "passive", "treatment", "income_account", "vat"),
    [
        ({}, False, VatTreatment.DOMESTIC, "income-sponsorship-vat", Decimal("1140.00")),
        (
            {"french": True},
            False,
            VatTreatment.REVERSE_CHARGE,
            "income-sponsorship-reverse-charge",
            Decimal("0"),
        ),
        ({"american": True}, False, VatTreatment.NON_EU, "income-sponsorship-non-eu", Decimal("0")),
        ({}, True, VatTreatment.PASSIVE, "income-sponsorship-passive", Decimal("0")),
        ({"french": True}, True, VatTreatment.PASSIVE, "income-sponsorship-passive", Decimal("0")),
    ],
)
def test_an_issued_invoice_books_the_receivable_income_and_vat_of_its_case(
    db, sponsor_traits, passive, treatment, income_account, vat
):
    package = PackageFactory(price=Decimal("6000.00"), links_to_sponsor=not passive)
    invoice = invoiced(package=package, sponsor=SponsorFactory(**sponsor_traits))
    assert invoice.vat_treatment == treatment
    assert invoice.net_amount == Decimal("6000.00")
    assert invoice.vat_amount == vat
    assert invoice.gross_amount == Decimal("6000.00") + vat
    assert balance("receivables") == Decimal("6000.00") + vat
    assert balance(income_account) == Decimal("-6000.00")
    assert balance("vat-payable-19") == -vat
    assert invoice.sponsorship.status == Sponsorship.Status.INVOICED
    assert invoice.number == f"RS-{TODAY.year}-00001"


def test_an_eu_customer_without_a_valid_vat_id_pays_german_vat(db):
    package = PackageFactory()
    assert vat_treatment_for(package=package, country="FR", vat_id="") == VatTreatment.DOMESTIC
    assert vat_treatment_for(package=package, country="FR", vat_id="FR40303265046") == VatTreatment.DOMESTIC
    assert (
        vat_treatment_for(package=package, country="AT", vat_id="ATU57194903") == VatTreatment.REVERSE_CHARGE
    )
    assert vat_treatment_for(package=package, country="CH", vat_id="") == VatTreatment.NON_EU


def test_a_monthly_price_is_multiplied_by_the_duration(db):
    package = PackageFactory(price=Decimal("250.00"), price_period="month", duration_months=6)
    invoice = invoiced(package=package)
    assert invoice.net_amount == Decimal("1500.00")
    assert invoice.service_end == package.period_end(invoice.service_start)
    assert (invoice.service_end - invoice.service_start).days in range(180, 185)


def test_invoice_numbers_are_sequential_without_gaps(db):
    numbers = [invoiced().number for _ in range(3)]
    assert numbers == [f"RS-{TODAY.year}-{n:05d}" for n in (1, 2, 3)]


def test_an_issued_invoice_keeps_the_buyer_it_was_issued_to(db):
    invoice = invoiced()
    sponsor = invoice.sponsorship.sponsor
    sponsor.legal_name = "Renamed GmbH"
    sponsor.save()
    invoice.refresh_from_db()
    assert invoice.buyer["legal_name"].startswith("Example Hosting")


def test_issuing_twice_is_refused_and_books_once(db):
    invoice = invoiced()
    with pytest.raises(InvalidTransition):
        services.invoice_issue(sponsorship=invoice.sponsorship)
    assert Invoice.objects.count() == 1
    assert Transaction.objects.count() == 1


# --- Bank transfer -----------------------------------------------------------------------------


def test_a_bank_transfer_marked_paid_moves_the_receivable_to_the_bank_and_activates(db, staff):
    invoice = invoiced()
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA 4711 RS", by=staff)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_via == "bank"
    assert balance("receivables") == Decimal("0.00")
    assert balance("bank") == Decimal("7140.00")
    assert invoice.sponsorship.status == Sponsorship.Status.ACTIVE


def test_marking_paid_twice_is_refused_and_books_once(db, staff):
    invoice = invoiced()
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA 1", by=staff)
    with pytest.raises(InvalidTransition):
        services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA 1", by=staff)
    assert balance("bank") == Decimal("7140.00")


@pytest.mark.parametrize(
    ("paid_on", "reference", "message"),
    [
        (TODAY + datetime.timedelta(days=1), "SEPA", "future"),
        (TODAY, "  ", "reference"),
        (TODAY - datetime.timedelta(days=30), "SEPA", "before the invoice date"),
    ],
)
def test_a_bad_bank_payment_is_refused_with_a_reason(db, staff, paid_on, reference, message):
    invoice = invoiced()
    with pytest.raises(ValidationError, match=message):
        services.invoice_mark_paid(invoice=invoice, paid_on=paid_on, reference=reference, by=staff)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert balance("bank") == Decimal("0.00")


# --- Stripe --------------------------------------------------------------------------------------


def paid_session(invoice: Invoice, fake_stripe, *, fee=Decimal("1.60")):
    settlement = fake_stripe.add_charge(amount_eur=invoice.gross_amount, fee_eur=fee)
    session = checkout_session(
        mode="payment",
        metadata={
            "purpose": "sponsorship",
            "invoice": invoice.number,
            "sponsorship": str(invoice.sponsorship_id),
        },
        amount=invoice.gross_amount,
        payment_intent=settlement.payment_intent_id,
        email=invoice.buyer["email"],
    )
    return settlement, event("checkout.session.completed", session)


def test_a_stripe_payment_books_the_balance_the_fee_and_activates_once(db, client, fake_stripe):
    invoice = invoiced()
    settlement, raw = paid_session(invoice, fake_stripe)
    assert post_event(client, raw).status_code == 200
    assert post_event(client, raw).status_code == 200  # Stripe repeats the delivery
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.stripe_charge_id == settlement.charge_id
    assert balance("stripe") == Decimal("7140.00") - Decimal("1.60")
    assert balance("expense-payment-fees") == Decimal("1.60")
    assert balance("receivables") == Decimal("0.00")
    assert invoice.sponsorship.status == Sponsorship.Status.ACTIVE
    assert invoice.sponsorship.changes.filter(action="activate").count() == 1


def test_a_sponsor_payment_is_no_patron_payment(db, client, fake_stripe):
    from fundraising.models import Patron, Patronage, Payment

    invoice = invoiced()
    _settlement, raw = paid_session(invoice, fake_stripe)
    post_event(client, raw)
    assert not Payment.objects.exists()
    assert not Patronage.objects.exists()
    assert not Patron.objects.exists()


def test_a_payment_for_a_cancelled_invoice_is_booked_and_finance_is_told(
    db, client, fake_stripe, staff, mailoutbox
):
    invoice = invoiced()
    _settlement, raw = paid_session(invoice, fake_stripe, fee=Decimal("0"))
    services.invoice_cancel(invoice=invoice, by=staff, reason="Company withdrew")
    post_event(client, raw)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED
    assert balance("stripe") == Decimal("7140.00")
    assert balance("receivables") == Decimal("-7140.00")  # owed back to the sponsor
    assert any("cancelled" in message.subject for message in mailoutbox)


def test_a_refund_of_a_sponsor_payment_is_booked_once_and_not_by_fundraising(db, client, fake_stripe):
    invoice = invoiced()
    settlement, raw = paid_session(invoice, fake_stripe, fee=Decimal("0"))
    post_event(client, raw)
    fake_stripe.refunds["re_sponsor1"] = (Decimal("7140.00"), Decimal("0"))
    refund = event(
        "charge.refunded",
        charge_refunded(
            charge_id=settlement.charge_id,
            amount=Decimal("7140.00"),
            refunded=[("re_sponsor1", Decimal("7140.00"))],
        ),
    )
    assert post_event(client, refund).status_code == 200
    post_event(client, refund)
    assert balance("stripe") == Decimal("0.00")
    assert balance("receivables") == Decimal("7140.00")
    invoice.refresh_from_db()
    assert invoice.refunded_amount == Decimal("7140.00")
    from payments.models import WebhookEvent

    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_won_dispute_returns_the_money_and_keeps_the_fee(db, client, fake_stripe):
    invoice = invoiced()
    settlement, raw = paid_session(invoice, fake_stripe, fee=Decimal("0"))
    post_event(client, raw)
    fake_stripe.disputes["dp_1"] = (Decimal("7140.00"), Decimal("15.00"))
    post_event(
        client,
        event(
            "charge.dispute.created",
            dispute(
                dispute_id="dp_1",
                charge_id=settlement.charge_id,
                amount=Decimal("7140.00"),
                status="needs_response",
            ),
        ),
    )
    assert balance("stripe") == Decimal("-15.00")
    post_event(
        client,
        event(
            "charge.dispute.closed",
            dispute(
                dispute_id="dp_1", charge_id=settlement.charge_id, amount=Decimal("7140.00"), status="won"
            ),
        ),
    )
    assert balance("stripe") == Decimal("7125.00")
    assert balance("expense-payment-fees") == Decimal("15.00")
    assert balance("receivables") == Decimal("0.00")


def test_checkout_for_an_open_invoice_asks_for_card_and_sepa_without_a_stripe_invoice(db, monkeypatch):
    from payments.types import CheckoutSession

    requests = []

    class Gateway:
        def checkout_create(self, *, request):
            requests.append(request)
            return CheckoutSession(id="cs_test_1", url="https://checkout.example/1")

    monkeypatch.setattr(services, "gateway", lambda: Gateway())
    invoice = invoiced()
    session = services.invoice_checkout_start(
        invoice=invoice, success_url="https://x/ok", cancel_url="https://x/no"
    )
    assert session.url == "https://checkout.example/1"
    (request,) = requests
    assert request.amount == Decimal("7140.00")
    assert request.metadata["purpose"] == "sponsorship"
    assert request.metadata["invoice"] == invoice.number
    assert set(request.payment_methods) == {"card", "sepa_debit"}
    assert request.stripe_invoice is False
    invoice.refresh_from_db()
    assert invoice.stripe_checkout_session_id == "cs_test_1"


def test_checkout_for_a_paid_invoice_is_refused(db, staff):
    invoice = invoiced()
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA", by=staff)
    with pytest.raises(services.SponsorshipRefused):
        services.invoice_checkout_start(invoice=invoice, success_url="https://x/", cancel_url="https://x/")


# --- Credit notes --------------------------------------------------------------------------------


def test_cancelling_an_invoice_makes_a_credit_note_and_reverses_the_books(db, staff):
    invoice = invoiced()
    credit_note = services.invoice_cancel(invoice=invoice, by=staff, reason="Wrong company")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED
    assert invoice.gross_amount == Decimal("7140.00")  # never edited
    assert credit_note.kind == Invoice.Kind.CREDIT_NOTE
    assert credit_note.cancels == invoice
    assert credit_note.number == f"GS-{TODAY.year}-00001"
    assert credit_note.gross_amount == invoice.gross_amount
    for code in ("receivables", "income-sponsorship-vat", "vat-payable-19"):
        assert balance(code) == Decimal("0.00")
    with pytest.raises(InvalidTransition):
        services.invoice_cancel(invoice=invoice, by=staff, reason="again")


def test_a_corrected_invoice_follows_its_credit_note(db, staff):
    invoice = invoiced()
    sponsor = invoice.sponsorship.sponsor
    sponsor.street = "Neue Straße 9"
    sponsor.save()
    services.invoice_cancel(invoice=invoice, by=staff, reason="New address", reissue=True)
    sponsorship = Sponsorship.objects.get(pk=invoice.sponsorship_id)
    corrected = sponsorship.invoices.get(kind="invoice", status="open")
    assert corrected.buyer["street"] == "Neue Straße 9"
    assert corrected.number == f"RS-{TODAY.year}-00002"
    assert sponsorship.status == Sponsorship.Status.INVOICED
    assert balance("receivables") == Decimal("7140.00")


def test_cancelling_a_paid_sponsorship_credits_it_and_tells_finance_to_refund(
    db, staff, mailoutbox, django_capture_on_commit_callbacks
):
    invoice = invoiced()
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA", by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.sponsorship_cancel(sponsorship=invoice.sponsorship, by=staff, reason="Company closed")
    sponsorship = Sponsorship.objects.get(pk=invoice.sponsorship_id)
    assert sponsorship.status == Sponsorship.Status.CANCELLED
    assert balance("receivables") == Decimal("-7140.00")
    assert any("Refund due" in message.subject for message in mailoutbox)


# --- Reminders, renewals, the daily pass --------------------------------------------------------


def test_payment_reminders_go_out_7_and_21_days_after_the_due_date_once_each(db, _quiet_side_effects):
    invoice = invoiced()
    due = invoice.due_date
    assert services.invoice_reminders_send(today=due + datetime.timedelta(days=6)) == 0
    assert services.invoice_reminders_send(today=due + datetime.timedelta(days=7)) == 1
    assert services.invoice_reminders_send(today=due + datetime.timedelta(days=8)) == 0
    assert services.invoice_reminders_send(today=due + datetime.timedelta(days=21)) == 1
    assert services.invoice_reminders_send(today=due + datetime.timedelta(days=40)) == 0
    levels = [kwargs["level"] for name, kwargs in _quiet_side_effects if name == "invoice_reminder"]
    assert levels == [1, 2]


def test_a_paid_invoice_gets_no_reminder(db, staff):
    invoice = invoiced()
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA", by=staff)
    assert services.invoice_reminders_send(today=invoice.due_date + datetime.timedelta(days=30)) == 0


def active(**fields) -> Sponsorship:
    invoice = invoiced(**fields)
    services.invoice_mark_paid(invoice=invoice, paid_on=TODAY, reference="SEPA", by=None)
    return Sponsorship.objects.get(pk=invoice.sponsorship_id)


def test_renewal_reminders_go_out_30_and_7_days_before_the_end_once_each(db, _quiet_side_effects):
    sponsorship = active()
    end = sponsorship.end_date
    assert services.renewal_reminders_send(today=end - datetime.timedelta(days=31)) == 0
    assert services.renewal_reminders_send(today=end - datetime.timedelta(days=30)) == 1
    assert services.renewal_reminders_send(today=end - datetime.timedelta(days=20)) == 0
    assert services.renewal_reminders_send(today=end - datetime.timedelta(days=7)) == 1
    assert services.renewal_reminders_send(today=end - datetime.timedelta(days=1)) == 0
    days = [kwargs["days"] for name, kwargs in _quiet_side_effects if name == "renewal_reminder"]
    assert days == [30, 7]


def test_accepting_a_renewal_invoices_the_next_period(db):
    sponsorship = active()
    renewal = services.renewal_accept(sponsorship=sponsorship, by=None)
    assert renewal.previous == sponsorship
    assert renewal.start_date == sponsorship.end_date + datetime.timedelta(days=1)
    assert renewal.status == Sponsorship.Status.INVOICED
    assert renewal.invoices.get().service_start == renewal.start_date
    with pytest.raises(services.SponsorshipRefused):
        services.renewal_accept(sponsorship=sponsorship, by=None)


def test_a_renewed_sponsorship_gets_no_renewal_reminder(db):
    sponsorship = active()
    services.renewal_accept(sponsorship=sponsorship, by=None)
    assert services.renewal_reminders_send(today=sponsorship.end_date - datetime.timedelta(days=7)) == 0


def test_the_daily_pass_ends_expired_sponsorships(db):
    sponsorship = active()
    assert services.daily_upkeep(today=sponsorship.end_date)["ended"] == 0
    assert services.daily_upkeep(today=sponsorship.end_date + datetime.timedelta(days=1))["ended"] == 1
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.ENDED
    assert services.daily_upkeep(today=sponsorship.end_date + datetime.timedelta(days=2))["ended"] == 0


def test_approval_approves_the_logo_waiting_for_review(db, staff):
    from sponsors.models import SponsorLogo

    sponsorship = submitted()
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (200, 100), (20, 80, 160, 255)).save(buffer, "PNG")
    logo = SponsorLogo(sponsor=sponsorship.sponsor)
    logo.image.save("logo.png", ContentFile(buffer.getvalue()), save=False)
    logo.width, logo.height = 200, 100
    logo.save()
    services.sponsorship_approve(sponsorship=sponsorship, by=staff, issue_invoice=False)
    logo.refresh_from_db()
    assert logo.status == SponsorLogo.Status.APPROVED
    sponsorship.refresh_from_db()
    assert sponsorship.status == Sponsorship.Status.APPROVED


# --- SEPA Direct Debit: pending, then paid or returned ---------------------------------------------


def sepa_events(invoice: Invoice, fake_stripe):
    settlement = fake_stripe.add_charge(amount_eur=invoice.gross_amount, fee_eur=Decimal("0.35"))
    metadata = {"purpose": "sponsorship", "invoice": invoice.number}
    session = checkout_session(
        mode="payment",
        metadata=metadata,
        amount=invoice.gross_amount,
        payment_intent=settlement.payment_intent_id,
    )
    pending = dict(session, payment_status="unpaid")
    return (
        event("checkout.session.completed", pending),
        event("checkout.session.async_payment_succeeded", session),
        event("checkout.session.async_payment_failed", dict(session, payment_status="unpaid")),
    )


def test_an_authorised_debit_is_pending_and_books_nothing_until_it_clears(db, client, fake_stripe):
    invoice = invoiced()
    completed, succeeded, _failed = sepa_events(invoice, fake_stripe)
    post_event(client, completed)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.payment_pending_since is not None
    assert balance("stripe") == Decimal("0.00")
    post_event(client, succeeded)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payment_pending_since is None
    assert balance("stripe") == Decimal("7140.00") - Decimal("0.35")


def test_a_returned_debit_reopens_the_invoice_and_tells_finance_and_the_sponsor(
    db, client, fake_stripe, _quiet_side_effects, mailoutbox, staff
):
    invoice = invoiced()
    completed, _succeeded, failed = sepa_events(invoice, fake_stripe)
    post_event(client, completed)
    post_event(client, failed)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.payment_pending_since is None
    assert balance("stripe") == Decimal("0.00")
    assert ("invoice_payment_failed", {"invoice_id": invoice.pk}) in _quiet_side_effects
    assert any("failed" in message.subject for message in mailoutbox)
