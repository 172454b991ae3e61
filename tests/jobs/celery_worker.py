"""A real Celery worker for the test suite, as a separate process on the pytest-django test database.

Use the `celery_worker` fixture in tests marked `@pytest.mark.django_db(transaction=True)` (the worker
only sees committed rows). It runs when REDIS_URL is set and CELERY_TASK_ALWAYS_EAGER=0 on PostgreSQL,
and skips with the reason otherwise (SQLite and eager runs use the eager variants of those tests).

Each test session gets its own queue (and worker name), so parallel runs and pytest-xdist workers
sharing one Redis database do not take each other's messages. The worker also loads
`jobs.testing_tasks`, the test-only tasks.

`eager_tasks` runs tasks in-process for one test, also in the run that has a real worker.

To use them outside tests/jobs, make this module a plugin in tests/conftest.py:

    pytest_plugins = ["tests.jobs.celery_worker"]

One worker is started per session however many conftest modules import the fixture. Once it runs,
every task this test process sends goes to the worker's queue.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60
STOP_TIMEOUT = 30


def wait_for(condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.2) -> object:
    """Call condition until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            worker_log = f"\nThe worker's log ends:\n{_worker.log_text()}" if _worker else ""
            pytest.fail(f"Still waiting after {timeout} seconds for {condition}.{worker_log}")
        time.sleep(interval)


def reason_to_skip_real_worker() -> str | None:
    from django.conf import settings
    from django.db import connection

    if not settings.REDIS_URL:
        return (
            "needs a real Celery worker: REDIS_URL is not set, so tasks run eagerly (the eager variant runs)"
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "needs a real Celery worker: CELERY_TASK_ALWAYS_EAGER is on (the eager variant runs)"
    if connection.vendor != "postgresql":
        return "needs a real Celery worker on PostgreSQL: it cannot share the in-memory SQLite test database"
    return None


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL (as django-environ reads it) for the database these connection settings describe."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class CeleryWorker:
    """One `celery worker` process on its own queue, pointed at the test database."""

    def __init__(self, *, database_settings: dict):
        self.queue = f"jobs-test-{uuid.uuid4().hex[:12]}"
        self.hostname = f"{self.queue}@{socket.gethostname()}"
        self.database_settings = database_settings
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self._previous_routes = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=warning",
            f"--queues={self.queue}",
            f"--hostname={self.hostname}",
            "--include=jobs.testing_tasks",
            "--without-gossip",
            "--without-mingle",
        ]

    def start(self) -> None:
        from config.celery import app

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(self.database_settings),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(  # noqa: S603
            self.command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        # Everything this test process sends goes to the worker's own queue.
        self._previous_routes = app.conf.task_routes
        app.conf.task_routes = {"*": {"queue": self.queue}}
        app.amqp.flush_routes()
        deadline = time.monotonic() + START_TIMEOUT
        while not app.control.ping(destination=[self.hostname], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The Celery worker did not start:\n{self.log_text()}")

    def stop(self) -> None:
        from config.celery import app

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        app.conf.task_routes = self._previous_routes
        app.amqp.flush_routes()
        with app.connection_for_write() as connection:
            queue = app.amqp.queues[self.queue](connection.default_channel)
            queue.declare()
            queue.purge()
            queue.delete()

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]


_worker: CeleryWorker | None = None


@pytest.fixture
def eager_tasks():
    """Run tasks in this process for this test, also in the run that has a real worker."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> CeleryWorker:
    """A running Celery worker process that uses the test database (stopped when the session ends)."""
    global _worker
    reason = reason_to_skip_real_worker()
    if reason:
        pytest.skip(reason)
    if _worker is None:
        from django.db import connection

        worker = CeleryWorker(database_settings=dict(connection.settings_dict))
        worker.start()
        _worker = worker
    yield _worker
    if _worker is not None:
        _worker.stop()
        _worker = None
