"""Staff screens of sponsors in the Wagtail admin, one "Sponsors" menu group (registered in wagtail_hooks.py).

- **Packages**: a snippet with drafts and revisions (finance edits prices and benefits).
- **Sponsorships**: list (filters: status, package, VAT treatment of the latest invoice, the sponsor's
  country, start and end dates; search by the sponsor's name; spreadsheet export) and an inspect view
  with the company, its contacts, its logo, the history of the status and the invoices, and the actions
  the status allows: approve, reject, issue the invoice, cancel (sponsors/admin_views.py).
- **Invoices** (and credit notes): list with filters and export; mark paid by bank transfer, cancel with
  a credit note (optionally issuing a corrected invoice), download the PDF.
- **Unpaid invoices**: open invoices past their due date, with the days overdue and the reminders sent.
- **Companies**: list, inspect, and edit of the billing data.
- **Logo review**: the logos waiting for review, previewed on light and dark backgrounds; approve or
  reject with a reason (editors and finance).

Nothing is added or deleted here and no invoice or sponsorship is edited: status changes go through
``sponsors.services`` only. Access follows Django model permissions (accounts/roles.py) through
``SponsorsPermissionPolicy``; like every staff page, these need MFA (accounts.middleware).
"""

from __future__ import annotations

import django_filters
from django.db.models import Count, OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.coreutils import multigetattr
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.snippets.views.snippets import SnippetViewSet

from ledger.viewsets import AmountColumn, LedgerIndexView, format_amount

from . import admin_views
from .admin_forms import SponsorAdminForm
from .models import (
    Invoice,
    Package,
    Sponsor,
    SponsorLogo,
    Sponsorship,
    SponsorshipChange,
    Status,
    VatTreatment,
)

# --- Permissions ----------------------------------------------------------------------------------


class SponsorsPermissionPolicy(ModelPermissionPolicy):
    """Only the actions named here exist for a model; each maps to one Django model permission.

    Wagtail's generic add, edit and delete views stay shut unless "add", "change" or "delete" is named,
    even for superusers: invoices and sponsorships change through the services only. The actions of
    sponsors/admin_views.py have their own names ("decide", "settle", "review").
    """

    def __init__(self, model, *, actions: dict[str, str]):
        super().__init__(model)
        self.actions = dict(actions)

    def user_has_permission(self, user, action):
        permission = self.actions.get(action)
        return permission is not None and super().user_has_permission(user, permission)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        permissions = sorted({self.actions[action] for action in actions if action in self.actions})
        if not permissions:
            return super().users_with_any_permission([]).none()
        return super().users_with_any_permission(permissions)


PERMISSION_POLICIES = {
    Package: SponsorsPermissionPolicy(
        Package, actions={"add": "add", "change": "change", "view": "view", "publish": "publish"}
    ),
    Sponsor: SponsorsPermissionPolicy(Sponsor, actions={"view": "view", "change": "change"}),
    # "decide": approve, reject, issue the invoice, cancel (finance: they create or cancel invoices)
    Sponsorship: SponsorsPermissionPolicy(Sponsorship, actions={"view": "view", "decide": "change"}),
    # "settle": mark paid, cancel with a credit note; "view" includes the PDF (finance)
    Invoice: SponsorsPermissionPolicy(Invoice, actions={"view": "view", "settle": "change"}),
    # "review": approve or reject a logo (editors and finance)
    SponsorLogo: SponsorsPermissionPolicy(SponsorLogo, actions={"view": "view", "review": "change"}),
}


# --- Spreadsheet exports --------------------------------------------------------------------------

NOWRAP = "w-whitespace-nowrap"


