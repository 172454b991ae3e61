"""SEPA Direct Debit in the sandbox's Checkout: offered where the session allows it, paid Stripe's async way.

The session completes unpaid (checkout.session.completed, payment intent processing); the bank answers
later (``sandbox.sepa_settle``, the moving clock, the debit page's button, or at once with no delay) with
checkout.session.async_payment_succeeded or ..._failed. Pages go through the Django test client, events
through the real webhook view; what the domain would see is recorded by handlers subscribed here (the
domain's own handlers are switched off). Expected figures are worked out by hand: Stripe's SEPA fee is a
flat 0.35 EUR; a card costs 1.5 % + 0.25 EUR.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments import sandbox, services, types
from payments.errors import PaymentRequestRefused, UnknownObject
from payments.models import SandboxObject, WebhookEvent
from payments.normalise import normalise
from payments.sandbox import SandboxGateway
from payments.types import CheckoutRequest

SUCCESS_IBAN = "DE89 3704 0044 0532 0130 00"
AUSTRIAN_IBAN = "AT61 1904 3002 3457 3201"
FAILING_IBAN = "DE62 3704 0044 0532 0130 01"
SUCCESS_URL = "https://funding.example.org/sponsors/invoices/2026-0007/paid/?session={CHECKOUT_SESSION_ID}"
DAY = 86400


@pytest.fixture(autouse=True)
def sandbox_alone(monkeypatch, settings):
    settings.PAYMENTS_SANDBOX = True
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    settings.WAGTAIL_SITE_NAME = "Example Funding"
    settings.PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS = 3 * DAY
    monkeypatch.setattr(services, "_handlers", defaultdict(list))


@pytest.fixture
def delivered(django_capture_on_commit_callbacks):
    """Run the block, then deliver what it emitted (the test's transaction never commits by itself)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def seen():
    """What the domain's handlers would get, in order, from the processed events."""
    received: list = []
    for event_class in (types.CheckoutCompleted, types.CheckoutFailed, types.PaymentSucceeded):
        services.subscribe(event_class, received.append)
    return received


@pytest.fixture
def gateway(db):
    return SandboxGateway()


def invoice_request(**changes) -> CheckoutRequest:
    """A sponsor pays a 20.00 EUR invoice, by card or SEPA Direct Debit, without a Stripe invoice."""
    fields = {
        "idempotency_key": f"sponsor-invoice-{timezone.now().timestamp()}",
        "mode": "payment",
        "success_url": SUCCESS_URL,
        "cancel_url": "https://funding.example.org/sponsors/account/",
        "metadata": {"purpose": "sponsorship", "invoice": "2026-0007"},
        "amount": Decimal("20.00"),
        "currency": "eur",
        "product_name": "Invoice 2026-0007",
        "customer_email": "billing@example.com",
        "payment_methods": ("card", "sepa_debit"),
        "stripe_invoice": False,
    }
    return CheckoutRequest(**{**fields, **changes})


def sepa_data(iban=SUCCESS_IBAN, **extra) -> dict:
    return {"payment_method": "sepa_debit", "sepa-name": "Example GmbH", "sepa-iban": iban, **extra}


def stored_types() -> list[str]:
    return list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))


def stored(kind: str) -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type=kind).order_by("pk")]


def meaning(kind: str, index: int = -1) -> list:
    return normalise(stored(kind)[index], gateway=SandboxGateway())


def of_type(received: list, event_class: type) -> list:
    return [event for event in received if isinstance(event, event_class)]


@pytest.fixture
def debited(client, gateway, delivered):
    """The sponsor pays by SEPA Direct Debit with the test IBAN that succeeds; the bank has not answered."""
    session = gateway.checkout_create(request=invoice_request())
    with delivered():
        response = client.post(session.url, sepa_data())
    assert response.status_code == 302
    return session


# --- The page --------------------------------------------------------------------------------------------


