"""Milestone and grant-end reminders: to the grant's owner and finance, 14 and 3 days ahead, once overdue,
60 days before the end; each exactly once however often the daily task runs."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import resolve
from django.utils import timezone

from grants import reminders, tasks
from grants.models import Grant, Milestone
from tests.factories.accounts import UserFactory
from tests.factories.grants import GrantFactory, MilestoneFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 10)
OWNER = "owner@commons.example.org"
FINANCE = "finance@commons.example.org"


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://commons.example.org"
    settings.FINANCE_ALERT_EMAIL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def finance(make_user):
    return make_user("finance", email=FINANCE)


@pytest.fixture
def grant(finance):
    return GrantFactory(
        title="Moderation tools for small servers",
        code="NGI0-2026-MOD",
        owner=UserFactory(email=OWNER),
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        state=Grant.State.ACTIVE,
    )


def milestone(grant, due: datetime.date, **fields) -> Milestone:
    return MilestoneFactory(
        grant=grant, due_date=due, title=fields.pop("title", "Shared blocklists"), **fields
    )


def admin_link(body: str) -> str:
    return next(line for line in body.splitlines() if line.startswith("https://"))


def run(on: datetime.date = TODAY) -> dict[str, int]:
    return reminders.grant_reminders_send(today=on)


def test_milestone_due_in_14_days_reminds_owner_and_finance_once(grant):
    due = milestone(grant, days(14), deliverables="Blocklist import and export")

    counts = run()
    again = run()

    assert counts["milestone_14_days"] == 1
    assert sum(again.values()) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted([OWNER, FINANCE])
    assert message.subject == f"Milestone due in 14 days: NGI0-2026-MOD M{due.position}: Shared blocklists"
    assert "due in 14 days" in message.body
    assert "Blocklist import and export" in message.body
    assert "€10,000.00" in message.body
    link = admin_link(message.body)
    assert link.startswith("https://commons.example.org/admin/")
    resolve(link.removeprefix("https://commons.example.org"))  # a real admin screen
    assert f"/{due.pk}/" in link  # the milestone's own
    due.refresh_from_db()
    assert due.reminder_14_sent_at is not None
    assert due.reminder_3_sent_at is None


def test_milestone_due_in_3_days_gets_only_the_3_day_reminder(grant):
    due = milestone(grant, days(3))

    counts = run()
    run()

    assert counts == {"milestone_14_days": 0, "milestone_3_days": 1, "milestone_overdue": 0, "grant_end": 0}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Milestone due in 3 days: ")
    due.refresh_from_db()
    assert due.reminder_14_sent_at is None
    assert due.reminder_3_sent_at is not None


def test_milestone_due_in_15_days_gets_nothing_yet(grant):
    milestone(grant, days(15))

    assert sum(run().values()) == 0
    assert mail.outbox == []


def test_overdue_milestone_is_reminded_once_from_the_day_after(grant):
    due = milestone(grant, TODAY)
    run()  # due today: the 3-day reminder
    mail.outbox.clear()

    later = [run(days(n)) for n in (1, 1, 2, 10)]

    assert [counts["milestone_overdue"] for counts in later] == [1, 0, 0, 0]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Milestone overdue by 1 day: ")
    assert "This is the only reminder" in mail.outbox[0].body
    due.refresh_from_db()
    assert due.overdue_reminder_sent_at is not None


def test_daily_runs_over_a_milestone_send_exactly_three_reminders_on_the_right_days(grant):
    milestone(grant, days(20))
    sent_on = {}

    for day in range(0, 30):
        for _run in range(2):  # twice a day
            before = len(mail.outbox)
            run(days(day))
            if len(mail.outbox) > before:
                sent_on[day] = mail.outbox[-1].subject.split(":")[0]

    assert sent_on == {
        6: "Milestone due in 14 days",
        17: "Milestone due in 3 days",
        21: "Milestone overdue by 1 day",
    }


def test_a_day_the_task_did_not_run_is_caught_up(grant):
    milestone(grant, days(10))  # the 14-day reminder's day has passed without a run

    counts = run()

    assert counts["milestone_14_days"] == 1
    assert mail.outbox[0].subject.startswith("Milestone due in 10 days: ")


@pytest.mark.parametrize("state", ["submitted", "accepted", "paid"])
def test_submitted_accepted_or_paid_milestones_get_no_reminders(grant, state):
    for offset in (14, 3, -1):
        milestone(grant, days(offset), state=state)

    assert sum(run().values()) == 0
    assert mail.outbox == []


def test_in_progress_milestones_are_reminded(grant):
    milestone(grant, days(3), state="in_progress")

    assert run()["milestone_3_days"] == 1


@pytest.mark.parametrize("state", ["closed", "rejected", "applied"])
def test_grants_that_are_not_awarded_or_active_get_no_reminders(grant, state):
    for offset in (14, 3, -1):
        milestone(grant, days(offset))
    Grant.objects.filter(pk=grant.pk).update(state=state, end_date=days(30))

    assert sum(run().values()) == 0
    assert mail.outbox == []


def test_awarded_grant_not_yet_started_is_reminded(grant):
    Grant.objects.filter(pk=grant.pk).update(state=Grant.State.AWARDED)
    milestone(grant, days(14))

    assert run()["milestone_14_days"] == 1


def test_grant_ending_in_60_days_reminds_owner_and_finance_once(grant):
    Grant.objects.filter(pk=grant.pk).update(end_date=days(60))
    milestone(grant, days(-5), title="Documentation")
    milestone(grant, days(50), title="Release 2.0", state="submitted")
    mail.outbox.clear()

    counts = [run()["grant_end"], run()["grant_end"], run(days(1))["grant_end"]]

    assert counts == [1, 0, 0]
    ending = [message for message in mail.outbox if message.subject.startswith("Grant ends")]
    assert len(ending) == 1
    assert ending[0].subject == "Grant ends in 60 days: Moderation tools for small servers"
    assert sorted(ending[0].to) == sorted([OWNER, FINANCE])
    assert "Documentation" in ending[0].body  # open, overdue
    assert "(overdue)" in ending[0].body
    assert "Release 2.0" not in ending[0].body  # submitted
    assert f"/{grant.pk}/" in admin_link(ending[0].body)
    grant.refresh_from_db()
    assert grant.end_reminder_sent_at is not None


def test_grant_ending_in_61_days_or_already_ended_gets_no_end_reminder(grant):
    Grant.objects.filter(pk=grant.pk).update(end_date=days(61))
    other = GrantFactory(
        code="STF-OLD", state=Grant.State.ACTIVE, start_date=days(-400), end_date=days(-1), owner=grant.owner
    )

    assert run()["grant_end"] == 0
    assert other.end_reminder_sent_at is None
    assert run(days(1))["grant_end"] == 1


def test_closed_grant_gets_no_end_reminder(grant):
    Grant.objects.filter(pk=grant.pk).update(end_date=days(30), state=Grant.State.CLOSED)

    assert run()["grant_end"] == 0


def test_finance_alert_address_replaces_the_finance_group(grant, settings):
    settings.FINANCE_ALERT_EMAIL = "books@commons.example.org"
    milestone(grant, days(3))

    run()

    assert sorted(mail.outbox[0].to) == sorted([OWNER, "books@commons.example.org"])


def test_without_an_owner_finance_alone_is_reminded(grant):
    Grant.objects.filter(pk=grant.pk).update(owner=None)
    milestone(grant, days(3))

    run()

    assert mail.outbox[0].to == [FINANCE]


def test_inactive_owner_is_left_out(grant):
    grant.owner.is_active = False
    grant.owner.save()
    milestone(grant, days(3))

    run()

    assert mail.outbox[0].to == [FINANCE]


def test_a_reminder_already_claimed_is_not_sent_again(grant):
    due = milestone(grant, days(3))
    Milestone.objects.filter(pk=due.pk).update(
        reminder_3_sent_at=datetime.datetime(2026, 6, 9, tzinfo=datetime.UTC)
    )

    assert run()["milestone_3_days"] == 0
    assert mail.outbox == []


def test_a_failed_send_leaves_the_reminder_for_the_next_run(grant, monkeypatch):
    due = milestone(grant, days(3))
    original = EmailBackend.send_messages

    def broken(self, messages):
        raise OSError("mail server down")

    monkeypatch.setattr(EmailBackend, "send_messages", broken)
    first = run()
    due.refresh_from_db()
    assert first["milestone_3_days"] == 0
    assert due.reminder_3_sent_at is None

    monkeypatch.setattr(EmailBackend, "send_messages", original)
    second = run()

    assert second["milestone_3_days"] == 1
    assert len(mail.outbox) == 1


def test_with_nobody_to_tell_nothing_is_claimed(grant, finance):
    Grant.objects.filter(pk=grant.pk).update(owner=None)
    finance.is_active = False
    finance.save()
    due = milestone(grant, days(3))

    assert run()["milestone_3_days"] == 0
    due.refresh_from_db()
    assert due.reminder_3_sent_at is None


def test_the_daily_task_sends_the_reminders(grant):
    Grant.objects.filter(pk=grant.pk).update(end_date=timezone.localdate() + datetime.timedelta(days=365))
    milestone(grant, timezone.localdate() + datetime.timedelta(days=2))

    result = tasks.daily.delay().get()

    assert result["milestone_3_days"] == 1
    assert len(mail.outbox) == 1


def test_the_daily_task_is_scheduled():
    entry = django_settings.CELERY_BEAT_SCHEDULE["grants-daily"]

    assert entry["task"] == "grants.tasks.daily"
    assert entry["schedule"] == 60 * 60 * 24


def test_a_moved_due_date_gets_its_reminders_again(db):
    from django.utils import timezone

    from tests.factories.grants import MilestoneFactory

    milestone = MilestoneFactory(reminder_14_sent_at=timezone.now(), reminder_3_sent_at=timezone.now())
    milestone.due_date = milestone.due_date + datetime.timedelta(days=30)
    milestone.save()
    milestone.refresh_from_db()
    assert milestone.reminder_14_sent_at is None
    assert milestone.reminder_3_sent_at is None
