"""Forms of the bank screens: validation and clear messages only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .bank import BANK_ACCOUNT
from .bank_parsers import MAX_FILE_BYTES
from .models import CORE_COST_CENTRE_CODE, Account, CostCentre


class StatementImportForm(forms.Form):
    statement = forms.FileField(
        label=_("Statement file"),
        help_text=_(
            "The account statement as exported by the bank: CAMT.053 (XML) or MT940. Only EUR accounts. "
            "A statement imported before adds nothing; lines already imported are skipped."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xml,.sta,.mt940,.940,.txt,application/xml,text/xml"}
        ),
    )
    auto_book = forms.BooleanField(
        label=_("Book exact matches right away"),
        required=False,
        help_text=_(
            "Lines whose amount and document number (invoice, bill or request for payment) agree with exactly "
            "one open item are booked without asking. Everything else waits for you."
        ),
    )

    def clean_statement(self):
        upload = self.cleaned_data["statement"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(size)d MB; split it into smaller statements.")
                % {"size": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload


class LineConfirmForm(forms.Form):
    """Choose one of the proposals for a line (the keys come from ``ledger.bank.line_matches``)."""

    key = forms.ChoiceField(label=_("This line pays"), widget=forms.RadioSelect)

    def __init__(self, *args, matches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(match.key, match.description) for match in matches]
        if matches:
            self.fields["key"].initial = matches[0].key


class LineBookForm(forms.Form):
    """Book a line no proposal explains: against an account and cost centre, with a note."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.active().exclude(code=BANK_ACCOUNT),
        help_text=_(
            "Where the money comes from (money in, e.g. donations or the Stripe balance for a payout) or goes "
            "to (money out, e.g. an expense)."
        ),
    )
    cost_centre = forms.ModelChoiceField(
        label=_("Cost centre"),
        queryset=CostCentre.objects.active(),
        help_text=_("Carried by an income or expense account; balance-sheet accounts stay on core."),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        help_text=_("What the money is for, in a few words; it becomes the booking's description."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cost_centre"].initial = CostCentre.objects.filter(code=CORE_COST_CENTRE_CODE).first()