def test_sepa_debit_is_offered_when_the_session_allows_it(client, gateway):
    session = gateway.checkout_create(request=invoice_request())

    page = client.get(session.url).content.decode()

    assert sandbox.retrieve(session.id)["payment_method_types"] == ["card", "sepa_debit"]
    assert "<legend>Payment method</legend>" in page
    assert 'type="radio" name="payment_method" value="card" id="payment-method-card" checked' in page
    assert 'type="radio" name="payment_method" value="sepa_debit" id="payment-method-sepa_debit"' in page
    assert '<label for="id_sepa-iban">IBAN</label>' in page
    assert '<label for="id_sepa-name">Account holder name</label>' in page
    assert "you authorise (A) Example Funding and Stripe, our payment service provider" in page
    assert "DE89 3704 0044 0532 0130 00" in page
    assert "4242 4242 4242 4242" in page


def test_a_card_only_session_shows_the_card_form_alone(client, gateway):
    session = gateway.checkout_create(request=invoice_request(payment_methods=()))

    page = client.get(session.url).content.decode()

    assert sandbox.retrieve(session.id)["payment_method_types"] == ["card"]
    assert "SEPA Direct Debit" not in page
    assert "IBAN" not in page
    assert "Card number" in page


def test_a_subscription_is_not_offered_sepa_debit(client, gateway, delivered):
    gateway.products_sync(
        products=[
            types.ProductSpec(
                key="supporter",
                name="Supporter",
                description="",
                active=True,
                prices=(
                    types.PriceSpec(
                        lookup_key="tier-supporter-month-eur-500",
                        amount=Decimal("5.00"),
                        currency="eur",
                        interval="month",
                    ),
                ),
            )
        ]
    )
    session = gateway.checkout_create(
        request=invoice_request(
            mode="subscription",
            interval="month",
            price_lookup_key="tier-supporter-month-eur-500",
            amount=None,
        )
    )

    page = client.get(session.url).content.decode()
    with delivered():
        response = client.post(session.url, sepa_data())

    assert "SEPA Direct Debit" not in page
    assert response.status_code == 200  # the card form, which is what was checked
    assert stored_types() == []


def test_sepa_debit_in_another_currency_than_eur_is_refused(gateway):
    with pytest.raises(PaymentRequestRefused, match="EUR only"):
        gateway.checkout_create(request=invoice_request(currency="usd"))


def test_an_unknown_payment_method_is_refused(gateway):
    with pytest.raises(PaymentRequestRefused, match="paypal"):
        gateway.checkout_create(request=invoice_request(payment_methods=("card", "paypal")))


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("DE89 3704 0044 0532 0130 01", "Your IBAN is invalid."),  # a wrong check digit
        ("DE89 3704", "Your IBAN is incomplete."),
        ("not an iban at all", "Your IBAN is invalid."),
        (
            "GB82 WEST 1234 5698 7654 32",
            "This is not one of the sandbox&#x27;s test IBANs.",
        ),  # real, not a test
    ],
)
def test_a_wrong_iban_is_an_error_on_the_page_and_nothing_happens(client, gateway, delivered, iban, message):
    session = gateway.checkout_create(request=invoice_request())

    with delivered():
        response = client.post(session.url, sepa_data(iban))

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert 'role="alert"' in page
    assert '<a href="#id_sepa-iban">IBAN</a>' in page
    assert 'aria-invalid="true"' in page
    assert 'value="sepa_debit" id="payment-method-sepa_debit" checked' in page
    assert stored_types() == []
    assert not SandboxObject.objects.filter(
        kind__in=["customer", "payment_intent", "charge", "mandate"]
    ).exists()
    assert sandbox.retrieve(session.id)["status"] == "open"


