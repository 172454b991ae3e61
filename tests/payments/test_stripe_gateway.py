"""The real Stripe gateway against a fake of Stripe's HTTP API (nothing else is faked).

``StripeAPI`` is an HTTP client handed to stripe-python's ``StripeClient``: it records every request
(method, path, query, form body, headers) and answers with JSON shaped like Stripe's own example objects
(../shared/stripe/fixtures3.json).
"""

from __future__ import annotations

import copy
import datetime
import inspect
import json
import re
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe
from django.db import transaction

from payments import gateway as payments_gateway
from payments.errors import (
    InvalidSignature,
    PaymentRequestRefused,
    PaymentServiceUnavailable,
    UnknownObject,
)
from payments.models import StripeRequest
from payments.stripe_gateway import API_VERSION, ATTEMPTS, StripeGateway
from payments.types import CheckoutRequest, PriceSpec, ProductSpec
from tests.factories.stripe import resource, signed_body, unix


class Request:
    def __init__(self, method: str, url: str, headers, post_data):
        parts = urlsplit(url)
        self.method = method.upper()
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query))
        self.form = dict(parse_qsl(post_data or ""))
        self.headers = dict(headers)


class StripeAPI(stripe.HTTPClient):
    """Stripe's HTTP API as a test double: routes by (method, path), queued answers first."""

    name = "test-stripe-api"

    def __init__(self):
        super().__init__()
        self.requests: list[Request] = []
        self.queued: dict[tuple[str, str], list] = {}
        self.routes: dict[tuple[str, str], Callable[[Request], tuple[int, dict]]] = {}
        self.on_request: Callable[[Request], None] | None = None

    def answer(self, method: str, path: str, handler: Callable[[Request], tuple[int, dict]] | dict):
        self.routes[(method, path)] = handler if callable(handler) else (lambda request: (200, handler))

    def queue(self, method: str, path: str, *answers):
        self.queued.setdefault((method, path), []).extend(answers)

    def request(self, method, url, headers, post_data=None, **kwargs):
        request = Request(method, url, headers, post_data)
        self.requests.append(request)
        if self.on_request:
            self.on_request(request)
        key = (request.method, request.path)
        if self.queued.get(key):
            answer = self.queued[key].pop(0)
        elif key in self.routes:
            answer = self.routes[key](request)
        else:
            answer = error(404, "resource_missing", f"No such route: {key}")
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return json.dumps(body), status, {"Request-Id": f"req_{len(self.requests)}"}

    def close(self):
        pass

    def posts(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]


def error(status: int, code: str, message: str, kind: str = "invalid_request_error") -> tuple[int, dict]:
    return status, {"error": {"type": kind, "code": code, "message": message}}


def fixture(kind: str, **overrides) -> dict:
    obj = resource(kind)
    obj.update(overrides)
    return obj


def listing(items: list[dict], *, has_more: bool = False, url: str = "/v1/prices") -> dict:
    return {"object": "list", "data": items, "has_more": has_more, "url": url}


SESSION = fixture(
    "checkout.session", id="cs_test_patron1", url="https://checkout.stripe.com/c/pay/cs_test_patron1"
)
PRICE = fixture(
    "price",
    id="price_supporter_month",
    product="patronage-tier-supporter",
    lookup_key="tier-supporter-month-eur-500",
    currency="eur",
    unit_amount=500,
    unit_amount_decimal="500",
    tax_behavior="inclusive",
)


