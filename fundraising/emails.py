"""E-mails to patrons, each in the patron's language (``Patron.language``).

Called by services after commit (``transaction.on_commit``). Every function is safe to call twice
for the same thing only in the sense that it sends again: callers call it once per state change.
"""

from __future__ import annotations


def send_thank_you(*, payment) -> None:
    """Thanks for a payment, with a link to its confirmation (and receipt, for a one-time donation)."""


def send_claim_account(*, patron) -> None:
    """A guest paid: invite them to create an account for their e-mail address to manage their support."""


def send_payment_failed(*, patronage, fix_url: str) -> None:
    """A renewal failed: a link to fix the card (Stripe's hosted invoice page or the billing portal)."""


def send_perks_suspended(*, patronage) -> None:
    """The grace period is over and the payment is still missing: perks are paused until it arrives."""


def send_subscription_ended(*, patronage) -> None:
    """The subscription ended (cancelled by the patron, or Stripe gave up after failed payments)."""


def send_annual_receipt_ready(*, receipt) -> None:
    """The annual collective donation receipt for last year can be downloaded."""
