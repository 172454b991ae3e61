"""Refund a charge in the payment sandbox (emits charge.refunded, as Stripe would)."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from payments import sandbox
from payments.errors import PaymentError
from payments.gateway import sandbox_enabled


class Command(BaseCommand):
    help = "Refund a sandbox charge in full, or --amount X in the charge's currency. Sandbox only."

    def add_arguments(self, parser):
        parser.add_argument("charge_id")
        parser.add_argument(
            "--amount", help="amount in major units (e.g. 2.50); the rest of the charge if left out"
        )

    def handle(self, *args, charge_id, amount, **options):
        if not sandbox_enabled():
            raise CommandError("The payment sandbox is off (PAYMENTS_SANDBOX).")
        try:
            value = Decimal(amount) if amount else None
        except InvalidOperation:
            raise CommandError(f"Not an amount: {amount!r}") from None
        try:
            refund = sandbox.refund_create(charge_id=charge_id, amount=value)
        except PaymentError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Refund {refund['id']} of {refund['amount']} {refund['currency']} minor units."
            )
        )
