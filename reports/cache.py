"""One version for every cached public report page and file; a new version when a report changes
(the same scheme as ``fundraising.public``: old entries simply expire)."""

from __future__ import annotations

import uuid

from django.core.cache import cache

VERSION_KEY = "reports:version"
TIMEOUT = 60 * 60 * 24


def version() -> str:
    from cms.page_cache import version_read

    return version_read(VERSION_KEY)


def bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def key(*parts) -> str:
    """A cache key for one public rendering, tied to the current version."""
    return ":".join(["reports", str(version()), *(str(part) for part in parts)])
