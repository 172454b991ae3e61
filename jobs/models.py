from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InvalidTransition(Exception):
    """The failed job's state does not allow this move (e.g. retrying a job that was already retried)."""


class FailedTaskQuerySet(models.QuerySet):
    def unresolved(self):
        """Failed jobs nobody has retried or dismissed yet."""
        return self.filter(state=FailedTask.State.FAILED)


class FailedTask(models.Model):
    """A background job that failed for good: after its last retry, or at once for a non-transient error.

    One row per Celery task id, however often Celery reports the failure. Staff retry it (the task runs
    again with the same arguments, under a new task id) or dismiss it; the row itself is never edited.
    """

    class State(models.TextChoices):
        FAILED = "failed", _("failed")
        RETRIED = "retried", _("retried")
        DISMISSED = "dismissed", _("dismissed")

    task_name = models.CharField(_("task"), max_length=255, db_index=True)
    task_id = models.CharField(_("task id"), max_length=255, unique=True)
    args = models.JSONField(_("positional arguments"), default=list, blank=True, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    exception_class = models.CharField(_("exception"), max_length=255)
    message = models.TextField(_("message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    failed_at = models.DateTimeField(_("failed at"), default=timezone.now, db_index=True)
    retries = models.PositiveIntegerField(_("retries before failing"), default=0)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.FAILED)
    retried_at = models.DateTimeField(_("retried at"), null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("retried by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    retry_task_id = models.CharField(_("task id of the retry"), max_length=255, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dismissed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = FailedTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("failed job")
        verbose_name_plural = _("failed jobs")
        ordering = ["-failed_at", "-pk"]
        # Staff look at failed jobs ("view") and retry or dismiss them ("change"); rows are only ever
        # created by the failure signal, so there is no add or delete permission to hand out.
        default_permissions = ("view", "change")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["failed", "retried", "dismissed"]),
                name="jobs_failedtask_state_valid",
            ),
        ]

    def __str__(self):
        return f"{self.task_name} ({self.task_id})"

    def can_move_to(self, state: str) -> bool:
        return state in ALLOWED_TRANSITIONS[self.state]

    def _move_to(self, state: str) -> None:
        if not self.can_move_to(state):
            raise InvalidTransition(f"A {self.get_state_display()} job cannot become {state}.")
        self.state = state

    def mark_retried(self, *, by, retry_task_id: str) -> None:
        self._move_to(self.State.RETRIED)
        self.retried_at = timezone.now()
        self.retried_by = by
        self.retry_task_id = retry_task_id

    def mark_dismissed(self, *, by) -> None:
        self._move_to(self.State.DISMISSED)
        self.dismissed_at = timezone.now()
        self.dismissed_by = by


# The moves each state allows. A retried job that fails again is recorded as a new failed job (it runs
# under a new task id), so "retried" and "dismissed" are final.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    FailedTask.State.FAILED: frozenset({FailedTask.State.RETRIED, FailedTask.State.DISMISSED}),
    FailedTask.State.RETRIED: frozenset(),
    FailedTask.State.DISMISSED: frozenset(),
}
