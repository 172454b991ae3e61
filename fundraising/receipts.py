"""Donation receipts (Zuwendungsbestätigungen), DOMAIN.md 3.

- **Only donations.** A payment that carried a perk is a sale and never gets a receipt (DOMAIN.md 2);
  the database refuses it too (check constraint on ``Payment``).
- **Each donation in exactly one receipt.** A one-time gift gets its own receipt
  (``receipt_issue_single``); recurring donations are receipted once a year in an annual collective
  receipt (Sammelbestätigung) with an annex listing every payment (``receipt_issue_annual``), issued for
  every donor by the January run (``receipt_batch_run``). Every covered payment points to its receipt,
  set in the transaction that stores the receipt.
- **Gap-free numbers** ``ZB-<year>-<n>`` from ``ledger.services.document_number_next``, taken in the
  same transaction: a failed issue rolls its number back.
- **Tax status must be current** (§ 63 (5) AO): the exemption notice (Freistellungsbescheid) at most
  five years old, or the § 60a AO determination at most three calendar years old. Otherwise issuing is
  refused with a message for finance (``receipt_refusal_reason``).
- **The PDF** follows the official BMF template for money donations (wording and order fixed, German by
  law, so the receipt text is deliberately not translated), one A4 page (the annual receipt's annex
  follows on the next page). It is rendered by a task after commit, kept in private storage as the
  organisation's copy until ``retain_until`` (8 years after the end of the year of issue, DOMAIN.md 8)
  and protected against editing.
- **Simplified receipt for gifts up to 300 EUR** (§ 50 (4) EStDV). Decision: the full, numbered receipt
  is always issued (it is the copy the organisation keeps and the strongest proof for the donor). For a
  one-time gift up to 300 EUR the donor can *additionally* download a simplified confirmation for the tax
  office ("Bestätigung für das Finanzamt": purpose, tax status, that it is a donation), to be used with
  the bank or card statement. It is not a numbered document and is not stored: it is rendered on demand
  from the receipt it belongs to. So no ``DonationReceipt`` of kind ``simplified`` is created.
- The tax-privileged purposes printed on the receipt come from an ``OrganisationSettings`` field
  ``receipt_purposes`` once one exists, else the ``DONATION_RECEIPT_PURPOSES`` setting, else
  ``DEFAULT_PURPOSES``; written as the words that follow "Förderung", e.g. "der Bildung".
"""

from __future__ import annotations

import datetime
import io
import logging
import re
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from num2words import num2words
from wagtail.models import Site

from cms.models import OrganisationSettings
from ledger.services import document_number_next

from .models import DonationReceipt, Interval, Kind, Patron, Payment, ReceiptBatch

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
RECEIPT_SERIES = "ZB"
RETENTION_YEARS = 8
SIMPLIFIED_LIMIT = Decimal("300.00")
EXEMPTION_NOTICE_YEARS = 5
SECTION_60A_CALENDAR_YEARS = 3
DEFAULT_PURPOSES = "der Bildung sowie der Wissenschaft und Forschung"
# Payments that cannot be receipted: refunded in full, lost in a dispute, or still disputed.
NOT_RECEIPTABLE_STATUSES = (Payment.Status.REFUNDED, Payment.Status.DISPUTE_LOST, Payment.Status.DISPUTED)
# A run that has made no progress for this long is taken over (its worker died); the message that claimed
# it takes it over at once when it is redelivered.
BATCH_STALE_AFTER = datetime.timedelta(minutes=10)
# The run saves its counts whenever the percent finance sees moves on, at least every PROGRESS_EVERY donors
# and every PROGRESS_SECONDS (far more often than BATCH_STALE_AFTER needs), and exactly when it ends.
PROGRESS_EVERY = 25
PROGRESS_SECONDS = 1.0
# Donors read and checked together: one query for the patrons, one for which of them still need a receipt.
DONOR_CHUNK = 500
READY_EMAIL_CLAIM_SECONDS = 90 * 24 * 60 * 60  # far longer than a task message can wait in the queue


