"""What an incoming bank line pays among sponsor invoices (registered with ``ledger.bank`` on import).

A line matches an invoice when its amount equals the invoice's gross and the invoice number
(RS-YYYY-NNNNN, spaces or missing hyphens forgiven) is in the remittance text or references:

- the invoice is open: confirming books it through ``sponsors.services.invoice_mark_paid`` (bank to
  receivables, the invoice paid, the sponsorship active);
- the invoice was already marked paid by bank transfer by hand: confirming links the line to that booking
  instead of booking the money twice.

A line with the number but another amount is not proposed (the invoice's gross is what gets booked);
finance books such a line by hand.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from ledger.bank import Match, MatchRefused, matcher_register
from ledger.models import BankLine, Transaction

from .models import InvalidTransition, Invoice

INVOICE_NUMBER = re.compile(r"(?<![A-Z0-9])RS[-\s]?(\d{4})[-\s]?(\d{5})(?!\d)")


def invoice_numbers(text: str) -> list[str]:
    """Sponsor invoice numbers named in ``text``, in the canonical form RS-2026-00001."""
    return list(dict.fromkeys(f"RS-{year}-{serial}" for year, serial in INVOICE_NUMBER.findall(text.upper())))


def _reference(line: BankLine) -> str:
    return line.bank_reference or line.end_to_end_id or f"bank line {line.pk}"


def _invoice_pay(line: BankLine, by, *, invoice_id: int) -> Transaction:
    from . import services

    invoice = Invoice.objects.get(pk=invoice_id)
    try:
        services.invoice_mark_paid(
            invoice=invoice, paid_on=line.booking_date, reference=_reference(line), by=by
        )
    except (InvalidTransition, services.SponsorshipRefused) as refusal:
        raise MatchRefused(str(refusal)) from None
    return Transaction.objects.get(idempotency_key=f"sponsors:bank:{invoice.number}")


def _already_booked(line: BankLine, by, *, transaction_id: int) -> Transaction:
    return Transaction.objects.get(pk=transaction_id)


def invoice_match(line: BankLine) -> Match | None:
    if line.amount <= 0:
        return None
    for number in invoice_numbers(line.text):
        invoice = (
            Invoice.objects.filter(number=number, kind=Invoice.Kind.INVOICE)
            .select_related("sponsorship__sponsor")
            .first()
        )
        if invoice is None or invoice.gross_amount != line.amount:
            continue
        sponsor = invoice.sponsorship.sponsor.legal_name
        amount = f"{invoice.gross_amount} {invoice.currency}"
        if invoice.status == Invoice.Status.OPEN:
            return Match(
                key=f"sponsors:invoice:{invoice.number}",
                description=_(
                    "Sponsor invoice %(number)s of %(sponsor)s over %(amount)s, paid by bank transfer"
                )
                % {"number": invoice.number, "sponsor": sponsor, "amount": amount},
                book=lambda line, by, invoice_id=invoice.pk: _invoice_pay(line, by, invoice_id=invoice_id),
            )
        if invoice.status == Invoice.Status.PAID and invoice.paid_via == Invoice.PaidVia.BANK:
            booked = Transaction.objects.filter(idempotency_key=f"sponsors:bank:{invoice.number}").first()
            if booked is None or BankLine.objects.filter(booked_transaction=booked).exists():
                continue
            return Match(
                key=f"sponsors:invoice-paid:{invoice.number}",
                description=_(
                    "Sponsor invoice %(number)s of %(sponsor)s over %(amount)s, already marked paid by hand: "
                    "link this line to that booking"
                )
                % {"number": invoice.number, "sponsor": sponsor, "amount": amount},
                book=lambda line, by, pk=booked.pk: _already_booked(line, by, transaction_id=pk),
            )
    return None


matcher_register("sponsors.invoice", invoice_match)
