"""Perks' machine endpoints, outside the language prefix: each patron's private Atom feed of updates."""

from django.urls import re_path

from . import feed_views

app_name = "perk_feeds"

urlpatterns = [
    re_path(
        r"^feeds/updates/(?P<token>[A-Za-z0-9_-]{16,64})\.atom$", feed_views.updates_feed, name="updates"
    ),
]
