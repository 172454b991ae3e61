"""Fundraising's machine endpoints, outside the language prefix: the embeddable badges."""

from django.urls import path

from . import badges

app_name = "badges"

urlpatterns = [
    path("badges/patrons.svg", badges.patrons_badge, name="patrons"),
    path("badges/monthly.svg", badges.monthly_badge, name="monthly"),
]
