"""The real Stripe gateway: the only module of the project that imports ``stripe``.

Everything that leaves this module is a dataclass of ``payments.types``, a plain dict, or an error of
``payments.errors``; no stripe object and no stripe exception gets out.

- The API version is pinned (``API_VERSION``, the one stripe-python 16.1 sends), so the JSON that
  ``normalise`` reads does not change under our feet when Stripe moves on.
- Every call starts with ``assert_outside_transaction()``: a rollback cannot undo a charge.
- Every write call carries an idempotency key that is saved in ``StripeRequest`` before the call; a
  retry (ours, or a later one after a crash) sends the same key, and Stripe answers with the first
  result instead of doing the work twice.
- Rate limits (429), conflicts (409), network errors and 5xx are retried here with exponential backoff
  and jitter, within a bounded time; then ``PaymentServiceUnavailable``. Any other refusal is
  ``PaymentRequestRefused`` (a 404 on a look-up is ``UnknownObject``). Stripe's message is logged and
  kept on the ``StripeRequest``, never shown to people.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone

from . import signing
from .errors import InvalidSignature, PaymentRequestRefused, PaymentServiceUnavailable, UnknownObject
from .gateway import assert_outside_transaction
from .models import StripeRequest
from .normalise import amount_from_minor, amount_to_minor, settlement_from
from .types import CheckoutRequest, CheckoutSession, PortalSession, PriceSpec, ProductSpec, Settlement

logger = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"  # stripe.api_version of stripe-python 16.1; the webhook endpoint must match

ATTEMPTS = 4  # one call and up to three retries
BACKOFF_FIRST_SECONDS = 0.5  # then 1 s, 2 s (each with jitter: between half and all of it)
BACKOFF_MAX_SECONDS = 4.0
RETRY_BUDGET_SECONDS = 20.0  # no retry starts after this long: a person may be waiting
NETWORK_TIMEOUT_SECONDS = (5, 30)  # connect, read
EVENTS_PAGE_SIZE = 100


def product_id(spec: ProductSpec) -> str:
    return f"patronage-{spec.key}"


def _plain(obj) -> dict:
    """A stripe object as the plain JSON-shaped dict Stripe sent (Decimals back to strings)."""
    return obj.to_dict(recursive=True, for_json=True)


def _id(value) -> str:
    """An expandable field: the id string, or the expanded object's id."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _retryable(error: stripe.StripeError) -> bool:
    if isinstance(error, stripe.APIConnectionError):
        return True
    status = error.http_status
    return status is None or status in (409, 429) or status >= 500


