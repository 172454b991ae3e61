"""A month's report: the draft finance reviews, its commentary, its publication, and what happened to it.

The figures are not stored here: they are read from the ledger (``reports.figures``). Publishing closes
the month in the ledger, which locks it, so a published report's figures cannot change until finance
re-opens it (recorded here and in ``ledger.MonthReopening``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.fields import RichTextField

COMMENTARY_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul"]


class MonthlyReportQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=MonthlyReport.Status.PUBLISHED)

    def drafts(self):
        return self.filter(status=MonthlyReport.Status.DRAFT)

    def in_year(self, year: int):
        return self.filter(month__year=year)

    def published_years(self) -> list[int]:
        return sorted(
            {month.year for month in self.published().values_list("month", flat=True)}, reverse=True
        )


class MonthlyReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    month = models.DateField(_("month"), unique=True, help_text=_("First day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    commentary_en = RichTextField(
        _("commentary (English)"),
        blank=True,
        features=COMMENTARY_FEATURES,
        help_text=_("What happened this month, in a few paragraphs; shown above the figures."),
    )
    commentary_de = RichTextField(
        _("commentary (German)"),
        blank=True,
        features=COMMENTARY_FEATURES,
        help_text=_("The same in German; the German page shows the English text if this is empty."),
    )
    drafted_at = models.DateTimeField(_("drafted at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    first_published_at = models.DateTimeField(
        _("first published at"), null=True, blank=True, help_text=_("The date the feed announces.")
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = MonthlyReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month"]
        permissions = [("publish_monthlyreport", _("Can publish and re-open monthly reports"))]

    def __str__(self):
        return f"{self.month:%Y-%m}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def period(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def last_day(self) -> datetime.date:
        return (self.month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)

    def commentary(self, language: str | None = None) -> str:
        """The commentary in ``language`` (the active one by default), English when there is no German."""
        language = (language or get_language() or "en")[:2]
        if language == "de" and self.commentary_de.strip():
            return self.commentary_de
        return self.commentary_en


class ReportEvent(models.Model):
    """What happened to a report: drafted, commentary edited, published, re-opened (with the reason)."""

    class Action(models.TextChoices):
        DRAFTED = "drafted", _("drafted")
        EDITED = "edited", _("commentary edited")
        PUBLISHED = "published", _("published")
        REOPENED = "reopened", _("re-opened")

    report = models.ForeignKey(
        MonthlyReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    by_name = models.CharField(_("by (name)"), max_length=150, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("report event")
        verbose_name_plural = _("report events")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.report} {self.action} {self.at:%Y-%m-%d %H:%M}"


class ThresholdAlert(models.Model):
    """An e-mail to finance that the taxable business's gross receipts passed a share of the §64(3) AO limit.

    One row per year and level (80 or 100 %), so each alert goes out once a year however often the
    monitor runs.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    level = models.PositiveSmallIntegerField(_("level (%)"))
    receipts = models.DecimalField(_("gross receipts (EUR)"), max_digits=14, decimal_places=2)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("§64 AO alert")
        verbose_name_plural = _("§64 AO alerts")
        ordering = ["-year", "-level"]
        constraints = [models.UniqueConstraint(fields=["year", "level"], name="reports_threshold_alert_once")]

    def __str__(self):
        return f"{self.year}: {self.level} %"
