"""Forms of the patron's own page: validation and clear messages only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Patron


class ListingForm(forms.ModelForm):
    """How the patron appears on the supporters wall. Anonymous unless they choose otherwise."""

    class Meta:
        model = Patron
        fields = ["listing", "public_name", "fediverse_handle", "show_amount", "annual_report_consent"]
        widgets = {"listing": forms.RadioSelect}
        labels = {
            "listing": _("Show me on the supporters wall as"),
            "public_name": _("Name to show"),
            "fediverse_handle": _("Fediverse handle"),
            "show_amount": _("Show my amount next to my name or handle"),
            "annual_report_consent": _("You may name me in the annual report"),
        }
        help_texts = {
            "public_name": _("Only used if you choose to be listed by name."),
            "fediverse_handle": _(
                "Like @name@example.social. Only used if you choose to be listed by handle."
            ),
            "annual_report_consent": _(
                "Only matters if your payments in a year are more than 10 % of our annual budget; "
                "otherwise nobody is named."
            ),
        }

    def clean_public_name(self) -> str:
        return " ".join(self.cleaned_data.get("public_name", "").split())

    def clean_fediverse_handle(self) -> str:
        handle = self.cleaned_data.get("fediverse_handle", "").strip()
        if handle and not handle.startswith("@"):
            handle = f"@{handle}"
        return handle

    def clean(self):
        cleaned = super().clean()
        listing = cleaned.get("listing")
        if (
            listing == Patron.Listing.NAME
            and not cleaned.get("public_name")
            and "public_name" not in self.errors
        ):
            self.add_error("public_name", _("Enter the name to show, or choose another listing."))
        if (
            listing == Patron.Listing.HANDLE
            and not cleaned.get("fediverse_handle")
            and "fediverse_handle" not in self.errors
        ):
            self.add_error("fediverse_handle", _("Enter your fediverse handle, or choose another listing."))
        return cleaned


class AccountDeleteForm(forms.Form):
    """Deleting an account is final: the person proves it is them with their password (or e-mail address)."""

    confirmation = forms.CharField(strip=False, widget=forms.PasswordInput(render_value=False))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["confirmation"]
        if user.has_usable_password():
            field.label = _("Your password")
            field.widget.attrs["autocomplete"] = "current-password"
        else:
            field.label = _("Type your e-mail address to confirm")
            field.widget = forms.EmailInput(attrs={"autocomplete": "off"})

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError(_("That is not your password."))
        elif value.strip().lower() != (self.user.email or "").lower():
            raise forms.ValidationError(_("That is not the e-mail address of your account."))
        return value
