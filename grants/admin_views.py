"""The views behind the grants' staff screens (grants/viewsets.py): forms that post through
``grants.services``, and small confirm-and-POST actions.

GET shows what will happen and the form; only POST (with CSRF) changes anything. Each view checks its
action of ``GrantsPermissionPolicy`` (the finance role). A refusal (``InvalidTransition``,
``ValidationError``, a ``LedgerError`` of the books, a duplicate) is shown as a message and changes nothing;
a second click of the same button is such a refusal, so the books change once. Never a 500 for bad input.
"""

from __future__ import annotations

import datetime
import logging
import mimetypes
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from django.views.generic.edit import FormView
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ledger.errors import LedgerError
from ledger.querysets import month_end

from . import services
from .admin_forms import (
    AllocationForm,
    AllocationPickForm,
    BillPaidForm,
    GrantDocumentForm,
    MilestoneFormSet,
    PaymentReceivedForm,
    month_label,
    working_days,
    works_in,
)
from .models import (
    Allocation,
    Bill,
    Grant,
    GrantDocument,
    GrantPayment,
    InvalidTransition,
    Milestone,
    PayRecord,
    Person,
)

logger = logging.getLogger(__name__)

REFUSALS = (ValidationError, InvalidTransition, LedgerError)


def _user_may(user, model, action: str) -> bool:
    from .viewsets import user_may

    return user_may(user, model, action)


