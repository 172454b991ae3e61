import datetime

import pytest
from django.utils import timezone
from wagtail.models import Site

from cms.models import OrganisationSettings


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in this process here, also in the run that has a real worker, except in the tests that
    use the worker itself (``celery_worker``)."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    request.getfixturevalue("eager_tasks")
    yield


@pytest.fixture
def organisation(db):
    """The seller on every invoice: a Berlin gGmbH with tax number, VAT id and bank account."""
    organisation = OrganisationSettings.for_site(Site.objects.get(is_default_site=True))
    values = {
        "legal_name": "Fediverse Commons gGmbH",
        "short_name": "Fediverse Commons",
        "street": "Oranienstraße 183",
        "postcode": "10999",
        "city": "Berlin",
        "country": "DE",
        "email": "finance@commons.example.org",
        "tax_office": "Finanzamt für Körperschaften I Berlin",
        "tax_number": "27/123/45678",
        "vat_id": "DE136695976",
        "register_court": "Amtsgericht Charlottenburg",
        "register_number": "HRB 123456 B",
        "bank_account_holder": "Fediverse Commons gGmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
        "exemption_notice_date": timezone.localdate() - datetime.timedelta(days=400),
    }
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.save()
    return organisation
