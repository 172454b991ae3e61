"""The patron's feed page under /support/perks/ (names in the ``perks`` namespace)."""

from django.urls import path

from . import feed_views

urlpatterns = [
    path("feed/", feed_views.feed_page, name="feed"),
    path("feed/revoke/", feed_views.feed_revoke, name="feed_revoke"),
]
