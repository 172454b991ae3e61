"""Stripe events, as payments/ dataclasses, applied to patrons: subscribed in ``FundraisingConfig.ready``."""

from __future__ import annotations


def subscribe_all() -> None:
    from payments import types
    from payments.services import subscribe

    from . import services

    subscribe(types.CheckoutCompleted, lambda event: services.checkout_complete(event=event))
    subscribe(types.CheckoutFailed, lambda event: services.checkout_fail(event=event))
    subscribe(types.PaymentSucceeded, lambda event: services.payment_record(event=event))
    subscribe(types.PaymentFailed, lambda event: services.payment_failure_record(event=event))
    subscribe(types.SubscriptionChanged, lambda event: services.patronage_sync(event=event))
    subscribe(types.RefundIssued, lambda event: services.refund_record(event=event))
    subscribe(types.DisputeChanged, lambda event: services.dispute_record(event=event))
    subscribe(types.FraudWarning, lambda event: services.fraud_warning_record(event=event))
