"""Workflows of sponsorships: apply, review, invoice, get paid, place, renew, end.

Every function is keyword-only and runs its writes inside ``transaction.atomic()``; e-mails and PDF
rendering are queued with ``on_commit``. Stripe is reached only through ``payments.gateway`` and only
outside a transaction. Ledger postings (DOMAIN.md 4, docs/sponsors.md):

- invoice issued: receivables (gross) to sponsorship income in the treatment's sphere (net) and VAT
  payable (VAT); booked on the invoice date (or the first open day after a closed month);
- paid through Stripe: Stripe balance (gross) to receivables; Stripe's fee from the balance to payment fees;
- paid by bank transfer (finance marks it): bank to receivables;
- credit note: the invoice's posting reversed line by line;
- refund through Stripe: receivables to the Stripe balance (the money is owed back or the invoice is open
  again); disputes likewise, with the dispute fee to payment fees.

Every posting has an idempotency key made of the invoice number or Stripe's ids, so a repeated event,
a double click or a task run twice books nothing twice.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.alerts import alert_finance
from config.celery import TransientError
from ledger.models import Transaction
from ledger.services import PostingLine, document_number_next, first_open_day, transaction_post
from payments import types
from payments.errors import PaymentError
from payments.gateway import PaymentsNotConfigured, gateway

from .models import (
    VAT_RATE_DOMESTIC,
    ZERO,
    InvalidTransition,
    Invoice,
    Package,
    Sponsor,
    SponsorLogo,
    Sponsorship,
    SponsorshipChange,
    Status,
    VatTreatment,
    round_cents,
    vat_treatment_for,
)

logger = logging.getLogger(__name__)

PURPOSE = "sponsorship"  # payments.services.PURPOSE_KEY value on every checkout we start
INVOICE_SERIES = "RS"  # Rechnung Sponsoring: RS-2026-00001
CREDIT_NOTE_SERIES = "GS"  # Gutschrift / Stornorechnung: GS-2026-00001
ACCOUNT_RECEIVABLES = "receivables"
ACCOUNT_VAT = "vat-payable-19"
ACCOUNT_STRIPE = "stripe"
ACCOUNT_BANK = "bank"
ACCOUNT_FEES = "expense-payment-fees"
REMINDER_DAYS = (7, 21)  # after the due date
RENEWAL_REMINDER_DAYS = (30, 7)  # before the end


class SponsorshipRefused(Exception):
    """A request a person made that the rules do not allow; the message says why, in their words."""


_side_effects: contextvars.ContextVar[bool] = contextvars.ContextVar("sponsors_side_effects", default=True)


@contextlib.contextmanager
def side_effects_suppressed():
    """No e-mails, PDF tasks or alerts after commit inside this block (the demo seeder replays history)."""
    token = _side_effects.set(False)
    try:
        yield
    finally:
        _side_effects.reset(token)


def _on_commit(callback) -> None:
    """Queue a side effect (e-mail, task) for after commit, unless side effects are suppressed."""
    if _side_effects.get():
        transaction.on_commit(callback)


def _emails():
    from . import emails

    return emails


def _change_announce(change: SponsorshipChange) -> None:
    """Tell the sponsor's contacts about a move of their sponsorship (after commit)."""
    change_id = change.pk
    _on_commit(lambda: _emails().sponsorship_changed(change_id=change_id))


# --- Application and review -----------------------------------------------------------------------


def sponsorship_draft(
    *, sponsor: Sponsor, package: Package, start_date: datetime.date, applicant=None
) -> Sponsorship:
    """A new draft sponsorship of ``package`` from ``start_date`` (the price and end come from the package)."""
    return Sponsorship.objects.create(
        sponsor=sponsor,
        package=package,
        start_date=start_date,
        end_date=package.period_end(start_date),
        net_amount=package.period_net(),
        applicant=applicant if getattr(applicant, "is_authenticated", False) else None,
    )


def application_submit(*, sponsorship: Sponsorship, by=None) -> Sponsorship:
    """Submit a draft for review: checks the package is open and has a free seat, tells staff."""
    with transaction.atomic():
        sponsorship = Sponsorship.objects.select_for_update().select_related("package").get(pk=sponsorship.pk)
        package = sponsorship.package
        if not (package.live and package.open_for_applications):
            raise SponsorshipRefused(_("The package “%(name)s” is not offered any more.") % {"name": package})
        if not package.has_capacity(start=sponsorship.start_date, exclude_pk=sponsorship.pk):
            raise SponsorshipRefused(
                _(
                    "The package “%(name)s” is fully booked for that start date. Choose another date or package."
                )
                % {"name": package}
            )
        if sponsorship.start_date < timezone.localdate():
            raise SponsorshipRefused(_("The start date lies in the past. Choose today or a later day."))
        change = sponsorship.submit(by=by)
        _change_announce(change)
        sponsorship_id = sponsorship.pk
        _on_commit(lambda: _emails().staff_application_submitted(sponsorship_id=sponsorship_id))
    return sponsorship


