"""Dispute a charge in the payment sandbox: charge.dispute.created, then charge.dispute.closed."""

from django.core.management.base import BaseCommand, CommandError

from payments import sandbox
from payments.errors import PaymentError
from payments.gateway import sandbox_enabled


class Command(BaseCommand):
    help = "Open a dispute on a sandbox charge and close it as lost or won. Sandbox only."

    def add_arguments(self, parser):
        parser.add_argument("charge_id")
        parser.add_argument("--outcome", choices=["lost", "won"], required=True)
        parser.add_argument(
            "--reason", default="fraudulent", help="Stripe's dispute reason (default: fraudulent)"
        )

    def handle(self, *args, charge_id, outcome, reason, **options):
        if not sandbox_enabled():
            raise CommandError("The payment sandbox is off (PAYMENTS_SANDBOX).")
        try:
            dispute = sandbox.dispute_create(charge_id=charge_id, outcome=outcome, reason=reason)
        except PaymentError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Dispute {dispute['id']} on {charge_id}: {dispute['status']}."))
