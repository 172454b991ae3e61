"""The reports' demo: every closed demo month published with a commentary in both languages, the last month a
draft for the finance login to publish; once however often it runs."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from accounts import demo as accounts_demo
from ledger import demo as ledger_demo
from ledger.models import ClosedMonth
from reports import demo
from reports.models import MonthlyReport

pytestmark = pytest.mark.django_db


def seed(messages):
    today = timezone.localdate()
    for module in (accounts_demo, ledger_demo, demo):
        module.seed(
            rng=random.Random(f"2026:{module.__name__}"),
            today=today,
            real_kinds=frozenset(),
            log=messages.append,
        )


def test_closed_months_are_published_with_commentary_and_the_last_month_is_a_draft(client):
    messages = []
    seed(messages)

    months = ledger_demo.window(timezone.localdate())
    published = MonthlyReport.objects.published().order_by("month")
    assert (
        [r.month for r in published]
        == months[:-1]
        == sorted(ClosedMonth.objects.values_list("month", flat=True))
    )
    assert all(
        r.commentary_en.startswith("<p>In ") and r.commentary_de.startswith("<p>Im ") for r in published
    )
    assert all(r.published_by and r.published_by.email == "finance@example.org" for r in published)
    draft = MonthlyReport.objects.get(status=MonthlyReport.Status.DRAFT)
    assert draft.month == months[-1]

    last = published.last()
    assert client.get(f"/reports/{last.month:%Y/%m}/").status_code == 200
    assert client.get(f"/reports/{draft.month:%Y/%m}/").status_code == 404

    seed(messages)
    assert MonthlyReport.objects.count() == len(months)
    assert "0 new reports" in messages[-1]