class SponsorsIndexView(LedgerIndexView):
    """Listings of sponsors: safe CSV cells, amounts exported with two decimal places; invoice numbers
    and amounts are never broken over lines."""

    nowrap_columns = ("number", "net_amount", "vat_amount", "gross_amount")

    @cached_property
    def columns(self):
        columns = super().columns
        for column in columns:
            if column.name in self.nowrap_columns:
                column.classname = f"{column.classname or ''} {NOWRAP}".strip()
        return columns

    def to_row_dict(self, item):
        """An empty relation (an invoice that cancels nothing) exports as an empty cell."""
        row = {}
        for field in self.list_export:
            try:
                row[field] = multigetattr(item, field)
            except AttributeError:
                row[field] = None
        return row


# --- Columns --------------------------------------------------------------------------------------


def vat_treatment_label(value: str | None) -> str:
    return str(dict(VatTreatment.choices).get(value, "")) if value else ""


class LabelColumn(Column):
    """A stored choice (e.g. a VAT treatment from an annotation) shown with its label."""

    def __init__(self, *args, labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.labels = labels

    def get_value(self, instance):
        value = super().get_value(instance)
        return str(self.labels.get(value, value or ""))


class DaysColumn(Column):
    def get_value(self, instance):
        return super().get_value(instance) or ""


class LogoPreviewColumn(Column):
    def get_value(self, instance):
        return render_to_string("sponsors/admin/_logo_preview.html", {"logo": instance, "size": "small"})


def _latest_invoice(field: str):
    return Subquery(
        Invoice.objects.filter(sponsorship=OuterRef("pk"), kind=Invoice.Kind.INVOICE)
        .order_by("-issue_date", "-pk")
        .values(field)[:1]
    )


def sponsor_countries() -> list[tuple[str, str]]:
    codes = Sponsor.objects.order_by("country").values_list("country", flat=True).distinct()
    return [(code, code) for code in codes if code]


# --- Packages (snippet) ---------------------------------------------------------------------------


class PackageViewSet(SnippetViewSet):
    model = Package
    icon = "pick"
    menu_label = _("Packages")
    menu_order = 10
    menu_item_is_registered = True  # in the Sponsors menu, not under Snippets
    list_display = [
        "name",
        AmountColumn("price", label=_("Price (net, EUR)"), sort_key="price"),
        "price_period",
        "duration_months",
        "capacity",
        "logo_size",
        "links_to_sponsor",
        "open_for_applications",
        "rank",
    ]
    list_filter = ["links_to_sponsor", "open_for_applications", "logo_size"]
    search_fields = ["name", "name_de", "slug"]
    ordering = ["rank", "-price"]


# --- Sponsorships ---------------------------------------------------------------------------------


class SponsorshipFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    package = django_filters.ModelChoiceFilter(label=_("Package"), queryset=Package.objects.all())
    vat_treatment = django_filters.ChoiceFilter(
        label=_("VAT treatment (latest invoice)"), choices=VatTreatment.choices, method="latest_vat_filter"
    )
    country = django_filters.ChoiceFilter(
        label=_("Sponsor's country"), field_name="sponsor__country", choices=sponsor_countries
    )
    start_date = django_filters.DateFromToRangeFilter(label=_("Start date"), widget=DateRangePickerWidget)
    end_date = django_filters.DateFromToRangeFilter(label=_("End date"), widget=DateRangePickerWidget)

    class Meta:
        model = Sponsorship
        fields = []

    def latest_vat_filter(self, queryset, name, value):
        return queryset.annotate(filter_vat_treatment=_latest_invoice("vat_treatment")).filter(
            filter_vat_treatment=value
        )


class SponsorshipIndexView(SponsorsIndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("sponsor", "package")
            .annotate(
                latest_vat_treatment=_latest_invoice("vat_treatment"),
                latest_invoice_number=_latest_invoice("number"),
            )
        )


class SponsorshipInspectView(generic.InspectView):
    """The company, its contacts and logo, the history of the status, the invoices, and the actions."""

    template_name = "sponsors/admin/sponsorship_inspect.html"

    def get_object(self, queryset=None):
        from django.shortcuts import get_object_or_404

        return get_object_or_404(
            Sponsorship.objects.select_related("sponsor", "package", "previous", "applicant"), pk=self.pk
        )

    def setup(self, request, *args, **kwargs):
        """Optional facts only when they are there (no "Renews: None" on a first sponsorship)."""
        super().setup(request, *args, **kwargs)
        optional = {"previous": "previous_id", "rejection_reason": "rejection_reason"}
        optional.update(submitted_at="submitted_at", paid_at="paid_at")
        self.fields = [
            name for name in self.fields if name not in optional or getattr(self.object, optional[name])
        ]

    def get_net_amount_display_value(self):
        return f"{format_amount(self.object.net_amount)} EUR"

    def get_previous_display_value(self):
        previous = self.object.previous
        url = reverse("sponsors_sponsorship:inspect", args=[previous.pk])
        return format_html('<a href="{}">{}</a>', url, previous)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sponsorship, user = self.object, self.request.user
        sponsor = sponsorship.sponsor
        can_decide = self.permission_policy.user_has_permission(user, "decide")
        actions = []
        if can_decide:
            for action, url_name, label, serious in (
                ("approve", "approve", _("Approve"), False),
                ("reject", "reject", _("Reject"), True),
                ("invoice", "invoice", _("Issue the invoice"), False),
                ("cancel", "cancel", _("Cancel the sponsorship"), True),
            ):
                if sponsorship.can(action):
                    actions.append(
                        {
                            "label": label,
                            "url": reverse(f"sponsors_sponsorship:{url_name}", args=[sponsorship.pk]),
                            "serious": serious,
                        }
                    )
        context.update(
            sponsor=sponsor,
            contacts=sponsor.contacts.all(),
            current_logo=sponsor.current_logo(),
            pending_logo=sponsor.pending_logo(),
            changes=SponsorshipChange.objects.filter(sponsorship=sponsorship).select_related("by"),
            invoices=sponsorship.invoices.order_by("issue_date", "pk"),
            actions=actions,
            can_see_invoices=PERMISSION_POLICIES[Invoice].user_has_permission(user, "view"),
            can_review_logos=PERMISSION_POLICIES[SponsorLogo].user_has_permission(user, "view"),
        )
        return context


class SponsorshipViewSet(ModelViewSet):
    model = Sponsorship
    name = "sponsors_sponsorship"
    url_prefix = "sponsors/sponsorships"
    icon = "doc-full-inverse"
    menu_label = _("Sponsorships")
    menu_order = 20
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = SponsorshipIndexView
    inspect_view_class = SponsorshipInspectView
    exclude_form_fields = []
    list_display = [
        "sponsor",
        "package",
        "status",
        "start_date",
        "end_date",
        AmountColumn("net_amount", label=_("Net (EUR)"), sort_key="net_amount"),
        LabelColumn("latest_vat_treatment", label=_("VAT treatment"), labels=dict(VatTreatment.choices)),
        Column("country", label=_("Country"), accessor="sponsor.country", sort_key="sponsor__country"),
    ]
    filterset_class = SponsorshipFilterSet
    search_fields = ["sponsor__display_name", "sponsor__legal_name"]
    list_export = [
        "pk",
        "sponsor.legal_name",
        "sponsor.display_name",
        "sponsor.country",
        "sponsor.vat_id",
        "package.name",
        "status",
        "start_date",
        "end_date",
        "net_amount",
        "latest_vat_treatment",
        "latest_invoice_number",
        "submitted_at",
        "paid_at",
    ]
    export_headings = {
        "pk": _("Sponsorship"),
        "sponsor.legal_name": _("Legal name"),
        "sponsor.display_name": _("Display name"),
        "sponsor.country": _("Country"),
        "sponsor.vat_id": _("VAT ID"),
        "package.name": _("Package"),
        "net_amount": _("Net (EUR)"),
        "latest_vat_treatment": _("VAT treatment (latest invoice)"),
        "latest_invoice_number": _("Latest invoice"),
    }
    export_filename = "sponsorships"
    inspect_view_fields = [
        "status",
        "package",
        "start_date",
        "end_date",
        "net_amount",
        "previous",
        "rejection_reason",
        "created_at",
        "submitted_at",
        "paid_at",
    ]

    def get_urlpatterns(self):
        inspect = self.get_url_name("inspect")
        return [
            *super().get_urlpatterns(),
            path(
                "approve/<int:pk>/",
                admin_views.SponsorshipApproveView.as_view(inspect_url_name=inspect),
                name="approve",
            ),
            path(
                "reject/<int:pk>/",
                admin_views.SponsorshipRejectView.as_view(inspect_url_name=inspect),
                name="reject",
            ),
            path(
                "invoice/<int:pk>/",
                admin_views.SponsorshipInvoiceView.as_view(inspect_url_name=inspect),
                name="invoice",
            ),
            path(
                "cancel/<int:pk>/",
                admin_views.SponsorshipCancelView.as_view(inspect_url_name=inspect),
                name="cancel",
            ),
        ]


# --- Invoices -------------------------------------------------------------------------------------


class InvoiceFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Invoice.Status.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Invoice.Kind.choices)
    vat_treatment = django_filters.ChoiceFilter(label=_("VAT treatment"), choices=VatTreatment.choices)
    overdue = django_filters.BooleanFilter(label=_("Overdue"), method="overdue_filter")
    issue_date = django_filters.DateFromToRangeFilter(label=_("Invoice date"), widget=DateRangePickerWidget)

    class Meta:
        model = Invoice
        fields = []

    def overdue_filter(self, queryset, name, value):
        overdue = Invoice.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)


