"""Stripe events, as payments/ dataclasses, applied to sponsor invoices: subscribed in ``SponsorsConfig.ready``.

Only sessions and payments whose metadata names ``purpose=sponsorship`` are ours; refunds, disputes and
fraud warnings are ours when the charge paid one of our invoices."""

from __future__ import annotations


def subscribe_all() -> None:
    from payments import types
    from payments.services import charge_owner, charge_owner_register, purpose_of, subscribe

    from . import services
    from .models import Invoice

    purpose = services.PURPOSE
    charge_owner_register(
        purpose, lambda charge_id: Invoice.objects.filter(stripe_charge_id=charge_id).exists()
    )

    def ours(event) -> bool:
        return purpose_of(event.metadata) == purpose

    def charge_ours(event) -> bool:
        return charge_owner(event.charge_id) == purpose

    def when(check, handler):
        return lambda event: handler(event=event) if check(event) else None

    subscribe(types.CheckoutCompleted, when(ours, services.checkout_complete))
    subscribe(types.CheckoutFailed, when(ours, services.checkout_fail))
    subscribe(types.PaymentSucceeded, when(ours, services.payment_record))
    subscribe(types.RefundIssued, when(charge_ours, services.refund_record))
    subscribe(types.DisputeChanged, when(charge_ours, services.dispute_record))
    subscribe(types.FraudWarning, when(charge_ours, services.fraud_warning_record))
