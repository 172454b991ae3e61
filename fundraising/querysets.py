"""Reusable reads of fundraising. Reports take counts from here (never money: money comes from the ledger)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

ZERO = Decimal("0.00")

LIVE_STATUSES = ("active", "trialing", "past_due")


class TierQuerySet(models.QuerySet):
    def offered(self):
        """Tiers the public may pick: published (live) and offered."""
        return self.filter(live=True, active=True)


class PatronageQuerySet(models.QuerySet):
    def recurring(self):
        return self.exclude(interval="once")

    def active(self):
        """Recurring support that is running (a payment overdue still counts until Stripe gives up)."""
        return self.recurring().filter(status__in=LIVE_STATUSES)

    def in_month(self, day: datetime.date):
        """Recurring support that was running at some point of ``day``'s month."""
        start = day.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        return (
            self.recurring()
            .filter(started_at__date__lt=end)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__date__gte=start))
        )

    def monthly_recurring_income(self, currency: str = "eur") -> Decimal:
        """Sum of active recurring amounts per month, yearly plans counted as 1/12."""
        monthly = Case(
            When(interval="year", then=F("amount") / Value(12)),
            default=F("amount"),
            output_field=DecimalField(max_digits=14, decimal_places=4),
        )
        total = (
            self.active()
            .filter(currency=currency)
            .aggregate(total=Coalesce(Sum(monthly), Value(ZERO)))["total"]
        )
        return Decimal(total).quantize(Decimal("0.01"))

    def active_patron_count(self) -> int:
        return self.active().values("patron_id").distinct().count()


class PaymentQuerySet(models.QuerySet):
    def donations(self):
        return self.filter(kind="donation")

    def in_year(self, year: int):
        return self.filter(paid_at__year=year)

    def unreceipted(self):
        """Donations still owed a receipt: not refunded in full, not disputed away, not yet receipted."""
        return self.donations().filter(receipt__isnull=True).exclude(status__in=("refunded", "dispute_lost"))
