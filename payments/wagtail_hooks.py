"""Finance sees every Stripe event as received: when, what, processed or why not (read-only)."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from ledger.viewsets import LedgerIndexView, LedgerPermissionPolicy

from .models import WebhookEvent


class WebhookEventViewSet(ModelViewSet):
    model = WebhookEvent
    url_prefix = "payments/events"
    icon = "mail"
    menu_label = _("Stripe events")
    menu_order = 950
    add_to_settings_menu = False
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    list_display = ["stripe_id", "type", "created", "received_at", "processed_at", "attempts", "source"]
    list_filter = ["type", "source", "livemode"]
    search_fields = ["stripe_id", "type"]
    inspect_view_fields = [
        "stripe_id",
        "type",
        "livemode",
        "created",
        "received_at",
        "processed_at",
        "attempts",
        "last_error",
        "source",
        "payload",
    ]


register_permission_policy(
    WebhookEvent, LedgerPermissionPolicy(WebhookEvent, actions={"view"}), exact_class=True
)


@hooks.register("register_admin_viewset")
def register_webhook_events():
    return WebhookEventViewSet()
