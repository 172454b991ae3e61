"""The jobs app's own task and the retry policy every project task gets."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import BaseTask, TransientError
from jobs import tasks
from jobs.checks import project_tasks
from jobs.services import heartbeat_last_seen

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.mark.usefixtures("no_heartbeat")
def test_heartbeat_notes_when_it_ran():
    before = timezone.now()

    tasks.heartbeat.delay()

    assert before <= heartbeat_last_seen() <= timezone.now()


@pytest.mark.usefixtures("no_heartbeat")
def test_heartbeat_twice_keeps_the_latest_time():
    tasks.heartbeat.delay()
    first = heartbeat_last_seen()

    tasks.heartbeat.delay()

    assert heartbeat_last_seen() >= first


def test_beat_schedule_runs_the_heartbeat_task():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert tasks.heartbeat.name in scheduled


def test_every_project_task_retries_transient_errors_a_bounded_number_of_times():
    for task in project_tasks():
        assert isinstance(task, BaseTask), task.name
        assert task.max_retries is not None and task.max_retries <= 5, task.name
        assert TransientError in task.autoretry_for, task.name
        assert task.retry_backoff_max <= settings.CELERY_LONGEST_COUNTDOWN, task.name


def test_all_retries_of_the_base_task_end_well_within_the_longest_countdown():
    longest_total_wait = sum(
        min(BaseTask.retry_backoff * 2**retry, BaseTask.retry_backoff_max)
        for retry in range(BaseTask.max_retries)
    )

    assert longest_total_wait == 15 + 30 + 60 + 120 + 240
    assert timedelta(seconds=longest_total_wait) < timedelta(seconds=settings.CELERY_LONGEST_COUNTDOWN)