def sponsorship_approve(
    *, sponsorship: Sponsorship, by, reason: str = "", issue_invoice: bool = True
) -> Sponsorship:
    """Approve a submitted application (and its logo waiting for review); issue the invoice at once
    unless ``issue_invoice`` is False. Refuses when the package is fully booked."""
    with transaction.atomic():
        sponsorship = Sponsorship.objects.select_for_update().select_related("package").get(pk=sponsorship.pk)
        if sponsorship.can("approve") and not sponsorship.package.has_capacity(
            start=sponsorship.start_date, exclude_pk=sponsorship.pk
        ):
            raise SponsorshipRefused(_("The package is fully booked for that start date."))
        change = sponsorship.approve(by=by, reason=reason)
        _change_announce(change)
        pending = sponsorship.sponsor.pending_logo()
        if pending is not None:
            _logo_decide(logo=pending, by=by, approve=True, reason="")
        if issue_invoice:
            invoice_issue(sponsorship=sponsorship, by=by)
    sponsorship.refresh_from_db()
    return sponsorship


def sponsorship_reject(*, sponsorship: Sponsorship, by, reason: str) -> Sponsorship:
    with transaction.atomic():
        sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship.pk)
        change = sponsorship.reject(by=by, reason=reason)
        _change_announce(change)
    return sponsorship


def sponsorship_cancel(*, sponsorship: Sponsorship, by, reason: str) -> Sponsorship:
    """Cancel a sponsorship in any status before ended; an open or paid invoice gets a credit note.

    A paid one is then owed back: finance is told to refund it (Stripe or bank)."""
    if not (reason or "").strip():
        raise ValidationError(_("Say why the sponsorship is cancelled."))
    with transaction.atomic():
        sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship.pk)
        if not sponsorship.can("cancel"):
            raise InvalidTransition(
                _("A sponsorship that is %(status)s cannot be cancelled.")
                % {"status": sponsorship.get_status_display()}
            )
        for invoice in sponsorship.invoices.filter(
            kind=Invoice.Kind.INVOICE, status__in=[Invoice.Status.OPEN, Invoice.Status.PAID]
        ):
            was_paid = invoice.status == Invoice.Status.PAID
            invoice_cancel(invoice=invoice, by=by, reason=reason, reissue=False, _sponsorship_locked=True)
            if was_paid:
                number = invoice.number
                _on_commit(
                    lambda number=number: alert_finance(
                        subject=f"Refund due: sponsorship invoice {number} was cancelled after payment",
                        message=f"Invoice {number} was paid and has now been cancelled by a credit note "
                        f"({reason}). Refund the amount to the sponsor (Stripe Dashboard or bank transfer).",
                    )
                )
        sponsorship.refresh_from_db()
        change = sponsorship.cancel(by=by, reason=reason.strip())
        _change_announce(change)
    return sponsorship


# --- Logos ----------------------------------------------------------------------------------------


def logo_upload(*, sponsor: Sponsor, upload, by=None, processed=None) -> SponsorLogo:
    """Store a new logo for review (re-encoded by ``sponsors.logos``; raises ``ValidationError`` with a
    clear message, and stores nothing, for anything refused). ``processed`` is the result of
    ``logo_process(upload)`` when a form has already checked the upload."""
    from .logos import logo_process

    processed = processed or logo_process(upload)
    with transaction.atomic():
        logo = SponsorLogo(
            sponsor=sponsor,
            original_name=(getattr(upload, "name", "") or "")[:200],
            original_format=processed.original_format,
            uploaded_by=by if getattr(by, "is_authenticated", False) else None,
        )
        logo.image.save(processed.filename, processed.content, save=False)
        logo.width, logo.height = _image_size(processed.content)
        logo.save()
        # An earlier logo still waiting is superseded by this one.
        SponsorLogo.objects.filter(sponsor=sponsor, status=SponsorLogo.Status.PENDING).exclude(
            pk=logo.pk
        ).update(
            status=SponsorLogo.Status.REJECTED,
            reviewed_at=timezone.now(),
            review_reason="Replaced by a newer upload.",
        )
        if sponsor.sponsorships.filter(status__in=[Status.APPROVED, Status.INVOICED, Status.ACTIVE]).exists():
            logo_id = logo.pk
            _on_commit(lambda: _emails().staff_logo_uploaded(logo_id=logo_id))
    return logo


