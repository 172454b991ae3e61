"""Stripe's webhook signature scheme (``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``).

Verification is the same for real Stripe and the sandbox, so it lives here and not in a gateway:
the signed text is ``"<t>.<raw body>"``, the key is ``STRIPE_WEBHOOK_SECRET``, and the timestamp
must be within the tolerance (5 minutes) of now. Tests prove it agrees with stripe-python's own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from .errors import InvalidSignature

TOLERANCE_SECONDS = 300


def sign(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    *, payload: bytes, header: str, secret: str, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> dict:
    """The parsed event once signature and timestamp check out; ``InvalidSignature`` otherwise."""
    if not secret:
        raise InvalidSignature("No webhook secret is configured (STRIPE_WEBHOOK_SECRET).")
    if not header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    timestamp = None
    signatures = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if not timestamp or not timestamp.isdigit() or not signatures:
        raise InvalidSignature("The Stripe-Signature header is malformed.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise InvalidSignature("The signature does not match the body.")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise InvalidSignature("The signature's timestamp is too old (or in the future).")
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidSignature(f"The body is not JSON: {error}") from None
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("created"), int)
        or not isinstance(event.get("data"), dict)
        or not isinstance(event["data"].get("object"), dict)
    ):
        raise InvalidSignature("The body is not a Stripe event.")
    return event
