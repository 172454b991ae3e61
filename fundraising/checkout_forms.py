"""Forms of the checkout pages: validation and clear messages only (the rules live in services)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Interval


class TierCheckoutForm(forms.Form):
    interval = forms.ChoiceField(label=_("How often"), widget=forms.RadioSelect)
    no_perks = forms.BooleanField(
        label=_("No perks: make this a tax-deductible donation"),
        required=False,
        help_text=_(
            "Perks make a payment a purchase in German tax law. Without perks the same amount is a donation "
            "and you get a donation receipt."
        ),
    )

    def __init__(self, *args, tier, **kwargs):
        super().__init__(*args, **kwargs)
        self.tier = tier
        choices = [(Interval.MONTH, _("Monthly"))]
        if tier.yearly_amount is not None:
            choices.append((Interval.YEAR, _("Yearly")))
        self.fields["interval"].choices = choices
        if not tier.is_perk_tier:
            del self.fields["no_perks"]


class FreeAmountForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=10,
        decimal_places=2,
        localize=True,
        error_messages={"invalid": _("Enter an amount like 12 or 12.50.")},
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=[("eur", "EUR"), ("usd", "USD")], initial="eur")
    interval = forms.ChoiceField(
        label=_("How often"),
        widget=forms.RadioSelect,
        choices=[(Interval.MONTH, _("Monthly")), (Interval.YEAR, _("Yearly")), (Interval.ONCE, _("Once"))],
        initial=Interval.MONTH,
    )

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount < settings.PATRON_MIN_AMOUNT:
            raise forms.ValidationError(
                _("The smallest amount is %(min)s."), params={"min": settings.PATRON_MIN_AMOUNT}, code="min"
            )
        if amount > settings.PATRON_MAX_AMOUNT:
            raise forms.ValidationError(
                _("The largest amount here is %(max)s. For more, please write to us."),
                params={"max": settings.PATRON_MAX_AMOUNT},
                code="max",
            )
        return amount
