"""Forms of the month close screens (reports/admin_views.py): validation and clear messages only.

The rules themselves (a month must be over, months are published in order, a re-opening needs a reason)
live in ``reports.services``; its refusals are shown on these forms.
"""

from __future__ import annotations

import datetime

from django import forms
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .models import MonthlyReport


class MonthField(forms.DateField):
    """A month, typed as YYYY-MM (a month picker where the browser has one); the first day of the month."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d", "%m/%Y"]
    default_error_messages = {"invalid": _("Enter the month as YYYY-MM, e.g. 2026-10.")}

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class DraftMonthForm(forms.Form):
    month = MonthField(
        label=_("Month"),
        help_text=_(
            "A month that is over. Its report is drafted from the books; nothing is public until you "
            "publish it."
        ),
    )

    def clean_month(self) -> datetime.date:
        month = self.cleaned_data["month"]
        if not 1900 <= month.year <= 9999:
            raise forms.ValidationError(_("Enter the month as YYYY-MM, e.g. 2026-10."))
        return month


def without_empty_paragraphs(html: str) -> str:
    """ "" for an editor left empty (Draftail sends an empty paragraph), so the German page falls back to
    the English text and saving an untouched form records no change."""
    return html if strip_tags(html or "").strip() else ""


class CommentaryForm(WagtailAdminModelForm):
    """The report's words: what happened this month, in English and in German."""

    class Meta:
        model = MonthlyReport
        fields = ["commentary_en", "commentary_de"]

    def clean_commentary_en(self) -> str:
        return without_empty_paragraphs(self.cleaned_data["commentary_en"])

    def clean_commentary_de(self) -> str:
        return without_empty_paragraphs(self.cleaned_data["commentary_de"])


class PublishForm(forms.Form):
    """Nothing to fill in: the button confirms."""


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Why the month is re-opened, e.g. “a supplier's invoice for October arrived late”. The reason "
            "is kept with the books."
        ),
        error_messages={"required": _("Say why the month is re-opened; the reason is kept with the books.")},
    )
