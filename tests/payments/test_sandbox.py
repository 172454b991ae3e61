"""The local payment sandbox: its checkout, portal and clock tell the site what happened the way Stripe does.

The domain's handlers are switched off (``payments.services._handlers`` emptied) so this tests the sandbox
and the payment edge alone: pages through the Django test client, signed events through the real webhook
view, and the dataclasses ``normalise`` makes of them with the sandbox answering the look-ups. Expected
fees are worked out by hand: 1.5 % + 0.25 EUR, rounded to the cent; USD at 0.92 EUR.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments import sandbox, services, signing, types
from payments.models import SandboxObject, WebhookEvent
from payments.normalise import normalise
from payments.sandbox import SandboxGateway
from payments.types import Address, CheckoutRequest, PriceSpec, ProductSpec

SUCCESS = "4242 4242 4242 4242"
MONTHLY = "tier-supporter-month-eur-500"
CHAMPION = "tier-champion-month-eur-2000"


@pytest.fixture(autouse=True)
def sandbox_alone(monkeypatch, settings):
    settings.PAYMENTS_SANDBOX = True
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    monkeypatch.setattr(services, "_handlers", {})


@pytest.fixture
def deliveries(monkeypatch):
    """Every webhook delivery the sandbox made, as (raw body, Stripe-Signature header)."""
    from payments import views

    seen: list[tuple[bytes, str]] = []
    original = views.stripe_webhook

    def recording(request):
        seen.append((request.body, request.headers["Stripe-Signature"]))
        return original(request)

    monkeypatch.setattr(views, "stripe_webhook", recording)
    return seen


@pytest.fixture
def delivered(django_capture_on_commit_callbacks):
    """Run the block, then deliver what it emitted (the test's transaction never commits by itself)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def gateway(db):
    gateway = SandboxGateway()
    gateway.products_sync(
        products=[
            ProductSpec(
                key="supporter",
                name="Supporter",
                description="Keeps the lights on",
                active=True,
                prices=(
                    PriceSpec(lookup_key=MONTHLY, amount=Decimal("5.00"), currency="eur", interval="month"),
                    PriceSpec(
                        lookup_key="tier-supporter-year-eur-5000",
                        amount=Decimal("50.00"),
                        currency="eur",
                        interval="year",
                    ),
                ),
            ),
            ProductSpec(
                key="champion",
                name="Champion",
                description="",
                active=True,
                prices=(
                    PriceSpec(lookup_key=CHAMPION, amount=Decimal("20.00"), currency="eur", interval="month"),
                ),
            ),
        ]
    )
    return gateway


def monthly_request(**changes) -> CheckoutRequest:
    fields = {
        "idempotency_key": f"checkout-{timezone.now().timestamp()}",
        "mode": "subscription",
        "success_url": "https://funding.example.org/support/thanks/?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://funding.example.org/support/",
        "metadata": {"checkout_attempt": "41", "tier": "supporter"},
        "interval": "month",
        "price_lookup_key": MONTHLY,
        "customer_email": "ada@example.org",
    }
    return CheckoutRequest(**{**fields, **changes})


def card_data(number=SUCCESS, **extra) -> dict:
    return {
        "card-card_number": number,
        "card-expiry": "12 / 34",
        "card-cvc": "123",
        "card-name": "Ada Lovelace",
        **extra,
    }


def stored_types() -> list[str]:
    return list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))


def stored(kind: str) -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type=kind).order_by("pk")]


def meaning(kind: str, index: int = -1) -> list:
    return normalise(stored(kind)[index], gateway=SandboxGateway())


@pytest.fixture
def subscribed(client, gateway, delivered):
    """Ada pays the 5 EUR monthly tier with the success card."""
    session = gateway.checkout_create(request=monthly_request())
    with delivered():
        response = client.post(session.url, card_data())
    assert response.status_code == 302
    return stored("checkout.session.completed")[0]["data"]["object"]


# --- Checkout ----------------------------------------------------------------------------------------------


