"""The report files: a month's and a year's PDF, CSV and JSON, ``/reports/index.json`` and
``/reports/feed.atom``.

The books are made here with ``ledger.services.transaction_post``; the expected figures are summed in this
file from the very entries it posted (``ENTRIES``), never with the report code. Money in the PDFs is written
out in English and German notation here, independently of the code under test, and read back with pypdf.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from pypdf import PdfReader

from fundraising.models import Interval, Patronage
from ledger.services import PostingLine, transaction_post
from reports.services import report_draft, report_publish
from tests.factories.fundraising import PatronageFactory

pytestmark = pytest.mark.django_db

OCTOBER_LAST_YEAR = datetime.date(2025, 10, 1)
SEPTEMBER = datetime.date(2026, 9, 1)
OCTOBER = datetime.date(2026, 10, 1)
NOVEMBER = datetime.date(2026, 11, 1)  # stays a draft
D = Decimal

# (booking date, key, [(account, amount)]): positive = debit, negative = credit.
ENTRIES = [
    (
        datetime.date(2025, 10, 14),
        "2025-10:donation",
        [("bank", D("300.00")), ("income-donations", D("-300.00"))],
    ),
    (
        datetime.date(2026, 9, 2),
        "2026-09:donation",
        [("bank", D("1000.00")), ("income-donations", D("-1000.00"))],
    ),
    (
        datetime.date(2026, 9, 30),
        "2026-09:hosting",
        [("expense-hosting", D("1200.00")), ("bank", D("-1200.00"))],
    ),
    (
        datetime.date(2026, 10, 3),
        "2026-10:patrons",
        [("stripe", D("595.00")), ("income-patrons-perks", D("-500.00")), ("vat-payable-19", D("-95.00"))],
    ),
    (
        datetime.date(2026, 10, 5),
        "2026-10:refund",
        [("income-patrons-perks", D("50.00")), ("vat-payable-19", D("9.50")), ("stripe", D("-59.50"))],
    ),
    (
        datetime.date(2026, 10, 7),
        "2026-10:fee",
        [("expense-payment-fees", D("17.85")), ("stripe", D("-17.85"))],
    ),
    (
        datetime.date(2026, 10, 9),
        "2026-10:donation",
        [("bank", D("250.00")), ("income-donations", D("-250.00"))],
    ),
    (
        datetime.date(2026, 10, 20),
        "2026-10:grant",
        [("bank", D("12000.00")), ("income-grants", D("-12000.00"))],
    ),
    (
        datetime.date(2026, 10, 30),
        "2026-10:pay",
        [("expense-salaries", D("4000.00")), ("bank", D("-4000.00"))],
    ),
    (
        datetime.date(2026, 10, 30),
        "2026-10:freelancer",
        [("expense-freelancers", D("1500.00")), ("bank", D("-1500.00"))],
    ),
    (
        datetime.date(2026, 10, 31),
        "2026-10:hosting",
        [("expense-hosting", D("321.45")), ("bank", D("-321.45"))],
    ),
    (
        datetime.date(2026, 11, 12),
        "2026-11:donation",
        [("bank", D("80.00")), ("income-donations", D("-80.00"))],
    ),
]

# How this test reads the accounts it used (the default chart's report categories).
INCOME_ACCOUNTS = {
    "income-patrons-perks": "patrons",
    "income-donations": "donations",
    "income-grants": "grants",
}
SPENDING_ACCOUNTS = {
    "expense-salaries": "personnel",
    "expense-freelancers": "freelancers",
    "expense-hosting": "hosting",
    "expense-payment-fees": "payment_fees",
}
INCOME_KEYS = ["patrons", "donations", "sponsorships", "grants", "services", "other"]
SPENDING_KEYS = ["personnel", "freelancers", "hosting", "payment_fees", "other"]
CASH_ACCOUNTS = {"bank", "stripe"}


def month_last_day(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def expected(month: datetime.date) -> dict:
    """The month's figures summed from ``ENTRIES``."""
    income = dict.fromkeys(INCOME_KEYS, D("0.00"))
    spending = dict.fromkeys(SPENDING_KEYS, D("0.00"))
    cash = D("0.00")
    for day, _key, lines in ENTRIES:
        for account, amount in lines:
            if account in CASH_ACCOUNTS and day <= month_last_day(month):
                cash += amount
            if day.replace(day=1) != month:
                continue
            if account in INCOME_ACCOUNTS:
                income[INCOME_ACCOUNTS[account]] -= amount
            if account in SPENDING_ACCOUNTS:
                spending[SPENDING_ACCOUNTS[account]] += amount
    income_total, spending_total = sum(income.values()), sum(spending.values())
    return {
        "income": income,
        "spending": spending,
        "income_total": income_total,
        "spending_total": spending_total,
        "result": income_total - spending_total,
        "cash_end": cash,
        "development": spending["personnel"] + spending["freelancers"],
    }


