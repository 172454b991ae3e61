"""Bank screens in the Wagtail admin (menu "Bank and bookings", registered in ledger/bank_hooks.py).

- **Bank statements**: the statements imported, with how many of their lines are still open; "Import a
  statement" (CAMT.053 or MT940, optionally booking exact matches right away); a statement's page lists its
  lines with what each pays (the matchers' proposal) or how it was booked.
- **Bank lines**: every line, open ones first (the menu opens the open ones); a line's page shows the
  proposals and the two ways to book it: confirm a proposal, or book it to an account and cost centre.

GET pages only show; POST (with CSRF) books. A refusal is shown as a message and changes nothing; a
second click finds the line booked. Finance with MFA only (``FinancePermissionPolicy``).
"""

from __future__ import annotations

import logging

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import FormView
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from .bank import (
    BankLineRefused,
    StatementError,
    line_book_account,
    line_book_match,
    line_matches,
    statement_import,
)
from .bank_forms import LineBookForm, LineConfirmForm, StatementImportForm
from .bank_models import BankLine, BankStatement
from .manual_bookings import FinancePermissionPolicy, user_may
from .viewsets import AmountColumn, LedgerIndexView, format_amount

logger = logging.getLogger(__name__)


def amount_display(value) -> str:
    return f"{format_amount(value)} EUR"


# --- Import ---------------------------------------------------------------------------------------


class StatementImportView(WagtailAdminTemplateMixin, FormView):
    form_class = StatementImportForm
    template_name = "ledger/bank/import.html"
    page_title = _("Import a bank statement")
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        if not user_may(request.user, BankStatement, "import"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("ledger_bankstatement:index"), "label": gettext("Bank statements")},
            {"url": "", "label": self.get_page_title()},
        ]

    def form_valid(self, form):
        upload = form.cleaned_data["statement"]
        try:
            result = statement_import(
                content=upload.read(),
                file_name=upload.name,
                by=self.request.user,
                auto_book=form.cleaned_data["auto_book"],
            )
        except StatementError as error:
            form.add_error("statement", gettext("Nothing was imported. %(reason)s") % {"reason": str(error)})
            return self.form_invalid(form)
        self._report(result)
        if len(result.statements) == 1:
            return redirect("ledger_bankstatement:inspect", result.statements[0].pk)
        return redirect("ledger_bankstatement:index")

    def _report(self, result) -> None:
        names = ", ".join(statement.statement_id for statement in result.statements)
        if result.nothing_new:
            messages.info(
                self.request,
                gettext(
                    "Already imported, nothing new: all %(count)d lines of %(names)s were imported before."
                )
                % {"count": result.known_lines, "names": names},
            )
            return
        messages.success(
            self.request,
            ngettext(
                "Imported %(names)s: %(new)d new line (%(known)d imported before).",
                "Imported %(names)s: %(new)d new lines (%(known)d imported before).",
                result.new_lines,
            )
            % {"names": names, "new": result.new_lines, "known": result.known_lines},
        )
        if result.auto_booked:
            messages.success(
                self.request,
                ngettext(
                    "%(count)d line was booked as an exact match.",
                    "%(count)d lines were booked as exact matches.",
                    result.auto_booked,
                )
                % {"count": result.auto_booked},
            )
        for refusal in result.auto_refused:
            messages.warning(self.request, gettext("Not booked: %(reason)s") % {"reason": refusal})
        if result.suspected_duplicates:
            messages.warning(
                self.request,
                ngettext(
                    "%(count)d new line looks like a line of another statement (same day, amount and "
                    "counterparty): check it is not the same payment before booking it.",
                    "%(count)d new lines look like lines of another statement (same day, amount and "
                    "counterparty): check they are not the same payments before booking them.",
                    result.suspected_duplicates,
                )
                % {"count": result.suspected_duplicates},
            )

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(action_url=self.request.path, cancel_url=reverse("ledger_bankstatement:index"))
        return context


