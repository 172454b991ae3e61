"""Workflows of grants, pay and bills: everything that reaches the books goes through here.

Postings (docs/grants.md):

- grant payment received: bank to grant income, on the grant's cost centre (``grants:payment:<id>``);
- pay record: each expense line (salary, social costs, freelancer's invoice) split across cost centres by
  the person's allocation of the month, against the bank (``grants:pay:<id>``); a later change of the
  allocation posts only the difference, from the old cost centres to the new (``grants:pay:<id>:v<n>``);
- bill: expense (gross: the non-profit cannot deduct input VAT on non-taxable work) on its cost centre
  against payables (``grants:bill:<id>``); paid: payables to bank (``grants:bill:<id>:paid``).

Every function is keyword-only, runs inside ``transaction.atomic()`` and is idempotent on its keys.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import CORE_COST_CENTRE_CODE, CostCentre
from ledger.querysets import month_end
from ledger.services import PostingLine, document_number_next, first_open_day, transaction_post

from .models import (
    HUNDRED,
    ZERO,
    Allocation,
    AllocationBooking,
    Bill,
    Grant,
    GrantPayment,
    InvalidTransition,
    Milestone,
    PayRecord,
    Person,
    round_cents,
)

ACCOUNT_BANK = "bank"
ACCOUNT_PAYABLES = "payables"
ACCOUNT_GRANT_INCOME = "income-grants"
REQUEST_SERIES = "ZA"  # Zahlungsanforderung (request for payment): ZA-2026-00001


def _booking_date(day: datetime.date) -> tuple[datetime.date, str]:
    booked = first_open_day(day)
    return booked, ("" if booked == day else f" (dated {day.isoformat()}, booked in the first open month)")


# --- Grants ---------------------------------------------------------------------------------------


def grant_cost_centre_ensure(*, grant: Grant) -> CostCentre:
    """The grant's own cost centre in the ledger (created with the grant, named by its code)."""
    given = grant
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if not grant.cost_centre_id:
            centre, _created = CostCentre.objects.get_or_create(
                code=grant.code, defaults={"name": grant.title[:150], "kind": CostCentre.Kind.GRANT}
            )
            grant.cost_centre = centre
            grant.save(update_fields=["cost_centre"])
    given.cost_centre = grant.cost_centre  # the caller's instance sees its cost centre too
    return grant.cost_centre


