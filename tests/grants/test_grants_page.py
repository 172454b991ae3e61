"""The public grants page: current and past grants with funder, amount, period, purpose and milestone progress,
in English at /grants/ and in German at /de/grants/; never people, pay or costs."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from wagtail.models import Page, Site

from cms.models import GrantsPage
from grants import services
from grants.models import Grant, Milestone
from tests.factories.cms import HomePageFactory, translate_page
from tests.factories.grants import (
    FunderFactory,
    GrantFactory,
    MilestoneFactory,
    PayRecordFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def home(db):
    page = HomePageFactory(parent=Page.get_first_root_node())
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.save()
    return page


@pytest.fixture
def grants_page(home):
    page = GrantsPage(title="Grants", slug="grants", intro="<p>Who funds our work, and what for.</p>")
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def german_grants_page(home, grants_page):
    translate_page(home, "de", slug="startseite", title="Startseite")
    return translate_page(grants_page, "de", title="Förderungen")


@pytest.fixture
def current_grant():
    """Running, three milestones: one paid, one accepted, one planned."""
    grant = GrantFactory(
        title="Federated moderation tools",
        funder=FunderFactory(name="NLnet Foundation"),
        awarded_amount=Decimal("50000.00"),
        start_date=TODAY - 100 * DAY,
        end_date=TODAY + 200 * DAY,
        purpose="Tools that help small servers moderate together.",
        state=Grant.State.ACTIVE,
    )
    MilestoneFactory(grant=grant, position=1, state="paid")
    MilestoneFactory(grant=grant, position=2, state="accepted")
    MilestoneFactory(grant=grant, position=3, state="planned")
    return grant


def page_html(client, url="/grants/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, key: str) -> str:
    """The text of the "current" or "past" section."""
    marker = f'aria-labelledby="grants-{key}"'
    assert marker in html
    return re.sub(r"\s+", " ", html.split(marker, 1)[1].split("</section>", 1)[0])


def test_page_lists_a_current_grant_with_funder_amount_period_purpose_and_milestone_progress(
    client, grants_page, current_grant
):
    text = section(page_html(client), "current")

    assert "Federated moderation tools" in text
    assert "NLnet Foundation" in text
    assert "€50,000" in text
    assert "Tools that help small servers moderate together." in text
    assert "2 of 3 milestones completed" in text
    assert re.search(
        r'<progress class="grant-progress__bar" max="3" value="2" aria-labelledby="[^"]+">', text
    )


def test_closed_and_ended_grants_are_listed_as_past(client, grants_page, current_grant):
    GrantFactory(
        title="Closed grant",
        state=Grant.State.CLOSED,
        start_date=TODAY - 500 * DAY,
        end_date=TODAY - 40 * DAY,
    )
    GrantFactory(
        title="Ended, not yet closed",
        state=Grant.State.ACTIVE,
        start_date=TODAY - 400 * DAY,
        end_date=TODAY - DAY,
    )

    html = page_html(client)

    assert "Closed grant" in section(html, "past")
    assert "Ended, not yet closed" in section(html, "past")
    assert "Closed grant" not in section(html, "current")
    assert "Federated moderation tools" in section(html, "current")


def test_non_public_applied_and_rejected_grants_are_not_shown(client, grants_page, current_grant):
    GrantFactory(title="Kept private", public=False)
    GrantFactory(title="Only applied for", state=Grant.State.APPLIED)
    GrantFactory(title="Turned down", state=Grant.State.REJECTED)

    html = page_html(client)

    assert "Federated moderation tools" in html
    for title in ("Kept private", "Only applied for", "Turned down"):
        assert title not in html


def test_page_shows_no_people_salaries_or_costs(client, grants_page, current_grant):
    person = PersonFactory(name="Hedwig Secretperson", role="Moderation engineer")
    last_month = (TODAY.replace(day=1) - DAY).replace(day=1)
    record = PayRecordFactory(person=person, month=last_month, gross_salary=Decimal("5432.10"))
    services.allocations_set(person=person, month=record.month, shares={current_grant: Decimal("60")})
    services.pay_record_post(pay_record=record)

    html = page_html(client)

    assert "Federated moderation tools" in html
    for private in ("Hedwig", "Secretperson", "Moderation engineer", "5,432", "5432", "3,259", "3259"):
        assert private not in html


def test_page_is_served_in_german(client, german_grants_page, current_grant):
    html = page_html(client, "/de/grants/")

    assert '<h1 class="page-header__title">Förderungen</h1>' in html
    text = section(html, "current")
    assert "50.000 €" in text
    assert "NLnet Foundation" in text


def test_titles_and_purposes_are_escaped(client, grants_page):
    GrantFactory(title="<script>alert('title')</script>", purpose="<img src=x onerror=alert(1)>")

    html = page_html(client)

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html
    assert "<img src=x" not in html


def test_listing_is_cached_until_a_grant_or_milestone_changes(client, grants_page, current_grant):
    assert "2 of 3 milestones completed" in page_html(client)
    planned = current_grant.milestones.get(position=3)

    Milestone.objects.filter(pk=planned.pk).update(state="accepted")  # no signal: the fragment stays
    assert "2 of 3 milestones completed" in page_html(client)

    planned.refresh_from_db()
    planned.save()  # a save, as the admin and the services do
    assert "3 of 3 milestones completed" in page_html(client)

    current_grant.title = "Renamed grant"
    current_grant.save()
    assert "Renamed grant" in page_html(client)


def test_page_without_grants_says_so(client, grants_page):
    html = page_html(client)

    assert "No grant is running at the moment." in html
    assert "No grant has ended yet." in html