def text(amount: Decimal) -> str:
    return f"{amount.quantize(D('0.01'))}"


def english_money(amount: Decimal) -> str:
    """-1234.5 -> "-€1,234.50" """
    sign = "-" if amount < 0 else ""
    return f"{sign}€{abs(amount):,.2f}"


def german_money(amount: Decimal) -> str:
    """-1234.5 -> "-1.234,50 €" """
    digits = f"{abs(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{'-' if amount < 0 else ''}{digits} €"


def pdf_text(pdf: bytes) -> str:
    """All pages' text with every run of white space (including no-break spaces) as one space."""
    assert pdf.startswith(b"%PDF-")
    content = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", content.replace("\xa0", " ").replace("\u202f", " "))


def path_of(url: str) -> str:
    assert url.startswith(settings.SITE_URL.rstrip("/") + "/"), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def finance(make_user):
    return make_user("finance", mfa=True)


@pytest.fixture
def books(organisation, finance, django_capture_on_commit_callbacks):
    """The entries posted; October 2025, September and October 2026 published; November 2026 a draft.
    Patrons of October 2026: two started in it (10.00 a month, 120.00 a year), one ended in it."""
    for day, key, lines in ENTRIES:
        transaction_post(
            booking_date=day,
            description=key,
            idempotency_key=key,
            lines=[PostingLine(account, amount) for account, amount in lines],
        )
    october = timezone.make_aware(datetime.datetime(2026, 10, 10, 12))
    PatronageFactory(amount=D("10.00"), interval=Interval.MONTH, started_at=october)
    PatronageFactory(amount=D("120.00"), interval=Interval.YEAR, started_at=october)
    PatronageFactory(
        amount=D("7.00"),
        interval=Interval.MONTH,
        status=Patronage.Status.CANCELED,
        started_at=timezone.make_aware(datetime.datetime(2026, 5, 2, 12)),
        ended_at=timezone.make_aware(datetime.datetime(2026, 10, 15, 12)),
    )
    for month in (OCTOBER_LAST_YEAR, SEPTEMBER, OCTOBER):
        with django_capture_on_commit_callbacks(execute=True):
            report_publish(report=report_draft(month=month), by=finance)
    report_draft(month=NOVEMBER)


# --- Month JSON -----------------------------------------------------------------------------------


def test_month_json_holds_the_issues_format_with_the_sums_of_the_postings(client, books):
    response = client.get("/reports/2026/10.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Disposition"] == 'inline; filename="report-2026-10.json"'
    assert "public" in response["Cache-Control"]
    data = json.loads(response.content)
    october = expected(OCTOBER)
    assert {key: data[key] for key in ("period", "currency", "status")} == {
        "period": "2026-10",
        "currency": "EUR",
        "status": "published",
    }
    assert data["income"] == {
        **{key: text(october["income"][key]) for key in INCOME_KEYS},
        "total": text(october["income_total"]),
    }
    assert data["income"]["total"] == "12700.00"  # 450.00 patrons (50.00 refunded), 250.00, 12000.00
    assert data["spending"] == {
        **{key: text(october["spending"][key]) for key in SPENDING_KEYS},
        "total": text(october["spending_total"]),
    }
    assert data["result"] == text(october["result"])
    assert data["cash_end"] == text(october["cash_end"])
    assert data["patrons"] == {"active": 2, "new": 2, "ended": 1, "monthly_recurring": "20.00"}
    share = (october["development"] * 100 / october["spending_total"]).quantize(D("0.1"), ROUND_HALF_UP)
    assert data["development_share"] == f"{share}"
    september, last_year = expected(SEPTEMBER), expected(OCTOBER_LAST_YEAR)
    assert data["previous_month"] == {
        "period": "2026-09",
        "income_total": text(september["income_total"]),
        "spending_total": text(september["spending_total"]),
        "result": text(september["result"]),
    }
    assert data["same_month_last_year"]["income_total"] == text(last_year["income_total"])
    assert set(data["links"]) == {"html", "html_de", "json", "pdf", "csv"}
    assert path_of(data["links"]["pdf"]) == "/reports/2026/10.pdf"
    assert path_of(data["links"]["html_de"]) == "/de/reports/2026/10/"