def test_checkout_page_shows_amount_test_cards_and_sandbox_label(client, gateway):
    session = gateway.checkout_create(request=monthly_request())

    response = client.get(session.url)

    page = response.content.decode()
    assert response.status_code == 200
    assert session.url == f"/sandbox/checkout/{session.id}/"
    assert "Sandbox – no real money" in page
    assert "5.00 EUR" in page
    for number in (
        "4242 4242 4242 4242",
        "4000 0000 0000 0002",
        "4000 0000 0000 9995",
        "4000 0027 6000 3184",
    ):
        assert number in page
    assert 'href="https://funding.example.org/support/"' in page
    assert "Billing address" not in page


def test_checkout_session_is_shaped_like_stripes(gateway):
    session = gateway.checkout_create(request=monthly_request())

    stored_session = sandbox.retrieve(session.id, "checkout.session")
    assert session.id.startswith("cs_test_")
    assert stored_session["object"] == "checkout.session"
    assert stored_session["status"] == "open"
    assert stored_session["payment_status"] == "unpaid"
    assert stored_session["amount_total"] == 500
    assert stored_session["metadata"] == {"checkout_attempt": "41", "tier": "supporter"}
    assert stored_session["url"] == session.url


def test_same_idempotency_key_gives_the_same_session(gateway):
    request = monthly_request(idempotency_key="checkout-7")

    assert gateway.checkout_create(request=request) == gateway.checkout_create(request=request)


def test_paid_subscription_sends_stripes_events_in_order_signed(client, gateway, delivered, deliveries):
    session = gateway.checkout_create(request=monthly_request())

    with delivered():
        response = client.post(session.url, card_data())

    assert response.status_code == 302
    assert response["Location"] == f"https://funding.example.org/support/thanks/?session={session.id}"
    assert stored_types() == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
        "invoice_payment.paid",
    ]
    assert all(event.processed_at for event in WebhookEvent.objects.all())
    for body, header in deliveries:
        event = signing.verify(payload=body, header=header, secret="whsec_test_secret")
        assert WebhookEvent.objects.get(stripe_id=event["id"]).payload == event
        assert event["api_version"] == "2026-10-28.endive"
        assert event["livemode"] is False
    assert len(deliveries) == 4


def test_paid_subscription_normalises_to_payment_with_fee_and_net(client, gateway, subscribed):
    (completed,) = meaning("checkout.session.completed")
    (subscription,) = meaning("customer.subscription.created")
    (paid,) = meaning("invoice.paid")
    (paid_again,) = meaning("invoice_payment.paid")

    assert isinstance(completed, types.CheckoutCompleted)
    assert completed.payment_status == "paid"
    assert completed.customer_email == "ada@example.org"
    assert completed.customer_name == "Ada Lovelace"
    assert completed.metadata == {"checkout_attempt": "41", "tier": "supporter"}
    assert completed.subscription_id == subscription.subscription_id
    assert subscription.status == "active"
    assert subscription.price_lookup_key == MONTHLY
    assert subscription.amount == Decimal("5.00")
    assert subscription.interval == "month"
    assert subscription.metadata == {"checkout_attempt": "41", "tier": "supporter"}
    assert isinstance(paid, types.PaymentSucceeded)
    assert paid.amount == Decimal("5.00")
    assert paid.billing_reason == "subscription_create"
    assert paid.subscription_id == subscription.subscription_id
    assert paid.metadata == {"checkout_attempt": "41", "tier": "supporter"}
    assert paid.customer_email == "ada@example.org"
    assert paid.tax_amount == Decimal("0.00")
    # 500 cents: 7.5 + 25 = 32.5 -> 33 cents
    assert paid.settlement.amount_eur == Decimal("5.00")
    assert paid.settlement.fee_eur == Decimal("0.33")
    assert paid.settlement.net_eur == Decimal("4.67")
    assert paid.settlement.exchange_rate is None
    assert paid.period_start == timezone.localdate()
    assert 28 <= (paid.period_end - paid.period_start).days <= 31
    assert paid_again.charge_id == paid.charge_id
    assert paid.charge_id.startswith("ch_")


