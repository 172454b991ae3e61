"""System checks: no job waits longer than the broker keeps a message invisible, and none retries forever.

With Redis as broker, a message a worker has taken but not yet acknowledged (acks_late, or one waiting
for its countdown) goes back to the queue after `visibility_timeout` seconds, and a second worker runs
it. So every countdown a task uses, including the waits between retries, must stay below
`CELERY_LONGEST_COUNTDOWN`, and the visibility timeout must be longer than that.
"""

from __future__ import annotations

from celery import Task
from django.conf import settings
from django.core.checks import Error

from config.celery import app as celery_app


def project_tasks() -> list[Task]:
    """Every registered task except Celery's own, after importing every app's tasks module."""
    celery_app.autodiscover_tasks(force=True)
    return [task for name, task in sorted(celery_app.tasks.items()) if not name.startswith("celery.")]


def check_countdowns(app_configs=None, **kwargs) -> list[Error]:
    longest = getattr(settings, "CELERY_LONGEST_COUNTDOWN", None)
    if longest is None:
        return [
            Error(
                "CELERY_LONGEST_COUNTDOWN is not set.",
                hint="Set it to the longest countdown (seconds) any task uses.",
                id="jobs.E001",
            )
        ]
    errors = []
    transport_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    visibility_timeout = transport_options.get("visibility_timeout")
    if visibility_timeout is None or visibility_timeout <= longest:
        errors.append(
            Error(
                f"The broker's visibility timeout ({visibility_timeout}) must be longer than "
                f"CELERY_LONGEST_COUNTDOWN ({longest}), or a delayed job runs twice.",
                hint='Set CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] above CELERY_LONGEST_COUNTDOWN.',
                id="jobs.E002",
            )
        )
    for task in project_tasks():
        if task.max_retries is None:
            errors.append(
                Error(
                    f"Task {task.name} retries forever (max_retries is None).",
                    hint="Give it a number of retries; a job that keeps failing is shown to staff instead.",
                    obj=task.name,
                    id="jobs.E003",
                )
            )
        waits = {"retry_backoff_max": task.retry_backoff_max, "default_retry_delay": task.default_retry_delay}
        for attribute, seconds in waits.items():
            if seconds is not None and seconds > longest:
                errors.append(
                    Error(
                        f"Task {task.name} waits up to {seconds} seconds between retries ({attribute}), "
                        f"longer than CELERY_LONGEST_COUNTDOWN ({longest}).",
                        hint=f"Lower {attribute} or raise CELERY_LONGEST_COUNTDOWN (and the visibility timeout).",
                        obj=task.name,
                        id="jobs.E004",
                    )
                )
    return errors