def refusal_texts(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return [str(text) for text in error.messages]
    if isinstance(error, IntegrityError):
        return [gettext("This was saved already (perhaps by a second click); reload the page and check.")]
    return [str(error)]


def amount_text(value: Decimal, currency: str = "EUR") -> str:
    from ledger.viewsets import format_amount

    return f"{format_amount(value)} {currency}"


def allocate_url(person_id: int, month: datetime.date) -> str:
    query = urlencode({"person": person_id, "month": month_label(month)})
    return f"{reverse('grants_allocation:allocate')}?{query}"


# --- Create and edit views that post ---------------------------------------------------------------


class ServiceFormMixin:
    """A Wagtail create or edit view whose save calls a service inside the view's transaction: a refusal
    rolls everything back and shows the form again with the reason."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except (*REFUSALS, IntegrityError) as error:
            logger.info("grants admin: %s refused: %s", type(self).__name__, error)
            self.after_refusal(form)
            for text in refusal_texts(error):
                form.add_error(None, text)
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)

    def after_refusal(self, form) -> None:
        """Undo what lives outside the database (an uploaded file)."""


class GrantFormsetMixin(ServiceFormMixin):
    """The grant's form with its milestones as an inline formset (and the budget in the form itself)."""

    def get_formset(self):
        if not hasattr(self, "_formset"):
            instance = self.object if getattr(self, "object", None) is not None else Grant()
            data = self.request.POST if self.request.method == "POST" else None
            self._formset = MilestoneFormSet(data, instance=instance, prefix="milestones")
        return self._formset

    def is_valid(self, form):
        form_valid = form.is_valid()
        formset = self.get_formset()
        formset.awarded_amount = form.cleaned_data.get("awarded_amount") if form_valid else None
        formset_valid = formset.is_valid()
        if not (form_valid and formset_valid):
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return False
        return True

    def save_instance(self):
        grant = super().save_instance()
        self.form.budget_save(grant)
        formset = self.get_formset()
        formset.instance = grant
        formset.save()
        services.grant_cost_centre_ensure(grant=grant)
        return grant

    def get_success_url(self):
        return reverse("grants_grant:inspect", args=[self.object.pk])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        formset = self.get_formset()
        budget_names = set(form.budget_field_names)
        context.update(
            main_fields=[field for field in form.visible_fields() if field.name not in budget_names],
            budget_fields=[form[name] for name in form.budget_field_names],
            formset=formset,
        )
        context["media"] = context["media"] + formset.media
        return context


class GrantCreateView(GrantFormsetMixin, generic.CreateView):
    pass


class GrantEditView(GrantFormsetMixin, generic.EditView):
    pass


class GrantPaymentCreateView(ServiceFormMixin, generic.CreateView):
    """Money without a milestone (an advance, a tranche): posted as grant income on the grant's centre."""

    page_title = _("Record payment")
    submit_button_label = _("Record and book the payment")

    def get_initial(self):
        initial = super().get_initial()
        if self.request.GET.get("grant", "").isdigit():
            initial["grant"] = int(self.request.GET["grant"])
        return initial

    def save_instance(self):
        data = self.form.cleaned_data
        grant = Grant.objects.select_for_update().get(pk=data["grant"].pk)
        duplicate = GrantPayment.objects.filter(
            grant=grant, amount=data["amount"], received_on=data["received_on"], reference=data["reference"]
        ).exists()
        if duplicate:
            raise ValidationError(
                gettext(
                    "This payment (same amount, day and bank reference) is already recorded; nothing was booked."
                )
            )
        return services.grant_payment_record(
            grant=grant,
            amount=data["amount"],
            received_on=data["received_on"],
            reference=data["reference"],
            by=self.request.user,
        )

    def get_success_message(self, instance):
        return gettext("Payment of %(amount)s for %(grant)s booked as grant income.") % {
            "amount": amount_text(instance.amount),
            "grant": instance.grant.code,
        }

    def get_success_url(self):
        return reverse("grants_grant:inspect", args=[self.object.grant_id])

    def get_success_buttons(self):
        return []


class PayRecordCreateView(ServiceFormMixin, generic.CreateView):
    """Saving a pay record posts it at once, split by the month's allocation."""

    submit_button_label = _("Save and post")

    def save_instance(self):
        record = super().save_instance()
        return services.pay_record_post(pay_record=record)

    def get_success_message(self, instance):
        return gettext("Pay of %(person)s for %(month)s posted (%(total)s).") % {
            "person": instance.person,
            "month": month_label(instance.month),
            "total": amount_text(instance.total_cost),
        }

    def get_success_url(self):
        return reverse("grants_payrecord:inspect", args=[self.object.pk])

    def get_success_buttons(self):
        return []


class PayRecordEditView(ServiceFormMixin, generic.EditView):
    """Only a record that is not posted yet (e.g. one whose posting failed) opens here; saving posts it."""

    submit_button_label = _("Save and post")

    def dispatch(self, request, *args, **kwargs):
        may_change = _user_may(request.user, PayRecord, "change")
        record = PayRecord.objects.filter(pk=kwargs.get("pk")).first() if may_change else None
        if record is not None and record.posted_at is not None:
            messages.error(
                request,
                gettext(
                    "The pay record of %(person)s for %(month)s is posted and cannot be changed. A change of "
                    "the split is made by allocating the month again (booked as a reclassification); a wrong "
                    "amount is corrected by finance with a correcting booking."
                )
                % {"person": record.person, "month": month_label(record.month)},
            )
            return redirect("grants_payrecord:inspect", record.pk)
        return super().dispatch(request, *args, **kwargs)

    def save_instance(self):
        record = super().save_instance()
        return services.pay_record_post(pay_record=record)

    def get_success_message(self):
        return gettext("Pay of %(person)s for %(month)s posted (%(total)s).") % {
            "person": self.object.person,
            "month": month_label(self.object.month),
            "total": amount_text(self.object.total_cost),
        }

    def get_success_url(self):
        return reverse("grants_payrecord:inspect", args=[self.object.pk])

    def get_success_buttons(self):
        return []


class BillCreateView(ServiceFormMixin, generic.CreateView):
    """Saving a bill books it (gross) on its account and cost centre against payables."""

    submit_button_label = _("Save and book")

    def save_instance(self):
        bill = super().save_instance()
        return services.bill_post(bill=bill)

    def after_refusal(self, form) -> None:
        voucher = form.instance.voucher
        if voucher and voucher.name and voucher.storage.exists(voucher.name):
            voucher.storage.delete(voucher.name)

    def get_success_message(self, instance):
        return gettext("Bill %(number)s of %(supplier)s booked (%(gross)s).") % {
            "number": instance.number,
            "supplier": instance.supplier,
            "gross": amount_text(instance.gross_amount),
        }

    def get_success_url(self):
        return reverse("grants_bill:inspect", args=[self.object.pk])

    def get_success_buttons(self):
        return []


# --- Confirm-and-POST actions ----------------------------------------------------------------------


class ActionView(WagtailAdminTemplateMixin, FormView):
    """One action on one object: a confirm page (GET) and the change (POST)."""

    model = None
    permission_model = None
    permission_action = ""
    inspect_url_name = ""
    template_name = "grants/admin/action_confirm.html"
    form_class = None
    submit_label = _("Confirm")
    serious = False
    intro = ""
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not _user_may(request.user, self.permission_model or self.model, self.permission_action):
            raise PermissionDenied
        self.object = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.model._default_manager.all()

    def get_form_class(self):
        from django import forms

        return self.form_class or forms.Form

    def refusal(self) -> str:
        """Why the action is not possible now (empty when it is)."""
        return ""

    def perform(self, data: dict) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def summary(self) -> list[tuple[str, str]]:
        return []

    def inspect_url(self) -> str:
        return reverse(self.inspect_url_name, args=[self.object.pk])

    def get_success_url(self) -> str:
        return self.inspect_url()

    def get(self, request, *args, **kwargs):
        refusal = self.refusal()
        if refusal:
            messages.error(request, refusal)
            return redirect(self.inspect_url())
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        refusal = self.refusal()
        if refusal:
            messages.error(request, refusal)
            return redirect(self.inspect_url())
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            message = self.perform(form.cleaned_data)
        except (InvalidTransition, LedgerError, IntegrityError) as refusal:
            for text in refusal_texts(refusal):
                messages.error(self.request, text)
            return redirect(self.inspect_url())
        except ValidationError as error:
            for text in error.messages:
                form.add_error(None, text)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        index_url_name = self.inspect_url_name.replace(":inspect", ":index")
        return [
            *self.breadcrumbs_items,
            {"url": reverse(index_url_name), "label": capfirst(self.model._meta.verbose_name_plural)},
            {"url": self.inspect_url(), "label": str(self.object)},
            {"url": "", "label": self.get_page_title(), "sublabel": str(self.object)},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            summary=self.summary(),
            submit_label=self.submit_label,
            serious=self.serious,
            intro=self.intro,
            cancel_url=self.inspect_url(),
            action_url=self.request.path,
            media=context["form"].media if context.get("form") else None,
        )
        return context


GRANT_MOVES = {
    "award": (_("Award the grant"), _("Award"), False, _("The funder has awarded the grant.")),
    "reject": (_("Reject the grant"), _("Reject"), True, _("The funder has turned the application down.")),
    "start": (
        _("Start the grant"),
        _("Start"),
        False,
        _("Work on the grant has begun; costs may be charged."),
    ),
    "close": (
        _("Close the grant"),
        _("Close"),
        True,
        _("The grant has ended and is reported; no more time can be allocated to it after its end."),
    ),
}


class GrantMoveView(ActionView):
    """Award, reject, start or close a grant (the guarded methods of ``Grant``)."""

    model = Grant
    permission_action = "change"
    inspect_url_name = "grants_grant:inspect"
    header_icon = "doc-full-inverse"
    transition = ""

    def get_queryset(self):
        return Grant.objects.select_related("funder")

    def get_page_title(self):
        return GRANT_MOVES[self.transition][0]

    def get_context_data(self, **kwargs):
        _title, self.submit_label, self.serious, self.intro = GRANT_MOVES[self.transition]
        return super().get_context_data(**kwargs)

    def summary(self):
        grant = self.object
        return [
            (gettext("Funder"), str(grant.funder)),
            (gettext("Awarded amount"), amount_text(grant.awarded_amount, grant.currency)),
            (gettext("Period"), f"{grant.start_date:%Y-%m-%d} – {grant.end_date:%Y-%m-%d}"),
            (gettext("State"), grant.get_state_display()),
        ]

    def refusal(self) -> str:
        if self.object.can(self.transition):
            return ""
        return gettext("A grant that is %(state)s cannot be moved that way.") % {
            "state": self.object.get_state_display()
        }

    def perform(self, data):
        with transaction.atomic():
            grant = Grant.objects.select_for_update().get(pk=self.object.pk)
            getattr(grant, self.transition)()
        return gettext("Grant %(code)s is now %(state)s.") % {
            "code": grant.code,
            "state": grant.get_state_display(),
        }


MILESTONE_MOVES = {
    "begin": (_("Begin work on the milestone"), _("Begin work"), _("Work on this milestone has started.")),
    "submit": (
        _("Submit the milestone"),
        _("Submit"),
        _("The deliverables were handed to the funder. (Issuing the request for payment submits it too.)"),
    ),
    "accept": (
        _("The funder accepted the milestone"),
        _("Accepted"),
        _("The funder has accepted the deliverables."),
    ),
    "reopen": (
        _("Reopen the milestone"),
        _("Reopen"),
        _("The funder asked for changes: the milestone is in progress again."),
    ),
}


class MilestoneActionView(ActionView):
    model = Milestone
    permission_action = "change"
    inspect_url_name = "grants_milestone:inspect"
    header_icon = "tasks"

    def get_queryset(self):
        return Milestone.objects.select_related("grant")

    def summary(self):
        milestone = self.object
        return [
            (gettext("Grant"), f"{milestone.grant.code} – {milestone.grant.title}"),
            (gettext("Milestone"), f"M{milestone.position}: {milestone.title}"),
            (gettext("Due date"), f"{milestone.due_date:%Y-%m-%d}"),
            (gettext("Payable"), amount_text(milestone.payable_amount, milestone.grant.currency)),
            (gettext("State"), milestone.get_state_display()),
        ]


class MilestoneMoveView(MilestoneActionView):
    """Begin, submit, accept or reopen (``Milestone.move`` with the table of moves)."""

    transition = ""

    def get_page_title(self):
        return MILESTONE_MOVES[self.transition][0]

    def get_context_data(self, **kwargs):
        _title, self.submit_label, self.intro = MILESTONE_MOVES[self.transition]
        return super().get_context_data(**kwargs)

    def refusal(self) -> str:
        if self.object.can(self.transition):
            return ""
        return gettext("A milestone that is %(state)s cannot be moved that way.") % {
            "state": self.object.get_state_display()
        }

    def perform(self, data):
        with transaction.atomic():
            milestone = Milestone.objects.select_for_update().get(pk=self.object.pk)
            milestone.move(self.transition)
        return gettext("Milestone %(milestone)s is now %(state)s.") % {
            "milestone": milestone,
            "state": milestone.get_state_display(),
        }


class MilestoneRequestView(MilestoneActionView):
    """Give the milestone its request-for-payment number (once) and submit it."""

    page_title = _("Issue request for payment")
    submit_label = _("Issue the request")
    intro = _(
        "The request gets the next number of the ZA series and today's date, and the milestone is "
        "submitted. A request is issued once."
    )

    def refusal(self) -> str:
        milestone = self.object
        if milestone.request_number:
            return gettext("Request for payment %(number)s was already issued on %(day)s.") % {
                "number": milestone.request_number,
                "day": f"{milestone.request_date:%Y-%m-%d}" if milestone.request_date else "–",
            }
        if milestone.state == Milestone.State.PAID:
            return gettext("This milestone has already been paid.")
        return ""

    def perform(self, data):
        milestone = services.milestone_request_issue(milestone=self.object)
        return gettext("Request for payment %(number)s issued for %(milestone)s (%(amount)s).") % {
            "number": milestone.request_number,
            "milestone": milestone,
            "amount": amount_text(milestone.payable_amount, milestone.grant.currency),
        }


class MilestonePaymentView(MilestoneActionView):
    """The funder paid the milestone: bank to grant income on the grant's cost centre; the milestone is paid."""

    permission_model = GrantPayment
    permission_action = "add"
    form_class = PaymentReceivedForm
    page_title = _("Record payment received")
    submit_label = _("Record and book the payment")
    intro = _(
        "The payment is booked from the bank to grant income on the grant's cost centre, and the milestone is paid."
    )

    def refusal(self) -> str:
        if (
            self.object.state == Milestone.State.PAID
            or GrantPayment.objects.filter(milestone=self.object).exists()
        ):
            return gettext("This milestone has already been paid.")
        grant = self.object.grant
        if grant.state in (Grant.State.APPLIED, Grant.State.REJECTED):
            return gettext("The grant is %(state)s: award it before recording a payment.") % {
                "state": grant.get_state_display()
            }
        return ""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "amount": self.object.payable_amount}

    def perform(self, data):
        payment = services.grant_payment_record(
            grant=self.object.grant,
            amount=data["amount"],
            received_on=data["received_on"],
            reference=data["reference"],
            milestone=self.object,
            by=self.request.user,
        )
        return gettext("Payment of %(amount)s for %(milestone)s booked; the milestone is paid.") % {
            "amount": amount_text(payment.amount),
            "milestone": self.object,
        }


