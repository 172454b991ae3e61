"""Private servers for the resilience suite, on free loopback ports, always cleaned up.

- ``RedisServer``: a ``redis-server`` without persistence (``--save "" --appendonly no``) that a test
  may stop and start again; everything queued in it is lost when it stops, as with a crashed Redis.
- ``PostgresServer``: a throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) in a temporary folder,
  which a test may restart. ``initdb`` refuses to run as root, so as root every PostgreSQL binary runs
  as the ``postgres`` OS user (``runuser -u postgres``) in a folder that user owns.
- ``CeleryWorkerProcess``: a real ``celery worker`` (solo pool) on a broker and queue of the test's
  choosing and the pytest database, started through this module (``python -m
  tests.resilience.servers worker ...``) so a test can shorten the broker's visibility timeout or slow
  down receipt numbering in the worker process only (see ``_worker_main``).
- ``WebServer``: gunicorn with 2 workers serving the project on a database of the test's choosing.
- ``broker_for_this_process``: points this test process's Celery app at a private broker and back.

Nothing here touches the shared PostgreSQL (5432) or Redis (6379) servers except to read the pytest
database with ``pg_dump``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60
STOP_TIMEOUT = 20

# Environment variables read by the worker launcher at the bottom of this module.
VISIBILITY_TIMEOUT_ENV = "RESILIENCE_VISIBILITY_TIMEOUT"
SLOW_RECEIPT_ENV = "RESILIENCE_SLOW_RECEIPT_FOLDER"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1):
    """Call condition until it returns something truthy; raise TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"Still waiting after {timeout} seconds for {what}.")
        time.sleep(interval)


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, logs: Callable[[], str] = str):
    """Call condition until it returns something truthy; fail the test (with logs) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Still waiting after {timeout} seconds for {what}.\n{logs()}")
        time.sleep(0.2)


def http_post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float = 30
) -> tuple[int | None, str]:
    """POST over real HTTP; (status, body), or (None, error) when no HTTP answer came back."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return None, f"{type(error).__name__}: {error}"


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _end_process(process: subprocess.Popen | None, *, timeout: float = STOP_TIMEOUT) -> None:
    """Terminate a child process we started (SIGKILL if it does not stop in time)."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _tail(path: Path, characters: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-characters:]
    except OSError:
        return ""


# --- Redis --------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free port; ``stop()`` and ``start()`` again keep the port."""

    def __init__(self):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="resilience-redis-"))
        self.log = self.folder / "redis.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self.ping, timeout=START_TIMEOUT, what=f"redis-server on port {self.port}")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"redis-server did not start:\n{_tail(self.log)}") from None

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        _end_process(self.process)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl live (Debian keeps them out of PATH)."""
    try:
        found = subprocess.run(
            [shutil.which("pg_config") or "pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(found) / "initdb").exists():
            return Path(found)
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    raise FileNotFoundError("initdb not found (install PostgreSQL's server binaries)")


def reason_postgres_server_unavailable() -> str | None:
    try:
        postgres_bindir()
    except FileNotFoundError as error:
        return str(error)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "initdb refuses to run as root and there is no postgres OS user to run it as"
        if not shutil.which("runuser"):
            return "initdb refuses to run as root and runuser is missing"
    return None


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free port (trust authentication, loopback only)."""

    def __init__(self):
        self.port = free_port()
        self.bindir = postgres_bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="resilience-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # the cluster's files belong to the postgres OS user
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            os.chmod(self.folder, 0o700)

    def _run(self, *command: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"
        )
        self._pg_ctl("start")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        try:
            self._run(
                "pg_ctl",
                action,
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                *extra,
            )
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"pg_ctl {action} failed: {error.stderr}\n{_tail(self.log)}") from None

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: open transactions are rolled back, clients are disconnected."""
        self._pg_ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def copy_database(self, *, source_settings: dict, name: str) -> None:
        """Copy a database of another server (schema and rows) into a new database ``name`` here."""
        self.create_database(name)
        with tempfile.TemporaryFile() as dump_errors:
            dump = subprocess.Popen(
                [
                    str(self.bindir / "pg_dump"),
                    "--no-owner",
                    "--no-privileges",
                    "-h",
                    source_settings.get("HOST") or "127.0.0.1",
                    "-p",
                    str(source_settings.get("PORT") or 5432),
                    "-U",
                    source_settings.get("USER") or "postgres",
                    source_settings["NAME"],
                ],
                stdout=subprocess.PIPE,
                stderr=dump_errors,
                env={**os.environ, "PGPASSWORD": source_settings.get("PASSWORD") or ""},
            )
            load = subprocess.run(
                [
                    str(self.bindir / "psql"),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-d",
                    name,
                ],
                stdin=dump.stdout,
                capture_output=True,
                text=True,
                timeout=120,
            )
            dump.stdout.close()
            dump.wait(timeout=120)
            dump_errors.seek(0)
            if dump.returncode or load.returncode:
                raise RuntimeError(
                    f"Copying the database failed:\n{dump_errors.read().decode()}\n{load.stderr}"
                )

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# --- Celery -------------------------------------------------------------------------------------


def database_url(settings_dict: dict) -> str:
    from tests.jobs.celery_worker import database_url as url

    return url(settings_dict)


class CeleryWorkerProcess:
    """One real worker (solo pool) on ``broker_url``, its own queue, and the given database.

    Unlike the session worker of ``tests/jobs/celery_worker.py`` it can be killed and replaced during a
    test. ``extra_env`` reaches the launcher below (visibility timeout, slow receipt numbers).
    """

    def __init__(
        self, *, broker_url: str, queue: str, database_settings: dict, extra_env: dict | None = None
    ):
        self.broker_url = broker_url
        self.queue = queue
        self.hostname = f"{queue}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.database_settings = database_settings
        self.extra_env = extra_env or {}
        self.folder = Path(tempfile.mkdtemp(prefix="resilience-worker-"))
        self.log = self.folder / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from config.celery import app

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(self.database_settings),
            # The private Redis is this worker's broker and cache, as one Redis is in production.
            "REDIS_URL": self.broker_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "MEDIA_ROOT": str(self.folder / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.folder / "private"),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.resilience.servers",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    "--loglevel=info",
                    f"--queues={self.queue}",
                    f"--hostname={self.hostname}",
                    "--include=jobs.testing_tasks",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not app.control.ping(destination=[self.hostname], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The Celery worker did not start:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to finish, acknowledge or give anything back."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        _end_process(self.process)

    def log_text(self) -> str:
        return _tail(self.log, 6000)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> CeleryWorkerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@contextlib.contextmanager
def broker_for_this_process(*, broker_url: str, queue: str) -> Iterator[None]:
    """Send this process's tasks to ``queue`` on ``broker_url`` (not eagerly), then put things back."""
    from config.celery import app

    def reset_connections() -> None:
        from kombu import pools

        # kombu keeps connection and producer pools in process-wide registries: a pool closed here but
        # left registered answers the next test's tasks with "Acquire on closed pool".
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    def reset_routes() -> None:
        app.amqp.flush_routes()
        # The router is built once and keeps the routing table it was built with.
        app.amqp.__dict__.pop("router", None)

    previous = (app.conf.broker_url, app.conf.task_routes, app.conf.task_always_eager)
    reset_connections()
    app.conf.broker_url = broker_url
    app.conf.task_routes = {"*": {"queue": queue}}
    app.conf.task_always_eager = False
    reset_routes()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            reset_connections()
        app.conf.broker_url, app.conf.task_routes, app.conf.task_always_eager = previous
        reset_routes()


