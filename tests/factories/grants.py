"""Grants test data. Postings are made through ``grants.services`` (the books follow)."""

import datetime
from decimal import Decimal

import factory

from grants.models import Bill, Funder, Grant, Milestone, PayRecord, Person


class FunderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Funder

    name = factory.Sequence(lambda n: f"NLnet Foundation {n}")
    kind = Funder.Kind.FOUNDATION
    country = "NL"


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    title = factory.Sequence(lambda n: f"Federated moderation tools {n}")
    funder = factory.SubFactory(FunderFactory)
    reference = factory.Sequence(lambda n: f"2026-02-{n:03d}")
    code = factory.Sequence(lambda n: f"NGI0-{n}")
    awarded_amount = Decimal("50000.00")
    start_date = datetime.date(2026, 1, 1)
    end_date = datetime.date(2026, 12, 31)
    purpose = "Moderation tools for small servers."
    state = Grant.State.ACTIVE


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    grant = factory.SubFactory(GrantFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Milestone {n + 1}")
    due_date = datetime.date(2026, 6, 30)
    amount = Decimal("10000.00")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Developer {n}")
    role = "Backend developer"
    kind = Person.Kind.EMPLOYEE
    start_date = datetime.date(2024, 1, 1)


class PayRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayRecord

    person = factory.SubFactory(PersonFactory)
    month = datetime.date(2026, 3, 1)
    gross_salary = Decimal("5000.00")
    employer_social_costs = Decimal("1050.00")


class BillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bill

    supplier = "Hetzner Online GmbH"
    number = factory.Sequence(lambda n: f"R{n:07d}")
    bill_date = datetime.date(2026, 3, 5)
    description = "Dedicated servers, March"
    account_code = "expense-hosting"
    cost_centre = factory.LazyFunction(
        lambda: __import__("ledger.models", fromlist=["CostCentre"]).CostCentre.objects.get(code="CORE")
    )
    net_amount = Decimal("840.00")
    voucher = factory.django.FileField(filename="invoice.pdf", data=b"%PDF-1.4 voucher")
