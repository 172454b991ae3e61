"""Jobs on a real Celery worker (REDIS_URL set, CELERY_TASK_ALWAYS_EAGER=0, PostgreSQL).

Skipped elsewhere with the reason; tests/jobs/test_failures.py has the eager variants.
"""

import time

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from jobs import tasks, testing_tasks
from jobs.models import FailedTask
from jobs.services import heartbeat_last_seen
from tests.jobs.celery_worker import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def group_exists(name):
    return Group.objects.filter(name=name).exists()


def test_job_sent_after_commit_runs_on_the_worker(unique_name):
    with transaction.atomic():
        testing_tasks.ensure_group.delay_on_commit(unique_name)

    wait_for(lambda: group_exists(unique_name))


def test_job_sent_in_a_transaction_that_rolls_back_never_reaches_the_worker(unique_name):
    with pytest.raises(RuntimeError), transaction.atomic():
        testing_tasks.ensure_group.delay_on_commit(f"{unique_name}-rolled-back")
        raise RuntimeError("the payment was declined")
    # The worker takes jobs in order: once this later one has run, the first would have run too.
    testing_tasks.ensure_group.delay_on_commit(unique_name)

    wait_for(lambda: group_exists(unique_name))
    assert not group_exists(f"{unique_name}-rolled-back")


def test_job_that_keeps_failing_is_retried_a_bounded_number_of_times_then_recorded_once(unique_name):
    testing_tasks.always_fail.delay_on_commit(unique_name)

    failed_task = wait_for(
        lambda: FailedTask.objects.filter(task_name=testing_tasks.always_fail.name).first()
    )
    time.sleep(3)  # longer than the test task's waits between retries: no further attempt comes

    assert cache.get(unique_name) == 3  # the first attempt and max_retries=2 retries
    assert FailedTask.objects.count() == 1
    failed_task.refresh_from_db()
    assert failed_task.args == [unique_name]
    assert failed_task.retries == 2
    assert failed_task.exception_class == "config.celery.TransientError"
    assert "raise TransientError" in failed_task.traceback


def test_job_that_succeeds_on_a_retry_is_not_recorded(unique_name):
    testing_tasks.fail_once.delay_on_commit(unique_name)

    wait_for(lambda: cache.get(unique_name) == 2)
    testing_tasks.ensure_group.delay_on_commit(unique_name)  # runs after the retry has finished
    wait_for(lambda: group_exists(unique_name))

    assert not FailedTask.objects.exists()


@pytest.mark.usefixtures("no_heartbeat")
def test_heartbeat_runs_on_the_worker():
    before = timezone.now()

    tasks.heartbeat.delay_on_commit()

    wait_for(lambda: (heartbeat_last_seen() or before) > before)


def test_retry_button_sends_the_job_to_the_worker(staff_client, failed_job, unique_name):
    response = staff_client.post(reverse("failed-jobs:retry", args=[failed_job.pk]))

    assert response.status_code == 302
    wait_for(lambda: group_exists(unique_name))
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.RETRIED
