"""E-mails about sponsorships: to the company's contacts in the sponsor's language (``Sponsor.language``),
and to staff (finance and editors) in the site's language.

Called by ``sponsors.services`` after commit, with ids (the rows are read fresh here). Plain text from
``DEFAULT_FROM_EMAIL``, rendered from ``templates/sponsors/emails/``, with absolute links built from
``SITE_URL`` that follow the sponsor's language (``/de/...`` for German). No recipients, or a row that
is gone: nothing is sent and nothing fails.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

from babel.numbers import format_currency
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.alerts import role_emails
from accounts.roles import EDITOR, FINANCE

from .models import Invoice, SponsorLogo, Sponsorship, SponsorshipChange, VatTreatment, vat_treatment_for

logger = logging.getLogger(__name__)

# The staff screens (sponsors/viewsets.py) that the staff e-mails link to.
SPONSORSHIP_ADMIN = "sponsors_sponsorship"
LOGO_ADMIN = "sponsors_logo"

# The action of a SponsorshipChange -> the template that tells the contacts about it.
CHANGE_TEMPLATES = {
    "submit": "sponsorship_submitted",
    "approve": "sponsorship_approved",
    "reject": "sponsorship_rejected",
    "invoice": "sponsorship_invoiced",
    "activate": "sponsorship_active",
    "end": "sponsorship_ended",
    "cancel": "sponsorship_cancelled",
    "correct": "sponsorship_corrected",
}


# --- Language, links, names -----------------------------------------------------------------------


def _language(code: str) -> str:
    codes = {language for language, _name in settings.LANGUAGES}
    language = (code or "").split("-")[0].lower()
    return language if language in codes else settings.LANGUAGE_CODE


@contextmanager
def in_sponsor_language(sponsor):
    with translation.override(_language(sponsor.language)):
        yield


def absolute_url(name: str, **kwargs) -> str:
    """``SITE_URL`` plus the path in the active language; empty while the view does not exist."""
    try:
        path = reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""
    return settings.SITE_URL.rstrip("/") + path


def _admin_url(namespace: str, instance) -> str:
    """The staff screen of ``instance`` in the Wagtail admin (its viewset's inspect view, else its edit
    view), else the admin's home page."""
    from wagtail.admin.admin_url_finder import AdminURLFinder

    path = ""
    for view in ("inspect", "edit"):
        try:
            path = reverse(f"{namespace}:{view}", args=[instance.pk])
            break
        except NoReverseMatch:
            continue
    if not path:
        try:
            path = AdminURLFinder().get_edit_url(instance) or reverse("wagtailadmin_home")
        except NoReverseMatch:
            path = "/admin/"
    return settings.SITE_URL.rstrip("/") + path


def _organisation_name(seller: dict | None = None) -> str:
    if not seller:
        from .services import seller_snapshot

        seller = seller_snapshot()
    return (seller or {}).get("name") or "Patronage"


def money_display(amount, currency: str = "EUR") -> str:
    """An invoice amount with cents, in the active language (“€7,140.00”, “7.140,00 €”)."""
    return format_currency(amount, currency.upper(), locale=translation.get_language() or "en")


def _unique(addresses) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        address = (address or "").strip()
        if address and address.lower() not in (known.lower() for known in seen):
            seen.append(address)
    return seen


def _send(*, to: list[str], template: str, subject: str, context: dict, attachments=()) -> bool:
    """Render ``sponsors/emails/<template>.txt`` in the active language and send it; False if nobody to send to."""
    to = _unique(to)
    if not to:
        logger.info("sponsors: e-mail %s has no recipients; not sent", template)
        return False
    organisation = context.get("organisation_name") or _organisation_name()
    context = {
        "organisation_name": organisation,
        "dashboard_url": absolute_url("sponsors:dashboard"),
        **context,
    }
    body = render_to_string(f"sponsors/emails/{template}.txt", context)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.strip().splitlines())) + "\n"
    message = EmailMessage(
        subject=f"{subject} · {organisation}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Content-Language": translation.get_language() or "en", "Auto-Submitted": "auto-generated"},
    )
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
    logger.info("sponsors: e-mail %s sent to %d recipient(s)", template, len(to))
    return True


