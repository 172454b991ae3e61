"""Staff screens of the ledger in the Wagtail admin (registered in wagtail_hooks.py).

Transactions and postings are list + inspect only; accounts and cost centres can be created and
edited (never deleted: switch them off instead). Access follows Django model permissions, given to
the finance staff group: ``ledger.view_transaction``, ``ledger.view_posting``,
``ledger.add_account`` / ``change_account`` / ``view_account``, ``ledger.add_costcentre`` /
``change_costcentre`` / ``view_costcentre``, ``ledger.view_closingbalance``.
"""

from decimal import Decimal

import django_filters
from django.db.models import Prefetch
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies import ModelPermissionPolicy

from .forms import AccountForm, CostCentreForm
from .models import Account, ClosingBalance, CostCentre, Posting, Transaction


class LedgerPermissionPolicy(ModelPermissionPolicy):
    """Django model permissions, limited to the actions the ledger allows on a model at all.

    Even a superuser cannot add, edit or delete a transaction here: the books are changed by
    posting through ``ledger.services`` only.
    """

    def __init__(self, model, *, actions):
        super().__init__(model)
        self.actions = frozenset(actions)

    def user_has_permission(self, user, action):
        return action in self.actions and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        allowed = [action for action in actions if action in self.actions]
        if not allowed:
            return super().users_with_any_permission([]).none()
        return super().users_with_any_permission(allowed)


class AmountColumn(Column):
    """A EUR amount with two places and the user's digit grouping, e.g. 40,000.00."""

    def get_value(self, instance):
        value = super().get_value(instance)
        return "" if value is None else format_amount(value)