def grant_payment_record(
    *,
    grant: Grant,
    amount: Decimal,
    received_on: datetime.date,
    reference: str,
    milestone: Milestone | None = None,
    by=None,
    idempotency_key: str = "",
) -> GrantPayment:
    """Money from the funder arrived: bank to grant income on the grant's cost centre; a milestone is paid.

    ``idempotency_key`` (a bank statement line) makes a repeated call return the first payment."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Enter the bank's reference for the payment."))
    if received_on > timezone.localdate():
        raise ValidationError(_("The payment date lies in the future."))
    if amount <= ZERO:
        raise ValidationError(_("The amount must be positive."))
    centre = grant_cost_centre_ensure(grant=grant)
    with transaction.atomic():
        if milestone is not None:
            milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
            if milestone.grant_id != grant.pk:
                raise ValidationError(_("The milestone belongs to another grant."))
            if GrantPayment.objects.filter(milestone=milestone).exists():
                raise InvalidTransition(_("This milestone has already been paid."))
        payment = GrantPayment.objects.create(
            grant=grant,
            milestone=milestone,
            amount=amount,
            received_on=received_on,
            reference=reference[:140],
            recorded_by=by if getattr(by, "is_authenticated", False) else None,
        )
        booking_date, late = _booking_date(received_on)
        transaction_post(
            booking_date=booking_date,
            description=f"Grant payment: {grant.title}"[:200],
            idempotency_key=idempotency_key or f"grants:payment:{payment.pk}",
            source_reference=f"{reference}{late}"[:200],
            lines=[
                PostingLine(account=ACCOUNT_BANK, amount=amount),
                PostingLine(account=ACCOUNT_GRANT_INCOME, amount=-amount, cost_centre=centre),
            ],
        )
        if milestone is not None and milestone.state != Milestone.State.PAID:
            if milestone.state in (Milestone.State.PLANNED, Milestone.State.IN_PROGRESS):
                milestone.move("submit")
            milestone.move("mark_paid")
    return payment


def milestone_request_issue(*, milestone: Milestone, on: datetime.date | None = None) -> Milestone:
    """Give a milestone its request-for-payment number (once) and submit it; the PDF is rendered on demand."""
    on = on or timezone.localdate()
    with transaction.atomic():
        milestone = Milestone.objects.select_for_update().select_related("grant").get(pk=milestone.pk)
        if milestone.state in (Milestone.State.PLANNED, Milestone.State.IN_PROGRESS):
            milestone.move("submit")
        if not milestone.request_number:
            milestone.request_number = document_number_next(series=REQUEST_SERIES, year=on.year)
            milestone.request_date = on
            milestone.save(update_fields=["request_number", "request_date"])
    return milestone


# --- Allocation and pay ---------------------------------------------------------------------------


def allocations_set(
    *, person: Person, month: datetime.date, shares: dict[Grant | None, Decimal]
) -> list[Allocation]:
    """Replace the allocation of ``person`` in ``month``: ``shares`` maps a grant (None = core) to percent.

    Refuses a total above 100 % or a grant not running that month, with a clear message; what is left is
    core work. If the month's pay record is already posted, the change is booked as a reclassification."""
    month = month.replace(day=1)
    total = sum((Decimal(value) for value in shares.values()), ZERO)
    if total > HUNDRED:
        raise ValidationError(
            _("%(person)s is allocated %(total)s %% in %(month)s; a month can hold at most 100 %%.")
            % {"person": person, "total": total, "month": month.strftime("%Y-%m")}
        )
    for grant, value in shares.items():
        if Decimal(value) < ZERO:
            raise ValidationError(_("A share cannot be negative."))
        if grant is not None and not (grant.start_date <= month_end(month) and grant.end_date >= month):
            raise ValidationError(
                _("The grant “%(grant)s” does not run in %(month)s.")
                % {"grant": grant, "month": month.strftime("%Y-%m")}
            )
    with transaction.atomic():
        Person.objects.select_for_update().get(pk=person.pk)  # one allocation change per person at a time
        Allocation.objects.filter(person=person, month=month).delete()
        rows = [
            Allocation.objects.create(person=person, month=month, grant=grant, percent=Decimal(value))
            for grant, value in shares.items()
            if Decimal(value) > ZERO
        ]
        record = PayRecord.objects.filter(person=person, month=month, posted_at__isnull=False).first()
        if record is not None:
            pay_record_reclassify(pay_record=record)
    return rows


def cost_split(*, pay_record: PayRecord) -> dict[tuple[str, str], Decimal]:
    """(cost centre code, account) -> amount: each expense line split by the month's allocation; the
    rounding remainder and the unallocated share go to core. The amounts add up to the record exactly."""
    shares = [
        (allocation.grant, allocation.percent)
        for allocation in Allocation.objects.filter(
            person=pay_record.person_id, month=pay_record.month, grant__isnull=False
        ).select_related("grant")
    ]
    split: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for account, amount in pay_record.cost_lines():
        charged = ZERO
        for grant, percent in shares:
            part = round_cents(amount * percent / HUNDRED)
            if part:
                centre = grant_cost_centre_ensure(grant=grant)
                split[(centre.code, account)] += part
                charged += part
        if amount - charged:
            split[(CORE_COST_CENTRE_CODE, account)] += amount - charged
    return dict(split)


def pay_record_post(*, pay_record: PayRecord) -> PayRecord:
    """Post a month's pay once: expenses split by allocation, paid from the bank."""
    split = cost_split(pay_record=pay_record)
    with transaction.atomic():
        record = PayRecord.objects.select_for_update().select_related("person").get(pk=pay_record.pk)
        if record.posted_at is not None:
            return record
        if not split:
            raise ValidationError(_("The pay record has no amount to post."))
        booking_date, late = _booking_date(month_end(record.month))
        lines = [
            PostingLine(account=account, amount=amount, cost_centre=centre)
            for (centre, account), amount in sorted(split.items())
            if amount
        ]
        lines.append(PostingLine(account=ACCOUNT_BANK, amount=-record.total_cost))
        transaction_post(
            booking_date=booking_date,
            description=f"Pay {record.month:%Y-%m}: {record.person.role}"[:200],
            idempotency_key=f"grants:pay:{record.pk}",
            source_reference=f"pay record {record.pk}{late}"[:200],
            lines=lines,
        )
        centres = {
            centre.code: centre for centre in CostCentre.objects.filter(code__in={c for c, _a in split})
        }
        for (centre, account), amount in split.items():
            AllocationBooking.objects.create(
                pay_record=record, cost_centre=centres[centre], account_code=account, amount=amount
            )
        record.posted_at = timezone.now()
        record.save(update_fields=["posted_at"])
    return record


