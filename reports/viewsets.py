"""Staff screens of the month close: one "Reports" menu group (finance with MFA only).

- **Monthly reports**: every month's report (month, status, published at and by, the last event), filters
  by status and year, spreadsheet export; "Draft a month"; a report's page with its figures, commentary
  and the steps it allows: edit the commentary (EN/DE), preview the public page, publish (closes the month
  in the books), re-open (with a reason, recorded), and its history.
- **Re-opened months**: the ledger's record of every re-opening (month, when, who, why), read-only.
- The tax, VAT and DATEV screens of ``reports/tax_admin.py`` join the same menu (reports/wagtail_hooks.py).

Changes go through ``reports.services`` only (reports/admin_views.py). Access follows Django model
permissions of the finance role (accounts/roles.py) through ``ReportsPermissionPolicy``; like every staff
page, these need MFA (accounts.middleware). The menu's own hook is ``register_finance_reports_menu_item``:
Wagtail's built-in "Reports" menu (locked pages, workflows) keeps its ``register_reports_menu_item``.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies import ModelPermissionPolicy

from ledger.models import MonthReopening
from ledger.viewsets import LedgerIndexView, LedgerPermissionPolicy

from . import admin_views
from .models import MonthlyReport, ReportEvent

REPORTS_MENU_HOOK = "register_finance_reports_menu_item"

# --- Permissions ----------------------------------------------------------------------------------


class ReportsPermissionPolicy(ModelPermissionPolicy):
    """Only the actions named here exist; each needs all the Django model permissions it names.

    "change" (the commentary) needs ``change_monthlyreport`` and ``publish_monthlyreport``, because
    ``report_commentary_save`` asks for the latter; "publish" covers publishing and re-opening. No
    "delete": a report is never deleted (a published month is re-opened instead).
    """

    def __init__(self, model, *, actions: dict[str, tuple[str, ...]]):
        super().__init__(model)
        self.actions = {action: tuple(permissions) for action, permissions in actions.items()}

    def user_has_permission(self, user, action):
        permissions = self.actions.get(action)
        return bool(permissions) and all(
            super(ReportsPermissionPolicy, self).user_has_permission(user, permission)
            for permission in permissions
        )

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        users = get_user_model().objects.all()
        allowed = Q(pk__in=[])
        for action in actions:
            permissions = self.actions.get(action)
            if not permissions:
                continue
            holders = Q()
            for permission in permissions:
                holders &= Q(pk__in=super().users_with_any_permission([permission]).values("pk"))
            allowed |= holders
        return users.filter(allowed)

    def users_with_permission(self, action):
        return self.users_with_any_permission([action])


PERMISSION_POLICIES = {
    MonthlyReport: ReportsPermissionPolicy(
        MonthlyReport,
        actions={
            "view": ("view",),
            "add": ("add",),
            "change": ("change", "publish"),
            "publish": ("publish",),
        },
    ),
    MonthReopening: LedgerPermissionPolicy(MonthReopening, actions={"view"}),
}


# --- Shared pieces --------------------------------------------------------------------------------


def moment_text(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def person_text(user, fallback: str = "") -> str:
    if user is None:
        return fallback
    return user.get_full_name() or user.get_username()


class MonthColumn(Column):
    """A month as YYYY-MM."""

    def get_value(self, instance):
        value = super().get_value(instance)
        return f"{value:%Y-%m}" if value else ""


class MomentColumn(Column):
    def get_value(self, instance):
        return moment_text(super().get_value(instance))


class PersonColumn(Column):
    """A user by name (or log-in name); ``fallback_accessor`` names a stored name for a deleted user."""

    def __init__(self, *args, fallback_accessor: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fallback_accessor = fallback_accessor

    def get_value(self, instance):
        fallback = getattr(instance, self.fallback_accessor, "") if self.fallback_accessor else ""
        return person_text(super().get_value(instance), fallback)


class LastEventColumn(Column):
    """The report's latest event, e.g. "published, 2026-11-03 10:12 (anna)"."""

    def get_value(self, instance):
        action = getattr(instance, "last_event_action", None)
        if not action:
            return ""
        text = f"{ReportEvent.Action(action).label}, {moment_text(instance.last_event_at)}"
        return f"{text} ({instance.last_event_by})" if instance.last_event_by else text


# --- Monthly reports ------------------------------------------------------------------------------


def report_years():
    return [
        (str(day.year), str(day.year)) for day in MonthlyReport.objects.dates("month", "year", order="DESC")
    ]


class MonthlyReportFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=MonthlyReport.Status.choices)
    year = django_filters.ChoiceFilter(label=_("Year"), choices=report_years, method="year_filter")

    class Meta:
        model = MonthlyReport
        fields = []

    def year_filter(self, queryset, name, value):
        return queryset.filter(month__year=int(value)) if str(value).isdigit() else queryset.none()


