"""Forms of the staff screens of grants, people, pay, allocations and bills (grants/viewsets.py,
grants/admin_views.py): validation and clear messages only. Everything that reaches the books goes
through ``grants.services`` in the views.
"""

from __future__ import annotations

import calendar
import datetime
import io
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateInput

from accounts.roles import STAFF_ROLE_NAMES
from ledger.models import Account, CostCentre

from .models import (
    HUNDRED,
    ZERO,
    Bill,
    BudgetLine,
    CostCategory,
    Funder,
    Grant,
    GrantPayment,
    Milestone,
    PayRecord,
    Person,
)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # agreements, amendments, annexes (PDF)
MAX_VOUCHER_BYTES = 10 * 1024 * 1024  # a bill's voucher (PDF, PNG or JPEG)
PDF_MAGIC = b"%PDF-"


# --- Months ---------------------------------------------------------------------------------------


class MonthField(forms.DateField):
    """A month, typed as YYYY-MM (a month picker where the browser has one) or as any day of the month;
    always returned as the first day of the month."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d", "%m/%Y", "%d.%m.%Y"]
    default_error_messages = {"invalid": _("Enter the month as YYYY-MM, e.g. 2026-03.")}

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


def month_label(month: datetime.date) -> str:
    return month.strftime("%Y-%m")


def working_days(month: datetime.date) -> int:
    """Monday to Friday in the month (public holidays are not subtracted)."""
    last = calendar.monthrange(month.year, month.month)[1]
    return sum(1 for day in range(1, last + 1) if datetime.date(month.year, month.month, day).weekday() < 5)


def days_to_percent(days: Decimal, month: datetime.date) -> Decimal:
    return (days / Decimal(working_days(month)) * HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- Uploads --------------------------------------------------------------------------------------


def _head(upload, size: int) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def uploaded_kind(upload) -> str | None:
    """ "pdf", "png" or "jpeg" read from the file's content (never from its name), or None."""
    if _head(upload, len(PDF_MAGIC)) == PDF_MAGIC:
        return "pdf"
    from PIL import Image

    try:
        upload.seek(0)
        with Image.open(io.BytesIO(upload.read())) as image:
            image_format = image.format
            image.verify()
    except Exception:  # Pillow raises many kinds of errors for a file that is not an image
        return None
    finally:
        upload.seek(0)
    return {"PNG": "png", "JPEG": "jpeg"}.get(image_format)


def _too_large(upload, limit: int) -> str:
    return _("The file is %(size)s; the limit is %(limit)s.") % {
        "size": filesizeformat(upload.size),
        "limit": filesizeformat(limit),
    }


# --- Funders --------------------------------------------------------------------------------------


class FunderForm(WagtailAdminModelForm):
    country = forms.CharField(
        label=_("Country"), max_length=60, required=False, help_text=_("ISO 3166 code, e.g. NL.")
    )
    website = forms.URLField(label=_("Website"), max_length=200, required=False, assume_scheme="https")

    class Meta:
        model = Funder
        fields = ["name", "kind", "country", "website", "consent_annual_report"]

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and (len(country) != 2 or not (country.isascii() and country.isalpha())):
            raise forms.ValidationError(_("Enter the two-letter ISO code of the country, e.g. NL, DE, BE."))
        return country


# --- Grants ---------------------------------------------------------------------------------------