@pytest.fixture
def api(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.PAYMENTS_SANDBOX = False
    # pytest-django runs each test inside a transaction; the one test about transactions turns this off.
    settings.PAYMENTS_ALLOW_CALLS_IN_TRANSACTION = True
    return StripeAPI()


@pytest.fixture
def pauses():
    return []


@pytest.fixture
def gateway(api, pauses):
    return StripeGateway(http_client=api, sleep=pauses.append)


def checkout_request(**overrides) -> CheckoutRequest:
    values = {
        "idempotency_key": "checkout-attempt-41",
        "mode": "subscription",
        "interval": "month",
        "price_lookup_key": "tier-supporter-month-eur-500",
        "success_url": "https://funding.example.org/thanks/",
        "cancel_url": "https://funding.example.org/tiers/",
        "metadata": {"checkout_attempt": "41", "tier": "supporter"},
        "customer_email": "erika@example.org",
        "locale": "de",
    }
    values.update(overrides)
    return CheckoutRequest(**values)


def donation_request(**overrides) -> CheckoutRequest:
    values = {
        "idempotency_key": "checkout-attempt-42",
        "mode": "payment",
        "amount": Decimal("25.50"),
        "currency": "eur",
        "product_name": "One-time donation",
        "success_url": "https://funding.example.org/thanks/",
        "cancel_url": "https://funding.example.org/give/",
        "metadata": {"checkout_attempt": "42", "kind": "donation"},
        "customer_email": "max@example.org",
        "collect_address": True,
    }
    values.update(overrides)
    return CheckoutRequest(**values)


# --- idempotency ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_checkout_key_is_saved_before_the_call_and_sent_as_idempotency_key(api, gateway):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)
    seen_at_call_time = []

    def check_saved(request):
        if request.method == "POST":
            key = request.headers["Idempotency-Key"]
            seen_at_call_time.append(list(StripeRequest.objects.filter(idempotency_key=key, completed=None)))

    api.on_request = check_saved

    session = gateway.checkout_create(request=checkout_request())

    assert session.id == "cs_test_patron1"
    assert session.url == "https://checkout.stripe.com/c/pay/cs_test_patron1"
    [post] = api.posts("/v1/checkout/sessions")
    assert post.headers["Idempotency-Key"] == "checkout-attempt-41"
    assert [[row.operation for row in rows] for rows in seen_at_call_time] == [["checkout.session.create"]]
    saved = StripeRequest.objects.get(idempotency_key="checkout-attempt-41")
    assert saved.completed is not None
    assert saved.result_id == "cs_test_patron1"


@pytest.mark.django_db
def test_checkout_repeated_with_the_same_key_resends_the_same_key(api, gateway):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    first = gateway.checkout_create(request=checkout_request())
    second = gateway.checkout_create(request=checkout_request())

    assert first == second
    keys = [post.headers["Idempotency-Key"] for post in api.posts("/v1/checkout/sessions")]
    assert keys == ["checkout-attempt-41", "checkout-attempt-41"]
    assert StripeRequest.objects.filter(idempotency_key="checkout-attempt-41").count() == 1


@pytest.mark.django_db
def test_every_request_pins_the_api_version_that_stripe_python_sends(api, gateway):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    gateway.checkout_create(request=checkout_request())

    assert stripe.api_version == API_VERSION
    assert {request.headers["Stripe-Version"] for request in api.requests} == {stripe.api_version}


# --- retries and errors ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_rate_limited_write_is_retried_with_the_same_key_and_succeeds(api, gateway, pauses):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.queue("POST", "/v1/checkout/sessions", error(429, "rate_limit", "Too many requests"), (200, SESSION))

    session = gateway.checkout_create(request=checkout_request())

    assert session.id == "cs_test_patron1"
    keys = [post.headers["Idempotency-Key"] for post in api.posts("/v1/checkout/sessions")]
    assert keys == ["checkout-attempt-41", "checkout-attempt-41"]
    assert len(pauses) == 1 and 0 < pauses[0] <= 1
    assert StripeRequest.objects.get(idempotency_key="checkout-attempt-41").result_id == "cs_test_patron1"


@pytest.mark.django_db
def test_network_error_is_retried_and_succeeds(api, gateway, pauses):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.queue(
        "POST",
        "/v1/checkout/sessions",
        stripe.APIConnectionError("Connection reset by peer", should_retry=True),
        (200, SESSION),
    )

    assert gateway.checkout_create(request=checkout_request()).id == "cs_test_patron1"
    assert len(api.posts("/v1/checkout/sessions")) == 2


@pytest.mark.django_db
def test_stripe_down_ends_in_service_unavailable_after_a_few_growing_pauses(api, gateway, pauses):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer(
        "POST", "/v1/checkout/sessions", lambda request: error(503, "", "Service unavailable", "api_error")
    )

    with pytest.raises(PaymentServiceUnavailable) as raised:
        gateway.checkout_create(request=checkout_request())

    assert not isinstance(raised.value, stripe.StripeError)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert len(api.posts("/v1/checkout/sessions")) == ATTEMPTS
    assert len(pauses) == ATTEMPTS - 1
    assert sum(pauses) < 10
    # Backoff with jitter: each pause lies within [half, all] of 0.5 s, 1 s, 2 s.
    for pause, base in zip(pauses, [0.5, 1, 2], strict=True):
        assert base / 2 <= pause <= base
    saved = StripeRequest.objects.get(idempotency_key="checkout-attempt-41")
    assert saved.completed is None
    assert "after 4 attempts" in saved.error


@pytest.mark.django_db
def test_refused_request_ends_in_request_refused_without_stripes_message_for_people(api, gateway, pauses):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer(
        "POST", "/v1/checkout/sessions", lambda request: error(400, "parameter_invalid", "Invalid locale: xx")
    )

    with pytest.raises(PaymentRequestRefused) as raised:
        gateway.checkout_create(request=checkout_request())

    assert not isinstance(raised.value, stripe.StripeError)
    assert len(api.posts("/v1/checkout/sessions")) == 1
    assert pauses == []
    assert "Invalid locale" not in str(raised.value.user_message)
    assert "Invalid locale" not in str(raised.value)
    # Staff find Stripe's reason on the saved request.
    assert "Invalid locale: xx" in StripeRequest.objects.get(idempotency_key="checkout-attempt-41").error


@pytest.mark.django_db
def test_look_up_of_an_unknown_object_says_so(api, gateway):
    api.answer(
        "GET", "/v1/invoices/in_missing", lambda request: error(404, "resource_missing", "No such invoice")
    )

    with pytest.raises(UnknownObject):
        gateway.invoice(invoice_id="in_missing")


@pytest.mark.django_db
def test_checkout_for_a_price_stripe_does_not_have_is_refused(api, gateway):
    api.answer("GET", "/v1/prices", listing([]))

    with pytest.raises(PaymentRequestRefused):
        gateway.checkout_create(request=checkout_request())

    assert api.posts("/v1/checkout/sessions") == []


@pytest.mark.django_db(transaction=True)
def test_a_call_inside_a_database_transaction_is_refused_before_anything_is_sent(api, gateway, settings):
    settings.PAYMENTS_ALLOW_CALLS_IN_TRANSACTION = False
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    with pytest.raises(RuntimeError, match="inside a database transaction"), transaction.atomic():
        gateway.checkout_create(request=checkout_request())

    assert api.requests == []
    assert not StripeRequest.objects.exists()
    # Outside a transaction the same call goes through.
    assert gateway.checkout_create(request=checkout_request()).id == "cs_test_patron1"


# --- checkout parameters --------------------------------------------------------------------------


FLOAT = re.compile(r"^-?\d+\.\d+$")


@pytest.mark.django_db
def test_subscription_checkout_uses_the_tier_price_and_puts_metadata_on_the_subscription(api, gateway):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    gateway.checkout_create(request=checkout_request())

    [lookup] = [r for r in api.requests if r.method == "GET"]
    assert lookup.query["lookup_keys[0]"] == "tier-supporter-month-eur-500"
    [post] = api.posts("/v1/checkout/sessions")
    assert post.form["mode"] == "subscription"
    assert post.form["line_items[0][price]"] == "price_supporter_month"
    assert post.form["line_items[0][quantity]"] == "1"
    assert post.form["metadata[checkout_attempt]"] == "41"
    assert post.form["subscription_data[metadata][checkout_attempt]"] == "41"
    assert post.form["subscription_data[metadata][tier]"] == "supporter"
    assert post.form["customer_email"] == "erika@example.org"
    assert post.form["locale"] == "de"
    assert post.form["success_url"] == "https://funding.example.org/thanks/"
    assert post.form["cancel_url"] == "https://funding.example.org/tiers/"
    assert "payment_intent_data[metadata][checkout_attempt]" not in post.form
    assert "billing_address_collection" not in post.form
    assert "invoice_creation[enabled]" not in post.form


@pytest.mark.django_db
def test_donation_checkout_collects_the_address_and_sends_an_inline_price_in_cents(api, gateway):
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    gateway.checkout_create(request=donation_request())

    assert [r.method for r in api.requests] == ["POST"]  # no price look-up for a free amount
    [post] = api.posts("/v1/checkout/sessions")
    assert post.form["mode"] == "payment"
    assert post.form["billing_address_collection"] == "required"
    assert post.form["line_items[0][price_data][unit_amount]"] == "2550"
    assert post.form["line_items[0][price_data][currency]"] == "eur"
    assert post.form["line_items[0][price_data][product_data][name]"] == "One-time donation"
    assert "line_items[0][price_data][recurring][interval]" not in post.form
    assert post.form["payment_intent_data[metadata][checkout_attempt]"] == "42"
    assert post.form["payment_intent_data[metadata][kind]"] == "donation"
    assert post.form["invoice_creation[enabled]"] == "true"
    assert "subscription_data[metadata][checkout_attempt]" not in post.form
    assert not [value for value in post.form.values() if FLOAT.match(value)]


@pytest.mark.django_db
def test_free_monthly_amount_is_an_inline_recurring_price_never_a_float(api, gateway):
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    gateway.checkout_create(
        request=checkout_request(
            price_lookup_key="",
            amount=Decimal("7.30"),
            product_name="Monthly support",
            customer_id="cus_known",
        )
    )

    [post] = api.posts("/v1/checkout/sessions")
    assert post.form["line_items[0][price_data][unit_amount]"] == "730"
    assert post.form["line_items[0][price_data][recurring][interval]"] == "month"
    assert post.form["customer"] == "cus_known"
    assert "customer_email" not in post.form
    assert not [value for value in post.form.values() if FLOAT.match(value)]


@pytest.mark.django_db
def test_checkout_with_stripe_tax_switches_on_automatic_tax(api, gateway):
    api.answer("GET", "/v1/prices", listing([PRICE]))
    api.answer("POST", "/v1/checkout/sessions", SESSION)

    gateway.checkout_create(
        request=checkout_request(automatic_tax=True, customer_id="cus_known", customer_email="")
    )

    [post] = api.posts("/v1/checkout/sessions")
    assert post.form["automatic_tax[enabled]"] == "true"
    assert post.form["customer_update[address]"] == "auto"


@pytest.mark.django_db
def test_portal_session_for_a_patron(api, gateway):
    portal = fixture("billing_portal.session", url="https://billing.stripe.com/p/session/test_1")
    api.answer("POST", "/v1/billing_portal/sessions", portal)

    session = gateway.portal_create(
        customer_id="cus_known", return_url="https://funding.example.org/me/", locale="en"
    )

    assert session.url == "https://billing.stripe.com/p/session/test_1"
    [post] = api.posts("/v1/billing_portal/sessions")
    assert post.form == {
        "customer": "cus_known",
        "return_url": "https://funding.example.org/me/",
        "locale": "en",
    }
    assert StripeRequest.objects.get(idempotency_key=post.headers["Idempotency-Key"]).completed is not None


# --- products and prices --------------------------------------------------------------------------


SUPPORTER = ProductSpec(
    key="tier-supporter",
    name="Supporter",
    description="Keeps the servers running",
    active=True,
    prices=(
        PriceSpec(
            lookup_key="tier-supporter-month-eur-500",
            amount=Decimal("5.00"),
            currency="eur",
            interval="month",
        ),
    ),
)


@pytest.mark.django_db
def test_products_sync_creates_the_product_and_its_price_by_lookup_key(api, gateway):
    old_price = fixture(
        "price", id="price_old", product="patronage-tier-supporter", lookup_key="tier-supporter-month-eur-400"
    )
    api.answer(
        "GET",
        "/v1/products/patronage-tier-supporter",
        lambda r: error(404, "resource_missing", "No such product"),
    )
    api.answer("POST", "/v1/products", fixture("product", id="patronage-tier-supporter"))
    api.answer("POST", "/v1/prices", PRICE)
    api.answer("POST", "/v1/prices/price_old", {**old_price, "active": False})
    api.answer(
        "GET",
        "/v1/prices",
        lambda r: (200, listing([] if "lookup_keys[0]" in r.query else [copy.deepcopy(PRICE), old_price])),
    )

    gateway.products_sync(products=[SUPPORTER])

    [product] = api.posts("/v1/products")
    assert product.form == {
        "id": "patronage-tier-supporter",
        "name": "Supporter",
        "description": "Keeps the servers running",
        "active": "true",
    }
    [price] = api.posts("/v1/prices")
    assert price.form == {
        "product": "patronage-tier-supporter",
        "currency": "eur",
        "unit_amount": "500",
        "recurring[interval]": "month",
        "tax_behavior": "inclusive",
        "lookup_key": "tier-supporter-month-eur-500",
        "transfer_lookup_key": "true",
    }
    [deactivated] = api.posts("/v1/prices/price_old")
    assert deactivated.form == {"active": "false"}
    keys = [post.headers["Idempotency-Key"] for post in api.requests if post.method == "POST"]
    assert StripeRequest.objects.filter(idempotency_key__in=keys, completed__isnull=False).count() == 3


@pytest.mark.django_db
def test_products_sync_of_an_unchanged_tier_writes_nothing(api, gateway):
    api.answer(
        "GET",
        "/v1/products/patronage-tier-supporter",
        fixture(
            "product",
            id="patronage-tier-supporter",
            name="Supporter",
            description="Keeps the servers running",
        ),
    )
    api.answer("GET", "/v1/prices", listing([PRICE]))

    gateway.products_sync(products=[SUPPORTER])

    assert [r.method for r in api.requests] == ["GET", "GET", "GET"]
    assert not StripeRequest.objects.exists()


@pytest.mark.django_db
def test_products_sync_renames_a_changed_tier(api, gateway):
    api.answer(
        "GET",
        "/v1/products/patronage-tier-supporter",
        fixture("product", id="patronage-tier-supporter", name="Old name"),
    )
    api.answer(
        "POST", "/v1/products/patronage-tier-supporter", fixture("product", id="patronage-tier-supporter")
    )
    api.answer("GET", "/v1/prices", listing([PRICE]))

    gateway.products_sync(products=[SUPPORTER])

    [update] = api.posts("/v1/products/patronage-tier-supporter")
    assert update.form["name"] == "Supporter"


# --- look-ups -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_settlement_for_payment_intent_is_exact_decimals_in_eur(api, gateway):
    transaction_ = fixture(
        "balance_transaction",
        id="txn_1",
        amount=1999,
        fee=55,
        net=1944,
        currency="eur",
        exchange_rate=0.912345,
        available_on=unix(datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC)),
    )
    charge = fixture("charge", id="ch_1", balance_transaction=transaction_, currency="usd", amount=2191)
    api.answer("GET", "/v1/payment_intents/pi_1", fixture("payment_intent", id="pi_1", latest_charge=charge))

    settlement = gateway.settlement_for_payment_intent(payment_intent_id="pi_1")

    [lookup] = api.requests
    assert lookup.query == {"expand[0]": "latest_charge.balance_transaction"}
    assert settlement.charge_id == "ch_1"
    assert settlement.payment_intent_id == "pi_1"
    assert settlement.balance_transaction_id == "txn_1"
    assert settlement.amount_eur == Decimal("19.99") and isinstance(settlement.amount_eur, Decimal)
    assert settlement.fee_eur == Decimal("0.55")
    assert settlement.net_eur == Decimal("19.44")
    assert settlement.exchange_rate == Decimal("0.912345")
    assert str(settlement.amount_eur) == "19.99"
    assert settlement.available_on == datetime.date(2026, 3, 4)


