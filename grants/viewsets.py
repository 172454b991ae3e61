"""Staff screens of grants, people, pay, allocations and bills: one "Grants" menu group (finance with MFA).

- **Funders**: list, add, edit, inspect (with their grants).
- **Grants**: list (filters: state, funder, funding model; search; export), a form with the budget per
  cost category and the milestones, document uploads (PDF), and an inspect view with budget against
  what is booked, milestones, payments, documents and the cost centre; state moves (award, reject,
  start, close) as POST buttons.
- **Milestones**: list (filters: grant, state, overdue), moves (begin, submit, accept, reopen), the
  request for payment and "payment received".
- **Grant payments**: list, and a form for money without a milestone (advances, tranches).
- **People**, **Pay records** (saving posts at once; a posted record is read-only), **Allocations**
  (list, and "Allocate time" per person and month), **Bills** (saving books against payables; mark paid;
  the voucher for finance only).

Money changes only through ``grants.services`` (grants/admin_views.py). Access follows Django model
permissions (accounts/roles.py: the finance role) through ``GrantsPermissionPolicy``; like every staff
page, these need MFA (accounts.middleware). Other modules add items to the group's menu with the
``register_grants_menu_item`` hook (a function returning a ``wagtail.admin.menu.MenuItem``).
"""

from __future__ import annotations

import django_filters
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from ledger.models import Account, CostCentre, Posting, Transaction
from ledger.viewsets import AmountColumn, LedgerIndexView, format_amount

from . import admin_views
from .admin_forms import FunderForm, MilestoneForm, PersonForm, expense_account_choices, month_label
from .models import (
    CATEGORY_ACCOUNTS,
    ZERO,
    Allocation,
    Bill,
    BudgetLine,
    CostCategory,
    Funder,
    Grant,
    GrantDocument,
    GrantPayment,
    Milestone,
    PayRecord,
    Person,
)

GRANTS_MENU_HOOK = "register_grants_menu_item"

# --- Permissions ----------------------------------------------------------------------------------