def test_one_time_usd_gift_with_address_is_converted_at_the_sandbox_rate(client, gateway, delivered):
    session = gateway.checkout_create(
        request=monthly_request(
            mode="payment",
            interval="",
            price_lookup_key="",
            amount=Decimal("20.00"),
            currency="usd",
            product_name="One-time gift",
            collect_address=True,
            customer_email="",
        )
    )
    page = client.get(session.url).content.decode()
    assert "Billing address" in page
    assert "20.00 USD" in page

    with delivered():
        response = client.post(
            session.url,
            card_data(
                **{
                    "card-email": "grace@example.org",
                    "card-name": "Grace Hopper",
                    "address-line1": "Hauptstraße 1",
                    "address-postal_code": "10115",
                    "address-city": "Berlin",
                    "address-country": "DE",
                }
            ),
        )

    assert response.status_code == 302
    assert stored_types() == ["checkout.session.completed"]
    completed, paid = meaning("checkout.session.completed")
    assert completed.address == Address(
        line1="Hauptstraße 1", postal_code="10115", city="Berlin", country="DE"
    )
    assert completed.customer_name == "Grace Hopper"
    assert completed.customer_email == "grace@example.org"
    assert paid.billing_reason == "checkout"
    assert paid.amount == Decimal("20.00")
    assert paid.currency == "usd"
    # 2000 US cents * 0.92 = 1840 EUR cents; fee 27.6 + 25 = 52.6 -> 53 cents
    assert paid.settlement.amount_eur == Decimal("18.40")
    assert paid.settlement.fee_eur == Decimal("0.53")
    assert paid.settlement.net_eur == Decimal("17.87")
    assert paid.settlement.exchange_rate == Decimal("0.92")


def test_automatic_tax_reports_the_included_vat(client, gateway, delivered):
    session = gateway.checkout_create(request=monthly_request(automatic_tax=True))

    with delivered():
        client.post(session.url, card_data())

    (paid,) = meaning("invoice.paid")
    # 19 % included in 5.00 EUR: 500 * 19 / 119 = 79.8 -> 80 cents
    assert paid.tax_amount == Decimal("0.80")
    assert paid.amount == Decimal("5.00")


def test_products_sync_moves_a_lookup_key_to_the_new_amount(gateway):
    old = sandbox.objects("price", data__lookup_key=MONTHLY)[0]

    gateway.products_sync(
        products=[
            ProductSpec(
                key="supporter",
                name="Supporter",
                description="",
                active=True,
                prices=(
                    PriceSpec(lookup_key=MONTHLY, amount=Decimal("6.00"), currency="eur", interval="month"),
                ),
            )
        ]
    )

    (new,) = sandbox.objects("price", data__lookup_key=MONTHLY)
    assert new["unit_amount"] == 600
    assert new["id"] != old["id"]
    assert sandbox.retrieve(old["id"])["active"] is False
    assert sandbox.retrieve("patronage-supporter")["object"] == "product"


def test_address_is_required_when_checkout_collects_it(client, gateway, delivered):
    session = gateway.checkout_create(request=monthly_request(collect_address=True))

    with delivered():
        response = client.post(session.url, card_data())

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert stored_types() == []


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
        ("4000 0027 6000 3184", "We are unable to authenticate your payment method."),
    ],
)
def test_refused_card_charges_nothing_and_shows_stripes_message(client, gateway, delivered, number, message):
    session = gateway.checkout_create(request=monthly_request())

    with delivered():
        response = client.post(session.url, card_data(number))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored_types() == []
    assert not SandboxObject.objects.filter(kind__in=["charge", "subscription", "customer"]).exists()
    assert sandbox.retrieve(session.id)["status"] == "open"


def test_invalid_card_number_is_caught_before_payment(client, gateway):
    session = gateway.checkout_create(request=monthly_request())

    response = client.post(session.url, card_data("4242 4242 4242 4241"))

    assert "Your card number is invalid." in response.content.decode()


def test_paid_session_page_sends_the_patron_on_to_success(client, gateway, subscribed):
    response = client.get(f"/sandbox/checkout/{subscribed['id']}/")

    assert response.status_code == 302
    assert subscribed["id"] in response["Location"]


# --- Renewals ----------------------------------------------------------------------------------------------


def test_sandbox_advance_renews_the_subscription(client, subscribed, delivered):
    with delivered():
        call_command("sandbox_advance", "--days", "32", stdout=StringIO())

    assert stored_types()[4:] == ["invoice.paid", "invoice_payment.paid", "customer.subscription.updated"]
    (renewal,) = meaning("invoice.paid")
    (first,) = meaning("invoice.paid", 0)
    (updated,) = meaning("customer.subscription.updated")
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.amount == Decimal("5.00")
    assert renewal.settlement.fee_eur == Decimal("0.33")
    assert renewal.charge_id != first.charge_id
    assert renewal.period_start == first.period_end
    assert renewal.metadata == {"checkout_attempt": "41", "tier": "supporter"}
    assert updated.status == "active"
    assert timezone.localtime(updated.current_period_end).date() == renewal.period_end