class ReceiptRefused(Exception):
    """A receipt may not be issued; ``message`` says why, in words finance staff understand."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Amounts -----------------------------------------------------------------------------------
def _number_before_noun(number: int) -> str:
    """num2words counts ("eins", "einhunderteins"); before a noun German writes "ein Euro", "einhundertein Euro"."""
    words = num2words(number, lang="de")
    return words[:-1] if words.endswith("eins") else words


def amount_in_words(amount: Decimal) -> str:
    """The amount in German words as receipts write it: 1000.50 -> "eintausend Euro und fünfzig Cent"."""
    amount = Decimal(amount).quantize(CENT)
    if amount < 0:
        raise ValueError("A donation amount cannot be negative.")
    euros = int(amount)
    cents = int((amount - euros) * 100)
    parts = []
    if euros or not cents:
        parts.append(f"{_number_before_noun(euros)} Euro")
    if cents:
        parts.append(f"{_number_before_noun(cents)} Cent")
    return " und ".join(parts)


def amount_in_digits(amount: Decimal) -> str:
    """German notation: 1000.5 -> "1.000,50 €"."""
    text = f"{Decimal(amount).quantize(CENT):,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".") + " €"


def receipt_amount(payment: Payment) -> Decimal:
    """What the donor gave in EUR: the amount from Stripe's balance transaction less any partial refunds.

    Prefetch ``refunds`` (``prefetch_related("refunds")``) when summing many payments: one query for all.
    """
    refunded = sum((refund.amount_eur for refund in payment.refunds.all()), Decimal("0"))
    return (payment.amount_eur - refunded).quantize(CENT)


def _german_date(day: datetime.date) -> str:
    return day.strftime("%d.%m.%Y")


# --- The organisation's tax status -------------------------------------------------------------
@dataclass(frozen=True)
class TaxStatus:
    """The tax-status sentence of the receipt: an exemption notice or a § 60a AO determination."""

    kind: str  # "notice" or "section_60a"
    tax_office: str
    tax_number: str
    date: datetime.date
    period: str  # assessment period of the notice, e.g. "2021–2023"; empty for § 60a
    purposes: str

    @property
    def is_notice(self) -> bool:
        return self.kind == "notice"

    @property
    def date_display(self) -> str:
        return _german_date(self.date)

    @property
    def tax_office_name(self) -> str:
        """The template says "des Finanzamtes ___": "Finanzamt für Körperschaften I" fills it as "für Körperschaften I"."""
        return re.sub(r"^Finanzamt\s+", "", self.tax_office)


def organisation_settings() -> OrganisationSettings:
    return OrganisationSettings.for_site(Site.objects.get(is_default_site=True))


def _purposes(organisation: OrganisationSettings) -> str:
    return (
        getattr(organisation, "receipt_purposes", "")
        or getattr(settings, "DONATION_RECEIPT_PURPOSES", "")
        or DEFAULT_PURPOSES
    )


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def receipt_tax_status(
    *, organisation: OrganisationSettings | None = None, today: datetime.date | None = None
) -> TaxStatus:
    """The current tax status to print, or ``ReceiptRefused`` saying what finance must fix first."""
    organisation = organisation or organisation_settings()
    today = today or timezone.localdate()
    missing = [
        label
        for label, value in (
            (_("legal name"), organisation.legal_name),
            (_("street"), organisation.street),
            (_("postcode"), organisation.postcode),
            (_("city"), organisation.city),
            (_("tax office"), organisation.tax_office),
            (_("tax number"), organisation.tax_number),
        )
        if not value
    ]
    if missing:
        raise ReceiptRefused(
            _(
                "Donation receipts cannot be issued: the organisation settings lack %(fields)s. "
                "Fill them in under Settings → Organisation."
            )
            % {"fields": ", ".join(str(label) for label in missing)}
        )
    notice_date = organisation.exemption_notice_date
    determination_date = organisation.section_60a_determination_date
    if notice_date is None and determination_date is None:
        raise ReceiptRefused(
            _(
                "Donation receipts cannot be issued: no exemption notice (Freistellungsbescheid) and no "
                "§ 60a AO determination is entered. Enter the date of the current one under "
                "Settings → Organisation → Tax."
            )
        )
    common = {"tax_office": organisation.tax_office, "tax_number": organisation.tax_number}
    purposes = _purposes(organisation)
    if notice_date is not None and today <= _add_years(notice_date, EXEMPTION_NOTICE_YEARS):
        return TaxStatus(
            kind="notice", date=notice_date, period=organisation.exemption_period, purposes=purposes, **common
        )
    if determination_date is not None and today.year - determination_date.year <= SECTION_60A_CALENDAR_YEARS:
        return TaxStatus(kind="section_60a", date=determination_date, period="", purposes=purposes, **common)
    problems = []
    if notice_date is not None:
        problems.append(
            _(
                "the exemption notice of %(date)s is more than five years old (receipts were allowed until %(until)s)"
            )
            % {"date": _german_date(notice_date), "until": _german_date(_add_years(notice_date, 5))}
        )
    if determination_date is not None:
        problems.append(
            _(
                "the § 60a AO determination of %(date)s is more than three calendar years old "
                "(receipts were allowed until %(until)s)"
            )
            % {
                "date": _german_date(determination_date),
                "until": _german_date(
                    datetime.date(determination_date.year + SECTION_60A_CALENDAR_YEARS, 12, 31)
                ),
            }
        )
    raise ReceiptRefused(
        _(
            "Donation receipts cannot be issued (§ 63 (5) AO): %(problems)s. Enter the date of the current "
            "exemption notice under Settings → Organisation → Tax, then issue the receipts again."
        )
        % {"problems": "; ".join(problems)}
    )


def receipt_refusal_reason(*, today: datetime.date | None = None) -> str | None:
    """Why no receipt may be issued today (for finance), or ``None`` when receipts may be issued."""
    try:
        receipt_tax_status(today=today)
    except ReceiptRefused as refusal:
        return refusal.message
    return None


# --- Issuing -----------------------------------------------------------------------------------
def _donor_address(patron: Patron) -> str:
    lines = [patron.address_line1, patron.address_line2, f"{patron.postal_code} {patron.city}".strip()]
    if patron.country and patron.country.upper() != "DE":
        lines.append(Locale("de").territories.get(patron.country.upper(), patron.country))
    return "\n".join(line for line in lines if line)


def _check_donor(patron: Patron) -> None:
    if not patron.has_postal_address:
        raise ReceiptRefused(
            _("%(patron)s has no name and postal address on record; a donation receipt needs both.")
            % {"patron": patron}
        )


def _check_payment(payment: Payment) -> None:
    if payment.kind != Kind.DONATION:
        raise ReceiptRefused(
            _("Payment %(number)s carried perks: it is a sale, not a donation, and gets no donation receipt.")
            % {"number": payment.number}
        )
    if payment.receipt_id is not None:
        raise ReceiptRefused(
            _("Payment %(number)s is already in donation receipt %(receipt)s.")
            % {"number": payment.number, "receipt": payment.receipt.number}
        )
    if payment.status in NOT_RECEIPTABLE_STATUSES:
        raise ReceiptRefused(
            _("Payment %(number)s is %(status)s: it gets no donation receipt.")
            % {"number": payment.number, "status": payment.get_status_display()}
        )


def _receipt_create(
    *,
    patron: Patron,
    kind: str,
    period: tuple[datetime.date, datetime.date],
    total: Decimal,
    payment_ids: list[int],
) -> DonationReceipt:
    """Store the receipt and point its payments to it; call inside the issuing transaction."""
    issued_at = timezone.now()
    year = timezone.localtime(issued_at).year
    receipt = DonationReceipt.objects.create(
        number=document_number_next(series=RECEIPT_SERIES, year=year),
        patron=patron,
        kind=kind,
        period_start=period[0],
        period_end=period[1],
        total=total,
        donor_name=patron.name,
        donor_address=_donor_address(patron),
        issued_at=issued_at,
        retain_until=datetime.date(year + RETENTION_YEARS, 12, 31),
    )
    covered = Payment.objects.filter(pk__in=payment_ids, receipt__isnull=True).update(receipt=receipt)
    if covered != len(payment_ids):  # another receipt took one of them meanwhile: store nothing
        raise ReceiptRefused(
            _("A payment of this receipt was receipted at the same time. Nothing was issued.")
        )
    from . import receipt_tasks

    receipt_tasks.receipt_pdf_render.delay_on_commit(receipt.pk)
    return receipt


def receipt_issue_single(*, payment: Payment) -> DonationReceipt:
    """The receipt for a one-time donation. Raises ``ReceiptRefused`` when it may not be issued."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("patron", "patronage", "receipt")
            .get(pk=payment.pk)
        )
        _check_payment(payment)
        if payment.patronage is not None and payment.patronage.interval != Interval.ONCE:
            raise ReceiptRefused(
                _("Payment %(number)s is a recurring donation: it goes into the annual collective receipt.")
                % {"number": payment.number}
            )
        _check_donor(payment.patron)
        receipt_tax_status()
        day = timezone.localtime(payment.paid_at).date()
        return _receipt_create(
            patron=payment.patron,
            kind=DonationReceipt.Kind.SINGLE,
            period=(day, day),
            total=receipt_amount(payment),
            payment_ids=[payment.pk],
        )


