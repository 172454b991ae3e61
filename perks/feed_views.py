"""The patron's private feed: the page with its secret URL (/support/perks/feed/) and the feed itself.

The feed page is for logged-in patrons only and is never cached (it shows a secret). Posting to the
revoke URL replaces the token at once. The feed (``/feeds/updates/<token>.atom``) needs no log-in: the
token is the key; see perks/feeds.py for what it contains.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from fundraising.models import Patron

from . import feeds


def _patron(request) -> Patron | None:
    return Patron.objects.filter(user=request.user, erased_at__isnull=True).first()


def _feed_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("perk_feeds:updates", kwargs={"token": token}))


@login_required
@require_safe
def feed_page(request):
    patron = _patron(request)
    context = {"patron": patron}
    if patron is not None:
        token = feeds.feed_token_for(patron=patron)
        context.update(
            feed_url=_feed_url(request, token.token),
            reads_updates=feeds.patron_reads_updates(patron=patron),
        )
    response = render(request, "perks/feed_page.html", context)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def feed_revoke(request):
    patron = _patron(request)
    if patron is None:
        raise Http404
    feeds.feed_token_revoke(patron=patron)
    messages.success(
        request, _("Your old feed link no longer works. Add the new link below to your feed reader.")
    )
    return redirect("perks:feed")


@require_safe
def updates_feed(request, token: str):
    patron = feeds.feed_patron(token=token)
    if patron is None:
        raise Http404
    feed = feeds.updates_feed(patron=patron, feed_url=request.build_absolute_uri())
    response = HttpResponse(content_type=feed.content_type)
    feed.write(response, "utf-8")
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
