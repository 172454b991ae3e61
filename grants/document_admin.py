"""Downloads of the grant documents in the Wagtail admin (grants.documents):

- ``/admin/grants/documents/request/<milestone_id>.pdf``: the request for payment of a milestone; a milestone
  without a request number gets one first (``services.milestone_request_issue``, which submits it);
- ``/admin/grants/documents/time-declaration/<person_id>/<grant_id>/<YYYY>-<MM>.pdf``: one person's month on
  one grant;
- ``/admin/grants/documents/report/<grant_id>.pdf?start=YYYY-MM-DD&end=YYYY-MM-DD``: the grant report; without
  dates, the grant's whole period up to today.

``?language=de`` gives the German document. Finance only: the ``grants.view_grant`` permission, and like every
staff page MFA (accounts.middleware). An unknown id is a 404; a month or period that makes no sense is an
error message on the page the user came from, never a 500.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from wagtail import hooks

from . import documents, services
from .models import Grant, InvalidTransition, Milestone, Person

PERMISSION = "grants.view_grant"


def _check_permission(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _language(request) -> str:
    return "de" if request.GET.get("language", "").lower().startswith("de") else "en"


def _back(request, message: str):
    """Show ``message`` as an error on the page the user came from (or the admin's home)."""
    messages.error(request, message)
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(referer)
    return redirect("wagtailadmin_home")


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def _filename(*parts: str) -> str:
    return (
        "-".join(part.replace("/", "-").replace('"', "").replace(" ", "-") for part in parts if part) + ".pdf"
    )


@require_GET
@never_cache
def request_for_payment_download(request, milestone_id: int):
    _check_permission(request)
    milestone = get_object_or_404(Milestone.objects.select_related("grant__funder"), pk=milestone_id)
    if not milestone.request_number:
        try:
            milestone = services.milestone_request_issue(milestone=milestone)
        except (InvalidTransition, ValidationError) as error:
            return _back(request, " ".join(getattr(error, "messages", [str(error)])))
    milestone = Milestone.objects.select_related("grant__funder").get(pk=milestone.pk)
    pdf = documents.request_for_payment_pdf(milestone, language=_language(request))
    return _pdf_response(pdf, _filename(milestone.request_number, milestone.grant.code))


@require_GET
@never_cache
def time_declaration_download(request, person_id: str, grant_id: str, year: str, month: str):
    _check_permission(request)
    person = get_object_or_404(Person, pk=int(person_id))
    grant = get_object_or_404(Grant.objects.select_related("funder"), pk=int(grant_id))
    year, month = int(year), int(month)
    try:
        first = datetime.date(year, month, 1)
    except ValueError:
        return _back(request, _("There is no month %(year)04d-%(month)02d.") % {"year": year, "month": month})
    if not (grant.start_date.replace(day=1) <= first <= grant.end_date):
        return _back(
            request,
            _("The grant “%(grant)s” does not run in %(month)s.")
            % {"grant": grant, "month": f"{first:%Y-%m}"},
        )
    pdf = documents.time_declaration_pdf(person, grant, first, language=_language(request))
    return _pdf_response(pdf, _filename("time-declaration", person.name, grant.code, f"{first:%Y-%m}"))


def _date_parameter(request, name: str, default: datetime.date) -> datetime.date:
    value = request.GET.get(name, "").strip()
    if not value:
        return default
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a date; give the %(name)s of the period as YYYY-MM-DD.")
            % {"value": value[:20], "name": _("start") if name == "start" else _("end")}
        ) from None


@require_GET
@never_cache
def grant_report_download(request, grant_id: int):
    _check_permission(request)
    grant = get_object_or_404(Grant.objects.select_related("funder"), pk=grant_id)
    default_end = max(grant.start_date, min(grant.end_date, timezone.localdate()))
    try:
        start = _date_parameter(request, "start", grant.start_date)
        end = _date_parameter(request, "end", default_end)
    except ValidationError as error:
        return _back(request, " ".join(error.messages))
    if end < start:
        return _back(request, _("The period ends before it starts."))
    pdf = documents.grant_report_pdf(grant, start=start, end=end, language=_language(request))
    return _pdf_response(pdf, _filename("grant-report", grant.code, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"))


def request_for_payment_url(milestone: Milestone) -> str:
    return reverse("grants_documents:request", kwargs={"milestone_id": milestone.pk})


def time_declaration_url(person: Person, grant: Grant, month: datetime.date) -> str:
    return reverse(
        "grants_documents:time_declaration",
        kwargs={
            "person_id": str(person.pk),
            "grant_id": str(grant.pk),
            "year": f"{month.year:04d}",
            "month": f"{month.month:02d}",
        },
    )


def grant_report_url(grant: Grant) -> str:
    return reverse("grants_documents:report", kwargs={"grant_id": grant.pk})


@hooks.register("register_admin_urls")
def register_document_urls():
    from django.urls import include

    urls = [
        path("request/<int:milestone_id>.pdf", request_for_payment_download, name="request"),
        re_path(
            r"^time-declaration/(?P<person_id>[0-9]+)/(?P<grant_id>[0-9]+)/(?P<year>[0-9]{4})-(?P<month>[0-9]{2})\.pdf$",
            time_declaration_download,
            name="time_declaration",
        ),
        path("report/<int:grant_id>.pdf", grant_report_download, name="report"),
    ]
    return [path("grants/documents/", include((urls, "grants_documents"), namespace="grants_documents"))]
