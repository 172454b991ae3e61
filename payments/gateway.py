"""The one interface the domain uses to reach Stripe, and the choice between Stripe and the sandbox.

``gateway()`` returns the Stripe gateway (``payments.stripe_gateway``, the only module that imports
``stripe``) when ``STRIPE_SECRET_KEY`` is set, and the local sandbox (``payments.sandbox``) when
``PAYMENTS_SANDBOX`` is on (settings: on by default only with DEBUG and no Stripe key). With neither,
payments are switched off and ``PaymentsNotConfigured`` says so.

Every write call takes an idempotency key that the caller saved before the call (``StripeRequest``);
no call is made inside a database transaction (``assert_outside_transaction``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Protocol

from django.conf import settings
from django.db import connection

from .types import CheckoutRequest, CheckoutSession, PortalSession, ProductSpec, Settlement


class PaymentsNotConfigured(Exception):
    """Neither STRIPE_SECRET_KEY nor PAYMENTS_SANDBOX is set."""


class Gateway(Protocol):
    name: str  # "stripe" or "sandbox"

    def products_sync(self, *, products: Sequence[ProductSpec]) -> None:
        """Create or update one Product per spec and one Price per price spec (by lookup key)."""

    def checkout_create(self, *, request: CheckoutRequest) -> CheckoutSession: ...

    def portal_create(self, *, customer_id: str, return_url: str, locale: str) -> PortalSession: ...

    def settlement_for_payment_intent(self, *, payment_intent_id: str) -> Settlement:
        """The latest charge of the payment intent and its balance transaction, in EUR."""

    def payment_intent_for_invoice(self, *, invoice_id: str) -> str:
        """The paid payment intent of an invoice, through its invoice payments (API 2025-03-31+)."""

    def invoice(self, *, invoice_id: str) -> dict:
        """The invoice as Stripe's JSON (for invoice_payment.paid, which names only its id)."""

    def settlement_for_dispute(self, *, dispute_id: str) -> tuple:
        """(amount_eur, fee_eur) of a dispute's balance transactions."""

    def settlement_for_refund(self, *, refund_id: str) -> tuple:
        """(amount_eur, fee_refunded_eur) of a refund's balance transaction."""

    def events_list(self, *, since: datetime.datetime) -> Iterator[dict]:
        """Every event Stripe still holds that was created at or after ``since``, oldest first."""

    def event_verify(self, *, payload: bytes, signature_header: str) -> dict:
        """The event, parsed, once its signature and timestamp check out; else ``InvalidSignature``."""


def sandbox_enabled() -> bool:
    return bool(getattr(settings, "PAYMENTS_SANDBOX", False))


def gateway() -> Gateway:
    if getattr(settings, "STRIPE_SECRET_KEY", "") and not sandbox_enabled():
        from .stripe_gateway import StripeGateway

        return StripeGateway()
    if sandbox_enabled():
        from .sandbox import SandboxGateway

        return SandboxGateway()
    raise PaymentsNotConfigured(
        "Payments are switched off: set STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET), "
        "or PAYMENTS_SANDBOX=1 for the local sandbox."
    )


def assert_outside_transaction() -> None:
    """Stripe calls never run inside a database transaction: a rollback cannot undo a charge."""
    if connection.in_atomic_block and not getattr(settings, "PAYMENTS_ALLOW_CALLS_IN_TRANSACTION", False):
        raise RuntimeError("A Stripe call was made inside a database transaction; call it after commit.")
