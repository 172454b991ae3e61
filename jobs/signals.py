"""Celery's `task_failure` signal, the one hook Celery fires for every job that fails for good.

It fires once a task has failed after its last retry (retries fire `task_retry` instead), for errors
that are not retried at all, for hard time limits and for a worker lost after the last retry; in eager
mode too. The receiver only hands the failure to `failed_task_record`.
"""

from __future__ import annotations

import logging
import traceback as traceback_module

from celery.utils.serialization import UnpickleableExceptionWrapper

from .services import failed_task_record

logger = logging.getLogger(__name__)


def record_failed_task(
    sender=None, task_id=None, exception=None, args=None, kwargs=None, traceback=None, einfo=None, **extra
):
    task_name = getattr(sender, "name", None) or "unknown"
    try:
        request = getattr(sender, "request", None)
        failed_task_record(
            task_name=task_name,
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            exception_class=_exception_class(exception),
            message=_message(exception),
            traceback=_traceback_text(exception, einfo),
            retries=getattr(request, "retries", 0) or 0,
        )
    except Exception:
        # Never let the bookkeeping hide the task's own failure, which Celery logs anyway.
        logger.exception("Could not record the failure of task %s[%s]", task_name, task_id)


def _exception_class(exception) -> str:
    if isinstance(exception, UnpickleableExceptionWrapper):
        return f"{exception.exc_module}.{exception.exc_cls_name}"
    exception_type = type(exception)
    if exception_type.__module__ == "builtins":
        return exception_type.__qualname__
    return f"{exception_type.__module__}.{exception_type.__qualname__}"


def _message(exception) -> str:
    if isinstance(exception, UnpickleableExceptionWrapper):
        return exception.text
    return str(exception)


def _traceback_text(exception, einfo) -> str:
    if einfo is not None and getattr(einfo, "traceback", None):
        return einfo.traceback
    if isinstance(exception, BaseException):
        return "".join(traceback_module.format_exception(exception))
    return ""
