"""Project-wide test set-up.

Browser tests (marker `browser`) need Chromium at CHROMIUM_PATH (default /usr/bin/chromium) and
PostgreSQL-only tests (marker `postgres`) need DATABASE_URL to point at PostgreSQL. Where either is
missing they are skipped, and the run ends with a loud summary saying how many and why.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.core.cache import cache

# The real Celery worker (PostgreSQL + Redis runs) for any test that asks for `celery_worker`.
pytest_plugins = ["tests.jobs.celery_worker"]

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
_loud_skips: dict[str, int] = {}


def chromium_available() -> bool:
    return bool(shutil.which(CHROMIUM_PATH) or os.path.exists(CHROMIUM_PATH))


def using_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"live_server", "transactional_db"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config, items):
    # A transactional test empties the database when it ends. Serialized rollback puts back what the
    # migrations loaded (Wagtail's root page and locales, the chart of accounts, the role groups).
    for item in items:
        if _is_transactional(item):
            marker = item.get_closest_marker("django_db")
            kwargs = dict(marker.kwargs) if marker else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
    reasons = {
        "browser": None if chromium_available() else f"Chromium not found at {CHROMIUM_PATH}",
        "postgres": None if using_postgres() else "DATABASE_URL does not point at PostgreSQL",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"{marker} test skipped: {reason}"))
                _loud_skips[reason] = _loud_skips.get(reason, 0) + 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for reason, count in _loud_skips.items():
        terminalreporter.write_sep("!", f"SKIPPED {count} tests: {reason}", red=True, bold=True)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_shared_state():
    """Every test starts without kept public pages and without a webhook drain said to be on its way: the
    database is rolled back between tests, but the cache (and this process's copies in cms/page_cache.py)
    would otherwise remember the last test's."""
    from cms import page_cache
    from payments import services

    page_cache.reset_process_state()
    page_cache.bump()
    cache.delete_many([services.DRAIN_REQUESTED_KEY, services.DRAIN_LOCK_KEY])
    yield


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request under /de/ leaves German active in this thread; the next test starts in English again."""
    yield
    from django.utils import translation

    translation.activate("en")


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def make_user(db, password):
    from accounts.services import user_grant_role
    from tests.factories.accounts import UserFactory

    def make(*role_names, mfa=False, **fields):
        user = UserFactory(**fields)
        user.set_password(password)
        user.save()
        for role_name in role_names:
            user_grant_role(user=user, role_name=role_name)
        if mfa:
            from allauth.mfa.totp.internal.auth import TOTP

            TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        return user

    return make


@pytest.fixture
def finance_client(client, make_user):
    """A client logged in as a finance user who has set up MFA."""
    user = make_user("patron", "finance", mfa=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def editor_client(client, make_user):
    user = make_user("patron", "editor", mfa=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Keep the serialized migration data on the connection class, not only on one connection object.

    Playwright's sync API runs an event loop in the test thread, and Django's connection handler then
    hands later tests a fresh connection object without `_test_serialized_contents`; their serialized
    rollback would silently restore nothing (no chart of accounts, no Wagtail root page).
    """
    from django.db import connections

    for connection in connections.all():
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents
    yield


@pytest.fixture(autouse=True)
def _sequences_follow_restored_rows(request):
    """After a serialized rollback on PostgreSQL, move every id sequence past the restored rows.

    Django restores the rows with their ids but leaves the sequences where the last flush put them, so
    the next insert could reuse an id that a restored row already has.
    """
    if not _is_transactional(request.node) or not using_postgres():
        yield
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    yield


@pytest.fixture
def fake_stripe(monkeypatch):
    """Stripe's API faked at the payments/ edge: the look-ups event processing makes."""
    from tests.factories.stripe import FakeStripe

    fake = FakeStripe()
    monkeypatch.setattr("payments.services.default_gateway", lambda: fake)
    return fake


@pytest.fixture
def organisation(db):
    """The seller on every invoice: a Berlin gGmbH with tax number, VAT id and bank account."""
    import datetime

    from django.utils import timezone
    from wagtail.models import Site

    from cms.models import OrganisationSettings

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