def staff_users():
    """Who may own a grant (and get its reminders): active staff, editors and finance."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True) | Q(groups__name__in=STAFF_ROLE_NAMES))
        .distinct()
        .order_by("first_name", "last_name", "email")
    )


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        name = user.get_full_name()
        return f"{name} <{user.email}>" if name else user.email or user.get_username()


BUDGET_PREFIX = "budget_"


def budget_field_name(category: str) -> str:
    return f"{BUDGET_PREFIX}{category}"


class GrantForm(WagtailAdminModelForm):
    """A grant with its budget (one amount per cost category). The code is fixed once created; the state
    is chosen when the grant is entered and then moves only by the actions (award, reject, start, close)."""

    owner = OwnerChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.none(),
        required=False,
        help_text=_("A staff member; gets the milestone and deadline reminders, with finance."),
    )

    class Meta:
        model = Grant
        fields = [
            "title",
            "funder",
            "reference",
            "code",
            "awarded_amount",
            "currency",
            "start_date",
            "end_date",
            "purpose",
            "restricted",
            "funding_model",
            "indirect_cost_rate",
            "state",
            "owner",
            "public",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_users()
        self.fields["state"].help_text = _(
            "The state when the grant is entered. Later it changes only by the actions on the grant's page."
        )
        self.fields["currency"].help_text = _("ISO code, e.g. EUR. Payments are booked in EUR as received.")
        existing = self.instance.pk is not None
        if existing:
            for name in ("code", "state"):
                self.fields[name].disabled = True
            self.fields["code"].help_text = _("The grant's cost centre in the ledger; fixed once created.")
            self.fields["state"].help_text = _("Changes only by the actions on the grant's page.")
        lines = {line.category: line.amount for line in self.instance.budget_lines.all()} if existing else {}
        for category, label in CostCategory.choices:
            self.fields[budget_field_name(category)] = forms.DecimalField(
                label=label,
                required=False,
                min_value=ZERO,
                max_digits=12,
                decimal_places=2,
                initial=lines.get(category),
                help_text=_("Budget in the grant's currency; leave empty if the grant has no such budget.")
                if category != CostCategory.INDIRECT
                else _("The indirect costs' budget as an amount (the rate is set above)."),
            )

    @property
    def budget_field_names(self) -> list[str]:
        return [budget_field_name(category) for category in CostCategory.values]

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip()
        if self.instance.pk is None and code:
            centre = CostCentre.objects.filter(code__iexact=code).first()
            if centre is not None:
                raise forms.ValidationError(
                    _("The ledger already has a cost centre “%(code)s”; choose another code for the grant.")
                    % {"code": centre.code}
                )
        return code

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):  # "ÄÖÜ" is no ISO code
            raise forms.ValidationError(_("Enter a three-letter currency code, e.g. EUR."))
        return currency

    def clean_state(self) -> str:
        state = self.cleaned_data.get("state")
        if self.instance.pk is None and state == Grant.State.CLOSED:
            raise forms.ValidationError(
                _("A new grant cannot start closed; enter it as active, then close it.")
            )
        return state

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The grant ends before it starts."))
        return cleaned

    def budget_save(self, grant: Grant) -> None:
        """One budget line per category with an amount; an emptied category loses its line."""
        for category in CostCategory.values:
            amount = self.cleaned_data.get(budget_field_name(category))
            if amount is None:
                BudgetLine.objects.filter(grant=grant, category=category).delete()
            else:
                BudgetLine.objects.update_or_create(
                    grant=grant, category=category, defaults={"amount": amount}
                )


MILESTONE_FIELDS = [
    "position",
    "title",
    "deliverables",
    "due_date",
    "amount",
    "tranche_percent",
    "evidence_links",
]
# Once a request for payment went out, or the milestone was accepted or paid, its money is fixed.
MONEY_FIXED_STATES = (Milestone.State.SUBMITTED, Milestone.State.ACCEPTED, Milestone.State.PAID)


class MilestoneForm(WagtailAdminModelForm):
    """A milestone: a fixed amount or a tranche percentage of the award (one of them)."""

    class Meta:
        model = Milestone
        fields = ["grant", *MILESTONE_FIELDS]
        widgets = {
            "deliverables": forms.Textarea(attrs={"rows": 3}),
            "evidence_links": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "grant" in self.fields:
            if self.instance.pk is not None:
                self.fields["grant"].disabled = True
            else:
                self.fields["grant"].queryset = Grant.objects.exclude(
                    state__in=(Grant.State.CLOSED, Grant.State.REJECTED)
                )
        if self.instance.pk is not None and self.instance.state in MONEY_FIXED_STATES:
            for name in ("amount", "tranche_percent"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: the milestone is %(state)s.") % {
                    "state": self.instance.get_state_display()
                }

    def clean_evidence_links(self) -> str:
        validate = forms.URLField(assume_scheme="https").clean
        lines = [line.strip() for line in (self.cleaned_data.get("evidence_links") or "").splitlines()]
        links = []
        for line in filter(None, lines):
            try:
                links.append(validate(line))
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("“%(line)s” is not a web address; put one URL per line.") % {"line": line[:80]}
                ) from None
        return "\n".join(links)

    def clean(self):
        cleaned = super().clean()
        amount, tranche = cleaned.get("amount"), cleaned.get("tranche_percent")
        if amount is None and tranche is None and not self.errors:
            raise forms.ValidationError(_("Give the milestone a fixed amount or a tranche percentage."))
        if amount is not None and tranche is not None:
            raise forms.ValidationError(_("Give either a fixed amount or a tranche percentage, not both."))
        if amount is not None and amount <= ZERO:
            self.add_error("amount", _("The amount must be positive."))
        return cleaned


class InlineMilestoneForm(MilestoneForm):
    class Meta(MilestoneForm.Meta):
        fields = MILESTONE_FIELDS


class BaseMilestoneFormSet(BaseInlineFormSet):
    """The milestones of a grant. Their fixed amounts add up to at most the award, their tranches to at
    most 100 %; a milestone whose request for payment went out, or that was accepted or paid, stays."""

    awarded_amount: Decimal | None = None

    def get_form_kwargs(self, index):
        """A new row starts with the next milestone number."""
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            last = max((milestone.position for milestone in self.get_queryset()), default=0)
            kwargs["initial"] = {"position": last + 1 + index - self.initial_form_count()}
        return kwargs

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" not in form.fields:
            return
        instance = form.instance
        if instance.pk and (instance.state in MONEY_FIXED_STATES or instance.request_number):
            del form.fields["DELETE"]  # it stays with the grant (clean() says so too)
        else:
            form.fields["DELETE"].label = _("Remove this milestone")

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        amounts, tranches = ZERO, ZERO
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            instance = form.instance
            if form.cleaned_data.get("DELETE"):
                if instance.pk and (instance.state in MONEY_FIXED_STATES or instance.request_number):
                    raise forms.ValidationError(
                        _("Milestone “%(title)s” is %(state)s and stays with the grant.")
                        % {"title": instance.title, "state": instance.get_state_display()}
                    )
                continue
            amounts += form.cleaned_data.get("amount") or ZERO
            tranches += form.cleaned_data.get("tranche_percent") or ZERO
        if self.awarded_amount is not None and amounts > self.awarded_amount:
            raise forms.ValidationError(
                _("The milestones' amounts add up to %(total)s, more than the award of %(award)s.")
                % {"total": amounts, "award": self.awarded_amount}
            )
        if tranches > HUNDRED:
            raise forms.ValidationError(
                _("The tranches add up to %(total)s %%, more than 100 %%.") % {"total": tranches}
            )


MilestoneFormSet = inlineformset_factory(
    Grant,
    Milestone,
    form=InlineMilestoneForm,
    formset=BaseMilestoneFormSet,
    fields=MILESTONE_FIELDS,
    extra=3,
    can_delete=True,
)


class GrantDocumentForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        help_text=_("E.g. “Grant agreement” or “Amendment 1”. Empty: the file's name."),
    )
    file = forms.FileField(
        label=_("PDF file"),
        help_text=_("A PDF of at most %(limit)s.") % {"limit": filesizeformat(MAX_DOCUMENT_BYTES)},
        error_messages={"required": _("Choose the PDF to upload.")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(_too_large(upload, MAX_DOCUMENT_BYTES))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if _head(upload, len(PDF_MAGIC)) != PDF_MAGIC:
            raise forms.ValidationError(_("Only PDF files can be uploaded here; this file is not a PDF."))
        stem = slugify(upload.name.rsplit(".", 1)[0])[:80] or "document"
        upload.name = f"{stem}.pdf"
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("title"):
            cleaned["title"] = upload.name.rsplit(".", 1)[0].replace("-", " ").capitalize()[:200]
        return cleaned


# --- Money received and paid ----------------------------------------------------------------------


def _not_in_future(day: datetime.date) -> datetime.date:
    if day > timezone.localdate():
        raise forms.ValidationError(_("The payment date lies in the future."))
    return day


class PaymentReceivedForm(forms.Form):
    """Money from the funder, as on the bank statement."""

    amount = forms.DecimalField(
        label=_("Amount received (EUR)"),
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=_("As credited to the bank account."),
    )
    received_on = forms.DateField(
        label=_("Received on"), widget=AdminDateInput, help_text=_("The day on the bank statement.")
    )
    reference = forms.CharField(
        label=_("Bank reference"),
        max_length=140,
        strip=True,
        error_messages={"required": _("Enter the bank's reference for the payment.")},
        help_text=_("The reference of the transfer on the bank statement."),
    )

    def __init__(self, *args, amount: Decimal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()
        if amount is not None:
            self.fields["amount"].initial = amount

    def clean_received_on(self):
        return _not_in_future(self.cleaned_data["received_on"])


class GrantPaymentForm(WagtailAdminModelForm):
    """A payment without a milestone (an advance or a tranche): posted as grant income at once."""

    received_on = forms.DateField(
        label=_("Received on"), widget=AdminDateInput, help_text=_("The day on the bank statement.")
    )

    class Meta:
        model = GrantPayment
        fields = ["grant", "amount", "received_on", "reference"]
        help_texts = {
            "amount": _("In EUR, as credited to the bank account."),
            "reference": _("The reference of the transfer on the bank statement."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grant"].queryset = Grant.objects.exclude(
            state__in=(Grant.State.APPLIED, Grant.State.REJECTED)
        ).select_related("funder")
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self):
        return _not_in_future(self.cleaned_data["received_on"])

    def clean_reference(self) -> str:
        reference = (self.cleaned_data.get("reference") or "").strip()
        if not reference:
            raise forms.ValidationError(_("Enter the bank's reference for the payment."))
        return reference


class BillPaidForm(forms.Form):
    paid_on = forms.DateField(
        label=_("Paid on"), widget=AdminDateInput, help_text=_("The day the transfer left the bank account.")
    )
    reference = forms.CharField(
        label=_("Bank reference"),
        max_length=140,
        strip=True,
        error_messages={"required": _("Enter the bank's reference for the payment.")},
    )

    def __init__(self, *args, bill: Bill | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bill = bill
        self.fields["paid_on"].initial = timezone.localdate()

    def clean_paid_on(self):
        paid_on = _not_in_future(self.cleaned_data["paid_on"])
        if self.bill is not None and paid_on < self.bill.bill_date:
            raise forms.ValidationError(_("The payment date lies before the bill's date."))
        return paid_on


# --- People and pay -------------------------------------------------------------------------------


class PersonForm(WagtailAdminModelForm):
    class Meta:
        model = Person
        fields = [
            "name",
            "role",
            "kind",
            "email",
            "start_date",
            "end_date",
            "weekly_hours",
            "core_development",
        ]

    def clean_kind(self) -> str:
        kind = self.cleaned_data.get("kind")
        person = self.instance
        if person.pk and kind != person.kind and person.pay_records.exists():
            raise forms.ValidationError(
                _("%(name)s has pay records as %(kind)s; the kind stays. Enter a new person instead.")
                % {"name": person.name, "kind": person.get_kind_display()}
            )
        return kind

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end lies before the start."))
        return cleaned


def works_in(person: Person, month: datetime.date) -> bool:
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    return person.start_date <= last_day and (person.end_date is None or person.end_date >= month)


class PayRecordForm(WagtailAdminModelForm):
    """One person's cost of one month: salary and social costs for an employee, the invoice (net) for a
    freelancer. Saving posts it; a posted record is never edited."""

    month = MonthField(
        label=_("Month"),
        help_text=_(
            "Pick the month (YYYY-MM). A full date is accepted and stored as the first day of its month."
        ),
    )

    class Meta:
        model = PayRecord
        fields = ["person", "month", "gross_salary", "employer_social_costs", "freelancer_invoice", "note"]
        help_texts = {
            "gross_salary": _("Employees only: the gross salary of the month."),
            "employer_social_costs": _("Employees only: the employer's share of social insurance."),
            "freelancer_invoice": _("Freelancers only: the invoice amount (net)."),
        }

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month > timezone.localdate().replace(day=1):
            raise forms.ValidationError(
                _("Pay is recorded for the current or a past month, not a future one.")
            )
        return month

    def clean(self):
        cleaned = super().clean()
        person, month = cleaned.get("person"), cleaned.get("month")
        salary = cleaned.get("gross_salary") or ZERO
        social = cleaned.get("employer_social_costs") or ZERO
        invoice = cleaned.get("freelancer_invoice") or ZERO
        if person is None:
            return cleaned
        if person.kind == Person.Kind.EMPLOYEE:
            if invoice:
                self.add_error(
                    "freelancer_invoice",
                    _("%(name)s is an employee: enter the salary and social costs, not an invoice.")
                    % {"name": person.name},
                )
            if not salary:
                self.add_error("gross_salary", _("Enter the gross salary of the month."))
        else:
            if salary or social:
                self.add_error(
                    "gross_salary" if salary else "employer_social_costs",
                    _("%(name)s is a freelancer: enter the invoice amount, not a salary.")
                    % {"name": person.name},
                )
            if not invoice:
                self.add_error("freelancer_invoice", _("Enter the amount of the freelancer's invoice (net)."))
        if month is not None:
            if not works_in(person, month):
                self.add_error(
                    "month",
                    _("%(name)s does not work here in %(month)s (start and end on the person's page).")
                    % {"name": person.name, "month": month_label(month)},
                )
            duplicates = PayRecord.objects.filter(person=person, month=month).exclude(pk=self.instance.pk)
            if duplicates.exists():
                self.add_error(
                    "month",
                    _(
                        "%(name)s already has a pay record for %(month)s. Posted records are not edited: "
                        "record a correction as a note to finance or by a reclassification."
                    )
                    % {"name": person.name, "month": month_label(month)},
                )
        return cleaned

    def validate_unique(self):
        """One record per person and month is checked in ``clean``, with a message that says what to do."""


# --- Allocation -----------------------------------------------------------------------------------


class AllocationPickForm(forms.Form):
    """Whose month to allocate (GET)."""

    person = forms.ModelChoiceField(label=_("Person"), queryset=Person.objects.all())
    month = MonthField(
        label=_("Month"),
        help_text=_("Pick the month (YYYY-MM). A full date is accepted and means its month."),
    )


class AllocationForm(forms.Form):
    """The share of one person's month per grant, in percent or in days (days / working days × 100); the
    rest is core work. The total may not pass 100 %."""

    def __init__(self, *args, grants, month: datetime.date, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.grants = list(grants)
        self.month = month
        self.working_days = working_days(month)
        for grant in self.grants:
            allocation = current.get(grant.pk)
            self.fields[f"percent_{grant.pk}"] = forms.DecimalField(
                label=_("Share of %(grant)s (%%)") % {"grant": grant.code},
                required=False,
                min_value=ZERO,
                max_value=HUNDRED,
                max_digits=5,
                decimal_places=2,
                initial=allocation.percent if allocation and allocation.days is None else None,
            )
            self.fields[f"days_{grant.pk}"] = forms.DecimalField(
                label=_("Days on %(grant)s") % {"grant": grant.code},
                required=False,
                min_value=ZERO,
                max_value=Decimal(self.working_days),
                max_digits=4,
                decimal_places=1,
                initial=allocation.days if allocation and allocation.days is not None else None,
                error_messages={
                    "max_value": _("%(month)s has %(days)s working days.")
                    % {"month": month_label(month), "days": self.working_days}
                },
            )

    def rows(self):
        return [(grant, self[f"percent_{grant.pk}"], self[f"days_{grant.pk}"]) for grant in self.grants]

    def clean(self):
        cleaned = super().clean()
        shares: dict[Grant, Decimal] = {}
        days: dict[Grant, Decimal] = {}
        for grant in self.grants:
            percent = cleaned.get(f"percent_{grant.pk}")
            day_count = cleaned.get(f"days_{grant.pk}")
            if day_count is not None:
                converted = days_to_percent(day_count, self.month)
                if percent is not None and percent != converted:
                    self.add_error(
                        f"percent_{grant.pk}",
                        _("Enter percent or days for %(grant)s, not both (%(days)s days are %(percent)s %%).")
                        % {"grant": grant.code, "days": day_count, "percent": converted},
                    )
                    continue
                if day_count:
                    days[grant] = day_count
                    shares[grant] = converted
            elif percent:
                shares[grant] = percent
        # Whole days that fill the month are 100 %, also where rounding each share would pass it.
        excess = sum(shares.values(), ZERO) - HUNDRED
        if (
            days
            and excess > ZERO
            and sum(days.values(), ZERO) <= self.working_days
            and excess < Decimal("0.05")
        ):
            largest = max(days, key=lambda grant: shares[grant])
            shares[largest] -= excess
        total = sum(shares.values(), ZERO)
        if total > HUNDRED:
            raise forms.ValidationError(
                _("The shares add up to %(total)s %%; a month can hold at most 100 %%. Nothing was changed.")
                % {"total": total}
            )
        self.shares, self.days, self.total = shares, days, total
        return cleaned


# --- Bills ----------------------------------------------------------------------------------------


def expense_account_choices() -> list[tuple[str, str]]:
    accounts = Account.objects.filter(kind=Account.Kind.EXPENSE, active=True).order_by("code")
    return [(account.code, f"{account.name} ({account.code})") for account in accounts]


class BillForm(WagtailAdminModelForm):
    """A supplier's bill with its voucher; saving books it against payables."""

    account_code = forms.ChoiceField(
        label=_("Account"),
        choices=expense_account_choices,
        help_text=_("The expense account it is booked to."),
    )
    cost_centre = forms.ModelChoiceField(
        label=_("Cost centre"),
        queryset=CostCentre.objects.filter(active=True).order_by("code"),
        help_text=_("CORE for the organisation's own costs, or the grant that pays for it."),
    )
    voucher = forms.FileField(
        label=_("Voucher"),
        help_text=_("The bill as PDF, PNG or JPEG, at most %(limit)s.")
        % {"limit": filesizeformat(MAX_VOUCHER_BYTES)},
        error_messages={"required": _("Attach the voucher (the bill as PDF, PNG or JPEG).")},
    )

    class Meta:
        model = Bill
        fields = [
            "supplier",
            "number",
            "bill_date",
            "due_date",
            "description",
            "account_code",
            "cost_centre",
            "net_amount",
            "vat_amount",
            "voucher",
        ]
        help_texts = {
            "net_amount": _("EUR, before VAT."),
            "vat_amount": _("EUR; booked as cost with the net amount (no input VAT deduction)."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        core = CostCentre.objects.filter(code="CORE").first()
        if core is not None and not self.is_bound:
            self.fields["cost_centre"].initial = core.pk

    def clean_voucher(self):
        upload = self.cleaned_data["voucher"]
        if upload.size > MAX_VOUCHER_BYTES:
            raise forms.ValidationError(_too_large(upload, MAX_VOUCHER_BYTES))
        kind = uploaded_kind(upload)
        if kind is None:
            raise forms.ValidationError(
                _("The voucher must be a PDF, PNG or JPEG file; this file is none of them.")
            )
        stem = slugify(upload.name.rsplit(".", 1)[0])[:80] or "voucher"
        upload.name = f"{stem}.{'jpg' if kind == 'jpeg' else kind}"
        return upload

    def clean_bill_date(self):
        bill_date = self.cleaned_data["bill_date"]
        if bill_date > timezone.localdate():
            raise forms.ValidationError(_("The bill's date lies in the future."))
        return bill_date

    def clean(self):
        cleaned = super().clean()
        bill_date, due_date = cleaned.get("bill_date"), cleaned.get("due_date")
        if bill_date and due_date and due_date < bill_date:
            self.add_error("due_date", _("The due date lies before the bill's date."))
        supplier, number = cleaned.get("supplier"), cleaned.get("number")
        if supplier and number and Bill.objects.filter(supplier=supplier, number=number).exists():
            self.add_error(
                "number",
                _("Bill %(number)s of %(supplier)s is already recorded (and booked).")
                % {"number": number, "supplier": supplier},
            )
        return cleaned

    def validate_unique(self):
        """One bill per supplier and number is checked in ``clean``, with a clearer message."""
