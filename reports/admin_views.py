"""The views behind the month close screens (reports/viewsets.py): draft a month, write its commentary,
publish it (which closes the month in the books), re-open it, and its history.

GET shows what will happen; only POST (with CSRF) changes anything, and only through
``reports.services``. Each view checks its action of the reports' permission policy (the finance role;
the staff middleware asks for MFA first). A refusal of a service (``ValidationError``, a ``LedgerError``)
is shown on the form or as a message and changes nothing; never a 500 for bad input.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from django.views.generic.edit import FormView
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permissions import policy_registry

from ledger.errors import LedgerError
from ledger.models import Account
from ledger.querysets import month_start
from ledger.viewsets import format_amount

from . import services
from .admin_forms import CommentaryForm, DraftMonthForm, PublishForm, ReopenForm
from .figures import INCOME_KEYS, SPENDING_KEYS, MonthFigures, month_figures
from .models import MonthlyReport, ReportEvent

logger = logging.getLogger(__name__)

REFUSALS = (ValidationError, LedgerError)
EVENT_PERMISSION = "reports.view_reportevent"


def user_may(user, action: str) -> bool:
    """``action`` ("view", "add", "change", "publish") of the reports' permission policy."""
    return policy_registry.get_by_type(MonthlyReport).user_has_permission(user, action)


def refusal_texts(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return [str(text) for text in error.messages]
    return [str(error)]


def amount_text(value: Decimal) -> str:
    return f"{format_amount(value)} EUR"


def public_url(report: MonthlyReport) -> str:
    """The report's page for people (a draft shows there to finance with MFA only), or ""."""
    try:
        return reverse("reports:month", kwargs={"year": f"{report.month:%Y}", "month": f"{report.month:%m}"})
    except NoReverseMatch:
        return ""


def figures_rows(figures: MonthFigures) -> dict:
    """The month's figures as labelled rows for the admin tables (labels of the ledger's categories)."""
    return {
        "income": [
            (Account.Category(category).label, figures.income[key]) for category, key in INCOME_KEYS.items()
        ],
        "spending": [
            (Account.Category(category).label, figures.spending[key])
            for category, key in SPENDING_KEYS.items()
        ],
        "income_total": figures.income_total,
        "spending_total": figures.spending_total,
        "result": figures.result,
        "cash_end": figures.cash_end,
        "development_share": figures.development_share,
    }


def report_actions(report: MonthlyReport, user) -> list[dict]:
    """The steps a report allows now, as links to their screens (each asks before it changes anything)."""
    actions = []
    if user_may(user, "change"):
        actions.append(
            {
                "label": gettext("Edit the commentary"),
                "url": reverse("reports_monthlyreport:edit", args=[report.pk]),
            }
        )
    if url := public_url(report):
        actions.append(
            {"label": gettext("Public page") if report.is_published else gettext("Preview"), "url": url}
        )
    if user_may(user, "publish"):
        if report.is_published:
            actions.append(
                {
                    "label": gettext("Re-open"),
                    "url": reverse("reports_monthlyreport:reopen", args=[report.pk]),
                    "serious": True,
                }
            )
        else:
            actions.append(
                {
                    "label": gettext("Publish"),
                    "url": reverse("reports_monthlyreport:publish", args=[report.pk]),
                }
            )
    if user_may(user, "view") and user.has_perm(EVENT_PERMISSION):
        actions.append(
            {"label": gettext("History"), "url": reverse("reports_monthlyreport:history", args=[report.pk])}
        )
    return actions


def _index_breadcrumb() -> dict:
    return {
        "url": reverse("reports_monthlyreport:index"),
        "label": capfirst(MonthlyReport._meta.verbose_name_plural),
    }


def _report_breadcrumb(report: MonthlyReport) -> dict:
    return {"url": reverse("reports_monthlyreport:inspect", args=[report.pk]), "label": report.period}


# --- Draft a month --------------------------------------------------------------------------------


class ReportDraftView(WagtailAdminTemplateMixin, FormView):
    """ "Draft a month": the report of a month that is over, drafted from the books (``report_draft``)."""

    form_class = DraftMonthForm
    template_name = "reports/admin/draft.html"
    page_title = _("Draft a month")
    header_icon = "calendar-alt"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not user_may(request.user, "add"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        today = timezone.localdate()
        return {"month": month_start(month_start(today) - datetime.timedelta(days=1))}

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, _index_breadcrumb(), {"url": "", "label": self.get_page_title()}]

    def form_valid(self, form):
        month = form.cleaned_data["month"]
        existed = MonthlyReport.objects.filter(month=month).exists()
        try:
            report = services.report_draft(month=month, by=self.request.user)
        except REFUSALS as error:
            for text in refusal_texts(error):
                form.add_error("month", text)
            return self.form_invalid(form)
        if existed:
            messages.info(
                self.request,
                gettext("%(month)s already has a report; here it is.") % {"month": report.period},
            )
        else:
            messages.success(
                self.request,
                gettext(
                    "The report of %(month)s is drafted from the books. Add a commentary, check the figures "
                    "and publish it when it is ready."
                )
                % {"month": report.period},
            )
        return redirect("reports_monthlyreport:inspect", report.pk)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(cancel_url=reverse("reports_monthlyreport:index"), action_url=self.request.path)
        return context


# --- The commentary -------------------------------------------------------------------------------


class ReportScreenMixin:
    """A screen about one report: its month as the subtitle, the listing and the report in the breadcrumbs."""

    def get_page_subtitle(self):
        return self.object.period

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            _index_breadcrumb(),
            _report_breadcrumb(self.object),
            {"url": "", "label": self.get_page_title()},
        ]


