"""The local sandbox that stands in for Stripe when ``PAYMENTS_SANDBOX`` is on (never in production).

It keeps Stripe's objects as Stripe's JSON in the database (``SandboxObject``, keyed by Stripe-like ids),
so it survives restarts and works across processes. Its Checkout and Billing Portal are local pages
(``payments.sandbox_views``); what happens there, and what the helpers below do (renewals by moving the
sandbox clock, refunds, disputes, payouts), is told to the site the way Stripe tells it: events shaped
like Stripe's, signed with ``STRIPE_WEBHOOK_SECRET`` and delivered through the same webhook view, after
the sandbox's own transaction commits. The look-ups the pipeline makes are answered from the same state.

Checkout takes cards and, for one-time payments in EUR, SEPA Direct Debit with Stripe's test IBANs. A debit
goes Stripe's asynchronous way: the session completes unpaid (payment intent processing, charge pending);
the bank's answer comes later (``sepa_settle``: the button on the sandbox's debit page, the moving clock,
or at once while ``PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS`` is 0) as checkout.session.async_payment_succeeded
or checkout.session.async_payment_failed.

Money inside is in integer minor units, as at Stripe; what leaves through ``Settlement`` is Decimal.
Fees: 1.5 % + 0.25 EUR per card charge, 0.35 EUR per SEPA Direct Debit; USD is converted at a fixed
0.92 EUR per USD; a dispute costs 15 EUR.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import hashlib
import heapq
import json
import logging
import secrets
import string
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban

from . import signing
from .errors import PaymentError, PaymentRequestRefused, UnknownObject
from .models import SandboxObject
from .normalise import amount_from_minor, amount_to_minor, settlement_from
from .types import Address, CheckoutRequest, CheckoutSession, PortalSession, ProductSpec, Settlement

logger = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"  # the version stripe-python 16 pins
USD_TO_EUR = Decimal("0.92")
FEE_RATE = Decimal("0.015")
FEE_FIXED_CENTS = 25
SEPA_FEE_CENTS = 35  # Stripe's fee per SEPA Direct Debit, whatever the amount
DISPUTE_FEE_CENTS = 1500
VAT_RATE = Decimal("19")  # what the sandbox's stand-in for Stripe Tax charges, included in the price
AVAILABLE_AFTER_DAYS = 7
PORTAL_LIFETIME_SECONDS = 3600
RETRY_AFTER_DAYS = (3, 5, 7)  # Smart Retries, simplified: 4 attempts in about two weeks, then cancel
CLOCK_ID = "clock_sandbox"
PAYMENT_METHOD_TYPES = ("card", "sepa_debit")  # what the sandbox's checkout takes
DAY = 86400


# --- Test cards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxCard:
    number: str
    label: str
    brand: str
    code: str = ""  # Stripe's error code when the card is refused at payment
    decline_code: str = ""
    message: str = ""
    attaches: bool = True  # whether it can be saved as a card (portal "update card")


_DECLINED = _("Your card was declined.")
TEST_CARDS: dict[str, SandboxCard] = {
    card.number: card
    for card in (
        SandboxCard("4242424242424242", _("Payment succeeds"), "visa"),
        SandboxCard("5555555555554444", _("Payment succeeds (Mastercard)"), "mastercard"),
        SandboxCard(
            "4000000000000002",
            _("Declined (generic decline)"),
            "visa",
            "card_declined",
            "generic_decline",
            _DECLINED,
            attaches=False,
        ),
        SandboxCard(
            "4000000000009995",
            _("Declined (insufficient funds)"),
            "visa",
            "card_declined",
            "insufficient_funds",
            _("Your card has insufficient funds."),
            attaches=False,
        ),
        SandboxCard(
            "4000002760003184",
            _("Authentication fails (3D Secure)"),
            "visa",
            "payment_intent_authentication_failure",
            "",
            _(
                "We are unable to authenticate your payment method. "
                "Please choose a different payment method and try again."
            ),
            attaches=False,
        ),
        SandboxCard(
            "4000000000000341",
            _("Can be saved, but later charges fail"),
            "visa",
            "card_declined",
            "generic_decline",
            _DECLINED,
        ),
    )
}
CARD_SUCCESS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_AUTHENTICATION_FAILS = "4000002760003184"
CARD_FAILS_AFTER_SAVING = "4000000000000341"  # can be saved in the portal; every later charge fails
# The hint list on the checkout page: success, decline, insufficient funds, authentication failure.
CHECKOUT_HINT_CARDS = (CARD_SUCCESS, CARD_DECLINED, CARD_INSUFFICIENT_FUNDS, CARD_AUTHENTICATION_FAILS)


class CardDeclined(PaymentError):
    """The sandbox's card network refused the card. ``user_message`` is Stripe's own wording."""

    def __init__(self, card: SandboxCard | None):
        self.code = card.code if card else "incorrect_number"
        self.decline_code = card.decline_code if card else ""
        self.user_message = card.message if card else _("Your card number is incorrect.")
        super().__init__(str(self.user_message))


def _english(message) -> str:
    """Stripe's own texts in its JSON are English, whatever language the page is in."""
    with translation.override("en"):
        return str(message)


def card_digits(number: str) -> str:
    return "".join(ch for ch in str(number) if ch.isdigit())


def _card(number: str) -> SandboxCard:
    """The test card for a number; any other number is refused as real Stripe test mode does."""
    card = TEST_CARDS.get(card_digits(number))
    if card is None:
        raise CardDeclined(None)
    return card


# --- Test IBANs (SEPA Direct Debit) ------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxIban:
    iban: str
    label: str
    bank_code: str
    failure_code: str = ""  # Stripe's failure code when the bank returns the debit
    message: str = ""


TEST_IBANS: dict[str, SandboxIban] = {
    account.iban: account
    for account in (
        SandboxIban("DE89370400440532013000", _("The debit succeeds"), "37040044"),
        SandboxIban("AT611904300234573201", _("The debit succeeds (Austria)"), "19043"),
        SandboxIban(
            "DE62370400440532013001",
            _("The debit fails"),
            "37040044",
            "insufficient_funds",
            _("The customer's account has insufficient funds to cover this payment."),
        ),
    )
}
IBAN_SUCCESS = "DE89370400440532013000"
IBAN_SUCCESS_AUSTRIA = "AT611904300234573201"
IBAN_FAILS = "DE62370400440532013001"


class IbanRefused(PaymentError):
    """A valid IBAN that is not one of the sandbox's test IBANs: no money moves in the sandbox."""

    def __init__(self):
        self.code = "invalid_bank_account_iban"
        self.user_message = _("This is not one of the sandbox's test IBANs. Use one of those listed below.")
        super().__init__(str(self.user_message))


def iban_compact(value: str) -> str:
    """The IBAN without spaces, in capitals (``DE89 3704 …`` becomes ``DE893704…``)."""
    return stdnum_iban.compact(str(value))


def _test_iban(value: str) -> SandboxIban:
    account = TEST_IBANS.get(iban_compact(value))
    if account is None:
        raise IbanRefused()
    return account


def sepa_delay_seconds() -> int:
    """After how much sandbox time the bank answers a debit (when the clock is moved past it; the debit page's
    button answers it before). 0: at once, as in Stripe's test mode."""
    return max(0, int(getattr(settings, "PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS", 0) or 0))


# --- Clock, ids and storage ------------------------------------------------------------------------


def _clock_row(lock: bool = False) -> SandboxObject:
    rows = SandboxObject.objects.select_for_update() if lock else SandboxObject.objects
    row = rows.filter(stripe_id=CLOCK_ID).first()
    if row is None:
        now = int(time.time())
        row, _created = SandboxObject.objects.get_or_create(
            stripe_id=CLOCK_ID,
            defaults={
                "kind": "test_helpers.test_clock",
                "data": {
                    "id": CLOCK_ID,
                    "object": "test_helpers.test_clock",
                    "created": now,
                    "deletes_after": None,
                    "frozen_time": now,
                    "livemode": False,
                    "name": "Sandbox clock",
                    "status": "ready",
                },
                "private": {"offset": 0},
            },
        )
    return row


def clock_now() -> int:
    """The sandbox's time as a Unix timestamp: real time plus however far the clock was moved."""
    return int(time.time()) + int(_clock_row().private.get("offset", 0))


def clock_set(*, moment: datetime.datetime) -> None:
    """Put the sandbox clock at ``moment`` (also into the past, for seeding history)."""
    with transaction.atomic():
        row = _clock_row(lock=True)
        target = int(moment.timestamp())
        row.private = {**row.private, "offset": target - int(time.time())}
        row.data = {**row.data, "frozen_time": target}
        row.save(update_fields=["private", "data"])


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_id(prefix: str) -> str:
    if prefix == "cs":
        return f"cs_test_a1{_random(56)}"
    return f"{prefix}_1{_random(23)}"


def _save(data: dict, private: dict | None = None) -> dict:
    defaults: dict = {"kind": data["object"], "data": data}
    if private is not None:
        defaults["private"] = private
    SandboxObject.objects.update_or_create(stripe_id=data["id"], defaults=defaults)
    return data


def _row(stripe_id: str, kind: str | None = None, lock: bool = False) -> SandboxObject:
    rows = SandboxObject.objects.select_for_update() if lock else SandboxObject.objects
    row = rows.filter(stripe_id=stripe_id or "").first()
    if row is None or (kind and row.kind != kind):
        raise UnknownObject(f"No such {kind or 'object'}: {stripe_id!r}")
    return row


def retrieve(stripe_id: str, kind: str | None = None) -> dict:
    """One sandbox object as Stripe's JSON (a copy): for tests, the demo and the sandbox pages."""
    return copy.deepcopy(_row(stripe_id, kind).data)


