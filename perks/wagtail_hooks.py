"""Staff screens of perks: the perk catalogue (snippet), entitlements with their audit trail and the
fulfilment checklist of manual perks, and the emoji moderation queue (perks/emoji_admin.py)."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .viewsets import PERMISSION_POLICIES, EntitlementViewSet


class PerkViewSet(SnippetViewSet):
    from .models import Perk

    model = Perk
    icon = "pick"
    menu_label = _("Perks")
    list_display = ["name", "kind", "active"]
    list_filter = ["kind", "active"]


register_snippet(PerkViewSet)

for model, policy in PERMISSION_POLICIES.items():
    register_permission_policy(model, policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_entitlements():
    return EntitlementViewSet(name="perks_entitlement")


from . import emoji_admin  # noqa: E402, F401  (registers the emoji moderation queue)
