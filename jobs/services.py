"""Workflows of background jobs: record a job that failed for good, retry or dismiss it; the heartbeat."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from celery import Task
from celery.utils import uuid
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app

from .models import FailedTask

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "jobs:heartbeat"


class UnknownTask(Exception):
    """No task of this name is registered any more (renamed or removed since it failed)."""


def failed_task_record(
    *,
    task_name: str,
    task_id: str,
    args: Any,
    kwargs: Any,
    exception_class: str,
    message: str,
    traceback: str,
    retries: int,
) -> FailedTask:
    """Record a job that failed for good. A second report of the same task id changes nothing."""
    with transaction.atomic():
        failed_task, _created = FailedTask.objects.get_or_create(
            task_id=task_id,
            defaults={
                "task_name": task_name,
                "args": _json_safe(list(args or [])),
                "kwargs": _json_safe(dict(kwargs or {})),
                "exception_class": exception_class[:255],
                "message": message,
                "traceback": traceback,
                "retries": retries,
            },
        )
    return failed_task


def failed_task_retry(*, failed_task: FailedTask, by) -> FailedTask:
    """Send the task again with the same arguments (under a new task id), once this change commits.

    Safe because every task is idempotent. If the message cannot be sent, the job is marked failed again
    and the error is raised.
    """
    task = registered_task(failed_task.task_name)
    with transaction.atomic():
        failed_task = FailedTask.objects.select_for_update().get(pk=failed_task.pk)
        retry_task_id = uuid()
        failed_task.mark_retried(by=by, retry_task_id=retry_task_id)
        failed_task.save(update_fields=["state", "retried_at", "retried_by", "retry_task_id"])
        pk, args, kwargs = failed_task.pk, failed_task.args, failed_task.kwargs

        def send() -> None:
            try:
                task.apply_async(args=args, kwargs=kwargs, task_id=retry_task_id)
            except Exception:
                FailedTask.objects.filter(pk=pk, retry_task_id=retry_task_id).update(
                    state=FailedTask.State.FAILED, retried_at=None, retried_by=None, retry_task_id=""
                )
                raise

        transaction.on_commit(send)
    return failed_task


def failed_task_dismiss(*, failed_task: FailedTask, by) -> FailedTask:
    """Mark a failed job as looked at and not to be retried."""
    with transaction.atomic():
        failed_task = FailedTask.objects.select_for_update().get(pk=failed_task.pk)
        failed_task.mark_dismissed(by=by)
        failed_task.save(update_fields=["state", "dismissed_at", "dismissed_by"])
    return failed_task


def registered_task(task_name: str) -> Task:
    """The task of this name, after importing every app's tasks module."""
    celery_app.autodiscover_tasks(force=True)
    try:
        return celery_app.tasks[task_name]
    except KeyError:
        raise UnknownTask(task_name) from None


def heartbeat_record() -> datetime:
    """Note that the periodic tasks run (the beat and a worker are alive). Running it twice is harmless."""
    now = timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, now.isoformat(), timeout=None)
    return now


def heartbeat_last_seen() -> datetime | None:
    value = cache.get(HEARTBEAT_CACHE_KEY)
    return datetime.fromisoformat(value) if value else None


def _json_safe(value: Any) -> Any:
    """The value itself if it can be stored as JSON, otherwise its parts, with repr() for the rest."""
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
    except (TypeError, ValueError):
        if isinstance(value, (list, tuple)):
            return [_json_safe(item) for item in value]
        if isinstance(value, dict):
            return {str(key): _json_safe(item) for key, item in value.items()}
        return repr(value)
    return value
