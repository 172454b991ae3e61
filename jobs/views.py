"""Staff screens for failed jobs: the listing, the inspect page, and the retry and dismiss actions.

Also the benchmark's baseline, ``bench_trivial``: the cheapest answer the stack can give.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import django_filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_safe
from kombu.exceptions import KombuError
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from .models import FailedTask, InvalidTransition
from .services import UnknownTask, failed_task_dismiss, failed_task_retry, heartbeat_last_seen

logger = logging.getLogger(__name__)


def _task_name_choices():
    names = FailedTask.objects.order_by("task_name").values_list("task_name", flat=True).distinct()
    return [(name, name) for name in names]


class FailedTaskFilterSet(WagtailFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=FailedTask.State.choices, empty_label=_("All"), widget=forms.RadioSelect
    )
    task_name = django_filters.ChoiceFilter(label=_("Task"), choices=_task_name_choices, empty_label=_("All"))
    failed_at = django_filters.DateFromToRangeFilter(label=_("Failed between"), widget=DateRangePickerWidget)

    class Meta:
        model = FailedTask
        fields = ["state", "task_name", "failed_at"]


class FailedTaskIndexView(generic.IndexView):
    template_name = "jobs/failed_task_index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["heartbeat_last_seen"] = heartbeat_last_seen()
        context["jobs_run_in_process"] = settings.CELERY_TASK_ALWAYS_EAGER
        return context


PREFORMATTED = '<pre style="white-space: pre-wrap; overflow-wrap: anywhere">{}</pre>'


class FailedTaskInspectView(generic.InspectView):
    template_name = "jobs/failed_task_inspect.html"
    retry_url_name = None
    dismiss_url_name = None

    def get_field_display_value(self, field_name, field):
        value = getattr(self.object, field_name)
        if field_name == "traceback":
            return format_html(PREFORMATTED, value)
        if field_name in {"args", "kwargs"}:
            return format_html(PREFORMATTED, json.dumps(value, indent=2, ensure_ascii=False))
        if value is None or value == "":
            return "—"
        if isinstance(value, datetime):
            return date_format(timezone.localtime(value), "DATETIME_FORMAT")
        return super().get_field_display_value(field_name, field)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_change = self.user_has_permission("change")
        pk = self.object.pk
        context["retry_url"] = (
            reverse(self.retry_url_name, args=(pk,))
            if can_change and self.object.can_move_to(FailedTask.State.RETRIED)
            else None
        )
        context["dismiss_url"] = (
            reverse(self.dismiss_url_name, args=(pk,))
            if can_change and self.object.can_move_to(FailedTask.State.DISMISSED)
            else None
        )
        return context


class FailedTaskActionView(PermissionCheckedMixin, View):
    """A POST that changes a failed job's state, then back to its inspect page with a message."""

    model = FailedTask
    permission_required = "change"
    http_method_names = ["post"]
    inspect_url_name = None

    def post(self, request, pk):
        failed_task = get_object_or_404(FailedTask, pk=pk)
        try:
            self.act(failed_task)
        except InvalidTransition:
            messages.error(
                request,
                _("This job was already %(state)s.") % {"state": failed_task.get_state_display()},
            )
        return redirect(self.inspect_url_name, pk)

    def act(self, failed_task: FailedTask) -> None:
        raise NotImplementedError


class FailedTaskRetryView(FailedTaskActionView):
    def act(self, failed_task):
        try:
            failed_task_retry(failed_task=failed_task, by=self.request.user)
        except UnknownTask:
            messages.error(
                self.request,
                _(
                    "There is no task called %(task)s any more, so this job cannot run again. Dismiss it instead."
                )
                % {"task": failed_task.task_name},
            )
            return
        except (KombuError, OSError):
            logger.exception("Could not send task %s again", failed_task.task_name)
            messages.error(
                self.request,
                _("The job queue could not be reached; the job is still marked as failed. Try again later."),
            )
            return
        messages.success(
            self.request,
            _("The job %(task)s will run again with the same arguments.") % {"task": failed_task.task_name},
        )


class FailedTaskDismissView(FailedTaskActionView):
    def act(self, failed_task):
        failed_task_dismiss(failed_task=failed_task, by=self.request.user)
        messages.success(self.request, _("The job %(task)s was dismissed.") % {"task": failed_task.task_name})


@require_safe
def bench_trivial(request):
    """``make bench``'s baseline: a short text through the whole middleware stack, with no database, no
    template and no cache. Every throughput in docs/performance.md is also given as a share of this
    view's, measured on the same stack in the same run. Off (404) unless ``BENCH_TRIVIAL_VIEW`` is on."""
    if not settings.BENCH_TRIVIAL_VIEW:
        raise Http404
    return HttpResponse("ok", content_type="text/plain")
