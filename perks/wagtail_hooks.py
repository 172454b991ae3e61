"""Staff screens of perks: the perk catalogue (snippet), entitlements with their audit trail and the
fulfilment checklist of manual perks, and the emoji moderation queue (perks/emoji_admin.py)."""

from django.utils.translation import gettext_lazy as _
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet


class PerkViewSet(SnippetViewSet):
    from .models import Perk

    model = Perk
    icon = "pick"
    menu_label = _("Perks")
    list_display = ["name", "kind", "active"]
    list_filter = ["kind", "active"]


register_snippet(PerkViewSet)

try:  # the moderation queue, once its module exists
    from . import emoji_admin  # noqa: F401
except ImportError:
    pass