def objects(kind: str, **lookups) -> list[dict]:
    """Every sandbox object of a kind, oldest first; ``lookups`` filter on its JSON (``data__status="paid"``)."""
    return [row.data for row in SandboxObject.objects.filter(kind=kind, **lookups).order_by("pk")]


def _private(stripe_id: str) -> dict:
    return _row(stripe_id).private


# --- Money ---------------------------------------------------------------------------------------


def _cents_eur(cents: int, currency: str) -> tuple[int, float | None]:
    """(EUR cents, exchange rate) at the sandbox's fixed rate; the rate is None for EUR."""
    if currency.lower() == "eur":
        return int(cents), None
    if currency.lower() != "usd":
        raise PaymentRequestRefused(f"The sandbox settles EUR and USD only, not {currency}.")
    eur = (Decimal(int(cents)) * USD_TO_EUR).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(eur), float(USD_TO_EUR)  # Stripe's JSON carries the rate as a number


def fee_cents(eur_cents: int) -> int:
    """Stripe's fee in the sandbox: 1.5 % + 0.25 EUR, rounded to the cent."""
    fee = Decimal(int(eur_cents)) * FEE_RATE + FEE_FIXED_CENTS
    return int(fee.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _tax_cents(amount: int, enabled: bool) -> int:
    """The VAT included in ``amount`` when the session asked for automatic tax (the sandbox's Stripe Tax)."""
    if not enabled:
        return 0
    tax = Decimal(int(amount)) * VAT_RATE / (100 + VAT_RATE)
    return int(tax.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _address_json(address: Address | dict | None) -> dict:
    if isinstance(address, dict):
        address = Address(
            **{key: address.get(key) or "" for key in ("line1", "line2", "postal_code", "city", "country")}
        )
    address = address or Address()
    return {
        "city": address.city or None,
        "country": address.country or None,
        "line1": address.line1 or None,
        "line2": address.line2 or None,
        "postal_code": address.postal_code or None,
        "state": None,
    }


def _has_address(address: dict | None) -> bool:
    return bool(address and address.get("line1"))


def _add_interval(moment: int, interval: str, anchor: int) -> int:
    """The end of the period that starts at ``moment``, keeping the anchor's day of month (clamped)."""
    start = datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)
    day = datetime.datetime.fromtimestamp(anchor, tz=datetime.UTC).day
    if interval == "day":
        return moment + DAY
    if interval == "week":
        return moment + 7 * DAY
    months = 12 if interval == "year" else 1
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    end = start.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))
    return int(end.timestamp())


# --- Events ----------------------------------------------------------------------------------------


