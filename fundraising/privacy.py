"""A patron's personal data: linking a log-in to the patron record, export, erasure and retention.

GDPR erasure yields to the duty to keep booking vouchers (DOMAIN.md 8): on erasure the profile,
public listing and log-in go at once; payments and ledger transactions stay under the patron's
pseudonymous id; donation receipts and payment confirmations stay in private storage until their
retention ends, and ``retention_purge`` (run daily) deletes them then.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .confirmations import confirmation_is_invoice, confirmation_retain_until, confirmation_store
from .models import DonationReceipt, Interval, Patron, Patronage, Payment

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")

# A recurring patronage in one of these states may still charge the patron or keep perks running: it
# blocks erasure unless it is set to end at its period end.
RUNNING_STATUSES = (
    Patronage.Status.TRIALING,
    Patronage.Status.ACTIVE,
    Patronage.Status.PAST_DUE,
    Patronage.Status.UNPAID,
    Patronage.Status.PAUSED,
)


class ErasureRefused(Exception):
    """The patron's data cannot be erased yet; ``message`` says what to do first."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def public_caches_invalidate() -> None:
    """The supporters wall, stats and badges show patrons: refresh them after a listing changes."""
    try:
        from . import public
    except ImportError:
        return
    invalidate = getattr(public, "invalidate", None) or getattr(public, "cache_bump", None)
    if invalidate is not None:
        invalidate()


# --- Which patron belongs to a log-in ---------------------------------------------------------


def patron_claim(*, user, email: str) -> Patron | None:
    """Link the oldest unclaimed patron record with this (verified) e-mail address to ``user``.

    Guests may pay without an account; once they sign up and confirm the same address, their support
    shows on "My support". Does nothing when the user already has a patron record.
    """
    if not email or Patron.objects.filter(user=user).exists():
        return None
    with transaction.atomic():
        patron = (
            Patron.objects.select_for_update()
            .filter(user__isnull=True, erased_at__isnull=True, email__iexact=email)
            .order_by("created", "pk")
            .first()
        )
        if patron is None:
            return None
        patron.user = user
        patron.save(update_fields=["user"])
    logger.info("Patron %s claimed by user %s", patron.pseudonym, user.pk)
    return patron


def patron_for_user(user) -> Patron | None:
    """The patron record of a logged-in user; claims one by a verified e-mail address if none is linked."""
    patron = Patron.objects.filter(user=user, erased_at__isnull=True).first()
    if patron is not None:
        return patron
    from allauth.account.models import EmailAddress

    for address in EmailAddress.objects.filter(user=user, verified=True).order_by("-primary"):
        patron = patron_claim(user=user, email=address.email)
        if patron is not None:
            return patron
    return None


def _email_confirmed(sender, request=None, email_address=None, **kwargs) -> None:
    if email_address is not None and email_address.verified:
        patron_claim(user=email_address.user, email=email_address.email)


def connect_signals() -> None:
    """Called from ``FundraisingConfig.ready``: a confirmed e-mail address claims the guest's patron record."""
    from allauth.account.signals import email_confirmed

    email_confirmed.connect(_email_confirmed, dispatch_uid="fundraising.patron_claim")


# --- Export -----------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def _moment(value) -> str | None:
    return value.isoformat() if value else None


_export_sections: dict = {}


def export_section_register(name: str, section) -> None:
    """Apps above fundraising (perks) add what they hold of a patron to the data export:
    ``section(patron)`` returns JSON-ready data under ``name``. Registered in ``AppConfig.ready()``."""
    _export_sections[name] = section


def patron_export(*, patron: Patron) -> dict:
    """Everything stored about the patron, as JSON-ready data (amounts as strings with two decimals)."""
    return {**_core_export(patron), **{name: section(patron) for name, section in _export_sections.items()}}


def _core_export(patron: Patron) -> dict:
    patronages = patron.patronages.select_related("tier").order_by("started_at", "pk")
    payments = patron.payments.select_related("patronage__tier", "receipt").order_by("paid_at", "pk")
    receipts = patron.receipts.order_by("issued_at", "pk")
    return {
        "profile": {
            "pseudonymous_id": str(patron.pseudonym),
            "email": patron.email,
            "name": patron.name,
            "address": {
                "line1": patron.address_line1,
                "line2": patron.address_line2,
                "postal_code": patron.postal_code,
                "city": patron.city,
                "country": patron.country,
            },
            "language": patron.language,
            "account_email": patron.user.email if patron.user else None,
            "created": _moment(patron.created),
            "public_listing": {
                "listing": patron.listing,
                "public_name": patron.public_name,
                "fediverse_handle": patron.fediverse_handle,
                "show_amount": patron.show_amount,
                "annual_report_consent": patron.annual_report_consent,
            },
        },
        "patronages": [
            {
                "tier": patronage.tier.name if patronage.tier else None,
                "kind": patronage.kind,
                "amount": _money(patronage.amount),
                "currency": patronage.currency.upper(),
                "interval": patronage.interval,
                "status": patronage.status,
                "started_at": _moment(patronage.started_at),
                "ended_at": _moment(patronage.ended_at),
                "next_charge": _moment(patronage.current_period_end) if patronage.is_recurring else None,
                "cancel_at_period_end": patronage.cancel_at_period_end,
            }
            for patronage in patronages
        ],
        "payments": [
            {
                "number": payment.number,
                "paid_at": _moment(payment.paid_at),
                "kind": payment.kind,
                "amount": _money(payment.amount),
                "vat_rate": _money(payment.vat_rate),
                "vat_amount": _money(payment.vat_amount),
                "currency": payment.currency.upper(),
                "status": payment.status,
                "refunded_amount": _money(payment.refunded_amount),
                "period_start": _moment(payment.period_start),
                "period_end": _moment(payment.period_end),
                "donation_receipt": payment.receipt.number if payment.receipt else None,
            }
            for payment in payments
        ],
        "donation_receipts": [
            {
                "number": receipt.number,
                "kind": receipt.kind,
                "period_start": _moment(receipt.period_start),
                "period_end": _moment(receipt.period_end),
                "total": _money(receipt.total),
                "issued_at": _moment(receipt.issued_at),
                "donor_name": receipt.donor_name,
                "donor_address": receipt.donor_address,
                "kept_until": _moment(receipt.retain_until),
            }
            for receipt in receipts
        ],
    }