def test_the_email_is_asked_for_when_the_session_does_not_know_it(client, gateway, delivered):
    session = gateway.checkout_create(request=invoice_request(customer_email=""))

    with delivered():
        missing = client.post(session.url, sepa_data())
        paid = client.post(session.url, sepa_data(**{"sepa-email": "accounts@example.com"}))

    assert "This field is required." in missing.content.decode()
    assert paid.status_code == 302
    (completed,) = meaning("checkout.session.completed")
    assert completed.customer_email == "accounts@example.com"


# --- Paying and the bank's answer -----------------------------------------------------------------------------


def test_a_debit_completes_the_session_unpaid_with_a_processing_payment(client, debited, seen):
    response_page = client.get(f"/sandbox/checkout/{debited.id}/debit/").content.decode()

    assert stored_types() == ["checkout.session.completed"]
    (completed,) = meaning("checkout.session.completed")  # no payment yet
    assert completed.payment_status == "unpaid"
    assert completed.metadata == {"purpose": "sponsorship", "invoice": "2026-0007"}
    assert completed.customer_name == "Example GmbH"
    assert completed.customer_id.startswith("cus_")
    assert of_type(seen, types.PaymentSucceeded) == []
    session = stored("checkout.session.completed")[0]["data"]["object"]
    assert session["status"] == "complete"
    payment_intent = sandbox.retrieve(session["payment_intent"], "payment_intent")
    assert payment_intent["status"] == "processing"
    assert payment_intent["payment_method_types"] == ["card", "sepa_debit"]
    assert payment_intent["metadata"] == {"purpose": "sponsorship", "invoice": "2026-0007"}
    charge = sandbox.retrieve(payment_intent["latest_charge"], "charge")
    assert charge["status"] == "pending"
    assert charge["balance_transaction"] is None
    payment_method = sandbox.retrieve(payment_intent["payment_method"], "payment_method")
    assert payment_method["type"] == "sepa_debit"
    assert payment_method["billing_details"]["email"] == "billing@example.com"
    assert payment_method["billing_details"]["name"] == "Example GmbH"
    account = payment_method["sepa_debit"]
    assert {key: account[key] for key in ("bank_code", "branch_code", "country", "last4")} == {
        "bank_code": "37040044",
        "branch_code": "",
        "country": "DE",
        "last4": "3000",
    }
    assert len(account["fingerprint"]) == 16
    details = charge["payment_method_details"]
    assert details["type"] == "sepa_debit"
    assert details["sepa_debit"]["last4"] == "3000"
    mandate = sandbox.retrieve(details["sepa_debit"]["mandate"], "mandate")
    assert mandate["payment_method"] == payment_method["id"]
    assert mandate["customer_acceptance"]["type"] == "online"
    assert mandate["status"] == "active"
    assert "Processing" in response_page
    assert "Simulate the bank confirming the debit" in response_page


@pytest.mark.parametrize("iban", [SUCCESS_IBAN, AUSTRIAN_IBAN])
def test_the_bank_pays_the_debit_once_with_stripes_sepa_fee(client, gateway, delivered, seen, iban):
    session = gateway.checkout_create(request=invoice_request())
    with delivered():
        client.post(session.url, sepa_data(iban))

    with delivered():
        answered = sandbox.sepa_settle()

    assert answered == 1
    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    completed, paid = meaning("checkout.session.async_payment_succeeded")
    assert completed.payment_status == "paid"
    assert isinstance(paid, types.PaymentSucceeded)
    assert paid.checkout_session_id == session.id
    assert paid.billing_reason == "checkout"
    assert paid.amount == Decimal("20.00")
    assert paid.currency == "eur"
    assert paid.metadata == {"purpose": "sponsorship", "invoice": "2026-0007"}
    # 2000 cents, a flat 35-cent fee: 19.65 EUR net
    assert paid.settlement.amount_eur == Decimal("20.00")
    assert paid.settlement.fee_eur == Decimal("0.35")
    assert paid.settlement.net_eur == Decimal("19.65")
    assert paid.settlement.exchange_rate is None
    charge = sandbox.retrieve(paid.charge_id, "charge")
    assert charge["status"] == "succeeded"
    assert charge["paid"] is True
    assert charge["payment_method_details"]["type"] == "sepa_debit"
    assert charge["payment_method_details"]["sepa_debit"]["country"] == iban[:2]
    assert sandbox.retrieve(paid.payment_intent_id, "payment_intent")["status"] == "succeeded"
    (received,) = of_type(seen, types.PaymentSucceeded)  # what the processed events told the domain
    assert received.charge_id == paid.charge_id
    assert received.settlement == paid.settlement
    assert [event.payment_status for event in of_type(seen, types.CheckoutCompleted)] == ["unpaid", "paid"]