def _image_size(content) -> tuple[int, int]:
    """Width and height of stored image bytes (Django's dimension fields read a ContentFile at its end)."""
    from PIL import Image

    content.seek(0)
    with Image.open(content) as image:
        return image.size


def _logo_decide(*, logo: SponsorLogo, by, approve: bool, reason: str) -> SponsorLogo:
    if logo.status != SponsorLogo.Status.PENDING:
        raise InvalidTransition(_("This logo has already been reviewed."))
    logo.status = SponsorLogo.Status.APPROVED if approve else SponsorLogo.Status.REJECTED
    logo.reviewed_by = by if getattr(by, "is_authenticated", False) else None
    logo.reviewed_at = timezone.now()
    logo.review_reason = reason
    logo.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
    return logo


def logo_approve(*, logo: SponsorLogo, by) -> SponsorLogo:
    with transaction.atomic():
        logo = SponsorLogo.objects.select_for_update().get(pk=logo.pk)
        _logo_decide(logo=logo, by=by, approve=True, reason="")
        logo_id = logo.pk
        _on_commit(lambda: _emails().logo_reviewed(logo_id=logo_id))
    return logo


def logo_reject(*, logo: SponsorLogo, by, reason: str) -> SponsorLogo:
    if not (reason or "").strip():
        raise ValidationError(_("Say why the logo is rejected: the company reads this reason."))
    with transaction.atomic():
        logo = SponsorLogo.objects.select_for_update().get(pk=logo.pk)
        _logo_decide(logo=logo, by=by, approve=False, reason=reason.strip())
        logo_id = logo.pk
        _on_commit(lambda: _emails().logo_reviewed(logo_id=logo_id))
    return logo


# --- Invoices -------------------------------------------------------------------------------------


def buyer_snapshot(sponsor: Sponsor) -> dict:
    return {
        "legal_name": sponsor.legal_name,
        "street": sponsor.street,
        "address_extra": sponsor.address_extra,
        "postcode": sponsor.postcode,
        "city": sponsor.city,
        "country": sponsor.country,
        "vat_id": sponsor.vat_id.replace(" ", "").upper(),
        "email": sponsor.billing_email,
        "purchase_order": sponsor.purchase_order,
    }


def seller_snapshot() -> dict:
    """The organisation's legal identity from the site settings (cms), frozen onto each invoice."""
    from cms.models import OrganisationSettings

    organisation = OrganisationSettings.of_default_site()
    return organisation.document_party() if organisation else {}


def _amounts(*, net: Decimal, treatment: VatTreatment) -> tuple[Decimal, Decimal, Decimal]:
    rate = VAT_RATE_DOMESTIC if treatment == VatTreatment.DOMESTIC else ZERO
    vat = round_cents(net * rate / Decimal(100))
    return rate, vat, net + vat


def _invoice_lines(invoice: Invoice) -> list[PostingLine]:
    lines = [
        PostingLine(account=ACCOUNT_RECEIVABLES, amount=invoice.gross_amount),
        PostingLine(account=invoice.income_account, amount=-invoice.net_amount),
    ]
    if invoice.vat_amount:
        lines.append(PostingLine(account=ACCOUNT_VAT, amount=-invoice.vat_amount))
    return lines


def _booking_date(day: datetime.date) -> tuple[datetime.date, str]:
    booked = first_open_day(day)
    return booked, ("" if booked == day else f" (dated {day.isoformat()}, booked in the first open month)")


def _invoice_description(*, package: Package, sponsor: Sponsor) -> str:
    """The invoice line in the sponsor's language (the PDF must not depend on compiled catalogues)."""
    if (sponsor.language or "").startswith("de"):
        return f"Sponsoring „{package.name_de or package.name}“ ({sponsor.display_name})"[:300]
    return f"Sponsorship “{package.name}” ({sponsor.display_name})"[:300]


