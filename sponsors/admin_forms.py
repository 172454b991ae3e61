"""Forms of the staff screens of sponsors (sponsors/admin_views.py): validation and clear messages only."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminDateInput

from .models import EU_COUNTRIES, Sponsor


def _reason(*, required: bool, label, help_text) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=1000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
        error_messages={"required": _("Enter the reason.")},
    )


class ConfirmForm(forms.Form):
    """An action that needs nothing but the click (the page says what will happen)."""


class SponsorshipApproveForm(forms.Form):
    reason = _reason(
        required=False,
        label=_("Note (optional)"),
        help_text=_("Kept in the sponsorship's history and sent to the company's contacts."),
    )
    issue_invoice = forms.BooleanField(
        label=_("Issue the invoice now"),
        required=False,
        initial=True,
        help_text=_("The invoice is numbered, booked and e-mailed to the billing address at once."),
    )


class SponsorshipRejectForm(forms.Form):
    reason = _reason(
        required=True,
        label=_("Reason for the rejection"),
        help_text=_("The company's contacts read this reason in their e-mail."),
    )


class SponsorshipCancelForm(forms.Form):
    reason = _reason(
        required=True,
        label=_("Reason for the cancellation"),
        help_text=_("Printed on the credit note of an invoice this cancels, and sent to the contacts."),
    )


class InvoiceMarkPaidForm(forms.Form):
    paid_on = forms.DateField(
        label=_("Paid on"),
        widget=AdminDateInput,
        help_text=_("The day the transfer arrived, as on the bank statement."),
    )
    reference = forms.CharField(
        label=_("Bank reference"),
        max_length=140,
        strip=True,
        help_text=_("The reference of the transfer on the bank statement."),
        error_messages={"required": _("Enter the bank's reference for the transfer (from the statement).")},
    )

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.fields["paid_on"].initial = timezone.localdate()

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError(_("The payment date lies in the future."))
        if self.invoice is not None and paid_on < self.invoice.issue_date:
            raise forms.ValidationError(_("The payment date lies before the invoice date."))
        return paid_on


class InvoiceCancelForm(forms.Form):
    reason = _reason(
        required=True,
        label=_("Reason for the credit note"),
        help_text=_("Printed on the credit note, e.g. “Wrong billing address”."),
    )
    reissue = forms.BooleanField(
        label=_("Issue a corrected invoice"),
        required=False,
        help_text=_(
            "For an unpaid invoice: a new invoice is issued at once from the sponsor's current data "
            "(correct the sponsor's address or VAT ID first)."
        ),
    )

    def __init__(self, *args, can_reissue: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_reissue:
            del self.fields["reissue"]


class LogoRejectForm(forms.Form):
    reason = _reason(
        required=True,
        label=_("Reason for the rejection"),
        help_text=_("The company's contacts read this reason and can upload another logo."),
    )


class SponsorAdminForm(forms.ModelForm):
    """Finance corrects a company's billing data (for example before issuing a corrected invoice)."""

    # A bare "example.com" means https://example.com/.
    website = forms.URLField(label=_("website"), max_length=300, required=False, assume_scheme="https")

    class Meta:
        model = Sponsor
        fields = [
            "legal_name",
            "display_name",
            "website",
            "street",
            "address_extra",
            "postcode",
            "city",
            "country",
            "vat_id",
            "billing_email",
            "purchase_order",
            "consent_annual_report",
            "language",
        ]

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError(_("Enter the two-letter ISO code of the country, e.g. DE, FR, US."))
        return country

    def clean_vat_id(self) -> str:
        return "".join((self.cleaned_data.get("vat_id") or "").split()).upper()

    def clean(self):
        cleaned = super().clean()
        vat_id, country = cleaned.get("vat_id"), cleaned.get("country")
        if vat_id and country in EU_COUNTRIES:
            from stdnum.eu import vat as eu_vat

            if not eu_vat.is_valid(vat_id):
                self.add_error(
                    "vat_id", _("This VAT ID is not valid: check the country prefix and the digits.")
                )
            else:
                prefix = "EL" if country == "GR" else country
                if not vat_id.startswith(prefix):
                    self.add_error("vat_id", _("The VAT ID belongs to another country than the address."))
        return cleaned
