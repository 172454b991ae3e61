"""Report files: PDF, CSV, JSON, index and feed (stub: being built)."""

from django.http import Http404


def month_file(request, year, month, fmt):
    raise Http404


def year_file(request, year, fmt):
    raise Http404


def index_json(request):
    raise Http404


def feed(request):
    raise Http404
