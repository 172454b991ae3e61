"""The Stripe webhook under fuzzed input.

- Any body with any (or no) Stripe-Signature header that is not a signed Stripe event: 400, nothing stored.
- A validly signed event whose contents are malformed (fields of the handled event types deleted or given
  other types and values): the request is answered 200 (stored) or 400 (refused, nothing stored), and its
  processing either succeeds or fails with the event left unprocessed and its error recorded, never with
  part of a booking written. Every ledger transaction stays balanced.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import event, example, given
from hypothesis import strategies as st

from fundraising.models import Patron, Patronage, Payment
from ledger.models import Posting, Transaction
from payments.models import WebhookEvent
from payments.services import event_process, event_store
from sponsors.models import Invoice, Sponsorship
from tests.factories import stripe as s
from tests.factories.fundraising import TierFactory

from .conftest import fuzz_settings, ledger_problems, rolled_back, row_counts

pytestmark = pytest.mark.django_db

WEBHOOK = "/stripe/webhook/"
BOOKED_MODELS = (Transaction, Posting, Payment, Patronage, Patron, Invoice, Sponsorship)

# --- Values ---------------------------------------------------------------------------------------

# Strings that are hard to read as what a field should hold: numbers written as text, codes in the wrong
# case, a right-to-left override, text longer than any column.
ODD_TEXT = st.sampled_from(
    ["", " ", "0", "-1", "12.50", "1e400", "NaN", "eur", "EUR", "usd", "jpy", "paid", "BOOK", "\u202e",
     "x" * 300, "999999999999999999999999"]
)  # fmt: skip
# What JSON can carry but no database column stores: NUL and a lone surrogate (both as \u escapes), NaN and
# Infinity (Python's json reads and writes them).
UNSTORABLE = st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfff", float("nan"), float("inf"), float("-inf")]
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.integers(),  # unbounded: JSON numbers have no size limit
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 10**20, 253402300800, -62135596801]),  # beyond any date
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    ODD_TEXT,
)
ANY_JSON_SCALARS = st.one_of(
    JSON_SCALARS,
    UNSTORABLE,
    st.floats(),
    st.text(st.characters(categories=["Cs", "Cc", "L", "N"]), max_size=8),
)


def _json_values(scalars):
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=6,
    )


JSON_VALUES = _json_values(JSON_SCALARS)  # what the processing is fed: the receiving end stores it
ANY_JSON_VALUES = _json_values(ANY_JSON_SCALARS)

# --- Unsigned, garbled and forged deliveries ------------------------------------------------------


def _hmac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


SUPERSCRIPT_TWO = "\u00b2"  # a digit to str.isdigit(), not to int()
LATIN1_TEXT = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40)
TIMESTAMPS = st.one_of(
    st.integers(min_value=-600, max_value=600).map(lambda offset: str(int(time.time()) + offset)),
    st.text(alphabet="0123456789¹²³", min_size=1, max_size=12),  # Latin-1 has digits int() refuses
    LATIN1_TEXT,
)
BODIES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    ANY_JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    # almost an event: the envelope with one part missing or of the wrong type
    st.fixed_dictionaries(
        {},
        optional={
            "object": st.sampled_from(["event", "Event", None]),
            "id": st.one_of(st.just("evt_fuzz_1"), ANY_JSON_SCALARS),
            "type": st.one_of(st.just("invoice.paid"), ANY_JSON_SCALARS),
            "created": st.one_of(st.just(int(time.time())), ANY_JSON_SCALARS),
            "data": st.one_of(
                st.just({"object": []}),
                ANY_JSON_VALUES.filter(
                    lambda data: not (isinstance(data, dict) and isinstance(data.get("object"), dict))
                ),
            ),
        },
    ).map(lambda value: json.dumps(value).encode()),
)


@st.composite
def deliveries(draw) -> tuple[bytes, str | None]:
    """A body, and no header, any Latin-1 text, or ``t=…,v1=…`` signed with the right secret, another one,
    or not at all."""
    body = draw(BODIES, label="body")
    kind = draw(st.sampled_from(["missing", "text", "signed"]))
    if kind == "missing":
        return body, None
    if kind == "text":
        return body, draw(LATIN1_TEXT, label="header")
    timestamp = draw(TIMESTAMPS, label="timestamp")
    secret = draw(st.sampled_from([settings.STRIPE_WEBHOOK_SECRET, "whsec_someone_else"]))
    signature = draw(st.one_of(st.just(_hmac(secret, timestamp, body)), LATIN1_TEXT), label="signature")
    extra = draw(st.sampled_from(["", ",v0=abc", ",v1=", ",t=1", ", v1=" + _hmac(secret, "1", body)]))
    return body, f"t={timestamp},v1={signature}{extra}"


def _deliver(client, body: bytes, header: str | None):
    extra = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    return client.post(WEBHOOK, data=body, content_type="application/json", **extra)


@fuzz_settings(max_examples=300)
@given(delivery=deliveries())
# Found by this test (both were a 500): a signature with a non-ASCII character, which anyone can send
# (hmac.compare_digest refuses such a str), and a timestamp of Latin-1 digits that str.isdigit() takes
# and int() refuses, signed with the right secret.
@example(delivery=(b"{}", "t=1796550800,v1=\x80"))
@example(delivery=(b"{}", f"t=\u00b2,v1={_hmac(settings.STRIPE_WEBHOOK_SECRET, SUPERSCRIPT_TWO, b'{}')}"))
def test_a_delivery_that_is_no_signed_event_gets_400_and_stores_nothing(client, delivery):
    body, header = delivery
    with rolled_back():
        before = row_counts(WebhookEvent, Transaction)

        response = _deliver(client, body, header)

        assert response.status_code == 400, response.content[:300]
        assert response.content.startswith(b"Refused: ")
        assert row_counts(WebhookEvent, Transaction) == before


# --- Signed events with malformed contents --------------------------------------------------------

KINDS = (
    "invoice.paid",
    "invoice.payment_failed",
    "checkout.session.completed",
    "checkout.session.expired",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "payout.paid",
)
# What payments/normalise.py reads of each object (dotted paths; numbers index lists): the fields most
# worth breaking. Any other field of the object may be broken too.
READ_FIELDS = {
    "invoice": [
        "id", "status", "amount_paid", "amount_due", "currency", "customer", "customer_email", "customer_name",
        "customer_address", "billing_reason", "metadata", "subscription", "parent",
        "parent.subscription_details", "parent.subscription_details.subscription",
        "parent.subscription_details.metadata", "status_transitions", "status_transitions.paid_at",
        "total_taxes", "lines", "lines.data", "lines.data.0", "lines.data.0.period",
        "lines.data.0.period.start", "lines.data.0.period.end", "period_start", "attempt_count",
        "next_payment_attempt",
    ],
    "checkout": [
        "id", "mode", "payment_status", "customer", "customer_details", "customer_details.email",
        "customer_details.name", "customer_details.address", "customer_details.address.country",
        "subscription", "payment_intent", "amount_total", "currency", "locale", "metadata",
        "metadata.kind", "metadata.interval", "total_details", "total_details.amount_tax", "invoice",
    ],
    "subscription": [
        "id", "customer", "status", "currency", "metadata", "cancel_at_period_end", "canceled_at", "items",
        "items.data", "items.data.0", "items.data.0.price", "items.data.0.price.unit_amount",
        "items.data.0.price.currency", "items.data.0.price.lookup_key", "items.data.0.price.recurring",
        "items.data.0.price.recurring.interval", "items.data.0.current_period_end", "current_period_end",
    ],
    "charge": [
        "id", "currency", "refunds", "refunds.data", "refunds.data.0", "refunds.data.0.id",
        "refunds.data.0.amount", "refunds.data.0.status", "refunds.data.0.created", "amount",
    ],
    "dispute": ["id", "charge", "amount", "currency", "status", "reason", "created"],
    "payout": ["id", "amount", "currency", "arrival_date"],
}  # fmt: skip
# The kinds that book money come up more often.
KINDS_DRAWN = (
    *KINDS,
    *(
        "invoice.paid",
        "invoice.paid",
        "checkout.session.completed",
        "charge.refunded",
        "charge.dispute.closed",
    ),
)
ENVELOPE_FIELDS = ["id", "created", "livemode", "type", "data", "data.object"]
METADATA = st.sampled_from(
    [
        {},
        {"kind": "donation", "interval": "month"},
        {"tier": "fuzz-tier", "kind": "perk"},
        {"purpose": "sponsorship", "invoice": "RS-2026-00001"},
        {"purpose": "somebody-else"},
    ]
)


def _paths(value, prefix: str = "", depth: int = 0) -> list[str]:
    """Every dotted path into a JSON value, a few levels deep."""
    found = []
    if depth >= 4:
        return found
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        path = f"{prefix}{key}"
        found.append(path)
        found.extend(_paths(child, f"{path}.", depth + 1))
    return found


def _mutate(document: dict, path: str, action: str, value) -> None:
    """Delete the value at ``path`` or replace it; a path that no longer exists is left alone."""
    *parents, last = path.split(".")
    node = document
    for part in parents:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        key = int(last)
    elif isinstance(node, dict):
        key = last
    else:
        return
    if action == "delete":
        if isinstance(node, dict):
            node.pop(key, None)
        else:
            del node[key]
    else:
        node[key] = value


def _fee(amount: Decimal) -> Decimal:
    """Stripe's fee for a European card: 1.5 % + 0.25 EUR."""
    return (amount * Decimal("0.015") + Decimal("0.25")).quantize(Decimal("0.01"))


