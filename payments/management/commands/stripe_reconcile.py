"""`manage.py stripe_reconcile --days N`: fetch Stripe's events of the last N days and process any we missed.

Stripe keeps events for 30 days, so N is 1 to 30. Events we already hold are left alone (and processed if
they were stored but never processed); the rest are stored and processed as if the webhook had arrived.
The same runs daily from Celery beat (``payments.tasks.reconcile_events``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from payments import services
from payments.errors import PaymentError
from payments.gateway import PaymentsNotConfigured

MAX_DAYS = 30


class Command(BaseCommand):
    help = (
        "List Stripe's events of the last N days (at most 30) and store and process any that never arrived."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=3, help=f"How many days back, 1 to {MAX_DAYS} (default 3)."
        )

    def handle(self, *args, days, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(
                f"--days must be from 1 to {MAX_DAYS} (Stripe keeps events for {MAX_DAYS} days), not {days}."
            )
        try:
            seen, missing = services.events_reconcile(days=days)
        except (PaymentsNotConfigured, PaymentError) as error:
            raise CommandError(f"Could not list Stripe's events: {error}") from None
        self.stdout.write(f"{seen} events at Stripe, {missing} were missing and are now processed")
