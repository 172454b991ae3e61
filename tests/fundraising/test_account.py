"""The patron's own page, "My support": who sees what, the manage button, the listing choice."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from fundraising import account_views, privacy
from fundraising.models import DonationReceipt, Patron, Patronage, Payment
from payments.errors import PaymentServiceUnavailable
from payments.gateway import PaymentsNotConfigured
from payments.types import PortalSession
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory

pytestmark = pytest.mark.django_db

MY_SUPPORT = "/support/mine/"


@pytest.fixture
def patron_user(make_user):
    return make_user("patron")


@pytest.fixture
def patron(patron_user):
    return PatronFactory(user=patron_user, email=patron_user.email, name="Ada Lovelace")


@pytest.fixture
def patron_client(client, patron_user, patron):
    client.force_login(patron_user)
    return client


@pytest.fixture
def someone_elses_payment():
    return PaymentFactory(number="ZP-2026-99999")


# --- Log-in required ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        MY_SUPPORT,
        "/support/mine/export.json",
        "/support/mine/delete/",
        "/support/mine/payments/ZP-2026-00001.pdf",
    ],
)
def test_anonymous_visitor_is_sent_to_log_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("path", ["/support/mine/listing/", "/support/mine/manage/", "/support/mine/delete/"])
def test_anonymous_post_is_sent_to_log_in(client, path):
    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_profile_page_links_to_my_support(patron_client):
    response = patron_client.get(reverse("accounts:profile"))

    assert MY_SUPPORT in response.content.decode()


# --- What the owner sees --------------------------------------------------------------------


def test_owner_sees_tier_amount_status_next_charge_and_perks(patron_client, patron):
    tier = TierFactory(name="Supporter", monthly_amount=Decimal("7.00"))
    next_charge = timezone.make_aware(datetime.datetime(2031, 5, 17, 12, 0))
    PatronageFactory(patron=patron, tier=tier, amount=Decimal("7.00"), current_period_end=next_charge)

    response = patron_client.get(MY_SUPPORT)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Supporter" in page
    assert "7.00 EUR monthly" in page
    assert "Active" in page
    assert "Next charge" in page and "May 17, 2031" in page
    assert "Perks" in page and "On" in page
    assert "Manage payment, card or tier" in page


def test_subscription_set_to_end_shows_its_end_date_instead_of_next_charge(patron_client, patron):
    end = timezone.make_aware(datetime.datetime(2031, 6, 2, 12, 0))
    PatronageFactory(patron=patron, current_period_end=end, cancel_at_period_end=True)

    page = patron_client.get(MY_SUPPORT).content.decode()

    assert "Ends on" in page and "June 2, 2031" in page
    assert "Next charge" not in page


def test_payment_history_shows_each_payment_with_refund_and_confirmation_link(patron_client, patron):
    patronage = PatronageFactory(patron=patron, amount=Decimal("12.00"))
    PaymentFactory(patronage=patronage, number="ZP-2026-00011")
    PaymentFactory(
        patronage=patronage,
        number="ZP-2026-00012",
        status=Payment.Status.PARTIALLY_REFUNDED,
        refunded_amount=Decimal("4.00"),
    )

    page = patron_client.get(MY_SUPPORT).content.decode()

    assert "<caption" in page and 'scope="col"' in page
    assert "12.00 EUR" in page
    assert "Partly refunded (4.00 EUR refunded)" in page
    assert "/support/mine/payments/ZP-2026-00011.pdf" in page
    assert "/support/mine/payments/ZP-2026-00012.pdf" in page


def test_owner_does_not_see_other_patrons_payments(patron_client, someone_elses_payment):
    page = patron_client.get(MY_SUPPORT).content.decode()

    assert someone_elses_payment.number not in page


def test_donation_receipts_are_listed(patron_client, patron):
    DonationReceipt.objects.create(
        number="ZB-2026-00003",
        patron=patron,
        kind=DonationReceipt.Kind.SINGLE,
        period_start=datetime.date(2026, 3, 1),
        period_end=datetime.date(2026, 3, 1),
        total=Decimal("50.00"),
        donor_name="Ada Lovelace",
        donor_address="Musterstraße 1\n10115 Berlin",
        retain_until=datetime.date(2034, 12, 31),
    )

    page = patron_client.get(MY_SUPPORT).content.decode()

    assert "ZB-2026-00003" in page
    assert "50.00 EUR" in page
    assert 'href="/support/receipts/ZB-2026-00003.pdf"' in page


def test_user_without_support_is_invited_to_become_a_patron(client, make_user):
    client.force_login(make_user("patron"))

    response = client.get(MY_SUPPORT)

    assert response.status_code == 200
    assert "You do not support us yet" in response.content.decode()


# --- Payment confirmations ------------------------------------------------------------------


def test_owner_downloads_a_confirmation_pdf_which_is_kept(patron_client, patron, monkeypatch):
    payment = PaymentFactory(patronage=PatronageFactory(patron=patron), number="ZP-2026-00021")

    response = patron_client.get("/support/mine/payments/ZP-2026-00021.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="ZP-2026-00021.pdf"' in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages[0].extract_text()
    assert "ZP-2026-00021" in text
    payment.refresh_from_db()
    assert payment.confirmation_file

    def render_again(**kwargs):
        raise AssertionError("the stored confirmation must be served, not rendered again")

    monkeypatch.setattr("fundraising.confirmations.confirmation_render", render_again)
    assert patron_client.get("/support/mine/payments/ZP-2026-00021.pdf").status_code == 200


def test_someone_elses_confirmation_is_not_found(patron_client, someone_elses_payment):
    response = patron_client.get(f"/support/mine/payments/{someone_elses_payment.number}.pdf")

    assert response.status_code == 404
    someone_elses_payment.refresh_from_db()
    assert not someone_elses_payment.confirmation_file


# --- Guests claim their patron record -------------------------------------------------------


def test_guest_patron_is_linked_when_the_user_has_that_verified_address(client, make_user):
    user = make_user("patron", email="guest@example.org")
    guest = PatronFactory(email="Guest@Example.org", user=None)
    PatronageFactory(patron=guest, amount=Decimal("9.00"))
    client.force_login(user)

    page = client.get(MY_SUPPORT).content.decode()

    guest.refresh_from_db()
    assert guest.user == user
    assert "9.00 EUR monthly" in page


def test_unverified_address_does_not_claim_a_guest_patron(client, make_user):
    user = make_user("patron", email="someone@example.org")
    EmailAddress.objects.filter(user=user).update(verified=False)
    guest = PatronFactory(email="someone@example.org", user=None)
    client.force_login(user)

    client.get(MY_SUPPORT)

    guest.refresh_from_db()
    assert guest.user is None


def test_confirming_an_email_address_claims_the_guest_patron(make_user):
    privacy.connect_signals()
    user = make_user("patron", email="first@example.org")
    guest = PatronFactory(email="second@example.org", user=None)
    address = EmailAddress.objects.create(user=user, email="second@example.org", verified=True, primary=False)

    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    guest.refresh_from_db()
    assert guest.user == user


# --- Public listing -------------------------------------------------------------------------


def test_new_patron_is_anonymous_by_default(patron_client, patron):
    page = patron_client.get(MY_SUPPORT).content.decode()

    assert patron.listing == Patron.Listing.ANONYMOUS
    checked = re.search(r'<input type="radio" name="listing" value="(\w+)"[^>]*\bchecked\b', page)
    assert checked and checked.group(1) == "anonymous"


def _listing(client, **fields):
    data = {"listing": "anonymous", "public_name": "", "fediverse_handle": ""}
    data.update(fields)
    return client.post("/support/mine/listing/", data)


def test_listing_by_name_needs_a_name(patron_client, patron):
    response = _listing(patron_client, listing="name")

    assert response.status_code == 400
    assert "Enter the name to show, or choose another listing." in response.content.decode()
    patron.refresh_from_db()
    assert patron.listing == Patron.Listing.ANONYMOUS


def test_listing_by_handle_needs_a_handle(patron_client):
    response = _listing(patron_client, listing="handle")

    assert response.status_code == 400
    assert "Enter your fediverse handle, or choose another listing." in response.content.decode()


def test_listing_refuses_a_handle_that_is_not_a_handle(patron_client):
    response = _listing(patron_client, listing="handle", fediverse_handle="https://example.social/@ada")

    assert response.status_code == 400
    assert "Enter a handle like @name@example.social." in response.content.decode()


def test_listing_choice_is_saved_and_public_figures_refresh(patron_client, patron):
    from fundraising import public

    before = public.cache_version()

    response = _listing(
        patron_client,
        listing="handle",
        fediverse_handle="ada@example.social",
        show_amount="on",
        annual_report_consent="on",
    )

    assert response.status_code == 302
    patron.refresh_from_db()
    assert patron.listing == Patron.Listing.HANDLE
    assert patron.fediverse_handle == "@ada@example.social"
    assert patron.show_amount is True
    assert patron.annual_report_consent is True
    assert public.cache_version() != before
    assert "Your listing choice was saved." in patron_client.get(MY_SUPPORT).content.decode()


# --- Billing portal -------------------------------------------------------------------------


class FakePortalGateway:
    name = "sandbox"

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def portal_create(self, *, customer_id, return_url, locale):
        self.calls.append({"customer_id": customer_id, "return_url": return_url, "locale": locale})
        if self.error:
            raise self.error
        return PortalSession(url=f"http://testserver/sandbox/portal/{customer_id}/")


def test_manage_button_sends_the_patron_to_the_billing_portal(patron_client, patron, monkeypatch, settings):
    settings.SITE_URL = "https://support.example.org"
    fake = FakePortalGateway()
    monkeypatch.setattr(account_views, "gateway", lambda: fake)

    response = patron_client.post("/support/mine/manage/")

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/sandbox/portal/{patron.stripe_customer_id}/"
    assert fake.calls == [
        {
            "customer_id": patron.stripe_customer_id,
            "return_url": "https://support.example.org/support/mine/",
            "locale": "en",
        }
    ]


def test_billing_portal_failure_shows_a_friendly_message(patron_client, monkeypatch):
    monkeypatch.setattr(
        account_views, "gateway", lambda: FakePortalGateway(error=PaymentServiceUnavailable())
    )

    response = patron_client.post("/support/mine/manage/", follow=True)

    assert response.status_code == 200
    assert "could not take your request just now" in response.content.decode()


def test_billing_portal_without_payments_configured_shows_a_friendly_message(patron_client, monkeypatch):
    def not_configured():
        raise PaymentsNotConfigured("off")

    monkeypatch.setattr(account_views, "gateway", not_configured)

    response = patron_client.post("/support/mine/manage/", follow=True)

    assert response.status_code == 200
    assert "Managing payments is not available just now" in response.content.decode()


def test_billing_portal_is_not_offered_to_a_patron_without_a_customer(client, make_user, monkeypatch):
    user = make_user("patron")
    PatronFactory(user=user, email=user.email, stripe_customer_id=None)
    client.force_login(user)
    fake = FakePortalGateway()
    monkeypatch.setattr(account_views, "gateway", lambda: fake)

    response = client.post("/support/mine/manage/", follow=True)

    assert "There is no payment to manage yet." in response.content.decode()
    assert fake.calls == []


def test_past_due_patronage_asks_to_update_the_card(patron_client, patron):
    PatronageFactory(patron=patron, status=Patronage.Status.PAST_DUE, payment_failed_at=timezone.now())

    page = patron_client.get(MY_SUPPORT).content.decode()

    assert "Your last payment did not go through." in page