@pytest.mark.django_db
def test_refund_settlement_is_the_refunded_amount_and_the_fee_given_back(api, gateway):
    refund_transaction = fixture(
        "balance_transaction", id="txn_r", amount=-1000, fee=0, net=-1000, currency="eur"
    )
    api.answer(
        "GET", "/v1/refunds/re_1", fixture("refund", id="re_1", balance_transaction=refund_transaction)
    )

    assert gateway.settlement_for_refund(refund_id="re_1") == (Decimal("10.00"), Decimal("0.00"))
    assert api.requests[0].query == {"expand[0]": "balance_transaction"}


@pytest.mark.django_db
def test_dispute_settlement_is_the_amount_withdrawn_and_the_dispute_fee(api, gateway):
    withdrawal = fixture("balance_transaction", id="txn_d", amount=-1000, fee=1500, net=-2500, currency="eur")
    api.answer("GET", "/v1/disputes/dp_1", fixture("dispute", id="dp_1", balance_transactions=[withdrawal]))

    assert gateway.settlement_for_dispute(dispute_id="dp_1") == (Decimal("10.00"), Decimal("15.00"))


@pytest.mark.django_db
def test_payment_intent_of_an_invoice_comes_from_its_paid_invoice_payment(api, gateway):
    failed = fixture(
        "invoice_payment",
        id="inpay_1",
        invoice="in_1",
        status="failed",
        payment={"type": "payment_intent", "payment_intent": "pi_failed"},
    )
    paid = fixture(
        "invoice_payment",
        id="inpay_2",
        invoice="in_1",
        status="paid",
        payment={"type": "payment_intent", "payment_intent": "pi_paid"},
    )
    api.answer("GET", "/v1/invoice_payments", listing([failed, paid], url="/v1/invoice_payments"))

    assert gateway.payment_intent_for_invoice(invoice_id="in_1") == "pi_paid"
    assert api.requests[0].query["invoice"] == "in_1"


