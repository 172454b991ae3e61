"""payments.signing agrees with stripe-python's own signature code, and refuses what Stripe would refuse."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from payments import signing
from payments.errors import InvalidSignature
from tests.factories.stripe import event, resource

SECRET = "whsec_test_secret"


def body(**overrides) -> bytes:
    raw = event("invoice.paid", resource("invoice"))
    raw.update(overrides)
    return json.dumps(raw).encode()


def stripe_header(payload: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header as stripe-python computes it (what Stripe sends)."""
    return stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=timestamp)


def test_accepts_an_event_signed_by_stripe_pythons_own_code():
    payload = body(id="evt_from_stripe")

    verified = signing.verify(payload=payload, header=stripe_header(payload), secret=SECRET)

    assert verified["id"] == "evt_from_stripe"
    assert verified["type"] == "invoice.paid"


def test_our_signature_passes_stripe_pythons_check():
    payload = body()

    header = signing.sign(payload=payload, secret=SECRET)

    assert stripe.WebhookSignature.verify_header(payload, header, SECRET, tolerance=300) is True


def test_accepts_a_header_with_several_signatures_while_the_secret_is_rolled():
    payload = body()
    timestamp = int(time.time())
    old = stripe_header(payload, secret="whsec_old", timestamp=timestamp).split(",")[1]
    header = f"{stripe_header(payload, timestamp=timestamp)},{old}"

    assert signing.verify(payload=payload, header=header, secret=SECRET)["object"] == "event"


def test_refuses_a_signature_made_with_another_secret():
    payload = body()

    with pytest.raises(InvalidSignature, match="does not match"):
        signing.verify(payload=payload, header=stripe_header(payload, secret="whsec_forged"), secret=SECRET)


def test_refuses_a_timestamp_older_than_five_minutes():
    payload = body()
    header = stripe_header(payload, timestamp=int(time.time()) - 301)

    with pytest.raises(InvalidSignature, match="too old"):
        signing.verify(payload=payload, header=header, secret=SECRET)


def test_accepts_a_timestamp_just_under_five_minutes_old():
    payload = body()
    now = time.time()
    header = stripe_header(payload, timestamp=int(now) - 299)

    assert signing.verify(payload=payload, header=header, secret=SECRET, now=now)["object"] == "event"


@pytest.mark.parametrize("header", ["", "t=,v1=", "v1=abc", "nonsense"])
def test_refuses_a_missing_or_malformed_header(header):
    with pytest.raises(InvalidSignature):
        signing.verify(payload=body(), header=header, secret=SECRET)


def test_refuses_a_truncated_body():
    payload = body()
    header = stripe_header(payload)

    with pytest.raises(InvalidSignature):
        signing.verify(payload=payload[:-10], header=header, secret=SECRET)


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"id": "cus_1", "object": "customer"}).encode(),
        json.dumps(["evt_1"]).encode(),
        json.dumps(
            {"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1, "data": {}}
        ).encode(),
        b"not json at all",
        b"\xff\xfe\x00",
    ],
    ids=["customer", "list", "event-without-object", "text", "binary"],
)
def test_refuses_a_correctly_signed_body_that_is_not_a_stripe_event(payload):
    header = signing.sign(payload=payload, secret=SECRET)

    with pytest.raises(InvalidSignature):
        signing.verify(payload=payload, header=header, secret=SECRET)


def test_refuses_everything_when_no_secret_is_configured():
    payload = body()

    with pytest.raises(InvalidSignature, match="No webhook secret"):
        signing.verify(payload=payload, header=stripe_header(payload), secret="")