def invoice_issue(*, sponsorship: Sponsorship, by=None, issue_date: datetime.date | None = None) -> Invoice:
    """Issue the invoice of an approved sponsorship: a gap-free number, the VAT treatment from the package
    and the customer, frozen parties, the receivable booked; the PDF is rendered and e-mailed after commit."""
    issue_date = issue_date or timezone.localdate()
    with transaction.atomic():
        sponsorship = (
            Sponsorship.objects.select_for_update(of=("self",))
            .select_related("sponsor", "package")
            .get(pk=sponsorship.pk)
        )
        if not sponsorship.can("invoice"):
            raise InvalidTransition(
                _("Only an approved sponsorship can be invoiced; this one is %(status)s.")
                % {"status": sponsorship.get_status_display()}
            )
        sponsor, package = sponsorship.sponsor, sponsorship.package
        treatment = vat_treatment_for(package=package, country=sponsor.country, vat_id=sponsor.vat_id)
        rate, vat, gross = _amounts(net=sponsorship.net_amount, treatment=treatment)
        invoice = Invoice.objects.create(
            sponsorship=sponsorship,
            number=document_number_next(series=INVOICE_SERIES, year=issue_date.year),
            issue_date=issue_date,
            due_date=issue_date + datetime.timedelta(days=settings.SPONSOR_INVOICE_DUE_DAYS),
            service_start=sponsorship.start_date,
            service_end=sponsorship.end_date,
            description=_invoice_description(package=package, sponsor=sponsor),
            vat_treatment=treatment,
            net_amount=sponsorship.net_amount,
            vat_rate=rate,
            vat_amount=vat,
            gross_amount=gross,
            buyer=buyer_snapshot(sponsor),
            seller=seller_snapshot(),
            language=sponsor.language or "en",
        )
        booking_date, late = _booking_date(issue_date)
        transaction_post(
            booking_date=booking_date,
            description=f"Sponsorship invoice {invoice.number}: {sponsor.legal_name}"[:200],
            idempotency_key=f"sponsors:invoice:{invoice.number}",
            source_reference=f"invoice {invoice.number}{late}"[:200],
            lines=_invoice_lines(invoice),
        )
        change = sponsorship.mark_invoiced(by=by, reason=invoice.number)
        _change_announce(change)
        invoice_id = invoice.pk
        _on_commit(lambda: _invoice_document_queue(invoice_id=invoice_id, send=True))
    return invoice


def _invoice_document_queue(*, invoice_id: int, send: bool) -> None:
    from .tasks import invoice_document_make

    try:
        invoice_document_make.delay(invoice_id, send)
    except Exception:  # the broker is down: make it now, in this process
        logger.exception("sponsors: could not queue the PDF of invoice %s; rendering it now", invoice_id)
        invoice_document_make.apply(args=(invoice_id, send))


def invoice_document_make(*, invoice_id: int, send: bool = False) -> Invoice:
    """Render and store an invoice's PDF/A-3 with its embedded XML, once; then e-mail it if ``send``.

    Safe to run twice: a stored PDF is kept (an issued invoice never changes) and the e-mail is sent only
    by the run that stored the PDF."""
    from .invoice_documents import invoice_pdf

    invoice = Invoice.objects.select_related("sponsorship__sponsor", "sponsorship__package", "cancels").get(
        pk=invoice_id
    )
    if invoice.pdf:
        return invoice
    content = invoice_pdf(invoice)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice_id)
        if locked.pdf:
            return locked
        from django.core.files.base import ContentFile

        locked.pdf.save(f"{locked.number}.pdf", ContentFile(content), save=False)
        locked.save(update_fields=["pdf"])
        if send:
            _on_commit(lambda: _emails().invoice_issued(invoice_id=invoice_id))
    return locked


def invoice_cancel(
    *, invoice: Invoice, by, reason: str, reissue: bool = False, _sponsorship_locked: bool = False
) -> Invoice:
    """Cancel an issued invoice with a credit note (never an edit); returns the credit note.

    With ``reissue`` (a wrong address, a changed VAT id) the sponsorship goes back to approved and a new
    invoice is issued at once from the sponsor's current data."""
    if not (reason or "").strip():
        raise ValidationError(
            _("Say why the invoice is cancelled; the reason is printed on the credit note.")
        )
    today = timezone.localdate()
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",)).select_related("sponsorship").get(pk=invoice.pk)
        )
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.CANCELLED:
            raise InvalidTransition(
                _("Invoice %(number)s is already cancelled.") % {"number": invoice.number}
            )
        credit_note = Invoice.objects.create(
            sponsorship=invoice.sponsorship,
            kind=Invoice.Kind.CREDIT_NOTE,
            cancels=invoice,
            number=document_number_next(series=CREDIT_NOTE_SERIES, year=today.year),
            status=Invoice.Status.ISSUED,
            issue_date=today,
            due_date=None,
            service_start=invoice.service_start,
            service_end=invoice.service_end,
            description=(
                f"Storno der Rechnung {invoice.number}: {reason.strip()}"
                if invoice.language.startswith("de")
                else f"Cancels invoice {invoice.number}: {reason.strip()}"
            )[:300],
            vat_treatment=invoice.vat_treatment,
            net_amount=invoice.net_amount,
            vat_rate=invoice.vat_rate,
            vat_amount=invoice.vat_amount,
            gross_amount=invoice.gross_amount,
            buyer=invoice.buyer,
            seller=invoice.seller,
            language=invoice.language,
        )
        booking_date, late = _booking_date(today)
        transaction_post(
            booking_date=booking_date,
            description=f"Credit note {credit_note.number} cancels {invoice.number}"[:200],
            idempotency_key=f"sponsors:credit-note:{invoice.number}",
            source_reference=f"credit note {credit_note.number}{late}"[:200],
            lines=[
                PostingLine(account=line.account, amount=-line.amount) for line in _invoice_lines(invoice)
            ],
        )
        invoice.status = Invoice.Status.CANCELLED
        invoice.save(update_fields=["status"])
        credit_note_id = credit_note.pk
        _on_commit(lambda: _invoice_document_queue(invoice_id=credit_note_id, send=True))
        sponsorship = Sponsorship.objects.select_for_update().get(pk=invoice.sponsorship_id)
        if reissue and sponsorship.status != Status.INVOICED:
            raise InvalidTransition(_("Only an unpaid invoice can be cancelled and issued again."))
        if sponsorship.status == Status.INVOICED and not _sponsorship_locked:
            # Without its invoice the sponsorship is approved again: finance issues a new invoice or cancels it.
            change = sponsorship._move("correct", by=by, reason=reason.strip())
            _change_announce(change)
        if reissue:
            invoice_issue(sponsorship=sponsorship, by=by)
    return credit_note


