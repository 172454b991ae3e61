"""Finance's view of entitlements: who holds which perk, since when, the audit trail, and the fulfilment
checklist of manual perks (tick the steps as they are done)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from ledger.viewsets import LedgerIndexView, LedgerPermissionPolicy

from .models import Entitlement, EntitlementChange


class EntitlementInspectView(generic.InspectView):
    template_name = "perks/admin/entitlement_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entitlement = self.object
        context["changes"] = EntitlementChange.objects.filter(entitlement=entitlement)
        context["steps"] = [
            (index, step, index in entitlement.checklist_done)
            for index, step in enumerate(entitlement.perk.checklist_steps)
        ]
        context["can_fulfil"] = self.permission_policy.user_has_permission(self.request.user, "change")
        return context


class EntitlementViewSet(ModelViewSet):
    model = Entitlement
    url_prefix = "perks/entitlements"
    icon = "tick-inverse"
    menu_label = _("Entitlements")
    menu_order = 60
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    inspect_view_class = EntitlementInspectView
    list_display = ["__str__", "perk", "state", "emoji_allowance", "granted_at", "changed_at", "fulfilled_at"]
    list_filter = ["state", "perk", "perk__kind"]
    search_fields = ["patron__name", "patron__email"]
    list_export = [
        "patron__pseudonym",
        "perk__name",
        "state",
        "emoji_allowance",
        "granted_at",
        "changed_at",
        "fulfilled_at",
    ]

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("fulfil/<int:pk>/", require_POST(self.fulfil_view), name="fulfil"),
        ]

    def fulfil_view(self, request, pk):
        if not self.permission_policy.user_has_permission(request.user, "change"):
            raise PermissionDenied
        entitlement = get_object_or_404(Entitlement.objects.select_related("perk"), pk=pk)
        steps = entitlement.perk.checklist_steps
        done = sorted(
            {
                int(value)
                for value in request.POST.getlist("step")
                if value.isdigit() and int(value) < len(steps)
            }
        )
        entitlement.checklist_done = done
        entitlement.fulfilled_at = timezone.now() if steps and len(done) == len(steps) else None
        entitlement.save(update_fields=["checklist_done", "fulfilled_at"])
        messages.success(request, _("Checklist saved."))
        return redirect(self.get_url_name("inspect"), pk)


PERMISSION_POLICIES = {Entitlement: LedgerPermissionPolicy(Entitlement, actions={"view", "change"})}
