"""Forms of the perks: validation and clear messages only (the rules live in perks/emoji.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .emoji import MAX_FILE_BYTES, MAX_SIDE, EmojiRefused, emoji_image_clean, file_size_check, shortcode_clean


class EmojiUploadForm(forms.Form):
    """An image and a shortcode; ``cleaned_data["image"]`` is the checked, re-encoded ``EmojiImage``."""

    image = forms.FileField(
        label=_("Image"),
        widget=forms.FileInput(attrs={"accept": "image/png,image/gif"}),
    )
    shortcode = forms.CharField(
        label=_("Shortcode"),
        max_length=62,
        help_text=_("Letters, digits and underscores, at least 2 characters. People type it between colons."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "blobcat"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].help_text = gettext(
            "PNG or GIF (animated allowed), at most %(size)d KB and %(side)d × %(side)d pixels. "
            "It is shown at up to 256 × 256 pixels."
        ) % {"size": MAX_FILE_BYTES // 1024, "side": MAX_SIDE}

    def clean_shortcode(self):
        try:
            return shortcode_clean(self.cleaned_data["shortcode"])
        except EmojiRefused as refusal:
            raise forms.ValidationError(refusal.message, code="shortcode") from None

    def clean_image(self):
        upload = self.cleaned_data["image"]
        try:
            file_size_check(upload.size)  # before reading a byte of it
            upload.seek(0)
            return emoji_image_clean(upload.read(MAX_FILE_BYTES + 1))
        except EmojiRefused as refusal:
            raise forms.ValidationError(refusal.message, code="image") from None


class EmojiRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejection"),
        max_length=2000,
        help_text=_("Required. The patron receives it by e-mail, so write it for them."),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Please give a reason: the patron receives it by e-mail.")},
    )
