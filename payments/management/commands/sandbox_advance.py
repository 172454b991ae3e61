"""Move the payment sandbox's clock forward: renewals, failed renewals, retries, period-end cancellations and
the bank's answers to pending SEPA Direct Debits."""

from django.core.management.base import BaseCommand, CommandError

from payments import sandbox
from payments.gateway import sandbox_enabled
from payments.normalise import timestamp


class Command(BaseCommand):
    help = (
        "Move the payment sandbox's clock forward N days and renew every subscription whose period ends by "
        "then and answer the SEPA Direct Debits that fall due (as Stripe would), emitting the same signed "
        "events through the webhook. Sandbox only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=float, required=True, help="how many days to move the clock forward"
        )
        parser.add_argument(
            "--fail",
            action="append",
            default=[],
            metavar="CUSTOMER_OR_SUBSCRIPTION_ID",
            help="make the renewals of this customer or subscription fail (repeatable)",
        )

    def handle(self, *args, days, fail, **options):
        if not sandbox_enabled():
            raise CommandError(
                "The payment sandbox is off (PAYMENTS_SANDBOX): this command only moves its clock."
            )
        if days <= 0:
            raise CommandError("--days must be positive: the clock only moves forward.")
        happenings = sandbox.clock_advance(days=days, fail=fail)
        for happening in happenings:
            self.stdout.write(
                f"{timestamp(happening.moment):%Y-%m-%d %H:%M} "
                f"{happening.subscription_id or happening.checkout_session_id}: {happening.what}"
                + (f" (invoice {happening.invoice_id})" if happening.invoice_id else "")
            )
        now = timestamp(sandbox.clock_now())
        self.stdout.write(
            self.style.SUCCESS(
                f"Sandbox clock now {now:%Y-%m-%d %H:%M} UTC; "
                f"{len(happenings)} renewals, endings and SEPA debits answered."
            )
        )
