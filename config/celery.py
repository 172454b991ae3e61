"""The Celery application and the task class every project task is made from.

Tasks live in each app's tasks.py and are discovered automatically. They are thin and idempotent: each
calls one service and is safe to run twice. Call them with `task.delay_on_commit(...)` so they are
only sent once the database transaction that asked for them has committed (docs/jobs.md).
"""

import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


class TransientError(Exception):
    """A failure that should go away by itself (a service briefly down): raise it to retry the task."""


class BaseTask(DjangoTask):
    """Retries transient errors a bounded number of times with exponential backoff and jitter.

    Any other exception, or a transient one after the last retry, fails the task for good; the
    `task_failure` signal then records it as a `jobs.FailedTask` for staff (jobs/signals.py). A task
    may lower these numbers in its decorator; the `jobs` system checks refuse a backoff or retry delay
    longer than `CELERY_LONGEST_COUNTDOWN` and an unlimited number of retries.
    """

    autoretry_for = (TransientError, ConnectionError, TimeoutError, OperationalError, InterfaceError)
    max_retries = 5
    # Seconds before the first retry, doubled for each further one (15, 30, 60, 120, 240) and never
    # more than retry_backoff_max; with jitter each wait is a random time up to that figure.
    retry_backoff = 15
    retry_backoff_max = 10 * 60
    retry_jitter = True
    # Used by a task that calls self.retry() itself without a countdown.
    default_retry_delay = 60


app = Celery("patronage", task_cls=BaseTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