def recurring_donations(*, year: int):
    """Recurring donation payments of ``year`` that may still need a receipt (none refunded or disputed)."""
    return (
        Payment.objects.donations()
        .in_year(year)
        .filter(patronage__isnull=False)
        .exclude(patronage__interval=Interval.ONCE)
        .exclude(status__in=NOT_RECEIPTABLE_STATUSES)
    )


def receipt_issue_annual(
    *, patron: Patron, year: int, tax_status: TaxStatus | None = None
) -> DonationReceipt | None:
    """The annual collective receipt for the patron's recurring donations of ``year`` not yet receipted.

    ``None`` when there is nothing left to receipt. The e-mail saying it is ready goes out after commit.
    ``tax_status``: the current one, when the caller has just checked it (the January run checks it once
    for many donors); otherwise it is checked here.
    """
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)  # one issue per patron at a time
        payments = list(
            recurring_donations(year=year)
            .filter(patron=patron, receipt__isnull=True)
            .select_for_update(of=("self",))
            .prefetch_related("refunds")  # read under the payments' lock, like the payments themselves
            .order_by("paid_at", "pk")
        )
        if not payments:
            return None
        _check_donor(patron)
        if tax_status is None:
            receipt_tax_status()
        receipt = _receipt_create(
            patron=patron,
            kind=DonationReceipt.Kind.ANNUAL,
            period=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)),
            total=sum((receipt_amount(payment) for payment in payments), Decimal("0.00")),
            payment_ids=[payment.pk for payment in payments],
        )
        # The e-mail saying it is ready goes out from the task that stores its PDF (receipt_tasks), once the
        # PDF exists, and not here: the January run issues thousands of receipts and an e-mail costs more
        # than the receipt itself.
        return receipt


