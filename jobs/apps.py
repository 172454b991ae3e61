import logging
import os
import sys

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

_in_process_warning_given = False


def in_process_warning() -> str:
    reason = "CELERY_TASK_ALWAYS_EAGER is on" if getattr(settings, "REDIS_URL", "") else "no REDIS_URL set"
    return f"Background jobs run in-process ({reason}): fine for development, not for production."


def warn_once_if_jobs_run_in_process() -> bool:
    """Log one line when Celery runs tasks eagerly, at most once per process. True if it was logged."""
    global _in_process_warning_given
    if _in_process_warning_given or not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return False
    _in_process_warning_given = True
    logger.warning(in_process_warning())
    return True


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        from celery.signals import task_failure
        from django.core import checks

        from .checks import check_countdowns
        from .signals import record_failed_task

        task_failure.connect(record_failed_task, weak=False, dispatch_uid="jobs.record_failed_task")
        checks.register(check_countdowns)
        # The test suite runs eagerly on purpose; everywhere else, say so once at start-up.
        # runserver's autoreloader starts a parent that only watches files (RUN_MAIN unset) and a child
        # that serves (RUN_MAIN=true): only the child says it.
        autoreloader_parent = "runserver" in sys.argv and os.environ.get("RUN_MAIN") != "true"
        if "pytest" not in sys.modules and not autoreloader_parent:
            warn_once_if_jobs_run_in_process()