def pay_record_reclassify(*, pay_record: PayRecord) -> bool:
    """Book the difference between what a posted pay record has on each cost centre and what its current
    allocation says, as one reclassification transaction (never an edit). Returns True if anything moved."""
    split = cost_split(pay_record=pay_record)
    with transaction.atomic():
        record = PayRecord.objects.select_for_update().select_related("person").get(pk=pay_record.pk)
        if record.posted_at is None:
            return False
        booked = {
            (booking.cost_centre.code, booking.account_code): booking
            for booking in record.bookings.select_related("cost_centre")
        }
        keys = set(booked) | set(split)
        differences = {
            key: split.get(key, ZERO) - (booked[key].amount if key in booked else ZERO) for key in keys
        }
        differences = {key: value for key, value in differences.items() if value}
        if not differences:
            return False
        version = max((booking.version for booking in booked.values()), default=1) + 1
        transaction_post(
            booking_date=first_open_day(timezone.localdate()),
            description=f"Reclassification of pay {record.month:%Y-%m}: {record.person.role}"[:200],
            idempotency_key=f"grants:pay:{record.pk}:v{version}",
            source_reference=f"allocation of {record.month:%Y-%m} changed"[:200],
            lines=[
                PostingLine(account=account, amount=value, cost_centre=centre)
                for (centre, account), value in sorted(differences.items())
            ],
        )
        centres = {
            centre.code: centre for centre in CostCentre.objects.filter(code__in={c for c, _a in keys})
        }
        for key in keys:
            amount = split.get(key, ZERO)
            if key in booked:
                booking = booked[key]
                booking.amount = amount
                booking.version = version
                booking.save(update_fields=["amount", "version"])
            else:
                AllocationBooking.objects.create(
                    pay_record=record,
                    cost_centre=centres[key[0]],
                    account_code=key[1],
                    amount=amount,
                    version=version,
                )
    return True


# --- Bills ----------------------------------------------------------------------------------------


def bill_post(*, bill: Bill) -> Bill:
    """Book a bill once: its expense (gross) on its cost centre against payables."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("cost_centre").get(pk=bill.pk)
        booking_date, late = _booking_date(bill.bill_date)
        transaction_post(
            booking_date=booking_date,
            description=f"{bill.supplier}: {bill.description}"[:200],
            idempotency_key=f"grants:bill:{bill.pk}",
            source_reference=f"bill {bill.number}{late}"[:200],
            lines=[
                PostingLine(
                    account=bill.account_code, amount=bill.gross_amount, cost_centre=bill.cost_centre
                ),
                PostingLine(account=ACCOUNT_PAYABLES, amount=-bill.gross_amount),
            ],
        )
    return bill


def bill_mark_paid(*, bill: Bill, paid_on: datetime.date, reference: str, idempotency_key: str = "") -> Bill:
    """The bill was paid from the bank: payables to bank."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Enter the bank's reference for the payment."))
    if paid_on > timezone.localdate():
        raise ValidationError(_("The payment date lies in the future."))
    with transaction.atomic():
        bill = Bill.objects.select_for_update().get(pk=bill.pk)
        if bill.status == Bill.Status.PAID:
            raise InvalidTransition(_("This bill is already paid."))
        booking_date, late = _booking_date(paid_on)
        transaction_post(
            booking_date=booking_date,
            description=f"Paid: {bill.supplier} {bill.number}"[:200],
            idempotency_key=idempotency_key or f"grants:bill:{bill.pk}:paid",
            source_reference=f"{reference}{late}"[:200],
            lines=[
                PostingLine(account=ACCOUNT_PAYABLES, amount=bill.gross_amount),
                PostingLine(account=ACCOUNT_BANK, amount=-bill.gross_amount),
            ],
        )
        bill.status = Bill.Status.PAID
        bill.paid_on = paid_on
        bill.payment_reference = reference[:140]
        bill.save(update_fields=["status", "paid_on", "payment_reference"])
    return bill
