"""What a bank line pays among grants and bills (registered with ``ledger.bank`` on import).

Money in, from a funder (``grants.services.grant_payment_record``, bank to grant income on the grant's cost
centre, the milestone paid, key ``bank:<line id>``):

- a milestone's request-for-payment number (ZA-YYYY-NNNNN) in the text: that milestone, exact when the
  amount equals what the milestone pays (otherwise proposed for finance to judge: the amount received is
  what is booked);
- else an amount equal to a submitted or accepted milestone's payable amount, with the grant's reference in
  the text: that milestone (the earliest due if several).

Money out, to a supplier (``grants.services.bill_mark_paid``, payables to bank): an amount equal to an open
bill's gross, with the bill's number in the text (exact) or the supplier's name in the text or as the
counterparty (the oldest such bill; exact only when it is the only one).

A milestone or bill already paid by hand is proposed as "link this line to that booking", so the money is
not booked twice.
"""

from __future__ import annotations

import datetime
import re

from django.utils.translation import gettext as _

from ledger.bank import Match, MatchRefused, matcher_register
from ledger.models import BankLine, Transaction

from .models import Bill, GrantPayment, InvalidTransition, Milestone

PAID_BY_HAND_DAYS = datetime.timedelta(days=60)  # how far a payment marked by hand may be from the line
REQUEST_NUMBER = re.compile(r"(?<![A-Z0-9])ZA[-\s]?(\d{4})[-\s]?(\d{5})(?!\d)")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip().casefold()