def invoice_mark_paid(*, invoice: Invoice, paid_on: datetime.date, reference: str, by) -> Invoice:
    """Finance records a bank transfer: bank to receivables, the invoice paid, the sponsorship active."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Enter the bank's reference for the transfer (from the statement)."))
    if paid_on > timezone.localdate():
        raise ValidationError(_("The payment date lies in the future."))
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",)).select_related("sponsorship").get(pk=invoice.pk)
        )
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.OPEN:
            raise InvalidTransition(
                _("Invoice %(number)s is %(status)s, not open.")
                % {"number": invoice.number, "status": invoice.get_status_display()}
            )
        if paid_on < invoice.issue_date:
            raise ValidationError(_("The payment date lies before the invoice date."))
        booking_date, late = _booking_date(paid_on)
        transaction_post(
            booking_date=booking_date,
            description=f"Bank transfer for sponsorship invoice {invoice.number}"[:200],
            idempotency_key=f"sponsors:bank:{invoice.number}",
            source_reference=f"{reference}{late}"[:200],
            lines=[
                PostingLine(account=ACCOUNT_BANK, amount=invoice.gross_amount),
                PostingLine(account=ACCOUNT_RECEIVABLES, amount=-invoice.gross_amount),
            ],
        )
        invoice.status = Invoice.Status.PAID
        invoice.paid_via = Invoice.PaidVia.BANK
        invoice.paid_at = timezone.make_aware(datetime.datetime.combine(paid_on, datetime.time(12)))
        invoice.payment_reference = reference[:140]
        invoice.amount_eur_received = invoice.gross_amount
        invoice.marked_paid_by = by if getattr(by, "is_authenticated", False) else None
        invoice.save(
            update_fields=[
                "status",
                "paid_via",
                "paid_at",
                "payment_reference",
                "amount_eur_received",
                "marked_paid_by",
            ]
        )
        _sponsorship_paid(
            sponsorship_id=invoice.sponsorship_id, by=by, reason=f"{invoice.number} paid by bank transfer"
        )
    return invoice


def _sponsorship_paid(*, sponsorship_id: int, by, reason: str) -> None:
    sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship_id)
    if sponsorship.can("activate"):
        change = sponsorship.activate(by=by, reason=reason)
        _change_announce(change)


# --- Paying through Stripe ------------------------------------------------------------------------


def invoice_checkout_start(*, invoice: Invoice, success_url: str, cancel_url: str, language: str = "en"):
    """A Stripe Checkout Session (card or SEPA Direct Debit) for an open invoice's gross amount.

    Runs outside any transaction; raises ``SponsorshipRefused`` for an invoice that is not open or when
    payments are switched off, ``PaymentError`` when Stripe refuses."""
    invoice = Invoice.objects.select_related("sponsorship__sponsor").get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.OPEN:
        raise SponsorshipRefused(_("This invoice is not open for payment."))
    request = types.CheckoutRequest(
        idempotency_key=f"sponsor-invoice:{invoice.number}:{uuid.uuid4().hex}",
        mode="payment",
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"purpose": PURPOSE, "invoice": invoice.number, "sponsorship": str(invoice.sponsorship_id)},
        amount=invoice.gross_amount,
        currency="eur",
        product_name=f"Invoice {invoice.number}",
        customer_email=invoice.buyer.get("email") or invoice.sponsorship.sponsor.billing_email,
        locale=language if language in ("de", "en") else "auto",
        payment_methods=tuple(settings.SPONSOR_PAYMENT_METHODS),
        stripe_invoice=False,
    )
    try:
        session = gateway().checkout_create(request=request)
    except PaymentsNotConfigured as error:
        raise SponsorshipRefused(
            _("Card and SEPA payments are not switched on; please pay by bank transfer.")
        ) from error
    except PaymentError:
        raise
    Invoice.objects.filter(pk=invoice.pk).update(stripe_checkout_session_id=session.id)
    return session


def _transfer_lines(*, debit: str, credit: str, amount: Decimal, fee: Decimal) -> list[PostingLine]:
    """``amount`` from ``credit`` to ``debit``, and Stripe's ``fee`` from the Stripe balance to payment fees."""
    lines = [PostingLine(account=debit, amount=amount), PostingLine(account=credit, amount=-amount)]
    if fee:
        lines += [
            PostingLine(account=ACCOUNT_FEES, amount=fee),
            PostingLine(account=ACCOUNT_STRIPE, amount=-fee),
        ]
    return lines


