"""Stripe-shaped test events, built from Stripe's own example objects (../shared/stripe/fixtures3.json).

``FakeStripe`` answers the look-ups the pipeline makes (the payments/ edge), from what the test told it.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import time
from decimal import Decimal
from functools import cache
from pathlib import Path

from payments import signing
from payments.types import Settlement

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"
_counter = itertools.count(1)


@cache
def _resources() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def resource(name: str) -> dict:
    return copy.deepcopy(_resources()[name])


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_counter):012d}"


def cents(amount: Decimal | str) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def unix(moment: datetime.datetime | None = None) -> int:
    return int((moment or datetime.datetime.now(datetime.UTC)).timestamp())


def event(kind: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    envelope = resource("event")
    envelope.update(
        id=event_id or new_id("evt"),
        type=kind,
        created=created if created is not None else unix(),
        api_version="2026-10-28.endive",
        livemode=False,
        data={"object": obj},
    )
    return envelope


def signed_body(
    raw: dict, *, secret: str = "whsec_test_secret", timestamp: int | None = None
) -> tuple[bytes, str]:
    payload = json.dumps(raw).encode()
    return payload, signing.sign(payload=payload, secret=secret, timestamp=timestamp)


def post_event(client, raw: dict, **kwargs):
    """Deliver a signed event, and run what it queues after commit (tests run inside a transaction)."""
    from django.db import connection
    from django.test import TestCase

    payload, header = signed_body(raw, **kwargs)
    if not connection.in_atomic_block:  # transactional tests: commits happen for real
        return client.post(
            "/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )


def checkout_session(
    *,
    mode: str,
    metadata: dict,
    amount: Decimal,
    currency: str = "eur",
    customer: str = "",
    subscription: str = "",
    payment_intent: str = "",
    email: str = "guest@example.org",
    name: str = "Erika Mustermann",
) -> dict:
    session = resource("checkout.session")
    session.update(
        id=new_id("cs"),
        mode=mode,
        status="complete",
        payment_status="paid",
        metadata=metadata,
        amount_total=cents(amount),
        amount_subtotal=cents(amount),
        currency=currency,
        customer=customer or new_id("cus"),
        subscription=subscription or None,
        payment_intent=payment_intent or None,
        invoice=None,
        locale="de",
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    )
    session["customer_details"].update(
        email=email,
        name=name,
        address={
            "line1": "Musterstraße 1",
            "line2": None,
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
            "state": None,
        },
    )
    return session


def subscription(
    *,
    subscription_id: str,
    customer: str,
    status: str,
    metadata: dict,
    amount: Decimal,
    interval: str = "month",
    lookup_key: str = "",
    currency: str = "eur",
    period_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> dict:
    sub = resource("subscription")
    sub.update(
        id=subscription_id,
        customer=customer,
        status=status,
        metadata=metadata,
        currency=currency,
        cancel_at_period_end=cancel_at_period_end,
        canceled_at=unix() if status == "canceled" else None,
    )
    item = sub["items"]["data"][0]
    item["price"].update(
        lookup_key=lookup_key or None,
        unit_amount=cents(amount),
        currency=currency,
        recurring={"interval": interval},
    )
    item["current_period_end"] = period_end or unix() + 30 * 86400
    item["subscription"] = subscription_id
    return sub


def invoice(
    *,
    subscription_id: str,
    customer: str,
    amount: Decimal,
    metadata: dict,
    currency: str = "eur",
    status: str = "paid",
    billing_reason: str = "subscription_cycle",
    email: str = "patron@example.org",
    tax: Decimal = Decimal("0"),
    paid_at: int | None = None,
) -> dict:
    inv = resource("invoice")
    now = paid_at or unix()
    inv.update(
        id=new_id("in"),
        customer=customer,
        currency=currency,
        status=status,
        amount_paid=cents(amount) if status == "paid" else 0,
        amount_due=cents(amount),
        billing_reason=billing_reason,
        customer_email=email,
        customer_name="Erika Mustermann",
        customer_address=None,
        metadata={},
        subscription=None,
        parent={
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"subscription": subscription_id, "metadata": metadata},
        },
        status_transitions={"paid_at": now if status == "paid" else None, "finalized_at": now},
        total_taxes=[{"amount": cents(tax), "tax_behavior": "inclusive"}] if tax else [],
        attempt_count=1,
        hosted_invoice_url="https://invoice.stripe.com/i/test",
    )
    line = inv["lines"]["data"][0]
    line["period"] = {"start": now, "end": now + 30 * 86400}
    return inv


def charge_refunded(
    *, charge_id: str, amount: Decimal, refunded: list[tuple[str, Decimal]], currency="eur"
) -> dict:
    charge = resource("charge")
    charge.update(
        id=charge_id,
        amount=cents(amount),
        amount_refunded=sum(cents(a) for _, a in refunded),
        currency=currency,
        refunded=True,
        refunds={
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": refund_id,
                    "object": "refund",
                    "amount": cents(refund_amount),
                    "charge": charge_id,
                    "currency": currency,
                    "status": "succeeded",
                    "created": unix(),
                }
                for refund_id, refund_amount in refunded
            ],
        },
    )
    return charge


def dispute(*, dispute_id: str, charge_id: str, amount: Decimal, status: str, currency="eur") -> dict:
    obj = resource("dispute")
    obj.update(
        id=dispute_id,
        charge=charge_id,
        amount=cents(amount),
        currency=currency,
        status=status,
        created=unix(),
    )
    return obj


def payout(*, payout_id: str, amount: Decimal) -> dict:
    obj = resource("payout")
    obj.update(id=payout_id, amount=cents(amount), currency="eur", status="paid", arrival_date=unix())
    return obj


class FakeStripe:
    """Answers the pipeline's look-ups (the only part of Stripe's API the processing reads)."""

    name = "fake"

    def __init__(self):
        self.invoices: dict[str, dict] = {}
        self.invoice_intents: dict[str, str] = {}
        self.settlements: dict[str, Settlement] = {}
        self.refunds: dict[str, tuple[Decimal, Decimal]] = {}
        self.disputes: dict[str, tuple[Decimal, Decimal]] = {}
        self.events: list[dict] = []
        self.calls = 0

    def add_charge(self, *, amount_eur: Decimal, fee_eur: Decimal, payment_intent_id: str = "") -> Settlement:
        payment_intent_id = payment_intent_id or new_id("pi")
        settlement = Settlement(
            charge_id=new_id("ch"),
            payment_intent_id=payment_intent_id,
            balance_transaction_id=new_id("txn"),
            amount_eur=Decimal(amount_eur),
            fee_eur=Decimal(fee_eur),
            net_eur=Decimal(amount_eur) - Decimal(fee_eur),
            exchange_rate=None,
        )
        self.settlements[payment_intent_id] = settlement
        return settlement

    def add_invoice(self, inv: dict, *, settlement: Settlement) -> None:
        self.invoices[inv["id"]] = inv
        self.invoice_intents[inv["id"]] = settlement.payment_intent_id

    def invoice(self, *, invoice_id):
        self.calls += 1
        return copy.deepcopy(self.invoices[invoice_id])

    def payment_intent_for_invoice(self, *, invoice_id):
        self.calls += 1
        return self.invoice_intents[invoice_id]

    def settlement_for_payment_intent(self, *, payment_intent_id):
        self.calls += 1
        return self.settlements[payment_intent_id]

    def settlement_for_refund(self, *, refund_id):
        return self.refunds[refund_id]

    def settlement_for_dispute(self, *, dispute_id):
        return self.disputes[dispute_id]

    def events_list(self, *, since):
        return iter(
            sorted((e for e in self.events if e["created"] >= since.timestamp()), key=lambda e: e["created"])
        )


def now_ts() -> int:
    return int(time.time())
