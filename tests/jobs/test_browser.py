"""Staff's journey through failed jobs in a real browser: find the failed job, read why, retry it."""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from playwright.sync_api import expect

from jobs.models import FailedTask
from tests.conftest import CHROMIUM_PATH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls in the test are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_PATH,
        "args": ["--no-sandbox", "--headless=new", "--disable-gpu"],
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def screenshot():
    def take(page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_staff_find_a_failed_job_read_why_and_retry_it(
    page,
    live_server,
    staff_user,
    failed_job,
    unique_name,
    eager_tasks,
    screenshot,  # noqa: F811
):
    log_in(page, live_server, staff_user)

    # Straight to the listing: the dashboard needs Wagtail's root page, which transactional tests flush.
    page.goto(live_server.url + "/admin/failed-jobs/")
    expect(
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Failed jobs")
    ).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(failed_job.task_name))).to_be_visible()
    screenshot(page, "failed-jobs-list")

    page.get_by_role("link", name=re.compile(failed_job.task_name)).click()
    expect(page.get_by_text("The database went away.").first).to_be_visible()
    expect(page.get_by_text("Traceback (most recent call last):")).to_be_visible()
    screenshot(page, "failed-job-inspect")

    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("will run again with the same arguments")).to_be_visible()
    screenshot(page, "failed-job-retried")
    assert Group.objects.filter(name=unique_name).exists()
    failed_job.refresh_from_db()
    assert failed_job.state == FailedTask.State.RETRIED
