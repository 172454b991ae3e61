"""Reusable reads of grants, as QuerySet methods."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Count, Sum
from django.utils import timezone

CENT = Decimal("0.01")


class GrantQuerySet(models.QuerySet):
    def running(self, *, on: datetime.date | None = None):
        on = on or timezone.localdate()
        return self.filter(state__in=("awarded", "active"), start_date__lte=on, end_date__gte=on)

    def shown_publicly(self):
        """Grants for the public grants page: awarded, active or closed, and marked public."""
        return self.filter(public=True, state__in=("awarded", "active", "closed"))

    def named_in_annual_report(self, *, year: int):
        """Grants running in ``year`` whose funder consented to be named (for reports/)."""
        return self.filter(
            state__in=("awarded", "active", "closed"),
            funder__consent_annual_report=True,
            start_date__lte=datetime.date(year, 12, 31),
            end_date__gte=datetime.date(year, 1, 1),
        )

    def received_per_funder(self, *, start: datetime.date, end: datetime.date) -> list[dict]:
        """Grant payments received from ``start`` to ``end`` (both included), per funder, largest first:
        ``{"funder_id", "name", "consent", "amount"}`` (for the annual report's payers above 10 %)."""
        rows = (
            self.filter(payments__received_on__gte=start, payments__received_on__lte=end)
            .order_by()
            .values("funder_id", "funder__name", "funder__consent_annual_report")
            .annotate(amount=Sum("payments__amount"))
        )
        result = [
            {
                "funder_id": row["funder_id"],
                "name": row["funder__name"],
                "consent": row["funder__consent_annual_report"],
                "amount": Decimal(row["amount"]).quantize(CENT),
            }
            for row in rows
        ]
        return sorted(result, key=lambda row: (-row["amount"], row["name"]))


class MilestoneQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=("planned", "in_progress"))

    def overdue(self, *, today: datetime.date | None = None):
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def due_on(self, day: datetime.date):
        return self.open().filter(due_date=day)


class PayRecordQuerySet(models.QuerySet):
    def in_month(self, month: datetime.date):
        return self.filter(month=month.replace(day=1))

    def between(self, start: datetime.date, end: datetime.date):
        """Pay records of the months from ``start``'s to ``end``'s (both included)."""
        return self.filter(month__gte=start.replace(day=1), month__lte=end.replace(day=1))

    def positions(self, *, start: datetime.date, end: datetime.date) -> list[dict]:
        """The personnel structure of a period, one row per position (role and employment kind), for the
        annual report: ``{"role", "kind", "people", "person_months", "weekly_hours", "gross_pay",
        "freelancer_invoices"}``. ``weekly_hours`` adds up the contracted hours of the distinct people;
        ``gross_pay`` and ``freelancer_invoices`` are the period's sums (never names)."""
        rows = (
            self.between(start, end)
            .order_by()
            .values("person__role", "person__kind")
            .annotate(
                people=Count("person", distinct=True),
                person_months=Count("pk"),
                gross_pay=Sum("gross_salary"),
                freelancer_invoices=Sum("freelancer_invoice"),
            )
        )
        hours: dict[tuple[str, str], Decimal] = {}
        people = (
            self.between(start, end)
            .order_by()
            .values_list("person__role", "person__kind", "person_id", "person__weekly_hours")
            .distinct()
        )
        for role, kind, _person, weekly_hours in people:
            hours[(role, kind)] = hours.get((role, kind), Decimal("0")) + Decimal(weekly_hours)
        result = [
            {
                "role": row["person__role"],
                "kind": row["person__kind"],
                "people": row["people"],
                "person_months": row["person_months"],
                "weekly_hours": hours.get((row["person__role"], row["person__kind"]), Decimal("0")),
                "gross_pay": Decimal(row["gross_pay"] or 0).quantize(CENT),
                "freelancer_invoices": Decimal(row["freelancer_invoices"] or 0).quantize(CENT),
            }
            for row in rows
        ]
        return sorted(result, key=lambda row: (row["kind"], row["role"].casefold()))


class AllocationQuerySet(models.QuerySet):
    def in_month(self, month: datetime.date):
        return self.filter(month=month.replace(day=1))
