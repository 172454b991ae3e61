"""Staff screens of fundraising in the Wagtail admin (registered in wagtail_hooks.py).

Tiers are a snippet with drafts and revisions (finance edits prices and VAT). Patrons, patronages and
payments are donors' personal data: list + inspect for the finance role only, never edited here (they
follow Stripe's events). Access follows Django model permissions given to the finance group.
"""

import django_filters
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.snippets.views.snippets import SnippetViewSet

from ledger.viewsets import AmountColumn, LedgerIndexView, LedgerPermissionPolicy

from .models import CheckoutAttempt, Patron, Patronage, Payment, Tier


class TierViewSet(SnippetViewSet):
    model = Tier
    icon = "pick"
    menu_label = _("Tiers")
    menu_order = 10
    list_display = ["name", "kind", AmountColumn("monthly_amount", label=_("Monthly")), "currency", "active"]
    list_filter = ["kind", "active", "currency"]
    search_fields = ["name", "name_de"]


class PatronViewSet(ModelViewSet):
    url_prefix = "fundraising/patrons"
    model = Patron
    icon = "user"
    menu_label = _("Patrons")
    menu_order = 20
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    list_display = ["__str__", "email", "listing", "created", "erased_at"]
    list_filter = ["listing"]
    search_fields = ["name", "email", "stripe_customer_id"]
    list_export = ["pseudonym", "name", "email", "city", "country", "listing", "created", "erased_at"]
    inspect_view_fields = [
        "pseudonym",
        "name",
        "email",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "country",
        "language",
        "stripe_customer_id",
        "listing",
        "public_name",
        "fediverse_handle",
        "show_amount",
        "annual_report_consent",
        "created",
        "erased_at",
    ]


class PatronageFilterSet(WagtailFilterSet):
    started_at = django_filters.DateFromToRangeFilter(label=_("Started"), widget=DateRangePickerWidget)

    class Meta:
        model = Patronage
        fields = ["status", "interval", "kind", "tier", "currency"]


class PatronageViewSet(ModelViewSet):
    url_prefix = "fundraising/patronages"
    model = Patronage
    icon = "group"
    menu_label = _("Patronages")
    menu_order = 30
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    list_display = [
        "__str__",
        "tier",
        "kind",
        AmountColumn("amount", label=_("Amount")),
        "interval",
        "status",
        "started_at",
    ]
    filterset_class = PatronageFilterSet
    search_fields = ["stripe_subscription_id", "patron__email", "patron__name"]
    list_export = [
        "patron.pseudonym",
        "tier.slug",
        "kind",
        "amount",
        "currency",
        "interval",
        "status",
        "started_at",
        "ended_at",
    ]


class PaymentFilterSet(WagtailFilterSet):
    paid_at = django_filters.DateFromToRangeFilter(label=_("Paid"), widget=DateRangePickerWidget)

    class Meta:
        model = Payment
        fields = ["kind", "status", "currency"]


class PaymentViewSet(ModelViewSet):
    url_prefix = "fundraising/payments"
    model = Payment
    icon = "doc-full"
    menu_label = _("Payments")
    menu_order = 40
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    list_display = [
        "number",
        "patron",
        "kind",
        AmountColumn("amount", label=_("Amount")),
        "currency",
        AmountColumn("fee_eur", label=_("Fee (EUR)")),
        "status",
        "paid_at",
    ]
    filterset_class = PaymentFilterSet
    search_fields = ["number", "stripe_charge_id", "invoice_id", "patron__email"]
    list_export = [
        "number",
        "paid_at",
        "kind",
        "amount",
        "vat_amount",
        "currency",
        "amount_eur",
        "fee_eur",
        "net_eur",
        "status",
        "refunded_amount",
        "stripe_charge_id",
        "patron.pseudonym",
    ]


class CheckoutAttemptViewSet(ModelViewSet):
    url_prefix = "fundraising/checkout-attempts"
    model = CheckoutAttempt
    icon = "redirect"
    menu_label = _("Checkout attempts")
    menu_order = 50
    add_to_reference_index = False
    exclude_form_fields = []
    inspect_view_enabled = True
    index_view_class = LedgerIndexView
    list_display = [
        "created",
        "kind",
        AmountColumn("amount", label=_("Amount")),
        "currency",
        "interval",
        "status",
    ]
    list_filter = ["status", "kind", "interval"]


class FundraisingViewSetGroup(ModelViewSetGroup):
    menu_label = _("Patrons")
    menu_icon = "group"
    menu_order = 800
    items = (PatronViewSet, PatronageViewSet, PaymentViewSet, CheckoutAttemptViewSet)


PERMISSION_POLICIES = {
    Patron: LedgerPermissionPolicy(Patron, actions={"view"}),
    Patronage: LedgerPermissionPolicy(Patronage, actions={"view"}),
    Payment: LedgerPermissionPolicy(Payment, actions={"view"}),
    CheckoutAttempt: LedgerPermissionPolicy(CheckoutAttempt, actions={"view"}),
}