@pytest.mark.django_db
def test_invoice_is_returned_as_stripes_plain_json(api, gateway):
    invoice = fixture("invoice", id="in_1", status="paid", amount_paid=500)
    api.answer("GET", "/v1/invoices/in_1", invoice)

    result = gateway.invoice(invoice_id="in_1")

    assert type(result) is dict
    assert json.loads(json.dumps(result)) == invoice


@pytest.mark.django_db
def test_events_list_follows_every_page_and_yields_oldest_first(api, gateway):
    def event(number):
        return fixture("event", id=f"evt_{number}", created=1_700_000_000 + number)

    api.queue(
        "GET",
        "/v1/events",
        (200, listing([event(3), event(2)], has_more=True, url="/v1/events")),
        (200, listing([event(1)], url="/v1/events")),
    )
    since = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    events = list(gateway.events_list(since=since))

    assert [e["id"] for e in events] == ["evt_1", "evt_2", "evt_3"]
    assert all(type(e) is dict for e in events)
    first, second = api.requests
    assert first.query["created[gte]"] == str(int(since.timestamp()))
    assert "starting_after" not in first.query
    assert second.query["starting_after"] == "evt_2"
    assert second.query["created[gte]"] == str(int(since.timestamp()))


@pytest.mark.django_db
def test_events_list_retries_a_page_stripe_failed_to_send(api, gateway, pauses):
    api.queue(
        "GET",
        "/v1/events",
        error(500, "", "Internal error", "api_error"),
        (200, listing([fixture("event", id="evt_1")], url="/v1/events")),
    )

    assert [
        e["id"] for e in gateway.events_list(since=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    ] == ["evt_1"]
    assert len(pauses) == 1


# --- webhook verification -------------------------------------------------------------------------


def test_event_verify_accepts_an_event_signed_by_stripe_python(api, gateway, settings):
    raw = fixture("event", id="evt_signed", created=unix())
    payload = json.dumps(raw).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), settings.STRIPE_WEBHOOK_SECRET
    )

    assert gateway.event_verify(payload=payload, signature_header=header)["id"] == "evt_signed"


def test_event_verify_refuses_a_wrong_secret(api, gateway):
    payload, header = signed_body(fixture("event", created=unix()), secret="whsec_someone_else")

    with pytest.raises(InvalidSignature):
        gateway.event_verify(payload=payload, signature_header=header)


# --- the gateway as the domain gets it ------------------------------------------------------------


def test_with_a_secret_key_and_no_sandbox_the_domain_gets_the_stripe_gateway(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.PAYMENTS_SANDBOX = False

    assert payments_gateway.gateway().name == "stripe"


def test_stripe_gateway_has_every_method_of_the_gateway_protocol_with_the_same_arguments():
    wanted = {
        name: inspect.signature(member)
        for name, member in vars(payments_gateway.Gateway).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }

    assert wanted
    for name, signature in wanted.items():
        assert list(inspect.signature(getattr(StripeGateway, name)).parameters) == list(
            signature.parameters
        ), name
