"""The patron's perk pages under /support/perks/ (inside the language prefix)."""

from django.urls import include, path

app_name = "perks"

urlpatterns = [
    path("", include("perks.emoji_urls")),
    path("", include("perks.feed_urls")),
]
