"""E-mails to patrons: in their language, with absolute links, never to erased patrons."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from fundraising import emails
from fundraising.models import DonationReceipt, Kind, Patronage
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://support.example.org"
    settings.DEFAULT_FROM_EMAIL = "Fediverse Commons <hello@example.org>"


@pytest.fixture
def german_patron():
    return PatronFactory(language="de", email="grete@example.de", name="Grete Müller")


@pytest.fixture
def patronage(german_patron):
    tier = TierFactory(name="Supporter", name_de="Unterstützerin", monthly_amount=Decimal("5.00"))
    return PatronageFactory(patron=german_patron, tier=tier, amount=Decimal("5.00"))


def _receipt(patron):
    return DonationReceipt.objects.create(
        number="ZB-2026-00009",
        patron=patron,
        kind=DonationReceipt.Kind.ANNUAL,
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        total=Decimal("120.00"),
        donor_name=patron.name,
        donor_address="Musterstraße 1\n10115 Berlin",
        retain_until=datetime.date(2034, 12, 31),
    )


def test_thank_you_goes_out_in_german_for_a_german_patron(patronage):
    payment = PaymentFactory(
        patronage=patronage,
        number="RE-2026-00031",
        paid_at=timezone.make_aware(datetime.datetime(2026, 3, 5, 12, 0)),
    )

    emails.send_thank_you(payment=payment)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["grete@example.de"]
    assert message.from_email == "Fediverse Commons <hello@example.org>"
    assert message.extra_headers["Content-Language"] == "de"
    assert "Grete Müller" in message.body
    assert "„Unterstützerin“" in message.body or "Unterstützerin" in message.body
    assert "5,00 EUR" in message.body  # German number format
    assert "5. März 2026" in message.body  # German date
    assert "https://support.example.org/de/support/mine/payments/RE-2026-00031.pdf" in message.body
    assert "https://support.example.org/de/support/mine/" in message.body


def test_thank_you_to_a_guest_invites_to_sign_up_with_the_address_filled_in(settings):
    patron = PatronFactory(email="guest@example.org", user=None)
    payment = PaymentFactory(patronage=PatronageFactory(patron=patron))

    emails.send_thank_you(payment=payment)

    assert "https://support.example.org/accounts/signup/?email=guest%40example.org" in mail.outbox[0].body


def test_thank_you_for_a_perk_tier_says_no_donation_receipt():
    tier = TierFactory(kind=Kind.PERK)
    payment = PaymentFactory(patronage=PatronageFactory(tier=tier))

    emails.send_thank_you(payment=payment)

    assert "no donation receipt can be issued" in mail.outbox[0].body
    assert "Your invoice (PDF):" in mail.outbox[0].body


def test_claim_account_links_to_sign_up_with_the_address_filled_in():
    patron = PatronFactory(email="guest@example.org", user=None, language="en")

    emails.send_claim_account(patron=patron)

    assert len(mail.outbox) == 1
    assert "https://support.example.org/accounts/signup/?email=guest%40example.org" in mail.outbox[0].body


def test_claim_account_is_not_sent_to_a_patron_with_an_account(make_user):
    user = make_user("patron")
    patron = PatronFactory(email=user.email, user=user)

    emails.send_claim_account(patron=patron)

    assert mail.outbox == []


def test_payment_failed_carries_the_link_to_fix_the_card(patronage):
    patronage.status = Patronage.Status.PAST_DUE
    patronage.payment_failed_at = timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 0))

    emails.send_payment_failed(patronage=patronage, fix_url="https://invoice.stripe.test/i/abc")

    body = mail.outbox[0].body
    assert "https://invoice.stripe.test/i/abc" in body
    assert "15. April 2026" in body  # perks kept for the 14-day grace period


def test_perks_suspended_and_subscription_ended_are_sent(patronage):
    emails.send_perks_suspended(patronage=patronage)
    patronage.ended_at = timezone.make_aware(datetime.datetime(2026, 5, 2, 9, 0))
    emails.send_subscription_ended(patronage=patronage)

    assert len(mail.outbox) == 2
    assert "https://support.example.org/de/support/mine/" in mail.outbox[0].body
    assert "2. Mai 2026" in mail.outbox[1].body
    assert "https://support.example.org/de/" in mail.outbox[1].body


def test_annual_receipt_ready_names_the_year_and_total(german_patron):
    emails.send_annual_receipt_ready(receipt=_receipt(german_patron))

    message = mail.outbox[0]
    assert "2026" in message.subject
    assert "120,00 EUR" in message.body


def test_nothing_is_sent_to_an_erased_patron(patronage):
    patron = patronage.patron
    payment = PaymentFactory(patronage=patronage)
    receipt = _receipt(patron)
    patron.email = ""
    patron.name = ""
    patron.erased_at = timezone.now()
    patron.save()

    emails.send_thank_you(payment=payment)
    emails.send_claim_account(patron=patron)
    emails.send_payment_failed(patronage=patronage, fix_url="https://example.org/fix")
    emails.send_perks_suspended(patronage=patronage)
    emails.send_subscription_ended(patronage=patronage)
    emails.send_annual_receipt_ready(receipt=receipt)

    assert mail.outbox == []


def test_erased_patron_with_a_leftover_address_still_gets_nothing(patronage):
    patron = patronage.patron
    patron.erased_at = timezone.now()
    patron.save()

    emails.send_perks_suspended(patronage=patronage)

    assert mail.outbox == []
