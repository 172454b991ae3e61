"""Finance's tax screens in the Wagtail admin (issue 7, points 5 and 6). Read-only.

- ``/admin/reports/tax/spheres/`` (``reports_tax_spheres``): income and spending per tax sphere and report
  category for a year (``?year=2026``), and the §64(3) AO monitor: the taxable business's gross receipts
  against the limit with a progress bar, and the alerts sent.
- ``/admin/reports/tax/vat/`` (``reports_tax_vat``): the figures of the VAT return (Umsatzsteuer-
  Voranmeldung) for a month or a quarter (``?year=2026&period=3`` or ``&period=q1``).
- ``/admin/reports/tax/ec-sales/`` (``reports_tax_ec_sales``): the EC sales list (Zusammenfassende Meldung)
  for a quarter (``?year=2026&quarter=1``).
- ``/admin/reports/tax/datev/`` (``reports_tax_datev``): the DATEV export; with ``?start=…&end=…`` it
  downloads the Buchungsstapel.

The first three take ``&export=csv`` for the same figures as a CSV file (formula cells neutralised).
Bad input (year 0000, month 13, a period over two fiscal years) shows a message and the form, never a 500.

Finance role with MFA (``accounts.access.finance_required``) and ``ledger.view_finance``. This module
registers nothing itself: the reports' admin hooks add ``admin_urls()`` under /admin/ and ``menu_items()``
to the menu.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path, reverse_lazy
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from accounts.access import finance_required, has_mfa, is_finance
from ledger.models import Account, TaxSphere
from ledger.viewsets import cell_neutralise, format_amount

from . import datev, tax
from .models import ThresholdAlert

PERMISSION = "ledger.view_finance"
UTF8_BOM = "\ufeff".encode()
FIRST_YEAR = 2000
LAST_YEAR = 2999

CATEGORY_LABELS = dict(Account.Category.choices)


def may_see_tax(user) -> bool:
    return is_finance(user) and has_mfa(user) and user.has_perm(PERMISSION)


def tax_access_required(view_func):
    """``finance_required`` (log in, the finance role, MFA set up), then ``ledger.view_finance``."""

    @finance_required
    @functools.wraps(view_func)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view_func(request, *args, **kwargs)

    return wrapped


def amount_text(value) -> str:
    return f"{format_amount(value)} EUR"


def whole_text(value: int) -> str:
    return f"{format_amount(value)[:-3]} EUR"


def money_csv(value) -> str:
    return f"{value:.2f}"


def csv_response(*, rows: list[list], filename: str) -> HttpResponse:
    """A UTF-8 CSV (with BOM for spreadsheets); every text cell neutralised, amounts as "1234.50"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell_neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    response = HttpResponse(
        UTF8_BOM + buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _previous_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


# --- Forms ----------------------------------------------------------------------------------------------


class YearForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year"),
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
        error_messages={
            "required": _("Enter a year, e.g. 2026."),
            "invalid": _("Enter the year as four digits, e.g. 2026."),
            "min_value": _("Enter a year from %(limit_value)s on."),
            "max_value": _("Enter a year up to %(limit_value)s."),
        },
    )

    @classmethod
    def defaults(cls, today: datetime.date) -> dict:
        return {"year": str(today.year)}


def _period_choices():
    months = [(str(number), MONTHS[number]) for number in range(1, 13)]
    quarters = [(f"q{number}", _("Quarter %(number)s") % {"number": number}) for number in range(1, 5)]
    return [(_("Month"), months), (_("Quarter"), quarters)]


class VatPeriodForm(YearForm):
    period = forms.ChoiceField(
        label=_("Month or quarter"),
        choices=_period_choices,
        error_messages={
            "required": _("Choose a month or a quarter."),
            "invalid_choice": _("Choose a month from 1 to 12 or a quarter from Q1 to Q4."),
        },
    )

    @classmethod
    def defaults(cls, today: datetime.date) -> dict:
        last_month = _previous_month(today)
        return {"year": str(last_month.year), "period": str(last_month.month)}

    def tax_period(self) -> tax.TaxPeriod:
        year, period = self.cleaned_data["year"], self.cleaned_data["period"]
        if period.startswith("q"):
            return tax.TaxPeriod(year=year, quarter=int(period[1:]))
        return tax.TaxPeriod(year=year, month=int(period))