class CommentaryEditView(ReportScreenMixin, generic.EditView):
    """The commentary in English and German (Draftail), saved by ``report_commentary_save``."""

    template_name = "reports/admin/commentary_edit.html"
    submit_button_label = _("Save the commentary")

    def get_form_class(self):
        return CommentaryForm

    def get_page_title(self):
        return gettext("Commentary")

    def save_instance(self):
        data = self.form.cleaned_data
        return services.report_commentary_save(
            report=self.object,
            commentary_en=data["commentary_en"],
            commentary_de=data["commentary_de"],
            by=self.request.user,
        )

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except REFUSALS as error:
            logger.info("reports admin: commentary of %s refused: %s", self.object, error)
            for text in refusal_texts(error):
                form.add_error(None, text)
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)

    def get_success_message(self):
        return gettext("The commentary of %(month)s is saved.") % {"month": self.object.period}

    def get_success_url(self):
        return reverse("reports_monthlyreport:inspect", args=[self.object.pk])

    def get_success_buttons(self):
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(preview_url=public_url(self.object), report=self.object)
        return context


# --- Publish and re-open --------------------------------------------------------------------------


class ReportActionView(ReportScreenMixin, WagtailAdminTemplateMixin, FormView):
    """One step on one report: a confirm page (GET) and the change (POST)."""

    template_name = "reports/admin/action_confirm.html"
    header_icon = "doc-full-inverse"
    permission_action = "publish"
    submit_label = _("Confirm")
    serious = False
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not user_may(request.user, self.permission_action):
            raise PermissionDenied
        self.object = get_object_or_404(MonthlyReport, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def refusal(self) -> str:
        """Why the step is not possible now (empty when it is)."""
        return ""

    def perform(self, data: dict) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def inspect_url(self) -> str:
        return reverse("reports_monthlyreport:inspect", args=[self.object.pk])

    def get(self, request, *args, **kwargs):
        if refusal := self.refusal():
            messages.error(request, refusal)
            return redirect(self.inspect_url())
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if refusal := self.refusal():
            messages.error(request, refusal)
            return redirect(self.inspect_url())
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            message = self.perform(form.cleaned_data)
        except REFUSALS as error:
            logger.info("reports admin: %s of %s refused: %s", type(self).__name__, self.object, error)
            for text in refusal_texts(error):
                form.add_error(None, text)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(self.inspect_url())

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            report=self.object,
            submit_label=self.submit_label,
            serious=self.serious,
            cancel_url=self.inspect_url(),
            action_url=self.request.path,
            preview_url=public_url(self.object),
        )
        return context


class ReportPublishView(ReportActionView):
    """Publish a draft: the figures become public and the month is closed in the books."""

    form_class = PublishForm
    template_name = "reports/admin/publish.html"
    header_icon = "upload"

    def get_page_title(self):
        return gettext("Publish %(month)s") % {"month": self.object.period}

    @property
    def submit_label(self):
        return gettext("Publish and close %(month)s") % {"month": self.object.period}

    def refusal(self) -> str:
        if self.object.is_published:
            return gettext("The report of %(month)s is already published.") % {"month": self.object.period}
        return ""

    def perform(self, data):
        report = services.report_publish(report=self.object, by=self.request.user)
        return gettext(
            "The report of %(month)s is published and the month is closed in the books. Manual postings "
            "dated in it are refused from now on."
        ) % {"month": report.period}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = self.object
        context.update(
            figures=figures_rows(month_figures(report.month)),
            has_commentary=bool(report.commentary_en.strip()),
        )
        return context


class ReportReopenView(ReportActionView):
    """Re-open a published month: the report goes offline, the month is open for postings, all recorded."""

    form_class = ReopenForm
    template_name = "reports/admin/reopen.html"
    header_icon = "lock-open"
    serious = True

    def get_page_title(self):
        return gettext("Re-open %(month)s") % {"month": self.object.period}

    @property
    def submit_label(self):
        return gettext("Re-open %(month)s") % {"month": self.object.period}

    def refusal(self) -> str:
        if not self.object.is_published:
            return gettext("The report of %(month)s is not published, so there is nothing to re-open.") % {
                "month": self.object.period
            }
        return ""

    def perform(self, data):
        report = services.report_reopen(report=self.object, by=self.request.user, reason=data["reason"])
        return gettext(
            "%(month)s is re-opened: postings dated in it are accepted again and its public report is offline "
            "until you publish it again. The re-opening is recorded with your reason."
        ) % {"month": report.period}


# --- History --------------------------------------------------------------------------------------


class ReportHistoryView(ReportScreenMixin, WagtailAdminTemplateMixin, TemplateView):
    """What happened to a report: drafted, commentary edited, published, re-opened (with the reason)."""

    template_name = "reports/admin/history.html"
    header_icon = "history"

    def dispatch(self, request, *args, **kwargs):
        if not (user_may(request.user, "view") and request.user.has_perm(EVENT_PERMISSION)):
            raise PermissionDenied
        self.object = get_object_or_404(MonthlyReport, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return gettext("History")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            report=self.object,
            events=ReportEvent.objects.filter(report=self.object).select_related("by"),
            inspect_url=reverse("reports_monthlyreport:inspect", args=[self.object.pk]),
        )
        return context