def _invoice_for(metadata: dict) -> Invoice | None:
    number = (metadata or {}).get("invoice", "")
    return Invoice.objects.filter(number=number, kind=Invoice.Kind.INVOICE).first() if number else None


def checkout_complete(*, event: types.CheckoutCompleted) -> None:
    """A sponsor finished Checkout: remember the session (a SEPA debit is still pending until it clears)."""
    invoice = _invoice_for(event.metadata)
    if invoice is None:
        logger.warning("sponsors: checkout %s names no known invoice %r", event.session_id, event.metadata)
        return
    pending = timezone.now() if event.payment_status == "unpaid" else None
    Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(
        stripe_checkout_session_id=event.session_id, payment_pending_since=pending
    )


def checkout_fail(*, event: types.CheckoutFailed) -> None:
    """A SEPA debit came back (or a session expired): the invoice stays open; finance and the sponsor
    are told when money was expected."""
    invoice = _invoice_for(event.metadata)
    if invoice is None or event.reason == "expired":
        return
    Invoice.objects.filter(pk=invoice.pk).update(payment_pending_since=None)
    number, invoice_id = invoice.number, invoice.pk
    _on_commit(
        lambda: alert_finance(
            subject=f"Debit for sponsorship invoice {number} failed",
            message=f"The SEPA Direct Debit for invoice {number} was returned (session {event.session_id}). "
            "The invoice is open again; the sponsor has been asked to pay another way.",
            dedupe_key=f"sponsor-debit-failed:{event.session_id}",
        )
    )
    _on_commit(lambda: _emails().invoice_payment_failed(invoice_id=invoice_id))


def payment_record(*, event: types.PaymentSucceeded) -> Invoice | None:
    """Book a Stripe payment of a sponsor invoice once (keyed on the charge), whichever event reports it."""
    if Invoice.objects.filter(stripe_charge_id=event.charge_id).exists():
        return None
    invoice = _invoice_for(event.metadata)
    if invoice is None:
        alert_finance(
            subject=f"Stripe payment {event.charge_id} for an unknown sponsor invoice",
            message=f"A payment of {event.amount} {event.currency.upper()} names invoice "
            f"{event.metadata.get('invoice', '?')}, which does not exist. Book it by hand.",
            dedupe_key=f"sponsor-unknown-invoice:{event.charge_id}",
        )
        raise TransientError(
            f"No sponsor invoice {event.metadata.get('invoice')!r} for charge {event.charge_id}."
        )
    settlement = event.settlement
    paid_day = timezone.localdate(event.paid_at)
    booking_date, late = _booking_date(paid_day)
    try:
        with transaction.atomic():
            invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
            if invoice.stripe_charge_id:
                return invoice
            lines = _transfer_lines(
                debit=ACCOUNT_STRIPE,
                credit=ACCOUNT_RECEIVABLES,
                amount=settlement.amount_eur,
                fee=settlement.fee_eur,
            )
            transaction_post(
                booking_date=booking_date,
                description=f"Stripe payment of sponsorship invoice {invoice.number}"[:200],
                idempotency_key=f"stripe:charge:{event.charge_id}",
                source_reference=f"charge {event.charge_id}{late}"[:200],
                lines=lines,
            )
            invoice.stripe_charge_id = event.charge_id
            invoice.amount_eur_received = settlement.amount_eur
            invoice.fee_eur = settlement.fee_eur
            invoice.paid_at = event.paid_at
            invoice.paid_via = Invoice.PaidVia.STRIPE
            invoice.payment_pending_since = None
            invoice.stripe_checkout_session_id = (
                event.checkout_session_id or invoice.stripe_checkout_session_id
            )
            fields = ["stripe_charge_id", "amount_eur_received", "fee_eur", "paid_at", "paid_via"]
            fields.append("payment_pending_since")
            fields.append("stripe_checkout_session_id")
            if invoice.status == Invoice.Status.OPEN:
                invoice.status = Invoice.Status.PAID
                fields.append("status")
                _sponsorship_paid(
                    sponsorship_id=invoice.sponsorship_id,
                    by=None,
                    reason=f"{invoice.number} paid through Stripe",
                )
            else:
                number, status = invoice.number, invoice.get_status_display()
                _on_commit(
                    lambda: alert_finance(
                        subject=f"Payment for sponsorship invoice {number}, which is {status}",
                        message=f"Stripe charge {event.charge_id} paid invoice {number}, which is {status}. "
                        "The money is booked to the Stripe balance against receivables; refund it or "
                        "settle it with the sponsor.",
                    )
                )
            if settlement.amount_eur != invoice.gross_amount:
                number = invoice.number
                _on_commit(
                    lambda: alert_finance(
                        subject=f"Sponsorship invoice {number} paid with a different amount",
                        message=f"Invoice {number} is {invoice.gross_amount} EUR; Stripe settled "
                        f"{settlement.amount_eur} EUR (charge {event.charge_id}). Check the receivable.",
                    )
                )
            invoice.save(update_fields=fields)
    except IntegrityError:
        if Invoice.objects.filter(stripe_charge_id=event.charge_id).exists():
            return None
        raise
    return invoice