def _book_payment(fake, *, amount: Decimal = Decimal("30.00")):
    """A patron's paid invoice, booked through the pipeline: the charge a refund or dispute names."""
    settlement = fake.add_charge(amount_eur=amount, fee_eur=_fee(amount))
    invoice = s.invoice(subscription_id=s.new_id("sub"), customer=s.new_id("cus"), amount=amount, metadata={})
    fake.add_invoice(invoice, settlement=settlement)
    stored, _new = event_store(raw=s.event("invoice.paid", invoice), source="webhook")
    assert event_process(event_id=stored.pk, gateway=fake)
    return settlement


def _base_event(draw, fake) -> tuple[dict, str]:
    """A well-formed event of one handled type, with what the fake Stripe needs to answer its look-ups."""
    kind = draw(st.sampled_from(KINDS_DRAWN), label="kind")
    metadata = draw(METADATA, label="metadata")
    amount = draw(st.sampled_from([Decimal("0.50"), Decimal("10.00"), Decimal("30.00"), Decimal("9999.99")]))
    if kind.startswith("invoice."):
        settlement = fake.add_charge(amount_eur=amount, fee_eur=_fee(amount))
        obj = s.invoice(
            subscription_id=s.new_id("sub"),
            customer=s.new_id("cus"),
            amount=amount,
            metadata=metadata,
            status="paid" if kind == "invoice.paid" else "open",
        )
        fake.add_invoice(obj, settlement=settlement)
        return s.event(kind, obj), "invoice"
    if kind.startswith("checkout."):
        mode = draw(st.sampled_from(["payment", "subscription"]))
        settlement = fake.add_charge(amount_eur=amount, fee_eur=_fee(amount))
        obj = s.checkout_session(
            mode=mode,
            metadata={"interval": "once" if mode == "payment" else "month", **metadata},
            amount=amount,
            payment_intent=settlement.payment_intent_id if mode == "payment" else "",
            subscription=s.new_id("sub") if mode == "subscription" else "",
        )
        return s.event(kind, obj), "checkout"
    if kind.startswith("customer.subscription."):
        obj = s.subscription(
            subscription_id=s.new_id("sub"),
            customer=s.new_id("cus"),
            status=draw(st.sampled_from(["active", "past_due", "canceled", "incomplete"])),
            metadata=metadata,
            amount=amount,
            interval=draw(st.sampled_from(["month", "year"])),
        )
        return s.event(kind, obj), "subscription"
    if kind == "payout.paid":
        return s.event(kind, s.payout(payout_id=s.new_id("po"), amount=amount)), "payout"
    # Refunds and disputes name a charge: book one first (or not: then the charge is unknown).
    charge_id = (
        _book_payment(fake).charge_id if draw(st.booleans(), label="charge booked") else s.new_id("ch")
    )
    if kind == "charge.refunded":
        refund_id = s.new_id("re")
        fake.refunds[refund_id] = (min(amount, Decimal("30.00")), Decimal("0.00"))
        obj = s.charge_refunded(charge_id=charge_id, amount=Decimal("30.00"), refunded=[(refund_id, amount)])
        return s.event(kind, obj), "charge"
    dispute_id = s.new_id("dp")
    fake.disputes[dispute_id] = (min(amount, Decimal("30.00")), Decimal("15.00"))
    status = "needs_response" if kind != "charge.dispute.closed" else draw(st.sampled_from(["won", "lost"]))
    obj = s.dispute(dispute_id=dispute_id, charge_id=charge_id, amount=amount, status=status)
    return s.event(kind, obj), "dispute"


