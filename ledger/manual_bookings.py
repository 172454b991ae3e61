"""Manual bookings: what finance books by hand, with the voucher attached (a cash receipt, a bank fee, a
correction between accounts).

The service ``manual_booking_post`` checks everything before anything is stored:

- a date that is not in the future and not in a closed month (a manual booking is refused there, never
  moved to another month: finance dates it themselves);
- a description, a debit and a credit account (two different, active accounts), a positive EUR amount with
  at most two decimals, a cost centre;
- a voucher that is a PDF, PNG or JPEG file by its content (not its name), at most 10 MB.

The cost centre goes on the income or expense side of the booking; balance-sheet accounts (bank,
receivables, payables) stay on the core cost centre, as every other workflow books them. A booking between
two balance-sheet accounts is therefore on core. The booking is posted once, under ``manual:<id>``; the
same form sent twice (a double click) books once. Nothing is edited afterwards: a mistake is corrected by a
reversing transaction or another booking.

The admin screens (Bank and bookings → Manual bookings: list, export, inspect, "Book manually", voucher
download) are for finance with MFA only (``FinancePermissionPolicy``).
"""

from __future__ import annotations

import datetime
import logging
import uuid
from decimal import Decimal

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import FormView
from PIL import Image, UnidentifiedImageError
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminDateInput
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from .bank_models import ManualBooking
from .errors import LedgerError
from .models import CORE_COST_CENTRE_CODE, Account, CostCentre
from .querysets import month_start
from .services import LARGEST_AMOUNT, PostingLine, first_open_day, transaction_post
from .viewsets import AmountColumn, LedgerIndexView, format_amount

logger = logging.getLogger(__name__)

MAX_VOUCHER_BYTES = 10 * 1024 * 1024
# What a voucher may be, by the first bytes of its content: (content type, file extension).
VOUCHER_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
RESULT_KINDS = (Account.Kind.INCOME, Account.Kind.EXPENSE)
FINANCE_PERMISSION = "ledger.view_finance"


