"""Payouts move money from the Stripe balance to the bank: booked once per payout id."""

from __future__ import annotations

from ledger.services import PostingLine, first_open_day, transaction_post

from . import types


def payout_record(*, event: types.PayoutPaid) -> None:
    booked = first_open_day(event.arrival_date)
    late = (
        "" if booked == event.arrival_date else f"; booked late, original date {event.arrival_date:%Y-%m-%d}"
    )
    transaction_post(
        booking_date=booked,
        description=f"Stripe payout {event.payout_id}",
        idempotency_key=f"stripe:payout:{event.payout_id}",
        source_reference=f"payout {event.payout_id}{late}",
        lines=[
            PostingLine(account="bank", amount=event.amount_eur),
            PostingLine(account="stripe", amount=-event.amount_eur),
        ],
    )


def subscribe_all() -> None:
    from .services import subscribe

    subscribe(types.PayoutPaid, lambda event: payout_record(event=event))