def _break(draw, original: dict, shape: str) -> dict:
    """The event with a few of its fields deleted or replaced by other JSON values."""
    broken = copy.deepcopy(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4), label="changes")):
        where = draw(st.sampled_from(["object", "object", "object", "envelope"]))
        if where == "envelope":
            path = draw(st.sampled_from(ENVELOPE_FIELDS))
        else:
            fields = READ_FIELDS[shape]
            obj = broken["data"].get("object") if isinstance(broken.get("data"), dict) else None
            path = "data.object." + draw(
                st.one_of(st.sampled_from(fields), st.sampled_from(_paths(obj) or fields))
            )
        action = draw(st.sampled_from(["replace", "replace", "delete"]))
        value = None
        if action == "replace":
            value = draw(st.sampled_from(KINDS)) if path == "type" else draw(JSON_VALUES)
        _mutate(broken, path, action, value)
    return broken


def _post_signed(client, raw: dict):
    body = json.dumps(raw).encode()  # NaN and Infinity are written as Python's json writes them
    header = s.signing.sign(payload=body, secret=settings.STRIPE_WEBHOOK_SECRET)
    return _deliver(client, body, header)


@fuzz_settings(max_examples=200)
@given(
    envelope=st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=300), ODD_TEXT, UNSTORABLE),
            "created": st.one_of(st.integers(), ANY_JSON_SCALARS),
            "type": st.one_of(st.sampled_from(KINDS), st.text(max_size=120), ODD_TEXT, UNSTORABLE),
            "livemode": ANY_JSON_SCALARS,
            "request": ANY_JSON_VALUES,
        },
    )
)
# Found by these tests (each was a 500): a creation time no datetime holds, Infinity or NaN (Python's json
# reads them; SQLite's JSON_VALID check and PostgreSQL's jsonb refuse them), a lone surrogate (no UTF-8
# encoder takes it), and on PostgreSQL a NUL character or an id longer than its column.
@example(envelope={"created": 2**63})
@example(envelope={"created": -62_135_596_801})
@example(envelope={"request": {"idempotency_key": float("inf")}})
@example(envelope={"type": "\ud800"})
@example(envelope={"id": "evt_\x00"})
@example(envelope={"request": ["\x00"]})
@example(envelope={"id": "evt_" + "x" * 300})
def test_a_signed_event_with_odd_ids_types_or_dates_is_stored_or_refused(client, envelope):
    raw = {**s.event("payout.paid", s.payout(payout_id=s.new_id("po"), amount=Decimal("1.00"))), **envelope}
    with rolled_back():
        stored_before = WebhookEvent.objects.count()

        response = _post_signed(client, raw)

        assert response.status_code in (200, 400), response.content[:500]
        if response.status_code == 400:
            assert WebhookEvent.objects.count() == stored_before
        else:
            stored = WebhookEvent.objects.get(stripe_id=raw["id"])
            # (not the whole payload: PostgreSQL's jsonb writes a number like 6.35e+16 back as an integer)
            assert (stored.type, stored.payload["id"], stored.payload["data"]) == (
                raw["type"],
                raw["id"],
                raw["data"],
            )


