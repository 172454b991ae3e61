"""`manage.py seed_demo`: realistic, deterministic, idempotent demo data, made by one seeder per app.

Each app may have a `demo` module with:
- `seed(*, rng, today, real_kinds, log)`: creates that app's demo data, idempotently;
- `ORDER` (int, lower runs first; default 100);
- `PROVIDES` (frozenset of ledger activity kinds such as "patrons" or "grants" that the app seeds for
  real through its own services). The ledger's seeder makes up entries only for kinds nobody provides,
  so nothing is counted twice.
"""

from __future__ import annotations

import datetime
import importlib
import random
import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError


def demo_modules():
    modules = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.demo":
                raise
            continue
        if hasattr(module, "seed"):
            modules.append((config.label, module))
    return sorted(modules, key=lambda item: getattr(item[1], "ORDER", 100))


class Command(BaseCommand):
    help = "Load realistic demo data (deterministic and idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="The day the demo data ends (YYYY-MM-DD; default: today).",
        )

    def handle(self, *args, seed, today, **options):
        today = today or datetime.date.today()
        modules = demo_modules()
        real_kinds = frozenset().union(*(getattr(module, "PROVIDES", frozenset()) for _, module in modules))
        started = time.monotonic()
        for label, module in modules:
            step_started = time.monotonic()
            rng = random.Random(f"{seed}:{label}")
            try:
                module.seed(rng=rng, today=today, real_kinds=real_kinds, log=self._log)
            except Exception as error:
                raise CommandError(f"Seeding {label} failed: {error}") from error
            self._log(f"seeded {label} in {time.monotonic() - step_started:.1f} s")
        self._log(f"demo data ready in {time.monotonic() - started:.1f} s")
        from accounts.demo import login_lines

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for line in login_lines():
            self.stdout.write(f"  {line}")

    def _log(self, message: str) -> None:
        self.stdout.write(f"  {message}")
