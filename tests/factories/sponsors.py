"""Sponsors test data. Invoices are made through ``sponsors.services.invoice_issue`` (the books follow);
use ``SponsorshipFactory(status=...)`` only for a record without postings."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from sponsors.models import Package, Sponsor, SponsorContact, Sponsorship


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"package-{n}")
    name = factory.Sequence(lambda n: f"Package {n}")
    name_de = factory.LazyAttribute(lambda o: f"{o.name} (de)")
    description = "Your logo on our site."
    price = Decimal("6000.00")
    price_period = Package.PricePeriod.YEAR
    duration_months = 12
    on_home_page = True
    on_sponsors_page = True
    in_footer = False
    logo_size = Package.LogoSize.LARGE
    links_to_sponsor = True
    rank = 2
    live = True

    class Params:
        passive = factory.Trait(
            links_to_sponsor=False, slug="bronze", name="Bronze", rank=4, price=Decimal("1200.00")
        )


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsor

    legal_name = factory.Sequence(lambda n: f"Example Hosting {n} GmbH")
    display_name = factory.Sequence(lambda n: f"Example Hosting {n}")
    website = factory.Sequence(lambda n: f"https://hosting{n}.example.com/")
    street = "Friedrichstraße 123"
    postcode = "10117"
    city = "Berlin"
    country = "DE"
    vat_id = "DE136695976"
    billing_email = factory.Sequence(lambda n: f"billing{n}@hosting.example.com")
    consent_annual_report = True

    class Params:
        # VAT ids with valid check digits (python-stdnum's own examples).
        french = factory.Trait(
            country="FR", vat_id="FR40303265045", city="Paris", postcode="75002", street="1 rue de la Paix"
        )
        american = factory.Trait(
            country="US", vat_id="", city="Portland", postcode="97201", street="1 Main St"
        )


class SponsorContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SponsorContact

    sponsor = factory.SubFactory(SponsorFactory)
    name = "Alex Beispiel"
    email = factory.Sequence(lambda n: f"contact{n}@hosting.example.com")


class SponsorshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsorship

    sponsor = factory.SubFactory(SponsorFactory)
    package = factory.SubFactory(PackageFactory)
    status = Sponsorship.Status.DRAFT
    start_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=1))
    end_date = factory.LazyAttribute(lambda o: o.package.period_end(o.start_date))
    net_amount = factory.LazyAttribute(lambda o: o.package.period_net())