def _emit(
    kind: str, obj: dict, *, now: int, previous: dict | None = None, request_id: str | None = None
) -> dict:
    """Store an event shaped like Stripe's and deliver it to the webhook after the transaction commits."""
    data: dict = {"object": copy.deepcopy(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    event = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": None},
        "type": kind,
    }
    _save(event, private={"delivered": False})
    transaction.on_commit(partial(deliver, event_id=event["id"]))
    return event


def deliver(*, event_id: str) -> int:
    """Sign one stored event and hand it to the webhook view, as Stripe would. Returns the HTTP status.

    Never raises: a failed delivery is logged, and the event stays in ``events_list`` for the
    reconcile command, as it would at Stripe.
    """
    from django.test import RequestFactory

    from .views import stripe_webhook

    try:
        row = SandboxObject.objects.get(stripe_id=event_id)
        payload = json.dumps(row.data, separators=(",", ":")).encode()
        header = signing.sign(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
        request = RequestFactory().post(
            "/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        response = stripe_webhook(request)
        if response.status_code >= 300:
            logger.error("sandbox: the webhook refused %s: %s", event_id, response.content[:500])
        else:
            SandboxObject.objects.filter(pk=row.pk).update(private={**row.private, "delivered": True})
        return response.status_code
    except Exception:
        logger.exception("sandbox: delivering %s failed", event_id)
        return 500


# --- Object shapes (after ../shared/stripe/fixtures3.json) -------------------------------------------


def _price_json(
    spec_amount: int,
    currency: str,
    interval: str,
    product_id: str,
    lookup_key: str | None,
    tax_behavior: str,
    now: int,
) -> dict:
    return {
        "id": new_id("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": None,
        "product": product_id,
        "recurring": (
            {
                "interval": interval,
                "interval_count": 1,
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
            if interval in ("day", "week", "month", "year")
            else None
        ),
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if interval in ("day", "week", "month", "year") else "one_time",
        "unit_amount": spec_amount,
        "unit_amount_decimal": str(spec_amount),
    }


def _product_json(product_id: str, name: str, description: str, active: bool, now: int) -> dict:
    return {
        "id": product_id,
        "object": "product",
        "active": active,
        "created": now,
        "default_price": None,
        "description": description or None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def _plan_json(price: dict) -> dict:
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _customer_json(*, email: str, name: str, address: dict | None, now: int) -> dict:
    return {
        "id": new_id("cus"),
        "object": "customer",
        "address": address if _has_address(address) else None,
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email or None,
        "invoice_prefix": _random(8, string.ascii_uppercase + string.digits),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name or None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _payment_method_json(
    *,
    card: SandboxCard,
    customer: dict | None,
    name: str,
    address: dict | None,
    now: int,
    exp_month: int,
    exp_year: int,
) -> dict:
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "limited",
        "billing_details": {
            "address": address or _address_json(None),
            "email": (customer or {}).get("email"),
            "name": name or None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "display_brand": card.brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": _random(16),
            "funding": "credit",
            "generated_from": None,
            "last4": card.number[-4:],
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": (customer or {}).get("id"),
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def _sepa_debit_payment_method_json(
    *, account: SandboxIban, email: str, name: str, address: dict | None, now: int
) -> dict:
    """A bank account as Checkout makes it for a one-time debit: not attached to the customer."""
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": address or _address_json(None),
            "email": email or None,
            "name": name or None,
            "phone": None,
            "tax_id": None,
        },
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "sepa_debit": {
            "bank_code": account.bank_code,
            "branch_code": "",
            "country": account.iban[:2],
            # Stripe's fingerprint is the same for the same account, so is the sandbox's
            "fingerprint": hashlib.sha256(f"sandbox-iban:{account.iban}".encode()).hexdigest()[:16],
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": account.iban[-4:],
        },
        "type": "sepa_debit",
    }


def _mandate_json(*, payment_method_id: str, ip_address: str, user_agent: str, now: int) -> dict:
    """The SEPA mandate the payer accepted on the checkout page."""
    return {
        "id": new_id("mandate"),
        "object": "mandate",
        "customer_acceptance": {
            "accepted_at": now,
            "online": {"ip_address": ip_address or None, "user_agent": user_agent or None},
            "type": "online",
        },
        "livemode": False,
        "multi_use": {},
        "payment_method": payment_method_id,
        "payment_method_details": {
            "sepa_debit": {"reference": _random(16, string.ascii_uppercase + string.digits), "url": ""},
            "type": "sepa_debit",
        },
        "status": "active",
        "type": "multi_use",
    }


_PAYMENT_METHOD_OPTIONS = {
    "card": {
        "installments": None,
        "mandate_options": None,
        "network": None,
        "request_three_d_secure": "automatic",
    },
    "sepa_debit": {},
}


def _payment_intent_json(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    description: str | None,
    metadata: dict,
    now: int,
    payment_method_types: Sequence[str] = ("card",),
) -> dict:
    pi_id = new_id("pi")
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_{_random(25)}",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method_id,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            kind: copy.deepcopy(_PAYMENT_METHOD_OPTIONS[kind])
            for kind in payment_method_types
            if kind in _PAYMENT_METHOD_OPTIONS
        },
        "payment_method_types": list(payment_method_types),
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def _payment_method_details(
    *, payment_method: dict, amount: int, succeeded: bool, mandate_id: str | None
) -> dict:
    """The charge's copy of its payment method, as Stripe's ``payment_method_details``."""
    if payment_method["type"] == "sepa_debit":
        account = payment_method["sepa_debit"]
        return {
            "sepa_debit": {
                "bank_code": account["bank_code"],
                "branch_code": account["branch_code"],
                "country": account["country"],
                "fingerprint": account["fingerprint"],
                "last4": account["last4"],
                "mandate": mandate_id,
            },
            "type": "sepa_debit",
        }
    pm_card = payment_method["card"]
    return {
        "card": {
            "amount_authorized": amount if succeeded else None,
            "authorization_code": _random(6, string.digits) if succeeded else None,
            "brand": pm_card["brand"],
            "checks": pm_card["checks"],
            "country": pm_card["country"],
            "exp_month": pm_card["exp_month"],
            "exp_year": pm_card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": pm_card["fingerprint"],
            "funding": pm_card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": pm_card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": pm_card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": _random(15, string.digits),
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def _charge_json(
    *, payment_intent: dict, payment_method: dict, status: str, now: int, mandate_id: str | None = None
) -> dict:
    """A charge in ``status`` "succeeded", "failed" (``_charge_fail`` fills in why) or "pending" (a debit
    waiting for the bank)."""
    ch_id = new_id("ch")
    amount = payment_intent["amount"]
    succeeded = status == "succeeded"
    failed = status == "failed"
    bank_debit = payment_method["type"] != "card"
    return {
        "id": ch_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": 0 if failed else amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": copy.deepcopy(payment_method["billing_details"]),
        "calculated_statement_descriptor": "SANDBOX",
        "captured": not failed,
        "created": now,
        "currency": payment_intent["currency"],
        "customer": payment_intent["customer"],
        "description": payment_intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(payment_intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network" if failed else "approved_by_network",
            "reason": None,
            "risk_level": "not_assessed" if bank_debit else "normal",
            "risk_score": None if bank_debit else 21,
            "seller_message": "The bank did not return any further details with this decline."
            if failed
            else "Payment complete.",
            "type": "issuer_declined" if failed else "authorized",
        },
        "paid": succeeded,
        "payment_intent": payment_intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": _payment_method_details(
            payment_method=payment_method, amount=amount, succeeded=succeeded, mandate_id=mandate_id
        ),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{ch_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def _balance_transaction_json(
    *,
    amount_eur: int,
    fee: int,
    exchange_rate: float | None,
    source: str,
    kind: str,
    reporting_category: str,
    description: str | None,
    now: int,
) -> dict:
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount_eur,
        "available_on": now + AVAILABLE_AFTER_DAYS * DAY,
        "balance_type": "payments",
        "created": now,
        "currency": "eur",
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": "eur",
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount_eur - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "pending",
        "type": kind,
    }


def _subscription_json(
    *, customer_id: str, price: dict, metadata: dict, payment_method_id: str, automatic_tax: bool, now: int
) -> dict:
    sub_id = new_id("sub")
    end = _add_interval(now, price["recurring"]["interval"], now)
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": automatic_tax,
            "liability": {"type": "self"} if automatic_tax else None,
        },
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": price["currency"],
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": payment_method_id,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "billing_thresholds": None,
                    "created": now,
                    "current_period_end": end,
                    "current_period_start": now,
                    "discounts": [],
                    "metadata": {},
                    "plan": _plan_json(price),
                    "price": copy.deepcopy(price),
                    "quantity": 1,
                    "subscription": sub_id,
                    "tax_rates": [],
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "on_subscription",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def _item(subscription: dict) -> dict:
    return subscription["items"]["data"][0]


def _invoice_json(
    *, subscription: dict, customer: dict, billing_reason: str, period_start: int, period_end: int, now: int
) -> dict:
    item = _item(subscription)
    price = item["price"]
    amount = int(price["unit_amount"])
    currency = price["currency"]
    tax = _tax_cents(amount, subscription["automatic_tax"]["enabled"])
    taxes = (
        [
            {
                "amount": tax,
                "tax_behavior": "inclusive",
                "tax_rate_details": {"tax_rate": "txr_sandbox_de_19"},
                "taxability_reason": "standard_rated",
                "taxable_amount": amount - tax,
                "type": "tax_rate_details",
            }
        ]
        if tax
        else []
    )
    in_id = new_id("in")
    sequence = int(customer.get("next_invoice_sequence") or 1)
    name = product_name(price["product"])
    interval = price["recurring"]["interval"]
    return {
        "id": in_id,
        "object": "invoice",
        "account_country": "DE",
        "account_name": "Sandbox",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": bool(tax),
            "liability": {"type": "self"} if tax else None,
            "provider": "stripe" if tax else None,
            "status": "complete" if tax else None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer.get("address"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": now,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": new_id("il"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": currency,
                    "description": f"1 × {name} (at {amount_from_minor(amount, currency)} {currency.upper()} / {interval})",
                    "discount_amounts": [],
                    "discountable": True,
                    "discounts": [],
                    "invoice": in_id,
                    "livemode": False,
                    "metadata": dict(subscription["metadata"]),
                    "parent": {
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "invoice_item": None,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": subscription["id"],
                            "subscription_item": item["id"],
                        },
                        "type": "subscription_item_details",
                    },
                    "period": {"end": period_end, "start": period_start},
                    "pretax_credit_amounts": [],
                    "pricing": {
                        "price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details",
                        "unit_amount_decimal": str(amount),
                    },
                    "quantity": 1,
                    "subtotal": amount,
                    "taxes": taxes,
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{in_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": f"{customer['invoice_prefix']}-{sequence:04d}",
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription["metadata"]),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "open",
        "status_transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": amount,
        "subtotal_excluding_tax": amount - tax,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount - tax,
        "total_pretax_credit_amounts": [],
        "total_taxes": taxes,
        "webhooks_delivered_at": now,
    }


def _invoice_payment_json(*, invoice: dict, payment_intent: dict, now: int) -> dict:
    return {
        "id": new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": invoice["amount_paid"],
        "amount_requested": invoice["amount_due"],
        "created": now,
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": payment_intent["id"], "type": "payment_intent"},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": now},
    }


def product_name(product_id: str) -> str:
    row = SandboxObject.objects.filter(stripe_id=product_id).first()
    return row.data.get("name", product_id) if row else product_id


# --- Taking money ----------------------------------------------------------------------------------


@dataclass
class Charged:
    payment_intent: dict
    charge: dict
    balance_transaction: dict | None

    @property
    def succeeded(self) -> bool:
        return self.charge["status"] == "succeeded"

    @property
    def pending(self) -> bool:
        return self.charge["status"] == "pending"


def _fee_cents(payment_method_type: str, eur_cents: int) -> int:
    return SEPA_FEE_CENTS if payment_method_type == "sepa_debit" else fee_cents(eur_cents)


def _charge_settled(*, payment_intent: dict, charge: dict, payment_method_type: str, now: int) -> dict:
    """The money arrived: the charge succeeds and its balance transaction (amount and fee in EUR) is made."""
    amount = payment_intent["amount"]
    eur, rate = _cents_eur(amount, payment_intent["currency"])
    balance_transaction = _save(
        _balance_transaction_json(
            amount_eur=eur,
            fee=_fee_cents(payment_method_type, eur),
            exchange_rate=rate,
            source=charge["id"],
            kind="charge",
            reporting_category="charge",
            description=payment_intent["description"],
            now=now,
        )
    )
    charge.update(status="succeeded", paid=True, captured=True, amount_captured=amount)
    charge["balance_transaction"] = balance_transaction["id"]
    payment_intent.update(status="succeeded", amount_received=amount)
    return balance_transaction


def _charge_fail(
    *,
    payment_intent: dict,
    charge: dict,
    payment_method: dict,
    code: str,
    decline_code: str,
    message,
    seller_message: str | None = None,
) -> None:
    """The charge failed with Stripe's ``code`` (and the card network's ``decline_code``)."""
    charge.update(
        status="failed",
        paid=False,
        captured=False,
        amount_captured=0,
        failure_code=code,
        failure_message=_english(message),
    )
    charge["outcome"].update(
        network_status="declined_by_network", reason=decline_code or None, type="issuer_declined"
    )
    if seller_message:
        charge["outcome"]["seller_message"] = seller_message
    payment_intent.update(
        status="requires_payment_method",
        last_payment_error={
            "charge": charge["id"],
            "code": code,
            "decline_code": decline_code or None,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "message": _english(message),
            "payment_method": copy.deepcopy(payment_method),
            "type": "card_error",
        },
    )


def _charge(
    *,
    payment_method_id: str,
    amount: int,
    currency: str,
    customer_id: str,
    description: str | None,
    metadata: dict,
    now: int,
    fail: bool = False,
    payment_method_types: Sequence[str] = ("card",),
    mandate_id: str | None = None,
) -> Charged:
    """A payment intent and its charge with a payment method.

    A card is answered at once: on success also the balance transaction. A SEPA Direct Debit is sent to
    the bank: the payment intent is processing and its charge pending until ``_debit_answer``.
    """
    payment_method = retrieve(payment_method_id, "payment_method")
    payment_intent = _payment_intent_json(
        amount=amount,
        currency=currency,
        customer_id=customer_id,
        payment_method_id=payment_method_id,
        description=description,
        metadata=metadata,
        now=now,
        payment_method_types=payment_method_types,
    )
    balance_transaction = None
    if payment_method["type"] == "sepa_debit":
        charge = _charge_json(
            payment_intent=payment_intent,
            payment_method=payment_method,
            status="pending",
            now=now,
            mandate_id=mandate_id,
        )
        payment_intent["status"] = "processing"
    else:
        card = TEST_CARDS[_private(payment_method_id)["number"]]
        succeeded = not fail and not card.code
        charge = _charge_json(
            payment_intent=payment_intent,
            payment_method=payment_method,
            status="succeeded" if succeeded else "failed",
            now=now,
        )
        if succeeded:
            balance_transaction = _charge_settled(
                payment_intent=payment_intent, charge=charge, payment_method_type="card", now=now
            )
        else:
            card_for_error = card if card.code else TEST_CARDS[CARD_DECLINED]
            _charge_fail(
                payment_intent=payment_intent,
                charge=charge,
                payment_method=payment_method,
                code=card_for_error.code,
                decline_code=card_for_error.decline_code,
                message=card_for_error.message,
            )
    payment_intent["latest_charge"] = charge["id"]
    _save(payment_intent)
    _save(charge)
    return Charged(payment_intent, charge, balance_transaction)


def _debit_answer(*, payment_intent_id: str, now: int) -> Charged:
    """The bank's answer to a pending SEPA Direct Debit, by its test IBAN: the money arrives (charge
    succeeded, balance transaction with the SEPA fee, payment intent succeeded) or the debit is returned
    (charge failed, payment intent requires a payment method again)."""
    payment_intent = _row(payment_intent_id, "payment_intent", lock=True).data
    charge = _row(payment_intent["latest_charge"], "charge", lock=True).data
    if charge["status"] != "pending":
        raise PaymentRequestRefused(f"The charge {charge['id']} is not waiting for the bank.")
    payment_method = retrieve(charge["payment_method"], "payment_method")
    account = TEST_IBANS[_private(payment_method["id"])["iban"]]
    balance_transaction = None
    if account.failure_code:
        _charge_fail(
            payment_intent=payment_intent,
            charge=charge,
            payment_method=payment_method,
            code=account.failure_code,
            decline_code="",
            message=account.message,
            seller_message=f"The bank returned the decline code `{account.failure_code}`.",
        )
    else:
        balance_transaction = _charge_settled(
            payment_intent=payment_intent, charge=charge, payment_method_type="sepa_debit", now=now
        )
    _save(payment_intent)
    _save(charge)
    return Charged(payment_intent, charge, balance_transaction)


def _payment_method_create(
    *,
    number: str,
    customer: dict | None,
    name: str,
    address: dict | None,
    now: int,
    exp_month: int,
    exp_year: int,
    for_saving: bool = False,
) -> dict:
    """A card as a payment method; refused like Stripe refuses it (at payment, or when saving it)."""
    card = _card(number)
    if card.code and not (for_saving and card.attaches):
        raise CardDeclined(card)
    payment_method = _payment_method_json(
        card=card,
        customer=customer,
        name=name,
        address=address,
        now=now,
        exp_month=exp_month,
        exp_year=exp_year,
    )
    return _save(payment_method, private={"number": card.number})


# --- The gateway ------------------------------------------------------------------------------------


class SandboxGateway:
    """The Gateway protocol (payments.gateway) answered from the sandbox's own state."""

    name = "sandbox"

    def products_sync(self, *, products: Sequence[ProductSpec]) -> None:
        now = clock_now()
        with transaction.atomic():
            for spec in products:
                product_id = f"patronage-{spec.key}"
                existing = SandboxObject.objects.filter(stripe_id=product_id).first()
                product = (
                    existing.data
                    if existing
                    else _product_json(product_id, spec.name, spec.description, spec.active, now)
                )
                product.update(
                    name=spec.name, description=spec.description or None, active=spec.active, updated=now
                )
                wanted = {price.lookup_key for price in spec.prices}
                for price_spec in spec.prices:
                    price = _price_by_lookup_key(price_spec.lookup_key)
                    amount = amount_to_minor(price_spec.amount, price_spec.currency)
                    interval = (price.get("recurring") or {}).get("interval") if price else None
                    same = (
                        price
                        and price["product"] == product_id
                        and price["unit_amount"] == amount
                        and price["currency"] == price_spec.currency.lower()
                        and interval == price_spec.interval
                    )
                    if not same:
                        if price:  # transfer_lookup_key: the old price keeps existing, without the key
                            _save({**price, "lookup_key": None, "active": False})
                        price = _price_json(
                            amount,
                            price_spec.currency.lower(),
                            price_spec.interval,
                            product_id,
                            price_spec.lookup_key,
                            price_spec.tax_behavior,
                            now,
                        )
                    price["active"] = spec.active
                    _save(price)
                    product["default_price"] = product["default_price"] or price["id"]
                for price in objects("price", data__product=product_id):
                    if price.get("lookup_key") not in wanted and price["active"]:
                        _save({**price, "active": False})
                _save(product)

    def checkout_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        done = SandboxObject.objects.filter(
            kind="checkout.session", private__idempotency_key=request.idempotency_key
        ).first()
        if done:  # an idempotent retry answers with the first result, as Stripe does
            return CheckoutSession(id=done.stripe_id, url=done.data["url"])
        now = clock_now()
        if request.customer_id:
            _row(request.customer_id, "customer")
        if request.mode not in ("payment", "subscription"):
            raise PaymentRequestRefused(f"Unknown checkout mode {request.mode!r}.")
        payment_method_types = list(dict.fromkeys(request.payment_methods)) or ["card"]
        unknown = [kind for kind in payment_method_types if kind not in PAYMENT_METHOD_TYPES]
        if unknown:
            raise PaymentRequestRefused(
                f"The sandbox takes {' and '.join(PAYMENT_METHOD_TYPES)} only, not {', '.join(unknown)}."
            )
        with transaction.atomic():
            if request.price_lookup_key:
                price = _price_by_lookup_key(request.price_lookup_key)
                if not price or not price["active"]:
                    raise PaymentRequestRefused(
                        f"No active price with lookup key {request.price_lookup_key!r}."
                    )
            else:
                if request.amount is None:
                    raise PaymentRequestRefused("A checkout needs a price lookup key or an amount.")
                product = _save(
                    _product_json(new_id("prod"), request.product_name or "Support", "", True, now)
                )
                interval = request.interval if request.mode == "subscription" else ""
                if request.mode == "subscription" and interval not in ("month", "year"):
                    raise PaymentRequestRefused("A subscription needs an interval (month or year).")
                price = _price_json(
                    amount_to_minor(request.amount, request.currency),
                    request.currency.lower(),
                    interval,
                    product["id"],
                    None,
                    "inclusive",
                    now,
                )
                price["active"] = False  # inline price data makes a price that cannot be reused
                _save(price)
            if request.mode == "subscription" and not price.get("recurring"):
                raise PaymentRequestRefused("A subscription needs a recurring price.")
            if "sepa_debit" in payment_method_types and price["currency"] != "eur":
                raise PaymentRequestRefused(
                    f"SEPA Direct Debit takes EUR only, not {price['currency'].upper()}."
                )
            if "sepa_debit" in payment_method_types and request.mode != "payment":
                logger.warning(
                    "sandbox: SEPA Direct Debit is offered for one-time payments only; this %s checkout "
                    "shows the card form alone.",
                    request.mode,
                )
            amount = int(price["unit_amount"])
            tax = _tax_cents(amount, request.automatic_tax)
            session_id = new_id("cs")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "adaptive_pricing": {"enabled": False},
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": amount,
                "amount_total": amount,
                "automatic_tax": {
                    "enabled": request.automatic_tax,
                    "liability": {"type": "self"} if request.automatic_tax else None,
                    "provider": "stripe" if request.automatic_tax else None,
                    "status": "complete" if request.automatic_tax else None,
                },
                "billing_address_collection": "required" if request.collect_address else None,
                "cancel_url": request.cancel_url,
                "client_reference_id": None,
                "client_secret": None,
                "collected_information": None,
                "consent": None,
                "consent_collection": None,
                "created": now,
                "currency": price["currency"],
                "currency_conversion": None,
                "custom_fields": [],
                "custom_text": {
                    "after_submit": None,
                    "shipping_address": None,
                    "submit": None,
                    "terms_of_service_acceptance": None,
                },
                "customer": request.customer_id or None,
                "customer_account": None,
                "customer_creation": "always"
                if request.mode == "payment" and not request.customer_id
                else None,
                "customer_details": None,
                "customer_email": request.customer_email or None,
                "discounts": [],
                "expires_at": now + DAY,
                "integration_identifier": None,
                "invoice": None,
                "invoice_creation": (
                    {"enabled": False, "invoice_data": None} if request.mode == "payment" else None
                ),
                "livemode": False,
                "locale": request.locale or "auto",
                "metadata": dict(request.metadata),
                "mode": request.mode,
                "origin_context": None,
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "always" if request.mode == "subscription" else None,
                "payment_method_configuration_details": None,
                "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
                "payment_method_types": payment_method_types,
                "payment_status": "unpaid",
                "permissions": None,
                "phone_number_collection": {"enabled": False},
                "presentment_details": None,
                "recovered_from": None,
                "saved_payment_method_options": None,
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_options": [],
                "status": "open",
                "submit_type": None,
                "subscription": None,
                "success_url": request.success_url,
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": tax},
                "ui_mode": "hosted",
                "url": f"/sandbox/checkout/{session_id}/",
                "wallet_options": None,
            }
            _save(session, private={"idempotency_key": request.idempotency_key, "price": price["id"]})
        return CheckoutSession(id=session_id, url=session["url"])

    def portal_create(self, *, customer_id: str, return_url: str, locale: str) -> PortalSession:
        _row(customer_id, "customer")
        token = secrets.token_urlsafe(32)
        now = clock_now()
        _save(
            {
                "id": new_id("bps"),
                "object": "billing_portal.session",
                "configuration": "bpc_sandbox",
                "created": now,
                "customer": customer_id,
                "customer_account": None,
                "flow": None,
                "livemode": False,
                "locale": locale or None,
                "on_behalf_of": None,
                "return_url": return_url,
                "url": f"/sandbox/portal/{token}/",
            },
            private={"token": token, "expires": int(time.time()) + PORTAL_LIFETIME_SECONDS},
        )
        return PortalSession(url=f"/sandbox/portal/{token}/")

    def settlement_for_payment_intent(self, *, payment_intent_id: str) -> Settlement:
        payment_intent = retrieve(payment_intent_id, "payment_intent")
        charge = retrieve(payment_intent.get("latest_charge") or "", "charge")
        if not charge.get("balance_transaction"):  # a debit the bank has not paid yet, or a failed charge
            raise UnknownObject(f"Payment intent {payment_intent_id} has no settled charge yet.")
        transaction_json = retrieve(charge["balance_transaction"], "balance_transaction")
        return settlement_from(
            charge=charge, balance_transaction=transaction_json, payment_intent_id=payment_intent_id
        )

    def payment_intent_for_invoice(self, *, invoice_id: str) -> str:
        for payment in objects("invoice_payment", data__invoice=invoice_id):
            if payment["status"] == "paid":
                return payment["payment"]["payment_intent"]
        raise UnknownObject(f"The invoice {invoice_id!r} has no paid invoice payment.")

    def invoice(self, *, invoice_id: str) -> dict:
        return retrieve(invoice_id, "invoice")

    def settlement_for_dispute(self, *, dispute_id: str) -> tuple:
        dispute = retrieve(dispute_id, "dispute")
        withdrawal = dispute["balance_transactions"][0] if dispute["balance_transactions"] else None
        if withdrawal:
            return amount_from_minor(-withdrawal["amount"], "eur"), amount_from_minor(
                withdrawal["fee"], "eur"
            )
        eur, _rate = _cents_eur(dispute["amount"], dispute["currency"])
        return amount_from_minor(eur, "eur"), amount_from_minor(DISPUTE_FEE_CENTS, "eur")

    def settlement_for_refund(self, *, refund_id: str) -> tuple:
        refund = retrieve(refund_id, "refund")
        transaction_json = retrieve(refund["balance_transaction"], "balance_transaction")
        return amount_from_minor(-transaction_json["amount"], "eur"), Decimal("0.00")

    def events_list(self, *, since: datetime.datetime) -> Iterator[dict]:
        rows = SandboxObject.objects.filter(kind="event", data__created__gte=int(since.timestamp())).order_by(
            "pk"
        )
        for row in rows.iterator(chunk_size=500):
            yield row.data

    def event_verify(self, *, payload: bytes, signature_header: str) -> dict:
        return signing.verify(payload=payload, header=signature_header, secret=settings.STRIPE_WEBHOOK_SECRET)


def _price_by_lookup_key(lookup_key: str) -> dict | None:
    row = SandboxObject.objects.filter(kind="price", data__lookup_key=lookup_key).order_by("-pk").first()
    return row.data if row else None


# --- Checkout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutPage:
    """What the local checkout page shows for one session."""

    session: dict
    product_name: str
    amount: Decimal
    tax: Decimal
    currency: str
    interval: str
    email: str  # known already (prefilled or the customer's); otherwise the page asks for it
    collect_address: bool
    payment_methods: tuple[str, ...] = ("card",)  # the choices on the page, in Stripe's order
    business_name: str = ""  # who the SEPA mandate authorises (Stripe: the account's public business name)


def payment_methods_offered(session: dict) -> tuple[str, ...]:
    """The payment methods the page offers for a session: those it allows that the sandbox can take.

    SEPA Direct Debit is for one-time payments in EUR (the sandbox does not debit subscriptions)."""
    allowed = session.get("payment_method_types") or ["card"]
    offered = tuple(
        kind
        for kind in PAYMENT_METHOD_TYPES
        if kind in allowed
        and (kind != "sepa_debit" or (session["mode"] == "payment" and session["currency"] == "eur"))
    )
    return offered or ("card",)


def business_name() -> str:
    return getattr(settings, "WAGTAIL_SITE_NAME", "") or "Sandbox"


def checkout_page(*, session_id: str) -> CheckoutPage:
    session = retrieve(session_id, "checkout.session")
    price = retrieve(_private(session_id)["price"], "price")
    email = session.get("customer_email") or ""
    if session.get("customer"):
        email = retrieve(session["customer"], "customer").get("email") or email
    return CheckoutPage(
        session=session,
        product_name=product_name(price["product"]),
        amount=amount_from_minor(session["amount_total"], session["currency"]),
        tax=amount_from_minor(session["total_details"]["amount_tax"], session["currency"]),
        currency=session["currency"],
        interval=(price.get("recurring") or {}).get("interval") or "",
        email=email,
        collect_address=session.get("billing_address_collection") == "required",
        payment_methods=payment_methods_offered(session),
        business_name=business_name(),
    )


def _success_url(session: dict) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _checkout_payer(
    session: dict, *, email: str, address: Address | None
) -> tuple[dict | None, str, dict | None]:
    """(the session's customer or None, the payer's email, the billing address as JSON or None) for an
    open session; refuses a session that is not open, and a payer without an email address."""
    if session["status"] != "open":
        raise PaymentRequestRefused(_("This checkout session has expired."))
    address_json = _address_json(address) if session.get("billing_address_collection") == "required" else None
    customer = retrieve(session["customer"], "customer") if session.get("customer") else None
    email = (customer or {}).get("email") or session.get("customer_email") or email
    if not email:
        raise PaymentRequestRefused(_("Please enter your email address."))
    return customer, email, address_json


def _checkout_customer(
    customer: dict | None, *, email: str, name: str, address_json: dict | None, now: int
) -> dict:
    """The session's customer, or a new one (customer_creation "always"); not saved yet."""
    if customer is None:
        return _customer_json(email=email, name=name, address=address_json, now=now)
    if address_json and _has_address(address_json):  # Checkout saves the billing address it collected
        customer.update(address=address_json, name=name or customer.get("name"))
    return customer


def _session_complete(
    session: dict, *, customer: dict, email: str, name: str, address_json: dict | None, payment_status: str
) -> None:
    session.update(
        customer=customer["id"],
        customer_details={
            "address": address_json or _address_json(None),
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": name or customer.get("name"),
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        status="complete",
        payment_status=payment_status,
    )


def checkout_pay(
    *,
    session_id: str,
    card_number: str,
    email: str = "",
    name: str = "",
    address: Address | None = None,
    exp_month: int = 12,
    exp_year: int = 2034,
) -> str:
    """Pay a checkout session with a test card, as the patron does on the local page.

    Returns the URL to send the patron to (``success_url`` with ``{CHECKOUT_SESSION_ID}`` filled in).
    Raises ``CardDeclined`` (nothing is charged, the session stays open) for a refused card, and
    ``PaymentRequestRefused`` for a session that is no longer open.
    """
    with transaction.atomic():
        row = _row(session_id, "checkout.session", lock=True)
        session = row.data
        success_url = _success_url(session)
        if session["status"] == "complete":
            return success_url
        customer, email, address_json = _checkout_payer(session, email=email, address=address)
        if "card" not in payment_methods_offered(session):
            raise PaymentRequestRefused(_("This checkout does not take cards."))
        now = clock_now()
        card = _card(card_number)
        if card.code:
            raise CardDeclined(card)
        customer = _checkout_customer(customer, email=email, name=name, address_json=address_json, now=now)
        payment_method = _payment_method_create(
            number=card_number,
            customer=customer,
            name=name,
            address=address_json,
            now=now,
            exp_month=exp_month,
            exp_year=exp_year,
        )
        customer["invoice_settings"]["default_payment_method"] = payment_method["id"]
        _save(customer)
        _session_complete(
            session,
            customer=customer,
            email=email,
            name=name,
            address_json=address_json,
            payment_status="paid",
        )
        price = retrieve(_private(session_id)["price"], "price")
        request_id = f"req_{_random(14)}"
        if session["mode"] == "subscription":
            subscription = _subscription_json(
                customer_id=customer["id"],
                price=price,
                metadata=session["metadata"],
                payment_method_id=payment_method["id"],
                automatic_tax=session["automatic_tax"]["enabled"],
                now=now,
            )
            invoice, charged, invoice_payment = _invoice_collect(
                subscription=subscription,
                customer=customer,
                billing_reason="subscription_create",
                period_start=_item(subscription)["current_period_start"],
                period_end=_item(subscription)["current_period_end"],
                now=now,
                description="Subscription creation",
            )
            subscription["latest_invoice"] = invoice["id"]
            _save(subscription)
            session.update(subscription=subscription["id"], invoice=invoice["id"])
            row.data = session
            row.save(update_fields=["data"])
            _emit("customer.subscription.created", subscription, now=now, request_id=request_id)
            _emit("checkout.session.completed", session, now=now)
            _emit("invoice.paid", invoice, now=now)
            _emit("invoice_payment.paid", invoice_payment, now=now)
        else:
            charged = _charge(
                payment_method_id=payment_method["id"],
                amount=session["amount_total"],
                currency=session["currency"],
                customer_id=customer["id"],
                description=None,
                metadata=session["metadata"],
                now=now,
                payment_method_types=session["payment_method_types"],
            )
            session["payment_intent"] = charged.payment_intent["id"]
            row.data = session
            row.save(update_fields=["data"])
            _emit("checkout.session.completed", session, now=now)
    return success_url


def checkout_sepa_pay(
    *,
    session_id: str,
    iban: str,
    email: str = "",
    name: str = "",
    address: Address | None = None,
    ip_address: str = "",
    user_agent: str = "",
) -> str:
    """Pay a one-time checkout session by SEPA Direct Debit with a test IBAN, as on Stripe's page.

    As at Stripe the session completes at once but unpaid: checkout.session.completed with
    payment_status "unpaid", a customer, the accepted mandate, a payment intent "processing" and its
    charge "pending". The bank answers later (``sepa_settle``), at once while
    ``PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS`` is 0. Returns the success URL; raises ``IbanRefused`` for an
    IBAN that is not a test IBAN and ``PaymentRequestRefused`` for a session that is not open or does not
    take SEPA Direct Debit (nothing happens then).
    """
    delay = sepa_delay_seconds()
    with transaction.atomic():
        row = _row(session_id, "checkout.session", lock=True)
        session = row.data
        success_url = _success_url(session)
        if session["status"] == "complete":
            return success_url
        customer, email, address_json = _checkout_payer(session, email=email, address=address)
        if "sepa_debit" not in payment_methods_offered(session):
            raise PaymentRequestRefused(_("This checkout does not take SEPA Direct Debit."))
        if not name.strip():
            raise PaymentRequestRefused(_("Please enter the name of the account holder."))
        account = _test_iban(iban)
        now = clock_now()
        customer = _save(
            _checkout_customer(customer, email=email, name=name, address_json=address_json, now=now)
        )
        payment_method = _save(
            _sepa_debit_payment_method_json(
                account=account, email=email, name=name, address=address_json, now=now
            ),
            private={"iban": account.iban},
        )
        mandate = _save(
            _mandate_json(
                payment_method_id=payment_method["id"], ip_address=ip_address, user_agent=user_agent, now=now
            )
        )
        _session_complete(
            session,
            customer=customer,
            email=email,
            name=name,
            address_json=address_json,
            payment_status="unpaid",
        )
        charged = _charge(
            payment_method_id=payment_method["id"],
            amount=session["amount_total"],
            currency=session["currency"],
            customer_id=customer["id"],
            description=None,
            metadata=session["metadata"],
            now=now,
            payment_method_types=session["payment_method_types"],
            mandate_id=mandate["id"],
        )
        session["payment_intent"] = charged.payment_intent["id"]
        row.data = session
        row.private = {**row.private, "debit": "pending", "debit_due": now + delay}
        row.save(update_fields=["data", "private"])
        _emit("checkout.session.completed", session, now=now)
    if delay == 0:
        sepa_settle(session_id=session_id)
    return success_url


@dataclass(frozen=True)
class SepaDebit:
    """A checkout session's SEPA Direct Debit, for the sandbox's debit page."""

    session: dict
    status: str  # "pending" (waiting for the bank), "succeeded" or "failed"
    product_name: str
    amount: Decimal
    currency: str
    bank_country: str
    last4: str
    mandate_reference: str
    due: datetime.datetime  # when the sandbox's bank answers by itself (as the clock moves)
    success_url: str


def sepa_debit(*, session_id: str) -> SepaDebit | None:
    """The session's SEPA Direct Debit, or None when it was not paid by one."""
    row = _row(session_id, "checkout.session")
    if not row.private.get("debit"):
        return None
    session = copy.deepcopy(row.data)
    charge = retrieve(retrieve(session["payment_intent"], "payment_intent")["latest_charge"], "charge")
    details = charge["payment_method_details"]["sepa_debit"]
    mandate = retrieve(details["mandate"], "mandate")
    return SepaDebit(
        session=session,
        status=row.private["debit"],
        product_name=product_name(retrieve(row.private["price"], "price")["product"]),
        amount=amount_from_minor(session["amount_total"], session["currency"]),
        currency=session["currency"],
        bank_country=details["country"],
        last4=details["last4"],
        mandate_reference=mandate["payment_method_details"]["sepa_debit"]["reference"],
        due=datetime.datetime.fromtimestamp(row.private["debit_due"], tz=datetime.UTC),
        success_url=_success_url(session),
    )


def sepa_settle(*, session_id: str | None = None) -> int:
    """The bank answers the pending SEPA Direct Debits now (or the one of ``session_id``).

    By its test IBAN a debit is paid (charge succeeded with its balance transaction and the SEPA fee,
    payment intent succeeded, session payment_status "paid": checkout.session.async_payment_succeeded) or
    returned (charge failed, payment intent requires a payment method, the session stays unpaid:
    checkout.session.async_payment_failed). Returns how many debits were answered; an answered debit is
    never answered again.
    """
    rows = SandboxObject.objects.filter(kind="checkout.session", private__debit="pending")
    if session_id is not None:
        rows = rows.filter(stripe_id=session_id)
    now = clock_now()
    answered = 0
    for pending_id in list(rows.order_by("pk").values_list("stripe_id", flat=True)):
        if _debit_settle(session_id=pending_id, moment=now) is not None:
            answered += 1
    return answered


def _debit_settle(*, session_id: str, moment: int) -> Charged | None:
    with transaction.atomic():
        row = _row(session_id, "checkout.session", lock=True)
        if row.private.get("debit") != "pending":
            return None
        session = row.data
        charged = _debit_answer(payment_intent_id=session["payment_intent"], now=moment)
        if charged.succeeded:
            session["payment_status"] = "paid"
        row.data = session
        row.private = {**row.private, "debit": charged.charge["status"]}
        row.save(update_fields=["data", "private"])
        _emit(
            "checkout.session.async_payment_succeeded"
            if charged.succeeded
            else "checkout.session.async_payment_failed",
            session,
            now=moment,
        )
        return charged


def checkout_expire(*, session_id: str) -> dict:
    """Let an open session expire (as Stripe does after 24 hours): emits checkout.session.expired."""
    with transaction.atomic():
        row = _row(session_id, "checkout.session", lock=True)
        if row.data["status"] != "open":
            raise PaymentRequestRefused("Only an open checkout session can expire.")
        row.data.update(status="expired")
        row.save(update_fields=["data"])
        _emit("checkout.session.expired", row.data, now=clock_now())
        return copy.deepcopy(row.data)


def _invoice_collect(
    *,
    subscription: dict,
    customer: dict,
    billing_reason: str,
    period_start: int,
    period_end: int,
    now: int,
    description: str,
    fail: bool = False,
) -> tuple[dict, Charged, dict | None]:
    """Create a subscription's invoice and charge the saved card: (invoice, charged, invoice payment or None)."""
    invoice = _invoice_json(
        subscription=subscription,
        customer=customer,
        billing_reason=billing_reason,
        period_start=period_start,
        period_end=period_end,
        now=now,
    )
    customer["next_invoice_sequence"] = int(customer.get("next_invoice_sequence") or 1) + 1
    _save(customer)
    token = secrets.token_urlsafe(24)
    invoice["hosted_invoice_url"] = f"{settings.SITE_URL.rstrip('/')}/sandbox/invoice/{token}/"
    _save(invoice, private={"hosted_token": token})
    return _invoice_attempt(
        invoice=invoice, subscription=subscription, now=now, description=description, fail=fail
    )


def _invoice_attempt(
    *,
    invoice: dict,
    subscription: dict,
    now: int,
    description: str,
    fail: bool = False,
    payment_method_id: str = "",
) -> tuple[dict, Charged, dict | None]:
    payment_method_id = payment_method_id or _payment_method_of(subscription)
    charged = _charge(
        payment_method_id=payment_method_id,
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        customer_id=invoice["customer"],
        description=description,
        metadata={},
        now=now,
        fail=fail,
    )
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    invoice_payment = None
    if charged.succeeded:
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
        )
        invoice["status_transitions"]["paid_at"] = now
        invoice_payment = _save(
            _invoice_payment_json(invoice=invoice, payment_intent=charged.payment_intent, now=now)
        )
    else:
        index = invoice["attempt_count"] - 1
        invoice["next_payment_attempt"] = (
            now + RETRY_AFTER_DAYS[index] * DAY if index < len(RETRY_AFTER_DAYS) else None
        )
    row = _row(invoice["id"])
    row.data = invoice
    row.save(update_fields=["data"])
    return invoice, charged, invoice_payment


def _payment_method_of(subscription: dict) -> str:
    if subscription.get("default_payment_method"):
        return subscription["default_payment_method"]
    customer = retrieve(subscription["customer"], "customer")
    payment_method_id = customer["invoice_settings"].get("default_payment_method")
    if not payment_method_id:
        raise UnknownObject(f"The customer {customer['id']} has no card.")
    return payment_method_id


# --- Renewals: moving the clock -----------------------------------------------------------------------


@dataclass(frozen=True)
class Happening:
    """One thing the sandbox did while its clock moved (for the command's output and for tests)."""

    moment: int
    subscription_id: str
    # "renewed", "renewal failed", "retry paid", "retry failed", "ended", "canceled after failures";
    # for a checkout's SEPA Direct Debit: "debit paid", "debit failed"
    what: str
    invoice_id: str = ""
    charge_id: str = ""
    checkout_session_id: str = ""


def clock_advance(*, days: float, fail: Iterable[str] = ()) -> list[Happening]:
    """Move the sandbox clock forward and do what Stripe would have done in between, in time order.

    Active subscriptions whose period ended are renewed (invoice, charge, events); those set to cancel at
    period end end instead. A renewal of a subscription or customer named in ``fail`` fails (so does any
    with a card that fails after saving): its invoice stays open with a retry date and the subscription
    goes past_due. Open invoices are retried when their retry date passes (also failing for ``fail``);
    after the last failed retry the subscription is canceled. Pending SEPA Direct Debits are answered by
    the bank when their time comes (``PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS`` after the payment).
    """
    fail = set(fail)
    target = clock_now() + int(days * DAY)
    happenings: list[Happening] = []
    queue: list[tuple[int, int, str]] = []
    for order, sub in enumerate(objects("subscription", data__status__in=["active", "past_due", "trialing"])):
        queue.append((_next_due(sub), order, sub["id"]))
    for row in SandboxObject.objects.filter(kind="checkout.session", private__debit="pending").order_by("pk"):
        queue.append((int(row.private["debit_due"]), len(queue), row.stripe_id))
    heapq.heapify(queue)
    order = len(queue)
    while queue and queue[0][0] <= target:
        moment, _order, object_id = heapq.heappop(queue)
        if object_id.startswith("cs_"):
            happening = _debit_due(session_id=object_id, moment=moment)
            if happening is not None:
                happenings.append(happening)
            continue
        sub_id = object_id
        happening = _subscription_due(subscription_id=sub_id, moment=moment, fail=fail)
        if happening is None:
            continue
        happenings.append(happening)
        sub = retrieve(sub_id, "subscription")
        if sub["status"] in ("active", "past_due"):
            order += 1
            heapq.heappush(queue, (_next_due(sub), order, sub_id))
    clock_set(moment=datetime.datetime.fromtimestamp(target, tz=datetime.UTC))
    return happenings


def _debit_due(*, session_id: str, moment: int) -> Happening | None:
    if moment > clock_now():
        clock_set(moment=datetime.datetime.fromtimestamp(moment, tz=datetime.UTC))
    charged = _debit_settle(session_id=session_id, moment=moment)
    if charged is None:
        return None
    return Happening(
        moment,
        "",
        "debit paid" if charged.succeeded else "debit failed",
        charge_id=charged.charge["id"],
        checkout_session_id=session_id,
    )


def open_invoice(subscription: dict) -> dict | None:
    latest = subscription.get("latest_invoice")
    if not latest:
        return None
    invoice = retrieve(latest, "invoice")
    return invoice if invoice["status"] == "open" else None


def _next_due(subscription: dict) -> int:
    invoice = open_invoice(subscription) if subscription["status"] == "past_due" else None
    if invoice is not None:
        return invoice["next_payment_attempt"] or 2**62
    return _item(subscription)["current_period_end"]


def _subscription_due(*, subscription_id: str, moment: int, fail: set[str]) -> Happening | None:
    if moment > clock_now():
        clock_set(moment=datetime.datetime.fromtimestamp(moment, tz=datetime.UTC))
    with transaction.atomic():
        row = _row(subscription_id, "subscription", lock=True)
        sub = row.data
        if sub["status"] not in ("active", "past_due") or _next_due(sub) != moment:
            return None
        failing = bool({sub["id"], sub["customer"]} & fail)
        unpaid = open_invoice(sub) if sub["status"] == "past_due" else None
        previous_status = sub["status"]
        if unpaid is not None:
            invoice, charged, invoice_payment = _invoice_attempt(
                invoice=unpaid,
                subscription=sub,
                now=moment,
                description="Subscription update",
                fail=failing,
            )
            if charged.succeeded:
                sub["status"] = "active"
                _save(sub)
                _emit("invoice.paid", invoice, now=moment)
                _emit("invoice_payment.paid", invoice_payment, now=moment)
                _emit("customer.subscription.updated", sub, now=moment, previous={"status": previous_status})
                return Happening(moment, sub["id"], "retry paid", invoice["id"], charged.charge["id"])
            _emit("invoice.payment_failed", invoice, now=moment)
            if invoice["next_payment_attempt"] is None:
                _end(sub, moment, reason="payment_failed")
                _emit("customer.subscription.deleted", sub, now=moment, previous={"status": previous_status})
                return Happening(
                    moment, sub["id"], "canceled after failures", invoice["id"], charged.charge["id"]
                )
            return Happening(moment, sub["id"], "retry failed", invoice["id"], charged.charge["id"])
        item = _item(sub)
        if sub["cancel_at_period_end"]:
            _end(sub, moment, reason="cancellation_requested")
            _emit("customer.subscription.deleted", sub, now=moment, previous={"status": previous_status})
            return Happening(moment, sub["id"], "ended")
        previous = {"items": {"data": [copy.deepcopy(item)]}, "latest_invoice": sub["latest_invoice"]}
        start = item["current_period_end"]
        end = _add_interval(start, item["price"]["recurring"]["interval"], sub["billing_cycle_anchor"])
        item.update(current_period_start=start, current_period_end=end)
        customer = retrieve(sub["customer"], "customer")
        invoice, charged, invoice_payment = _invoice_collect(
            subscription=sub,
            customer=customer,
            billing_reason="subscription_cycle",
            period_start=start,
            period_end=end,
            now=moment,
            description="Subscription update",
            fail=failing,
        )
        sub["latest_invoice"] = invoice["id"]
        if charged.succeeded:
            _save(sub)
            _emit("invoice.paid", invoice, now=moment)
            _emit("invoice_payment.paid", invoice_payment, now=moment)
            _emit("customer.subscription.updated", sub, now=moment, previous=previous)
            return Happening(moment, sub["id"], "renewed", invoice["id"], charged.charge["id"])
        sub["status"] = "past_due"
        previous["status"] = previous_status
        _save(sub)
        _emit("invoice.payment_failed", invoice, now=moment)
        _emit("customer.subscription.updated", sub, now=moment, previous=previous)
        return Happening(moment, sub["id"], "renewal failed", invoice["id"], charged.charge["id"])


def _end(subscription: dict, moment: int, *, reason: str) -> None:
    subscription.update(
        status="canceled",
        ended_at=moment,
        canceled_at=subscription.get("canceled_at") or moment,
        cancel_at=subscription.get("cancel_at") or moment,
    )
    subscription["cancellation_details"]["reason"] = reason
    _save(subscription)


# --- Hosted invoice page (pay a failed renewal with another card) ----------------------------------------


def invoice_for_token(*, token: str) -> dict:
    row = SandboxObject.objects.filter(kind="invoice", private__hosted_token=token).first()
    if row is None or not token:
        raise UnknownObject("No such invoice link.")
    return copy.deepcopy(row.data)


def invoice_pay(
    *, invoice_id: str, card_number: str, name: str = "", exp_month: int = 12, exp_year: int = 2034
) -> dict:
    """Pay an open invoice with a (new) card, as on Stripe's hosted invoice page. Returns the invoice.

    The card becomes the subscription's card; a past-due subscription becomes active again.
    """
    with transaction.atomic():
        invoice = _row(invoice_id, "invoice", lock=True).data
        if invoice["status"] != "open":
            return copy.deepcopy(invoice)
        now = clock_now()
        customer = retrieve(invoice["customer"], "customer")
        payment_method = _payment_method_create(
            number=card_number,
            customer=customer,
            name=name or customer.get("name") or "",
            address=None,
            now=now,
            exp_month=exp_month,
            exp_year=exp_year,
        )
        sub_id = invoice["parent"]["subscription_details"]["subscription"]
        sub = _row(sub_id, "subscription", lock=True).data
        invoice, charged, invoice_payment = _invoice_attempt(
            invoice=invoice,
            subscription=sub,
            now=now,
            description="Subscription update",
            payment_method_id=payment_method["id"],
        )
        previous = {"status": sub["status"], "default_payment_method": sub["default_payment_method"]}
        sub.update(default_payment_method=payment_method["id"])
        if sub["status"] == "past_due":
            sub["status"] = "active"
        _save(sub)
        _emit("payment_method.attached", payment_method, now=now)
        _emit("invoice.paid", invoice, now=now, request_id=f"req_{_random(14)}")
        _emit("invoice_payment.paid", invoice_payment, now=now)
        _emit("customer.subscription.updated", sub, now=now, previous=previous)
        return copy.deepcopy(invoice)


# --- Billing Portal ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Portal:
    session: dict
    customer: dict
    subscriptions: list[dict]
    card: dict | None  # the customer's default card (payment method's "card")


def portal_for_token(*, token: str) -> Portal:
    """The portal session behind a token; ``UnknownObject`` when unknown or older than an hour."""
    row = (
        SandboxObject.objects.filter(kind="billing_portal.session", private__token=token).first()
        if token
        else None
    )
    if row is None or int(row.private.get("expires", 0)) < time.time():
        raise UnknownObject("This portal link is unknown or has expired.")
    customer = retrieve(row.data["customer"], "customer")
    subscriptions = [
        sub
        for sub in objects("subscription", data__customer=customer["id"])
        if sub["status"] != "incomplete_expired"
    ]
    card = None
    payment_method_id = customer["invoice_settings"].get("default_payment_method")
    if payment_method_id:
        card = retrieve(payment_method_id, "payment_method")["card"]
    return Portal(session=copy.deepcopy(row.data), customer=customer, subscriptions=subscriptions, card=card)


def prices_to_switch_to(*, subscription_id: str) -> list[dict]:
    """Active synced prices of the same interval and currency as the subscription's, other than its own."""
    sub = retrieve(subscription_id, "subscription")
    price = _item(sub)["price"]
    interval = price["recurring"]["interval"]
    choices = []
    for candidate in objects("price", data__active=True):
        if (
            candidate.get("lookup_key")
            and candidate["id"] != price["id"]
            and (candidate.get("recurring") or {}).get("interval") == interval
            and candidate["currency"] == price["currency"]
        ):
            choices.append({**candidate, "product_name": product_name(candidate["product"])})
    return sorted(choices, key=lambda candidate: candidate["unit_amount"])


def _subscription_change(subscription_id: str, change) -> dict:
    with transaction.atomic():
        row = _row(subscription_id, "subscription", lock=True)
        sub = row.data
        if sub["status"] == "canceled":
            raise PaymentRequestRefused(_("This subscription has ended."))
        now = clock_now()
        kind, previous = change(sub, now)
        row.data = sub
        row.save(update_fields=["data"])
        _emit(kind, sub, now=now, previous=previous, request_id=f"req_{_random(14)}")
        return copy.deepcopy(sub)


def subscription_change_price(*, subscription_id: str, lookup_key: str) -> dict:
    """Switch the subscription to another synced price (portal "change tier"); the next invoice charges it.

    Emits customer.subscription.updated. (Stripe would also prorate; the sandbox does not.)
    """
    price = _price_by_lookup_key(lookup_key)
    if not price or not price["active"]:
        raise PaymentRequestRefused(f"No active price with lookup key {lookup_key!r}.")

    def change(sub: dict, now: int):
        item = _item(sub)
        current = item["price"]
        if (price.get("recurring") or {}).get("interval") != current["recurring"]["interval"] or price[
            "currency"
        ] != current["currency"]:
            raise PaymentRequestRefused(_("Choose a price with the same interval and currency."))
        previous = {"items": {"data": [copy.deepcopy(item)]}, "plan": copy.deepcopy(item["plan"])}
        item.update(price=copy.deepcopy(price), plan=_plan_json(price))
        return "customer.subscription.updated", previous

    return _subscription_change(subscription_id, change)


def subscription_cancel(*, subscription_id: str, at_period_end: bool = True) -> dict:
    """Cancel (portal "cancel"): at period end emits customer.subscription.updated with
    cancel_at_period_end true; at once emits customer.subscription.deleted with status canceled."""

    def change(sub: dict, now: int):
        if at_period_end:
            previous = {
                "cancel_at_period_end": sub["cancel_at_period_end"],
                "cancel_at": sub["cancel_at"],
                "canceled_at": sub["canceled_at"],
            }
            sub.update(cancel_at_period_end=True, cancel_at=_item(sub)["current_period_end"], canceled_at=now)
            sub["cancellation_details"]["reason"] = "cancellation_requested"
            return "customer.subscription.updated", previous
        previous = {"status": sub["status"]}
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancel_at=sub["cancel_at"])
        sub["cancellation_details"]["reason"] = "cancellation_requested"
        return "customer.subscription.deleted", previous

    return _subscription_change(subscription_id, change)


def subscription_cancel_undo(*, subscription_id: str) -> dict:
    """Portal "renew": take back a cancellation at period end. Emits customer.subscription.updated."""

    def change(sub: dict, now: int):
        previous = {
            "cancel_at_period_end": True,
            "cancel_at": sub["cancel_at"],
            "canceled_at": sub["canceled_at"],
        }
        sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
        sub["cancellation_details"]["reason"] = None
        return "customer.subscription.updated", previous

    return _subscription_change(subscription_id, change)


def customer_card_update(
    *, customer_id: str, card_number: str, name: str = "", exp_month: int = 12, exp_year: int = 2034
) -> dict:
    """Save a new card for the customer and all its subscriptions (portal "update card").

    Emits payment_method.attached. Cards that Stripe refuses to save raise ``CardDeclined``; the card
    4000 0000 0000 0341 is saved, and every later charge on it fails (for failed renewals).
    """
    with transaction.atomic():
        customer = _row(customer_id, "customer", lock=True).data
        now = clock_now()
        payment_method = _payment_method_create(
            number=card_number,
            customer=customer,
            name=name or customer.get("name") or "",
            address=None,
            now=now,
            exp_month=exp_month,
            exp_year=exp_year,
            for_saving=True,
        )
        customer["invoice_settings"]["default_payment_method"] = payment_method["id"]
        _save(customer)
        for sub in objects("subscription", data__customer=customer_id):
            if sub["status"] != "canceled":
                _save({**sub, "default_payment_method": payment_method["id"]})
        _emit("payment_method.attached", payment_method, now=now, request_id=f"req_{_random(14)}")
        return payment_method


# --- Refunds, disputes, payouts, fraud warnings (for the demo, tests and commands) ------------------------


def refund_create(
    *, charge_id: str, amount: Decimal | None = None, reason: str = "requested_by_customer"
) -> dict:
    """Refund a charge, in full or ``amount`` (major units, the charge's currency). Emits charge.refunded."""
    with transaction.atomic():
        row = _row(charge_id, "charge", lock=True)
        charge = row.data
        if charge["status"] != "succeeded":
            raise PaymentRequestRefused("Only a succeeded charge can be refunded.")
        remaining = charge["amount"] - charge["amount_refunded"]
        cents = remaining if amount is None else amount_to_minor(Decimal(amount), charge["currency"])
        if not 0 < cents <= remaining:
            raise PaymentRequestRefused(
                f"Refund amount must be between 0 and {amount_from_minor(remaining, charge['currency'])}."
            )
        now = clock_now()
        eur, rate = _cents_eur(cents, charge["currency"])
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": cents,
            "balance_transaction": None,
            "charge": charge_id,
            "created": now,
            "currency": charge["currency"],
            "customer": charge["customer"],
            "customer_account": None,
            "destination_details": {
                "card": {
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            }
            if charge["payment_method_details"]["type"] == "card"
            else None,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "payment_method": charge["payment_method"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        balance_transaction = _save(
            _balance_transaction_json(
                amount_eur=-eur,
                fee=0,
                exchange_rate=rate,
                source=refund["id"],
                kind="refund",
                reporting_category="refund",
                description="REFUND FOR CHARGE",
                now=now,
            )
        )
        balance_transaction["available_on"] = now
        _save(balance_transaction)
        refund["balance_transaction"] = balance_transaction["id"]
        _save(refund)
        previous = {
            "amount_refunded": charge["amount_refunded"],
            "refunded": charge["refunded"],
            "refunds": copy.deepcopy(charge["refunds"]),
        }
        charge["amount_refunded"] += cents
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        charge["refunds"]["total_count"] = len(charge["refunds"]["data"])
        row.data = charge
        row.save(update_fields=["data"])
        _emit("charge.refunded", charge, now=now, previous=previous, request_id=f"req_{_random(14)}")
        return copy.deepcopy(refund)


def dispute_open(*, charge_id: str, reason: str = "fraudulent") -> dict:
    """The cardholder disputes a charge: the amount and a 15 EUR fee leave the balance.

    Emits charge.dispute.created.
    """
    with transaction.atomic():
        row = _row(charge_id, "charge", lock=True)
        charge = row.data
        now = clock_now()
        eur, rate = _cents_eur(charge["amount"], charge["currency"])
        dp_id = new_id("dp")
        withdrawal = _save(
            _balance_transaction_json(
                amount_eur=-eur,
                fee=DISPUTE_FEE_CENTS,
                exchange_rate=rate,
                source=dp_id,
                kind="adjustment",
                reporting_category="dispute",
                description=f"Chargeback withdrawal for {charge_id}",
                now=now,
            )
        )
        withdrawal["fee_details"][0]["description"] = "Dispute fee"
        _save(withdrawal)
        dispute = {
            "id": dp_id,
            "object": "dispute",
            "amount": charge["amount"],
            "balance_transactions": [withdrawal],
            "charge": charge_id,
            "created": now,
            "currency": charge["currency"],
            "enhanced_eligibility_types": [],
            "evidence": {"customer_email_address": None, "customer_name": None, "uncategorized_text": None},
            "evidence_details": {
                "due_by": now + 21 * DAY,
                "enhanced_eligibility": {},
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "payment_method_details": {
                "card": {
                    "brand": charge["payment_method_details"]["card"]["brand"],
                    "case_type": "chargeback",
                    "network_reason_code": "10.4",
                },
                "type": "card",
            }
            if charge["payment_method_details"]["type"] == "card"
            else None,
            "reason": reason,
            "status": "needs_response",
        }
        _save(dispute)
        charge["disputed"] = True
        row.data = charge
        row.save(update_fields=["data"])
        _emit("charge.dispute.created", dispute, now=now)
        return copy.deepcopy(dispute)


def dispute_close(*, dispute_id: str, outcome: str) -> dict:
    """Close a dispute as ``"won"`` (the amount comes back; the fee stays spent) or ``"lost"``.

    Emits charge.dispute.closed.
    """
    if outcome not in ("won", "lost"):
        raise ValueError("outcome is 'won' or 'lost'")
    with transaction.atomic():
        row = _row(dispute_id, "dispute", lock=True)
        dispute = row.data
        if dispute["status"] in ("won", "lost"):
            raise PaymentRequestRefused("This dispute is closed already.")
        now = clock_now()
        previous = {"status": dispute["status"]}
        if outcome == "won":
            withdrawal = dispute["balance_transactions"][0]
            reinstatement = _save(
                _balance_transaction_json(
                    amount_eur=-withdrawal["amount"],
                    fee=0,
                    exchange_rate=withdrawal["exchange_rate"],
                    source=dispute_id,
                    kind="adjustment",
                    reporting_category="dispute_reversal",
                    description=f"Chargeback reversal for {dispute['charge']}",
                    now=now,
                )
            )
            dispute["balance_transactions"].append(reinstatement)
            previous["balance_transactions"] = dispute["balance_transactions"][:1]
        dispute["status"] = outcome
        row.data = dispute
        row.save(update_fields=["data"])
        _emit("charge.dispute.closed", dispute, now=now, previous=previous)
        return copy.deepcopy(dispute)


def dispute_create(*, charge_id: str, outcome: str | None = None, reason: str = "fraudulent") -> dict:
    """Open a dispute and, with ``outcome`` ("won" / "lost"), close it: created, then closed."""
    dispute = dispute_open(charge_id=charge_id, reason=reason)
    if outcome:
        dispute = dispute_close(dispute_id=dispute["id"], outcome=outcome)
    return dispute


def payout_create(*, arrival_days: int = 2) -> dict | None:
    """Pay the available EUR balance out to the bank (emits payout.paid); None when nothing is available."""
    with transaction.atomic():
        now = clock_now()
        rows = [
            row
            for row in SandboxObject.objects.select_for_update()
            .filter(kind="balance_transaction")
            .exclude(private__has_key="payout")
            .exclude(data__type="payout")
            if row.data["available_on"] <= now
        ]
        total = sum(row.data["net"] for row in rows)
        if total <= 0:
            return None
        po_id = new_id("po")
        withdrawal = _save(
            _balance_transaction_json(
                amount_eur=-total,
                fee=0,
                exchange_rate=None,
                source=po_id,
                kind="payout",
                reporting_category="payout",
                description="STRIPE PAYOUT",
                now=now,
            )
        )
        payout = {
            "id": po_id,
            "object": "payout",
            "amount": total,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": now + arrival_days * DAY,
            "automatic": True,
            "balance_transaction": withdrawal["id"],
            "created": now,
            "currency": "eur",
            "description": "STRIPE PAYOUT",
            "destination": "ba_sandbox",
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": {},
            "method": "standard",
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "completed",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "status": "paid",
            "trace_id": {"status": "supported", "value": None},
            "type": "bank_account",
        }
        _save(payout)
        for row in rows:
            row.private = {**row.private, "payout": po_id}
            row.save(update_fields=["private"])
        _emit("payout.paid", payout, now=now)
        return copy.deepcopy(payout)


def fraud_warning_create(*, charge_id: str, fraud_type: str = "made_with_stolen_card") -> dict:
    """An early fraud warning from the card network. Emits radar.early_fraud_warning.created."""
    with transaction.atomic():
        charge = retrieve(charge_id, "charge")
        now = clock_now()
        warning = _save(
            {
                "id": new_id("issfr"),
                "object": "radar.early_fraud_warning",
                "actionable": not charge["refunded"] and not charge["disputed"],
                "charge": charge_id,
                "created": now,
                "fraud_type": fraud_type,
                "livemode": False,
                "payment_intent": charge["payment_intent"],
            }
        )
        _emit("radar.early_fraud_warning.created", warning, now=now)
        return copy.deepcopy(warning)


def events_delivered() -> list[dict]:
    """Every event the sandbox emitted, oldest first (for tests and the demo)."""
    return objects("event")