# --- Shared pieces ----------------------------------------------------------------------------------


def _places(package) -> str:
    from .forms import placement_places, places_text

    return places_text(placement_places(package))


def _vat_note(invoice: Invoice) -> str:
    treatment = invoice.vat_treatment
    if treatment == VatTreatment.DOMESTIC:
        return _("including %(rate)s %% VAT (%(vat)s) on the net amount of %(net)s") % {
            "rate": f"{invoice.vat_rate.normalize():f}",
            "vat": money_display(invoice.vat_amount, invoice.currency),
            "net": money_display(invoice.net_amount, invoice.currency),
        }
    if treatment == VatTreatment.REVERSE_CHARGE:
        return _("without VAT: reverse charge, the VAT is owed by you as the recipient of the service")
    if treatment == VatTreatment.NON_EU:
        return _("without VAT: not taxable in Germany (your company is outside the EU)")
    return _("without VAT: a mention without a link is not a taxable sale")


def _bank(invoice: Invoice) -> dict:
    seller = invoice.seller or {}
    iban = (seller.get("iban") or "").replace(" ", "")
    return {
        "holder": seller.get("bank_account_holder") or seller.get("name", ""),
        "iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        "bic": seller.get("bic", ""),
        "bank_name": seller.get("bank_name", ""),
    }


def _pdf_attachment(invoice: Invoice) -> list[tuple[str, bytes, str]]:
    """The stored PDF, if there is one (the e-mail still goes out with the link when it is missing)."""
    if not invoice.pdf:
        return []
    try:
        with invoice.pdf.open("rb") as stream:
            content = stream.read()
    except (OSError, ValueError):
        logger.warning("sponsors: PDF of %s could not be read; e-mail sent without it", invoice.number)
        return []
    return [(f"{invoice.number}.pdf", content, "application/pdf")]


def _invoice_context(invoice: Invoice) -> dict:
    return {
        "invoice": invoice,
        "sponsorship": invoice.sponsorship,
        "sponsor": invoice.sponsorship.sponsor,
        "package_name": invoice.sponsorship.package.display_name,
        "gross": money_display(invoice.gross_amount, invoice.currency),
        "vat_note": _vat_note(invoice),
        "bank": _bank(invoice),
        "download_url": absolute_url("sponsors:invoice_download", number=invoice.number),
        "pay_url": absolute_url("sponsors:dashboard") + f"#invoice-{invoice.number}",
        "organisation_name": _organisation_name(invoice.seller),
    }


def _invoice(invoice_id: int) -> Invoice | None:
    return (
        Invoice.objects.select_related("sponsorship__sponsor", "sponsorship__package", "cancels")
        .filter(pk=invoice_id)
        .first()
    )


def _billing_address(invoice: Invoice) -> str:
    return (invoice.buyer or {}).get("email") or invoice.sponsorship.sponsor.billing_email


# --- To the company -------------------------------------------------------------------------------


