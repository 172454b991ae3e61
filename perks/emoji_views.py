"""The patron's custom emoji page, /support/perks/emoji/: their emoji, how many they may still upload,
the upload form while their emoji perk is active, and withdrawing an emoji.

A patron sees and withdraws only their own emoji (``Patron.user``); someone else's emoji gives 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fundraising import privacy
from fundraising.account_views import tiers_url

from .emoji import (
    MAX_FILE_BYTES,
    MAX_FRAMES,
    MAX_SIDE,
    TAKEN,
    EmojiRefused,
    emoji_slots_left,
    emoji_submit,
    emoji_withdraw,
)
from .forms import EmojiUploadForm
from .models import Emoji
from .services import emoji_allowance


def _page(request, patron, *, form=None, status=200):
    allowance = emoji_allowance(patron=patron) if patron is not None else 0
    emoji = list(patron.emoji.exclude(status=Emoji.Status.WITHDRAWN)) if patron is not None else []
    slots_left = emoji_slots_left(patron=patron) if patron is not None else 0
    used = sum(1 for item in emoji if item.status in TAKEN)
    context = {
        "patron": patron,
        "emoji_list": emoji,
        "allowance": allowance,
        "used": used,
        "slots_left": slots_left,
        "entitled": allowance > 0,
        "form": (form or EmojiUploadForm()) if slots_left else None,
        "tiers_url": tiers_url(),
        "max_kilobytes": MAX_FILE_BYTES // 1024,
        "max_side": MAX_SIDE,
        "max_frames": MAX_FRAMES,
    }
    return render(request, "perks/emoji/mine.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def emoji_page(request):
    patron = privacy.patron_for_user(request.user)
    if request.method == "GET":
        return _page(request, patron)
    if patron is None or emoji_allowance(patron=patron) <= 0:
        messages.error(
            request, _("Uploading custom emoji is a perk of some tiers; your support does not include it.")
        )
        return _page(request, patron, status=403)
    if emoji_slots_left(patron=patron) <= 0:
        messages.error(
            request, _("You have used all the emoji your support allows. Withdraw one to upload another.")
        )
        return _page(request, patron, status=403)
    form = EmojiUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            emoji = emoji_submit(
                patron=patron, shortcode=form.cleaned_data["shortcode"], image=form.cleaned_data["image"]
            )
        except EmojiRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(
                request,
                _("Thank you! Your emoji :%(shortcode)s: is waiting for review.")
                % {"shortcode": emoji.shortcode},
            )
            return redirect("perks:emoji")
    return _page(request, patron, form=form, status=400)


@login_required
@require_POST
def emoji_withdraw_view(request, pk: int):
    patron = privacy.patron_for_user(request.user)
    if patron is None:
        raise Http404
    emoji = get_object_or_404(Emoji, pk=pk, patron=patron)
    try:
        emoji_withdraw(emoji=emoji, patron=patron)
    except EmojiRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request, _("Your emoji :%(shortcode)s: was withdrawn.") % {"shortcode": emoji.shortcode}
        )
    return redirect("perks:emoji")