class BillPaidView(ActionView):
    model = Bill
    permission_action = "settle"
    inspect_url_name = "grants_bill:inspect"
    header_icon = "doc-full"
    form_class = BillPaidForm
    page_title = _("Mark paid")
    submit_label = _("Mark paid")
    intro = _("The payment is booked from payables to the bank.")

    def summary(self):
        bill = self.object
        return [
            (gettext("Supplier"), bill.supplier),
            (gettext("Number"), bill.number),
            (gettext("Date"), f"{bill.bill_date:%Y-%m-%d}"),
            (gettext("Gross"), amount_text(bill.gross_amount)),
        ]

    def refusal(self) -> str:
        if self.object.status == Bill.Status.PAID:
            return gettext("This bill is already paid.")
        return ""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "bill": self.object}

    def perform(self, data):
        bill = services.bill_mark_paid(bill=self.object, paid_on=data["paid_on"], reference=data["reference"])
        return gettext("Bill %(number)s of %(supplier)s marked paid on %(day)s.") % {
            "number": bill.number,
            "supplier": bill.supplier,
            "day": f"{data['paid_on']:%Y-%m-%d}",
        }


class GrantDocumentUploadView(ActionView):
    """An agreement, amendment or annex of the grant (PDF, private file)."""

    model = Grant
    permission_model = GrantDocument
    permission_action = "add"
    inspect_url_name = "grants_grant:inspect"
    header_icon = "doc-full-inverse"
    form_class = GrantDocumentForm
    page_title = _("Upload a document")
    submit_label = _("Upload")
    intro = _("Agreements, amendments and annexes, as PDF. They are kept private (finance only).")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.request.method == "POST":
            kwargs["files"] = self.request.FILES
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["multipart"] = True
        return context

    def perform(self, data):
        document = GrantDocument(grant=self.object, title=data["title"])
        document.file.save(data["file"].name, data["file"], save=False)
        document.save()
        return gettext("Document “%(title)s” added to %(grant)s.") % {
            "title": document.title,
            "grant": self.object.code,
        }


