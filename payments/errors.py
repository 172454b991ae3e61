"""Errors of the payment edge. The domain catches ``PaymentError`` and shows ``user_message``."""

from django.utils.translation import gettext_lazy as _


class PaymentError(Exception):
    """Stripe (or the sandbox) refused or could not be reached. Safe to show ``user_message``."""

    user_message = _(
        "The payment service could not take your request just now. Please try again in a minute."
    )


class PaymentServiceUnavailable(PaymentError):
    """Network error, rate limit or 5xx after the retries ran out."""


class PaymentRequestRefused(PaymentError):
    """Stripe refused the request as it was (4xx other than 429): a bug or a setting, not the user's fault."""


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


class UnknownObject(PaymentError):
    """A look-up for an object Stripe does not know."""
