"""Reusable reads of sponsors, as QuerySet methods (``Sponsorship.objects.placed(on=day)``)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class PackageQuerySet(models.QuerySet):
    def live(self):
        return self.filter(live=True)

    def offered(self):
        """Packages a company can apply for now."""
        return self.live().filter(open_for_applications=True).order_by("rank", "-price")


class SponsorshipQuerySet(models.QuerySet):
    def holding_seat(self):
        from .models import SEAT_STATUSES

        return self.filter(status__in=SEAT_STATUSES)

    def placed(self, *, on: datetime.date | None = None):
        """Paid sponsorships whose period includes ``on`` (today): the only ones the site shows."""
        on = on or timezone.localdate()
        return self.filter(status="active", start_date__lte=on, end_date__gte=on)

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(sponsor__users=user)

    def ending_on(self, day: datetime.date):
        return self.filter(status="active", end_date=day)

    def expired(self, *, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.filter(status="active", end_date__lt=today)

    def named_in_annual_report(self, *, year: int):
        """Paid sponsorships in ``year`` whose sponsor consented to be named (for reports/)."""
        return self.filter(
            status__in=("active", "ended"),
            sponsor__consent_annual_report=True,
            start_date__lte=datetime.date(year, 12, 31),
            end_date__gte=datetime.date(year, 1, 1),
        )


class InvoiceQuerySet(models.QuerySet):
    def invoices(self):
        return self.filter(kind="invoice")

    def open(self):
        return self.filter(kind="invoice", status="open")

    def overdue(self, *, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.open().filter(due_date__lt=today)

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(sponsorship__sponsor__users=user)

    def paid_between(self, start: datetime.date, end: datetime.date):
        """Invoices (not credit notes) paid from ``start`` to ``end`` (both included, local dates)."""
        return self.filter(kind="invoice", status="paid", paid_at__date__gte=start, paid_at__date__lte=end)

    def received_per_sponsor(self, *, start: datetime.date, end: datetime.date) -> list[dict]:
        """What each sponsor paid from ``start`` to ``end``, net of VAT and of refunds, largest first:
        ``{"sponsor_id", "name", "consent", "amount"}`` (for the annual report's payers above 10 %).

        An invoice counts with its net amount (VAT is not the organisation's money); a refund lowers it by
        the refund's net share (the refund is gross, like the payment)."""
        totals: dict[int, dict] = {}
        rows = (
            self.paid_between(start, end)
            .order_by()
            .values_list(
                "sponsorship__sponsor_id",
                "sponsorship__sponsor__display_name",
                "sponsorship__sponsor__legal_name",
                "sponsorship__sponsor__consent_annual_report",
                "net_amount",
                "gross_amount",
                "refunded_amount",
            )
        )
        for sponsor_id, display_name, legal_name, consent, net, gross, refunded in rows:
            net, gross, refunded = Decimal(net), Decimal(gross), Decimal(refunded or 0)
            if refunded and gross:
                net -= refunded * net / gross
            entry = totals.setdefault(
                sponsor_id,
                {
                    "sponsor_id": sponsor_id,
                    "name": display_name or legal_name,
                    "consent": consent,
                    "amount": ZERO,
                },
            )
            entry["amount"] += net
        result = [{**entry, "amount": max(entry["amount"], ZERO).quantize(CENT)} for entry in totals.values()]
        return sorted(result, key=lambda row: (-row["amount"], row["name"]))

    def reverse_charge_issued(self, *, start: datetime.date, end: datetime.date):
        """Invoices and credit notes with the reverse charge dated from ``start`` to ``end`` (both days
        included): the EC sales list of reports/tax.py reads the buyer's VAT id and the net amount."""
        return self.filter(vat_treatment="reverse_charge", issue_date__gte=start, issue_date__lte=end)
