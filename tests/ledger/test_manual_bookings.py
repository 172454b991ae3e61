"""Manual bookings: entered by finance with a voucher, posted once, refused in a closed month."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from ledger.manual_bookings import MAX_VOUCHER_BYTES, ManualBookingRefused, manual_booking_post
from ledger.models import Account, CostCentre, ManualBooking, Transaction
from ledger.querysets import month_start
from ledger.services import PostingLine, ledger_month_close, transaction_post

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def today() -> datetime.date:
    return timezone.localdate()


def account(code: str) -> Account:
    return Account.objects.get(code=code)


@pytest.fixture
def grant_centre(db):
    return CostCentre.objects.create(code="NGI0-TEST", name="NGI0 test", kind="grant")


def form(**changes):
    data = {
        "booking_date": today().isoformat(),
        "description": "Conference ticket FOSDEM",
        "debit_account": account("expense-other").pk,
        "credit_account": account("bank").pk,
        "amount": "120.00",
        "cost_centre": CostCentre.objects.get(code="CORE").pk,
        "voucher": SimpleUploadedFile("ticket.pdf", PDF, content_type="application/pdf"),
        "submission": "form-1",
    }
    data.update(changes)
    return data


def post(client, **changes):
    return client.post(reverse("ledger_manualbooking:book"), form(**changes))


def moves(transaction: Transaction) -> dict[tuple[str, str], Decimal]:
    return {
        (posting.account.code, posting.cost_centre.code): posting.amount
        for posting in transaction.postings.select_related("account", "cost_centre")
    }


def test_manual_booking_with_a_pdf_voucher_is_posted_on_its_cost_centre(finance_client, grant_centre):
    page = finance_client.get(reverse("ledger_manualbooking:book"))

    response = post(finance_client, cost_centre=grant_centre.pk)

    assert page.status_code == 200
    assert response.status_code == 302
    booking = ManualBooking.objects.get()
    assert response["Location"] == reverse("ledger_manualbooking:inspect", args=[booking.pk])
    assert booking.transaction.idempotency_key == f"manual:{booking.pk}"
    assert booking.transaction.booking_date == today()
    assert booking.created_by == finance_client.user
    # the expense carries the grant's cost centre; the bank stays on core
    assert moves(booking.transaction) == {
        ("expense-other", "NGI0-TEST"): Decimal("120.00"),
        ("bank", "CORE"): Decimal("-120.00"),
    }
    assert booking.voucher_type == "application/pdf"
    assert booking.voucher_name == "ticket.pdf"
    download = finance_client.get(reverse("ledger_manualbooking:voucher", args=[booking.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF
    inspect = finance_client.get(reverse("ledger_manualbooking:inspect", args=[booking.pk]))
    assert "Conference ticket FOSDEM" in inspect.content.decode()


def test_png_and_jpeg_vouchers_are_accepted(finance_client):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="JPEG")

    post(finance_client, voucher=SimpleUploadedFile("receipt.png", png()), submission="a")
    post(finance_client, voucher=SimpleUploadedFile("receipt.jpeg", buffer.getvalue()), submission="b")

    assert sorted(ManualBooking.objects.values_list("voucher_type", flat=True)) == ["image/jpeg", "image/png"]


def test_a_voucher_that_is_no_pdf_or_image_is_refused_whatever_its_name(finance_client):
    response = post(finance_client, voucher=SimpleUploadedFile("invoice.pdf", b"<html>not a pdf</html>"))

    assert response.status_code == 400
    assert "must be a PDF, PNG or JPEG file" in response.content.decode()
    assert not ManualBooking.objects.exists()
    assert not Transaction.objects.exists()


def test_a_voucher_larger_than_10_mb_is_refused(finance_client):
    big = PDF + b"0" * (MAX_VOUCHER_BYTES + 1 - len(PDF))

    response = post(finance_client, voucher=SimpleUploadedFile("scan.pdf", big))

    assert response.status_code == 400
    assert "larger than 10 MB" in response.content.decode()
    assert not ManualBooking.objects.exists()


def test_a_damaged_image_is_refused():
    broken = SimpleUploadedFile("receipt.png", png()[:20])

    with pytest.raises(ManualBookingRefused, match="damaged image"):
        manual_booking_post(
            booking_date=today(),
            description="Receipt",
            debit_account=account("expense-other"),
            credit_account=account("bank"),
            amount=Decimal("5.00"),
            cost_centre=CostCentre.objects.get(code="CORE"),
            voucher=broken,
        )


def test_a_booking_in_a_closed_month_is_refused_not_moved(finance_client):
    last_month = month_start(month_start(today()) - datetime.timedelta(days=1))
    transaction_post(
        booking_date=last_month,
        description="Opening",
        idempotency_key="test:opening",
        lines=[PostingLine("bank", Decimal("100.00")), PostingLine("opening-balances", Decimal("-100.00"))],
    )
    ledger_month_close(month=last_month)
    day = last_month + datetime.timedelta(days=9)

    response = post(finance_client, booking_date=day.isoformat())

    assert response.status_code == 400
    text = response.content.decode()
    assert f"The books of {last_month:%Y-%m} are closed" in text
    assert f"on {month_start(today()).isoformat()} or later" in text
    assert not ManualBooking.objects.exists()
    assert Transaction.objects.count() == 1  # the opening only


def test_the_same_form_sent_twice_books_once(finance_client):
    post(finance_client, submission="double-click")
    post(finance_client, submission="double-click")

    assert ManualBooking.objects.count() == 1
    assert Transaction.objects.count() == 1


def test_debit_and_credit_must_differ(finance_client):
    response = post(finance_client, credit_account=account("expense-other").pk)

    assert response.status_code == 400
    assert "the same account" in response.content.decode()
    assert not ManualBooking.objects.exists()


def test_a_future_date_is_refused(finance_client):
    response = post(finance_client, booking_date=(today() + datetime.timedelta(days=3)).isoformat())

    assert response.status_code == 400
    assert "lies in the future" in response.content.decode()


def test_balance_sheet_accounts_stay_on_core(finance_client, grant_centre):
    response = post(
        finance_client,
        debit_account=account("bank").pk,
        credit_account=account("stripe").pk,
        cost_centre=grant_centre.pk,
    )

    assert response.status_code == 400
    assert "stays on the core cost centre" in response.content.decode()
    assert not Transaction.objects.exists()


def test_the_list_shows_the_booking_and_exports_it(finance_client):
    post(finance_client)

    listing = finance_client.get(reverse("ledger_manualbooking:index"))
    export = finance_client.get(reverse("ledger_manualbooking:index") + "?export=csv")

    assert "Conference ticket FOSDEM" in listing.content.decode()
    assert "Book manually" in listing.content.decode()
    assert "120.00" in b"".join(export.streaming_content).decode()


# --- Access ---------------------------------------------------------------------------------------


@pytest.fixture
def manual_urls(db):
    booking = manual_booking_post(
        booking_date=today(),
        description="Secret salary advance",
        debit_account=account("expense-salaries"),
        credit_account=account("bank"),
        amount=Decimal("4200.00"),
        cost_centre=CostCentre.objects.get(code="CORE"),
        voucher=SimpleUploadedFile("advance.pdf", PDF),
    )
    return [
        reverse("ledger_manualbooking:index"),
        reverse("ledger_manualbooking:index") + "?export=csv",
        reverse("ledger_manualbooking:inspect", args=[booking.pk]),
        reverse("ledger_manualbooking:book"),
        reverse("ledger_manualbooking:voucher", args=[booking.pk]),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, manual_urls):
    for url in manual_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


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
def test_other_roles_see_and_book_nothing(client, make_user, manual_urls, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))

    for url in manual_urls:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert b"Secret salary advance" not in response.content
    response = post(client, submission="intruder")

    assert response.status_code in (302, 403)
    assert ManualBooking.objects.count() == 1


def test_nobody_edits_or_deletes_a_manual_booking(client, make_user, manual_urls):
    client.force_login(make_user(is_superuser=True, is_staff=True, mfa=True))
    booking = ManualBooking.objects.get()

    for url in (
        f"/admin/ledger/manual-bookings/edit/{booking.pk}/",
        f"/admin/ledger/manual-bookings/delete/{booking.pk}/",
        "/admin/ledger/manual-bookings/add/",
    ):
        assert client.get(url).status_code in (302, 403, 404), url
        client.post(url, {"description": "changed"})

    booking.refresh_from_db()
    assert booking.description == "Secret salary advance"


def test_finance_with_mfa_opens_every_manual_booking_page(finance_client, manual_urls):
    for url in manual_urls:
        assert finance_client.get(url).status_code == 200, url
