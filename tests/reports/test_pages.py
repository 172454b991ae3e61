"""The public monthly report pages and the archive: what the public and finance see.

Every expected figure is summed here from the postings this module makes (``Books``), and written the
way a reader expects it in English and German, never with the report code's own functions.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache
from django.utils import timezone

from ledger.services import PostingLine, transaction_post
from reports.services import report_commentary_save, report_draft, report_publish
from tests.factories.fundraising import PatronageFactory, TierFactory

pytestmark = pytest.mark.django_db

YEAR_BEFORE = datetime.date(2024, 10, 1)
SEPTEMBER = datetime.date(2025, 9, 1)
OCTOBER = datetime.date(2025, 10, 1)
NOVEMBER = datetime.date(2025, 11, 1)

CASH_ACCOUNTS = {"bank", "stripe"}
INCOME_ACCOUNTS = {
    "patrons": {"income-patrons-perks", "income-patrons-no-perks"},
    "donations": {"income-donations"},
    "grants": {"income-grants"},
}
SPENDING_ACCOUNTS = {
    "personnel": {"expense-salaries", "expense-social-costs"},
    "hosting": {"expense-hosting"},
    "payment_fees": {"expense-payment-fees"},
}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


class Books:
    """Posts transactions and keeps every line, to sum the expected figures independently."""

    def __init__(self):
        self.lines: list[tuple[datetime.date, str, Decimal]] = []

    def post(self, day: datetime.date, key: str, *lines: tuple[str, str]):
        parsed = [(account, Decimal(amount)) for account, amount in lines]
        transaction_post(
            booking_date=day,
            description=key,
            idempotency_key=key,
            lines=[PostingLine(account, amount) for account, amount in parsed],
        )
        self.lines.extend((day, account, amount) for account, amount in parsed)

    def _in_month(self, month: datetime.date, accounts: set[str]) -> Decimal:
        return sum(
            (
                amount
                for day, account, amount in self.lines
                if account in accounts and (day.year, day.month) == (month.year, month.month)
            ),
            Decimal("0.00"),
        )

    def income(self, month: datetime.date, source: str) -> Decimal:
        return -self._in_month(month, INCOME_ACCOUNTS[source])

    def income_total(self, month: datetime.date) -> Decimal:
        return sum((self.income(month, source) for source in INCOME_ACCOUNTS), Decimal("0.00"))

    def spending(self, month: datetime.date, category: str) -> Decimal:
        return self._in_month(month, SPENDING_ACCOUNTS[category])

    def spending_total(self, month: datetime.date) -> Decimal:
        return sum((self.spending(month, category) for category in SPENDING_ACCOUNTS), Decimal("0.00"))

    def cash_end(self, month: datetime.date) -> Decimal:
        end = (month + datetime.timedelta(days=32)).replace(day=1)
        return sum(
            (amount for day, account, amount in self.lines if account in CASH_ACCOUNTS and day < end),
            Decimal("0.00"),
        )


def english(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}€{abs(amount):,.2f}"


def german(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{sign}{digits} €"


def text_of(element) -> str:
    return re.sub(r"\s+", " ", element.get_text(" ", strip=True).replace("\xa0", " ")).strip()


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content.decode(), "html.parser")


def table_rows(soup: BeautifulSoup, caption: str) -> dict[str, list[str]]:
    """``{row header: [cell texts]}`` of the table with ``caption``."""
    for table in soup.find_all("table"):
        if text_of(table.caption) == caption:
            return {
                text_of(row.th).rstrip("*").strip(): [text_of(cell) for cell in row.find_all("td")]
                for row in table.find_all("tr")
                if row.th is not None and row.th.get("scope") == "row"
            }
    raise AssertionError(f"no table captioned {caption!r}")


def facts(soup: BeautifulSoup) -> dict[str, str]:
    return {text_of(item.dt): text_of(item.dd) for item in soup.select("dl div") if item.dt and item.dd}


@pytest.fixture
def books(db):
    books = Books()
    # The same month a year before.
    books.post(
        YEAR_BEFORE + datetime.timedelta(days=4),
        "y:donation",
        ("bank", "300.00"),
        ("income-donations", "-300.00"),
    )
    books.post(
        YEAR_BEFORE + datetime.timedelta(days=9),
        "y:hosting",
        ("expense-hosting", "80.00"),
        ("bank", "-80.00"),
    )
    # September 2025.
    books.post(datetime.date(2025, 9, 3), "s:donation", ("bank", "1000.00"), ("income-donations", "-1000.00"))
    books.post(datetime.date(2025, 9, 30), "s:pay", ("expense-salaries", "2000.00"), ("bank", "-2000.00"))
    # October 2025: patrons with perks (VAT), a refund, a donation, a grant, pay, hosting and fees.
    books.post(
        datetime.date(2025, 10, 2),
        "o:patrons",
        ("stripe", "595.00"),
        ("income-patrons-perks", "-500.00"),
        ("vat-payable-19", "-95.00"),
    )
    books.post(
        datetime.date(2025, 10, 6),
        "o:refund",
        ("income-patrons-perks", "50.00"),
        ("vat-payable-19", "9.50"),
        ("stripe", "-59.50"),
    )
    books.post(
        datetime.date(2025, 10, 8),
        "o:patrons-no-perks",
        ("stripe", "75.00"),
        ("income-patrons-no-perks", "-75.00"),
    )
    books.post(datetime.date(2025, 10, 9), "o:donation", ("bank", "250.50"), ("income-donations", "-250.50"))
    books.post(datetime.date(2025, 10, 15), "o:grant", ("bank", "4000.00"), ("income-grants", "-4000.00"))
    books.post(
        datetime.date(2025, 10, 31),
        "o:pay",
        ("expense-salaries", "2500.00"),
        ("expense-social-costs", "500.00"),
        ("bank", "-3000.00"),
    )
    books.post(datetime.date(2025, 10, 20), "o:hosting", ("expense-hosting", "120.00"), ("bank", "-120.00"))
    books.post(datetime.date(2025, 10, 2), "o:fee", ("expense-payment-fees", "12.40"), ("stripe", "-12.40"))
    return books


@pytest.fixture
def finance_user(make_user):
    return make_user("finance", mfa=True)


def publish(month: datetime.date, by) -> None:
    report_publish(report=report_draft(month=month), by=by)


@pytest.fixture
def published(books, finance_user):
    """September and October 2025 published (October's comparison month a year before has no report)."""
    publish(SEPTEMBER, finance_user)
    publish(OCTOBER, finance_user)
    return books


# --- The monthly report ---------------------------------------------------------------------------


def test_published_month_shows_income_spending_result_and_cash_from_the_postings(client, published):
    books = published
    soup = page(client.get("/reports/2025/10/"))

    assert text_of(soup.h1) == "Monthly report October 2025"
    income = table_rows(soup, "Income by source")
    assert income["Patrons"][0] == english(books.income(OCTOBER, "patrons")) == "€525.00"
    assert income["Donations"][0] == english(books.income(OCTOBER, "donations"))
    assert income["Grants"][0] == english(books.income(OCTOBER, "grants"))
    assert income["Sponsorships"][0] == income["Services"][0] == income["Other income"][0] == "€0.00"
    assert income["Total income"][0] == english(books.income_total(OCTOBER)) == "€4,775.50"
    spending = table_rows(soup, "Spending by category")
    assert spending["Personnel"][0] == english(books.spending(OCTOBER, "personnel")) == "€3,000.00"
    assert spending["Hosting"][0] == english(books.spending(OCTOBER, "hosting"))
    assert spending["Payment fees"][0] == english(books.spending(OCTOBER, "payment_fees"))
    assert spending["Freelancers"][0] == spending["Other spending"][0] == "€0.00"
    assert spending["Total spending"][0] == english(books.spending_total(OCTOBER)) == "€3,132.40"

    summary = facts(soup)
    result = books.income_total(OCTOBER) - books.spending_total(OCTOBER)
    assert summary["Result (income minus spending)"] == english(result) == "€1,643.10"
    assert summary["Cash at the end of the month"] == english(books.cash_end(OCTOBER))
    development = books.spending(OCTOBER, "personnel") * 100 / books.spending_total(OCTOBER)
    assert summary["Spent on development"] == f"{development:.1f}%" == "95.8%"
    assert "Patrons: regular support from patrons, both in tiers with perks" in text_of(soup)
    assert "personnel" in text_of(soup.find(class_="report-development"))


def test_german_page_shows_the_same_figures_in_german_format(client, published):
    books = published
    response = client.get("/de/reports/2025/10/")
    soup = page(response)

    assert soup.html["lang"] == "de"
    text = text_of(soup)
    assert german(books.income_total(OCTOBER)) == "4.775,50 €"
    assert german(books.income_total(OCTOBER)) in text
    assert german(books.spending_total(OCTOBER)) in text
    assert german(books.cash_end(OCTOBER)) in text
    assert german(books.income(OCTOBER, "donations")) == "250,50 €"
    assert "250,50 €" in text
    assert "€4,775.50" not in text
    assert 'href="/reports/2025/10.pdf"' in response.content.decode()


def test_comparison_with_the_previous_month_and_the_same_month_a_year_before(client, published):
    books = published
    soup = page(client.get("/reports/2025/10/"))

    rows = table_rows(soup, "Comparison with the previous month and the same month a year before")
    october, september, year_before = (
        books.income_total(OCTOBER),
        books.income_total(SEPTEMBER),
        books.income_total(YEAR_BEFORE),
    )
    change = october - september
    assert rows["Income"][:3] == [
        english(october),
        english(september),
        f"+{english(change)} (+{change * 100 / september:.1f}%)",
    ]
    assert rows["Income"][3] == english(year_before) == "€300.00"
    assert rows["Income"][4].startswith(f"+{english(october - year_before)} ")
    spending_change = books.spending_total(OCTOBER) - books.spending_total(SEPTEMBER)
    assert rows["Spending"][2].startswith(f"+{english(spending_change)}")
    assert rows["Cash at the end of the month"][1] == english(books.cash_end(SEPTEMBER))


def test_september_was_a_deficit_and_shows_a_negative_result(client, published):
    books = published
    soup = page(client.get("/reports/2025/09/"))

    result = books.income_total(SEPTEMBER) - books.spending_total(SEPTEMBER)
    assert result == Decimal("-1000.00")
    assert facts(soup)["Result (income minus spending)"] == "-€1,000.00"
    assert "deficit" in text_of(soup.find(class_="report-summary"))


def test_patron_counts_of_the_month(client, published):
    tier = TierFactory(monthly_amount=Decimal("5.00"))
    october = timezone.make_aware(datetime.datetime(2025, 10, 10, 12))
    PatronageFactory(tier=tier, amount=Decimal("5.00"), interval="month", started_at=october)
    PatronageFactory(tier=tier, amount=Decimal("60.00"), interval="year", started_at=october)
    PatronageFactory(
        tier=tier,
        amount=Decimal("5.00"),
        status="canceled",
        started_at=timezone.make_aware(datetime.datetime(2025, 8, 1, 12)),
        ended_at=timezone.make_aware(datetime.datetime(2025, 10, 20, 12)),
    )
    soup = page(client.get("/reports/2025/10/"))

    shown = facts(soup)
    assert shown["Active patrons at the end of the month"] == "2"
    assert shown["New patrons"] == "2"
    assert shown["Patrons who ended their support"] == "1"
    assert shown["Monthly recurring income from patrons"] == english(Decimal("5.00") + Decimal("60.00") / 12)


def test_page_has_its_charts_files_and_navigation(client, published):
    response = client.get("/reports/2025/10/")
    soup = page(response)

    charts = soup.find_all("svg", attrs={"role": "img"})
    assert len(charts) == 2
    for chart in charts:
        assert chart.title.get_text() and chart.desc.get_text()
    assert (
        "October 2025: income €4,775.50, spending €3,132.40"
        in charts[0].desc.get_text() + charts[1].desc.get_text()
    )
    links = {a["href"] for a in soup.find_all("a", href=True)}
    assert {"/reports/2025/10.pdf", "/reports/2025/10.csv", "/reports/2025/10.json"} <= links
    assert {"/reports/2025/", "/reports/", "/reports/2025/09/"} <= links
    assert soup.find("a", rel="prev")["href"] == "/reports/2025/09/"
    assert soup.find("a", rel="next") is None
    assert soup.find("link", type="application/atom+xml")["href"] == "/reports/feed.atom"
    assert soup.find("link", rel="stylesheet", href=re.compile(r"reports\.css"))
    assert "X-Robots-Tag" not in response
    assert "no-store" not in response.get("Cache-Control", "")


def test_page_is_accessible_structure(client, published):
    soup = page(client.get("/reports/2025/10/"))

    assert len(soup.find_all("h1")) == 1
    levels = [int(heading.name[1]) for heading in soup.select("main h1, main h2, main h3")]
    assert all(later - earlier <= 1 for earlier, later in zip(levels, levels[1:], strict=False))
    for table in soup.select("main table"):
        assert table.caption is not None
        assert all(th.get("scope") in ("col", "row") for th in table.find_all("th"))
        assert "table-scroll" in table.parent["class"]
    for cell in soup.select("main table td"):
        assert "num" in cell["class"]


def test_commentary_in_the_visitors_language_as_rich_text(client, published, finance_user):
    from reports.models import MonthlyReport

    report_commentary_save(
        report=MonthlyReport.objects.get(month=OCTOBER),
        commentary_en="<p>We shipped <b>quote posts</b>.</p>",
        commentary_de="<p>Wir haben <b>Zitat-Beiträge</b> veröffentlicht.</p>",
        by=finance_user,
    )
    english_page = client.get("/reports/2025/10/").content.decode()
    german_page = client.get("/de/reports/2025/10/").content.decode()

    assert "We shipped <b>quote posts</b>." in english_page
    assert "Wir haben <b>Zitat-Beiträge</b> veröffentlicht." in german_page
    assert "We shipped" not in german_page


@pytest.mark.parametrize("who", ["anonymous", "patron", "editor", "finance without MFA"])
def test_draft_is_not_found_for_anyone_but_finance_with_mfa(client, books, make_user, who):
    report_draft(month=OCTOBER)
    if who != "anonymous":
        roles = {"patron": ("patron",), "editor": ("editor",), "finance without MFA": ("finance",)}[who]
        client.force_login(make_user(*roles, mfa=who == "editor"))

    assert client.get("/reports/2025/10/").status_code == 404
    assert client.get("/de/reports/2025/10/").status_code == 404


def test_finance_with_mfa_sees_a_draft_with_banner_noindex_and_no_store(client, books, finance_user):
    report_draft(month=OCTOBER)
    client.force_login(finance_user)

    response = client.get("/reports/2025/10/")
    soup = page(response)

    assert "Draft — not published" in text_of(soup.find(class_="report-draft-banner"))
    assert response["X-Robots-Tag"] == "noindex"
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert table_rows(soup, "Income by source")["Total income"][0] == english(books.income_total(OCTOBER))

    # Nothing of the draft was kept for the public.
    client.logout()
    assert client.get("/reports/2025/10/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/reports/2025/13/",
        "/reports/2025/00/",
        "/reports/0000/01/",
        "/reports/2024/05/",  # no report
        "/de/reports/2025/13/",
        "/reports/2025/1/",
    ],
)
def test_bad_month_urls_give_not_found(client, published, url):
    assert client.get(url).status_code == 404