def sponsorship_changed(*, change_id: int) -> None:
    """Tell the contacts about a move of their sponsorship (submitted, approved, rejected, ...)."""
    change = (
        SponsorshipChange.objects.select_related("sponsorship__sponsor", "sponsorship__package")
        .filter(pk=change_id)
        .first()
    )
    if change is None or change.action not in CHANGE_TEMPLATES:
        return
    sponsorship = change.sponsorship
    sponsor = sponsorship.sponsor
    with in_sponsor_language(sponsor):
        package_name = sponsorship.package.display_name
        subjects = {
            "submit": _("We received your sponsorship application"),
            "approve": _("Your sponsorship is approved"),
            "reject": _("Your sponsorship application"),
            "invoice": _("Your sponsorship is invoiced"),
            "activate": _("Thank you for your payment: your sponsorship is active"),
            "end": _("Your sponsorship has ended"),
            "cancel": _("Your sponsorship was cancelled"),
            "correct": _("We are correcting your invoice"),
        }
        invoice = sponsorship.invoices.filter(kind=Invoice.Kind.INVOICE).order_by("-pk").first()
        _send(
            to=sponsor.contact_emails(),
            template=CHANGE_TEMPLATES[change.action],
            subject=subjects[change.action],
            context={
                "sponsor": sponsor,
                "sponsorship": sponsorship,
                "change": change,
                "package_name": package_name,
                "places": _places(sponsorship.package),
                "invoice": invoice,
                "net": money_display(sponsorship.net_amount),
                "renewal_url": absolute_url("sponsors:dashboard") + f"#sponsorship-{sponsorship.pk}",
                "apply_url": absolute_url("sponsors:apply"),
            },
        )


def logo_reviewed(*, logo_id: int) -> None:
    """The logo the company uploaded was approved (it is shown from now on) or rejected (with the reason)."""
    logo = SponsorLogo.objects.select_related("sponsor").filter(pk=logo_id).first()
    if logo is None or logo.status == SponsorLogo.Status.PENDING:
        return
    sponsor = logo.sponsor
    approved = logo.status == SponsorLogo.Status.APPROVED
    with in_sponsor_language(sponsor):
        _send(
            to=sponsor.contact_emails(),
            template="logo_approved" if approved else "logo_rejected",
            subject=_("Your logo is approved") if approved else _("We could not accept your logo"),
            context={
                "sponsor": sponsor,
                "logo": logo,
                "placed": sponsor.sponsorships.placed().exists(),
                "upload_url": absolute_url("sponsors:dashboard") + f"#logo-{sponsor.pk}",
            },
        )


def invoice_issued(*, invoice_id: int) -> None:
    """The invoice (or credit note) to the billing address and the contacts, with its PDF attached."""
    invoice = _invoice(invoice_id)
    if invoice is None:
        return
    sponsor = invoice.sponsorship.sponsor
    with in_sponsor_language(sponsor):
        context = _invoice_context(invoice)
        if invoice.is_credit_note:
            template = "credit_note_issued"
            subject = _("Credit note %(number)s") % {"number": invoice.number}
            context["cancelled_was_paid"] = bool(invoice.cancels and invoice.cancels.paid_at)
        else:
            template = "invoice_issued"
            subject = _("Invoice %(number)s for your sponsorship") % {"number": invoice.number}
        _send(
            to=[_billing_address(invoice), *sponsor.contact_emails()],
            template=template,
            subject=subject,
            context=context,
            attachments=_pdf_attachment(invoice),
        )


def invoice_reminder(*, invoice_id: int, level: int) -> None:
    """A payment reminder to the billing address: level 1 friendly (7 days), level 2 firmer (21 days)."""
    invoice = _invoice(invoice_id)
    if invoice is None or invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.OPEN:
        return
    sponsor = invoice.sponsorship.sponsor
    with in_sponsor_language(sponsor):
        context = _invoice_context(invoice)
        context["level"] = level
        if level >= 2:
            subject = _("Second reminder: invoice %(number)s is still unpaid") % {"number": invoice.number}
        else:
            subject = _("Reminder: invoice %(number)s") % {"number": invoice.number}
        _send(
            to=[_billing_address(invoice)],
            template="invoice_reminder",
            subject=subject,
            context=context,
            attachments=_pdf_attachment(invoice),
        )


def invoice_payment_failed(*, invoice_id: int) -> None:
    """The SEPA Direct Debit for an invoice came back: pay again (card, another account) or by transfer."""
    invoice = _invoice(invoice_id)
    if invoice is None or invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.OPEN:
        return
    sponsor = invoice.sponsorship.sponsor
    with in_sponsor_language(sponsor):
        _send(
            to=[_billing_address(invoice)],
            template="invoice_payment_failed",
            subject=_("The debit for invoice %(number)s did not go through") % {"number": invoice.number},
            context=_invoice_context(invoice),
            attachments=[],
        )


