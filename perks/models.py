"""Perks and who is entitled to them.

A perk (custom emoji, patron-only updates, or a manual perk with a fulfilment checklist) is attached to
tiers with ``PerkTier``. An ``Entitlement`` is one patronage's right to one perk; its state is derived
from the patronage (``perks.services.entitlements_sync``), never set by hand, and every change is kept in
``EntitlementChange`` (when, from what to what, why, which process). Being named on the supporters wall
is not a perk (DOMAIN.md 2): every patron may opt into it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable


class Perk(ClusterableModel):
    class Kind(models.TextChoices):
        EMOJI = "emoji", _("Custom emoji")
        UPDATES = "updates", _("Patron-only updates")
        MANUAL = "manual", _("Manual perk (fulfilled by staff)")

    name = models.CharField(_("name (English)"), max_length=100)
    name_de = models.CharField(_("name (German)"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description (English)"), blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    checklist = models.TextField(
        _("fulfilment checklist"),
        blank=True,
        help_text=_("Manual perks: one step per line, e.g. “Ask for the T-shirt size”, “Ship the parcel”."),
    )
    active = models.BooleanField(_("active"), default=True)

    panels = [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("name"), FieldPanel("name_de")]),
                FieldPanel("kind"),
                FieldPanel("active"),
            ],
            heading=_("Perk"),
        ),
        FieldPanel("description"),
        FieldPanel("description_de"),
        FieldPanel("checklist"),
        InlinePanel("tiers", label=_("Tiers that include this perk")),
    ]

    class Meta:
        verbose_name = _("perk")
        verbose_name_plural = _("perks")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return self.name_de if get_language() == "de" and self.name_de else self.name

    @property
    def checklist_steps(self) -> list[str]:
        return [line.strip() for line in self.checklist.splitlines() if line.strip()]


class PerkTier(Orderable):
    perk = ParentalKey(Perk, on_delete=models.CASCADE, related_name="tiers")
    tier = models.ForeignKey(
        "fundraising.Tier", verbose_name=_("tier"), on_delete=models.CASCADE, related_name="perk_links"
    )
    emoji_allowance = models.PositiveSmallIntegerField(
        _("emoji allowed"),
        default=1,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_("Custom emoji perks: how many emoji a patron of this tier may have."),
    )

    panels = [FieldRowPanel([FieldPanel("tier"), FieldPanel("emoji_allowance")])]

    class Meta(Orderable.Meta):
        constraints = [models.UniqueConstraint(fields=["perk", "tier"], name="perks_unique_perk_tier")]

    def __str__(self):
        return f"{self.perk} · {self.tier}"


class EntitlementQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state=Entitlement.State.ACTIVE)

    def of_kind(self, kind: str):
        return self.filter(perk__kind=kind)

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(patron__user=user)


class Entitlement(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended (payment missing)")
        ENDED = "ended", _("ended")

    patron = models.ForeignKey("fundraising.Patron", on_delete=models.CASCADE, related_name="entitlements")
    patronage = models.ForeignKey(
        "fundraising.Patronage", on_delete=models.CASCADE, related_name="entitlements"
    )
    perk = models.ForeignKey(Perk, on_delete=models.PROTECT, related_name="entitlements")
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    emoji_allowance = models.PositiveSmallIntegerField(_("emoji allowed"), default=0)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    changed_at = models.DateTimeField(_("last change"), default=timezone.now)
    checklist_done = models.JSONField(_("checklist steps done"), default=list, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        constraints = [
            models.UniqueConstraint(fields=["patronage", "perk"], name="perks_one_entitlement_per_perk")
        ]
        indexes = [models.Index(fields=["state", "perk"], name="perks_entitlement_state")]

    def __str__(self):
        return f"{self.perk} for {self.patron} ({self.state})"


class EntitlementChange(models.Model):
    """The audit trail: every grant, suspension, return and end, with the reason and the process."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="changes")
    from_state = models.CharField(_("from"), max_length=10, blank=True)
    to_state = models.CharField(_("to"), max_length=10)
    reason = models.CharField(_("reason"), max_length=255)
    source = models.CharField(_("by"), max_length=30, help_text=_("webhook, periodic task, staff"))
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("entitlement change")
        verbose_name_plural = _("entitlement changes")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_state or '–'} → {self.to_state}: {self.reason}"


shortcode_validator = RegexValidator(
    r"^[A-Za-z0-9_]{2,}$",
    _("Use at least 2 characters: letters, digits and underscores only (like Mastodon does)."),
)


def emoji_upload_to(instance, filename: str) -> str:
    return f"emoji/{instance.shortcode}-{secrets.token_hex(4)}.{instance.image_format}"


class Emoji(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn by the patron")

    patron = models.ForeignKey("fundraising.Patron", on_delete=models.CASCADE, related_name="emoji")
    shortcode = models.CharField(_("shortcode"), max_length=60, validators=[shortcode_validator])
    image = models.FileField(_("image"), upload_to=emoji_upload_to)
    image_format = models.CharField(_("format"), max_length=4, choices=[("png", "PNG"), ("gif", "GIF")])
    width = models.PositiveSmallIntegerField(default=0)
    height = models.PositiveSmallIntegerField(default=0)
    frames = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason for rejection"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    created = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("custom emoji")
        verbose_name_plural = _("custom emoji")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                Lower("shortcode"),
                condition=Q(status__in=["pending", "approved"]),
                name="perks_emoji_shortcode_unique_ci",
                violation_error_message=_("This shortcode is already taken."),
            )
        ]

    def __str__(self):
        return f":{self.shortcode}:"


class FeedToken(models.Model):
    """The secret in a patron's private Atom feed URL; revoking makes a new one."""

    patron = models.OneToOneField("fundraising.Patron", on_delete=models.CASCADE, related_name="feed_token")
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("feed token")
        verbose_name_plural = _("feed tokens")

    def __str__(self):
        return f"feed token of {self.patron}"
