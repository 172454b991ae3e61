"""The private Atom feed of patron-only updates: one secret token per patron, revocable.

``/feeds/updates/<token>.atom`` (outside the language prefix) lists the live, public update pages
(``cms.PatronUpdatePage``) in the patron's language, newest first, with full bodies while the token's
patron holds an active "updates" perk. When the perk is suspended or has ended, the feed keeps working
but carries only what everyone may read: public posts in full, and for patrons-only posts the title and
teaser with a note that the perk is paused (a feed reader would show a bare 403 as a broken feed). An
unknown or revoked token, or an erased patron, is a 404.

The token is made on the first visit of the feed page (``feed_token_for``); revoking it
(``feed_token_revoke``) gives the patron a new one at once, so the old URL stops working.
"""

from __future__ import annotations

import datetime
import re
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import feedgenerator, timezone, translation
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _

from .models import Entitlement, FeedToken, Perk

FEED_ENTRIES = 50


def feed_token_for(*, patron) -> FeedToken:
    """The patron's feed token, made on first use."""
    token, _created = FeedToken.objects.get_or_create(patron=patron)
    return token


def feed_token_revoke(*, patron) -> FeedToken:
    """Replace the patron's token with a new one: the old feed URL gives 404 from now on."""
    with transaction.atomic():
        token = FeedToken.objects.select_for_update().filter(patron=patron).first()
        if token is None:
            return FeedToken.objects.create(patron=patron)
        token.token = secrets.token_urlsafe()
        token.created = timezone.now()
        token.save(update_fields=["token", "created"])
        return token


def feed_patron(*, token: str):
    """The patron a feed token belongs to, or None (unknown token, or the patron was erased)."""
    found = FeedToken.objects.select_related("patron").filter(token=token).first()
    if found is None or found.patron.erased_at is not None:
        return None
    return found.patron


def patron_reads_updates(*, patron) -> bool:
    """Whether the patron holds an active "updates" perk now."""
    return Entitlement.objects.filter(patron=patron).active().of_kind(Perk.Kind.UPDATES).exists()


def patron_language(patron) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    language = (patron.language or "").split("-")[0].lower()
    return language if language in codes else settings.LANGUAGE_CODE


class UpdatesFeed(feedgenerator.Atom1Feed):
    """Atom with the full post as ``<content type="html">`` next to the teaser in ``<summary>``."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL.rstrip("/") + url


_RELATIVE_LINK = re.compile(r'(\s(?:href|src)=")/(?!/)')


def _absolute_links(html: str) -> str:
    """Feed readers show posts away from the site: root-relative links and images get the site's address."""
    return _RELATIVE_LINK.sub(lambda match: f"{match.group(1)}{settings.SITE_URL.rstrip('/')}/", html)


def _published(page) -> datetime.datetime:
    """The post's own date (what editors set), at the time it was first published if that was the same day."""
    first = page.first_published_at
    if first is not None and timezone.localtime(first).date() == page.date:
        return first
    return timezone.make_aware(datetime.datetime.combine(page.date, datetime.time(12)))


def updates_feed(*, patron, feed_url: str) -> UpdatesFeed:
    """The patron's feed, in their language, with full bodies only while they hold the updates perk."""
    from wagtail.models import Locale

    from cms.models import PatronUpdatePage

    language = patron_language(patron)
    reads_updates = patron_reads_updates(patron=patron)
    with translation.override(language):
        locale = Locale.objects.filter(language_code=language).first() or Locale.get_default()
        updates = list(
            PatronUpdatePage.objects.live()
            .public()
            .filter(locale=locale)
            .order_by("-date", "-first_published_at")[:FEED_ENTRIES]
        )
        index = updates[0].get_parent() if updates else None
        feed = UpdatesFeed(
            title=_("Updates for patrons"),
            link=_absolute(index.get_url() or "/") if index else settings.SITE_URL,
            description=_("Development updates and roadmap posts, with the posts for patrons in full."),
            language=language,
            feed_url=feed_url,
            feed_guid=f"{settings.SITE_URL.rstrip('/')}/feeds/updates/{language}",
        )
        locked_note = _(
            "This update is for patrons with the updates perk. Your support does not include it right now: "
            "the whole post shows here again as soon as it does."
        )
        for page in updates:
            link = _absolute(page.get_url() or "")
            if page.patrons_only and not reads_updates:
                content = format_html("<p>{}</p><p><em>{}</em></p>", page.teaser, locked_note)
            else:
                content = _absolute_links(str(page.body))
            feed.add_item(
                title=page.title,
                link=link,
                description=escape(page.teaser),
                content=content,
                unique_id=f"urn:uuid:{uuid.uuid5(page.translation_key, language)}",
                pubdate=_published(page),
                updateddate=page.last_published_at or _published(page),
            )
    return feed
