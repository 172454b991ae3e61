"""What the payment edge stores: every webhook event as received, and every write call's idempotency key."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventQuerySet(models.QuerySet):
    def unprocessed(self):
        return self.filter(processed_at__isnull=True)

    def stale(self, *, older_than: timezone.timedelta):
        """Stored but not processed for a while: the task was lost (Redis down, worker killed)."""
        return self.unprocessed().filter(received_at__lt=timezone.now() - older_than)


class WebhookEvent(models.Model):
    """One Stripe event, stored raw before anything else happens; unique on Stripe's event id."""

    stripe_id = models.CharField(_("Stripe event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    created = models.DateTimeField(_("created at Stripe"))
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    source = models.CharField(
        _("source"), max_length=20, default="webhook", help_text=_("webhook, reconcile or sandbox")
    )

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-created"]
        indexes = [
            models.Index(
                fields=["received_at"], name="payments_unprocessed_idx", condition=models.Q(processed_at=None)
            )
        ]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"


class StripeRequest(models.Model):
    """A write call to Stripe, saved with its idempotency key BEFORE the call is made.

    A retry after a crash sends the same key, so Stripe answers with the first result instead of
    doing it twice. ``result_id`` is filled once the call returns.
    """

    idempotency_key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=100)
    created = models.DateTimeField(default=timezone.now)
    completed = models.DateTimeField(null=True, blank=True)
    result_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("Stripe request")
        verbose_name_plural = _("Stripe requests")

    def __str__(self):
        return f"{self.operation} {self.idempotency_key}"


class SandboxObject(models.Model):
    """One object of the local sandbox that stands in for Stripe (payments.sandbox), as Stripe's JSON.

    Keyed by a Stripe-like id (cus_, cs_, sub_, in_, inpay_, pi_, ch_, txn_, re_, dp_, po_, evt_ ...),
    so the sandbox survives restarts and works across processes. ``private`` holds what Stripe would
    never show (the test card number, portal tokens); ``data`` is exactly what the API would return.
    Never used when payments go to Stripe.
    """

    stripe_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=60, db_index=True, help_text="Stripe's object type, e.g. invoice")
    data = models.JSONField()
    private = models.JSONField(default=dict, blank=True)
    stored = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sandbox object")
        verbose_name_plural = _("sandbox objects")
        ordering = ["pk"]

    def __str__(self):
        return self.stripe_id
