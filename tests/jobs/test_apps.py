"""Without a worker, start-up says once that background jobs run in-process."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import apps

WARNING = "Background jobs run in-process (no REDIS_URL set): fine for development, not for production."
BASE_DIR = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def fresh_process(monkeypatch):
    """As if this process had not warned yet."""
    monkeypatch.setattr(apps, "_in_process_warning_given", False)


def test_in_process_warning_is_logged_once_per_process(fresh_process, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.REDIS_URL = ""

    with caplog.at_level(logging.WARNING, logger="jobs"):
        apps.warn_once_if_jobs_run_in_process()
        apps.warn_once_if_jobs_run_in_process()

    assert [record.getMessage() for record in caplog.records] == [WARNING]


def test_no_warning_when_a_worker_runs_the_jobs(fresh_process, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    with caplog.at_level(logging.WARNING, logger="jobs"):
        apps.warn_once_if_jobs_run_in_process()

    assert caplog.records == []


def test_start_up_without_redis_prints_the_warning_once_and_passes_the_checks():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "DATABASE_URL"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"

    finished = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    assert "System check identified no issues" in finished.stdout
    warnings = [line for line in finished.stderr.splitlines() if "in-process" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(WARNING)