def _invoice_for_charge(charge_id: str) -> Invoice | None:
    return Invoice.objects.filter(stripe_charge_id=charge_id).first()


def refund_record(*, event: types.RefundIssued) -> None:
    """A refund of a sponsor's payment: the money leaves the Stripe balance and is owed again (or no
    longer owed back, after a credit note). Finance is told."""
    invoice = _invoice_for_charge(event.charge_id)
    if invoice is None:
        return
    booking_date, late = _booking_date(timezone.localdate(event.created))
    key = f"stripe:refund:{event.refund_id}"
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if Transaction.objects.filter(idempotency_key=key).exists():
            return
        transaction_post(
            booking_date=booking_date,
            description=f"Refund of sponsorship invoice {invoice.number}"[:200],
            idempotency_key=key,
            source_reference=f"refund {event.refund_id} of charge {event.charge_id}{late}"[:200],
            lines=[
                PostingLine(account=ACCOUNT_RECEIVABLES, amount=event.amount_eur),
                PostingLine(account=ACCOUNT_STRIPE, amount=-event.amount_eur),
            ],
        )
        invoice.refunded_amount += event.amount
        invoice.save(update_fields=["refunded_amount"])
    _on_commit(
        lambda: alert_finance(
            subject=f"Refund of sponsorship invoice {invoice.number}",
            message=f"{event.amount} {event.currency.upper()} of invoice {invoice.number} were refunded "
            f"(refund {event.refund_id}). If the sponsorship ends, cancel it (credit note) in Sponsors.",
            dedupe_key=f"sponsor-refund:{event.refund_id}",
        )
    )


def dispute_record(*, event: types.DisputeChanged) -> None:
    """A dispute takes the amount and a fee from the balance; if won, the amount comes back."""
    invoice = _invoice_for_charge(event.charge_id)
    if invoice is None:
        return
    booking_date, late = _booking_date(timezone.localdate(event.created))
    with transaction.atomic():
        lines = _transfer_lines(
            debit=ACCOUNT_RECEIVABLES, credit=ACCOUNT_STRIPE, amount=event.amount_eur, fee=event.fee_eur
        )
        transaction_post(
            booking_date=booking_date,
            description=f"Dispute of sponsorship invoice {invoice.number}"[:200],
            idempotency_key=f"stripe:dispute:{event.dispute_id}:opened",
            source_reference=f"dispute {event.dispute_id}{late}"[:200],
            lines=lines,
        )
        if event.closed and event.status == "won":
            transaction_post(
                booking_date=_booking_date(timezone.localdate())[0],
                description=f"Dispute won: sponsorship invoice {invoice.number}"[:200],
                idempotency_key=f"stripe:dispute:{event.dispute_id}:won",
                source_reference=f"dispute {event.dispute_id}",
                lines=[
                    PostingLine(account=ACCOUNT_STRIPE, amount=event.amount_eur),
                    PostingLine(account=ACCOUNT_RECEIVABLES, amount=-event.amount_eur),
                ],
            )
    _on_commit(
        lambda: alert_finance(
            subject=f"Dispute ({event.status}) on sponsorship invoice {invoice.number}",
            message=f"Stripe dispute {event.dispute_id} on charge {event.charge_id}: {event.status} "
            f"({event.reason}). Answer it in the Stripe Dashboard.",
            dedupe_key=f"sponsor-dispute:{event.dispute_id}:{event.status}",
        )
    )


