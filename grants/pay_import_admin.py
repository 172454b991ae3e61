"""Finance's screen for importing a month's pay from a CSV file (docs/grants-pay-import.md).

- ``/admin/grants/pay-import/`` (``grants_pay_import``): the upload form. A file with any bad row imports
  nothing; the page lists every problem (row, column, what is wrong). A good file is imported and posted
  whole; the message says how many pay records and what total were posted.
- ``/admin/grants/pay-import/template.csv`` (``grants_pay_import_template``): a template to fill in, with
  the header row and one row per person working in the previous month who has no pay record for it yet
  (``?separator=semicolon`` for German Excel).

Finance role with MFA only (``accounts.access.finance_required``) and the permission to add pay records;
the menu item "Import pay (CSV)" in the Grants menu is shown to them only. Importing this module registers
both URLs and the menu item.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io

from babel.numbers import format_currency
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, gettext, ngettext, to_locale
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import FormView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from accounts.access import finance_required, is_finance
from ledger.querysets import month_end

from .models import PayRecord, Person
from .pay_import import COLUMNS, MAX_ROWS, UTF8_BOM, pay_records_import
from .viewsets import GRANTS_MENU_HOOK, user_may

ERRORS_SHOWN = 500  # a file with more problems shows the first ones and says how many more


def pay_records_list_url() -> str | None:
    """The admin list of pay records, if a viewset for them is registered."""
    from wagtail.admin.viewsets import viewsets

    for viewset in viewsets.viewsets:
        if getattr(viewset, "model", None) is PayRecord and hasattr(viewset, "get_url_name"):
            try:
                return reverse(viewset.get_url_name("index"))
            except NoReverseMatch:
                continue
    return None


def may_import(user) -> bool:
    """Finance (the role, MFA is checked by ``finance_required``) with the permission to add pay records."""
    return is_finance(user) and user_may(user, PayRecord, "add")


def import_permission_required(view_func):
    """``finance_required`` (log in, finance role, MFA set up), then the permission to add pay records."""

    @finance_required
    @functools.wraps(view_func)
    def wrapped(request, *args, **kwargs):
        if not may_import(request.user):
            raise PermissionDenied
        return view_func(request, *args, **kwargs)

    return wrapped


def _money(amount) -> str:
    return format_currency(amount, "EUR", locale=to_locale(get_language() or "en"))


class PayImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by commas or semicolons, at most 2 MB and 5,000 rows."),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={
            "required": _("Choose the CSV file with the pay records."),
            "empty": _("The file is empty. Choose the CSV file with the pay records."),
        },
    )


@method_decorator(import_permission_required, name="dispatch")
class PayImportView(WagtailAdminTemplateMixin, FormView):
    form_class = PayImportForm
    template_name = "grants/admin/pay_import.html"
    page_title = _("Import pay (CSV)")
    header_icon = "upload"
    http_method_names = ["get", "post"]

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        result = kwargs.get("result")
        row_errors = result.row_errors if result else []
        context.update(
            result=result,
            file_errors=result.file_errors if result else [],
            row_errors=row_errors[:ERRORS_SHOWN],
            errors_not_shown=max(0, len(row_errors) - ERRORS_SHOWN),
            rows_with_errors=len({error.row for error in row_errors}),
            columns=COLUMNS,
            max_rows=MAX_ROWS,
            template_url=reverse("grants_pay_import_template"),
            pay_records_url=pay_records_list_url(),
        )
        return context

    def form_valid(self, form):
        result = pay_records_import(file=form.cleaned_data["file"], by=self.request.user)
        if result.errors:
            return self.render_to_response(self.get_context_data(form=self.get_form_class()(), result=result))
        message = ngettext(
            "%(count)s pay record imported and posted, %(total)s in all.",
            "%(count)s pay records imported and posted, %(total)s in all.",
            result.count,
        ) % {"count": result.count, "total": _money(result.total)}
        list_url = pay_records_list_url()
        buttons = [messages.button(list_url, gettext("Show pay records"))] if list_url else None
        messages.success(self.request, message, buttons=buttons)
        return redirect("grants_pay_import")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@import_permission_required
def pay_import_template(request):
    """The CSV to fill in: header, and one row per person working last month who has no pay record yet."""
    semicolon = request.GET.get("separator") == "semicolon"
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    people = (
        Person.objects.filter(start_date__lte=month_end(last_month))
        .exclude(end_date__lt=last_month)
        .exclude(pay_records__month=last_month)
        .order_by("name", "pk")
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if semicolon else ",", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for person in people:
        writer.writerow([person.name, f"{last_month:%Y-%m}", "", "", "", ""])
    response = HttpResponse(
        UTF8_BOM + buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="pay-{last_month:%Y-%m}.csv"'
    return response


@hooks.register("register_admin_urls")
def register_pay_import_urls():
    return [
        path("grants/pay-import/", PayImportView.as_view(), name="grants_pay_import"),
        path("grants/pay-import/template.csv", pay_import_template, name="grants_pay_import_template"),
    ]


class PayImportMenuItem(MenuItem):
    def is_shown(self, request):
        return may_import(request.user)


@hooks.register(GRANTS_MENU_HOOK)
def register_pay_import_menu_item():
    """In the Grants menu, after "Pay records" (210)."""
    return PayImportMenuItem(
        _("Import pay (CSV)"),
        reverse_lazy("grants_pay_import"),
        name="grants-pay-import",
        icon_name="upload",
        order=215,
    )
