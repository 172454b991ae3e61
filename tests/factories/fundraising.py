import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from fundraising.models import Interval, Kind, Patron, Patronage, Payment, Tier


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tier-{n}")
    name = factory.Sequence(lambda n: f"Tier {n}")
    name_de = factory.LazyAttribute(lambda o: f"{o.name} (de)")
    description = "Supports the work."
    kind = Kind.PERK
    monthly_amount = Decimal("5.00")
    yearly_amount = Decimal("50.00")
    live = True
    active = True

    class Params:
        donation = factory.Trait(kind=Kind.DONATION)


class PatronFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patron

    email = factory.Sequence(lambda n: f"patron{n}@example.org")
    name = factory.Sequence(lambda n: f"Patron {n}")
    address_line1 = "Musterstraße 1"
    postal_code = "10115"
    city = "Berlin"
    country = "DE"
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n:08d}")


class PatronageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patronage

    patron = factory.SubFactory(PatronFactory)
    tier = factory.SubFactory(TierFactory)
    kind = factory.LazyAttribute(lambda o: o.tier.kind if o.tier else Kind.DONATION)
    amount = factory.LazyAttribute(lambda o: o.tier.monthly_amount if o.tier else Decimal("10.00"))
    currency = "eur"
    interval = Interval.MONTH
    status = Patronage.Status.ACTIVE
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n:08d}")
    current_period_end = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=20))


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment record only (no ledger posting): use fundraising.services.payment_record for the books."""

    class Meta:
        model = Payment

    patronage = factory.SubFactory(PatronageFactory)
    patron = factory.SelfAttribute("patronage.patron")
    kind = factory.SelfAttribute("patronage.kind")
    stripe_charge_id = factory.Sequence(lambda n: f"ch_test{n:010d}")
    payment_intent_id = factory.Sequence(lambda n: f"pi_test{n:010d}")
    number = factory.Sequence(lambda n: f"ZP-2026-{n:05d}")
    amount = factory.SelfAttribute("patronage.amount")
    currency = "eur"
    amount_eur = factory.SelfAttribute("amount")
    fee_eur = Decimal("0.40")
    net_eur = factory.LazyAttribute(lambda o: o.amount_eur - o.fee_eur)
    paid_at = factory.LazyFunction(timezone.now)