def fraud_warning_record(*, event: types.FraudWarning) -> None:
    invoice = _invoice_for_charge(event.charge_id)
    if invoice is None:
        return
    _on_commit(
        lambda: alert_finance(
            subject=f"Fraud warning on sponsorship invoice {invoice.number}",
            message=f"Stripe reports {event.fraud_type} for charge {event.charge_id}.",
            dedupe_key=f"sponsor-fraud:{event.warning_id}",
        )
    )


# --- Renewals and the daily pass ------------------------------------------------------------------


def renewal_accept(*, sponsorship: Sponsorship, by) -> Sponsorship:
    """The sponsor renews: the next period of the same package, approved at once, invoiced at once."""
    with transaction.atomic():
        current = (
            Sponsorship.objects.select_for_update(of=("self",))
            .select_related("package", "sponsor")
            .get(pk=sponsorship.pk)
        )
        if current.status not in (Status.ACTIVE, Status.ENDED):
            raise SponsorshipRefused(_("Only a paid sponsorship can be renewed."))
        if Sponsorship.objects.filter(previous=current).exists():
            raise SponsorshipRefused(_("This sponsorship has already been renewed."))
        package = current.package
        if not package.live:
            raise SponsorshipRefused(_("The package is not offered any more; apply for another one."))
        start = max(current.end_date + datetime.timedelta(days=1), timezone.localdate())
        if not package.has_capacity(start=start):
            raise SponsorshipRefused(_("The package is fully booked for the next period."))
        renewal = Sponsorship.objects.create(
            sponsor=current.sponsor,
            package=package,
            start_date=start,
            end_date=package.period_end(start),
            net_amount=package.period_net(),
            previous=current,
            applicant=by if getattr(by, "is_authenticated", False) else None,
        )
        renewal.submit(by=by, reason="Renewal")
        renewal.approve(by=None, reason="Renewal of a paid sponsorship: approved automatically")
        invoice_issue(sponsorship=renewal, by=None)
    renewal.refresh_from_db()
    return renewal


def sponsorships_end_expired(*, today: datetime.date | None = None) -> int:
    today = today or timezone.localdate()
    ended = 0
    for sponsorship_id in Sponsorship.objects.expired(today=today).values_list("pk", flat=True):
        with transaction.atomic():
            sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship_id)
            if sponsorship.status == Status.ACTIVE and sponsorship.end_date < today:
                _change_announce(sponsorship.end(by=None, reason="The period is over."))
                ended += 1
    return ended


def renewal_reminders_send(*, today: datetime.date | None = None) -> int:
    """30 and 7 days before the end of a paid sponsorship that has no renewal yet; each once."""
    today = today or timezone.localdate()
    sent = 0
    for days, field in zip(
        RENEWAL_REMINDER_DAYS, ("renewal_reminder_30_sent_at", "renewal_reminder_7_sent_at"), strict=True
    ):
        due = Sponsorship.objects.filter(
            status=Status.ACTIVE,
            end_date__lte=today + datetime.timedelta(days=days),
            end_date__gte=today,
            renewal__isnull=True,
            **{f"{field}__isnull": True},
        )
        for sponsorship_id in due.values_list("pk", flat=True):
            # Claim the reminder first (one row update), so two runs never send it twice.
            if Sponsorship.objects.filter(pk=sponsorship_id, **{f"{field}__isnull": True}).update(
                **{field: timezone.now()}
            ):
                _emails().renewal_reminder(sponsorship_id=sponsorship_id, days=days)
                sent += 1
    return sent


def invoice_reminders_send(*, today: datetime.date | None = None) -> int:
    """7 and 21 days after the due date of an open invoice, to the billing contact; each once."""
    today = today or timezone.localdate()
    sent = 0
    for level, (days, field) in enumerate(
        zip(REMINDER_DAYS, ("reminder_1_sent_at", "reminder_2_sent_at"), strict=True), start=1
    ):
        due = Invoice.objects.open().filter(
            due_date__lte=today - datetime.timedelta(days=days), **{f"{field}__isnull": True}
        )
        for invoice_id in due.values_list("pk", flat=True):
            if Invoice.objects.filter(pk=invoice_id, **{f"{field}__isnull": True}).update(
                **{field: timezone.now()}
            ):
                _emails().invoice_reminder(invoice_id=invoice_id, level=level)
                sent += 1
    return sent


def daily_upkeep(*, today: datetime.date | None = None) -> dict[str, int]:
    """The daily task: end expired placements, renewal reminders, payment reminders."""
    return {
        "ended": sponsorships_end_expired(today=today),
        "renewal_reminders": renewal_reminders_send(today=today),
        "invoice_reminders": invoice_reminders_send(today=today),
    }