class MonthlyReportIndexView(LedgerIndexView):
    default_ordering = "-month"

    def get_base_queryset(self):
        latest = ReportEvent.objects.filter(report=OuterRef("pk")).order_by("-at", "-id")
        return (
            super()
            .get_base_queryset()
            .select_related("published_by")
            .annotate(
                last_event_action=Subquery(latest.values("action")[:1]),
                last_event_at=Subquery(latest.values("at")[:1]),
                last_event_by=Subquery(latest.values("by_name")[:1]),
            )
        )

    @cached_property
    def add_item_label(self):
        return gettext("Draft a month")


class ReportInspectView(generic.InspectView):
    """A report: its status, figures as they are in the books now, commentary, and the steps it allows."""

    template_name = "reports/admin/report_inspect.html"
    page_title = _("Monthly report")

    def get_object(self, queryset=None):
        return get_object_or_404(MonthlyReport.objects.select_related("published_by"), pk=self.pk)

    def get_page_subtitle(self):
        return self.object.period

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        return "–" if value is None or value == "" else value

    def get_month_display_value(self):
        return self.object.period

    def get_drafted_at_display_value(self):
        return moment_text(self.object.drafted_at)

    def get_published_at_display_value(self):
        return moment_text(self.object.published_at) or "–"

    def get_first_published_at_display_value(self):
        return moment_text(self.object.first_published_at) or "–"

    def get_published_by_display_value(self):
        return person_text(self.object.published_by) or "–"

    def get_context_data(self, **kwargs):
        from .figures import month_figures

        context = super().get_context_data(**kwargs)
        report = self.object
        context.update(
            report=report,
            actions=admin_views.report_actions(report, self.request.user),
            figures=admin_views.figures_rows(month_figures(report.month)),
        )
        return context


class MonthlyReportViewSet(ModelViewSet):
    model = MonthlyReport
    name = "reports_monthlyreport"
    url_prefix = "reports/months"
    icon = "doc-full"
    menu_label = _("Monthly reports")
    menu_order = 100
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = MonthlyReportIndexView
    edit_view_class = admin_views.CommentaryEditView
    inspect_view_class = ReportInspectView
    list_display = [
        TitleColumn(
            "month",
            label=_("Month"),
            accessor="period",
            sort_key="month",
            url_name="reports_monthlyreport:inspect",
        ),
        "status",
        MomentColumn("published_at", label=_("Published at"), sort_key="published_at"),
        PersonColumn("published_by", label=_("Published by")),
        LastEventColumn("last_event", label=_("Last event")),
    ]
    filterset_class = MonthlyReportFilterSet
    list_export = ["period", "status", "drafted_at", "published_at", "first_published_at"]
    export_headings = {"period": _("Month")}
    export_filename = "monthly-reports"
    inspect_view_fields = [
        "month",
        "status",
        "drafted_at",
        "published_at",
        "published_by",
        "first_published_at",
    ]

    def get_form_class(self, for_update=False):
        from .admin_forms import CommentaryForm

        return CommentaryForm

    def get_urlpatterns(self):
        # "new" drafts a month through the service; "history" shows the report's own events.
        replaced = {"add", "history", "history_results"}
        urls = [
            pattern for pattern in super().get_urlpatterns() if getattr(pattern, "name", None) not in replaced
        ]
        return [
            *urls,
            path("new/", admin_views.ReportDraftView.as_view(), name="add"),
            path("history/<int:pk>/", admin_views.ReportHistoryView.as_view(), name="history"),
            path("publish/<int:pk>/", admin_views.ReportPublishView.as_view(), name="publish"),
            path("reopen/<int:pk>/", admin_views.ReportReopenView.as_view(), name="reopen"),
        ]


# --- Re-opened months -----------------------------------------------------------------------------


class MonthReopeningIndexView(LedgerIndexView):
    default_ordering = "-reopened_at"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("reopened_by")


class MonthReopeningViewSet(ModelViewSet):
    """The ledger's record of each re-opened month (``ledger_month_reopen``): who, when and why."""

    model = MonthReopening
    name = "reports_monthreopening"
    url_prefix = "reports/reopened-months"
    icon = "history"
    menu_label = _("Re-opened months")
    menu_order = 110
    add_to_reference_index = False
    copy_view_enabled = False
    index_view_class = MonthReopeningIndexView
    exclude_form_fields = []
    list_display = [
        MonthColumn("month", label=_("Month"), sort_key="month"),
        MomentColumn("reopened_at", label=_("Re-opened at"), sort_key="reopened_at"),
        PersonColumn("reopened_by", label=_("Re-opened by"), fallback_accessor="reopened_by_name"),
        Column("reason", label=_("Reason")),
    ]
    list_export = ["month", "reopened_at", "reopened_by_name", "reason"]
    export_filename = "reopened-months"


# --- The group ------------------------------------------------------------------------------------


class ReportsViewSetGroup(ModelViewSetGroup):
    menu_label = _("Reports and tax")
    menu_name = "finance-reports"  # Wagtail's own "Reports" menu is named "reports"
    menu_icon = "doc-full"
    menu_order = 910
    submenu_hook = REPORTS_MENU_HOOK
    items = (MonthlyReportViewSet, MonthReopeningViewSet)
