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
# The columns an event's id and type are stored in (payments.models.WebhookEvent).
MAX_ID_LENGTH = 255
MAX_TYPE_LENGTH = 100
LATEST_CREATED = 4102444800  # 2100-01-01 in Unix time: an event "created" later (or before 1970) is garbage


def sign(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _not_json(constant: str):
    """Python's json reads NaN and Infinity, which are no JSON and which no database column stores."""
    raise ValueError(f"{constant} is not a JSON value")


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
    # ASCII only: str.isdigit() also takes "²", which int() refuses, and compare_digest() refuses to
    # compare str with non-ASCII characters (a header anyone can send).
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        raise InvalidSignature("The Stripe-Signature header is malformed.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(signature.isascii() and hmac.compare_digest(expected, signature) for signature in signatures):
        raise InvalidSignature("The signature does not match the body.")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise InvalidSignature("The signature's timestamp is too old (or in the future).")
    try:
        event = json.loads(payload, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidSignature(f"The body is not JSON: {error}") from None
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or len(event["id"]) > MAX_ID_LENGTH
        or len(event["type"]) > MAX_TYPE_LENGTH
        or not isinstance(event.get("created"), int)
        or not 0 <= event["created"] < LATEST_CREATED
        or not isinstance(event.get("data"), dict)
        or not isinstance(event["data"].get("object"), dict)
    ):
        raise InvalidSignature("The body is not a Stripe event.")
    if not storable(event):
        raise InvalidSignature("The event holds a NUL character or a lone surrogate, which cannot be stored.")
    return event


def storable(value) -> bool:
    """No key or string holds a NUL character or a lone surrogate (JSON can write both as \\u escapes):
    PostgreSQL stores neither in a text or jsonb column, and no UTF-8 encoder takes a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item or not (item.isascii() or _encodable(item)):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