class InvoiceIndexView(SponsorsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("sponsorship__sponsor", "cancels")


class InvoiceInspectView(generic.InspectView):
    """The invoice as issued (frozen buyer), its payment, and the actions its status allows."""

    template_name = "sponsors/admin/invoice_inspect.html"

    def get_object(self, queryset=None):
        from django.shortcuts import get_object_or_404

        return get_object_or_404(
            Invoice.objects.select_related("sponsorship__sponsor", "sponsorship__package", "cancels"),
            pk=self.pk,
        )

    def _amount(self, value):
        return f"{format_amount(value)} {self.object.currency}"

    def get_net_amount_display_value(self):
        return self._amount(self.object.net_amount)

    def get_vat_amount_display_value(self):
        return self._amount(self.object.vat_amount)

    def get_gross_amount_display_value(self):
        return self._amount(self.object.gross_amount)

    def get_vat_rate_display_value(self):
        return f"{self.object.vat_rate} %"

    def get_sponsorship_display_value(self):
        url = reverse("sponsors_sponsorship:inspect", args=[self.object.sponsorship_id])
        return format_html('<a href="{}">{}</a>', url, self.object.sponsorship)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invoice, user = self.object, self.request.user
        can_settle = self.permission_policy.user_has_permission(user, "settle")
        is_invoice = invoice.kind == Invoice.Kind.INVOICE
        actions = []
        if can_settle and is_invoice and invoice.status == Invoice.Status.OPEN:
            actions.append(
                {
                    "label": _("Mark paid by bank transfer"),
                    "url": reverse("sponsors_invoice:pay", args=[invoice.pk]),
                    "serious": False,
                }
            )
        if can_settle and is_invoice and invoice.status != Invoice.Status.CANCELLED:
            actions.append(
                {
                    "label": _("Cancel with a credit note"),
                    "url": reverse("sponsors_invoice:cancel", args=[invoice.pk]),
                    "serious": True,
                }
            )
        credit_note = Invoice.objects.filter(cancels=invoice).first() if is_invoice else None
        context.update(
            actions=actions,
            pdf_url=reverse("sponsors_invoice:pdf", args=[invoice.pk]),
            buyer=invoice.buyer,
            credit_note=credit_note,
        )
        return context


INVOICE_LIST_DISPLAY = [
    "number",
    Column("sponsor", label=_("Sponsor"), accessor="sponsorship.sponsor"),
    "kind",
    "issue_date",
    "due_date",
    AmountColumn("net_amount", label=_("Net"), sort_key="net_amount"),
    AmountColumn("vat_amount", label=_("VAT"), sort_key="vat_amount"),
    AmountColumn("gross_amount", label=_("Gross"), sort_key="gross_amount"),
    "vat_treatment",
    "status",
    DaysColumn("days_overdue", label=_("Days overdue")),
]

INVOICE_EXPORT = [
    "number",
    "kind",
    "cancels.number",
    "issue_date",
    "due_date",
    "service_start",
    "service_end",
    "buyer.legal_name",
    "buyer.country",
    "buyer.vat_id",
    "vat_treatment",
    "net_amount",
    "vat_rate",
    "vat_amount",
    "gross_amount",
    "currency",
    "status",
    "paid_at",
    "paid_via",
    "payment_reference",
    "days_overdue",
    "reminder_1_sent_at",
    "reminder_2_sent_at",
]
INVOICE_EXPORT_HEADINGS = {
    "cancels.number": _("Cancels invoice"),
    "buyer.legal_name": _("Buyer"),
    "buyer.country": _("Buyer's country"),
    "buyer.vat_id": _("Buyer's VAT ID"),
    "net_amount": _("Net"),
    "vat_amount": _("VAT"),
    "gross_amount": _("Gross"),
    "days_overdue": _("Days overdue"),
}


class InvoiceViewSet(ModelViewSet):
    model = Invoice
    name = "sponsors_invoice"
    url_prefix = "sponsors/invoices"
    icon = "doc-full"
    menu_label = _("Invoices")
    menu_order = 30
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = InvoiceIndexView
    inspect_view_class = InvoiceInspectView
    exclude_form_fields = []
    list_display = INVOICE_LIST_DISPLAY
    filterset_class = InvoiceFilterSet
    search_fields = ["number", "sponsorship__sponsor__legal_name", "sponsorship__sponsor__display_name"]
    list_export = INVOICE_EXPORT
    export_headings = INVOICE_EXPORT_HEADINGS
    export_filename = "sponsor-invoices"
    inspect_view_fields = [
        "number",
        "kind",
        "status",
        "sponsorship",
        "issue_date",
        "due_date",
        "service_start",
        "service_end",
        "description",
        "vat_treatment",
        "net_amount",
        "vat_rate",
        "vat_amount",
        "gross_amount",
        "paid_at",
        "paid_via",
        "payment_reference",
        "refunded_amount",
        "reminder_1_sent_at",
        "reminder_2_sent_at",
    ]

    def get_urlpatterns(self):
        inspect = self.get_url_name("inspect")
        return [
            *super().get_urlpatterns(),
            path(
                "pay/<int:pk>/",
                admin_views.InvoiceMarkPaidView.as_view(inspect_url_name=inspect),
                name="pay",
            ),
            path(
                "cancel/<int:pk>/",
                admin_views.InvoiceCancelView.as_view(inspect_url_name=inspect),
                name="cancel",
            ),
            path("pdf/<int:pk>/", admin_views.invoice_pdf_download, name="pdf"),
        ]


# --- Unpaid invoices (finance's list of overdue invoices) -----------------------------------------


class UnpaidInvoiceIndexView(SponsorsIndexView):
    default_ordering = "due_date"
    page_title = _("Unpaid invoices")

    def get_base_queryset(self):
        return super().get_base_queryset().overdue().select_related("sponsorship__sponsor")

    def get_inspect_url(self, instance):
        return reverse("sponsors_invoice:inspect", args=[instance.pk])


class UnpaidInvoiceViewSet(ModelViewSet):
    model = Invoice
    name = "sponsors_unpaid_invoice"
    url_prefix = "sponsors/unpaid-invoices"
    icon = "warning"
    menu_label = _("Unpaid invoices")
    menu_order = 40
    add_to_reference_index = False
    copy_view_enabled = False
    index_view_class = UnpaidInvoiceIndexView
    exclude_form_fields = []
    list_display = [
        TitleColumn(
            "number",
            label=_("Number"),
            get_url=lambda invoice: reverse("sponsors_invoice:inspect", args=[invoice.pk]),
        ),
        Column("sponsor", label=_("Sponsor"), accessor="sponsorship.sponsor"),
        Column("billing_email", label=_("Billing e-mail"), accessor="buyer.email"),
        AmountColumn("gross_amount", label=_("Gross"), sort_key="gross_amount"),
        "issue_date",
        "due_date",
        DaysColumn("days_overdue", label=_("Days overdue")),
        "reminder_1_sent_at",
        "reminder_2_sent_at",
    ]
    search_fields = ["number", "sponsorship__sponsor__legal_name", "sponsorship__sponsor__display_name"]
    list_export = [
        "number",
        "buyer.legal_name",
        "buyer.email",
        "gross_amount",
        "currency",
        "issue_date",
        "due_date",
        "days_overdue",
        "reminder_1_sent_at",
        "reminder_2_sent_at",
    ]
    export_headings = {
        "buyer.legal_name": _("Buyer"),
        "buyer.email": _("Billing e-mail"),
        "gross_amount": _("Gross"),
        "days_overdue": _("Days overdue"),
    }
    export_filename = "sponsor-invoices-unpaid"

    def register_admin_url_finder(self):
        """The invoices are found through the Invoices screens (InvoiceViewSet)."""

    def get_permissions_to_register(self):
        """Listed once, by InvoiceViewSet, in the group permissions."""
        from django.contrib.auth.models import Permission

        return Permission.objects.none()


# --- Companies ------------------------------------------------------------------------------------


class SponsorFilterSet(WagtailFilterSet):
    country = django_filters.ChoiceFilter(label=_("Country"), choices=sponsor_countries)
    consent_annual_report = django_filters.BooleanFilter(label=_("May be named in the annual report"))

    class Meta:
        model = Sponsor
        fields = []


class SponsorIndexView(SponsorsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().annotate(sponsorship_count=Count("sponsorships"))


class SponsorInspectView(generic.InspectView):
    template_name = "sponsors/admin/sponsor_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sponsor = self.object
        context.update(
            contacts=sponsor.contacts.all(),
            users=sponsor.users.order_by("email"),
            sponsorships=sponsor.sponsorships.select_related("package").order_by("-start_date"),
            can_see_sponsorships=PERMISSION_POLICIES[Sponsorship].user_has_permission(
                self.request.user, "view"
            ),
            current_logo=sponsor.current_logo(),
            pending_logo=sponsor.pending_logo(),
        )
        return context


class SponsorViewSet(ModelViewSet):
    model = Sponsor
    name = "sponsors_sponsor"
    url_prefix = "sponsors/companies"
    icon = "site"
    menu_label = _("Companies")
    menu_order = 50
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = SponsorIndexView
    inspect_view_class = SponsorInspectView
    list_display = [
        "display_name",
        "legal_name",
        "country",
        "vat_id",
        "billing_email",
        Column("sponsorship_count", label=_("Sponsorships"), sort_key="sponsorship_count"),
    ]
    filterset_class = SponsorFilterSet
    search_fields = ["display_name", "legal_name", "vat_id", "billing_email"]
    list_export = [
        "legal_name",
        "display_name",
        "website",
        "street",
        "address_extra",
        "postcode",
        "city",
        "country",
        "vat_id",
        "billing_email",
        "purchase_order",
        "consent_annual_report",
        "language",
        "created_at",
    ]
    export_filename = "sponsors"
    inspect_view_fields = [
        "legal_name",
        "display_name",
        "website",
        "street",
        "address_extra",
        "postcode",
        "city",
        "country",
        "vat_id",
        "billing_email",
        "purchase_order",
        "consent_annual_report",
        "language",
        "created_at",
        "updated_at",
    ]

    def get_form_class(self, for_update=False):
        return SponsorAdminForm


# --- Logo review ----------------------------------------------------------------------------------


class SponsorLogoFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=SponsorLogo.Status.choices, empty_label=_("All statuses")
    )

    class Meta:
        model = SponsorLogo
        fields = ["status"]


class SponsorLogoIndexView(generic.IndexView):
    """Opens on the logos waiting for review, oldest first; "All statuses" shows every logo."""

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("sponsor")

    def get_filterset_kwargs(self):
        kwargs = super().get_filterset_kwargs()
        if "status" not in kwargs["data"]:
            data = kwargs["data"].copy()
            data["status"] = SponsorLogo.Status.PENDING
            kwargs["data"] = data
        return kwargs

    @property
    def default_ordering(self):
        pending = self.request.GET.get("status", SponsorLogo.Status.PENDING) == SponsorLogo.Status.PENDING
        return "uploaded_at" if pending else "-uploaded_at"


class SponsorLogoInspectView(generic.InspectView):
    """The logo at full size on light and dark backgrounds, and the approve and reject forms."""

    template_name = "sponsors/admin/logo_inspect.html"

    def get_object(self, queryset=None):
        from django.shortcuts import get_object_or_404

        return get_object_or_404(SponsorLogo.objects.select_related("sponsor"), pk=self.pk)

    def get_reviewed_by_display_value(self):
        user = self.object.reviewed_by
        return (user.get_full_name() or user.get_username()) if user else "–"

    def get_uploaded_by_display_value(self):
        user = self.object.uploaded_by
        return (user.get_full_name() or user.get_username()) if user else "–"

    def get_context_data(self, **kwargs):
        from .admin_forms import LogoRejectForm

        context = super().get_context_data(**kwargs)
        logo = self.object
        can_review = self.permission_policy.user_has_permission(self.request.user, "review")
        context.update(
            can_review=can_review and logo.status == SponsorLogo.Status.PENDING,
            reject_form=LogoRejectForm(),
            approve_url=reverse("sponsors_logo:approve", args=[logo.pk]),
            reject_url=reverse("sponsors_logo:reject", args=[logo.pk]),
        )
        return context


class SponsorLogoViewSet(ModelViewSet):
    model = SponsorLogo
    name = "sponsors_logo"
    url_prefix = "sponsors/logos"
    icon = "image"
    menu_label = _("Logo review")
    menu_order = 60
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = SponsorLogoIndexView
    inspect_view_class = SponsorLogoInspectView
    exclude_form_fields = []
    list_display = [
        "sponsor",
        LogoPreviewColumn("preview", label=_("Preview")),
        "status",
        "original_format",
        "width",
        "height",
        "uploaded_at",
    ]
    filterset_class = SponsorLogoFilterSet
    search_fields = ["sponsor__display_name", "sponsor__legal_name"]
    inspect_view_fields = [
        "sponsor",
        "status",
        "original_name",
        "original_format",
        "width",
        "height",
        "uploaded_by",
        "uploaded_at",
        "reviewed_by",
        "reviewed_at",
        "review_reason",
    ]

    def get_urlpatterns(self):
        inspect = self.get_url_name("inspect")
        return [
            *super().get_urlpatterns(),
            path(
                "approve/<int:pk>/",
                admin_views.LogoApproveView.as_view(inspect_url_name=inspect),
                name="approve",
            ),
            path(
                "reject/<int:pk>/",
                admin_views.LogoRejectView.as_view(inspect_url_name=inspect),
                name="reject",
            ),
        ]


class SponsorsViewSetGroup(ModelViewSetGroup):
    menu_label = _("Sponsors")
    menu_icon = "pick"
    menu_order = 820
    items = (
        PackageViewSet,
        SponsorshipViewSet,
        InvoiceViewSet,
        UnpaidInvoiceViewSet,
        SponsorViewSet,
        SponsorLogoViewSet,
    )
