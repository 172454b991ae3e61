"""Public monthly report and archive pages (stub: being built)."""

from django.http import Http404


def archive(request):
    raise Http404


def month_report(request, year, month):
    raise Http404
