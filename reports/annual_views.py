"""Public annual report page (stub: being built)."""

from django.http import Http404


def year_report(request, year):
    raise Http404