@pytest.fixture
def tier(db):
    return TierFactory(slug="fuzz-tier", monthly_amount=Decimal("10.00"), vat_rate=Decimal("19.00"))


@fuzz_settings(max_examples=400)
@given(data=st.data())
def test_a_signed_but_malformed_event_is_stored_or_refused_and_processed_all_or_nothing(
    client, fake_stripe, tier, data
):
    with rolled_back():
        original, shape = _base_event(data.draw, fake_stripe)
        raw = _break(data.draw, original, shape)
        stored_before = WebhookEvent.objects.count()

        response = _post_signed(client, raw)

        assert response.status_code in (200, 400), response.content[:500]
        if response.status_code == 400:
            event("refused")
            assert WebhookEvent.objects.count() == stored_before
            return
        stored = WebhookEvent.objects.get(stripe_id=raw["id"])
        if response.content == b"already stored":
            return
        assert WebhookEvent.objects.count() == stored_before + 1
        before = row_counts(*BOOKED_MODELS)

        try:
            processed = event_process(event_id=stored.pk, gateway=fake_stripe)
        except Exception:  # recorded on the event (checked below); the sweep tries again later
            processed = False

        stored.refresh_from_db()
        event(
            f"{raw['type'] if isinstance(raw['type'], str) else '?'}: {'processed' if processed else 'failed'}"
        )
        if processed:
            assert stored.processed_at is not None and stored.last_error == ""
            after = row_counts(*BOOKED_MODELS)
            assert not event_process(event_id=stored.pk, gateway=fake_stripe)  # once only
            assert row_counts(*BOOKED_MODELS) == after
        else:
            assert stored.processed_at is None, "a failed event must stay unprocessed"
            assert stored.last_error, "a failed event must say why"
            assert stored.attempts == 1
            assert row_counts(*BOOKED_MODELS) == before, "a failed event wrote part of its booking"
        assert ledger_problems() == []


@fuzz_settings(max_examples=30)
@given(data=st.data())
def test_a_well_formed_event_is_processed_or_waits_for_the_event_it_depends_on(
    client, fake_stripe, tier, data
):
    """The unbroken events the fuzzing starts from are processed, or wait (TransientError, retried) for an
    event they depend on (a refund for a charge not booked yet, a failed payment of a subscription not
    created yet, a sponsor invoice that does not exist here); the failures above come from the breaks."""
    with rolled_back():
        original, _shape = _base_event(data.draw, fake_stripe)

        response = _post_signed(client, original)

        assert response.status_code == 200
        stored = WebhookEvent.objects.get(stripe_id=original["id"])
        try:
            processed = event_process(event_id=stored.pk, gateway=fake_stripe)
        except Exception:
            processed = False
        stored.refresh_from_db()
        assert processed or stored.last_error.startswith("TransientError: "), stored.last_error
        assert ledger_problems() == []