def test_sandbox_advance_fail_leaves_an_open_invoice_the_patron_can_pay(client, subscribed, delivered):
    with delivered():
        call_command("sandbox_advance", "--days", "32", "--fail", subscribed["customer"], stdout=StringIO())

    assert stored_types()[4:] == ["invoice.payment_failed", "customer.subscription.updated"]
    (failed,) = meaning("invoice.payment_failed")
    (updated,) = meaning("customer.subscription.updated")
    assert isinstance(failed, types.PaymentFailed)
    assert failed.attempt_count == 1
    assert failed.next_attempt_at is not None
    assert failed.amount == Decimal("5.00")
    assert updated.status == "past_due"
    invoice_page = urlparse(failed.hosted_invoice_url).path
    assert invoice_page.startswith("/sandbox/invoice/")

    assert "Pay 5.00 EUR" in client.get(invoice_page).content.decode()
    with delivered():
        response = client.post(invoice_page, card_data("5555 5555 5555 4444"))

    assert response.status_code == 302
    assert stored_types()[6:] == [
        "payment_method.attached",
        "invoice.paid",
        "invoice_payment.paid",
        "customer.subscription.updated",
    ]
    (paid,) = meaning("invoice.paid")
    assert paid.invoice_id == failed.invoice_id
    assert paid.billing_reason == "subscription_cycle"
    assert meaning("customer.subscription.updated")[0].status == "active"


def test_failed_renewal_is_retried_and_canceled_after_the_last_attempt(client, subscribed, delivered):
    with delivered():
        sandbox.clock_advance(days=32, fail=[subscribed["subscription"]])
        happenings = sandbox.clock_advance(days=16, fail=[subscribed["subscription"]])

    assert [happening.what for happening in happenings] == [
        "retry failed",
        "retry failed",
        "canceled after failures",
    ]
    assert [event["data"]["object"]["attempt_count"] for event in stored("invoice.payment_failed")] == [
        1,
        2,
        3,
        4,
    ]
    assert stored("invoice.payment_failed")[-1]["data"]["object"]["next_payment_attempt"] is None
    (ended,) = meaning("customer.subscription.deleted")
    assert ended.status == "canceled"
    assert ended.deleted


def test_saved_card_that_fails_later_makes_the_renewal_fail(client, subscribed, delivered):
    with delivered():
        sandbox.customer_card_update(customer_id=subscribed["customer"], card_number="4000000000000341")
        sandbox.clock_advance(days=32)

    assert "invoice.payment_failed" in stored_types()
    assert meaning("customer.subscription.updated")[0].status == "past_due"


# --- Portal ------------------------------------------------------------------------------------------------


def portal_url(gateway, customer_id: str) -> str:
    return gateway.portal_create(
        customer_id=customer_id, return_url="https://funding.example.org/support/me/", locale="en"
    ).url


def test_portal_lists_the_subscription_and_links_back(client, gateway, subscribed):
    url = portal_url(gateway, subscribed["customer"])

    page = client.get(url).content.decode()

    assert "Supporter" in page
    assert "5.00 EUR" in page
    assert "Champion – 20.00 EUR" in page
    assert 'href="https://funding.example.org/support/me/"' in page
    assert "Sandbox – no real money" in page


def test_portal_cancel_at_period_end_then_now_sends_subscription_events(
    client, gateway, subscribed, delivered
):
    url = portal_url(gateway, subscribed["customer"])
    sub_id = subscribed["subscription"]

    with delivered():
        client.post(f"{url}subscriptions/{sub_id}/cancel/")
    (updated,) = meaning("customer.subscription.updated")
    assert updated.cancel_at_period_end is True
    assert updated.status == "active"

    with delivered():
        response = client.post(f"{url}subscriptions/{sub_id}/cancel-now/")
    assert response.status_code == 302
    (deleted,) = meaning("customer.subscription.deleted")
    assert deleted.status == "canceled"
    assert deleted.deleted
    assert deleted.canceled_at is not None


