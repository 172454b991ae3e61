"""Admin forms of the ledger: validation and clear messages only."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .models import CORE_COST_CENTRE_CODE, Account, CostCentre


class AccountForm(WagtailAdminModelForm):
    """Create or edit an account; what gives past postings their meaning is fixed once posted to."""

    class Meta:
        model = Account
        fields = [
            "code",
            "name",
            "kind",
            "category",
            "tax_sphere",
            "datev_number",
            "datev_automatic",
            "vat_rate",
            "active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.has_postings:
            for name in Account.LOCKED_ONCE_POSTED:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: this account already has postings.")

    def clean(self):
        cleaned_data = super().clean()
        kind = cleaned_data.get("kind")
        category = cleaned_data.get("category")
        if kind and category and category not in Account.Category.for_kind(kind):
            self.add_error(
                "category",
                _("“%(category)s” is not a report category for %(kind)s accounts.")
                % {"category": Account.Category(category).label, "kind": Account.Kind(kind).label.lower()},
            )
        if kind in (Account.Kind.INCOME, Account.Kind.EXPENSE) and not cleaned_data.get("tax_sphere"):
            self.add_error("tax_sphere", _("Income and expense accounts need a tax sphere."))
        return cleaned_data


class CostCentreForm(WagtailAdminModelForm):
    class Meta:
        model = CostCentre
        fields = ["code", "name", "kind", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and (
            self.instance.code == CORE_COST_CENTRE_CODE or self.instance.postings.exists()
        ):
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("Fixed: this cost centre already has postings.")

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.code == CORE_COST_CENTRE_CODE and cleaned_data.get("active") is False:
            self.add_error(
                "active", _("The core cost centre takes every posting without one; it stays active.")
            )
        return cleaned_data
