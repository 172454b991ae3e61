"""People's report pages: English under /reports/, German under /de/reports/ (inside i18n_patterns)."""

from django.urls import path, re_path

from . import annual_views, views

app_name = "reports"

urlpatterns = [
    path("", views.archive, name="archive"),
    re_path(r"^(?P<year>\d{4})/$", annual_views.year_report, name="year"),
    re_path(r"^(?P<year>\d{4})/(?P<month>\d{2})/$", views.month_report, name="month"),
]