# --- Statements -----------------------------------------------------------------------------------


def line_rows(lines, *, with_statement: bool = False) -> list[dict]:
    """What the statement and line pages show of each line: its proposals when open, its booking when booked."""
    rows = []
    for line in lines:
        matches = [] if line.is_booked else line_matches(line)
        rows.append(
            {
                "line": line,
                "amount": amount_display(line.amount),
                "matches": matches,
                "inspect_url": reverse("ledger_bankline:inspect", args=[line.pk]),
                "confirm_url": reverse("ledger_bankline:confirm", args=[line.pk]),
                "book_url": reverse("ledger_bankline:book", args=[line.pk]),
                "transaction_url": (
                    reverse("ledger_transaction:inspect", args=[line.booked_transaction_id])
                    if line.booked_transaction_id
                    else ""
                ),
                "statement_url": (
                    reverse("ledger_bankstatement:inspect", args=[line.statement_id])
                    if with_statement
                    else ""
                ),
            }
        )
    return rows


class StatementIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("imported_by")
            .annotate(
                line_count=Count("lines"),
                open_count=Count("lines", filter=Q(lines__booked_transaction__isnull=True)),
            )
        )

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if user_may(self.request.user, BankStatement, "import"):
            buttons.append(
                HeaderButton(
                    gettext("Import a statement"),
                    url=reverse("ledger_bankstatement:import"),
                    icon_name="upload",
                )
            )
        return buttons


class StatementInspectView(generic.InspectView):
    template_name = "ledger/bank/statement_inspect.html"

    def get_imported_by_display_value(self):
        return self.object.imported_by or "–"

    def get_file_name_display_value(self):
        return self.object.file_name or "–"

    def get_sequence_display_value(self):
        return self.object.sequence or "–"

    def get_opening_balance_display_value(self):
        value = self.object.opening_balance
        return "–" if value is None else amount_display(value)

    def get_closing_balance_display_value(self):
        value = self.object.closing_balance
        return "–" if value is None else amount_display(value)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lines = self.object.lines.select_related("booked_transaction").order_by("position")
        context.update(
            rows=line_rows(lines),
            can_book=user_may(self.request.user, BankLine, "book"),
            open_count=sum(1 for line in lines if not line.is_booked),
        )
        return context


class StatementViewSet(ModelViewSet):
    model = BankStatement
    name = "ledger_bankstatement"
    url_prefix = "ledger/bank-statements"
    icon = "doc-full-inverse"
    menu_label = _("Bank statements")
    menu_order = 10
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = StatementIndexView
    inspect_view_class = StatementInspectView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "format",
        "from_date",
        "to_date",
        Column("line_count", label=_("Lines"), sort_key="line_count"),
        Column("open_count", label=_("Open lines"), sort_key="open_count"),
        "imported_at",
        "imported_by",
    ]
    list_filter = ["format", "account"]
    list_export = [
        "account",
        "statement_id",
        "sequence",
        "from_date",
        "to_date",
        "format",
        "opening_balance",
        "closing_balance",
        "line_count",
        "open_count",
        "file_name",
        "imported_at",
    ]
    export_headings = {"line_count": _("Lines"), "open_count": _("Open lines")}
    export_filename = "bank-statements"
    search_fields = ["statement_id", "account", "file_name"]
    inspect_view_fields = [
        "account",
        "statement_id",
        "sequence",
        "from_date",
        "to_date",
        "format",
        "opening_balance",
        "closing_balance",
        "entry_count",
        "file_name",
        "imported_at",
        "imported_by",
    ]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("import/", StatementImportView.as_view(), name="import")]


# --- Lines ----------------------------------------------------------------------------------------


