"""Fixtures for background-job tests: eager tasks on demand, failed jobs, staff clients, a real worker."""

from __future__ import annotations

import uuid

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Permission

from jobs.models import FailedTask
from jobs.services import failed_task_record
from tests.factories.accounts import UserFactory
from tests.jobs.celery_worker import celery_worker, eager_tasks  # noqa: F401

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def no_heartbeat():
    """No heartbeat recorded before the test, and the test's own one removed afterwards."""
    from django.core.cache import cache

    from jobs.services import HEARTBEAT_CACHE_KEY

    cache.delete(HEARTBEAT_CACHE_KEY)
    yield
    cache.delete(HEARTBEAT_CACHE_KEY)


@pytest.fixture
def unique_name():
    return f"jobs-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def failed_job(db, unique_name) -> FailedTask:
    """A failed job of a task that will succeed when retried: it creates the group `unique_name`."""
    from jobs import testing_tasks

    return failed_task_record(
        task_name=testing_tasks.ensure_group.name,
        task_id=f"failed-{unique_name}",
        args=[unique_name],
        kwargs={},
        exception_class="ConnectionError",
        message="The database went away.",
        traceback="Traceback (most recent call last):\n  ...\nConnectionError: The database went away.",
        retries=5,
    )


def _staff_user(*permission_codenames: str, superuser: bool = False):
    user = UserFactory(is_superuser=superuser, is_staff=superuser)
    for codename in permission_codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    TOTP.activate(user, TOTP_SECRET)  # staff pages need MFA set up
    return user


@pytest.fixture
def staff_user(db):
    """A superuser who has set up MFA."""
    return _staff_user(superuser=True)


@pytest.fixture
def staff_client(client, staff_user):
    """A client logged in as a superuser who has set up MFA."""
    client.user = staff_user
    client.force_login(client.user)
    return client


@pytest.fixture
def viewer_client(client, db):
    """A client logged in as staff who may look at failed jobs but not retry or dismiss them."""
    client.user = _staff_user("wagtailadmin.access_admin", "jobs.view_failedtask")
    client.force_login(client.user)
    return client


@pytest.fixture
def admin_without_jobs_client(client, db):
    """A client logged in as staff with access to the Wagtail admin but no permission on failed jobs."""
    client.user = _staff_user("wagtailadmin.access_admin")
    client.force_login(client.user)
    return client