def test_canceled_at_period_end_subscription_ends_when_the_clock_passes_it(
    client, gateway, subscribed, delivered
):
    with delivered():
        sandbox.subscription_cancel(subscription_id=subscribed["subscription"])
        sandbox.clock_advance(days=32)

    assert stored_types()[-1] == "customer.subscription.deleted"
    assert "invoice.paid" not in stored_types()[5:]


def test_portal_change_tier_switches_the_price(client, gateway, subscribed, delivered):
    url = portal_url(gateway, subscribed["customer"])

    with delivered():
        client.post(f"{url}subscriptions/{subscribed['subscription']}/change/", {"lookup_key": CHAMPION})
        sandbox.clock_advance(days=32)

    (changed,) = meaning("customer.subscription.updated", 0)
    assert changed.price_lookup_key == CHAMPION
    assert changed.amount == Decimal("20.00")
    (renewal,) = meaning("invoice.paid")
    assert renewal.amount == Decimal("20.00")


def test_portal_update_card(client, gateway, subscribed, delivered):
    url = portal_url(gateway, subscribed["customer"])

    with delivered():
        response = client.post(f"{url}card/", card_data("5555 5555 5555 4444"))

    assert response.status_code == 302
    assert stored_types()[-1] == "payment_method.attached"
    assert "•••• 4444" in client.get(url).content.decode()


def test_portal_link_expires_after_an_hour_and_is_not_guessable(client, gateway, subscribed):
    url = portal_url(gateway, subscribed["customer"])
    session = SandboxObject.objects.get(kind="billing_portal.session")
    token = session.private["token"]
    assert len(token) >= 40
    assert session.private["expires"] - timezone.now().timestamp() == pytest.approx(3600, abs=5)

    session.private["expires"] = int(timezone.now().timestamp()) - 1
    session.save()

    assert client.get(url).status_code == 404
    assert client.get("/sandbox/portal/guess/").status_code == 404


# --- Refunds, disputes, payouts, reconcile -------------------------------------------------------------------


def test_partial_refund_sends_charge_refunded(client, subscribed, delivered):
    (paid,) = meaning("invoice.paid")

    with delivered():
        call_command("sandbox_refund", paid.charge_id, "--amount", "2.00", stdout=StringIO())

    (refund,) = meaning("charge.refunded")
    assert isinstance(refund, types.RefundIssued)
    assert refund.charge_id == paid.charge_id
    assert refund.amount == Decimal("2.00")
    assert refund.amount_eur == Decimal("2.00")
    assert refund.fee_refunded_eur == Decimal("0.00")


def test_lost_dispute_sends_created_then_closed(client, subscribed, delivered):
    (paid,) = meaning("invoice.paid")

    with delivered():
        call_command("sandbox_dispute", paid.charge_id, "--outcome", "lost", stdout=StringIO())

    assert stored_types()[-2:] == ["charge.dispute.created", "charge.dispute.closed"]
    (closed,) = meaning("charge.dispute.closed")
    assert closed.status == "lost"
    assert closed.closed
    assert closed.amount_eur == Decimal("5.00")
    assert closed.fee_eur == Decimal("15.00")


def test_payout_pays_the_available_balance(client, subscribed, delivered):
    with delivered():
        sandbox.clock_advance(days=8)  # charges are available after 7 days
        sandbox.payout_create()

    (payout,) = meaning("payout.paid")
    assert payout.amount_eur == Decimal("4.67")


def test_events_list_returns_every_emitted_event_oldest_first(client, gateway, subscribed):
    since = timezone.now() - datetime.timedelta(days=1)

    listed = [event["id"] for event in gateway.events_list(since=since)]

    assert listed == list(WebhookEvent.objects.order_by("pk").values_list("stripe_id", flat=True))
    assert services.events_reconcile(days=1, gateway=gateway) == (4, 0)


# --- Switched off ------------------------------------------------------------------------------------------


def test_sandbox_pages_do_not_exist_when_the_sandbox_is_off(client, gateway, subscribed, settings):
    url = portal_url(gateway, subscribed["customer"])
    settings.PAYMENTS_SANDBOX = False

    assert client.get(f"/sandbox/checkout/{subscribed['id']}/").status_code == 404
    assert client.get(url).status_code == 404
    assert client.get("/sandbox/invoice/anything/").status_code == 404