class ManualBookingRefused(Exception):
    """The booking cannot be made; ``field`` names the form field the message belongs to (or None)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- Rules ----------------------------------------------------------------------------------------


def voucher_check(upload) -> tuple[str, str]:
    """(content type, extension) of a voucher, judged by its content; refuses anything else and > 10 MB."""
    if not upload:
        raise ManualBookingRefused(_("Attach the voucher (a PDF, PNG or JPEG file)."), field="voucher")
    if upload.size > MAX_VOUCHER_BYTES:
        raise ManualBookingRefused(
            gettext("The voucher is larger than 10 MB; scan it at a lower resolution."), field="voucher"
        )
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(0)
    for signature, content_type, extension in VOUCHER_SIGNATURES:
        if head.startswith(signature) or (extension == "pdf" and signature in head):
            if content_type.startswith("image/"):
                try:
                    with Image.open(upload) as image:
                        image.verify()
                except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                    raise ManualBookingRefused(
                        gettext("The voucher “%(name)s” is a damaged image.") % {"name": upload.name},
                        field="voucher",
                    ) from None
                finally:
                    upload.seek(0)
            return content_type, extension
    raise ManualBookingRefused(
        gettext(
            "The voucher must be a PDF, PNG or JPEG file; “%(name)s” is none of these (judged by its "
            "content, not its name)."
        )
        % {"name": getattr(upload, "name", "")},
        field="voucher",
    )


def cost_centre_check(*, accounts, cost_centre: CostCentre) -> None:
    """A cost centre other than core needs an income or expense account to carry it."""
    if cost_centre.code != CORE_COST_CENTRE_CODE and not any(a.kind in RESULT_KINDS for a in accounts):
        raise ManualBookingRefused(
            gettext(
                "Cost centres are for income and expenses; a booking between balance-sheet accounts stays on "
                "the core cost centre."
            ),
            field="cost_centre",
        )


def posting_cost_centre(*, account: Account, cost_centre: CostCentre) -> CostCentre | None:
    """The chosen cost centre for an income or expense account; core (None) for a balance-sheet account."""
    return cost_centre if account.kind in RESULT_KINDS else None


def closed_month_check(booking_date: datetime.date) -> None:
    first_open = first_open_day(booking_date)
    if first_open != booking_date:
        raise ManualBookingRefused(
            gettext(
                "The books of %(month)s are closed, so nothing can be booked on %(date)s. Date the booking "
                "on %(first_open)s or later."
            )
            % {
                "month": f"{month_start(booking_date):%Y-%m}",
                "date": booking_date.isoformat(),
                "first_open": first_open.isoformat(),
            },
            field="booking_date",
        )


def _amount_check(amount) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}.")
    if not amount.is_finite() or amount <= 0:
        raise ManualBookingRefused(gettext("The amount must be more than zero."), field="amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ManualBookingRefused(gettext("The amount has more than two decimal places."), field="amount")
    if amount >= LARGEST_AMOUNT:
        raise ManualBookingRefused(gettext("The amount is too large for the books."), field="amount")
    return amount.quantize(Decimal("0.01"))


# --- Service --------------------------------------------------------------------------------------


def manual_booking_post(
    *,
    booking_date: datetime.date,
    description: str,
    debit_account: Account,
    credit_account: Account,
    amount: Decimal,
    cost_centre: CostCentre,
    voucher,
    by=None,
    submission: str = "",
) -> ManualBooking:
    """Store a manual booking with its voucher and post it (``manual:<id>``); ``ManualBookingRefused`` says why not.

    ``submission`` identifies one filled-in form: sending it again returns the first booking.
    """
    description = (description or "").strip()
    if not description:
        raise ManualBookingRefused(gettext("Describe what is booked."), field="description")
    if len(description) > 200:
        raise ManualBookingRefused(
            gettext("The description is longer than 200 characters."), field="description"
        )
    amount = _amount_check(amount)
    if debit_account.pk == credit_account.pk:
        raise ManualBookingRefused(
            gettext("Debit and credit are the same account; choose two different accounts."),
            field="credit_account",
        )
    if booking_date > timezone.localdate():
        raise ManualBookingRefused(gettext("The booking date lies in the future."), field="booking_date")
    closed_month_check(booking_date)
    cost_centre_check(accounts=[debit_account, credit_account], cost_centre=cost_centre)
    content_type, extension = voucher_check(voucher)

    stored_name = ""
    try:
        with db_transaction.atomic():
            if submission:
                existing = ManualBooking.objects.filter(submission=submission).first()
                if existing is not None:
                    return existing
            closed_month_check(booking_date)  # again, inside the transaction that posts
            booking = ManualBooking(
                booking_date=booking_date,
                description=description,
                debit_account=debit_account,
                credit_account=credit_account,
                amount=amount,
                cost_centre=cost_centre,
                voucher_name=(getattr(voucher, "name", "") or "")[:255],
                voucher_type=content_type,
                submission=submission or None,
                created_by=by if getattr(by, "is_authenticated", False) else None,
            )
            booking.voucher.save(f"{uuid.uuid4().hex}.{extension}", voucher, save=False)
            stored_name = booking.voucher.name
            booking.save()
            try:
                booking.transaction = transaction_post(
                    booking_date=booking_date,
                    description=description,
                    idempotency_key=f"manual:{booking.pk}",
                    source_reference=f"manual booking {booking.pk}",
                    lines=[
                        PostingLine(
                            account=debit_account,
                            amount=amount,
                            cost_centre=posting_cost_centre(account=debit_account, cost_centre=cost_centre),
                        ),
                        PostingLine(
                            account=credit_account,
                            amount=-amount,
                            cost_centre=posting_cost_centre(account=credit_account, cost_centre=cost_centre),
                        ),
                    ],
                )
            except LedgerError as error:
                raise ManualBookingRefused(str(error)) from None
            booking.save(update_fields=["transaction"])
    except Exception as error:
        if stored_name:
            ManualBooking._meta.get_field("voucher").storage.delete(stored_name)
        if isinstance(error, IntegrityError) and submission:
            # the same form, sent twice at the same moment: the other request booked it
            existing = ManualBooking.objects.filter(submission=submission).first()
            if existing is not None:
                return existing
        raise
    logger.info("ledger: manual booking %s posted (%s EUR)", booking.pk, amount)
    return booking


# --- Admin ----------------------------------------------------------------------------------------


class FinancePermissionPolicy(ModelPermissionPolicy):
    """Finance only: each action named here needs ``ledger.view_finance`` (the finance role's permission;
    the staff middleware asks for MFA first). No other action exists, not even for superusers, so Wagtail's
    generic add, edit and delete views stay shut: bookings are made through the services only."""

    def __init__(self, model, *, actions):
        super().__init__(model)
        self.actions = frozenset(actions)

    def user_has_permission(self, user, action):
        return action in self.actions and user.is_active and user.has_perm(FINANCE_PERMISSION)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        from django.contrib.auth import get_user_model
        from django.db.models import Q

        users = get_user_model().objects.filter(is_active=True)
        if not any(action in self.actions for action in actions):
            return users.none()
        app_label, codename = FINANCE_PERMISSION.split(".")
        held = Q(
            user_permissions__codename=codename, user_permissions__content_type__app_label=app_label
        ) | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
        return users.filter(Q(is_superuser=True) | held).distinct()

    def users_with_permission(self, action):
        return self.users_with_any_permission([action])


def user_may(user, model, action: str) -> bool:
    return policy_registry.get_by_type(model).user_has_permission(user, action)


class ManualBookingForm(forms.Form):
    booking_date = forms.DateField(label=_("Booking date"), widget=AdminDateInput)
    description = forms.CharField(label=_("Description"), max_length=200)
    debit_account = forms.ModelChoiceField(
        label=_("Debit account"),
        queryset=Account.objects.active(),
        help_text=_("Where the money goes: an expense, or the bank for money received."),
    )
    credit_account = forms.ModelChoiceField(
        label=_("Credit account"),
        queryset=Account.objects.active(),
        help_text=_("Where the money comes from: the bank for money paid, or an income account."),
    )
    amount = forms.DecimalField(
        label=_("Amount (EUR)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    cost_centre = forms.ModelChoiceField(
        label=_("Cost centre"),
        queryset=CostCentre.objects.active(),
        help_text=_("Carried by the income or expense account; balance-sheet accounts stay on core."),
    )
    voucher = forms.FileField(
        label=_("Voucher"),
        help_text=_("The receipt or invoice: a PDF, PNG or JPEG file of at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )
    submission = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cost_centre"].initial = CostCentre.objects.filter(code=CORE_COST_CENTRE_CODE).first()
        self.fields["submission"].initial = uuid.uuid4().hex
        self.fields["booking_date"].initial = timezone.localdate()

    def clean_voucher(self):
        voucher = self.cleaned_data["voucher"]
        try:
            voucher_check(voucher)
        except ManualBookingRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None
        return voucher

    def clean(self):
        cleaned_data = super().clean()
        debit, credit = cleaned_data.get("debit_account"), cleaned_data.get("credit_account")
        if debit and credit and debit == credit:
            self.add_error(
                "credit_account", _("Debit and credit are the same account; choose two different accounts.")
            )
        return cleaned_data


class ManualBookingCreateView(WagtailAdminTemplateMixin, FormView):
    """Book manually: the form (GET), the booking through ``manual_booking_post`` (POST)."""

    form_class = ManualBookingForm
    template_name = "ledger/manual/new.html"
    page_title = _("Book manually")
    header_icon = "doc-full"

    def dispatch(self, request, *args, **kwargs):
        if not user_may(request.user, ManualBooking, "book"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("ledger_manualbooking:index"), "label": gettext("Manual bookings")},
            {"url": "", "label": self.get_page_title()},
        ]

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            booking = manual_booking_post(
                booking_date=data["booking_date"],
                description=data["description"],
                debit_account=data["debit_account"],
                credit_account=data["credit_account"],
                amount=data["amount"],
                cost_centre=data["cost_centre"],
                voucher=data["voucher"],
                by=self.request.user,
                submission=data.get("submission") or "",
            )
        except ManualBookingRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Booked: %(description)s, %(amount)s EUR from %(credit)s to %(debit)s.")
            % {
                "description": booking.description,
                "amount": format_amount(booking.amount),
                "credit": booking.credit_account.code,
                "debit": booking.debit_account.code,
            },
        )
        return redirect("ledger_manualbooking:inspect", booking.pk)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(action_url=self.request.path, cancel_url=reverse("ledger_manualbooking:index"))
        return context


def voucher_download(request, pk: int):
    """The voucher of a manual booking (finance)."""
    if not user_may(request.user, ManualBooking, "view"):
        raise PermissionDenied
    booking = get_object_or_404(ManualBooking, pk=pk)
    if not booking.voucher:
        raise Http404
    try:
        handle = booking.voucher.open("rb")
    except FileNotFoundError:
        messages.error(request, gettext("The voucher file is missing from the storage."))
        return redirect("ledger_manualbooking:inspect", booking.pk)
    extension = booking.voucher.name.rsplit(".", 1)[-1]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"voucher-manual-booking-{booking.pk}.{extension}",
        content_type=booking.voucher_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


class ManualBookingFilterSet(WagtailFilterSet):
    booking_date = django_filters.DateFromToRangeFilter(label=_("Booking date"), widget=DateRangePickerWidget)

    class Meta:
        model = ManualBooking
        fields = ["debit_account", "credit_account", "cost_centre"]


class ManualBookingIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("debit_account", "credit_account", "cost_centre")

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if user_may(self.request.user, ManualBooking, "book"):
            buttons.append(
                HeaderButton(
                    gettext("Book manually"), url=reverse("ledger_manualbooking:book"), icon_name="plus"
                )
            )
        return buttons


class ManualBookingInspectView(generic.InspectView):
    template_name = "ledger/manual/inspect.html"

    def get_amount_display_value(self):
        return f"{format_amount(self.object.amount)} EUR"

    def get_voucher_display_value(self):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("ledger_manualbooking:voucher", args=[self.object.pk]),
            self.object.voucher_name or gettext("Download the voucher"),
        )

    def get_transaction_display_value(self):
        if self.object.transaction_id is None:
            return "–"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("ledger_transaction:inspect", args=[self.object.transaction_id]),
            self.object.transaction,
        )


class ManualBookingViewSet(ModelViewSet):
    model = ManualBooking
    name = "ledger_manualbooking"
    url_prefix = "ledger/manual-bookings"
    icon = "doc-full"
    menu_label = _("Manual bookings")
    menu_order = 30
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = ManualBookingIndexView
    inspect_view_class = ManualBookingInspectView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "booking_date",
        "debit_account",
        "credit_account",
        "cost_centre",
        AmountColumn("amount", label=_("Amount (EUR)"), sort_key="amount"),
        "created_by",
    ]
    list_export = [
        "booking_date",
        "description",
        "debit_account.code",
        "credit_account.code",
        "cost_centre.code",
        "amount",
        "voucher_name",
        "transaction.idempotency_key",
        "created_at",
    ]
    export_headings = {
        "debit_account.code": _("Debit account"),
        "credit_account.code": _("Credit account"),
        "cost_centre.code": _("Cost centre"),
        "transaction.idempotency_key": _("Transaction key"),
    }
    export_filename = "manual-bookings"
    filterset_class = ManualBookingFilterSet
    search_fields = ["description"]
    inspect_view_fields = [
        "booking_date",
        "description",
        "debit_account",
        "credit_account",
        "amount",
        "cost_centre",
        "voucher",
        "voucher_type",
        "transaction",
        "created_by",
        "created_at",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("book/", ManualBookingCreateView.as_view(), name="book"),
            path("voucher/<int:pk>/", voucher_download, name="voucher"),
        ]


PERMISSION_POLICIES = {ManualBooking: FinancePermissionPolicy(ManualBooking, actions={"view", "book"})}