def _names(text: str, word: str) -> bool:
    """``word`` (a reference, a bill number) stands in ``text`` on its own, not inside a longer token."""
    word = _normal(word)
    if not word:
        return False
    return re.search(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", _normal(text)) is not None


def request_numbers(text: str) -> list[str]:
    return list(dict.fromkeys(f"ZA-{year}-{serial}" for year, serial in REQUEST_NUMBER.findall(text.upper())))


def _reference(line: BankLine) -> str:
    return line.bank_reference or line.end_to_end_id or f"bank line {line.pk}"


def _linked(transaction: Transaction | None) -> bool:
    return transaction is None or BankLine.objects.filter(booked_transaction=transaction).exists()


def _link(transaction_id: int):
    return lambda line, by: Transaction.objects.get(pk=transaction_id)


# --- Grant payments -------------------------------------------------------------------------------


def _payment_record(line: BankLine, by, *, milestone_id: int) -> Transaction:
    from . import services

    milestone = Milestone.objects.select_related("grant").get(pk=milestone_id)
    key = f"bank:{line.pk}"
    try:
        services.grant_payment_record(
            grant=milestone.grant,
            amount=line.amount,
            received_on=line.booking_date,
            reference=_reference(line),
            milestone=milestone,
            by=by,
            idempotency_key=key,
        )
    except InvalidTransition as refusal:
        raise MatchRefused(str(refusal)) from None
    return Transaction.objects.get(idempotency_key=key)


def _milestone_match(line: BankLine, milestone: Milestone) -> Match:
    payable = milestone.payable_amount
    exact = payable == line.amount
    if exact:
        description = _("Grant payment for %(milestone)s (%(funder)s), %(amount)s EUR") % {
            "milestone": milestone,
            "funder": milestone.grant.funder,
            "amount": payable,
        }
    else:
        description = _(
            "Grant payment for %(milestone)s (%(funder)s): the milestone pays %(payable)s EUR, the line is "
            "over %(amount)s EUR, which is what will be booked"
        ) % {
            "milestone": milestone,
            "funder": milestone.grant.funder,
            "payable": payable,
            "amount": line.amount,
        }
    return Match(
        key=f"grants:milestone:{milestone.pk}",
        description=description,
        book=lambda line, by, pk=milestone.pk: _payment_record(line, by, milestone_id=pk),
        exact=exact,
    )


def _payment_already_recorded(line: BankLine, milestone: Milestone) -> Match | None:
    payment = GrantPayment.objects.filter(milestone=milestone).first()
    if payment is None or payment.amount != line.amount:
        return None
    booked = Transaction.objects.filter(idempotency_key=f"grants:payment:{payment.pk}").first()
    if _linked(booked):
        return None
    return Match(
        key=f"grants:payment:{payment.pk}",
        description=_(
            "Grant payment for %(milestone)s, already recorded by hand on %(date)s: link this line to it"
        )
        % {"milestone": milestone, "date": payment.received_on.isoformat()},
        book=_link(booked.pk),
    )


def grant_payment_match(line: BankLine) -> Match | None:
    if line.amount <= 0:
        return None
    text = line.text
    for number in request_numbers(text):
        milestone = Milestone.objects.select_related("grant__funder").filter(request_number=number).first()
        if milestone is None:
            continue
        if (
            milestone.state == Milestone.State.PAID
            or GrantPayment.objects.filter(milestone=milestone).exists()
        ):
            found = _payment_already_recorded(line, milestone)
            if found is not None:
                return found
            continue
        return _milestone_match(line, milestone)
    candidates = (
        Milestone.objects.filter(
            state__in=[Milestone.State.SUBMITTED, Milestone.State.ACCEPTED], payment__isnull=True
        )
        .exclude(grant__reference="")
        .select_related("grant__funder")
        .order_by("due_date", "pk")
    )
    for milestone in candidates:
        if milestone.payable_amount == line.amount and _names(text, milestone.grant.reference):
            return _milestone_match(line, milestone)
    return None


# --- Bills ----------------------------------------------------------------------------------------


def _bill_pay(line: BankLine, by, *, bill_id: int) -> Transaction:
    from . import services

    key = f"bank:{line.pk}"
    try:
        services.bill_mark_paid(
            bill=Bill.objects.get(pk=bill_id),
            paid_on=line.booking_date,
            reference=_reference(line),
            idempotency_key=key,
        )
    except InvalidTransition as refusal:
        raise MatchRefused(str(refusal)) from None
    return Transaction.objects.get(idempotency_key=key)


def _supplier_named(line: BankLine, bill: Bill) -> bool:
    return _names(line.text, bill.supplier) or (
        bool(line.counterparty_name) and _normal(line.counterparty_name) == _normal(bill.supplier)
    )


def bill_match(line: BankLine) -> Match | None:
    if line.amount >= 0:
        return None
    amount = -line.amount
    near = Bill.objects.filter(net_amount__lte=amount).order_by("bill_date", "pk")
    open_bills = [bill for bill in near.filter(status=Bill.Status.OPEN) if bill.gross_amount == amount]
    by_number = [bill for bill in open_bills if _names(line.text, bill.number)]
    if by_number:
        bill = by_number[0]
        return Match(
            key=f"grants:bill:{bill.pk}",
            description=_("Bill %(number)s of %(supplier)s over %(amount)s EUR")
            % {
                "number": bill.number,
                "supplier": bill.supplier,
                "amount": amount,
            },
            book=lambda line, by, pk=bill.pk: _bill_pay(line, by, bill_id=pk),
            exact=len(by_number) == 1,
        )
    by_supplier = [bill for bill in open_bills if _supplier_named(line, bill)]
    if by_supplier:
        bill = by_supplier[0]
        return Match(
            key=f"grants:bill:{bill.pk}",
            description=_(
                "Bill %(number)s of %(supplier)s over %(amount)s EUR (found by supplier and amount)"
            )
            % {"number": bill.number, "supplier": bill.supplier, "amount": amount},
            book=lambda line, by, pk=bill.pk: _bill_pay(line, by, bill_id=pk),
            exact=len(by_supplier) == 1,
        )
    window = (line.booking_date - PAID_BY_HAND_DAYS, line.booking_date + PAID_BY_HAND_DAYS)
    for bill in near.filter(status=Bill.Status.PAID, paid_on__range=window):
        if bill.gross_amount != amount or not _names(line.text, bill.number):
            continue
        booked = Transaction.objects.filter(idempotency_key=f"grants:bill:{bill.pk}:paid").first()
        if _linked(booked):
            continue
        return Match(
            key=f"grants:bill-paid:{bill.pk}",
            description=_(
                "Bill %(number)s of %(supplier)s, already marked paid by hand: link this line to it"
            )
            % {"number": bill.number, "supplier": bill.supplier},
            book=_link(booked.pk),
        )
    return None


matcher_register("grants.payment", grant_payment_match)
matcher_register("grants.bill", bill_match)
