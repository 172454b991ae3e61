"""Cache invalidation only: any change to a package, sponsor, logo or sponsorship refreshes the placements.

The placement fragments (home page, sponsors page, footer) are cached under a key that includes
``placement_cache_version()``; bumping it makes every fragment render anew on its next request.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

VERSION_KEY = "sponsors:placements:version"


def placement_cache_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = str(time.time_ns())
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY) or version
    return version


def placements_changed(**kwargs) -> None:
    cache.set(VERSION_KEY, str(time.time_ns()), timeout=None)


def _connect() -> None:
    from .models import Package, Sponsor, SponsorLogo, Sponsorship

    for model in (Package, Sponsor, SponsorLogo, Sponsorship):
        receiver(post_save, sender=model, dispatch_uid=f"sponsors-placements-save-{model.__name__}")(
            placements_changed
        )
        receiver(post_delete, sender=model, dispatch_uid=f"sponsors-placements-delete-{model.__name__}")(
            placements_changed
        )
    receiver(m2m_changed, sender=Sponsor.users.through, dispatch_uid="sponsors-placements-users")(
        placements_changed
    )


_connect()
