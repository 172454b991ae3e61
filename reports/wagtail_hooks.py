"""Staff screens of reports: the "Reports" menu group of reports/viewsets.py (finance with MFA only).

The tax, VAT and DATEV screens live in ``reports/tax_admin.py``: when that module is there, its
``admin_urls()`` (``path()`` objects) are registered as admin URLs and its ``menu_items()`` (Wagtail
``MenuItem`` objects) join the Reports menu.
"""

from __future__ import annotations

import importlib
import importlib.util

from wagtail import hooks
from wagtail.permissions import register_permission_policy

from .viewsets import PERMISSION_POLICIES, ReportsViewSetGroup

TAX_ADMIN_MODULE = "reports.tax_admin"

for model, policy in PERMISSION_POLICIES.items():
    register_permission_policy(model, policy, exact_class=True)


def tax_admin():
    """The tax screens' module, or None while it does not exist."""
    if importlib.util.find_spec(TAX_ADMIN_MODULE) is None:
        return None
    return importlib.import_module(TAX_ADMIN_MODULE)


class FinanceReportsViewSetGroup(ReportsViewSetGroup):
    """The Reports menu with the tax screens' items, when there are any."""

    def get_submenu_items(self):
        items = list(super().get_submenu_items())
        module = tax_admin()
        if module is not None and hasattr(module, "menu_items"):
            items.extend(module.menu_items())
        return items


@hooks.register("register_admin_viewset")
def register_reports_viewsets():
    return FinanceReportsViewSetGroup()


@hooks.register("register_admin_urls")
def register_tax_admin_urls():
    module = tax_admin()
    if module is None or not hasattr(module, "admin_urls"):
        return []
    return list(module.admin_urls())
