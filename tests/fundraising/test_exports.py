"""Finance's spreadsheet exports of patron data stream whole files (related fields included)."""

import pytest

from tests.factories.fundraising import PatronageFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/admin/fundraising/payments/?export=csv", "/admin/fundraising/patronages/?export=csv"]
)
def test_the_csv_export_names_the_patron_by_pseudonym(finance_client, url):
    patronage = PatronageFactory()
    PaymentFactory(patronage=patronage)
    response = finance_client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert str(patronage.patron.pseudonym) in body
    assert patronage.patron.email not in body
