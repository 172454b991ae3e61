"""Forms of the sandbox's local Checkout, hosted invoice page and Billing Portal: a card, a bank account for
SEPA Direct Debit, an address."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as NumberInvalid

from .sandbox import card_digits, iban_compact
from .types import Address

SHORTEST_IBAN = 15  # Norway's

COUNTRIES = [
    ("DE", _("Germany")),
    ("AT", _("Austria")),
    ("CH", _("Switzerland")),
    ("BE", _("Belgium")),
    ("DK", _("Denmark")),
    ("ES", _("Spain")),
    ("FI", _("Finland")),
    ("FR", _("France")),
    ("GB", _("United Kingdom")),
    ("IE", _("Ireland")),
    ("IT", _("Italy")),
    ("LU", _("Luxembourg")),
    ("NL", _("Netherlands")),
    ("NO", _("Norway")),
    ("PL", _("Poland")),
    ("PT", _("Portugal")),
    ("SE", _("Sweden")),
    ("CZ", _("Czechia")),
    ("CA", _("Canada")),
    ("US", _("United States")),
]


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class CardForm(forms.Form):
    """A card as Stripe's card element takes it. ``ask_email`` when the session does not know it yet."""

    email = forms.EmailField(label=_("Email"), required=False)
    card_number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "placeholder": "1234 1234 1234 1234"}
        ),
    )
    expiry = forms.CharField(
        label=_("Expiry date"),
        max_length=7,
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-exp", "inputmode": "numeric", "placeholder": _("MM / YY")}
        ),
    )
    cvc = forms.CharField(
        label=_("Security code (CVC)"),
        max_length=4,
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-csc", "inputmode": "numeric", "placeholder": "CVC"}
        ),
    )
    name = forms.CharField(
        label=_("Name on card"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "cc-name"})
    )

    def __init__(self, *args, ask_email: bool = False, name_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_email:
            self.fields["email"].required = True
            self.fields["email"].widget.attrs["autocomplete"] = "email"
        else:
            del self.fields["email"]
        if name_label:
            self.fields["name"].label = name_label

    def clean_card_number(self) -> str:
        digits = card_digits(self.cleaned_data["card_number"])
        if not 13 <= len(digits) <= 19 or not _luhn_valid(digits):
            raise forms.ValidationError(_("Your card number is invalid."))
        return digits

    def clean_expiry(self) -> tuple[int, int]:
        text = self.cleaned_data["expiry"].replace(" ", "")
        month, _slash, year = text.partition("/")
        if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in (2, 4)):
            raise forms.ValidationError(_("Your card's expiration date is incomplete."))
        year_full = int(year) + (2000 if len(year) == 2 else 0)
        today = datetime.date.today()
        if (year_full, int(month)) < (today.year, today.month):
            raise forms.ValidationError(_("Your card's expiration date is in the past."))
        return int(month), year_full

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise forms.ValidationError(_("Your card's security code is incomplete."))
        return cvc


class SepaDebitForm(forms.Form):
    """A bank account as Stripe's IBAN element takes it. ``ask_email`` when the session does not know it yet."""

    email = forms.EmailField(label=_("Email"), required=False)
    name = forms.CharField(
        label=_("Account holder name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "DE00 0000 0000 0000 0000 00",
            }
        ),
    )

    def __init__(self, *args, ask_email: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_email:
            self.fields["email"].required = True
            self.fields["email"].widget.attrs["autocomplete"] = "email"
        else:
            del self.fields["email"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Please enter the name of the account holder."))
        return name

    def clean_iban(self) -> str:
        """The IBAN, compact, when its format and check digits are right (python-stdnum)."""
        value = iban_compact(self.cleaned_data["iban"])
        if len(value) < SHORTEST_IBAN and value[:2].isalpha() and value[2:4].isdigit():
            raise forms.ValidationError(_("Your IBAN is incomplete."))
        try:
            return stdnum_iban.validate(value)
        except NumberInvalid:
            raise forms.ValidationError(_("Your IBAN is invalid.")) from None


class AddressForm(forms.Form):
    """The billing address Checkout asks for with billing_address_collection=required."""

    line1 = forms.CharField(
        label=_("Address line 1"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    line2 = forms.CharField(
        label=_("Address line 2"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    city = forms.CharField(
        label=_("City"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    country = forms.ChoiceField(label=_("Country or region"), choices=COUNTRIES, initial="DE")

    def address(self) -> Address:
        data = self.cleaned_data
        return Address(
            line1=data["line1"].strip(),
            line2=data.get("line2", "").strip(),
            postal_code=data["postal_code"].strip(),
            city=data["city"].strip(),
            country=data["country"],
        )
