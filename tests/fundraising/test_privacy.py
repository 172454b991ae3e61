"""A patron's data: export, erasure (with what the books must keep) and deletion after retention."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from fundraising.models import DonationReceipt, Interval, Kind, Patron, Patronage, Payment
from fundraising.privacy import ErasureRefused, patron_erase, retention_purge
from ledger.models import Transaction
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory
from tests.factories.ledger import TransactionFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def patron_user(make_user):
    return make_user("patron", email="ada@example.org")


@pytest.fixture
def patron(patron_user):
    return PatronFactory(
        user=patron_user,
        email="ada@example.org",
        name="Ada Lovelace",
        public_name="Ada",
        fediverse_handle="@ada@example.social",
        listing=Patron.Listing.HANDLE,
        show_amount=True,
        annual_report_consent=True,
    )


@pytest.fixture
def patron_client(client, patron_user, patron):
    client.force_login(patron_user)
    return client


def _receipt(patron, *, number, retain_until, with_pdf=True):
    receipt = DonationReceipt.objects.create(
        number=number,
        patron=patron,
        kind=DonationReceipt.Kind.SINGLE,
        period_start=datetime.date(2024, 6, 1),
        period_end=datetime.date(2024, 6, 1),
        total=Decimal("30.00"),
        donor_name=patron.name or "Donor",
        donor_address="Musterstraße 1\n10115 Berlin",
        retain_until=retain_until,
    )
    if with_pdf:
        receipt.pdf.save(f"{number}.pdf", ContentFile(b"%PDF-1.7 receipt"))
    return receipt


def _paid_at(year, month=6, day=15):
    return timezone.make_aware(datetime.datetime(year, month, day, 12, 0))


def _cancelled(patron, **fields):
    return PatronageFactory(
        patron=patron, status=Patronage.Status.CANCELED, ended_at=timezone.now(), **fields
    )


# --- Export ---------------------------------------------------------------------------------


def test_export_is_a_json_attachment_with_the_patrons_data(patron_client, patron):
    tier = TierFactory(name="Supporter")
    patronage = PatronageFactory(patron=patron, tier=tier, amount=Decimal("5"), interval=Interval.MONTH)
    PaymentFactory(
        patronage=patronage,
        number="RE-2026-00001",
        amount=Decimal("5"),
        vat_rate=Decimal("19"),
        vat_amount=Decimal("0.8"),
    )
    _receipt(patron, number="ZB-2026-00001", retain_until=datetime.date(2034, 12, 31), with_pdf=False)
    PaymentFactory(number="RE-2026-00002")  # someone else's

    response = patron_client.get("/support/mine/export.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="my-support-data.json"'
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ada@example.org"
    assert data["profile"]["name"] == "Ada Lovelace"
    assert data["profile"]["address"]["city"] == "Berlin"
    assert data["profile"]["public_listing"]["fediverse_handle"] == "@ada@example.social"
    assert data["patronages"] == [
        {
            "tier": "Supporter",
            "kind": "perk",
            "amount": "5.00",
            "currency": "EUR",
            "interval": "month",
            "status": "active",
            "started_at": patronage.started_at.isoformat(),
            "ended_at": None,
            "next_charge": patronage.current_period_end.isoformat(),
            "cancel_at_period_end": False,
        }
    ]
    assert [payment["number"] for payment in data["payments"]] == ["RE-2026-00001"]
    assert data["payments"][0]["amount"] == "5.00"
    assert data["payments"][0]["vat_amount"] == "0.80"
    assert data["payments"][0]["vat_rate"] == "19.00"
    assert data["donation_receipts"][0]["number"] == "ZB-2026-00001"
    assert data["donation_receipts"][0]["total"] == "30.00"


# --- Erasure --------------------------------------------------------------------------------


def test_deletion_is_refused_while_a_subscription_runs(patron_client, patron, patron_user):
    PatronageFactory(patron=patron, status=Patronage.Status.ACTIVE)

    page = patron_client.get("/support/mine/delete/").content.decode()
    response = patron_client.post("/support/mine/delete/", {"confirmation": "correct-horse-battery-staple"})

    assert "Your recurring support is still running. Please cancel it first" in page
    assert response.status_code == 302
    assert (
        "Please cancel your recurring support first"
        in patron_client.get(response["Location"]).content.decode()
    )
    patron.refresh_from_db()
    assert patron.erased_at is None
    assert User.objects.filter(pk=patron_user.pk).exists()


def test_deletion_needs_the_password(patron_client, patron, patron_user):
    response = patron_client.post("/support/mine/delete/", {"confirmation": "wrong"})

    assert response.status_code == 400
    assert "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=patron_user.pk).exists()


def test_deletion_erases_personal_data_and_keeps_the_books(patron_client, patron, patron_user, password):
    patronage = _cancelled(patron, amount=Decimal("12.00"))
    payment = PaymentFactory(patronage=patronage, number="ZP-2025-00100", amount=Decimal("12.00"))
    posting = TransactionFactory(
        amount=Decimal("12.00"),
        description=f"Patron payment {payment.number}",
        source_reference=f"stripe:{payment.stripe_charge_id}",
    )
    receipt = _receipt(patron, number="ZB-2025-00010", retain_until=datetime.date(2033, 12, 31))
    pseudonym = patron.pseudonym

    response = patron_client.post("/support/mine/delete/", {"confirmation": password})

    assert response.status_code == 302
    assert not User.objects.filter(pk=patron_user.pk).exists()
    patron.refresh_from_db()
    assert patron.erased_at is not None
    assert patron.user is None
    assert (patron.email, patron.name, patron.address_line1, patron.postal_code, patron.city) == (
        "",
        "",
        "",
        "",
        "",
    )
    assert (patron.public_name, patron.fediverse_handle) == ("", "")
    assert patron.listing == Patron.Listing.ANONYMOUS
    assert not patron.show_amount and not patron.annual_report_consent
    assert patron.stripe_customer_id is None
    assert patron.pseudonym == pseudonym
    # the books and the documents the law requires stay
    kept = Payment.objects.get(number="ZP-2025-00100")
    assert kept.patron_id == patron.pk and kept.amount == Decimal("12.00")
    assert Transaction.objects.filter(pk=posting.pk).exists()
    receipt.refresh_from_db()
    assert receipt.pdf and receipt.pdf.storage.exists(receipt.pdf.name)
    assert receipt.donor_name == "Ada Lovelace"
    # the page now shows them logged out
    assert "_auth_user_id" not in patron_client.session


def test_erasure_stores_the_invoices_while_the_buyer_is_still_known(patron):
    tier = TierFactory(kind=Kind.PERK)
    payment = PaymentFactory(
        patronage=_cancelled(patron, tier=tier), vat_rate=Decimal("19"), vat_amount=Decimal("0.80")
    )

    patron_erase(patron=patron)

    payment.refresh_from_db()
    assert payment.confirmation_file


def test_erasure_waits_for_an_active_subscription(patron):
    PatronageFactory(patron=patron, status=Patronage.Status.PAST_DUE)

    with pytest.raises(ErasureRefused):
        patron_erase(patron=patron)


def test_subscription_ending_at_period_end_allows_erasure_and_keeps_the_customer(patron):
    PatronageFactory(patron=patron, status=Patronage.Status.ACTIVE, cancel_at_period_end=True)
    customer = patron.stripe_customer_id

    patron_erase(patron=patron)

    patron.refresh_from_db()
    assert patron.erased_at is not None
    assert patron.email == ""
    assert patron.stripe_customer_id == customer


def test_user_without_patron_record_can_delete_the_account(client, make_user, password):
    user = make_user("patron")
    client.force_login(user)

    response = client.post("/support/mine/delete/", {"confirmation": password})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


# --- Retention ------------------------------------------------------------------------------


def test_retention_purge_deletes_only_files_whose_retention_ended(patron):
    today = datetime.date(2035, 3, 1)
    expired_receipt = _receipt(patron, number="ZB-2026-00001", retain_until=datetime.date(2034, 12, 31))
    kept_receipt = _receipt(patron, number="ZB-2027-00001", retain_until=datetime.date(2035, 12, 31))
    expired_payment = PaymentFactory(patronage=_cancelled(patron), paid_at=_paid_at(2026, 12, 31))
    kept_payment = PaymentFactory(patronage=_cancelled(patron), paid_at=_paid_at(2027, 1, 1))
    for payment in (expired_payment, kept_payment):
        payment.confirmation_file.save(f"{payment.number}.pdf", ContentFile(b"%PDF-1.7 confirmation"))
    expired_receipt_file = expired_receipt.pdf.name
    expired_payment_file = expired_payment.confirmation_file.name

    counts = retention_purge(today=today)

    assert counts == {"receipts": 1, "confirmations": 1}
    expired_receipt.refresh_from_db()
    kept_receipt.refresh_from_db()
    expired_payment.refresh_from_db()
    kept_payment.refresh_from_db()
    assert not expired_receipt.pdf and expired_receipt.purged_at is not None
    assert kept_receipt.pdf.storage.exists(kept_receipt.pdf.name)
    assert kept_receipt.purged_at is None
    assert not expired_payment.confirmation_file
    assert kept_payment.confirmation_file.storage.exists(kept_payment.confirmation_file.name)
    storage = kept_payment.confirmation_file.storage
    assert not storage.exists(expired_receipt_file)
    assert not storage.exists(expired_payment_file)
    # the payment rows stay for the books
    assert Payment.objects.filter(pk=expired_payment.pk).exists()
    # a living patron's receipt keeps the donor's name
    assert expired_receipt.donor_name == "Ada Lovelace"


def test_retention_purge_blanks_the_donor_of_an_erased_patron(patron):
    receipt = _receipt(patron, number="ZB-2026-00002", retain_until=datetime.date(2034, 12, 31))
    patron_erase(patron=patron)
    receipt.refresh_from_db()
    assert receipt.donor_name == "Ada Lovelace"  # kept until its retention ends

    retention_purge(today=datetime.date(2035, 1, 1))

    receipt.refresh_from_db()
    assert (receipt.donor_name, receipt.donor_address) == ("", "")
    assert receipt.purged_at is not None


def test_retention_purge_is_safe_to_run_twice(patron):
    _receipt(patron, number="ZB-2026-00003", retain_until=datetime.date(2034, 12, 31))

    assert retention_purge(today=datetime.date(2035, 1, 1)) == {"receipts": 1, "confirmations": 0}
    assert retention_purge(today=datetime.date(2035, 1, 1)) == {"receipts": 0, "confirmations": 0}


def test_purged_confirmation_is_not_rendered_again(patron_client, patron):
    payment = PaymentFactory(patronage=_cancelled(patron), paid_at=_paid_at(2010), number="ZP-2010-00001")

    response = patron_client.get(f"/support/mine/payments/{payment.number}.pdf")

    assert response.status_code == 404
