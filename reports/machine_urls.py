"""Report files without a language prefix, before Wagtail's catch-all (docs/reports.md)."""

from django.urls import path, re_path

from . import file_views

app_name = "reports_files"

urlpatterns = [
    re_path(
        r"^reports/(?P<year>\d{4})/(?P<month>\d{2})\.(?P<fmt>pdf|csv|json)$",
        file_views.month_file,
        name="month",
    ),
    re_path(r"^reports/(?P<year>\d{4})\.(?P<fmt>pdf|csv|json)$", file_views.year_file, name="year"),
    path("reports/index.json", file_views.index_json, name="index"),
    path("reports/feed.atom", file_views.feed, name="feed"),
]