# --- Private files --------------------------------------------------------------------------------


def _private_file(file_field, *, filename: str):
    try:
        handle = file_field.open("rb")
    except (FileNotFoundError, ValueError, OSError):
        raise Http404 from None
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@never_cache
def grant_document_download(request, pk: int):
    if not _user_may(request.user, GrantDocument, "view"):
        raise PermissionDenied
    document = get_object_or_404(GrantDocument.objects.select_related("grant"), pk=pk)
    name = document.file.name.rsplit("/", 1)[-1] or "document.pdf"
    return _private_file(document.file, filename=name)


@require_GET
@never_cache
def bill_voucher_download(request, pk: int):
    """A bill's voucher (finance only)."""
    if not _user_may(request.user, Bill, "view"):
        raise PermissionDenied
    bill = get_object_or_404(Bill, pk=pk)
    if not bill.voucher:
        raise Http404
    extension = bill.voucher.name.rsplit(".", 1)[-1] if "." in bill.voucher.name else "pdf"
    return _private_file(bill.voucher, filename=f"voucher-{bill.pk}.{extension}")


# --- Allocate time ---------------------------------------------------------------------------------


def grants_to_allocate(person: Person, month: datetime.date):
    """Grants running in ``month`` (awarded, active or closed), and any the person is allocated to."""
    from django.db.models import Q

    running = Q(
        state__in=(Grant.State.AWARDED, Grant.State.ACTIVE, Grant.State.CLOSED),
        start_date__lte=month_end(month),
        end_date__gte=month,
    )
    allocated = Q(allocations__person=person, allocations__month=month)
    return Grant.objects.filter(running | allocated).distinct().order_by("code")


