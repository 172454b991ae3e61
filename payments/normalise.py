"""Raw Stripe events (JSON, API version pinned in the gateway) turned into the dataclasses the domain sees.

Look-ups that an event needs (the charge behind an invoice, its balance transaction in EUR) go through
the gateway, so this module runs OUTSIDE any database transaction. It returns a list: one event may
mean several things (charge.refunded carries every refund of the charge).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from . import types
from .gateway import Gateway

ZERO_DECIMAL_CURRENCIES = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}


def amount_from_minor(value, currency: str) -> Decimal:
    """Stripe's integer minor units as a Decimal in major units (never through a float)."""
    value = int(value or 0)
    if (currency or "").lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(value).quantize(Decimal("0.01"))
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


def amount_to_minor(amount: Decimal, currency: str) -> int:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(amount.to_integral_value())
    return int((amount * 100).to_integral_value())


def settlement_from(*, charge: dict, balance_transaction: dict, payment_intent_id: str) -> types.Settlement:
    """A charge's settlement from its balance transaction (Stripe's JSON), for both gateways."""
    rate = balance_transaction.get("exchange_rate")
    return types.Settlement(
        charge_id=charge["id"],
        payment_intent_id=payment_intent_id,
        balance_transaction_id=balance_transaction["id"],
        amount_eur=amount_from_minor(balance_transaction["amount"], "eur"),
        fee_eur=amount_from_minor(balance_transaction["fee"], "eur"),
        net_eur=amount_from_minor(balance_transaction["net"], "eur"),
        exchange_rate=Decimal(str(rate))
        if rate is not None
        else None,  # a JSON number, never through float math
        available_on=_date(balance_transaction.get("available_on")),
    )


def timestamp(value) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)


def _date(value) -> datetime.date | None:
    moment = timestamp(value)
    return timezone.localtime(moment).date() if moment else None


