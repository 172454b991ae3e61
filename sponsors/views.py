"""The company's own pages under /sponsors/account/: the application, the dashboard (status and its history,
invoices and credit notes, payment, placement preview, renewal, logo replacement), invoice downloads.

A contact sees only the sponsors they manage (``Sponsor.users``); another company's sponsorship or invoice
gives 404, never 403, so numbers reveal nothing. Finance staff (role and MFA) may download any invoice.
The workflows are ``sponsors.services``; these views only call them and say what happened.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import finance_required, is_finance
from accounts.roles import SPONSOR_CONTACT
from accounts.services import user_grant_role
from payments.errors import PaymentError

from . import services
from .forms import (
    CancelForm,
    ContactFormSet,
    LogoReplaceForm,
    SponsorApplicationForm,
    money_display,
    package_benefits,
    placement_places,
    places_text,
)
from .models import ACTION_LABELS, InvalidTransition, Invoice, Sponsor, SponsorLogo, Sponsorship, Status

logger = logging.getLogger(__name__)

RENEWAL_WINDOW_DAYS = 60  # the renewal button shows this many days before the end of a paid period
WITHDRAWABLE = frozenset({Status.DRAFT, Status.SUBMITTED})
PREVIEW_STATUSES = frozenset({Status.APPROVED, Status.INVOICED, Status.ACTIVE})


def _language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


# --- Application ----------------------------------------------------------------------------------


def _user_sponsor(user) -> Sponsor | None:
    """The company the user applied for before (the latest), reused when they apply again."""
    return user.sponsors.order_by("-created_at", "-pk").first()


def _contacts_initial(user, sponsor: Sponsor | None) -> list[dict]:
    if sponsor is not None and sponsor.contacts.exists():
        return []
    return [{"name": user.get_full_name(), "email": user.email}]


def _application_store(*, form: SponsorApplicationForm, contacts, user) -> Sponsorship:
    """Sponsor, contacts, the user's access, the logo, the sponsorship submitted: all or nothing.

    A logo file written before a later step refused is deleted again (the database rolls back)."""
    stored_logos: list[SponsorLogo] = []
    try:
        with transaction.atomic():
            sponsor = form.save(commit=False)
            sponsor.language = _language()
            sponsor.save()
            contacts.instance = sponsor
            contacts.save()
            sponsor.users.add(user)
            user_grant_role(user=user, role_name=SPONSOR_CONTACT)
            upload = form.cleaned_data.get("logo")
            if upload:
                stored_logos.append(
                    services.logo_upload(
                        sponsor=sponsor,
                        upload=upload,
                        by=user,
                        processed=getattr(form, "processed_logo", None),
                    )
                )
            sponsorship = services.sponsorship_draft(
                sponsor=sponsor,
                package=form.cleaned_data["package"],
                start_date=form.cleaned_data["start_date"],
                applicant=user,
            )
            return services.application_submit(sponsorship=sponsorship, by=user)
    except Exception:
        for logo in stored_logos:
            if logo.image.name:
                logo.image.storage.delete(logo.image.name)
        raise


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def apply(request):
    user = request.user
    sponsor = _user_sponsor(user)
    logo_required = sponsor is None or not sponsor.logos.exclude(status=SponsorLogo.Status.REJECTED).exists()
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = SponsorApplicationForm(data, files, instance=sponsor, user=user, logo_required=logo_required)
    contacts = ContactFormSet(
        data, instance=form.instance, prefix="contacts", initial=_contacts_initial(user, sponsor)
    )
    status = 200
    if request.method == "POST":
        form_valid = form.is_valid()
        contacts_valid = contacts.is_valid()
        if form_valid and contacts_valid:
            try:
                sponsorship = _application_store(form=form, contacts=contacts, user=user)
            except ValidationError as error:  # the logo, refused when it is stored
                form.add_error("logo", error)
            except services.SponsorshipRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(
                    request,
                    _(
                        "Thank you! Your application for “%(package)s” was sent. We review it and write "
                        "to your contacts; you can follow it on this page."
                    )
                    % {"package": sponsorship.package.display_name},
                )
                return redirect("sponsors:dashboard")
        if sponsor is None:
            form.instance.pk = None  # a rolled-back save leaves its id on the instance
        status = 400
    return render(
        request,
        "sponsors/account/apply.html",
        {"form": form, "contacts": contacts, "sponsor": sponsor},
        status=status,
    )


# --- Dashboard ------------------------------------------------------------------------------------


def _invoice_decorate(invoice: Invoice) -> Invoice:
    invoice.net_text = money_display(invoice.net_amount, invoice.currency)
    invoice.vat_text = money_display(invoice.vat_amount, invoice.currency)
    invoice.gross_text = money_display(invoice.gross_amount, invoice.currency)
    invoice.download_url = reverse("sponsors:invoice_download", kwargs={"number": invoice.number})
    invoice.is_open = invoice.kind == Invoice.Kind.INVOICE and invoice.status == Invoice.Status.OPEN
    seller = invoice.seller or {}
    invoice.bank = {
        "holder": seller.get("bank_account_holder") or seller.get("name", ""),
        "iban": _iban_display(seller.get("iban", "")),
        "bic": seller.get("bic", ""),
        "bank_name": seller.get("bank_name", ""),
    }
    return invoice


def _iban_display(iban: str) -> str:
    compact = (iban or "").replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _renewal_offered(sponsorship: Sponsorship, *, today: datetime.date, renewed: bool | None = None) -> bool:
    """The renewal button: a paid sponsorship in its last ``RENEWAL_WINDOW_DAYS`` days, not renewed yet."""
    if sponsorship.status != Status.ACTIVE:
        return False
    if sponsorship.end_date - today > datetime.timedelta(days=RENEWAL_WINDOW_DAYS):
        return False
    if renewed is None:
        renewed = Sponsorship.objects.filter(previous=sponsorship).exists()
    return not renewed


def _sponsorship_decorate(sponsorship: Sponsorship, *, today: datetime.date) -> Sponsorship:
    sponsorship.change_list = [
        {
            "at": change.at,
            "status": change.get_to_status_display(),
            "action": ACTION_LABELS.get(change.action, change.action),
            "reason": change.reason,
        }
        for change in sponsorship.changes.all()
    ]
    sponsorship.invoice_list = [_invoice_decorate(invoice) for invoice in sponsorship.invoices.all()]
    sponsorship.net_text = money_display(sponsorship.net_amount)
    sponsorship.benefits = package_benefits(sponsorship.package)
    sponsorship.places = places_text(placement_places(sponsorship.package))
    sponsorship.renewed_by = Sponsorship.objects.filter(previous=sponsorship).first()
    sponsorship.renewal_offered = _renewal_offered(
        sponsorship, today=today, renewed=sponsorship.renewed_by is not None
    )
    sponsorship.withdrawable = sponsorship.status in WITHDRAWABLE
    sponsorship.shows_preview = sponsorship.status in PREVIEW_STATUSES and sponsorship.end_date >= today
    return sponsorship


def _sponsor_decorate(sponsor: Sponsor, sponsorships: list[Sponsorship], *, logo_form=None) -> Sponsor:
    sponsor.current = sponsor.current_logo()
    sponsor.pending = sponsor.pending_logo()
    latest = sponsor.logos.order_by("-uploaded_at", "-pk").first()
    sponsor.rejected = (
        latest
        if latest is not None and latest.status == SponsorLogo.Status.REJECTED and latest.reviewed_by_id
        else None
    )
    sponsor.sponsorship_list = [item for item in sponsorships if item.sponsor_id == sponsor.pk]
    sponsor.logo_form = logo_form or LogoReplaceForm(auto_id=f"id_logo{sponsor.pk}_%s")
    return sponsor


def _dashboard(request, *, logo_forms: dict | None = None, status: int = 200):
    user = request.user
    today = timezone.localdate()
    sponsorships = [
        _sponsorship_decorate(sponsorship, today=today)
        for sponsorship in Sponsorship.objects.for_user(user)
        .select_related("package", "sponsor")
        .prefetch_related("changes", "invoices")
        .order_by("-start_date", "-pk")
    ]
    logo_forms = logo_forms or {}
    sponsors = [
        _sponsor_decorate(sponsor, sponsorships, logo_form=logo_forms.get(sponsor.pk))
        for sponsor in user.sponsors.prefetch_related("contacts").order_by("display_name", "pk")
    ]
    return render(
        request,
        "sponsors/account/dashboard.html",
        {"sponsors": sponsors, "cancel_form": CancelForm(), "renewal_window_days": RENEWAL_WINDOW_DAYS},
        status=status,
    )


@login_required
@never_cache
@require_GET
def dashboard(request):
    return _dashboard(request)


def _own_sponsorship(request, pk: int) -> Sponsorship:
    return get_object_or_404(Sponsorship.objects.for_user(request.user).select_related("package"), pk=pk)


@login_required
@require_POST
def renewal_accept(request, pk: int):
    sponsorship = _own_sponsorship(request, pk)
    if not _renewal_offered(sponsorship, today=timezone.localdate()):
        messages.error(
            request,
            _("This sponsorship can be renewed in the last %(days)d days of a paid period, once.")
            % {"days": RENEWAL_WINDOW_DAYS},
        )
        return redirect("sponsors:dashboard")
    try:
        renewal = services.renewal_accept(sponsorship=sponsorship, by=request.user)
    except services.SponsorshipRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("sponsors:dashboard")
    invoice = renewal.invoices.filter(kind=Invoice.Kind.INVOICE).first()
    messages.success(
        request,
        _(
            "Thank you for renewing! The next period runs from %(start)s to %(end)s. Invoice %(number)s "
            "is below and on its way to you by e-mail."
        )
        % {
            "start": _date(renewal.start_date),
            "end": _date(renewal.end_date),
            "number": invoice.number if invoice else "",
        },
    )
    return redirect("sponsors:dashboard")


def _date(day: datetime.date) -> str:
    return date_format(day, "DATE_FORMAT")


@login_required
@require_POST
def application_withdraw(request, pk: int):
    sponsorship = _own_sponsorship(request, pk)
    if sponsorship.status not in WITHDRAWABLE:
        messages.error(
            request,
            _(
                "Only an application that has not been approved yet can be withdrawn here. Please write to us."
            ),
        )
        return redirect("sponsors:dashboard")
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect("sponsors:dashboard")
    try:
        services.sponsorship_cancel(
            sponsorship=sponsorship, by=request.user, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, InvalidTransition) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("sponsors:dashboard")
    messages.success(request, _("Your application was withdrawn."))
    return redirect("sponsors:dashboard")


@login_required
@require_POST
def logo_replace(request, pk: int):
    sponsor = get_object_or_404(request.user.sponsors, pk=pk)
    form = LogoReplaceForm(request.POST, request.FILES, auto_id=f"id_logo{sponsor.pk}_%s")
    if form.is_valid():
        try:
            services.logo_upload(
                sponsor=sponsor,
                upload=form.cleaned_data["logo"],
                by=request.user,
                processed=getattr(form, "processed_logo", None),
            )
        except ValidationError as error:
            form.add_error("logo", error)
        else:
            messages.success(
                request,
                _(
                    "Thank you! Your new logo is waiting for our review. Until we approve it, the site "
                    "keeps showing your current logo."
                ),
            )
            return redirect("sponsors:dashboard")
    messages.error(request, _("Your new logo was not saved. Please see the message next to the logo field."))
    return _dashboard(request, logo_forms={sponsor.pk: form}, status=400)


# --- Invoices: download and payment ---------------------------------------------------------------


@never_cache
@require_GET
def invoice_download(request, number: str):
    """The invoice's (or credit note's) PDF for the sponsor's users and finance; 404 for everyone else."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    invoice = Invoice.objects.filter(number=number).first()
    if invoice is None:
        raise Http404

    def serve(request):
        document = (
            invoice if invoice.pdf else services.invoice_document_make(invoice_id=invoice.pk, send=False)
        )
        response = FileResponse(
            document.pdf.open("rb"),
            as_attachment=True,
            filename=f"{document.number}.pdf",
            content_type="application/pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response

    if Invoice.objects.for_user(request.user).filter(pk=invoice.pk).exists():
        return serve(request)
    if is_finance(request.user):
        return finance_required(serve)(request)
    raise Http404


def _own_open_invoice(request, number: str) -> Invoice:
    return get_object_or_404(
        Invoice.objects.for_user(request.user).select_related("sponsorship"),
        number=number,
        kind=Invoice.Kind.INVOICE,
    )


@login_required
@require_POST
def invoice_pay(request, number: str):
    """Off to Stripe's hosted Checkout (card or SEPA Direct Debit) for an open invoice (303)."""
    invoice = _own_open_invoice(request, number)
    success_url = request.build_absolute_uri(reverse("sponsors:invoice_paid", kwargs={"number": number}))
    cancel_url = request.build_absolute_uri(reverse("sponsors:dashboard")) + f"#invoice-{number}"
    try:
        session = services.invoice_checkout_start(
            invoice=invoice, success_url=success_url, cancel_url=cancel_url, language=_language()
        )
    except services.SponsorshipRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("sponsors:dashboard")
    except PaymentError as error:
        logger.warning("sponsors: checkout for invoice %s could not start: %r", number, error)
        messages.error(request, str(error.user_message))
        return redirect("sponsors:dashboard")
    response = HttpResponseRedirect(session.url)
    response.status_code = 303
    return response


@login_required
@require_GET
def invoice_paid(request, number: str):
    """Where Checkout sends the sponsor back: the payment is confirmed by the webhook, maybe later."""
    invoice = _own_open_invoice(request, number)
    if invoice.status == Invoice.Status.PAID:
        messages.success(request, _("Thank you! Invoice %(number)s is paid.") % {"number": invoice.number})
    else:
        messages.info(
            request,
            _(
                "Thank you! We are confirming your payment of invoice %(number)s; its status changes here "
                "in a moment. A SEPA Direct Debit takes a few working days to clear."
            )
            % {"number": invoice.number},
        )
    return redirect("sponsors:dashboard")