def test_every_amount_in_the_json_is_a_string_with_two_decimals(client, books):
    data = json.loads(client.get("/reports/2026/10.json").content)
    amounts = [
        *data["income"].values(),
        *data["spending"].values(),
        data["result"],
        data["cash_end"],
        data["patrons"]["monthly_recurring"],
    ]
    assert all(isinstance(amount, str) and re.fullmatch(r"-?\d+\.\d\d", amount) for amount in amounts)


# --- Month PDF ------------------------------------------------------------------------------------


def month_totals(month: datetime.date) -> list[Decimal]:
    figures = expected(month)
    return [
        *figures["income"].values(),
        figures["income_total"],
        *figures["spending"].values(),
        figures["spending_total"],
        figures["result"],
        figures["cash_end"],
    ]


def test_month_pdf_in_english_holds_the_same_totals_as_the_json(client, books):
    response = client.get("/reports/2026/10.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report-2026-10.pdf"'
    content = pdf_text(response.content)
    data = json.loads(client.get("/reports/2026/10.json").content)
    for amount in (data["income"]["total"], data["spending"]["total"], data["result"], data["cash_end"]):
        assert english_money(D(amount)) in content
    for amount in month_totals(OCTOBER):
        assert english_money(amount) in content
    assert english_money(expected(SEPTEMBER)["result"]) in content  # -€200.00, the previous month
    assert "Monthly report October 2026" in content
    assert "Fediverse Commons gGmbH" in content
    assert "Oranienstraße 183" in content
    assert "94.2 %" in content  # development share: 5500.00 of 5839.30
    assert "/reports/2026/10.pdf" in content
    assert "DRAFT" not in content


def test_month_pdf_in_german_writes_the_totals_the_german_way(client, books):
    response = client.get("/reports/2026/10.pdf?lang=de")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report-2026-10-de.pdf"'
    content = pdf_text(response.content)
    for amount in month_totals(OCTOBER):
        assert german_money(amount) in content
    assert "12.700,00 €" in content
    assert "Monatsbericht Oktober 2026" in content
    assert "94,2 %" in content


def test_month_pdf_shows_the_commentary_without_anything_unsafe_or_outside(
    client, books, finance, monkeypatch
):
    import socket

    from reports.models import MonthlyReport
    from reports.services import report_commentary_save

    report = MonthlyReport.objects.get(month=OCTOBER)
    report_commentary_save(
        report=report,
        commentary_en=(
            '<p>We shipped the <b>search</b>.</p><script>alert("x")</script>'
            '<p><img src="https://tracker.example/pixel.png">Thanks!</p>'
            '<style>@import url("https://fonts.example/font.css");</style>'
        ),
        commentary_de="<p>Wir haben die Suche veröffentlicht.</p>",
        by=finance,
    )
    connections = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connections.append(address))

    english = pdf_text(client.get("/reports/2026/10.pdf").content)
    german = pdf_text(client.get("/reports/2026/10.pdf?lang=de").content)

    assert "We shipped the search." in english
    assert "Thanks!" in english
    assert "alert" not in english
    assert "fonts.example" not in english
    assert "Wir haben die Suche veröffentlicht." in german
    assert connections == []  # nothing was fetched from outside


