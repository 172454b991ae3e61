"""Perks follow each Stripe event that changes a patronage (after fundraising's handlers have applied it)."""

from __future__ import annotations


def _sync_for_subscription(subscription_id: str) -> None:
    from fundraising.models import Patronage

    from .services import entitlements_sync

    patronage = (
        Patronage.objects.filter(stripe_subscription_id=subscription_id).first() if subscription_id else None
    )
    if patronage is not None:
        entitlements_sync(patronage=patronage, source="webhook")


def subscribe_all() -> None:
    from payments import types
    from payments.services import subscribe

    subscribe(types.PaymentSucceeded, lambda event: _sync_for_subscription(event.subscription_id))
    subscribe(types.PaymentFailed, lambda event: _sync_for_subscription(event.subscription_id))
    subscribe(types.SubscriptionChanged, lambda event: _sync_for_subscription(event.subscription_id))