def _id(value) -> str:
    """An expandable field: the id string, or the expanded object's id."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _metadata(value) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _address(value) -> types.Address:
    value = value or {}
    return types.Address(
        line1=value.get("line1") or "",
        line2=value.get("line2") or "",
        postal_code=value.get("postal_code") or "",
        city=value.get("city") or "",
        country=value.get("country") or "",
    )


def _base(event: dict) -> dict:
    return {
        "event_id": event["id"],
        "event_created": timestamp(event["created"]),
        "livemode": bool(event.get("livemode")),
    }


def invoice_subscription_id(invoice: dict) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def invoice_metadata(invoice: dict) -> dict[str, str]:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return {**_metadata(details.get("metadata")), **_metadata(invoice.get("metadata"))}


def _invoice_tax(invoice: dict) -> Decimal:
    currency = invoice.get("currency") or "eur"
    taxes = invoice.get("total_taxes") or []
    return sum((amount_from_minor(tax.get("amount"), currency) for tax in taxes), Decimal("0.00"))


def _invoice_period(invoice: dict) -> tuple[datetime.date | None, datetime.date | None]:
    lines = (invoice.get("lines") or {}).get("data") or []
    for line in lines:
        period = line.get("period") or {}
        if period.get("start"):
            return _date(period.get("start")), _date(period.get("end"))
    return _date(invoice.get("period_start")), _date(invoice.get("period_end"))


def _invoice_paid(
    event: dict, invoice: dict, gateway: Gateway, payment_intent_id: str = ""
) -> types.PaymentSucceeded | None:
    if invoice.get("status") != "paid" or int(invoice.get("amount_paid") or 0) <= 0:
        return None
    payment_intent_id = payment_intent_id or gateway.payment_intent_for_invoice(invoice_id=invoice["id"])
    settlement = gateway.settlement_for_payment_intent(payment_intent_id=payment_intent_id)
    currency = (invoice.get("currency") or "eur").lower()
    start, end = _invoice_period(invoice)
    paid_at = timestamp((invoice.get("status_transitions") or {}).get("paid_at")) or timestamp(
        event["created"]
    )
    return types.PaymentSucceeded(
        **_base(event),
        charge_id=settlement.charge_id,
        payment_intent_id=payment_intent_id,
        invoice_id=invoice["id"],
        subscription_id=invoice_subscription_id(invoice),
        customer_id=_id(invoice.get("customer")),
        checkout_session_id="",
        customer_email=invoice.get("customer_email") or "",
        customer_name=invoice.get("customer_name") or "",
        address=_address(invoice.get("customer_address")),
        amount=amount_from_minor(invoice.get("amount_paid"), currency),
        tax_amount=_invoice_tax(invoice),
        currency=currency,
        paid_at=paid_at,
        settlement=settlement,
        billing_reason=invoice.get("billing_reason") or "",
        period_start=start,
        period_end=end,
        metadata=invoice_metadata(invoice),
    )


def _checkout_completed(event: dict, session: dict, gateway: Gateway) -> list:
    currency = (session.get("currency") or "eur").lower()
    details = session.get("customer_details") or {}
    completed = types.CheckoutCompleted(
        **_base(event),
        session_id=session["id"],
        mode=session.get("mode") or "",
        payment_status=session.get("payment_status") or "",
        customer_id=_id(session.get("customer")),
        customer_email=details.get("email") or session.get("customer_email") or "",
        customer_name=details.get("name") or "",
        address=_address(details.get("address")),
        subscription_id=_id(session.get("subscription")),
        payment_intent_id=_id(session.get("payment_intent")),
        amount_total=amount_from_minor(session.get("amount_total"), currency),
        currency=currency,
        locale=session.get("locale") or "",
        metadata=_metadata(session.get("metadata")),
    )
    result: list = [completed]
    # One-time payments are booked from the session: there is no invoice to wait for.
    if completed.mode == "payment" and completed.payment_status == "paid" and completed.payment_intent_id:
        settlement = gateway.settlement_for_payment_intent(payment_intent_id=completed.payment_intent_id)
        tax = amount_from_minor((session.get("total_details") or {}).get("amount_tax"), currency)
        result.append(
            types.PaymentSucceeded(
                **_base(event),
                charge_id=settlement.charge_id,
                payment_intent_id=completed.payment_intent_id,
                invoice_id=_id(session.get("invoice")),
                subscription_id="",
                customer_id=completed.customer_id,
                checkout_session_id=completed.session_id,
                customer_email=completed.customer_email,
                customer_name=completed.customer_name,
                address=completed.address,
                amount=completed.amount_total,
                tax_amount=tax,
                currency=currency,
                paid_at=timestamp(event["created"]),
                settlement=settlement,
                billing_reason="checkout",
                period_start=None,
                period_end=None,
                metadata=completed.metadata,
            )
        )
    return result


def _subscription(event: dict, subscription: dict) -> types.SubscriptionChanged:
    items = (subscription.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    currency = (price.get("currency") or subscription.get("currency") or "eur").lower()
    period_end = item.get("current_period_end") or subscription.get("current_period_end")
    return types.SubscriptionChanged(
        **_base(event),
        subscription_id=subscription["id"],
        customer_id=_id(subscription.get("customer")),
        status=subscription.get("status") or "",
        price_lookup_key=price.get("lookup_key") or "",
        amount=amount_from_minor(price.get("unit_amount"), currency),
        currency=currency,
        interval=(price.get("recurring") or {}).get("interval") or "",
        current_period_end=timestamp(period_end),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        canceled_at=timestamp(subscription.get("canceled_at")),
        deleted=event["type"] == "customer.subscription.deleted",
        metadata=_metadata(subscription.get("metadata")),
    )


def _refunds(event: dict, charge: dict, gateway: Gateway) -> list:
    currency = (charge.get("currency") or "eur").lower()
    refunds = (charge.get("refunds") or {}).get("data") or []
    result = []
    for refund in refunds:
        if refund.get("status") not in ("succeeded", "pending"):
            continue
        amount_eur, fee_refunded_eur = gateway.settlement_for_refund(refund_id=refund["id"])
        result.append(
            types.RefundIssued(
                **_base(event),
                refund_id=refund["id"],
                charge_id=charge["id"],
                amount=amount_from_minor(refund.get("amount"), currency),
                currency=currency,
                amount_eur=amount_eur,
                fee_refunded_eur=fee_refunded_eur,
                created=timestamp(refund.get("created")) or timestamp(event["created"]),
            )
        )
    return result


def _dispute(event: dict, dispute: dict, gateway: Gateway) -> types.DisputeChanged:
    currency = (dispute.get("currency") or "eur").lower()
    amount_eur, fee_eur = gateway.settlement_for_dispute(dispute_id=dispute["id"])
    return types.DisputeChanged(
        **_base(event),
        dispute_id=dispute["id"],
        charge_id=_id(dispute.get("charge")),
        amount=amount_from_minor(dispute.get("amount"), currency),
        currency=currency,
        amount_eur=amount_eur,
        fee_eur=fee_eur,
        status=dispute.get("status") or "",
        reason=dispute.get("reason") or "",
        closed=event["type"] == "charge.dispute.closed",
        created=timestamp(dispute.get("created")) or timestamp(event["created"]),
    )


def normalise(event: dict, *, gateway: Gateway) -> list:
    """The dataclasses an event means for the domain; an empty list for types nobody handles."""
    kind = event["type"]
    obj = event["data"]["object"]
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return _checkout_completed(event, obj, gateway)
    if kind in ("checkout.session.async_payment_failed", "checkout.session.expired"):
        return [
            types.CheckoutFailed(
                **_base(event),
                session_id=obj["id"],
                reason="expired" if kind.endswith("expired") else "payment_failed",
                metadata=_metadata(obj.get("metadata")),
            )
        ]
    if kind == "invoice.paid":
        paid = _invoice_paid(event, obj, gateway)
        return [paid] if paid else []
    if kind == "invoice_payment.paid":
        if obj.get("status") != "paid":
            return []
        payment = obj.get("payment") or {}
        payment_intent_id = _id(payment.get("payment_intent"))
        if not payment_intent_id:
            return []
        invoice = gateway.invoice(invoice_id=_id(obj.get("invoice")))
        paid = _invoice_paid(event, invoice, gateway, payment_intent_id=payment_intent_id)
        return [paid] if paid else []
    if kind in ("invoice.payment_failed", "invoice.payment_action_required"):
        currency = (obj.get("currency") or "eur").lower()
        return [
            types.PaymentFailed(
                **_base(event),
                invoice_id=obj["id"],
                subscription_id=invoice_subscription_id(obj),
                customer_id=_id(obj.get("customer")),
                amount=amount_from_minor(obj.get("amount_due"), currency),
                currency=currency,
                attempt_count=int(obj.get("attempt_count") or 0),
                next_attempt_at=timestamp(obj.get("next_payment_attempt")),
                action_required=kind.endswith("action_required"),
                hosted_invoice_url=obj.get("hosted_invoice_url") or "",
                metadata=invoice_metadata(obj),
            )
        ]
    if kind.startswith("customer.subscription."):
        if kind in (
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "customer.subscription.paused",
            "customer.subscription.resumed",
        ):
            return [_subscription(event, obj)]
        return []
    if kind == "charge.refunded":
        return _refunds(event, obj, gateway)
    if kind in ("charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated"):
        return [_dispute(event, obj, gateway)]
    if kind == "payout.paid":
        if (obj.get("currency") or "eur").lower() != "eur":
            return []
        return [
            types.PayoutPaid(
                **_base(event),
                payout_id=obj["id"],
                amount_eur=amount_from_minor(obj.get("amount"), "eur"),
                arrival_date=_date(obj.get("arrival_date")) or _date(event["created"]),
            )
        ]
    if kind == "radar.early_fraud_warning.created":
        return [
            types.FraudWarning(
                **_base(event),
                warning_id=obj["id"],
                charge_id=_id(obj.get("charge")),
                fraud_type=obj.get("fraud_type") or "",
                actionable=bool(obj.get("actionable")),
            )
        ]
    return []
