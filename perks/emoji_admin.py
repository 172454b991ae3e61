"""The emoji moderation queue in the Wagtail admin (imported by perks/wagtail_hooks.py).

- **Custom emoji** (menu item): the emoji waiting for review (filter by status to see the others), each
  previewed on a light and a dark background, with the patron's pseudonymous id only (editors need no
  donor's name). The inspect view shows both previews at full size and two forms: approve, or reject
  with a reason that is e-mailed to the patron in their language. Both are POSTs with CSRF and record
  who reviewed and when (``perks.emoji.emoji_approve`` / ``emoji_reject``).
- **Download emoji pack**: the same .tar.gz that ``manage.py export_emoji_pack`` writes, for
  ``tootctl emoji import``.

Emoji are never added, edited or deleted here (patrons upload and withdraw them). Permissions, for the
editor and finance groups: ``perks.view_emoji`` (see the queue, download the pack) and
``perks.change_emoji`` (approve and reject).
"""

from __future__ import annotations

import tempfile

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from .emoji import EmojiRefused, emoji_approve, emoji_pack_write, emoji_reject
from .forms import EmojiRejectForm
from .models import Emoji


class EmojiPermissionPolicy(ModelPermissionPolicy):
    """Staff see the queue with ``view_emoji`` and moderate with ``change_emoji``; nothing else here.

    "view" and "moderate" are the only actions: Wagtail's add, edit and delete views stay shut even for
    superusers, because emoji come from patrons and change status through perks/emoji.py only.
    """

    def user_has_permission(self, user, action):
        if action == "view":
            return super().user_has_permission(user, "view") or super().user_has_permission(user, "change")
        if action == "moderate":
            return super().user_has_permission(user, "change")
        return False

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        actions = (
            {"view", "change"} if "view" in actions else ({"change"} if "moderate" in actions else set())
        )
        if not actions:
            return super().users_with_any_permission([]).none()
        return super().users_with_any_permission(actions)


EMOJI_PERMISSION_POLICY = EmojiPermissionPolicy(Emoji)
register_permission_policy(Emoji, EMOJI_PERMISSION_POLICY, exact_class=True)
PACK_URL_NAME = "perks_emoji:pack"


class PreviewColumn(Column):
    """The emoji small, on a light and on a dark background."""

    def get_value(self, instance):
        return render_to_string("perks/emoji/_admin_preview.html", {"emoji": instance, "size": "small"})


class PatronColumn(Column):
    def get_value(self, instance):
        return str(instance.patron.pseudonym)[:8]


class EmojiFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Emoji.Status.choices, empty_label=_("All statuses")
    )

    class Meta:
        model = Emoji
        fields = ["status", "image_format"]


class EmojiIndexView(generic.IndexView):
    """Opens on the emoji waiting for review, oldest first; "All statuses" shows every emoji."""

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("patron")

    def get_filterset_kwargs(self):
        kwargs = super().get_filterset_kwargs()
        if "status" not in kwargs["data"]:
            data = kwargs["data"].copy()
            data["status"] = Emoji.Status.PENDING
            kwargs["data"] = data
        return kwargs

    @property
    def default_ordering(self):
        return "created" if self.request.GET.get("status", Emoji.Status.PENDING) == "pending" else "-created"

    @property
    def header_buttons(self):
        return [
            HeaderButton(
                _("Download emoji pack"),
                url=reverse(PACK_URL_NAME),
                icon_name="download",
            )
        ]


class EmojiInspectView(generic.InspectView):
    """Both previews at full size, the facts a moderator needs, and the approve and reject forms."""

    template_name = "perks/emoji/admin_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_moderate = EMOJI_PERMISSION_POLICY.user_has_permission(self.request.user, "moderate")
        context.update(
            can_moderate=can_moderate,
            can_approve=can_moderate and self.object.status == Emoji.Status.PENDING,
            can_reject=can_moderate and self.object.status in (Emoji.Status.PENDING, Emoji.Status.APPROVED),
            reject_form=kwargs.get("reject_form") or EmojiRejectForm(),
            inspect_url=self.request.path,
        )
        return context

    def get_patron_display_value(self):
        return str(self.object.patron.pseudonym)

    def get_reviewed_by_display_value(self):
        user = self.object.reviewed_by
        return (user.get_full_name() or user.get_username()) if user else "–"

    def post(self, request, *args, **kwargs):
        if not EMOJI_PERMISSION_POLICY.user_has_permission(request.user, "moderate"):
            raise PermissionDenied
        action = request.POST.get("action")
        index_url = reverse(self.index_url_name)
        try:
            if action == "approve":
                emoji = emoji_approve(emoji=self.object, by=request.user)
                messages.success(request, gettext("Emoji %(emoji)s approved.") % {"emoji": emoji})
                return redirect(index_url)
            if action == "reject":
                form = EmojiRejectForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(reject_form=form), status=400)
                emoji = emoji_reject(emoji=self.object, by=request.user, reason=form.cleaned_data["reason"])
                messages.success(
                    request, gettext("Emoji %(emoji)s rejected; the patron was told why.") % {"emoji": emoji}
                )
                return redirect(index_url)
        except EmojiRefused as refusal:
            messages.error(request, refusal.message)
            return redirect(request.path)
        messages.error(request, gettext("Choose approve or reject."))
        return redirect(request.path)


@require_GET
def emoji_pack_download(request):
    """The pack as it would be exported now, streamed as a .tar.gz (staff with ``perks.view_emoji``)."""
    if not EMOJI_PERMISSION_POLICY.user_has_permission(request.user, "view"):
        raise PermissionDenied
    pack = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (FileResponse closes it)
    emoji_pack_write(fileobj=pack)
    pack.seek(0)
    today = timezone.localdate().isoformat()
    response = FileResponse(
        pack, as_attachment=True, filename=f"emoji-pack-{today}.tar.gz", content_type="application/gzip"
    )
    response["Cache-Control"] = "private, no-store"
    return response


class EmojiViewSet(ModelViewSet):
    model = Emoji
    name = "perks_emoji"
    url_prefix = "perks/emoji"
    icon = "image"
    menu_label = _("Custom emoji")
    menu_order = 850
    add_to_admin_menu = True
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = EmojiIndexView
    inspect_view_class = EmojiInspectView
    exclude_form_fields = []
    list_display = [
        "shortcode",
        PreviewColumn("preview", label=_("Preview")),
        "status",
        "image_format",
        PatronColumn("patron", label=_("Patron")),
        "created",
    ]
    filterset_class = EmojiFilterSet
    search_fields = ["shortcode"]
    inspect_view_fields = [
        "shortcode",
        "status",
        "image_format",
        "width",
        "height",
        "frames",
        "patron",
        "created",
        "reason",
        "reviewed_by",
        "reviewed_at",
    ]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("pack.tar.gz", emoji_pack_download, name="pack")]


@hooks.register("register_admin_viewset")
def register_emoji_viewset():
    return EmojiViewSet()


@hooks.register("insert_global_admin_css")
def emoji_preview_css():
    return format_html('<link rel="stylesheet" href="{}">', static("css/perks.css"))
