"""Demo reports: every closed demo month published with a commentary in English and German, the last
month a draft for the finance login to review and publish (the month close of issue 7).

Runs after the ledger's seeder has closed the demo months (ORDER 110 > 100). Idempotent: a month that
already has a report is left as it is.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.utils import timezone

from ledger.demo import window
from ledger.models import ClosedMonth

from .figures import month_figures
from .models import MonthlyReport, ReportEvent

ORDER = 110

MONTH_NAMES_DE = [
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
]  # fmt: skip

TOPICS = [
    (
        "We shipped a release with better moderation tools and fixed a long list of bugs reported by "
        "server admins.",
        "Wir haben eine Version mit besseren Moderationswerkzeugen veröffentlicht und viele Fehler behoben, "
        "die Server-Admins gemeldet hatten.",
    ),
    (
        "Most of the month went into the grant-funded work on federation and the new search.",
        "Den größten Teil des Monats haben wir in die geförderte Arbeit an der Föderation und der neuen "
        "Suche gesteckt.",
    ),
    (
        "Our hosting costs moved with the traffic of a busy month; the servers kept up.",
        "Unsere Hosting-Kosten sind mit dem Verkehr eines vollen Monats gestiegen; die Server haben "
        "mitgehalten.",
    ),
    (
        "We welcomed new patrons after the conference talk and thank everyone who renewed.",
        "Nach dem Konferenzvortrag sind neue Unterstützerinnen und Unterstützer dazugekommen; danke an alle, "
        "die verlängert haben.",
    ),
    (
        "A milestone report went to our funder this month; the payment follows in the next months.",
        "Diesen Monat ging ein Meilenstein-Bericht an unseren Förderer; die Zahlung folgt in den nächsten "
        "Monaten.",
    ),
]


def _euros_en(amount) -> str:
    return f"€{amount:,.2f}"


def _euros_de(amount) -> str:
    return f"{amount:,.2f} €".replace(",", " ").replace(".", ",").replace(" ", ".")


def _commentary(month: datetime.date, rng: random.Random) -> tuple[str, str]:
    figures = month_figures(month)
    topic_en, topic_de = rng.choice(TOPICS)
    result = figures.result
    if result >= 0:
        outcome_en = (
            f"We spent {_euros_en(figures.spending_total)} and kept {_euros_en(result)} as a reserve."
        )
        outcome_de = (
            f"Wir haben {_euros_de(figures.spending_total)} ausgegeben und {_euros_de(result)} "
            "für die Rücklage behalten."
        )
    else:
        outcome_en = f"We spent {_euros_en(figures.spending_total)}, {_euros_en(-result)} more than came in."
        outcome_de = (
            f"Wir haben {_euros_de(figures.spending_total)} ausgegeben, {_euros_de(-result)} mehr als "
            "eingenommen."
        )
    english = f"<p>In {month:%B %Y} you gave us {_euros_en(figures.income_total)}. {outcome_en}</p><p>{topic_en}</p>"
    german = (
        f"<p>Im {MONTH_NAMES_DE[month.month - 1]} {month.year} haben Sie uns "
        f"{_euros_de(figures.income_total)} gegeben. {outcome_de}</p><p>{topic_de}</p>"
    )
    return english, german


def seed(*, rng: random.Random, today: datetime.date, real_kinds, log: Callable[[str], None]) -> None:
    finance = get_user_model().objects.filter(email="finance@example.org").first()
    closed = set(ClosedMonth.objects.values_list("month", flat=True))
    made = 0
    for month in window(today):
        if MonthlyReport.objects.filter(month=month).exists():
            continue
        english, german = _commentary(month, rng)
        drafted = timezone.make_aware(
            datetime.datetime.combine(month, datetime.time(3))
        ) + datetime.timedelta(days=32)
        drafted = drafted.replace(day=1)
        report = MonthlyReport.objects.create(month=month, drafted_at=drafted)
        ReportEvent.objects.create(report=report, action=ReportEvent.Action.DRAFTED, at=drafted)
        if month in closed:
            published = drafted + datetime.timedelta(days=rng.randint(3, 9), hours=rng.randint(6, 10))
            MonthlyReport.objects.filter(pk=report.pk).update(
                commentary_en=english,
                commentary_de=german,
                status=MonthlyReport.Status.PUBLISHED,
                published_at=published,
                first_published_at=published,
                published_by=finance,
            )
            ReportEvent.objects.create(
                report=report,
                action=ReportEvent.Action.PUBLISHED,
                at=published,
                by=finance,
                by_name=finance.get_username() if finance else "",
            )
        made += 1
    drafts = MonthlyReport.objects.drafts().count()
    log(
        f"reports demo: {made} new reports; {MonthlyReport.objects.published().count()} published, {drafts} draft"
    )
