"""Payment confirmation PDFs: an invoice under § 14 UStG for a perk tier, a plain confirmation for a donation."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader
from wagtail.models import Site

from cms.models import OrganisationSettings
from fundraising.confirmations import confirmation_render, confirmation_retain_until, confirmation_store
from fundraising.models import Interval, Kind
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def organisation():
    settings = OrganisationSettings.for_site(Site.objects.get(is_default_site=True))
    settings.legal_name = "Fediverse Commons gGmbH"
    settings.street = "Beispielweg 5"
    settings.postcode = "10999"
    settings.city = "Berlin"
    settings.tax_office = "Finanzamt für Körperschaften I Berlin"
    settings.tax_number = "27/123/45678"
    settings.vat_id = "DE123456789"
    settings.save()
    return settings


def _text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def _paid_at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, 12, 0))


def test_perk_payment_confirmation_is_an_invoice_with_vat():
    patron = PatronFactory(
        name="Grace Hopper", address_line1="Hafenstraße 7", postal_code="20457", city="Hamburg"
    )
    tier = TierFactory(name="Emoji Club", monthly_amount=Decimal("11.90"), kind=Kind.PERK)
    patronage = PatronageFactory(patron=patron, tier=tier, amount=Decimal("11.90"), interval=Interval.MONTH)
    # 11.90 gross at 19 %: net 10.00, VAT 1.90 (11.90 / 1.19 = 10.00)
    payment = PaymentFactory(
        patronage=patronage,
        number="RE-2026-00042",
        amount=Decimal("11.90"),
        vat_rate=Decimal("19.00"),
        vat_amount=Decimal("1.90"),
        paid_at=_paid_at(datetime.date(2026, 3, 5)),
        period_start=datetime.date(2026, 3, 5),
        period_end=datetime.date(2026, 4, 4),
    )

    text = _text(confirmation_render(payment=payment))

    assert "Invoice" in text
    assert "RE-2026-00042" in text
    # seller with address, tax number and VAT ID
    assert "Fediverse Commons gGmbH" in text
    assert "Beispielweg 5" in text and "10999 Berlin" in text
    assert "27/123/45678" in text
    assert "DE123456789" in text
    # buyer
    assert "Grace Hopper" in text and "Hafenstraße 7" in text and "20457 Hamburg" in text
    # date, description, period
    assert "03/05/2026" in text
    assert "Emoji Club" in text
    assert "03/05/2026 – 04/04/2026" in text
    # net, rate, VAT, gross
    assert "Net amount 10.00 EUR" in text
    assert "VAT 19 % 1.90 EUR" in text
    assert "Total (gross) 11.90 EUR" in text
    assert "not a donation" in text


def test_donation_confirmation_says_it_is_not_a_donation_receipt():
    tier = TierFactory(name="Friends", kind=Kind.DONATION, monthly_amount=Decimal("25.00"))
    payment = PaymentFactory(
        patronage=PatronageFactory(tier=tier, amount=Decimal("25.00")),
        number="ZP-2026-00007",
        amount=Decimal("25.00"),
    )

    text = _text(confirmation_render(payment=payment))

    assert "Payment confirmation" in text
    assert "ZP-2026-00007" in text
    assert "25.00 EUR" in text
    assert "not a donation receipt" in text
    assert "VAT" not in text
    assert "Invoice" not in text


def test_confirmation_is_stored_once_in_private_storage():
    payment = PaymentFactory(number="ZP-2026-00008")

    confirmation_store(payment=payment)
    first_name = payment.confirmation_file.name
    confirmation_store(payment=payment)

    payment.refresh_from_db()
    assert payment.confirmation_file.name == first_name
    assert first_name.endswith("ZP-2026-00008.pdf")
    assert payment.confirmation_file.storage.exists(first_name)


def test_confirmation_is_kept_until_eight_years_after_the_year_of_payment():
    payment = PaymentFactory(paid_at=_paid_at(datetime.date(2026, 2, 1)))

    assert confirmation_retain_until(payment) == datetime.date(2034, 12, 31)