def test_the_bank_returns_a_debit_from_the_failing_iban(client, gateway, delivered, seen):
    session = gateway.checkout_create(request=invoice_request())
    with delivered():
        client.post(session.url, sepa_data(FAILING_IBAN))
        sandbox.sepa_settle(session_id=session.id)

    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_failed"]
    (failed,) = meaning("checkout.session.async_payment_failed")
    assert isinstance(failed, types.CheckoutFailed)
    assert failed.session_id == session.id
    assert failed.reason == "payment_failed"
    assert failed.metadata == {"purpose": "sponsorship", "invoice": "2026-0007"}
    session_json = stored("checkout.session.async_payment_failed")[0]["data"]["object"]
    assert (session_json["status"], session_json["payment_status"]) == ("complete", "unpaid")
    payment_intent = sandbox.retrieve(session_json["payment_intent"], "payment_intent")
    assert payment_intent["status"] == "requires_payment_method"
    assert payment_intent["last_payment_error"]["code"] == "insufficient_funds"
    charge = sandbox.retrieve(payment_intent["latest_charge"], "charge")
    assert (charge["status"], charge["failure_code"]) == ("failed", "insufficient_funds")
    assert charge["balance_transaction"] is None
    assert not SandboxObject.objects.filter(kind="balance_transaction").exists()
    assert of_type(seen, types.PaymentSucceeded) == []
    assert len(of_type(seen, types.CheckoutFailed)) == 1


def test_settling_again_answers_nothing_new(client, debited, delivered, seen):
    with delivered():
        first = sandbox.sepa_settle()
        second = sandbox.sepa_settle()
        third = sandbox.sepa_settle(session_id=debited.id)

    assert (first, second, third) == (1, 0, 0)
    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert SandboxObject.objects.filter(kind="balance_transaction").count() == 1
    assert len(of_type(seen, types.PaymentSucceeded)) == 1


