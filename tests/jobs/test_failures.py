"""A job that fails for good is recorded once, for staff to see; before that it is retried a bounded number of times."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from jobs import testing_tasks
from jobs.models import FailedTask

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.mark.django_db
def test_job_that_keeps_failing_is_retried_then_recorded_once(unique_name):
    result = testing_tasks.always_fail.apply(args=[unique_name], task_id=unique_name)

    assert result.failed()
    assert cache.get(unique_name) == 3  # the first attempt and max_retries=2 retries
    failed_task = FailedTask.objects.get()
    assert failed_task.task_id == unique_name
    assert failed_task.task_name == "jobs.testing_tasks.always_fail"
    assert failed_task.args == [unique_name]
    assert failed_task.kwargs == {}
    assert failed_task.retries == 2
    assert failed_task.exception_class == "config.celery.TransientError"
    assert failed_task.message == f"The test service is down (attempt counted under {unique_name})."
    assert "raise TransientError" in failed_task.traceback
    assert failed_task.state == FailedTask.State.FAILED


@pytest.mark.django_db
def test_job_with_an_error_that_is_not_transient_is_recorded_without_retries(unique_name):
    testing_tasks.fail_at_once.apply(args=["The tier has no price."], task_id=unique_name)

    failed_task = FailedTask.objects.get()
    assert (failed_task.exception_class, failed_task.message) == ("ValueError", "The tier has no price.")
    assert failed_task.retries == 0


@pytest.mark.django_db
def test_second_failure_report_for_the_same_task_id_adds_no_row(unique_name):
    testing_tasks.fail_at_once.apply(args=["first report"], task_id=unique_name)
    testing_tasks.fail_at_once.apply(args=["second report"], task_id=unique_name)

    failed_task = FailedTask.objects.get()
    assert failed_task.message == "first report"


@pytest.mark.django_db
def test_job_that_succeeds_on_a_retry_is_not_recorded(unique_name):
    result = testing_tasks.fail_once.apply(args=[unique_name])

    assert result.successful()
    assert cache.get(unique_name) == 2
    assert not FailedTask.objects.exists()


@pytest.mark.django_db
def test_arguments_that_are_not_json_are_kept_as_text(unique_name):
    testing_tasks.fail_at_once.apply(args=[object()], kwargs={}, task_id=unique_name)
    testing_tasks.fail_at_once.apply(args=[Decimal("12.50")], task_id=f"{unique_name}-2")

    by_id = {row.task_id: row for row in FailedTask.objects.all()}
    assert by_id[unique_name].args[0].startswith("<object object at ")
    assert by_id[f"{unique_name}-2"].args == ["12.50"]


@pytest.mark.django_db(transaction=True)
def test_job_sent_with_delay_on_commit_runs_after_the_commit(unique_name):
    from django.contrib.auth.models import Group

    with transaction.atomic():
        testing_tasks.ensure_group.delay_on_commit(unique_name)
        assert not Group.objects.filter(name=unique_name).exists()

    assert Group.objects.filter(name=unique_name).exists()


@pytest.mark.django_db(transaction=True)
def test_job_sent_in_a_transaction_that_rolls_back_never_runs(unique_name):
    from django.contrib.auth.models import Group

    with pytest.raises(RuntimeError), transaction.atomic():
        testing_tasks.ensure_group.delay_on_commit(unique_name)
        raise RuntimeError("the payment was declined")

    assert not Group.objects.filter(name=unique_name).exists()
    assert not FailedTask.objects.exists()