# --- Erasure ----------------------------------------------------------------------------------


def erasure_blockers(patron: Patron):
    """Recurring support that still runs: it must be cancelled before the data can go."""
    return (
        patron.patronages.exclude(interval=Interval.ONCE)
        .filter(status__in=RUNNING_STATUSES, cancel_at_period_end=False)
        .select_related("tier")
    )


_erasure_steps: list = []


def erasure_step_register(step) -> None:
    """Apps above fundraising (perks: emoji, feed tokens) erase what they hold of a patron:
    ``step(patron)`` runs inside the erasure's transaction. Registered in ``AppConfig.ready()``."""
    if step not in _erasure_steps:
        _erasure_steps.append(step)


def patron_erase(*, patron: Patron) -> Patron:
    """Erase a patron's personal data at once and delete their log-in; keep what the books must keep.

    Refused (``ErasureRefused``) while a recurring patronage still runs. Payments and ledger amounts stay
    under ``Patron.pseudonym``; receipts and confirmations stay in private storage until their
    retention ends (``retention_purge``). Invoices not yet rendered are rendered first, while the buyer's
    name and address are still known: they are booking vouchers.
    """
    if erasure_blockers(patron).exists():
        raise ErasureRefused(
            _(
                "Please cancel your recurring support first (“Manage payment, card or tier”). "
                "You can delete your account once it no longer renews."
            )
        )
    for payment in patron.payments.filter(confirmation_file=""):
        if confirmation_is_invoice(payment):
            confirmation_store(payment=payment)

    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        still_subscribed = patron.patronages.exclude(interval=Interval.ONCE).filter(
            status__in=(*RUNNING_STATUSES, Patronage.Status.INCOMPLETE)
        )
        user = patron.user
        patron.user = None
        patron.email = ""
        patron.name = ""
        patron.address_line1 = ""
        patron.address_line2 = ""
        patron.postal_code = ""
        patron.city = ""
        patron.country = ""
        patron.listing = Patron.Listing.ANONYMOUS
        patron.public_name = ""
        patron.fediverse_handle = ""
        patron.show_amount = False
        patron.annual_report_consent = False
        if not still_subscribed.exists():
            # Kept while a subscription ends at its period end, so Stripe's last events still find it.
            patron.stripe_customer_id = None
        patron.erased_at = timezone.now()
        patron.save()
        patron.receipts.filter(purged_at__isnull=False).update(donor_name="", donor_address="")
        for step in _erasure_steps:
            step(patron)
        if user is not None:
            user.delete()
        transaction.on_commit(public_caches_invalidate)
    logger.info("Patron %s erased", patron.pseudonym)
    return patron


def account_delete(*, user) -> None:
    """Delete a log-in; if it belongs to a patron, erase the patron's personal data with it."""
    patron = Patron.objects.filter(user=user).first()
    if patron is not None:
        patron_erase(patron=patron)
        return
    get_user_model().objects.filter(pk=user.pk).delete()


# --- Retention --------------------------------------------------------------------------------


def retention_purge(*, today: datetime.date) -> dict[str, int]:
    """Delete receipt and confirmation PDFs whose retention period ended before ``today``.

    Receipts are kept until ``retain_until``; payment confirmations until the end of the 8th year after
    the year of payment. A purged receipt of an erased patron loses the donor's name and address too.
    Safe to run twice.
    """
    now = timezone.now()
    receipts = 0
    for receipt in DonationReceipt.objects.filter(
        purged_at__isnull=True, retain_until__lt=today
    ).select_related("patron"):
        if receipt.pdf:
            receipt.pdf.delete(save=False)
        receipt.pdf = ""
        receipt.purged_at = now
        fields = ["pdf", "purged_at"]
        if receipt.patron.erased_at:
            receipt.donor_name = ""
            receipt.donor_address = ""
            fields += ["donor_name", "donor_address"]
        receipt.save(update_fields=fields)
        receipts += 1

    confirmations = 0
    # Only payments at least 8 full years old can qualify; the exact cut-off is checked per payment.
    earliest_kept = datetime.datetime(today.year - 8, 1, 1, tzinfo=datetime.UTC)
    for payment in Payment.objects.exclude(confirmation_file="").filter(paid_at__lt=earliest_kept):
        if confirmation_retain_until(payment) >= today:
            continue
        payment.confirmation_file.delete(save=False)
        payment.confirmation_file = ""
        payment.save(update_fields=["confirmation_file"])
        confirmations += 1
    if receipts or confirmations:
        logger.info("Retention ended: %s receipt PDFs and %s confirmations deleted", receipts, confirmations)
    return {"receipts": receipts, "confirmations": confirmations}