# --- Web ----------------------------------------------------------------------------------------


class WebServer:
    """gunicorn with 2 sync workers serving the project on ``database_url``, tasks in-process."""

    def __init__(self, *, database_url: str):
        self.port = free_port()
        self.database_url = database_url
        self.folder = Path(tempfile.mkdtemp(prefix="resilience-web-"))
        self.log = self.folder / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.database_url,
            # Persistent connections, as in production (config/settings/production.py).
            "CONN_MAX_AGE": "60",
            "REDIS_URL": "",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "MEDIA_ROOT": str(self.folder / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.folder / "private"),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(
                lambda: self.process.poll() is not None or _port_open(self.port),
                timeout=START_TIMEOUT,
                what=f"gunicorn on port {self.port}",
            )
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn did not start:\n{_tail(self.log)}")

    def stop(self) -> None:
        _end_process(self.process)

    def log_text(self) -> str:
        return _tail(self.log)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# --- The worker launcher ------------------------------------------------------------------------


def _slow_receipt_numbers(folder: Path) -> None:
    """Fault injection for the worker process only: the first receipt number drawn while
    ``folder/armed`` exists is written to ``folder/drawn`` and the worker then sleeps inside the
    issuing transaction, so a test can SIGKILL it in the middle of making a receipt."""
    from fundraising import receipts

    draw = receipts.document_number_next

    def slow_draw(*, series: str, year: int) -> str:
        number = draw(series=series, year=year)
        armed = folder / "armed"
        if armed.exists():
            armed.unlink()
            (folder / "drawn").write_text(str(number))
            time.sleep(300)
        return number

    receipts.document_number_next = slow_draw


def _worker_main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from config.celery import app

    visibility_timeout = os.environ.get(VISIBILITY_TIMEOUT_ENV)
    if visibility_timeout:
        # A dead worker's message comes back after this many seconds instead of hours.
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "visibility_timeout": float(visibility_timeout),
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    # Tasks that tasks send (a receipt's PDF) go to this worker's own queue, like the test's.
    queues = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--queues=")]
    if queues:
        app.conf.task_routes = {"*": {"queue": queues[0]}}
    slow_folder = os.environ.get(SLOW_RECEIPT_ENV)
    if slow_folder:
        _slow_receipt_numbers(Path(slow_folder))
    app.worker_main(argv)


if __name__ == "__main__":
    _worker_main(sys.argv[1:])