class BankLineFilterSet(WagtailFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"),
        choices=[("open", _("To book")), ("booked", _("Booked"))],
        method="filter_state",
        empty_label=_("All"),
    )
    booking_date = django_filters.DateFromToRangeFilter(label=_("Booking date"), widget=DateRangePickerWidget)
    direction = django_filters.ChoiceFilter(
        label=_("Direction"),
        choices=[("in", _("Money in")), ("out", _("Money out"))],
        method="filter_direction",
        empty_label=_("Both"),
    )

    class Meta:
        model = BankLine
        fields = ["statement"]

    def filter_state(self, queryset, name, value):
        if value == "open":
            return queryset.open()
        if value == "booked":
            return queryset.booked()
        return queryset

    def filter_direction(self, queryset, name, value):
        if value == "in":
            return queryset.filter(amount__gt=0)
        if value == "out":
            return queryset.filter(amount__lt=0)
        return queryset


class TextColumn(Column):
    def get_value(self, instance):
        return Truncator(instance.remittance_text).chars(80)


class StateColumn(Column):
    def get_value(self, instance):
        if instance.is_booked:
            return gettext("Booked: %(how)s") % {"how": Truncator(instance.booking_note).chars(60)}
        return gettext("To book")


class BankLineIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("statement")


class BankLineInspectView(generic.InspectView):
    template_name = "ledger/bank/line_inspect.html"

    def get_looks_like_duplicate_display_value(self):
        return gettext("Yes") if self.object.looks_like_duplicate else gettext("No")

    def get_booked_at_display_value(self):
        return self.object.booked_at or "–"

    def get_booked_by_display_value(self):
        return self.object.booked_by or "–"

    def get_booking_note_display_value(self):
        return self.object.booking_note or "–"

    def get_amount_display_value(self):
        return amount_display(self.object.amount)

    def get_statement_display_value(self):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("ledger_bankstatement:inspect", args=[self.object.statement_id]),
            self.object.statement,
        )

    def get_booked_transaction_display_value(self):
        if self.object.booked_transaction_id is None:
            return gettext("Not booked yet")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("ledger_transaction:inspect", args=[self.object.booked_transaction_id]),
            self.object.booked_transaction,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            row=line_rows([self.object])[0], can_book=user_may(self.request.user, BankLine, "book")
        )
        return context


class LineActionView(WagtailAdminTemplateMixin, FormView):
    """One way of booking one open line: the form (GET) and the booking (POST)."""

    header_icon = "doc-full-inverse"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not user_may(request.user, BankLine, "book"):
            raise PermissionDenied
        self.line = get_object_or_404(BankLine.objects.select_related("statement"), pk=kwargs["pk"])
        if self.line.is_booked:
            messages.info(
                request, gettext("This line is already booked (%(how)s).") % {"how": self.line.booking_note}
            )
            return redirect("ledger_bankline:inspect", self.line.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.line)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("ledger_bankstatement:index"), "label": gettext("Bank statements")},
            {
                "url": reverse("ledger_bankstatement:inspect", args=[self.line.statement_id]),
                "label": str(self.line.statement),
            },
            {"url": reverse("ledger_bankline:inspect", args=[self.line.pk]), "label": str(self.line)},
            {"url": "", "label": self.get_page_title()},
        ]

    def book(self, data: dict):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            transaction = self.book(form.cleaned_data)
        except BankLineRefused as refusal:
            form.add_error(None, str(refusal))
            return self.form_invalid(form)
        except Exception:  # a domain's service failed unexpectedly: nothing was booked (rolled back)
            logger.exception("ledger.bank: booking bank line %s failed", self.line.pk)
            form.add_error(
                None, gettext("The line could not be booked; the error was logged. Nothing was booked.")
            )
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Booked %(amount)s of %(date)s: %(how)s")
            % {
                "amount": amount_display(self.line.amount),
                "date": self.line.booking_date.isoformat(),
                "how": BankLine.objects.get(pk=self.line.pk).booking_note or transaction.description,
            },
        )
        return redirect("ledger_bankstatement:inspect", self.line.statement_id)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            line=self.line,
            amount=amount_display(self.line.amount),
            action_url=self.request.path,
            cancel_url=reverse("ledger_bankline:inspect", args=[self.line.pk]),
        )
        return context