def test_without_a_delay_the_bank_answers_at_once(client, gateway, delivered, seen, settings):
    settings.PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS = 0
    session = gateway.checkout_create(request=invoice_request())

    with delivered():
        response = client.post(session.url, sepa_data())

    assert response.status_code == 302
    assert response["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert stored("checkout.session.completed")[0]["data"]["object"]["payment_status"] == "unpaid"
    (paid,) = of_type(seen, types.PaymentSucceeded)
    assert paid.settlement.fee_eur == Decimal("0.35")
    assert sandbox.sepa_settle() == 0


# --- Moving the clock, the debit page --------------------------------------------------------------------------


def test_the_clock_settles_a_debit_when_it_falls_due(client, debited, delivered, seen):
    with delivered():
        early = sandbox.clock_advance(days=1)
    assert early == []
    assert stored_types() == ["checkout.session.completed"]

    output = StringIO()
    with delivered():
        call_command("sandbox_advance", "--days", "3", stdout=output)

    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert f"{debited.id}: debit paid" in output.getvalue()
    (paid,) = of_type(seen, types.PaymentSucceeded)
    assert paid.amount == Decimal("20.00")
    due = stored("checkout.session.completed")[0]["created"] + 3 * DAY
    assert stored("checkout.session.async_payment_succeeded")[0]["created"] == due


def test_the_debit_page_lets_a_person_have_the_bank_answer(client, debited, delivered, seen):
    page_url = f"/sandbox/checkout/{debited.id}/debit/"

    with delivered():
        response = client.post(page_url)

    assert response.status_code == 302
    assert response["Location"] == page_url
    page = client.get(page_url).content.decode()
    assert "The bank confirmed the debit: the payment is complete." in page
    assert "Paid" in page
    assert "Simulate the bank confirming the debit" not in page
    assert f'href="{SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", debited.id)}"' in page
    assert stored_types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert len(of_type(seen, types.PaymentSucceeded)) == 1
    with delivered():
        client.post(page_url)
    assert len(stored_types()) == 2


def test_the_paid_session_page_sends_the_payer_on_to_success(client, debited):
    response = client.get(debited.url)

    assert response.status_code == 302
    assert debited.id in response["Location"]


def test_there_is_no_debit_page_for_a_card_payment(client, gateway, delivered):
    session = gateway.checkout_create(request=invoice_request())
    with delivered():
        client.post(session.url, card_payment())

    assert client.get(f"/sandbox/checkout/{session.id}/debit/").status_code == 404
    assert client.get("/sandbox/checkout/cs_test_unknown/debit/").status_code == 404


def test_the_debit_page_does_not_exist_when_the_sandbox_is_off(client, debited, settings):
    settings.PAYMENTS_SANDBOX = False

    assert client.get(f"/sandbox/checkout/{debited.id}/debit/").status_code == 404


# --- Cards where SEPA is offered too ---------------------------------------------------------------------------


def card_payment(**extra) -> dict:
    return {
        "payment_method": "card",
        "card-card_number": "4242 4242 4242 4242",
        "card-expiry": "12 / 34",
        "card-cvc": "123",
        "card-name": "Ada Lovelace",
        **extra,
    }


def test_a_card_still_pays_at_once_where_sepa_is_offered_too(client, gateway, delivered, seen):
    session = gateway.checkout_create(request=invoice_request())

    with delivered():
        response = client.post(session.url, card_payment(**{"sepa-iban": "rubbish"}))

    assert response.status_code == 302
    assert response["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert stored_types() == ["checkout.session.completed"]
    completed, paid = meaning("checkout.session.completed")
    assert completed.payment_status == "paid"
    # 2000 cents: 30 + 25 = 55 cents
    assert paid.settlement.fee_eur == Decimal("0.55")
    assert sandbox.retrieve(paid.charge_id, "charge")["payment_method_details"]["type"] == "card"
    assert len(of_type(seen, types.PaymentSucceeded)) == 1
    assert sandbox.sepa_settle() == 0


def test_a_declined_card_shows_its_error_where_sepa_is_offered_too(client, gateway, delivered):
    session = gateway.checkout_create(request=invoice_request())

    with delivered():
        response = client.post(session.url, card_payment(**{"card-card_number": "4000 0000 0000 0002"}))

    page = response.content.decode()
    assert "Your card was declined." in page
    assert 'value="card" id="payment-method-card" checked' in page
    assert stored_types() == []


def test_a_pending_debit_has_no_settlement_yet(debited, gateway):
    payment_intent_id = sandbox.retrieve(debited.id)["payment_intent"]

    with pytest.raises(UnknownObject, match="no settled charge yet"):
        gateway.settlement_for_payment_intent(payment_intent_id=payment_intent_id)


def test_a_paid_debit_can_be_refunded(client, debited, delivered):
    with delivered():
        sandbox.sepa_settle()
    (_completed, paid) = meaning("checkout.session.async_payment_succeeded")

    with delivered():
        sandbox.refund_create(charge_id=paid.charge_id, amount=Decimal("5.00"))

    (refund,) = meaning("charge.refunded")
    assert refund.charge_id == paid.charge_id
    assert refund.amount_eur == Decimal("5.00")
