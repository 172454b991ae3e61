"""The actions of the sponsors' staff screens: small confirm pages, each calling one service.

GET shows what will happen and the form; only POST (with CSRF) changes anything. Each view checks its
action of ``SponsorsPermissionPolicy`` (sponsors/viewsets.py): "decide" on sponsorships and "settle" on
invoices are finance's (Django's change permission), "review" on logos is editors' and finance's. A
refusal of the rules (``InvalidTransition``, ``SponsorshipRefused``, ``ValidationError``) is shown as an
error message and changes nothing; a second click of the same button is such a refusal, so the books
change once. Like every staff page, these need MFA (accounts.middleware).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic.edit import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permissions import policy_registry

from ledger.viewsets import format_amount

from . import services
from .admin_forms import (
    ConfirmForm,
    InvoiceCancelForm,
    InvoiceMarkPaidForm,
    LogoRejectForm,
    SponsorshipApproveForm,
    SponsorshipCancelForm,
    SponsorshipRejectForm,
)
from .models import ACTION_LABELS, InvalidTransition, Invoice, SponsorLogo, Sponsorship, Status

logger = logging.getLogger(__name__)

REFUSALS = (InvalidTransition, services.SponsorshipRefused)


def _user_may(user, model, action: str) -> bool:
    return policy_registry.get_by_type(model).user_has_permission(user, action)


class ActionView(WagtailAdminTemplateMixin, FormView):
    """One action on one object: a confirm page (GET) and the change (POST)."""

    model = None
    permission_action = ""
    inspect_url_name = ""
    template_name = "sponsors/admin/action_confirm.html"
    summary_template_name = ""
    form_class = ConfirmForm
    submit_label = _("Confirm")
    serious = False  # a destructive action: the button says so
    intro = ""
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not _user_may(request.user, self.model, self.permission_action):
            raise PermissionDenied
        self.object = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.model._default_manager.all()

    # -- what subclasses say ----------------------------------------------------------------------

    def refusal(self) -> str:
        """Why the action is not possible now (empty when it is)."""
        return ""

    def perform(self, data: dict) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    # -- flow -------------------------------------------------------------------------------------

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

    def form_valid(self, form):
        try:
            message = self.perform(form.cleaned_data)
        except REFUSALS as refusal:
            messages.error(self.request, str(refusal))
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

    # -- page furniture ---------------------------------------------------------------------------

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
            summary_template_name=self.summary_template_name,
            submit_label=self.submit_label,
            serious=self.serious,
            intro=self.intro,
            cancel_url=self.inspect_url(),
            action_url=self.request.path,
        )
        return context


# --- Sponsorships ---------------------------------------------------------------------------------


class SponsorshipActionView(ActionView):
    model = Sponsorship
    permission_action = "decide"
    summary_template_name = "sponsors/admin/_sponsorship_summary.html"
    header_icon = "doc-full-inverse"
    transition = ""

    def get_queryset(self):
        return Sponsorship.objects.select_related("sponsor", "package")

    def refusal(self) -> str:
        if self.object.can(self.transition):
            return ""
        return gettext("A sponsorship that is %(status)s cannot be %(action)s.") % {
            "status": self.object.get_status_display(),
            "action": ACTION_LABELS[self.transition],
        }


def _latest_invoice(sponsorship: Sponsorship) -> Invoice | None:
    return sponsorship.invoices.filter(kind=Invoice.Kind.INVOICE).order_by("-pk").first()


def _gross(invoice: Invoice) -> str:
    return f"{format_amount(invoice.gross_amount)} {invoice.currency}"


class SponsorshipApproveView(SponsorshipActionView):
    transition = "approve"
    form_class = SponsorshipApproveForm
    page_title = _("Approve the application")
    submit_label = _("Approve")
    intro = _(
        "The company's contacts are told, a logo waiting for review is approved with it, and (if you "
        "leave the box ticked) the invoice is issued and e-mailed to the billing address."
    )

    def perform(self, data: dict) -> str:
        sponsorship = services.sponsorship_approve(
            sponsorship=self.object,
            by=self.request.user,
            reason=data["reason"],
            issue_invoice=data["issue_invoice"],
        )
        invoice = _latest_invoice(sponsorship) if sponsorship.status == Status.INVOICED else None
        if invoice is None:
            return gettext("Sponsorship of %(sponsor)s approved.") % {"sponsor": sponsorship.sponsor}
        return gettext("Sponsorship of %(sponsor)s approved; invoice %(number)s issued (%(gross)s).") % {
            "sponsor": sponsorship.sponsor,
            "number": invoice.number,
            "gross": _gross(invoice),
        }


class SponsorshipRejectView(SponsorshipActionView):
    transition = "reject"
    form_class = SponsorshipRejectForm
    page_title = _("Reject the application")
    submit_label = _("Reject")
    serious = True
    intro = _("The company's contacts are told, with your reason. Nothing is invoiced.")

    def perform(self, data: dict) -> str:
        sponsorship = services.sponsorship_reject(
            sponsorship=self.object, by=self.request.user, reason=data["reason"]
        )
        return gettext("Application of %(sponsor)s rejected; the contacts were told why.") % {
            "sponsor": sponsorship.sponsor
        }


class SponsorshipInvoiceView(SponsorshipActionView):
    transition = "invoice"
    page_title = _("Issue the invoice")
    submit_label = _("Issue the invoice")
    intro = _(
        "The invoice gets the next number, today's date and the VAT treatment of the package and the "
        "company's country and VAT ID; the receivable is booked and the invoice is e-mailed."
    )

    def perform(self, data: dict) -> str:
        invoice = services.invoice_issue(sponsorship=self.object, by=self.request.user)
        return gettext("Invoice %(number)s issued (%(gross)s).") % {
            "number": invoice.number,
            "gross": _gross(invoice),
        }


class SponsorshipCancelView(SponsorshipActionView):
    transition = "cancel"
    form_class = SponsorshipCancelForm
    page_title = _("Cancel the sponsorship")
    submit_label = _("Cancel the sponsorship")
    serious = True
    intro = _(
        "An open or paid invoice of this sponsorship is cancelled by a credit note. A paid one is owed "
        "back: finance is reminded to refund it. The logo leaves the site."
    )

    def perform(self, data: dict) -> str:
        sponsorship = services.sponsorship_cancel(
            sponsorship=self.object, by=self.request.user, reason=data["reason"]
        )
        return gettext("Sponsorship of %(sponsor)s cancelled.") % {"sponsor": sponsorship.sponsor}


# --- Invoices -------------------------------------------------------------------------------------


class InvoiceActionView(ActionView):
    model = Invoice
    permission_action = "settle"
    summary_template_name = "sponsors/admin/_invoice_summary.html"
    header_icon = "doc-full"

    def get_queryset(self):
        return Invoice.objects.select_related("sponsorship__sponsor", "sponsorship__package")


class InvoiceMarkPaidView(InvoiceActionView):
    form_class = InvoiceMarkPaidForm
    page_title = _("Mark paid by bank transfer")
    submit_label = _("Mark paid")
    intro = _(
        "The transfer is booked from the bank to the receivable and the sponsorship becomes active: "
        "the logo appears on the site."
    )

    def refusal(self) -> str:
        invoice = self.object
        if invoice.kind == Invoice.Kind.INVOICE and invoice.status == Invoice.Status.OPEN:
            return ""
        return gettext("Invoice %(number)s is %(status)s, not open.") % {
            "number": invoice.number,
            "status": invoice.get_status_display(),
        }

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "invoice": self.object}

    def perform(self, data: dict) -> str:
        invoice = services.invoice_mark_paid(
            invoice=self.object, paid_on=data["paid_on"], reference=data["reference"], by=self.request.user
        )
        return gettext("Invoice %(number)s marked paid on %(day)s.") % {
            "number": invoice.number,
            "day": data["paid_on"].isoformat(),
        }


class InvoiceCancelView(InvoiceActionView):
    form_class = InvoiceCancelForm
    page_title = _("Cancel with a credit note")
    submit_label = _("Issue the credit note")
    serious = True
    intro = _(
        "An issued invoice is never edited: a credit note with its own number cancels it and reverses "
        "its booking. To end the sponsorship itself, cancel the sponsorship instead."
    )

    def refusal(self) -> str:
        invoice = self.object
        if invoice.kind == Invoice.Kind.INVOICE and invoice.status != Invoice.Status.CANCELLED:
            return ""
        return gettext("Invoice %(number)s is already cancelled.") % {"number": invoice.number}

    def can_reissue(self) -> bool:
        return self.object.status == Invoice.Status.OPEN and self.object.sponsorship.status == Status.INVOICED

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "can_reissue": self.can_reissue()}

    def perform(self, data: dict) -> str:
        credit_note = services.invoice_cancel(
            invoice=self.object,
            by=self.request.user,
            reason=data["reason"],
            reissue=bool(data.get("reissue")),
        )
        message = gettext("Credit note %(credit_note)s cancels invoice %(number)s.") % {
            "credit_note": credit_note.number,
            "number": self.object.number,
        }
        if data.get("reissue"):
            corrected = _latest_invoice(self.object.sponsorship)
            message += " " + gettext("Corrected invoice %(number)s issued.") % {"number": corrected.number}
        return message


@require_GET
@never_cache
def invoice_pdf_download(request, pk: int):
    """The PDF of an invoice or credit note (finance); rendered and stored on the first download."""
    if not _user_may(request.user, Invoice, "view"):
        raise PermissionDenied
    invoice = get_object_or_404(Invoice, pk=pk)
    try:
        invoice = services.invoice_document_make(invoice_id=invoice.pk, send=False)
    except Exception:  # a broken renderer must not cost finance the page
        logger.exception("sponsors: the PDF of invoice %s could not be made", invoice.number)
        messages.error(
            request,
            gettext("The PDF of %(number)s could not be made; the error was logged. Try again later.")
            % {"number": invoice.number},
        )
        return redirect("sponsors_invoice:inspect", invoice.pk)
    response = FileResponse(
        invoice.pdf.open("rb"),
        as_attachment=True,
        filename=f"{invoice.number}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Logos ----------------------------------------------------------------------------------------


class LogoActionView(ActionView):
    model = SponsorLogo
    permission_action = "review"
    summary_template_name = "sponsors/admin/_logo_summary.html"
    header_icon = "image"

    def get_queryset(self):
        return SponsorLogo.objects.select_related("sponsor")

    def refusal(self) -> str:
        if self.object.status == SponsorLogo.Status.PENDING:
            return ""
        return gettext("This logo has already been reviewed.")

    def get_success_url(self) -> str:
        """Back to the queue: the next logo waiting."""
        return reverse("sponsors_logo:index")


class LogoApproveView(LogoActionView):
    page_title = _("Approve the logo")
    submit_label = _("Approve the logo")
    intro = _("The logo replaces the company's current one on the site while its sponsorship is paid.")

    def perform(self, data: dict) -> str:
        logo = services.logo_approve(logo=self.object, by=self.request.user)
        return gettext("Logo of %(sponsor)s approved.") % {"sponsor": logo.sponsor}


class LogoRejectView(LogoActionView):
    form_class = LogoRejectForm
    page_title = _("Reject the logo")
    submit_label = _("Reject the logo")
    serious = True
    intro = _("The company's contacts are told why and can upload another logo.")

    def perform(self, data: dict) -> str:
        logo = services.logo_reject(logo=self.object, by=self.request.user, reason=data["reason"])
        return gettext("Logo of %(sponsor)s rejected; the contacts were told why.") % {
            "sponsor": logo.sponsor
        }
