"""What the domain sees of payments: plain dataclasses in, plain dataclasses out.

Amounts are ``Decimal`` in major units (EUR, USD); integers in minor units exist only inside the
gateways. Every event dataclass carries ``event_id`` and ``event_created`` (Stripe's ``created``) so
a handler can tell an older state from a newer one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

# --- Requests the domain makes ------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""


@dataclass(frozen=True)
class ProductSpec:
    """A tier as Stripe should know it: one Product, one Price per (interval, currency, amount)."""

    key: str  # stable id, e.g. "tier-supporter"; the Product's id is "patronage-<key>"
    name: str
    description: str
    active: bool
    prices: tuple[PriceSpec, ...]


@dataclass(frozen=True)
class PriceSpec:
    lookup_key: str  # e.g. "tier-supporter-month-eur-500": a changed amount is a new price
    amount: Decimal
    currency: str  # "eur" or "usd"
    interval: str  # "month" or "year"
    tax_behavior: str = "inclusive"


@dataclass(frozen=True)
class CheckoutRequest:
    """One Checkout Session. ``mode`` is "subscription" (recurring) or "payment" (once).

    Either ``price_lookup_key`` (a tier's synced price) or ``amount`` + ``currency`` + ``product_name``
    (a free amount, sent as inline price data) is given. ``metadata`` comes back on every event about
    the session, its subscription, invoices and charges.
    """

    idempotency_key: str
    mode: str
    success_url: str
    cancel_url: str
    metadata: dict[str, str]
    interval: str = ""  # "month" / "year" for subscriptions
    price_lookup_key: str = ""
    amount: Decimal | None = None
    currency: str = "eur"
    product_name: str = ""
    customer_id: str = ""
    customer_email: str = ""
    locale: str = "auto"
    collect_address: bool = False  # donations: the receipt needs name and postal address
    automatic_tax: bool = False
    # Payment methods to offer ("card", "sepa_debit"); empty: the account's defaults (Dashboard).
    payment_methods: tuple[str, ...] = ()
    # One-time payments: let Stripe make its own invoice document. Off where the domain issues the
    # invoice itself (sponsorships: the §14 e-invoice is ours, a second invoice would confuse the books).
    stripe_invoice: bool = True


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class PortalSession:
    url: str


# --- Look-ups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """How a charge settled in the Stripe balance, in EUR, from its balance transaction."""

    charge_id: str
    payment_intent_id: str
    balance_transaction_id: str
    amount_eur: Decimal  # gross, in EUR
    fee_eur: Decimal
    net_eur: Decimal
    exchange_rate: Decimal | None
    available_on: datetime.date | None = None


# --- Events, normalised -------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    event_id: str
    event_created: datetime.datetime
    livemode: bool


@dataclass(frozen=True)
class CheckoutCompleted(Event):
    session_id: str
    mode: str  # "payment" / "subscription"
    payment_status: str  # "paid", "unpaid" (async methods), "no_payment_required"
    customer_id: str
    customer_email: str
    customer_name: str
    address: Address
    subscription_id: str
    payment_intent_id: str
    amount_total: Decimal
    currency: str
    locale: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutFailed(Event):
    """checkout.session.async_payment_failed, or checkout.session.expired."""

    session_id: str
    reason: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentSucceeded(Event):
    """Money arrived: a paid invoice (subscription) or a paid one-time Checkout payment.

    ``charge_id`` is the key everything is booked under: the same charge reported by invoice.paid,
    invoice_payment.paid and checkout.session.completed is one payment.
    """

    charge_id: str
    payment_intent_id: str
    invoice_id: str
    subscription_id: str
    customer_id: str
    checkout_session_id: str
    customer_email: str
    customer_name: str
    address: Address
    amount: Decimal  # gross, in ``currency``
    tax_amount: Decimal  # included VAT as computed by Stripe Tax, or zero when Stripe did not compute it
    currency: str
    paid_at: datetime.datetime
    settlement: Settlement
    billing_reason: str  # subscription_create, subscription_cycle, subscription_update, manual, or "checkout"
    period_start: datetime.date | None
    period_end: datetime.date | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentFailed(Event):
    """invoice.payment_failed or invoice.payment_action_required."""

    invoice_id: str
    subscription_id: str
    customer_id: str
    amount: Decimal
    currency: str
    attempt_count: int
    next_attempt_at: datetime.datetime | None
    action_required: bool
    hosted_invoice_url: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscriptionChanged(Event):
    """customer.subscription.created / updated / deleted, as the state Stripe holds now."""

    subscription_id: str
    customer_id: str
    status: str  # incomplete, incomplete_expired, trialing, active, past_due, unpaid, canceled, paused
    price_lookup_key: str
    amount: Decimal
    currency: str
    interval: str
    current_period_end: datetime.datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime.datetime | None
    deleted: bool
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundIssued(Event):
    """One refund of a charge (charge.refunded carries all of them; one dataclass per refund)."""

    refund_id: str
    charge_id: str
    amount: Decimal
    currency: str
    amount_eur: Decimal
    fee_refunded_eur: Decimal  # Stripe keeps its fee on refunds today; zero then
    created: datetime.datetime


@dataclass(frozen=True)
class DisputeChanged(Event):
    """charge.dispute.created / closed. ``status`` is Stripe's; "lost" means the money is gone."""

    dispute_id: str
    charge_id: str
    amount: Decimal
    currency: str
    amount_eur: Decimal
    fee_eur: Decimal  # the dispute fee Stripe charged, in EUR
    status: str
    reason: str
    closed: bool
    created: datetime.datetime


@dataclass(frozen=True)
class PayoutPaid(Event):
    payout_id: str
    amount_eur: Decimal
    arrival_date: datetime.date


@dataclass(frozen=True)
class FraudWarning(Event):
    warning_id: str
    charge_id: str
    fraud_type: str
    actionable: bool
