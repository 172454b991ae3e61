"""A change of what the annual report shows (a consent, a name) invalidates the cached report pages; a patron's
ordinary updates do not."""

import pytest

from reports import cache
from tests.factories.fundraising import PatronFactory
from tests.factories.sponsors import SponsorFactory

pytestmark = pytest.mark.django_db


def test_a_sponsors_consent_change_invalidates_the_report_cache():
    sponsor = SponsorFactory()
    before = cache.version()

    sponsor.consent_annual_report = not sponsor.consent_annual_report
    sponsor.save()

    assert cache.version() != before


def test_a_patrons_consent_change_invalidates_the_cache_but_other_updates_do_not():
    patron = PatronFactory()
    before = cache.version()

    patron.save()  # e.g. a new Stripe customer id, a language change
    assert cache.version() == before

    patron.annual_report_consent = True
    patron.save()
    assert cache.version() != before