class StripeGateway:
    name = "stripe"

    def __init__(
        self, *, http_client: stripe.HTTPClient | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        if not settings.STRIPE_SECRET_KEY:
            raise PaymentRequestRefused("STRIPE_SECRET_KEY is not set.")
        self.client = stripe.StripeClient(
            api_key=settings.STRIPE_SECRET_KEY,
            stripe_version=API_VERSION,
            max_network_retries=0,  # retries happen in _call, with one budget for 429, network errors and 5xx
            http_client=http_client or stripe.RequestsClient(timeout=NETWORK_TIMEOUT_SECONDS),
        )
        self.sleep = sleep

    # --- the two ways to call Stripe ------------------------------------------------------------

    def _call(self, operation: str, call: Callable[[], Any]) -> Any:
        """Run one Stripe call with retries; only ``payments.errors`` leave this method."""
        assert_outside_transaction()
        started = time.monotonic()
        delay = BACKOFF_FIRST_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = call()
            except stripe.StripeError as error:
                status = error.http_status
                request_id = getattr(error, "request_id", None) or ""
                if not _retryable(error):
                    logger.log(
                        logging.INFO if status == 404 else logging.ERROR,  # a look-up may expect "not found"
                        "stripe: %s refused (HTTP %s, request %s): %s",
                        operation,
                        status,
                        request_id,
                        error.user_message or error,
                    )
                    if status == 404:
                        failure = UnknownObject(f"Stripe does not know the object of {operation}.")
                    else:
                        failure = PaymentRequestRefused(
                            f"Stripe refused {operation} (HTTP {status}, request {request_id})."
                        )
                    failure.stripe_message = str(error.user_message or "")  # for logs and staff only
                    raise failure from None
                pause = min(delay, BACKOFF_MAX_SECONDS) * (0.5 + random.random() / 2)
                out_of_time = time.monotonic() - started + pause > RETRY_BUDGET_SECONDS
                if attempt == ATTEMPTS or out_of_time:
                    logger.error(
                        "stripe: %s failed after %s attempts (HTTP %s, request %s): %s",
                        operation,
                        attempt,
                        status,
                        request_id,
                        error.user_message or error,
                    )
                    failure = PaymentServiceUnavailable(
                        f"Stripe could not be reached for {operation} after {attempt} attempts (HTTP {status})."
                    )
                    failure.stripe_message = str(error.user_message or "")
                    raise failure from None
                logger.warning(
                    "stripe: %s attempt %s failed (HTTP %s): retrying in %.1f s",
                    operation,
                    attempt,
                    status,
                    pause,
                )
                self.sleep(pause)
                delay *= 2
            else:
                return _plain(result) if isinstance(result, stripe.StripeObject) else result
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, operation: str, call: Callable[[dict], Any], *, idempotency_key: str = "") -> Any:
        """A write call: its idempotency key is saved before the call and sent with every attempt."""
        assert_outside_transaction()
        key = idempotency_key or f"{operation}:{uuid.uuid4()}"
        record, _created = StripeRequest.objects.get_or_create(
            idempotency_key=key, defaults={"operation": operation}
        )
        try:
            result = self._call(operation, lambda: call({"idempotency_key": key}))
        except Exception as error:
            detail = getattr(error, "stripe_message", "")
            StripeRequest.objects.filter(pk=record.pk).update(error=f"{error} {detail}".strip()[:2000])
            raise
        StripeRequest.objects.filter(pk=record.pk).update(
            completed=timezone.now(), result_id=str(result.get("id") or "")[:255], error=""
        )
        return result

    # --- products and prices --------------------------------------------------------------------

    def products_sync(self, *, products: Sequence[ProductSpec]) -> None:
        for spec in products:
            self._product_sync(spec)

    def _product_sync(self, spec: ProductSpec) -> None:
        wanted = {"name": spec.name, "description": spec.description or "", "active": spec.active}
        pid = product_id(spec)
        try:
            product = self._call("product.retrieve", lambda: self.client.v1.products.retrieve(pid))
        except UnknownObject:
            product = None
        if product is None:
            params = {"id": pid, **{k: v for k, v in wanted.items() if v != ""}}  # no empty strings on create
            self._write("product.create", lambda options: self.client.v1.products.create(params, options))
        else:
            current = {
                "name": product.get("name"),
                "description": product.get("description") or "",
                "active": bool(product.get("active")),
            }
            if current != wanted:  # an empty description sent on update clears it
                self._write(
                    "product.update", lambda options: self.client.v1.products.update(pid, wanted, options)
                )

        for price in spec.prices:
            self._price_ensure(pid, price)

        wanted_keys = {price.lookup_key for price in spec.prices}
        for existing in self._list_all(
            "price.list", {"product": pid, "active": True}, self.client.v1.prices.list
        ):
            if existing.get("lookup_key") not in wanted_keys:
                self._write(
                    "price.deactivate",
                    lambda options, price_id=existing["id"]: self.client.v1.prices.update(
                        price_id, {"active": False}, options
                    ),
                )

    def _price_ensure(self, pid: str, spec: PriceSpec) -> None:
        currency = spec.currency.lower()
        unit_amount = amount_to_minor(spec.amount, currency)
        found = self._call(
            "price.list", lambda: self.client.v1.prices.list({"lookup_keys": [spec.lookup_key], "limit": 10})
        )["data"]
        for price in found:
            same = (
                _id(price.get("product")) == pid
                and price.get("currency") == currency
                and price.get("unit_amount") == unit_amount
                and (price.get("recurring") or {}).get("interval") == spec.interval
                and price.get("tax_behavior") == spec.tax_behavior
            )
            if same:
                if not price.get("active"):
                    self._write(
                        "price.activate",
                        lambda options, price_id=price["id"]: self.client.v1.prices.update(
                            price_id, {"active": True}, options
                        ),
                    )
                return
        params = {
            "product": pid,
            "currency": currency,
            "unit_amount": unit_amount,
            "recurring": {"interval": spec.interval},
            "tax_behavior": spec.tax_behavior,
            "lookup_key": spec.lookup_key,
            "transfer_lookup_key": True,
        }
        self._write("price.create", lambda options: self.client.v1.prices.create(params, options))

    def _price_for_lookup_key(self, lookup_key: str) -> str:
        found = self._call(
            "price.list",
            lambda: self.client.v1.prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1}),
        )["data"]
        if not found:
            logger.error("stripe: no active price with lookup key %s; sync the tiers to Stripe", lookup_key)
            raise PaymentRequestRefused(f"No active Stripe price has the lookup key {lookup_key}.")
        return found[0]["id"]

    # --- checkout and portal --------------------------------------------------------------------

    def _checkout_params(self, request: CheckoutRequest) -> dict:
        """The Checkout Session parameters for a request (looks up the price of a lookup key)."""
        subscription = request.mode == "subscription"
        if request.price_lookup_key:
            line_item = {"price": self._price_for_lookup_key(request.price_lookup_key), "quantity": 1}
        else:
            if request.amount is None:
                raise ValueError("A checkout needs a price lookup key or an amount.")
            price_data: dict = {
                "currency": request.currency.lower(),
                "unit_amount": amount_to_minor(request.amount, request.currency),
                "product_data": {"name": request.product_name},
            }
            if subscription:
                price_data["recurring"] = {"interval": request.interval or "month"}
            if request.automatic_tax:
                price_data["tax_behavior"] = "inclusive"
            line_item = {"price_data": price_data, "quantity": 1}
        metadata = {str(k): str(v) for k, v in request.metadata.items()}
        params: dict = {
            "mode": request.mode,
            "line_items": [line_item],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "locale": request.locale or "auto",
            "metadata": metadata,
        }
        if subscription:
            params["subscription_data"] = {"metadata": metadata}
        else:
            params["payment_intent_data"] = {"metadata": metadata}
            if request.stripe_invoice:
                params["invoice_creation"] = {"enabled": True, "invoice_data": {"metadata": metadata}}
        if request.payment_methods:
            params["payment_method_types"] = list(request.payment_methods)
        if request.customer_id:
            params["customer"] = request.customer_id
            if request.collect_address or request.automatic_tax:
                params["customer_update"] = {"address": "auto", "name": "auto"}
        elif request.customer_email:
            params["customer_email"] = request.customer_email
        if request.collect_address:
            params["billing_address_collection"] = "required"
        if request.automatic_tax:
            params["automatic_tax"] = {"enabled": True}
        return params

    def checkout_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        assert_outside_transaction()
        params = self._checkout_params(request)
        session = self._write(
            "checkout.session.create",
            lambda options: self.client.v1.checkout.sessions.create(params, options),
            idempotency_key=request.idempotency_key,
        )
        return CheckoutSession(id=session["id"], url=session["url"])

    def portal_create(self, *, customer_id: str, return_url: str, locale: str) -> PortalSession:
        params = {"customer": customer_id, "return_url": return_url, "locale": locale or "auto"}
        session = self._write(
            "billing_portal.session.create",
            lambda options: self.client.v1.billing_portal.sessions.create(params, options),
        )
        return PortalSession(url=session["url"])

    # --- look-ups -------------------------------------------------------------------------------

    def payment_intent_for_invoice(self, *, invoice_id: str) -> str:
        payments = self._list_all(
            "invoice_payment.list", {"invoice": invoice_id}, self.client.v1.invoice_payments.list
        )
        for payment in payments:
            details = payment.get("payment") or {}
            if payment.get("status") == "paid" and details.get("type") == "payment_intent":
                return _id(details.get("payment_intent"))
        raise UnknownObject(f"Invoice {invoice_id} has no paid payment intent.")

    def invoice(self, *, invoice_id: str) -> dict:
        return self._call("invoice.retrieve", lambda: self.client.v1.invoices.retrieve(invoice_id))

    def settlement_for_payment_intent(self, *, payment_intent_id: str) -> Settlement:
        intent = self._call(
            "payment_intent.retrieve",
            lambda: self.client.v1.payment_intents.retrieve(
                payment_intent_id, {"expand": ["latest_charge.balance_transaction"]}
            ),
        )
        charge = intent.get("latest_charge")
        transaction = charge.get("balance_transaction") if isinstance(charge, dict) else None
        if not isinstance(transaction, dict):
            raise UnknownObject(f"Payment intent {payment_intent_id} has no settled charge yet.")
        self._ensure_eur(transaction)
        return settlement_from(
            charge=charge, balance_transaction=transaction, payment_intent_id=payment_intent_id
        )

    def settlement_for_refund(self, *, refund_id: str) -> tuple:
        refund = self._call(
            "refund.retrieve",
            lambda: self.client.v1.refunds.retrieve(refund_id, {"expand": ["balance_transaction"]}),
        )
        transaction = refund.get("balance_transaction")
        if not isinstance(transaction, dict):
            raise UnknownObject(f"Refund {refund_id} has no balance transaction yet.")
        self._ensure_eur(transaction)
        # A refund's balance transaction is negative; its fee is negative when Stripe gives its fee back.
        return (
            amount_from_minor(abs(int(transaction["amount"])), "eur"),
            amount_from_minor(-int(transaction["fee"]), "eur"),
        )

    def settlement_for_dispute(self, *, dispute_id: str) -> tuple:
        dispute = self._call("dispute.retrieve", lambda: self.client.v1.disputes.retrieve(dispute_id))
        transactions = dispute.get("balance_transactions") or []
        for transaction in transactions:
            self._ensure_eur(transaction)
        # Withdrawn when opened (negative amount, plus the dispute fee); given back when won.
        withdrawn = -sum(int(transaction["amount"]) for transaction in transactions)
        fee = sum(int(transaction["fee"]) for transaction in transactions)
        return amount_from_minor(withdrawn, "eur"), amount_from_minor(fee, "eur")

    @staticmethod
    def _ensure_eur(transaction) -> None:
        if (transaction.get("currency") or "").lower() != "eur":
            logger.error(
                "stripe: balance transaction %s settled in %s, not EUR",
                transaction.get("id"),
                transaction.get("currency"),
            )
            raise PaymentRequestRefused("The Stripe account does not settle in EUR.")

    # --- events ---------------------------------------------------------------------------------

    def events_list(self, *, since: datetime.datetime) -> Iterator[dict]:
        """Stripe lists newest first; the pages are fetched (each with retries) and yielded oldest first."""
        params = {"created": {"gte": int(since.timestamp())}, "limit": EVENTS_PAGE_SIZE}
        events = self._list_all("event.list", params, self.client.v1.events.list)
        yield from reversed(events)

    def _list_all(self, operation: str, params: dict, list_call: Callable) -> list:
        """Every item of a Stripe list, following ``has_more`` page by page (each page with retries)."""
        items: list = []
        page_params = dict(params)
        while True:
            page = self._call(operation, lambda page_params=page_params: list_call(page_params))
            data = page.get("data") or []
            items.extend(data)
            if not page.get("has_more") or not data:
                return items
            page_params = {**params, "starting_after": data[-1]["id"]}

    def event_verify(self, *, payload: bytes, signature_header: str) -> dict:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, settings.STRIPE_WEBHOOK_SECRET, signing.TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(str(error)) from None
        except UnicodeDecodeError:
            raise InvalidSignature("The body is not UTF-8.") from None
        # Signature and timestamp check out; the shared verifier parses the body and checks its shape.
        return signing.verify(payload=payload, header=signature_header, secret=settings.STRIPE_WEBHOOK_SECRET)
