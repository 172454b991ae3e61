"""The failed jobs screen: staff see what failed, when and why, and retry or dismiss it."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from jobs.models import FailedTask
from jobs.services import heartbeat_record

INDEX_URL = "/admin/failed-jobs/"


def inspect_url(failed_task):
    return reverse("failed-jobs:inspect", args=[failed_task.pk])


def retry_url(failed_task):
    return reverse("failed-jobs:retry", args=[failed_task.pk])


def dismiss_url(failed_task):
    return reverse("failed-jobs:dismiss", args=[failed_task.pk])


def shown_messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.django_db
def test_admin_menu_has_failed_jobs(staff_client):
    response = staff_client.get("/admin/")

    assert b"Failed jobs" in response.content
    assert INDEX_URL.encode() in response.content


@pytest.mark.django_db
def test_listing_shows_failed_jobs_with_task_and_message(staff_client, failed_job):
    response = staff_client.get(INDEX_URL)

    assert response.status_code == 200
    assert failed_job.task_name in response.text
    assert "The database went away." in response.text
    assert inspect_url(failed_job) in response.text


@pytest.mark.django_db
def test_listing_filters_by_state(staff_client, failed_job, unique_name):
    failed_job.mark_dismissed(by=staff_client.user)
    failed_job.save()

    failed_list = staff_client.get(INDEX_URL, {"state": "failed"})
    dismissed_list = staff_client.get(INDEX_URL, {"state": "dismissed"})

    assert inspect_url(failed_job) not in failed_list.text
    assert inspect_url(failed_job) in dismissed_list.text


@pytest.mark.django_db
def test_listing_filters_by_task_and_date(staff_client, failed_job):
    day = failed_job.failed_at.date().isoformat()

    matching = staff_client.get(INDEX_URL, {"task_name": failed_job.task_name, "failed_at_from": day})
    too_late = staff_client.get(INDEX_URL, {"failed_at_from": "2999-01-01"})

    assert inspect_url(failed_job) in matching.text
    assert inspect_url(failed_job) not in too_late.text


@pytest.mark.django_db
def test_listing_offers_no_add_button_and_there_is_no_edit_page(staff_client, failed_job):
    response = staff_client.get(INDEX_URL)

    assert f"{INDEX_URL}new/" not in response.text
    assert staff_client.get(f"{INDEX_URL}new/").status_code == 404
    assert staff_client.get(f"{INDEX_URL}edit/{failed_job.pk}/").status_code == 404
    assert staff_client.get(f"{INDEX_URL}delete/{failed_job.pk}/").status_code == 404


@pytest.mark.django_db
def test_listing_shows_when_the_scheduled_jobs_last_ran(staff_client, settings, no_heartbeat):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    heartbeat_record()

    response = staff_client.get(INDEX_URL)

    assert "Last heartbeat of the scheduled jobs: 0\xa0minutes ago." in response.text


@pytest.mark.django_db
def test_listing_warns_when_no_heartbeat_was_seen(staff_client, settings, no_heartbeat):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = staff_client.get(INDEX_URL)

    assert "No heartbeat of the scheduled jobs yet" in response.text


@pytest.mark.django_db
def test_inspect_page_shows_what_failed_when_and_why_with_retry_and_dismiss(staff_client, failed_job):
    response = staff_client.get(inspect_url(failed_job))

    assert response.status_code == 200
    for text in [
        failed_job.task_name,
        failed_job.task_id,
        "ConnectionError",
        "The database went away.",
        "Traceback (most recent call last):",
        "Failed at",
    ]:
        assert text in response.text
    assert f'action="{retry_url(failed_job)}" method="post"' in response.text
    assert f'action="{dismiss_url(failed_job)}" method="post"' in response.text
    assert "csrfmiddlewaretoken" in response.text


@pytest.mark.django_db
def test_retry_runs_the_job_again_with_the_same_arguments_and_marks_it_retried(
    staff_client, failed_job, unique_name, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(retry_url(failed_job), follow=True)

    assert Group.objects.filter(name=unique_name).exists()
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.RETRIED
    assert failed_job.retried_by == staff_client.user
    assert failed_job.retried_at is not None
    assert failed_job.retry_task_id not in {"", failed_job.task_id}
    assert shown_messages(response) == [
        f"The job {failed_job.task_name} will run again with the same arguments."
    ]


@pytest.mark.django_db
def test_retry_sends_nothing_until_the_change_is_committed(
    staff_client, failed_job, unique_name, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        staff_client.post(retry_url(failed_job))

    assert len(callbacks) == 1
    assert not Group.objects.filter(name=unique_name).exists()


@pytest.mark.django_db
def test_retried_job_cannot_be_retried_again(
    staff_client, failed_job, eager_tasks, django_capture_on_commit_callbacks
):
    staff_client.post(retry_url(failed_job), follow=True)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(retry_url(failed_job), follow=True)

    assert callbacks == []
    assert shown_messages(response) == ["This job was already retried."]


@pytest.mark.django_db
def test_retry_of_a_task_that_no_longer_exists_says_so(staff_client, failed_job):
    FailedTask.objects.filter(pk=failed_job.pk).update(task_name="ledger.tasks.gone_since")

    response = staff_client.post(retry_url(failed_job), follow=True)

    assert shown_messages(response) == [
        "There is no task called ledger.tasks.gone_since any more, so this job cannot run again. Dismiss it instead."
    ]
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.FAILED


@pytest.mark.django_db
def test_retry_needs_a_post(staff_client, failed_job):
    assert staff_client.get(retry_url(failed_job)).status_code == 405


@pytest.mark.django_db
def test_anonymous_visitor_who_retries_is_sent_to_log_in(client, failed_job):
    response = client.post(retry_url(failed_job))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.FAILED


@pytest.mark.django_db
def test_staff_who_may_only_look_cannot_retry_or_dismiss(viewer_client, failed_job):
    inspect_page = viewer_client.get(inspect_url(failed_job))
    retry = viewer_client.post(retry_url(failed_job))
    dismiss = viewer_client.post(dismiss_url(failed_job))

    assert inspect_page.status_code == 200
    assert retry_url(failed_job) not in inspect_page.text
    # Wagtail answers a refused admin action with a redirect to the dashboard and an error message.
    for response in (retry, dismiss):
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.FAILED


@pytest.mark.django_db
def test_staff_without_permission_on_failed_jobs_see_no_listing(admin_without_jobs_client, failed_job):
    response = admin_without_jobs_client.get(INDEX_URL)

    assert response.status_code in {302, 403}
    assert failed_job.task_name not in response.text


@pytest.mark.django_db
def test_dismiss_marks_the_job_dismissed_without_running_it(
    staff_client, failed_job, unique_name, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(dismiss_url(failed_job), follow=True)

    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.DISMISSED
    assert failed_job.dismissed_by == staff_client.user
    assert not Group.objects.filter(name=unique_name).exists()
    assert shown_messages(response) == [f"The job {failed_job.task_name} was dismissed."]


@pytest.mark.django_db
def test_listing_searches_task_names_and_messages(staff_client, failed_job):
    found = staff_client.get(INDEX_URL, {"q": "went away"})
    not_found = staff_client.get(INDEX_URL, {"q": "declined"})

    assert inspect_url(failed_job) in found.text
    assert inspect_url(failed_job) not in not_found.text


@pytest.mark.django_db
def test_listing_exports_as_csv(staff_client, failed_job):
    response = staff_client.get(INDEX_URL, {"export": "csv"})

    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("Task,Task id,Exception,Message,Failed at,Retries before failing,State")
    assert rows[1].startswith(
        f"{failed_job.task_name},{failed_job.task_id},ConnectionError,The database went away.,"
    )
