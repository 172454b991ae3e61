"""The finance dashboard in the Wagtail admin: /admin/grants/dashboard/, menu item "Finance dashboard".

On top, the organisation: cash, average monthly spending of the last six complete months, runway, and a
chart of spending and cash per month. Then each awarded or active grant: budget against actual by category,
spent, income received, burn rate and months left at that rate, its milestones on a timeline, and a link to
the grant report (PDF). Every figure comes from the ledger (grants/figures.py); the charts are SVG drawn on
the server, each with a table of the same figures.

Finance only: the finance role with MFA set up and the ``grants.view_grant`` permission (superusers with
MFA too). Anyone else gets 403; anonymous visitors and staff without MFA are sent to log in or to set up MFA
(accounts.middleware and ``accounts.access.finance_required``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from accounts.access import finance_required, has_mfa, is_finance

from . import figures

PERMISSION = "grants.view_grant"


def may_see_dashboard(user) -> bool:
    return is_finance(user) and has_mfa(user) and user.has_perm(PERMISSION)


def grant_report_url(grant) -> str:
    """The grant report PDF (grants/document_admin.py serves it)."""
    return f"{reverse('wagtailadmin_home')}grants/documents/report/{grant.pk}.pdf"


@method_decorator([never_cache, finance_required], name="dispatch")
class FinanceDashboardView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "grants/dashboard.html"
    page_title = _("Finance dashboard")
    header_icon = "table"
    http_method_names = ["get", "head"]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organisation = figures.organisation_figures()
        grants = []
        for grant_figures in figures.grants_figures(today=organisation.today):
            grants.append(
                {
                    "figures": grant_figures,
                    "budget_chart": figures.budget_chart(grant_figures),
                    "milestone_chart": figures.milestone_chart(grant_figures),
                    "report_url": grant_report_url(grant_figures.grant),
                }
            )
        context.update(
            organisation=organisation,
            organisation_chart=figures.organisation_chart(organisation),
            grants=grants,
        )
        return context


class FinanceDashboardMenuItem(MenuItem):
    def is_shown(self, request):
        return may_see_dashboard(request.user)


@hooks.register("register_admin_urls")
def register_dashboard_url():
    return [path("grants/dashboard/", FinanceDashboardView.as_view(), name="grants_dashboard")]


@hooks.register("register_admin_menu_item")
def register_dashboard_menu_item():
    return FinanceDashboardMenuItem(
        _("Finance dashboard"),
        reverse("grants_dashboard"),
        name="grants-dashboard",
        icon_name="table",
        order=290,
    )