class LineConfirmView(LineActionView):
    """Confirm what a line pays, out of the matchers' proposals."""

    form_class = LineConfirmForm
    template_name = "ledger/bank/line_confirm.html"
    page_title = _("Confirm what the line pays")

    def get(self, request, *args, **kwargs):
        if not self.matches:
            messages.error(request, gettext("Nothing open matches this line; book it to an account instead."))
            return redirect("ledger_bankline:book", self.line.pk)
        return super().get(request, *args, **kwargs)

    @cached_property
    def matches(self):
        return line_matches(self.line)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["matches"] = self.matches
        key = self.request.GET.get("key")
        if key and any(match.key == key for match in self.matches):
            kwargs["initial"] = {"key": key}
        return kwargs

    def form_invalid(self, form):
        if not self.matches:
            messages.error(
                self.request,
                gettext(
                    "That proposal no longer applies to this line; nothing was booked. Look at the line again."
                ),
            )
            return redirect("ledger_bankline:inspect", self.line.pk)
        return super().form_invalid(form)

    def book(self, data: dict):
        return line_book_match(line=self.line, key=data["key"], by=self.request.user)


class LineBookView(LineActionView):
    """Book a line to an account and cost centre, with a note."""

    form_class = LineBookForm
    template_name = "ledger/bank/line_book.html"
    page_title = _("Book the line to an account")

    def book(self, data: dict):
        return line_book_account(
            line=self.line,
            account=data["account"],
            cost_centre=data["cost_centre"],
            note=data["note"],
            by=self.request.user,
        )


class BankLineViewSet(ModelViewSet):
    model = BankLine
    name = "ledger_bankline"
    url_prefix = "ledger/bank-lines"
    icon = "list-ul"
    menu_label = _("Bank lines to book")
    menu_order = 20
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = BankLineIndexView
    inspect_view_class = BankLineInspectView
    exclude_form_fields = []
    list_display = [
        "__str__",
        "booking_date",
        AmountColumn("amount", label=_("Amount (EUR)"), sort_key="amount"),
        "counterparty_name",
        TextColumn("remittance_text", label=_("Remittance information")),
        StateColumn("state", label=_("State")),
    ]
    list_export = [
        "account",
        "statement.statement_id",
        "entry",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "counterparty_name",
        "counterparty_iban",
        "remittance_text",
        "end_to_end_id",
        "bank_reference",
        "booking_note",
        "booked_transaction.idempotency_key",
    ]
    export_headings = {
        "statement.statement_id": _("Statement"),
        "booked_transaction.idempotency_key": _("Transaction key"),
    }
    export_filename = "bank-lines"
    filterset_class = BankLineFilterSet
    search_fields = ["counterparty_name", "remittance_text", "end_to_end_id", "bank_reference"]
    inspect_view_fields = [
        "statement",
        "entry",
        "booking_date",
        "value_date",
        "amount",
        "counterparty_name",
        "counterparty_iban",
        "remittance_text",
        "end_to_end_id",
        "bank_reference",
        "looks_like_duplicate",
        "booked_transaction",
        "booking_note",
        "booked_at",
        "booked_by",
    ]

    @cached_property
    def menu_url(self):
        return reverse(self.get_url_name("index")) + "?state=open"

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("confirm/<int:pk>/", LineConfirmView.as_view(), name="confirm"),
            path("book/<int:pk>/", LineBookView.as_view(), name="book"),
        ]


PERMISSION_POLICIES = {
    BankStatement: FinancePermissionPolicy(BankStatement, actions={"view", "import"}),
    BankLine: FinancePermissionPolicy(BankLine, actions={"view", "book"}),
}
