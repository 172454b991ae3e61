"""Registers the bank and manual booking screens: one "Bank and bookings" menu group (finance with MFA only).

Imported by ledger/wagtail_hooks.py.
"""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from . import bank_views, manual_bookings

for model, policy in {**bank_views.PERMISSION_POLICIES, **manual_bookings.PERMISSION_POLICIES}.items():
    register_permission_policy(model, policy, exact_class=True)


class BankViewSetGroup(ModelViewSetGroup):
    menu_label = _("Bank and bookings")
    menu_icon = "doc-full-inverse"
    menu_order = 905
    items = (bank_views.StatementViewSet, bank_views.BankLineViewSet, manual_bookings.ManualBookingViewSet)


@hooks.register("register_admin_viewset")
def register_bank_viewsets():
    return BankViewSetGroup()
