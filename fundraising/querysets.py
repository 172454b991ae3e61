"""Reusable reads of fundraising. Reports take counts from here; their money figures come from the ledger.
The one exception is ``received_per_patron``: who paid how much, to find the payers above 10 % of the year's
budget (the annual report names them only with their consent)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

ZERO = Decimal("0.00")

LIVE_STATUSES = ("active", "trialing", "past_due")
NEVER_STARTED = ("incomplete", "incomplete_expired")


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

    # --- a past month, for the reports (counts only: money comes from the ledger) ----------------
    def ever_paid(self):
        """Recurring support that got past checkout (Stripe never started the incomplete ones)."""
        return self.recurring().exclude(status__in=NEVER_STARTED)

    def running_at(self, moment: datetime.datetime):
        """Recurring support that had started and not ended at ``moment``."""
        return (
            self.ever_paid()
            .filter(started_at__lt=moment)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=moment))
        )

    def month_figures(self, day: datetime.date, *, currency: str = "eur") -> dict:
        """Patrons of ``day``'s month: active at its end, new and ended in it, and the monthly
        recurring income they had pledged at its end (yearly plans as 1/12; ``currency`` only)."""
        first = day.replace(day=1)
        start = timezone.make_aware(datetime.datetime.combine(first, datetime.time()))
        end = timezone.make_aware(
            datetime.datetime.combine((first + datetime.timedelta(days=32)).replace(day=1), datetime.time())
        )
        running = self.running_at(end)
        monthly = Case(
            When(interval="year", then=F("amount") / Value(12)),
            default=F("amount"),
            output_field=DecimalField(max_digits=14, decimal_places=4),
        )
        recurring = running.filter(currency=currency).aggregate(total=Coalesce(Sum(monthly), Value(ZERO)))[
            "total"
        ]
        return {
            "active": running.values("patron_id").distinct().count(),
            "new": self.ever_paid().filter(started_at__gte=start, started_at__lt=end).count(),
            "ended": self.ever_paid().filter(ended_at__gte=start, ended_at__lt=end).count(),
            "monthly_recurring": Decimal(recurring).quantize(Decimal("0.01")),
        }


class PaymentQuerySet(models.QuerySet):
    def donations(self):
        return self.filter(kind="donation")

    def in_year(self, year: int):
        return self.filter(paid_at__year=year)

    def unreceipted(self):
        """Donations still owed a receipt: not refunded in full, not disputed away, not yet receipted."""
        return self.donations().filter(receipt__isnull=True).exclude(status__in=("refunded", "dispute_lost"))

    def received_per_patron(self, *, start: datetime.date, end: datetime.date) -> list[dict]:
        """What each patron paid from ``start`` to ``end`` (local dates, both included), in EUR, net of VAT,
        refunds and lost disputes, largest first: ``{"patron_id", "name", "consent", "kind", "amount"}``
        (for the annual report's payers above 10 %). ``name`` is empty unless the patron consented to be
        named in the annual report (and was not erased); ``kind`` is "patron" when any payment was for
        perks, else "donor"."""
        from .models import Refund

        refunded = (
            Refund.objects.filter(payment=models.OuterRef("pk"))
            .order_by()
            .values("payment")
            .annotate(total=Sum("amount_eur"))
            .values("total")
        )
        rows = (
            self.filter(paid_at__date__gte=start, paid_at__date__lte=end)
            .exclude(status="dispute_lost")
            .order_by()
            .annotate(refunded_eur=models.Subquery(refunded, output_field=DecimalField()))
            .values(
                "patron_id",
                "patron__name",
                "patron__public_name",
                "patron__annual_report_consent",
                "patron__erased_at",
                "kind",
                "amount",
                "vat_amount",
                "amount_eur",
                "refunded_eur",
            )
        )
        totals: dict[int, dict] = {}
        for row in rows:
            amount, vat = Decimal(row["amount"]), Decimal(row["vat_amount"] or 0)
            received = Decimal(row["amount_eur"]) - Decimal(row["refunded_eur"] or 0)
            if vat and amount:
                received = received * (amount - vat) / amount
            named = bool(row["patron__annual_report_consent"]) and row["patron__erased_at"] is None
            entry = totals.setdefault(
                row["patron_id"],
                {
                    "patron_id": row["patron_id"],
                    "name": (row["patron__public_name"] or row["patron__name"]) if named else "",
                    "consent": named,
                    "kind": "donor",
                    "amount": ZERO,
                },
            )
            if row["kind"] == "perk":
                entry["kind"] = "patron"
            entry["amount"] += received
        cent = Decimal("0.01")
        result = [{**entry, "amount": max(entry["amount"], ZERO).quantize(cent)} for entry in totals.values()]
        return sorted(result, key=lambda row: (-row["amount"], row["patron_id"]))