def test_published_page_is_cached_and_a_new_publication_shows_next_time(
    client, books, finance_user, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(SEPTEMBER, finance_user)
    first = page(client.get("/reports/2025/09/"))
    assert first.find("a", rel="next") is None

    # The second visit takes the report's body from the cache: far fewer queries than the figures need.
    with django_assert_max_num_queries(8):
        assert client.get("/reports/2025/09/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        publish(OCTOBER, finance_user)
    second = page(client.get("/reports/2025/09/"))
    assert second.find("a", rel="next")["href"] == "/reports/2025/10/"


# --- The archive ----------------------------------------------------------------------------------


def test_archive_lists_published_years_newest_first_with_totals_and_months(client, published):
    books = published
    response = client.get("/reports/")
    soup = page(response)

    years = soup.select(".report-year")
    assert [text_of(year.h2) for year in years] == ["2025"]
    year = years[0]
    totals = {text_of(item.dt): text_of(item.dd) for item in year.select("dl div")}
    income = books.income_total(SEPTEMBER) + books.income_total(OCTOBER)
    spending = books.spending_total(SEPTEMBER) + books.spending_total(OCTOBER)
    assert totals == {
        "Income": english(income),
        "Spending": english(spending),
        "Result": english(income - spending),
    }
    assert year.find("svg", attrs={"role": "img"}) is not None
    months = [text_of(link) for link in year.select(".report-month__link")]
    assert months == ["October 2025", "September 2025"]
    links = {a["href"] for a in year.find_all("a", href=True)}
    assert {"/reports/2025/", "/reports/2025.pdf", "/reports/2025.csv", "/reports/2025.json"} <= links
    assert {
        "/reports/2025/10/",
        "/reports/2025/10.pdf",
        "/reports/2025/09.json",
        "/reports/2025/09.csv",
    } <= links
    assert soup.find("link", type="application/atom+xml")["href"] == "/reports/feed.atom"
    assert {"/reports/index.json", "/reports/feed.atom"} <= {a["href"] for a in soup.find_all("a", href=True)}


def test_archive_lists_several_years_newest_first(client, books, finance_user):
    publish(YEAR_BEFORE, finance_user)
    publish(SEPTEMBER, finance_user)
    soup = page(client.get("/reports/"))

    assert [text_of(year.h2) for year in soup.select(".report-year")] == ["2025", "2024"]
    older = soup.select(".report-year")[1]
    totals = {text_of(item.dt): text_of(item.dd) for item in older.select("dl div")}
    assert totals["Income"] == english(books.income_total(YEAR_BEFORE)) == "€300.00"


def test_german_archive(client, published):
    books = published
    soup = page(client.get("/de/reports/"))
    income = books.income_total(SEPTEMBER) + books.income_total(OCTOBER)
    assert german(income) in text_of(soup)
    assert "/de/reports/2025/10/" in {a["href"] for a in soup.find_all("a", href=True)}


def test_empty_archive_says_so_kindly(client, db):
    soup = page(client.get("/reports/"))
    assert "No monthly report has been published yet." in text_of(soup)
    assert soup.select(".report-year") == []


def test_archive_shows_drafts_only_to_finance_with_mfa(client, published, finance_user):
    report_draft(month=NOVEMBER)

    public = page(client.get("/reports/"))
    assert "November 2025" not in text_of(public)

    client.force_login(finance_user)
    response = client.get("/reports/")
    soup = page(response)
    november = [item for item in soup.select(".report-month") if "November 2025" in text_of(item)]
    assert len(november) == 1 and "Draft — not published" in text_of(november[0])
    assert "no-store" in response["Cache-Control"]

    client.logout()
    assert "November 2025" not in text_of(page(client.get("/reports/")))


def test_publishing_a_month_shows_in_the_cached_archive(
    client, books, finance_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(SEPTEMBER, finance_user)
    before = page(client.get("/reports/"))
    assert [text_of(link) for link in before.select(".report-month__link")] == ["September 2025"]

    with django_capture_on_commit_callbacks(execute=True):
        publish(OCTOBER, finance_user)
    after = page(client.get("/reports/"))
    assert [text_of(link) for link in after.select(".report-month__link")] == [
        "October 2025",
        "September 2025",
    ]
