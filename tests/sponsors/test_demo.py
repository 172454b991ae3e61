"""The sponsors' demo data: about 46 sponsorships over the demo window in every status and VAT case,
booked through the real services (the ledger balances), once however often it runs."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from stdnum.eu import vat as eu_vat

from ledger.demo import window
from ledger.models import Posting, Transaction
from sponsors import demo
from sponsors.models import Invoice, Package, Sponsor, SponsorLogo, Sponsorship, VatTreatment

pytestmark = pytest.mark.django_db


def seed(log=None):
    messages = [] if log is None else log
    demo.seed(
        rng=random.Random("2026:sponsors"),
        today=timezone.localdate(),
        real_kinds=demo.PROVIDES,
        log=messages.append,
    )
    return messages


@pytest.fixture
def seeded(organisation):
    seed()


def test_seeding_makes_about_46_sponsorships_in_every_status(seeded):
    statuses = set(Sponsorship.objects.values_list("status", flat=True))

    assert 40 <= Sponsorship.objects.count() <= 50
    assert statuses == set(Sponsorship.Status.values)


def test_seeded_invoices_cover_every_vat_treatment_with_the_right_figures(seeded):
    invoices = Invoice.objects.invoices()

    assert set(invoices.values_list("vat_treatment", flat=True)) == set(VatTreatment.values)
    for invoice in invoices:
        expected_vat = (
            (invoice.net_amount * Decimal("0.19")).quantize(Decimal("0.01"))
            if invoice.vat_treatment == VatTreatment.DOMESTIC
            else Decimal("0.00")
        )
        assert invoice.vat_amount == expected_vat, invoice.number
        assert invoice.gross_amount == invoice.net_amount + expected_vat


def test_every_demo_vat_id_is_valid(seeded):
    vat_ids = [vat_id for vat_id in Sponsor.objects.values_list("vat_id", flat=True) if vat_id]

    assert len(vat_ids) >= 25
    assert all(eu_vat.is_valid(vat_id) for vat_id in vat_ids)


def test_seeded_books_balance_and_receivables_equal_the_open_invoices(seeded):
    open_gross = sum(Invoice.objects.open().values_list("gross_amount", flat=True))

    assert Posting.objects.total() == Decimal("0.00")
    assert Posting.objects.filter(account__code="receivables").total() == open_gross
    assert Posting.objects.filter(account__code="stripe").total() == Decimal("0.00")  # paid out


def test_seeded_history_lies_in_the_demo_window(seeded):
    first_month = window(timezone.localdate())[0]

    assert not Posting.objects.filter(booking_date__lt=first_month).exists()
    assert not Invoice.objects.filter(issue_date__gt=timezone.localdate()).exists()
    assert Sponsorship.objects.filter(status="ended").count() >= 10
    assert Sponsorship.objects.filter(status="active").count() >= 10


def test_invoice_numbers_follow_the_invoice_dates(seeded):
    by_number = list(Invoice.objects.invoices().order_by("number").values_list("issue_date", flat=True))

    assert by_number == sorted(by_number)


def test_seeded_overdue_invoices_have_their_reminders(seeded):
    overdue = list(Invoice.objects.overdue())

    assert len(overdue) >= 3
    for invoice in overdue:
        assert invoice.reminder_1_sent_at is not None
        if invoice.days_overdue >= 21:
            assert invoice.reminder_2_sent_at is not None


def test_seeded_cancellations_include_a_credit_note(seeded):
    credit_notes = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE)
    cancelled = Sponsorship.objects.filter(status="cancelled")

    assert credit_notes.filter(sponsorship__status="cancelled").exists()
    assert credit_notes.filter(sponsorship__status="invoiced").exists()  # a corrected invoice
    assert cancelled.filter(invoices__isnull=True).exists()  # withdrawn before review


def test_platinum_never_has_two_sponsors_at_once(seeded):
    platinum = Package.objects.get(slug="platinum")
    held = Sponsorship.objects.filter(package=platinum).holding_seat().order_by("start_date")
    ended_and_held = list(
        Sponsorship.objects.filter(package=platinum, status__in=["ended", "active", "invoiced", "approved"])
    )

    assert held.count() <= 1
    periods = sorted((s.start_date, s.end_date) for s in ended_and_held)
    assert all(earlier[1] < later[0] for earlier, later in zip(periods, periods[1:], strict=False))


def test_packages_are_published_with_bronze_a_passive_mention(seeded):
    packages = {package.slug: package for package in Package.objects.live()}

    assert set(packages) == {"platinum", "gold", "silver", "bronze"}
    assert packages["platinum"].capacity == 1
    assert packages["bronze"].links_to_sponsor is False
    assert [packages[slug].price for slug in ("platinum", "gold", "silver", "bronze")] == [
        Decimal("12000.00"),
        Decimal("6000.00"),
        Decimal("3000.00"),
        Decimal("1200.00"),
    ]


def test_logos_are_stored_and_some_wait_for_review(seeded):
    assert SponsorLogo.objects.filter(status=SponsorLogo.Status.APPROVED).count() >= 20
    assert SponsorLogo.objects.filter(status=SponsorLogo.Status.PENDING).exists()
    assert SponsorLogo.objects.filter(status=SponsorLogo.Status.REJECTED).exists()
    for sponsorship in Sponsorship.objects.placed():
        assert sponsorship.sponsor.current_logo() is not None


def test_demo_sponsor_login_manages_an_active_sponsor(organisation, make_user):
    user = make_user(email="sponsor@example.org", username="sponsor@example.org")

    seed()

    sponsor = Sponsor.objects.get(users=user)
    assert sponsor.sponsorships.filter(status="active").exists()


def test_demo_invoices_name_the_organisation_as_seller_on_a_fresh_database(db):
    seed()

    sellers = {invoice.seller.get("name") for invoice in Invoice.objects.all()}
    assert sellers == {"Fediverse Commons gGmbH"}
    assert all(invoice.seller.get("vat_id") for invoice in Invoice.objects.all())


def test_second_run_adds_nothing(seeded):
    counts = (Sponsorship.objects.count(), Invoice.objects.count(), Transaction.objects.count())
    logos = SponsorLogo.objects.count()

    messages = seed()

    assert (Sponsorship.objects.count(), Invoice.objects.count(), Transaction.objects.count()) == counts
    assert SponsorLogo.objects.count() == logos
    assert "already there" in messages[-1]


def test_seeding_is_fast(organisation):
    started = time.monotonic()

    seed()

    assert time.monotonic() - started < 15


def test_ledger_demo_skips_sponsorship_postings_when_sponsors_seed_them(organisation):
    from ledger import demo as ledger_demo

    seed()
    ledger_demo.seed(
        rng=random.Random(1),
        today=timezone.localdate(),
        real_kinds={"sponsorships"},
        log=lambda message: None,
    )

    assert not Transaction.objects.filter(idempotency_key__startswith="demo:sponsorships:").exists()
    assert Posting.objects.total() == Decimal("0.00")


def test_seed_demo_runs_sponsors_after_patrons_and_before_the_ledger_closes_months():
    from cms.management.commands.seed_demo import demo_modules

    order = [label for label, _module in demo_modules()]

    assert order.index("fundraising") < order.index("sponsors") < order.index("ledger")