def _batch_claim(year: int, claim: str = "") -> tuple[ReceiptBatch, bool]:
    """Mark the year's run as running, unless it is done or another worker runs it right now.

    A running run is taken over when it has made no progress for BATCH_STALE_AFTER (its worker died), or
    at once by ``claim``, the id of the task message that claimed it, redelivered after its worker died.
    """
    batch, _created = ReceiptBatch.objects.get_or_create(year=year)
    now = timezone.now()
    claimable = (
        Q(status__in=(ReceiptBatch.Status.QUEUED, ReceiptBatch.Status.FAILED))
        | Q(status=ReceiptBatch.Status.RUNNING, progress_at__lt=now - BATCH_STALE_AFTER)
        | Q(
            status=ReceiptBatch.Status.RUNNING,
            progress_at__isnull=True,
            started_at__lt=now - BATCH_STALE_AFTER,
        )
    )
    if claim:
        claimable |= Q(status=ReceiptBatch.Status.RUNNING, claimed_by=claim)
    claimed = (
        ReceiptBatch.objects.filter(pk=batch.pk)
        .filter(claimable)
        .update(
            status=ReceiptBatch.Status.RUNNING,
            started_at=now,
            progress_at=now,
            claimed_by=claim[:255],
            finished_at=None,
            total=0,
            done=0,
            skipped=0,
            message="",
        )
    )
    batch.refresh_from_db()
    return batch, bool(claimed)