class AllocateView(WagtailAdminTemplateMixin, TemplateView):
    """How one person's month splits across the grants running then; the rest is core work."""

    template_name = "grants/admin/allocate.html"
    page_title = _("Allocate time")
    header_icon = "time"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not _user_may(request.user, Allocation, "allocate"):
            raise PermissionDenied
        data = request.GET.copy()
        if data.get("person") and not data.get("month"):
            data["month"] = month_label(timezone.localdate())  # from a person's page: this month
        self.pick = AllocationPickForm(data or None)
        self.person = self.month = None
        if self.pick.is_bound and self.pick.is_valid():
            self.person = self.pick.cleaned_data["person"]
            self.month = self.pick.cleaned_data["month"]
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("grants_allocation:index"),
                "label": capfirst(Allocation._meta.verbose_name_plural),
            },
            {"url": "", "label": self.get_page_title()},
        ]

    def current(self) -> dict:
        rows = Allocation.objects.filter(person=self.person, month=self.month)
        return {row.grant_id: row for row in rows}

    def make_form(self, data=None) -> AllocationForm:
        return AllocationForm(
            data, grants=grants_to_allocate(self.person, self.month), month=self.month, current=self.current()
        )

    def get(self, request, *args, **kwargs):
        form = self.make_form() if self.person else None
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        if self.person is None:
            messages.error(request, gettext("Choose the person and the month first."))
            return redirect("grants_allocation:allocate")
        form = self.make_form(request.POST)
        if form.is_valid():
            if not works_in(self.person, self.month) and form.shares:
                form.add_error(
                    None,
                    gettext("%(name)s does not work here in %(month)s (start and end on the person's page).")
                    % {"name": self.person.name, "month": month_label(self.month)},
                )
            else:
                try:
                    with transaction.atomic():
                        services.allocations_set(person=self.person, month=self.month, shares=form.shares)
                        for grant, days in form.days.items():
                            Allocation.objects.filter(
                                person=self.person, month=self.month, grant=grant
                            ).update(days=days)
                except (*REFUSALS, IntegrityError) as error:
                    for text in refusal_texts(error):
                        form.add_error(None, text)
                else:
                    messages.success(request, self.success_message(form))
                    return redirect(allocate_url(self.person.pk, self.month))
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 400
        return response

    def success_message(self, form: AllocationForm) -> str:
        parts = []
        cent = Decimal("0.01")
        for grant, percent in form.shares.items():
            percent = percent.quantize(cent)
            if grant in form.days:
                parts.append(
                    gettext("%(grant)s %(percent)s %% (%(days)s days)")
                    % {"grant": grant.code, "percent": percent, "days": form.days[grant]}
                )
            else:
                parts.append(gettext("%(grant)s %(percent)s %%") % {"grant": grant.code, "percent": percent})
        parts.append(
            gettext("core %(percent)s %%") % {"percent": (Decimal("100") - form.total).quantize(cent)}
        )
        message = gettext("Allocation of %(person)s in %(month)s saved: %(parts)s.") % {
            "person": self.person,
            "month": month_label(self.month),
            "parts": ", ".join(parts),
        }
        if PayRecord.objects.filter(person=self.person, month=self.month, posted_at__isnull=False).exists():
            message += " " + gettext(
                "The month's pay was already posted: the change is booked as a reclassification."
            )
        return message

    def declaration_url(self, grant: Grant) -> str:
        """The monthly time declaration (PDF with signature lines) of this person on ``grant``."""
        from .viewsets import document_url

        return document_url(
            "time_declaration",
            person_id=str(self.person.pk),
            grant_id=str(grant.pk),
            year=f"{self.month.year:04d}",
            month=f"{self.month.month:02d}",
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form")
        context.update(pick=self.pick, person=self.person, month=self.month)
        if self.person is not None:
            days_in_month = working_days(self.month)
            current = self.current()
            allocated = sum((row.percent for row in current.values() if row.grant_id), Decimal("0"))
            context.update(
                month_text=month_label(self.month),
                working_days=days_in_month,
                day_percent=(Decimal("100") / days_in_month).quantize(Decimal("0.01")),
                rows=[
                    {
                        "grant": grant,
                        "percent": percent_field,
                        "days": days_field,
                        "current": current.get(grant.pk),
                        "declaration_url": self.declaration_url(grant) if grant.pk in current else "",
                    }
                    for grant, percent_field, days_field in form.rows()
                ]
                if form is not None
                else [],
                current_core=Decimal("100") - allocated,
                pay_posted=PayRecord.objects.filter(
                    person=self.person, month=self.month, posted_at__isnull=False
                ).exists(),
                works=works_in(self.person, self.month),
                action_url=self.request.get_full_path(),
            )
        context["media"] = self.pick.media
        return context