class GrantsPermissionPolicy(ModelPermissionPolicy):
    """Only the actions named here exist for a model; each maps to one Django model permission.

    Wagtail's generic add, edit and delete views stay shut unless "add", "change" or "delete" is named,
    even for superusers: nothing that posted is deleted or edited here. The actions of
    grants/admin_views.py have their own names ("allocate", "settle").
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


VIEW_ADD_CHANGE = {"view": "view", "add": "add", "change": "change"}
PERMISSION_POLICIES = {
    Funder: GrantsPermissionPolicy(Funder, actions=VIEW_ADD_CHANGE),
    Grant: GrantsPermissionPolicy(Grant, actions=VIEW_ADD_CHANGE),
    BudgetLine: GrantsPermissionPolicy(BudgetLine, actions=VIEW_ADD_CHANGE),
    GrantDocument: GrantsPermissionPolicy(GrantDocument, actions=VIEW_ADD_CHANGE),
    Milestone: GrantsPermissionPolicy(Milestone, actions=VIEW_ADD_CHANGE),
    # A payment is posted when recorded: never edited
    GrantPayment: GrantsPermissionPolicy(GrantPayment, actions={"view": "view", "add": "add"}),
    Person: GrantsPermissionPolicy(Person, actions=VIEW_ADD_CHANGE),
    # "change" opens the form of a record that is not posted yet (saving posts it)
    PayRecord: GrantsPermissionPolicy(PayRecord, actions=VIEW_ADD_CHANGE),
    # "allocate": the "Allocate time" screen (grants.services.allocations_set), never a bare edit
    Allocation: GrantsPermissionPolicy(Allocation, actions={"view": "view", "allocate": "change"}),
    # "settle": mark paid; a bill is booked when recorded and never edited
    Bill: GrantsPermissionPolicy(Bill, actions={"view": "view", "add": "add", "settle": "change"}),
}

for _model, _policy in PERMISSION_POLICIES.items():
    register_permission_policy(_model, _policy, exact_class=True)


def user_may(user, model, action: str) -> bool:
    return PERMISSION_POLICIES[model].user_has_permission(user, action)


# --- Shared pieces --------------------------------------------------------------------------------


def money(value, currency: str = "EUR") -> str:
    return "–" if value is None else f"{format_amount(value)} {currency}"


def document_url(name: str, **kwargs) -> str:
    """A PDF of grants/document_admin.py (request for payment, grant report, time declaration), or ""."""
    try:
        return reverse(f"grants_documents:{name}", kwargs=kwargs)
    except NoReverseMatch:
        return ""


def transactions_for(prefix: str):
    """The transactions of a pay record or bill: its posting and later reclassifications or payment."""
    return (
        Transaction.objects.filter(idempotency_key__startswith=prefix)
        .with_total()
        .order_by("booking_date", "pk")
    )


class MonthColumn(Column):
    def get_value(self, instance):
        value = super().get_value(instance)
        return month_label(value) if value else ""


class YesColumn(Column):
    """A flag shown as a word only where it is true (e.g. "overdue")."""

    def __init__(self, *args, text, **kwargs):
        super().__init__(*args, **kwargs)
        self.text = text

    def get_value(self, instance):
        return self.text if super().get_value(instance) else ""


class MoneyColumn(Column):
    """An amount in the grant's currency, e.g. "50,000.00 EUR"."""

    def __init__(self, *args, currency_accessor="currency", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency_accessor = currency_accessor

    def get_value(self, instance):
        from wagtail.coreutils import multigetattr

        value = super().get_value(instance)
        return "" if value is None else money(value, multigetattr(instance, self.currency_accessor))


def month_choices(model, field: str = "month"):
    def choices():
        months = model.objects.order_by(f"-{field}").values_list(field, flat=True).distinct()
        return [(month.isoformat(), month_label(month)) for month in months]

    return choices


def bill_month_choices():
    months = Bill.objects.dates("bill_date", "month", order="DESC")
    return [(month.isoformat(), month_label(month)) for month in months]


class GrantsIndexView(LedgerIndexView):
    """Listings of grants: amounts with two decimal places, CSV cells that never run as formulas."""


class GrantsInspectView(generic.InspectView):
    """Yes and no for flags, a dash for what is empty (never "True" or "None")."""

    optional_fields: tuple[str, ...] = ()  # shown only when they have a value

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.fields = [
            name for name in self.fields if name not in self.optional_fields or getattr(self.object, name)
        ]

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if value is None or value == "":
            return "–"
        return value


# --- Funders --------------------------------------------------------------------------------------


class FunderIndexView(GrantsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().annotate(grant_count=Count("grants"))


class FunderInspectView(GrantsInspectView):
    template_name = "grants/admin/funder_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["grants"] = self.object.grants.order_by("-start_date")
        return context


class FunderViewSet(ModelViewSet):
    model = Funder
    name = "grants_funder"
    url_prefix = "grants/funders"
    icon = "group"
    menu_label = _("Funders")
    menu_order = 100
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = FunderIndexView
    inspect_view_class = FunderInspectView
    list_display = [
        "name",
        "kind",
        "country",
        "consent_annual_report",
        Column("grant_count", label=_("Grants"), sort_key="grant_count"),
    ]
    list_filter = ["kind", "consent_annual_report"]
    search_fields = ["name"]
    list_export = ["name", "kind", "country", "website", "consent_annual_report"]
    export_filename = "funders"
    inspect_view_fields = ["name", "kind", "country", "website", "consent_annual_report"]

    def get_form_class(self, for_update=False):
        return FunderForm


# --- Grants ---------------------------------------------------------------------------------------


class GrantFilterSet(WagtailFilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=Grant.State.choices)
    funder = django_filters.ModelChoiceFilter(label=_("Funder"), queryset=Funder.objects.all())
    funding_model = django_filters.ChoiceFilter(label=_("Funding model"), choices=Grant.FundingModel.choices)

    class Meta:
        model = Grant
        fields = []


class GrantIndexView(GrantsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("funder")


def category_spent(grant: Grant) -> dict[str, object]:
    """What the ledger has booked on the grant's cost centre per budget category (costs: positive)."""
    if grant.cost_centre_id is None:
        return {}
    totals = dict(
        Posting.objects.filter(cost_centre_id=grant.cost_centre_id)
        .values("account__code")
        .annotate(total=Sum("amount"))
        .values_list("account__code", "total")
    )
    return {
        category: sum((totals.get(code) or ZERO for code in codes), ZERO)
        for category, codes in CATEGORY_ACCOUNTS.items()
    }


class GrantInspectView(GrantsInspectView):
    """The grant, its budget against what is booked, milestones, payments, documents and the actions."""

    template_name = "grants/admin/grant_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(Grant.objects.select_related("funder", "owner", "cost_centre"), pk=self.pk)

    def get_awarded_amount_display_value(self):
        return money(self.object.awarded_amount, self.object.currency)

    def get_indirect_cost_rate_display_value(self):
        return f"{self.object.indirect_cost_rate} %"

    def get_owner_display_value(self):
        owner = self.object.owner
        return (owner.get_full_name() or owner.email) if owner else "–"

    def get_funder_display_value(self):
        url = reverse("grants_funder:inspect", args=[self.object.funder_id])
        return format_html('<a href="{}">{}</a>', url, self.object.funder)

    def get_cost_centre_display_value(self):
        centre = self.object.cost_centre
        if centre is None:
            return _("not created yet")
        url = reverse("ledger_costcentre:inspect", args=[centre.pk])
        return format_html('<a href="{}">{}</a>', url, centre)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        grant, user = self.object, self.request.user
        spent = category_spent(grant)
        lines = {line.category: line.amount for line in grant.budget_lines.all()}
        budget = [
            {
                "label": label,
                "budget": lines.get(category),
                "booked": spent.get(category),
            }
            for category, label in CostCategory.choices
            if category in lines or spent.get(category)
        ]
        actions = []
        if user_may(user, Grant, "change"):
            for action, label, serious in (
                ("award", _("Award"), False),
                ("start", _("Start"), False),
                ("reject", _("Reject"), True),
                ("close", _("Close"), True),
            ):
                if grant.can(action):
                    actions.append(
                        {
                            "label": label,
                            "url": reverse(f"grants_grant:{action}", args=[grant.pk]),
                            "serious": serious,
                        }
                    )
        milestones = list(grant.milestones.all())
        payments = grant.payments.select_related("milestone").order_by("received_on", "pk")
        context.update(
            actions=actions,
            budget=budget,
            budget_total=sum((row["budget"] or ZERO for row in budget), ZERO),
            booked_total=sum((row["booked"] or ZERO for row in budget), ZERO),
            milestones=milestones,
            payments=payments,
            received_total=sum((payment.amount for payment in payments), ZERO),
            documents=grant.documents.all(),
            can_upload=user_may(user, GrantDocument, "add"),
            can_record_payment=user_may(user, GrantPayment, "add")
            and grant.state not in (Grant.State.APPLIED, Grant.State.REJECTED),
            can_see_milestones=user_may(user, Milestone, "view"),
            report_url=document_url("report", grant_id=grant.pk),
        )
        return context


class GrantViewSet(ModelViewSet):
    model = Grant
    name = "grants_grant"
    url_prefix = "grants/grants"
    icon = "doc-full-inverse"
    menu_label = _("Grants")
    menu_order = 110
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = GrantIndexView
    add_view_class = admin_views.GrantCreateView
    edit_view_class = admin_views.GrantEditView
    inspect_view_class = GrantInspectView
    create_template_name = "grants/admin/grant_form.html"
    edit_template_name = "grants/admin/grant_form.html"
    list_display = [
        "title",
        "code",
        "funder",
        "state",
        "funding_model",
        MoneyColumn("awarded_amount", label=_("Awarded"), sort_key="awarded_amount"),
        "start_date",
        "end_date",
    ]
    filterset_class = GrantFilterSet
    search_fields = ["title", "code", "reference", "funder__name"]
    list_export = [
        "code",
        "title",
        "funder.name",
        "reference",
        "state",
        "funding_model",
        "awarded_amount",
        "currency",
        "start_date",
        "end_date",
        "restricted",
        "indirect_cost_rate",
        "public",
    ]
    export_headings = {"funder.name": _("Funder")}
    export_filename = "grants"
    inspect_view_fields = [
        "title",
        "code",
        "funder",
        "reference",
        "state",
        "funding_model",
        "awarded_amount",
        "start_date",
        "end_date",
        "purpose",
        "restricted",
        "indirect_cost_rate",
        "owner",
        "public",
        "cost_centre",
    ]

    def get_form_class(self, for_update=False):
        from .admin_forms import GrantForm

        return GrantForm

    def get_urlpatterns(self):
        urls = [*super().get_urlpatterns()]
        for action in ("award", "reject", "start", "close"):
            urls.append(
                path(f"{action}/<int:pk>/", admin_views.GrantMoveView.as_view(transition=action), name=action)
            )
        urls += [
            path(
                "documents/<int:pk>/upload/",
                admin_views.GrantDocumentUploadView.as_view(),
                name="document_upload",
            ),
            path("documents/file/<int:pk>/", admin_views.grant_document_download, name="document"),
        ]
        return urls


# --- Milestones -----------------------------------------------------------------------------------


class MilestoneFilterSet(WagtailFilterSet):
    grant = django_filters.ModelChoiceFilter(label=_("Grant"), queryset=Grant.objects.all())
    state = django_filters.ChoiceFilter(label=_("State"), choices=Milestone.State.choices)
    overdue = django_filters.BooleanFilter(label=_("Overdue"), method="overdue_filter")
    due_date = django_filters.DateFromToRangeFilter(label=_("Due date"), widget=DateRangePickerWidget)

    class Meta:
        model = Milestone
        fields = []

    def overdue_filter(self, queryset, name, value):
        overdue = Milestone.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)


class MilestoneIndexView(GrantsIndexView):
    default_ordering = "due_date"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("grant")


def milestone_actions(milestone: Milestone, user) -> list[dict]:
    """The moves and steps a milestone allows now, for the buttons on its page."""
    if not user_may(user, Milestone, "change"):
        return []
    actions = []
    for action, label in (
        ("begin", _("Begin work")),
        ("submit", _("Submit")),
        ("accept", _("Accepted by the funder")),
        ("reopen", _("Reopen")),
    ):
        if milestone.can(action):
            actions.append(
                {
                    "label": label,
                    "url": reverse(f"grants_milestone:{action}", args=[milestone.pk]),
                    "post": True,
                }
            )
    if milestone.state != Milestone.State.PAID and not milestone.request_number:
        actions.append(
            {
                "label": _("Issue request for payment"),
                "url": reverse("grants_milestone:request", args=[milestone.pk]),
                "post": True,
            }
        )
    awarded = milestone.grant.state not in (Grant.State.APPLIED, Grant.State.REJECTED)
    if milestone.state != Milestone.State.PAID and awarded and user_may(user, GrantPayment, "add"):
        actions.append(
            {
                "label": _("Record payment received"),
                "url": reverse("grants_milestone:payment", args=[milestone.pk]),
                "post": False,
            }
        )
    return actions


class MilestoneInspectView(GrantsInspectView):
    template_name = "grants/admin/milestone_inspect.html"
    optional_fields = ("submitted_at", "accepted_at", "request_number", "request_date")

    def get_object(self, queryset=None):
        return get_object_or_404(Milestone.objects.select_related("grant"), pk=self.pk)

    def get_grant_display_value(self):
        url = reverse("grants_grant:inspect", args=[self.object.grant_id])
        return format_html('<a href="{}">{}</a>', url, self.object.grant)

    def get_field_label(self, field_name, field):
        if field_name == "payable_amount":
            return _("Payable")
        return super().get_field_label(field_name, field)

    def get_payable_amount_display_value(self):
        return money(self.object.payable_amount, self.object.grant.currency)

    def get_amount_display_value(self):
        return (
            money(self.object.amount, self.object.grant.currency) if self.object.amount is not None else "–"
        )

    def get_tranche_percent_display_value(self):
        percent = self.object.tranche_percent
        return f"{percent} %" if percent is not None else "–"

    def get_state_display_value(self):
        state = self.object.get_state_display()
        return f"{state} ({_('overdue')})" if self.object.is_overdue else state

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        milestone = self.object
        context.update(
            actions=milestone_actions(milestone, self.request.user),
            payment=GrantPayment.objects.filter(milestone=milestone).first(),
            evidence_links=[line for line in milestone.evidence_links.splitlines() if line.strip()],
            request_pdf_url=document_url("request", milestone_id=milestone.pk)
            if milestone.request_number
            else "",
        )
        return context


class MilestoneViewSet(ModelViewSet):
    model = Milestone
    name = "grants_milestone"
    url_prefix = "grants/milestones"
    icon = "tasks"
    menu_label = _("Milestones")
    menu_order = 120
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = MilestoneIndexView
    inspect_view_class = MilestoneInspectView
    list_display = [
        "title",
        Column("grant", label=_("Grant"), accessor="grant.code", sort_key="grant__code"),
        "position",
        "due_date",
        MoneyColumn("payable_amount", label=_("Payable"), currency_accessor="grant.currency"),
        "state",
        YesColumn("is_overdue", label=_("Overdue"), text=_("overdue")),
        "request_number",
    ]
    filterset_class = MilestoneFilterSet
    search_fields = ["title", "grant__code", "grant__title", "request_number"]
    list_export = [
        "grant.code",
        "position",
        "title",
        "due_date",
        "amount",
        "tranche_percent",
        "payable_amount",
        "state",
        "is_overdue",
        "request_number",
        "request_date",
        "submitted_at",
        "accepted_at",
    ]
    export_headings = {"grant.code": _("Grant"), "payable_amount": _("Payable"), "is_overdue": _("Overdue")}
    export_filename = "milestones"
    inspect_view_fields = [
        "grant",
        "position",
        "title",
        "deliverables",
        "due_date",
        "amount",
        "tranche_percent",
        "payable_amount",
        "state",
        "submitted_at",
        "accepted_at",
        "request_number",
        "request_date",
    ]

    def get_form_class(self, for_update=False):
        return MilestoneForm

    def get_urlpatterns(self):
        urls = [*super().get_urlpatterns()]
        for action in ("begin", "submit", "accept", "reopen"):
            urls.append(
                path(
                    f"{action}/<int:pk>/",
                    admin_views.MilestoneMoveView.as_view(transition=action),
                    name=action,
                )
            )
        urls += [
            path("request/<int:pk>/", admin_views.MilestoneRequestView.as_view(), name="request"),
            path("payment/<int:pk>/", admin_views.MilestonePaymentView.as_view(), name="payment"),
        ]
        return urls


# --- Grant payments -------------------------------------------------------------------------------


class GrantPaymentFilterSet(WagtailFilterSet):
    grant = django_filters.ModelChoiceFilter(label=_("Grant"), queryset=Grant.objects.all())
    for_milestone = django_filters.BooleanFilter(
        label=_("For a milestone"), field_name="milestone", lookup_expr="isnull", exclude=True
    )
    received_on = django_filters.DateFromToRangeFilter(label=_("Received on"), widget=DateRangePickerWidget)

    class Meta:
        model = GrantPayment
        fields = []


class GrantPaymentIndexView(GrantsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("grant", "milestone")


class GrantPaymentInspectView(GrantsInspectView):
    template_name = "grants/admin/booked_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(GrantPayment.objects.select_related("grant", "milestone"), pk=self.pk)

    def get_amount_display_value(self):
        return money(self.object.amount)

    def get_grant_display_value(self):
        url = reverse("grants_grant:inspect", args=[self.object.grant_id])
        return format_html('<a href="{}">{}</a>', url, self.object.grant)

    def get_milestone_display_value(self):
        milestone = self.object.milestone
        if milestone is None:
            return _("none (an advance or a tranche)")
        url = reverse("grants_milestone:inspect", args=[milestone.pk])
        return format_html('<a href="{}">{}</a>', url, milestone)

    def get_recorded_by_display_value(self):
        user = self.object.recorded_by
        return (user.get_full_name() or user.email) if user else _("the system")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["transactions"] = transactions_for(f"grants:payment:{self.object.pk}")
        return context


class GrantPaymentViewSet(ModelViewSet):
    model = GrantPayment
    name = "grants_payment"
    url_prefix = "grants/payments"
    icon = "download"
    menu_label = _("Grant payments")
    menu_order = 130
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = GrantPaymentIndexView
    add_view_class = admin_views.GrantPaymentCreateView
    inspect_view_class = GrantPaymentInspectView
    list_display = [
        TitleColumn(
            "reference",
            label=_("Bank reference"),
            get_url=lambda payment: reverse("grants_payment:inspect", args=[payment.pk]),
        ),
        Column("grant", label=_("Grant"), accessor="grant.code", sort_key="grant__code"),
        Column("milestone", label=_("Milestone"), accessor="milestone"),
        AmountColumn("amount", label=_("Amount (EUR)"), sort_key="amount"),
        "received_on",
    ]
    filterset_class = GrantPaymentFilterSet
    search_fields = ["reference", "grant__code", "grant__title"]
    list_export = ["grant.code", "milestone.title", "amount", "received_on", "reference", "created_at"]
    export_headings = {
        "grant.code": _("Grant"),
        "milestone.title": _("Milestone"),
        "amount": _("Amount (EUR)"),
    }
    export_filename = "grant-payments"
    inspect_view_fields = [
        "grant",
        "milestone",
        "amount",
        "received_on",
        "reference",
        "recorded_by",
        "created_at",
    ]

    def get_form_class(self, for_update=False):
        from .admin_forms import GrantPaymentForm

        return GrantPaymentForm


# --- People ---------------------------------------------------------------------------------------


class PersonFilterSet(WagtailFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Person.Kind.choices)
    current = django_filters.BooleanFilter(label=_("Working here today"), method="current_filter")
    core_development = django_filters.BooleanFilter(label=_("Core development"))

    class Meta:
        model = Person
        fields = []

    def current_filter(self, queryset, name, value):
        from django.db.models import Q

        today = timezone.localdate()
        current = Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))
        return queryset.filter(current) if value else queryset.exclude(current)


class PersonInspectView(GrantsInspectView):
    template_name = "grants/admin/person_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person, user = self.object, self.request.user
        context.update(
            pay_records=person.pay_records.order_by("-month")[:24],
            allocations=person.allocations.select_related("grant").order_by("-month", "grant__code")[:72],
            can_allocate=user_may(user, Allocation, "allocate"),
            can_add_pay=user_may(user, PayRecord, "add"),
        )
        return context


class PersonViewSet(ModelViewSet):
    model = Person
    name = "grants_person"
    url_prefix = "grants/people"
    icon = "user"
    menu_label = _("People")
    menu_order = 200
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = GrantsIndexView
    inspect_view_class = PersonInspectView
    list_display = ["name", "role", "kind", "start_date", "end_date", "weekly_hours", "core_development"]
    filterset_class = PersonFilterSet
    search_fields = ["name", "role", "email"]
    list_export = [
        "name",
        "role",
        "kind",
        "email",
        "start_date",
        "end_date",
        "weekly_hours",
        "core_development",
    ]
    export_filename = "people"
    inspect_view_fields = [
        "name",
        "role",
        "kind",
        "email",
        "start_date",
        "end_date",
        "weekly_hours",
        "core_development",
    ]

    def get_form_class(self, for_update=False):
        return PersonForm


# --- Pay records ----------------------------------------------------------------------------------


class PayRecordFilterSet(WagtailFilterSet):
    month = django_filters.ChoiceFilter(label=_("Month"), choices=month_choices(PayRecord))
    person = django_filters.ModelChoiceFilter(label=_("Person"), queryset=Person.objects.all())
    posted = django_filters.BooleanFilter(
        label=_("Posted"), field_name="posted_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = PayRecord
        fields = []


class PayRecordIndexView(GrantsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("person")

    def get_edit_url(self, instance):
        """Only a record that is not posted yet opens as a form."""
        if instance.posted_at is None:
            return super().get_edit_url(instance)
        return None


class PayRecordInspectView(GrantsInspectView):
    template_name = "grants/admin/payrecord_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(PayRecord.objects.select_related("person"), pk=self.pk)

    def get_edit_url(self):
        return super().get_edit_url() if self.object.posted_at is None else None

    def get_person_display_value(self):
        url = reverse("grants_person:inspect", args=[self.object.person_id])
        return format_html('<a href="{}">{}</a>', url, self.object.person)

    def get_month_display_value(self):
        return month_label(self.object.month)

    def get_gross_salary_display_value(self):
        return money(self.object.gross_salary)

    def get_employer_social_costs_display_value(self):
        return money(self.object.employer_social_costs)

    def get_freelancer_invoice_display_value(self):
        return money(self.object.freelancer_invoice)

    def get_field_label(self, field_name, field):
        if field_name == "total_cost":
            return _("Total cost")
        return super().get_field_label(field_name, field)

    def get_total_cost_display_value(self):
        return money(self.object.total_cost)

    def get_posted_at_display_value(self):
        posted = self.object.posted_at
        return timezone.localtime(posted).strftime("%Y-%m-%d %H:%M") if posted else _("not posted yet")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = self.object
        context.update(
            bookings=record.bookings.select_related("cost_centre").order_by(
                "cost_centre__code", "account_code"
            ),
            transactions=transactions_for(f"grants:pay:{record.pk}"),
            allocate_url=admin_views.allocate_url(record.person_id, record.month)
            if user_may(self.request.user, Allocation, "allocate")
            else "",
        )
        return context


class PayRecordViewSet(ModelViewSet):
    model = PayRecord
    name = "grants_payrecord"
    url_prefix = "grants/pay-records"
    icon = "user"
    menu_label = _("Pay records")
    menu_order = 210
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = PayRecordIndexView
    add_view_class = admin_views.PayRecordCreateView
    edit_view_class = admin_views.PayRecordEditView
    inspect_view_class = PayRecordInspectView
    list_display = [
        "person",
        MonthColumn("month", label=_("Month"), sort_key="month"),
        AmountColumn("gross_salary", label=_("Gross salary"), sort_key="gross_salary"),
        AmountColumn("employer_social_costs", label=_("Social costs"), sort_key="employer_social_costs"),
        AmountColumn("freelancer_invoice", label=_("Freelancer's invoice"), sort_key="freelancer_invoice"),
        AmountColumn("total_cost", label=_("Total (EUR)")),
        "posted_at",
    ]
    filterset_class = PayRecordFilterSet
    search_fields = ["person__name", "note"]
    list_export = [
        "person.name",
        "person.kind",
        "month",
        "gross_salary",
        "employer_social_costs",
        "freelancer_invoice",
        "total_cost",
        "note",
        "posted_at",
    ]
    export_headings = {"person.name": _("Person"), "person.kind": _("Kind"), "total_cost": _("Total (EUR)")}
    export_filename = "pay-records"
    inspect_view_fields = [
        "person",
        "month",
        "gross_salary",
        "employer_social_costs",
        "freelancer_invoice",
        "total_cost",
        "note",
        "posted_at",
    ]

    def get_form_class(self, for_update=False):
        from .admin_forms import PayRecordForm

        return PayRecordForm


# --- Allocations ----------------------------------------------------------------------------------


class AllocationFilterSet(WagtailFilterSet):
    month = django_filters.ChoiceFilter(label=_("Month"), choices=month_choices(Allocation))
    person = django_filters.ModelChoiceFilter(label=_("Person"), queryset=Person.objects.all())
    grant = django_filters.ModelChoiceFilter(label=_("Grant"), queryset=Grant.objects.all())

    class Meta:
        model = Allocation
        fields = []


class AllocationIndexView(GrantsIndexView):
    default_ordering = "-month"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("person", "grant")

    def get_edit_url(self, instance):
        """A row opens the "Allocate time" screen of its person and month."""
        if self.permission_policy.user_has_permission(self.request.user, "allocate"):
            return admin_views.allocate_url(instance.person_id, instance.month)
        return None

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.permission_policy.user_has_permission(self.request.user, "allocate"):
            buttons.append(
                HeaderButton(_("Allocate time"), url=reverse("grants_allocation:allocate"), icon_name="time")
            )
        return buttons


class AllocationViewSet(ModelViewSet):
    model = Allocation
    name = "grants_allocation"
    url_prefix = "grants/allocations"
    icon = "time"
    menu_label = _("Allocations")
    menu_order = 220
    add_to_reference_index = False
    copy_view_enabled = False
    index_view_class = AllocationIndexView
    exclude_form_fields = []
    list_display = [
        "person",
        MonthColumn("month", label=_("Month"), sort_key="month"),
        Column("grant", label=_("Grant"), accessor="grant", sort_key="grant__code"),
        Column("percent", label=_("Share (%)"), sort_key="percent"),
        Column("days", label=_("Days")),
    ]
    filterset_class = AllocationFilterSet
    search_fields = ["person__name", "grant__code"]
    list_export = ["person.name", "month", "grant.code", "percent", "days"]
    export_headings = {"person.name": _("Person"), "grant.code": _("Grant")}
    export_filename = "allocations"

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("allocate/", admin_views.AllocateView.as_view(), name="allocate"),
        ]


class AllocateMenuItem(MenuItem):
    def is_shown(self, request):
        return user_may(request.user, Allocation, "allocate")


@hooks.register(GRANTS_MENU_HOOK)
def register_allocate_menu_item():
    return AllocateMenuItem(
        _("Allocate time"),
        reverse("grants_allocation:allocate"),
        name="grants-allocate",
        icon_name="time",
        order=225,
    )


# --- Bills ----------------------------------------------------------------------------------------


class BillFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Bill.Status.choices)
    account_code = django_filters.ChoiceFilter(label=_("Account"), choices=expense_account_choices)
    cost_centre = django_filters.ModelChoiceFilter(label=_("Cost centre"), queryset=CostCentre.objects.all())
    month = django_filters.ChoiceFilter(label=_("Month"), choices=bill_month_choices, method="month_filter")

    class Meta:
        model = Bill
        fields = []

    def month_filter(self, queryset, name, value):
        import datetime

        try:
            month = datetime.date.fromisoformat(value)
        except ValueError:
            return queryset.none()
        return queryset.filter(bill_date__year=month.year, bill_date__month=month.month)


class BillIndexView(GrantsIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("cost_centre")


class BillInspectView(GrantsInspectView):
    template_name = "grants/admin/bill_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(Bill.objects.select_related("cost_centre"), pk=self.pk)

    def get_net_amount_display_value(self):
        return money(self.object.net_amount)

    def get_vat_amount_display_value(self):
        return money(self.object.vat_amount)

    def get_field_label(self, field_name, field):
        if field_name == "gross_amount":
            return _("Gross")
        return super().get_field_label(field_name, field)

    def get_gross_amount_display_value(self):
        return money(self.object.gross_amount)

    def get_account_code_display_value(self):
        account = Account.objects.filter(code=self.object.account_code).first()
        return str(account) if account else self.object.account_code

    def get_voucher_display_value(self):
        if not self.object.voucher:
            return "–"
        url = reverse("grants_bill:voucher", args=[self.object.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download the voucher"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bill = self.object
        actions = []
        if bill.status == Bill.Status.OPEN and user_may(self.request.user, Bill, "settle"):
            actions.append(
                {"label": _("Mark paid"), "url": reverse("grants_bill:pay", args=[bill.pk]), "post": False}
            )
        context.update(actions=actions, transactions=transactions_for(f"grants:bill:{bill.pk}"))
        return context


class BillViewSet(ModelViewSet):
    model = Bill
    name = "grants_bill"
    url_prefix = "grants/bills"
    icon = "doc-full"
    menu_label = _("Bills")
    menu_order = 300
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = BillIndexView
    add_view_class = admin_views.BillCreateView
    inspect_view_class = BillInspectView
    list_display = [
        "supplier",
        "number",
        "bill_date",
        "description",
        "account_code",
        Column(
            "cost_centre", label=_("Cost centre"), accessor="cost_centre.code", sort_key="cost_centre__code"
        ),
        AmountColumn("gross_amount", label=_("Gross (EUR)")),
        "status",
        "paid_on",
    ]
    filterset_class = BillFilterSet
    search_fields = ["supplier", "number", "description"]
    list_export = [
        "supplier",
        "number",
        "bill_date",
        "due_date",
        "description",
        "account_code",
        "cost_centre.code",
        "net_amount",
        "vat_amount",
        "gross_amount",
        "status",
        "paid_on",
        "payment_reference",
    ]
    export_headings = {"cost_centre.code": _("Cost centre"), "gross_amount": _("Gross")}
    export_filename = "bills"
    inspect_view_fields = [
        "supplier",
        "number",
        "bill_date",
        "due_date",
        "description",
        "account_code",
        "cost_centre",
        "net_amount",
        "vat_amount",
        "gross_amount",
        "voucher",
        "status",
        "paid_on",
        "payment_reference",
    ]

    def get_form_class(self, for_update=False):
        from .admin_forms import BillForm

        return BillForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("pay/<int:pk>/", admin_views.BillPaidView.as_view(), name="pay"),
            path("voucher/<int:pk>/", admin_views.bill_voucher_download, name="voucher"),
        ]


# --- The group ------------------------------------------------------------------------------------


class GrantsViewSetGroup(ModelViewSetGroup):
    menu_label = _("Grants")
    menu_icon = "doc-full-inverse"
    menu_order = 830
    submenu_hook = GRANTS_MENU_HOOK
    items = (
        FunderViewSet,
        GrantViewSet,
        MilestoneViewSet,
        GrantPaymentViewSet,
        PersonViewSet,
        PayRecordViewSet,
        AllocationViewSet,
        BillViewSet,
    )


@hooks.register("register_admin_viewset")
def register_grants_viewsets():
    return GrantsViewSetGroup()
