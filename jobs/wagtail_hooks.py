from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import FailedTask
from .views import (
    FailedTaskDismissView,
    FailedTaskFilterSet,
    FailedTaskIndexView,
    FailedTaskInspectView,
    FailedTaskRetryView,
)


class FailedTaskViewSet(ModelViewSet):
    """Failed jobs: staff see what failed, when and why, and retry or dismiss it. Rows are never edited."""

    model = FailedTask
    name = "failed-jobs"
    icon = "warning"
    menu_label = _("Failed jobs")
    menu_order = 900
    add_to_admin_menu = True
    index_view_class = FailedTaskIndexView
    inspect_view_class = FailedTaskInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["task_name", "exception_class", "message", "failed_at", "retries", "state"]
    filterset_class = FailedTaskFilterSet
    search_fields = ["task_name", "task_id", "exception_class", "message"]
    list_export = [
        "task_name",
        "task_id",
        "exception_class",
        "message",
        "failed_at",
        "retries",
        "state",
        "retried_at",
        "retried_by",
        "dismissed_at",
        "dismissed_by",
    ]
    export_filename = "failed-jobs"
    inspect_view_fields = [
        "task_name",
        "task_id",
        "state",
        "failed_at",
        "retries",
        "exception_class",
        "message",
        "args",
        "kwargs",
        "traceback",
        "retried_at",
        "retried_by",
        "retry_task_id",
        "dismissed_at",
        "dismissed_by",
    ]

    def get_common_view_kwargs(self, **kwargs):
        # No add, edit, copy or delete views: the listing links each row to its inspect page.
        return super().get_common_view_kwargs(
            **{
                "add_url_name": None,
                "edit_url_name": None,
                "delete_url_name": None,
                "history_url_name": None,
                "usage_url_name": None,
                **kwargs,
            }
        )

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(
            retry_url_name=self.get_url_name("retry"), dismiss_url_name=self.get_url_name("dismiss"), **kwargs
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path(
                "retry/<int:pk>/",
                self.construct_view(FailedTaskRetryView, inspect_url_name=self.get_url_name("inspect")),
                name="retry",
            ),
            path(
                "dismiss/<int:pk>/",
                self.construct_view(FailedTaskDismissView, inspect_url_name=self.get_url_name("inspect")),
                name="dismiss",
            ),
        ]


@hooks.register("register_admin_viewset")
def register_failed_task_viewset():
    return FailedTaskViewSet()
