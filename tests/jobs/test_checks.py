"""System checks: no job waits longer than the broker's visibility timeout, none retries forever."""

import pytest
from celery import shared_task

from config.celery import app as celery_app
from jobs.checks import check_countdowns


def error_ids(errors):
    return sorted({error.id for error in errors})


def test_project_settings_and_tasks_pass_the_checks():
    assert check_countdowns() == []


@pytest.mark.parametrize("visibility_timeout", [60 * 60, 60 * 60 * 6])
def test_visibility_timeout_not_longer_than_the_longest_countdown_is_an_error(settings, visibility_timeout):
    settings.CELERY_LONGEST_COUNTDOWN = 60 * 60 * 6
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": visibility_timeout}

    assert error_ids(check_countdowns()) == ["jobs.E002"]


def test_missing_visibility_timeout_is_an_error(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    assert error_ids(check_countdowns()) == ["jobs.E002"]


def test_task_whose_retries_wait_longer_than_the_longest_countdown_is_an_error(settings):
    settings.CELERY_LONGEST_COUNTDOWN = 5 * 60  # the base task waits up to 10 minutes between retries
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10 * 60}

    errors = check_countdowns()

    assert error_ids(errors) == ["jobs.E004"]
    assert "jobs.tasks.heartbeat" in {error.obj for error in errors}


@pytest.fixture
def task_that_retries_forever():
    @shared_task(name="jobs.tests.retries_forever", max_retries=None)
    def retries_forever():
        pass

    celery_app.tasks  # noqa: B018  (finalize the app so the shared task is registered)
    yield retries_forever
    celery_app.tasks.unregister("jobs.tests.retries_forever")


def test_task_that_retries_forever_is_an_error(task_that_retries_forever):
    errors = check_countdowns()

    assert [(error.id, error.obj) for error in errors] == [("jobs.E003", "jobs.tests.retries_forever")]