def format_amount(value) -> str:
    return number_format(Decimal(value).quantize(Decimal("0.01")), decimal_pos=2, force_grouping=True)


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"), also after a tab or return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralise(text: str) -> str:
    """``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``: shown as text, never run."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class LedgerIndexView(generic.IndexView):
    """Finance listings (ledger, patrons, sponsors, grants): amounts export with two decimal places, e.g.
    42.00, and no CSV cell runs as a formula.

    Wagtail's SpreadsheetExportMixin guards XLSX only (openpyxl stores formula-like cells as text); its CSV
    writes text as it is, so a name like ``=HYPERLINK("http://x")`` would become a live formula. Every text
    cell of a CSV starting with ``=``, ``+``, ``-``, ``@`` (or a tab or return) gets a leading apostrophe;
    numbers (a negative amount) stay numbers.
    """

    custom_value_preprocess = {
        **generic.IndexView.custom_value_preprocess,
        Decimal: {
            generic.IndexView.FORMAT_CSV: lambda value: str(_two_places(value)),
            generic.IndexView.FORMAT_XLSX: _two_places,
        },
    }

    def preprocess_field_value(self, field, value, export_format):
        prepared = super().preprocess_field_value(field, value, export_format)
        if (
            export_format == self.FORMAT_CSV
            and isinstance(prepared, str)
            and not isinstance(value, int | float | Decimal)
        ):
            return cell_neutralise(prepared)
        return prepared


# --- Transactions ---------------------------------------------------------------------------
class TransactionFilterSet(WagtailFilterSet):
    booking_date = django_filters.DateFromToRangeFilter(label=_("Booking date"), widget=DateRangePickerWidget)
    account = django_filters.ModelChoiceFilter(
        label=_("Account"), field_name="postings__account", queryset=Account.objects.all(), distinct=True
    )
    cost_centre = django_filters.ModelChoiceFilter(
        label=_("Cost centre"),
        field_name="postings__cost_centre",
        queryset=CostCentre.objects.all(),
        distinct=True,
    )

    class Meta:
        model = Transaction
        fields = []


class TransactionIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().with_total()


class TransactionInspectView(generic.InspectView):
    def get_object(self, queryset=None):
        postings = Prefetch("postings", queryset=Posting.objects.select_related("account", "cost_centre"))
        return Transaction.objects.select_related("reverses").prefetch_related(postings).get(pk=self.pk)

    def get_field_label(self, field_name, field):
        if field_name == "postings":
            return _("Postings")
        return super().get_field_label(field_name, field)

    def get_postings_display_value(self):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='w-text-right'>{}</td><td class='w-text-right'>{}</td><td>{}</td></tr>",
            (
                (
                    posting.account,
                    posting.cost_centre.code,
                    format_amount(posting.debit) if posting.debit else "",
                    format_amount(posting.credit) if posting.credit else "",
                    f"{posting.original_amount} {posting.original_currency}"
                    if posting.original_currency
                    else "",
                )
                for posting in self.object.postings.all()
            ),
        )
        return format_html(
            "<table class='listing'><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("Account"),
            _("Cost centre"),
            _("Debit (EUR)"),
            _("Credit (EUR)"),
            _("Original amount"),
            rows,
        )


class TransactionViewSet(ModelViewSet):
    name = "ledger_transaction"
    url_prefix = "ledger/transactions"
    model = Transaction
    icon = "list-ul"
    menu_order = 100
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = TransactionIndexView
    inspect_view_class = TransactionInspectView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "booking_date",
        "source_reference",
        AmountColumn("total", label=_("Amount (EUR)"), sort_key="total"),
        "reverses",
    ]
    list_export = [
        "booking_date",
        "description",
        "source_reference",
        "idempotency_key",
        "total",
        "created_at",
    ]
    export_headings = {"total": _("Amount (EUR)")}
    filterset_class = TransactionFilterSet
    search_fields = ["description", "source_reference", "idempotency_key"]
    inspect_view_fields = [
        "booking_date",
        "description",
        "source_reference",
        "idempotency_key",
        "created_at",
        "reverses",
        "postings",
    ]


# --- Postings -------------------------------------------------------------------------------
class PostingFilterSet(WagtailFilterSet):
    booking_date = django_filters.DateFromToRangeFilter(label=_("Booking date"), widget=DateRangePickerWidget)

    class Meta:
        model = Posting
        fields = ["account", "cost_centre", "account__category", "account__tax_sphere"]


class PostingIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("account", "cost_centre", "transaction")


class PostingViewSet(ModelViewSet):
    name = "ledger_posting"
    url_prefix = "ledger/postings"
    model = Posting
    icon = "table"
    menu_order = 110
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = PostingIndexView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "booking_date",
        "account",
        "cost_centre",
        AmountColumn("amount", label=_("Amount (EUR)"), sort_key="amount"),
        "transaction",
    ]
    list_export = [
        "booking_date",
        "transaction__idempotency_key",
        "account__code",
        "account__datev_number",
        "account__tax_sphere",
        "cost_centre__code",
        "amount",
        "original_amount",
        "original_currency",
    ]
    filterset_class = PostingFilterSet


# --- Accounts and cost centres --------------------------------------------------------------
class AccountViewSet(ModelViewSet):
    name = "ledger_account"
    url_prefix = "ledger/accounts"
    model = Account
    index_view_class = LedgerIndexView
    icon = "tag"
    menu_order = 120
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    list_display = ["__str__", "kind", "category", "tax_sphere", "datev_number", "vat_rate", "active"]
    list_filter = ["kind", "category", "tax_sphere", "active"]
    list_export = [
        "code",
        "name",
        "kind",
        "category",
        "tax_sphere",
        "datev_number",
        "vat_rate",
        "datev_automatic",
        "active",
    ]
    search_fields = ["code", "name", "datev_number"]

    def get_form_class(self, for_update=False):
        return AccountForm


class CostCentreViewSet(ModelViewSet):
    name = "ledger_costcentre"
    url_prefix = "ledger/cost-centres"
    model = CostCentre
    icon = "folder-open-inverse"
    menu_order = 130
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    list_display = ["__str__", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]

    def get_form_class(self, for_update=False):
        return CostCentreForm


class ClosingBalanceFilterSet(WagtailFilterSet):
    class Meta:
        model = ClosingBalance
        fields = ["month", "account", "cost_centre"]


class ClosingBalanceIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("account", "cost_centre")


class ClosingBalanceViewSet(ModelViewSet):
    """Stored month-end balances (written by ``ledger_month_close`` only): list and export."""

    model = ClosingBalance
    name = "ledger_closingbalance"
    url_prefix = "ledger/closing-balances"
    icon = "calendar-check"
    menu_order = 140
    add_to_reference_index = False
    copy_view_enabled = False
    index_view_class = ClosingBalanceIndexView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "month",
        "account",
        "cost_centre",
        AmountColumn("balance", label=_("Balance (EUR)"), sort_key="balance"),
    ]
    list_export = ["month", "account__code", "account__datev_number", "cost_centre__code", "balance"]
    filterset_class = ClosingBalanceFilterSet


class LedgerViewSetGroup(ModelViewSetGroup):
    menu_label = _("Ledger")
    menu_icon = "table"
    menu_order = 900
    items = (TransactionViewSet, PostingViewSet, AccountViewSet, CostCentreViewSet, ClosingBalanceViewSet)


PERMISSION_POLICIES = {
    Transaction: LedgerPermissionPolicy(Transaction, actions={"view"}),
    Posting: LedgerPermissionPolicy(Posting, actions={"view"}),
    Account: LedgerPermissionPolicy(Account, actions={"add", "change", "view"}),
    CostCentre: LedgerPermissionPolicy(CostCentre, actions={"add", "change", "view"}),
    ClosingBalance: LedgerPermissionPolicy(ClosingBalance, actions={"view"}),
}
