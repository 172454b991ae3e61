"""Tasks for the test suite only; the real worker of the tests loads them with `-I jobs.testing_tasks`.

The module is not named tasks.py, so it is not discovered and production workers never know these tasks.
"""

from celery import shared_task
from django.core.cache import cache

from config.celery import TransientError


@shared_task
def ensure_group(name: str) -> None:
    """Create the user group of this name unless it exists: a visible, idempotent database effect."""
    from django.contrib.auth.models import Group

    Group.objects.get_or_create(name=name)


@shared_task(max_retries=2, retry_backoff=1, retry_backoff_max=1, retry_jitter=False)
def always_fail(attempts_key: str) -> None:
    """Count the attempt in the cache under attempts_key, then fail with a transient error."""
    cache.add(attempts_key, 0, timeout=60 * 60)
    cache.incr(attempts_key)
    raise TransientError(f"The test service is down (attempt counted under {attempts_key}).")


@shared_task
def fail_at_once(message: str) -> None:
    """Fail with an error that is not transient, so it is not retried."""
    raise ValueError(message)


@shared_task(max_retries=2, retry_backoff=1, retry_backoff_max=1, retry_jitter=False)
def fail_once(attempts_key: str) -> None:
    """Fail with a transient error on the first attempt only, counting attempts under attempts_key."""
    first_attempt = cache.add(attempts_key, 0, timeout=60 * 60)
    cache.incr(attempts_key)
    if first_attempt:
        raise TransientError("The test service is down for a moment.")