class QuarterForm(YearForm):
    quarter = forms.TypedChoiceField(
        label=_("Quarter"),
        coerce=int,
        choices=[(str(number), _("Quarter %(number)s") % {"number": number}) for number in range(1, 5)],
        error_messages={
            "required": _("Choose a quarter."),
            "invalid_choice": _("Choose a quarter from 1 to 4."),
        },
    )

    @classmethod
    def defaults(cls, today: datetime.date) -> dict:
        last_quarter_end = datetime.date(
            today.year, 3 * ((today.month - 1) // 3) + 1, 1
        ) - datetime.timedelta(days=1)
        return {"year": str(last_quarter_end.year), "quarter": str((last_quarter_end.month + 2) // 3)}


class DatevExportForm(forms.Form):
    start = forms.DateField(
        label=_("From"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the first day."),
            "invalid": _("Enter the first day as YYYY-MM-DD."),
        },
    )
    end = forms.DateField(
        label=_("To"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the last day."),
            "invalid": _("Enter the last day as YYYY-MM-DD."),
        },
        help_text=_("Both days included; at most one fiscal year (DATEV takes one fiscal year per batch)."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            try:
                datev.period_check(start, end)
            except datev.DatevExportError as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned


# --- Views ----------------------------------------------------------------------------------------------


@method_decorator([never_cache, tax_access_required], name="dispatch")
class TaxScreenView(WagtailAdminTemplateMixin, TemplateView):
    """A screen that takes its period from a GET form (defaults filled in) and offers a CSV of its figures."""

    form_class: type[forms.Form] = YearForm
    header_icon = "table"
    http_method_names = ["get", "head"]

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def form_data(self) -> dict:
        data = self.form_class.defaults(timezone.localdate())
        for name in data:
            if name in self.request.GET:
                data[name] = self.request.GET.get(name, "")
        return data

    def get(self, request, *args, **kwargs):
        form = self.form_class(self.form_data())
        if not form.is_valid():
            messages.error(request, gettext("The period was not understood; correct it below."))
            return self.render_to_response(self.get_context_data(form=form, figures=None), status=400)
        figures = self.figures(form)
        if request.GET.get("export") == "csv":
            return csv_response(rows=self.csv_rows(figures), filename=self.csv_filename(figures))
        context = self.get_context_data(
            form=form,
            figures=figures,
            csv_url="?" + urlencode({**form.data, "export": "csv"}),
            **self.extra_context_for(figures),
        )
        return self.render_to_response(context)

    def figures(self, form):
        raise NotImplementedError

    def extra_context_for(self, figures) -> dict:
        return {}

    def csv_rows(self, figures) -> list[list]:
        raise NotImplementedError

    def csv_filename(self, figures) -> str:
        raise NotImplementedError


class SpheresView(TaxScreenView):
    template_name = "reports/tax/spheres.html"
    page_title = _("Tax spheres")
    form_class = YearForm

    def figures(self, form):
        return tax.sphere_figures(form.cleaned_data["year"])

    def extra_context_for(self, figures: tax.SphereFigures) -> dict:
        receipts = tax.taxable_receipts_breakdown(figures.year)
        share = max(receipts.share, 0)
        return {
            "sphere_headings": [
                {"number": column.sphere, "label": column.label} for column in figures.spheres
            ],
            "rows": self._rows(figures),
            "receipts": receipts,
            "receipts_display": {
                "gross": amount_text(receipts.gross),
                "net": amount_text(receipts.net),
                "vat": amount_text(receipts.vat),
                "limit": amount_text(receipts.limit),
                "remaining": amount_text(receipts.remaining),
                "share": f"{receipts.share}",
            },
            "bar_width": f"{min(share, 100)}",
            "bar_level": "over" if receipts.reached(100) else ("warning" if receipts.reached(80) else "ok"),
            "alerts": [
                {
                    "level": alert.level,
                    "receipts": amount_text(alert.receipts),
                    "sent_at": alert.sent_at,
                }
                for alert in ThresholdAlert.objects.filter(year=figures.year).order_by("level")
            ],
        }

    @staticmethod
    def _rows(figures: tax.SphereFigures) -> list[dict]:
        rows: list[dict] = [{"heading": gettext("Income")}]
        for category in tax.INCOME_CATEGORIES:
            values = figures.income_by_category(category)
            rows.append(
                {
                    "label": CATEGORY_LABELS[category],
                    "values": [amount_text(value) for value in values],
                    "total": amount_text(sum(values, tax.ZERO)),
                }
            )
        rows.append(
            {
                "label": gettext("Income total"),
                "values": [amount_text(column.income_total) for column in figures.spheres],
                "total": amount_text(figures.income_total),
                "strong": True,
            }
        )
        rows.append({"heading": gettext("Spending")})
        for category in tax.SPENDING_CATEGORIES:
            values = figures.spending_by_category(category)
            rows.append(
                {
                    "label": CATEGORY_LABELS[category],
                    "values": [amount_text(value) for value in values],
                    "total": amount_text(sum(values, tax.ZERO)),
                }
            )
        rows.append(
            {
                "label": gettext("Spending total"),
                "values": [amount_text(column.spending_total) for column in figures.spheres],
                "total": amount_text(figures.spending_total),
                "strong": True,
            }
        )
        rows.append(
            {
                "label": gettext("Result"),
                "values": [amount_text(column.result) for column in figures.spheres],
                "total": amount_text(figures.result),
                "strong": True,
            }
        )
        return rows

    def csv_rows(self, figures: tax.SphereFigures) -> list[list]:
        spheres = [f"{gettext('Sphere')} {column.sphere}" for column in figures.spheres]
        rows = [[gettext("Kind"), gettext("Category"), *spheres, gettext("Total")]]
        for category in tax.INCOME_CATEGORIES:
            values = figures.income_by_category(category)
            rows.append(
                [
                    gettext("Income"),
                    str(CATEGORY_LABELS[category]),
                    *map(money_csv, values),
                    money_csv(sum(values, tax.ZERO)),
                ]
            )
        for category in tax.SPENDING_CATEGORIES:
            values = figures.spending_by_category(category)
            rows.append(
                [
                    gettext("Spending"),
                    str(CATEGORY_LABELS[category]),
                    *map(money_csv, values),
                    money_csv(sum(values, tax.ZERO)),
                ]
            )
        rows.append(
            [
                gettext("Result"),
                "",
                *(money_csv(column.result) for column in figures.spheres),
                money_csv(figures.result),
            ]
        )
        return rows

    def csv_filename(self, figures: tax.SphereFigures) -> str:
        return f"tax-spheres-{figures.year}.csv"


class VatReturnView(TaxScreenView):
    template_name = "reports/tax/vat.html"
    page_title = _("VAT return")
    form_class = VatPeriodForm

    def figures(self, form):
        return tax.vat_return(form.tax_period())

    def extra_context_for(self, figures: tax.VatReturn) -> dict:
        return {
            "return_rows": [
                {
                    "field": row["field"],
                    "label": row["label"],
                    "base": amount_text(row["base"]),
                    "base_whole": whole_text(row["base_whole"]) if row["base_whole"] is not None else "",
                    "vat": amount_text(row["vat"]) if row["vat"] is not None else "",
                }
                for row in self._return_rows(figures)
            ],
            "tax_accounts": [
                {
                    "name": f"{item.name} ({item.code})",
                    "datev_number": item.datev_number,
                    "kind": gettext("input VAT")
                    if item.kind == Account.Kind.ASSET
                    else gettext("output VAT"),
                    "amount": amount_text(item.amount),
                }
                for item in figures.tax_accounts
            ],
            "booked_rates": [
                {
                    "rate": f"{row.rate.normalize():f}",
                    "booked": amount_text(row.vat_booked),
                    "at_rate": amount_text(row.vat_at_rate),
                }
                for row in figures.sales_by_rate
            ],
            "vat_payable": amount_text(figures.vat_payable),
            "input_vat": amount_text(figures.input_vat),
            "balance": amount_text(figures.balance),
            "untaxed": [
                {"label": TaxSphere(sphere).label, "amount": amount_text(amount)}
                for sphere, amount in figures.untaxed_by_sphere.items()
            ],
            "untaxed_total": amount_text(figures.untaxed_total),
        }

    @staticmethod
    def _return_rows(figures: tax.VatReturn) -> list[dict]:
        rows = []
        for item in figures.sales_by_rate:
            rows.append(
                {
                    "field": item.field,
                    "label": gettext("Taxable sales at %(rate)s %% (net base)")
                    % {"rate": f"{item.rate.normalize():f}"},
                    "base": item.base,
                    "base_whole": item.base_whole,
                    "vat": item.vat_at_rate,
                }
            )
        rows.append(
            {
                "field": tax.REVERSE_CHARGE_FIELD,
                "label": gettext("Services to EU businesses, reverse charge (in the EC sales list)"),
                "base": figures.reverse_charge,
                "base_whole": figures.reverse_charge_whole,
                "vat": None,
            }
        )
        rows.append(
            {
                "field": tax.NON_EU_FIELD,
                "label": gettext("Other sales not taxable in Germany (customers outside the EU)"),
                "base": figures.non_eu,
                "base_whole": figures.non_eu_whole,
                "vat": None,
            }
        )
        if figures.input_vat:
            rows.append(
                {
                    "field": tax.INPUT_VAT_FIELD,
                    "label": gettext("Input VAT"),
                    "base": figures.input_vat,
                    "base_whole": None,  # Kz 66 takes cents
                    "vat": figures.input_vat,
                }
            )
        return rows

    def csv_rows(self, figures: tax.VatReturn) -> list[list]:
        rows = [
            [
                gettext("Field (Kz)"),
                gettext("Item"),
                gettext("Amount (EUR)"),
                gettext("Whole euros"),
                gettext("VAT"),
            ]
        ]
        for row in self._return_rows(figures):
            rows.append(
                [
                    row["field"],
                    row["label"],
                    money_csv(row["base"]),
                    str(row["base_whole"]) if row["base_whole"] is not None else "",
                    money_csv(row["vat"]) if row["vat"] is not None else "",
                ]
            )
        for item in figures.tax_accounts:
            rows.append(
                [
                    "",
                    gettext("VAT booked on %(account)s") % {"account": item.code},
                    money_csv(item.amount),
                    "",
                    "",
                ]
            )
        rows.append(["", gettext("VAT payable"), money_csv(figures.vat_payable), "", ""])
        for sphere, amount in figures.untaxed_by_sphere.items():
            rows.append(
                [
                    "",
                    gettext("Income without VAT, sphere %(sphere)s (not in the return)") % {"sphere": sphere},
                    money_csv(amount),
                    "",
                    "",
                ]
            )
        return rows

    def csv_filename(self, figures: tax.VatReturn) -> str:
        return f"vat-return-{figures.period.slug}.csv"


class EcSalesListView(TaxScreenView):
    template_name = "reports/tax/ec_sales.html"
    page_title = _("EC sales list")
    form_class = QuarterForm

    def figures(self, form):
        return tax.ec_sales_list(form.cleaned_data["year"], form.cleaned_data["quarter"])

    def extra_context_for(self, figures: tax.EcSalesList) -> dict:
        booked = tax.vat_return(figures.period).reverse_charge
        return {
            "booked": amount_text(booked),
            "booked_differs": booked != figures.total,
            "lines": [
                {
                    "country_code": line.country_code,
                    "vat_number": line.vat_number,
                    "amount_whole": whole_text(line.amount_whole),
                    "amount": amount_text(line.amount),
                    "documents": ", ".join(line.documents),
                }
                for line in figures.lines
            ],
            "total_whole": whole_text(figures.total_whole),
            "total": amount_text(figures.total),
            "note": tax.EC_SALES_LIST_NOTE,
        }

    def csv_rows(self, figures: tax.EcSalesList) -> list[list]:
        rows = [
            [
                gettext("Country code"),
                gettext("VAT id without country code"),
                gettext("Amount (whole euros)"),
                gettext("Amount (EUR)"),
                gettext("Invoices and credit notes"),
            ]
        ]
        for line in figures.lines:
            rows.append(
                [
                    line.country_code,
                    line.vat_number,
                    str(line.amount_whole),
                    money_csv(line.amount),
                    " ".join(line.documents),
                ]
            )
        return rows

    def csv_filename(self, figures: tax.EcSalesList) -> str:
        return f"ec-sales-list-{figures.period.slug}.csv"


@method_decorator([never_cache, tax_access_required], name="dispatch")
class DatevExportView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "reports/tax/datev.html"
    page_title = _("DATEV export")
    header_icon = "download"
    http_method_names = ["get", "head"]

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get(self, request, *args, **kwargs):
        if "start" not in request.GET and "end" not in request.GET:
            today = timezone.localdate()
            form = DatevExportForm(initial={"start": datetime.date(today.year, 1, 1), "end": today})
            return self.render_to_response(self.get_context_data(form=form))
        form = DatevExportForm(request.GET)
        if not form.is_valid():
            messages.error(request, gettext("The export period was not understood; correct it below."))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            export = datev.datev_export(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        except datev.DatevExportError as error:
            messages.error(request, str(error))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        response = HttpResponse(export.content, content_type=f"text/csv; charset={datev.ENCODING}")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        options = datev.DatevSettings.from_settings()
        context["datev_settings"] = options
        context["adviser_number_is_default"] = getattr(settings, "DATEV_ADVISER_NUMBER", None) in (
            None,
            1001,
        )  # the placeholder
        return context


# --- Wiring (called by the reports' admin hooks) -----------------------------------------------------


def admin_urls() -> list:
    """The URLs of the tax screens, to be registered under /admin/ (``register_admin_urls``)."""
    return [
        path("reports/tax/spheres/", SpheresView.as_view(), name="reports_tax_spheres"),
        path("reports/tax/vat/", VatReturnView.as_view(), name="reports_tax_vat"),
        path("reports/tax/ec-sales/", EcSalesListView.as_view(), name="reports_tax_ec_sales"),
        path("reports/tax/datev/", DatevExportView.as_view(), name="reports_tax_datev"),
    ]


class TaxMenuItem(MenuItem):
    def is_shown(self, request):
        return may_see_tax(request.user)


def menu_items() -> list[MenuItem]:
    """The menu items of the tax screens, shown to finance with MFA only."""
    return [
        TaxMenuItem(
            _("Tax spheres"),
            reverse_lazy("reports_tax_spheres"),
            name="reports-tax-spheres",
            icon_name="table",
            order=410,
        ),
        TaxMenuItem(
            _("VAT return"),
            reverse_lazy("reports_tax_vat"),
            name="reports-tax-vat",
            icon_name="doc-full",
            order=420,
        ),
        TaxMenuItem(
            _("EC sales list"),
            reverse_lazy("reports_tax_ec_sales"),
            name="reports-tax-ec-sales",
            icon_name="site",
            order=430,
        ),
        TaxMenuItem(
            _("DATEV export"),
            reverse_lazy("reports_tax_datev"),
            name="reports-tax-datev",
            icon_name="download",
            order=440,
        ),
    ]