def renewal_reminder(*, sponsorship_id: int, days: int) -> None:
    """30 or 7 days before the end of a paid period: renew on the dashboard (the invoice follows at once)."""
    sponsorship = Sponsorship.objects.select_related("sponsor", "package").filter(pk=sponsorship_id).first()
    if sponsorship is None or sponsorship.status != Sponsorship.Status.ACTIVE:
        return
    if Sponsorship.objects.filter(previous=sponsorship).exists():
        return
    sponsor = sponsorship.sponsor
    package = sponsorship.package
    with in_sponsor_language(sponsor):
        _send(
            to=sponsor.contact_emails(),
            template="renewal_reminder",
            subject=_("Your sponsorship ends in %(days)d days") % {"days": days},
            context={
                "sponsor": sponsor,
                "sponsorship": sponsorship,
                "days": days,
                "package_name": package.display_name,
                "package_offered": package.live,
                "net": money_display(package.period_net()),
                "renewal_url": absolute_url("sponsors:dashboard") + f"#sponsorship-{sponsorship.pk}",
                "apply_url": absolute_url("sponsors:apply"),
            },
        )


# --- To staff ---------------------------------------------------------------------------------------


def _staff_recipients() -> list[str]:
    return _unique([*role_emails(FINANCE), *role_emails(EDITOR)])


def staff_application_submitted(*, sponsorship_id: int) -> None:
    """A company applied: finance reviews the application (company, package, amount, VAT treatment);
    editors, who see no billing data or amounts, hear only of the logo waiting for their review."""
    sponsorship = Sponsorship.objects.select_related("sponsor", "package").filter(pk=sponsorship_id).first()
    if sponsorship is None:
        return
    sponsor = sponsorship.sponsor
    pending_logo = sponsor.pending_logo()
    finance = _unique(role_emails(FINANCE))
    editors = [
        address
        for address in _unique(role_emails(EDITOR))
        if address.lower() not in {f.lower() for f in finance}
    ]
    with translation.override(settings.LANGUAGE_CODE):
        treatment = vat_treatment_for(
            package=sponsorship.package, country=sponsor.country, vat_id=sponsor.vat_id
        )
        _send(
            to=finance,
            template="staff_application_submitted",
            subject=_("New sponsorship application: %(name)s") % {"name": sponsor.display_name},
            context={
                "sponsor": sponsor,
                "sponsorship": sponsorship,
                "package_name": sponsorship.package.display_name,
                "net": money_display(sponsorship.net_amount),
                "vat_treatment": VatTreatment(treatment).label,
                "country_name": sponsor.country_name(),
                "has_logo": pending_logo is not None,
                "admin_url": _admin_url(SPONSORSHIP_ADMIN, sponsorship),
            },
        )
        if pending_logo is not None:
            _send(
                to=editors,
                template="staff_logo_uploaded",
                subject=_("New logo to review: %(name)s") % {"name": sponsor.display_name},
                context={
                    "sponsor": sponsor,
                    "logo": pending_logo,
                    "admin_url": _admin_url(LOGO_ADMIN, pending_logo),
                },
            )


def staff_logo_uploaded(*, logo_id: int) -> None:
    """A sponsor replaced its logo: it waits for review in the Wagtail admin."""
    logo = SponsorLogo.objects.select_related("sponsor").filter(pk=logo_id).first()
    if logo is None or logo.status != SponsorLogo.Status.PENDING:
        return
    with translation.override(settings.LANGUAGE_CODE):
        _send(
            to=_staff_recipients(),
            template="staff_logo_uploaded",
            subject=_("New logo to review: %(name)s") % {"name": logo.sponsor.display_name},
            context={"sponsor": logo.sponsor, "logo": logo, "admin_url": _admin_url(LOGO_ADMIN, logo)},
        )
