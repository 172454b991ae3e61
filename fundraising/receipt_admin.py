"""Finance screens for donation receipts in the Wagtail admin.

- **Donation receipts**: list with filters (kind, year, issue date, kept copy), search by number or donor,
  spreadsheet export, and an inspect view with the payments a receipt covers and its PDF. Receipts are
  never added, edited or deleted here: they are issued by ``fundraising.receipts`` only.
- **Annual receipt runs**: each year's January run with its progress (donors handled of all donors,
  receipts issued, donors skipped and why). Finance may start a run for a past year; it is queued as a
  task and is idempotent per year.

Importing this module registers the screens (``register_admin_viewset`` hook) as one menu group,
"Donation receipts". Access follows Django model permissions of the finance group:
``fundraising.view_donationreceipt``, ``fundraising.view_receiptbatch`` and
``fundraising.add_receiptbatch``.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from ledger.viewsets import AmountColumn, LedgerIndexView, LedgerPermissionPolicy, format_amount

from .models import DonationReceipt, ReceiptBatch
from .receipts import receipt_amount, receipt_refusal_reason


def _download_link(receipt: DonationReceipt) -> str:
    if receipt.purged_at:
        return _("deleted after retention")
    url = reverse("fundraising:receipt_download", kwargs={"number": receipt.number})
    return format_html('<a href="{}">{}</a>', url, _("PDF"))


class DownloadColumn(Column):
    def get_value(self, instance):
        return _download_link(instance)


# --- Donation receipts -------------------------------------------------------------------------
class DonationReceiptFilterSet(WagtailFilterSet):
    year = django_filters.NumberFilter(label=_("Year of the donations"), field_name="period_end__year")
    issued_at = django_filters.DateFromToRangeFilter(label=_("Issued"), widget=DateRangePickerWidget)
    kept = django_filters.BooleanFilter(label=_("Copy kept"), field_name="purged_at", lookup_expr="isnull")

    class Meta:
        model = DonationReceipt
        fields = ["kind"]


class DonationReceiptIndexView(LedgerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("patron")


class DonationReceiptInspectView(generic.InspectView):
    def get_field_label(self, field_name, field):
        if field_name == "payments":
            return _("Donations covered")
        if field_name == "pdf":
            return _("PDF")
        return super().get_field_label(field_name, field)

    def get_pdf_display_value(self):
        return _download_link(self.object)

    def get_payments_display_value(self):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='w-text-right'>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(payment.paid_at).date(),
                    payment.number,
                    format_amount(receipt_amount(payment)),
                    payment.get_status_display(),
                )
                for payment in self.object.payments.order_by("paid_at", "pk")
            ),
        )
        return format_html(
            "<table class='listing'><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("Date"),
            _("Payment"),
            _("Amount (EUR)"),
            _("Status"),
            rows,
        )


class DonationReceiptViewSet(ModelViewSet):
    model = DonationReceipt
    name = "fundraising_receipt"
    url_prefix = "fundraising/receipts"
    icon = "doc-full"
    menu_label = _("Donation receipts")
    menu_order = 100
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = DonationReceiptIndexView
    inspect_view_class = DonationReceiptInspectView
    exclude_form_fields = []
    list_display = [
        "number",
        "donor_name",
        "kind",
        AmountColumn("total", label=_("Total (EUR)"), sort_key="total"),
        "period_start",
        "period_end",
        "issued_at",
        DownloadColumn("pdf", label=_("PDF")),
    ]
    filterset_class = DonationReceiptFilterSet
    search_fields = ["number", "donor_name"]
    list_export = [
        "number",
        "kind",
        "donor_name",
        "total",
        "period_start",
        "period_end",
        "issued_at",
        "retain_until",
        "purged_at",
    ]
    export_filename = "donation-receipts"
    inspect_view_fields = [
        "number",
        "kind",
        "patron",
        "donor_name",
        "donor_address",
        "total",
        "period_start",
        "period_end",
        "issued_at",
        "retain_until",
        "purged_at",
        "pdf",
        "payments",
    ]


# --- Annual receipt runs -----------------------------------------------------------------------
class ReceiptBatchForm(WagtailAdminModelForm):
    class Meta:
        model = ReceiptBatch
        fields = ["year"]

    def clean_year(self):
        year = self.cleaned_data["year"]
        if year >= timezone.localdate().year:
            raise forms.ValidationError(_("A run covers a year that has ended: choose an earlier year."))
        return year

    def clean(self):
        cleaned = super().clean()
        reason = receipt_refusal_reason()
        if reason:
            raise forms.ValidationError(reason)
        return cleaned


class ProgressColumn(Column):
    def get_value(self, instance):
        return _("%(handled)s of %(total)s (%(percent)s %%)") % {
            "handled": instance.done + instance.skipped,
            "total": instance.total,
            "percent": instance.percent,
        }


class ReceiptBatchCreateView(generic.CreateView):
    def save_instance(self):
        from . import receipt_tasks

        batch = super().save_instance()
        receipt_tasks.receipt_batch_run.delay_on_commit(batch.year)
        return batch

    def get_success_message(self, instance):
        return _("The annual receipts for %(year)s are being issued. Watch the progress here.") % {
            "year": instance.year
        }


class ReceiptBatchViewSet(ModelViewSet):
    model = ReceiptBatch
    name = "fundraising_receipt_run"
    url_prefix = "fundraising/receipt-runs"
    icon = "history"
    menu_label = _("Annual receipt runs")
    menu_order = 110
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    add_view_class = ReceiptBatchCreateView
    list_display = [
        "year",
        "status",
        ProgressColumn("progress", label=_("Donors handled")),
        "done",
        "skipped",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_export = ["year", "status", "total", "done", "skipped", "started_at", "finished_at", "message"]
    inspect_view_fields = [
        "year",
        "status",
        "total",
        "done",
        "skipped",
        "started_at",
        "finished_at",
        "message",
    ]

    def get_form_class(self, for_update=False):
        return ReceiptBatchForm


class ReceiptViewSetGroup(ModelViewSetGroup):
    menu_label = _("Donation receipts")
    menu_icon = "doc-full"
    menu_order = 850
    items = (DonationReceiptViewSet, ReceiptBatchViewSet)


for _model, _policy in {
    DonationReceipt: LedgerPermissionPolicy(DonationReceipt, actions={"view"}),
    ReceiptBatch: LedgerPermissionPolicy(ReceiptBatch, actions={"view", "add"}),
}.items():
    register_permission_policy(_model, _policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_receipt_admin():
    return ReceiptViewSetGroup()
