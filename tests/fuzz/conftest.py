"""Property-based tests of the edges (issue 8.3): the webhook, the pay CSV import, the bank statement import
and the forms. Any input gets a clear refusal or a correct result, never a 500 or a partial write.

Hypothesis runs many examples inside ONE pytest test, so pytest's per-test database rollback does not
separate them. Each example therefore runs inside ``rolled_back()``: a savepoint that is always rolled back
at its end, so every example starts from the state the test's fixtures made, and what one example wrote
cannot hide or cause a problem in the next. (Function-scoped fixtures run once per test, not per example;
the health check that warns about that is switched off for that reason.)

Profiles: ``ci`` (the default) is derandomised and keeps no example database, so every run tries the same
inputs and the folder stays well under 90 s on SQLite; ``HYPOTHESIS_PROFILE=deep`` tries many more, random
inputs for a longer local run. See docs/fuzzing.md.
"""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=40, derandomize=True, database=None, **_COMMON)
settings.register_profile("deep", max_examples=1000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "deep"):
    raise pytest.UsageError(f"HYPOTHESIS_PROFILE must be ci or deep, not {PROFILE!r}")


def fuzz_settings(max_examples: int):
    """The profile's settings for one test; ``max_examples`` is the ``ci`` count (``deep`` tries 25 times
    as many). Applied per test so that loading this folder changes no other test's settings."""
    profile = settings.get_profile(PROFILE)
    if PROFILE == "deep":
        max_examples *= 25
    return settings(profile, max_examples=max_examples)


class _RollBack(Exception):
    """Raised at the end of an example to roll its savepoint back."""


@contextlib.contextmanager
def rolled_back():
    """Run one example in a savepoint that is rolled back afterwards (also when the example passes)."""
    from django.db import transaction

    try:
        with transaction.atomic():
            yield
            raise _RollBack
    except _RollBack:
        pass


def ledger_problems() -> list[str]:
    """What is wrong with the books: a transaction with fewer than two postings or not summing to zero.

    Summed here in Decimal: SQLite's SUM() of a decimal column is a float (0.1 + 0.2 ...)."""
    from collections import defaultdict

    from ledger.models import Posting, Transaction

    totals: dict[int, Decimal] = defaultdict(Decimal)
    lines: dict[int, int] = defaultdict(int)
    for transaction_id, amount in Posting.objects.values_list("transaction_id", "amount"):
        totals[transaction_id] += amount
        lines[transaction_id] += 1
    return [
        f"{key}: {lines[pk]} postings summing to {totals[pk]}"
        for pk, key in Transaction.objects.values_list("pk", "idempotency_key")
        if lines[pk] < 2 or totals[pk] != 0
    ]


def row_counts(*models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in this process, also in the run that has a real worker (nothing here needs it)."""
    request.getfixturevalue("eager_tasks")
    yield
