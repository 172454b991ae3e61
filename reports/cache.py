"""One version for every cached public report page and file; a new version when a report changes
(the same scheme as ``fundraising.public``: old entries simply expire)."""

from __future__ import annotations

import uuid

from django.core.cache import cache

VERSION_KEY = "reports:version"
TIMEOUT = 60 * 60 * 24


def version() -> str:
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        value = cache.get(VERSION_KEY)
    return value


def bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def key(*parts) -> str:
    """A cache key for one public rendering, tied to the current version."""
    return ":".join(["reports", str(version()), *(str(part) for part in parts)])
