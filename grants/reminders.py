"""Milestone and deadline reminders: the grant's owner and finance hear of a milestone 14 and 3 days before it
is due and once when it is overdue, and of a grant 60 days before it ends (issue 6, DOMAIN.md 5).

Only open milestones (planned, in progress) of awarded or active grants are reminded of; a milestone that is
submitted, accepted or paid, or a grant that is closed or rejected, gets nothing more. Each reminder is sent
once: it is claimed with a conditional UPDATE of its ``*_sent_at`` field (``... WHERE field IS NULL``)
before the e-mail goes out, in one transaction with the sending, so two runs (or two workers) never send it
twice, and a failed send leaves it unclaimed for the next run.

Each reminder has a window, so a day the task did not run is caught up on the next, and a milestone added
late gets only the reminder that still makes sense:

- 14 days: due in 4 to 14 days;
- 3 days: due today or in the next 3 days;
- overdue: due yesterday or earlier;
- grant end: ends today or in the next 60 days.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from .models import Grant, GrantState, Milestone

logger = logging.getLogger(__name__)

OPEN_GRANT_STATES = (GrantState.AWARDED, GrantState.ACTIVE)
MILESTONE_REMINDER_DAYS = (14, 3)
GRANT_END_REMINDER_DAYS = 60


def _emails():
    from . import emails

    return emails


def _claim_and_send(model: type[Model], pk: int, field: str, send: Callable[[], bool]) -> bool:
    """Claim the reminder (``field`` from empty to now) and send it, in one transaction.

    Returns True if this call sent it. Nobody to send to, or a failed send, rolls the claim back: the next
    run tries again."""
    try:
        with transaction.atomic():
            claimed = model.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(
                **{field: timezone.now()}
            )
            if not claimed:
                return False
            if not send():
                transaction.set_rollback(True)
                return False
    except Exception:
        logger.exception("grants: reminder %s of %s %s could not be sent", field, model.__name__, pk)
        return False
    return True


def _open_milestones():
    return Milestone.objects.open().filter(grant__state__in=OPEN_GRANT_STATES)


def milestone_reminders_send(*, today: datetime.date | None = None) -> dict[str, int]:
    """14 and 3 days before an open milestone is due, and once when it is overdue; each once."""
    today = today or timezone.localdate()
    windows = [
        # (name, field, milestones in the window)
        (
            "milestone_14_days",
            "reminder_14_sent_at",
            _open_milestones().filter(
                due_date__gt=today + datetime.timedelta(days=MILESTONE_REMINDER_DAYS[1]),
                due_date__lte=today + datetime.timedelta(days=MILESTONE_REMINDER_DAYS[0]),
            ),
        ),
        (
            "milestone_3_days",
            "reminder_3_sent_at",
            _open_milestones().filter(
                due_date__gte=today,
                due_date__lte=today + datetime.timedelta(days=MILESTONE_REMINDER_DAYS[1]),
            ),
        ),
        ("milestone_overdue", "overdue_reminder_sent_at", _open_milestones().filter(due_date__lt=today)),
    ]
    counts = {}
    for name, field, milestones in windows:
        sent = 0
        for milestone_id in milestones.filter(**{f"{field}__isnull": True}).values_list("pk", flat=True):
            if _claim_and_send(
                Milestone,
                milestone_id,
                field,
                lambda milestone_id=milestone_id, name=name: _emails().milestone_reminder(
                    milestone_id=milestone_id, overdue=name == "milestone_overdue", today=today
                ),
            ):
                sent += 1
        counts[name] = sent
    return counts


def grant_end_reminders_send(*, today: datetime.date | None = None) -> int:
    """60 days before an awarded or active grant ends; once."""
    today = today or timezone.localdate()
    ending = Grant.objects.filter(
        state__in=OPEN_GRANT_STATES,
        end_date__gte=today,
        end_date__lte=today + datetime.timedelta(days=GRANT_END_REMINDER_DAYS),
        end_reminder_sent_at__isnull=True,
    )
    sent = 0
    for grant_id in ending.values_list("pk", flat=True):
        if _claim_and_send(
            Grant,
            grant_id,
            "end_reminder_sent_at",
            lambda grant_id=grant_id: _emails().grant_end_reminder(grant_id=grant_id, today=today),
        ):
            sent += 1
    return sent


def grant_reminders_send(*, today: datetime.date | None = None) -> dict[str, int]:
    """The daily task: every milestone and grant-end reminder that is due and not yet sent.

    Returns how many of each kind went out (safe to run twice a day: the second run sends nothing)."""
    today = today or timezone.localdate()
    counts = milestone_reminders_send(today=today)
    counts["grant_end"] = grant_end_reminders_send(today=today)
    return counts
