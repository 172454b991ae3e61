"""The patron's custom emoji page under /support/perks/emoji/ (names in the ``perks`` namespace)."""

from django.urls import path

from . import emoji_views

urlpatterns = [
    path("emoji/", emoji_views.emoji_page, name="emoji"),
    path("emoji/<int:pk>/withdraw/", emoji_views.emoji_withdraw_view, name="emoji_withdraw"),
]
