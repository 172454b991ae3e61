"""Reusable reads of sponsors, as QuerySet methods (``Sponsorship.objects.placed(on=day)``)."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


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