# --- Month CSV ------------------------------------------------------------------------------------


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_month_csv_has_one_row_per_figure_matching_the_json(client, books):
    response = client.get("/reports/2026/10.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="report-2026-10.csv"'
    rows = csv_rows(response.content)
    assert rows[0] == ["section", "key", "label", "amount"]
    values = {(section, key): amount for section, key, _label, amount in rows[1:]}
    data = json.loads(client.get("/reports/2026/10.json").content)
    for key, amount in data["income"].items():
        assert values[("income", key)] == amount
    for key, amount in data["spending"].items():
        assert values[("spending", key)] == amount
    assert values[("result", "result")] == data["result"]
    assert values[("cash_end", "cash_end")] == data["cash_end"]
    assert values[("development", "share")] == data["development_share"]
    assert values[("patrons", "active")] == "2"
    assert values[("patrons", "new")] == "2"
    assert values[("patrons", "ended")] == "1"
    assert values[("patrons", "monthly_recurring")] == "20.00"
    assert ["income", "patrons", "Patrons", "450.00"] in rows


def test_csv_text_cells_are_neutralised_and_negative_amounts_stay_numbers(client, books, monkeypatch):
    from reports import documents

    monkeypatch.setitem(documents.INCOME_LABELS, "donations", ('=HYPERLINK("http://x.example")', "=X"))

    month = csv_rows(client.get("/reports/2026/10.csv").content)
    year = csv_rows(client.get("/reports/2026.csv").content)

    assert ["income", "donations", '\'=HYPERLINK("http://x.example")', "250.00"] in month
    result = next(row for row in year if row[:2] == ["result", "result"])
    assert result[3] == "-200.00"  # September: 1000.00 in, 1200.00 out; a number, not neutralised


# --- Year files -----------------------------------------------------------------------------------


def test_year_json_holds_the_published_months_only_and_says_which(client, books):
    response = client.get("/reports/2026.json")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    data = json.loads(response.content)
    september, october = expected(SEPTEMBER), expected(OCTOBER)
    assert data["period"] == "2026"
    assert data["status"] == "published"
    assert data["months_included"] == ["2026-09", "2026-10"]
    assert [month["period"] for month in data["months"]] == ["2026-09", "2026-10"]
    assert data["income"]["total"] == text(september["income_total"] + october["income_total"])
    assert data["spending"]["total"] == text(september["spending_total"] + october["spending_total"])
    assert data["income"]["donations"] == text(
        september["income"]["donations"] + october["income"]["donations"]
    )
    assert data["result"] == text(september["result"] + october["result"])
    assert data["cash_end"] == text(october["cash_end"])
    assert path_of(data["links"]["pdf"]) == "/reports/2026.pdf"


def test_year_csv_has_a_column_per_month_and_the_total(client, books):
    rows = csv_rows(client.get("/reports/2026.csv").content)

    assert rows[0] == ["section", "key", "label", "2026-09", "2026-10", "total"]
    september, october = expected(SEPTEMBER), expected(OCTOBER)
    income = next(row for row in rows if row[:2] == ["income", "total"])
    assert income[3:] == [
        text(september["income_total"]),
        text(october["income_total"]),
        text(september["income_total"] + october["income_total"]),
    ]
    cash = next(row for row in rows if row[:2] == ["cash_end", "cash_end"])
    assert cash[3:] == [text(september["cash_end"]), text(october["cash_end"]), text(october["cash_end"])]


def test_year_pdf_holds_the_year_totals_and_the_annual_sections(client, books):
    response = client.get("/reports/2026.pdf")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report-2026.pdf"'
    content = pdf_text(response.content)
    september, october = expected(SEPTEMBER), expected(OCTOBER)
    for amount in (
        september["income_total"] + october["income_total"],
        september["spending_total"] + october["spending_total"],
        september["result"] + october["result"],
        october["cash_end"],
        september["income_total"],
        october["income_total"],
    ):
        assert english_money(amount) in content
    assert "Annual report 2026" in content
    assert "September 2026, October 2026" in content  # the months included
    assert "November 2026" not in content  # a draft: not public
    assert "Personnel structure" in content
    assert "Payers above 10 %" in content

    german = pdf_text(client.get("/reports/2026.pdf?lang=de").content)
    assert german_money(september["income_total"] + october["income_total"]) in german
    assert "Jahresbericht 2026" in german


# --- Drafts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "pdf"])
def test_a_draft_is_not_found_for_the_public(client, books, fmt):
    assert client.get(f"/reports/2026/11.{fmt}").status_code == 404


def test_a_draft_is_not_found_for_finance_without_mfa(client, books, make_user):
    client.force_login(make_user("finance", mfa=False))

    assert client.get("/reports/2026/11.json").status_code == 404


def test_finance_with_mfa_sees_a_draft_never_cached(finance_client, books):
    response = finance_client.get("/reports/2026/11.json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert "Access-Control-Allow-Origin" not in response
    data = json.loads(response.content)
    assert data["status"] == "draft"
    assert data["income"]["donations"] == "80.00"

    transaction_post(  # November is open: the draft shows the new posting at once
        booking_date=datetime.date(2026, 11, 20),
        description="late donation",
        idempotency_key="2026-11:late",
        lines=[PostingLine("bank", D("20.00")), PostingLine("income-donations", D("-20.00"))],
    )
    again = json.loads(finance_client.get("/reports/2026/11.json").content)
    assert again["income"]["donations"] == "100.00"


def test_a_draft_pdf_for_finance_carries_the_draft_banner(finance_client, books):
    response = finance_client.get("/reports/2026/11.pdf")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    content = pdf_text(response.content)
    assert "Draft — not published" in content
    assert "DRAFT" in content
    assert english_money(D("80.00")) in content


def test_finance_sees_the_year_with_its_drafts_not_cached(finance_client, books):
    response = finance_client.get("/reports/2026.json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    data = json.loads(response.content)
    assert data["status"] == "draft"
    assert data["months_included"] == ["2026-09", "2026-10", "2026-11"]
    assert [month["status"] for month in data["months"]] == ["published", "published", "draft"]


# --- Bad addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/reports/2026/13.json",
        "/reports/2026/00.csv",
        "/reports/0000/10.pdf",
        "/reports/0000.pdf",
        "/reports/2026/07.json",  # no report
        "/reports/2031.json",  # no report in the year
        "/reports/2026/10.xml",
        "/reports/2026/1.json",
    ],
)
def test_bad_addresses_are_not_found(client, books, url):
    assert client.get(url).status_code == 404


# --- Index and feed -------------------------------------------------------------------------------


def test_index_lists_the_published_months_and_years_with_working_addresses(finance_client, books):
    response = finance_client.get("/reports/index.json")  # finance too: never drafts in the index

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    index = json.loads(response.content)
    assert [month["period"] for month in index["months"]] == ["2026-10", "2026-09", "2025-10"]
    assert [year["year"] for year in index["years"]] == [2026, 2025]
    october = index["months"][0]
    assert path_of(october["json"]) == "/reports/2026/10.json"
    assert path_of(october["html"]) == "/reports/2026/10/"
    assert path_of(october["html_de"]) == "/de/reports/2026/10/"
    for entry in [*index["months"], *index["years"]]:
        for fmt in ("json", "pdf", "csv", "html", "html_de"):
            assert finance_client.get(path_of(entry[fmt])).status_code == 200, entry[fmt]


def test_publishing_a_month_changes_the_index(client, books, finance, django_capture_on_commit_callbacks):
    from reports.models import MonthlyReport

    before = json.loads(client.get("/reports/index.json").content)
    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report=MonthlyReport.objects.get(month=NOVEMBER), by=finance)
    after = json.loads(client.get("/reports/index.json").content)

    assert "2026-11" not in [month["period"] for month in before["months"]]
    assert [month["period"] for month in after["months"]][0] == "2026-11"
    assert client.get("/reports/2026/11.json").status_code == 200


ATOM = "{http://www.w3.org/2005/Atom}"


def test_feed_announces_each_published_report(client, books):
    from reports.models import MonthlyReport

    response = client.get("/reports/feed.atom")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == [
        "Monthly report October 2026",
        "Monthly report September 2026",
        "Monthly report October 2025",
    ]
    october = entries[0]
    assert path_of(october.find(f"{ATOM}link").get("href")) == "/reports/2026/10/"
    published = MonthlyReport.objects.get(month=OCTOBER).first_published_at
    assert datetime.datetime.fromisoformat(october.findtext(f"{ATOM}updated")) == published
    figures = expected(OCTOBER)
    summary = october.findtext(f"{ATOM}summary").replace("\xa0", " ")
    for amount in (figures["income_total"], figures["spending_total"], figures["result"]):
        assert english_money(amount) in summary