def receipt_batch_run(*, year: int, claim: str = "") -> ReceiptBatch:
    """The January run: every donor's annual collective receipt for ``year``.

    Idempotent per year: a finished run is left as it is, a failed one runs again (donors receipted by
    the first attempt count as done). Counts are saved as the run goes on so finance can watch (see
    ``PROGRESS_EVERY``) and exactly at its end. A donor without a postal address is skipped and named in
    the run's message. What every donor needs alike (the tax status, which donors still need a receipt)
    is read once for a chunk of donors, not per donor.
    """
    batch, claimed = _batch_claim(year, claim)
    if not claimed:
        return batch
    reason = receipt_refusal_reason()
    if reason:
        _batch_finish(batch, status=ReceiptBatch.Status.FAILED, message=reason)
        return batch
    donor_ids = list(
        Patron.objects.filter(pk__in=recurring_donations(year=year).values("patron_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    batch.total = len(donor_ids)
    batch.save(update_fields=["total"])
    progress = _Progress(batch)
    notes: list[str] = []
    try:
        for start in range(0, len(donor_ids), DONOR_CHUNK):
            chunk = donor_ids[start : start + DONOR_CHUNK]
            try:  # checked again for every chunk: a run may pass midnight, the day a notice runs out
                tax_status = receipt_tax_status()
            except ReceiptRefused as refusal:
                notes.append(refusal.message)
                _batch_finish(batch, status=ReceiptBatch.Status.FAILED, message="\n".join(notes))
                return batch
            for patron, open_payments in _donors_to_receipt(chunk, year=year):
                if not open_payments:
                    batch.done += 1  # receipted by an earlier attempt
                elif not patron.has_postal_address:
                    batch.skipped += 1
                    notes.append(_("Skipped %(patron)s: no name and postal address.") % {"patron": patron})
                else:
                    try:
                        receipt_issue_annual(patron=patron, year=year, tax_status=tax_status)
                    except ReceiptRefused as refusal:
                        batch.skipped += 1
                        notes.append(
                            _("Skipped %(patron)s: %(reason)s")
                            % {"patron": patron, "reason": refusal.message}
                        )
                    else:
                        batch.done += 1  # or receipted meanwhile by another issue: nothing left to receipt
                progress.donor_handled(notes)
    except Exception as error:
        notes.append(_("The run stopped: %(error)s. Start it again to continue.") % {"error": error})
        _batch_finish(batch, status=ReceiptBatch.Status.FAILED, message="\n".join(notes))
        raise
    _batch_finish(batch, status=ReceiptBatch.Status.DONE, message="\n".join(notes))
    return batch


def _donors_to_receipt(ids: list[int], *, year: int):
    """The patrons ``ids`` in order, each with whether they have donations of ``year`` left to receipt.

    Two queries for all of them. Which payments go into a receipt is read again, under lock, as it is
    issued (``receipt_issue_annual``): what is read here only spares the donors receipted before.
    """
    open_donors = set(
        recurring_donations(year=year)
        .filter(patron_id__in=ids, receipt__isnull=True)
        .order_by()
        .values_list("patron_id", flat=True)
        .distinct()
    )
    for patron in Patron.objects.filter(pk__in=ids).order_by("pk"):
        yield patron, patron.pk in open_donors


class _Progress:
    """Saves a run's counts when the percent finance sees moves on, at least every ``PROGRESS_EVERY``
    donors and every ``PROGRESS_SECONDS``, so ``progress_at`` stays fresh for ``_batch_claim``."""

    def __init__(self, batch: ReceiptBatch):
        self.batch = batch
        self.every = max(1, min(PROGRESS_EVERY, batch.total // 100))
        self.unsaved = 0
        self.saved_at = time.monotonic()

    def donor_handled(self, notes: list[str]) -> None:
        self.unsaved += 1
        if self.unsaved < self.every and time.monotonic() - self.saved_at < PROGRESS_SECONDS:
            return
        batch = self.batch
        batch.message = "\n".join(notes)
        batch.progress_at = timezone.now()
        batch.save(update_fields=["done", "skipped", "message", "progress_at"])
        self.unsaved = 0
        self.saved_at = time.monotonic()


def _batch_finish(batch: ReceiptBatch, *, status: str, message: str) -> None:
    batch.status = status
    batch.message = message
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "message", "finished_at", "done", "skipped"])


# --- PDF ---------------------------------------------------------------------------------------
def simplified_receipt_available(receipt: DonationReceipt) -> bool:
    """A one-time gift up to 300 EUR: the donor may also use the simplified confirmation (§ 50 (4) EStDV)."""
    return receipt.kind == DonationReceipt.Kind.SINGLE and receipt.total <= SIMPLIFIED_LIMIT


def _annex_rows(receipt: DonationReceipt) -> list[dict]:
    rows = []
    for payment in receipt.payments.prefetch_related("refunds").order_by("paid_at", "pk"):
        amount = receipt_amount(payment)
        rows.append(
            {
                "date": _german_date(timezone.localtime(payment.paid_at).date()),
                "kind": "Geldzuwendung",
                "waiver": "nein",
                "amount": amount_in_digits(amount),
            }
        )
    return rows


def _context(receipt: DonationReceipt, *, tax_status: TaxStatus) -> dict:
    organisation = organisation_settings()
    issued_on = timezone.localtime(receipt.issued_at).date()
    return {
        "receipt": receipt,
        "organisation": organisation,
        "issuer_lines": [organisation.street, f"{organisation.postcode} {organisation.city}".strip()],
        "donor_lines": [receipt.donor_name, *receipt.donor_address.splitlines()],
        "amount_digits": amount_in_digits(receipt.total),
        "amount_words": amount_in_words(receipt.total),
        # Large amounts are one long German word: a smaller size keeps it inside its box.
        "amount_words_long": max(len(word) for word in amount_in_words(receipt.total).split()) > 34,
        "donation_date": _german_date(receipt.period_start),
        "period": f"{_german_date(receipt.period_start)} – {_german_date(receipt.period_end)}",
        "tax_status": tax_status,
        "place_and_date": f"{organisation.city}, {_german_date(issued_on)}",
        "annex_rows": _annex_rows(receipt) if receipt.kind == DonationReceipt.Kind.ANNUAL else [],
    }


def _pdf_from_html(html: str, *, title: str, author: str) -> bytes:
    """WeasyPrint with local fonts only (nothing is fetched), then protected against editing."""
    from pypdf import PdfWriter
    from pypdf.constants import UserAccessPermissions
    from weasyprint import HTML, URLFetcher

    rendered = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
    writer = PdfWriter(clone_from=io.BytesIO(rendered))
    writer.add_metadata({"/Title": title, "/Author": author})
    writer.encrypt(
        user_password="",
        owner_password=secrets.token_urlsafe(24),
        permissions_flag=UserAccessPermissions.PRINT | UserAccessPermissions.PRINT_TO_REPRESENTATION,
        algorithm="AES-256",
    )
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def receipt_pdf_render(*, receipt: DonationReceipt) -> bytes:
    """The receipt as PDF on the BMF template. Uses the tax status current at its issue date."""
    tax_status = receipt_tax_status(today=timezone.localtime(receipt.issued_at).date())
    with translation.override("de"):
        html = render_to_string("fundraising/receipts/receipt.html", _context(receipt, tax_status=tax_status))
    return _pdf_from_html(
        html, title=f"Zuwendungsbestätigung {receipt.number}", author=organisation_settings().legal_name
    )


def receipt_pdf_store(*, receipt: DonationReceipt) -> DonationReceipt:
    """Render the PDF and keep it as the organisation's copy. Does nothing if it is already stored."""
    if receipt.pdf:
        return receipt
    content = receipt_pdf_render(receipt=receipt)
    receipt.pdf.save(f"{receipt.number}.pdf", ContentFile(content), save=False)
    receipt.save(update_fields=["pdf"])
    return receipt


def receipt_ready_announce(*, receipt: DonationReceipt) -> None:
    """Once an annual receipt's PDF is stored: tell the donor it is ready, at most once even when the task
    that stored it runs twice (claimed in the cache; the claim is given back if sending fails). A one-time
    gift's receipt is announced by its thank-you e-mail instead."""
    from . import emails

    if receipt.kind != DonationReceipt.Kind.ANNUAL:
        return
    claim = f"fundraising:annual-receipt-email:{receipt.number}:{receipt.issued_at.timestamp()}"
    if not cache.add(claim, "sent", READY_EMAIL_CLAIM_SECONDS):
        return
    try:
        emails.send_annual_receipt_ready(receipt=receipt)
    except Exception:
        cache.delete(claim)  # not sent: the task's retry may send it
        raise


def receipt_simplified_pdf_render(*, receipt: DonationReceipt) -> bytes:
    """The simplified confirmation for the tax office (gifts up to 300 EUR); not numbered, not stored."""
    if not simplified_receipt_available(receipt):
        raise ReceiptRefused(_("A simplified receipt exists only for one-time gifts up to 300 EUR."))
    tax_status = receipt_tax_status(today=timezone.localtime(receipt.issued_at).date())
    with translation.override("de"):
        html = render_to_string(
            "fundraising/receipts/simplified.html", _context(receipt, tax_status=tax_status)
        )
    return _pdf_from_html(
        html, title="Vereinfachter Zuwendungsnachweis", author=organisation_settings().legal_name
    )
