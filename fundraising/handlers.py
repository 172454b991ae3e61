"""Stripe events, as payments/ dataclasses, applied to patrons: subscribed in ``FundraisingConfig.ready``."""

from __future__ import annotations

PURPOSE = "patronage"


def _ours(event) -> bool:
    """Sessions and payments another domain started (a sponsor's invoice) are not patrons' business."""
    from payments.services import purpose_of

    return purpose_of(getattr(event, "metadata", {})) == PURPOSE


def _charge_ours(event) -> bool:
    """A refund or dispute of a charge another domain booked is theirs; an unknown charge is ours to
    retry (its payment event may not have been processed yet)."""
    from payments.services import charge_owner

    return charge_owner(event.charge_id) in (None, PURPOSE)


def subscribe_all() -> None:
    from payments import types
    from payments.services import charge_owner_register, subscribe

    from . import services
    from .models import Payment

    charge_owner_register(
        PURPOSE, lambda charge_id: Payment.objects.filter(stripe_charge_id=charge_id).exists()
    )

    def when(check, handler):
        return lambda event: handler(event=event) if check(event) else None

    subscribe(types.CheckoutCompleted, when(_ours, services.checkout_complete))
    subscribe(types.CheckoutFailed, when(_ours, services.checkout_fail))
    subscribe(types.PaymentSucceeded, when(_ours, services.payment_record))
    subscribe(types.PaymentFailed, when(_ours, services.payment_failure_record))
    subscribe(types.SubscriptionChanged, when(_ours, services.patronage_sync))
    subscribe(types.RefundIssued, when(_charge_ours, services.refund_record))
    subscribe(types.DisputeChanged, when(_charge_ours, services.dispute_record))
    subscribe(types.FraudWarning, when(_charge_ours, services.fraud_warning_record))
