"""Sponsors' logos on the site: ``{% load sponsor_tags %}``, then ``{% sponsor_placements "home" %}``,
``"sponsors"`` or ``"footer"``.

Renders ``sponsors/includes/placements_<where>.html`` with the day's placements (sponsors/placements.py),
or nothing when there are none. The HTML is cached per place, language and day under
``placement_cache_version()``, which sponsors/signals.py bumps on every change to a package, sponsor, logo
or sponsorship: the next request renders anew. It is the same for every visitor, so the pages around it
stay cacheable. ``{% sponsor_placements "sponsors" as sponsors_html %}`` keeps the HTML in a variable
(empty without placements), e.g. to say so instead.
"""

from __future__ import annotations

import datetime

from django import template
from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from sponsors.placements import PLACES, placements
from sponsors.signals import placement_cache_version

register = template.Library()

CACHE_TIMEOUT = 60 * 60 * 24  # the day is part of the key; this only clears out yesterday's fragments


def placements_html(*, where: str, on: datetime.date | None = None) -> SafeString:
    """The placements of ``where`` as HTML, from the cache when nothing changed since it was rendered."""
    if where not in PLACES:
        raise template.TemplateSyntaxError(
            f"sponsor_placements: unknown place {where!r}; choose one of {', '.join(PLACES)}."
        )
    day = on or timezone.localdate()
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    key = f"sponsors:placements:{where}:{language}:{day.isoformat()}:{placement_cache_version()}"
    html = cache.get(key)
    if html is None:
        groups = placements(where=where, on=day)
        html = (
            render_to_string(f"sponsors/includes/placements_{where}.html", {"groups": groups})
            if groups
            else ""
        )
        cache.set(key, str(html), CACHE_TIMEOUT)
    return mark_safe(html)  # noqa: S308 (rendered by the template engine, which escaped every value)


@register.simple_tag
def sponsor_placements(where: str) -> SafeString:
    return placements_html(where=where)
