"""Reusable reads of grants, as QuerySet methods."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


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


class AllocationQuerySet(models.QuerySet):
    def in_month(self, month: datetime.date):
        return self.filter(month=month.replace(day=1))
