"""Cache invalidation only: any change to a grant, milestone or funder refreshes the public grants page.

The grants listing on the grants page (templates/cms/grants_page.html) is a fragment cached under a key that
includes ``public_grants_cache_version()``; bumping it makes the fragment render anew on its next request.
Imported by ``GrantsConfig.ready()`` so every process bumps the version, not only the ones that render the
page.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

VERSION_KEY = "grants:public:version"


def public_grants_cache_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = str(time.time_ns())
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY) or version
    return version


def public_grants_changed(**kwargs) -> None:
    cache.set(VERSION_KEY, str(time.time_ns()), timeout=None)


def _connect() -> None:
    from .models import Funder, Grant, Milestone

    for model in (Funder, Grant, Milestone):
        receiver(post_save, sender=model, dispatch_uid=f"grants-public-save-{model.__name__}")(
            public_grants_changed
        )
        receiver(post_delete, sender=model, dispatch_uid=f"grants-public-delete-{model.__name__}")(
            public_grants_changed
        )


_connect()
