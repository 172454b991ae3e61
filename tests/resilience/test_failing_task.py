"""Scenario 5: a task that always fails stops after its retry limit and staff see it.

``jobs.testing_tasks.always_fail`` raises a transient error on every attempt and counts the attempts in
the cache; it is the project's ``BaseTask`` (retries with backoff, then a ``jobs.FailedTask`` through the
``task_failure`` signal) with its limits lowered in its decorator (``max_retries=2``, one second between
attempts) so the test takes seconds. It runs on the real worker of the test session. Finance finds it
under Failed jobs in the admin.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from jobs import testing_tasks
from jobs.models import FailedTask

from .servers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_task_that_always_fails_stops_after_its_retry_limit_and_finance_sees_it(
    celery_worker, finance_client
):
    attempts_key = f"resilience-always-fail-{uuid.uuid4().hex[:12]}"
    task = testing_tasks.always_fail

    result = task.delay(attempts_key)
    failed = wait_for(
        lambda: FailedTask.objects.filter(task_id=result.id).first(),
        timeout=60,
        what="the job to fail for good",
        logs=celery_worker.log_text,
    )
    time.sleep(3)  # three times the wait between attempts: no further attempt comes

    assert cache.get(attempts_key) == task.max_retries + 1 == 3
    assert FailedTask.objects.filter(task_name=task.name).count() == 1
    assert failed.retries == task.max_retries
    assert failed.state == FailedTask.State.FAILED
    assert failed.exception_class == "config.celery.TransientError"

    listing = finance_client.get("/admin/failed-jobs/")
    assert listing.status_code == 200
    assert task.name in listing.text
    assert reverse("failed-jobs:inspect", args=[failed.pk]) in listing.text
    inspect = finance_client.get(reverse("failed-jobs:inspect", args=[failed.pk]))
    assert inspect.status_code == 200
    assert attempts_key in inspect.text  # the arguments, to retry it with
