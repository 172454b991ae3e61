"""Scenario 6: 300 checkout attempts from one address within minutes (card testing, a broken script).

Each attempt comes without cookies, so only the per-address limit (``CHECKOUT_LIMIT_PER_IP`` an hour)
can stop it. The first attempts go to Stripe (here the payments sandbox, the project's stand-in for
Stripe); after the limit every attempt is refused with the same friendly page, without asking Stripe
and without recording anything: ``fundraising.services.checkout_start`` checks the limit before it
records the attempt. A patron from another address is not affected. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from fundraising.models import CheckoutAttempt
from payments.models import SandboxObject
from tests.factories.fundraising import TierFactory

pytestmark = pytest.mark.django_db

ATTEMPTS = 300
FLOODER = "203.0.113.66"
PATRON = "198.51.100.7"
URL = "/support/checkout/flood-supporter/"
REFUSAL = "We could not start the payment. Please try again later."


@pytest.fixture
def tier():
    return TierFactory(slug="flood-supporter", monthly_amount=Decimal("5.00"), yearly_amount=Decimal("50.00"))


def flood(attempts: int = ATTEMPTS) -> list:
    return [Client().post(URL, {"interval": "month"}, REMOTE_ADDR=FLOODER) for _ in range(attempts)]


def test_flood_from_one_address_is_refused_after_the_limit_and_a_patron_elsewhere_gets_through(tier):
    limit = settings.CHECKOUT_LIMIT_PER_IP
    assert limit < ATTEMPTS

    responses = flood()

    assert [r.status_code for r in responses[:limit]] == [303] * limit
    assert all(r["Location"].startswith("/sandbox/checkout/cs_") for r in responses[:limit])
    refused = responses[limit:]
    assert all(r.status_code == 429 and REFUSAL in r.content.decode() for r in refused)
    assert CheckoutAttempt.objects.count() == limit, "refused attempts record nothing"
    assert SandboxObject.objects.filter(kind="checkout.session").count() == limit, "nor reach Stripe"

    patron = Client().post(URL, {"interval": "month"}, REMOTE_ADDR=PATRON)

    assert patron.status_code == 303
    assert patron["Location"].startswith("/sandbox/checkout/cs_")
    assert CheckoutAttempt.objects.count() == limit + 1


def test_checkout_refused_by_the_rate_limit_is_answered_429_with_the_friendly_page(tier):
    limit = settings.CHECKOUT_LIMIT_PER_IP

    refused = flood(limit + 3)[limit:]

    assert {r.status_code for r in refused} == {429}
    assert all(REFUSAL in r.content.decode() for r in refused)
