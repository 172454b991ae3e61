"""The reports' SVG charts: well-formed, accessible, escaped, self-contained, and drawn for any figures."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from django.utils import translation

from reports.charts import income_mix_chart, income_spending_chart, year_sparkline
from reports.figures import MonthFigures, PatronFigures, YearFigures

SVG = "{http://www.w3.org/2000/svg}"
INCOME_KEYS = ("patrons", "donations", "sponsorships", "grants", "services", "other")
SPENDING_KEYS = ("personnel", "freelancers", "hosting", "payment_fees", "other")


def month(day: datetime.date, income: dict | None = None, spending: dict | None = None, cash="0.00"):
    income = {key: Decimal((income or {}).get(key, "0.00")) for key in INCOME_KEYS}
    spending = {key: Decimal((spending or {}).get(key, "0.00")) for key in SPENDING_KEYS}
    return MonthFigures(month=day, income=income, spending=spending, cash_end=Decimal(cash))


def year(number: int, months: list[MonthFigures]) -> YearFigures:
    return YearFigures(year=number, months=months, patrons_end=PatronFigures(0, 0, 0, Decimal("0.00")))


def months_of(count: int, **figures) -> list[MonthFigures]:
    firsts = []
    day = datetime.date(2026, 10, 1)
    for _ in range(count):
        firsts.insert(0, day)
        day = (day - datetime.timedelta(days=1)).replace(day=1)
    return [month(first, **figures) for first in firsts]


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed SVG to work in browsers and in WeasyPrint."""
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def assert_accessible_and_self_contained(svg: str) -> ET.Element:
    root = parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text
    assert desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    text = str(svg)
    assert "<script" not in text and "javascript:" not in text.lower()
    assert "href" not in text and "url(" not in text and "var(" not in text
    assert text.count("http") == 1  # the SVG namespace only: no outside URL
    for element in root.iter():
        for attribute in ("width", "height"):
            if element.get(attribute) is not None:
                assert float(element.get(attribute)) >= 0, element.attrib
        assert "nan" not in " ".join(element.attrib.values()).lower()
    return root


def test_income_spending_chart_names_every_month_and_amount():
    history = months_of(
        12, income={"patrons": "1200.00", "grants": "800.00"}, spending={"personnel": "1500.50"}
    )
    svg = income_spending_chart(history)

    root = assert_accessible_and_self_contained(svg)
    assert root.find(f"{SVG}title").text == "Income and spending per month"
    description = root.find(f"{SVG}desc").text
    assert description.startswith("November 2025: income €2,000.00, spending €1,500.50;")
    assert description.endswith("October 2026: income €2,000.00, spending €1,500.50.")
    labels = [element.text for element in root.iter(f"{SVG}text")]
    assert labels.count("Nov") == 1 and "Oct" in labels and "2025" in labels and "2026" in labels
    assert "€2,000" in labels  # a round euro tick on the axis
    # Twelve income bars and twelve spending bars of the same height each.
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("height") not in (None, "14", "12", "300")]
    assert len(bars) == 24


def test_charts_in_german_use_german_months_and_numbers():
    history = months_of(3, income={"donations": "1234.50"}, spending={"hosting": "99.00"})
    with translation.override("de"):
        root = parse(income_spending_chart(history))
        mix = parse(income_mix_chart(history[-1]))

    labels = [element.text for element in root.iter(f"{SVG}text")]
    assert "Okt" in labels and "Aug" in labels
    assert "1.000\xa0€" in labels
    assert "Oktober 2026: " in root.find(f"{SVG}desc").text
    assert "1.234,50\xa0€" in root.find(f"{SVG}desc").text
    legend = [element.text for element in mix.iter(f"{SVG}text")]
    assert any(text.startswith("Spenden: 1.234,50\xa0€ (100,0\xa0%)") for text in legend)


def test_income_mix_legend_names_each_source_with_amount_and_share():
    figures = month(
        datetime.date(2026, 10, 1),
        income={"patrons": "300.00", "donations": "100.00", "grants": "600.00"},
    )
    svg = income_mix_chart(figures)

    root = assert_accessible_and_self_contained(svg)
    legend = [element.text for element in root.iter(f"{SVG}text")]
    assert "Patrons: €300.00 (30.0%)" in legend
    assert "Donations: €100.00 (10.0%)" in legend
    assert "Grants: €600.00 (60.0%)" in legend
    assert "Sponsorships: €0.00" in legend
    assert root.find(f"{SVG}title").text == "Income by source, October 2026"
    assert "Income €1,000.00 in all" in root.find(f"{SVG}desc").text


def test_income_mix_of_a_year():
    figures = year(
        2026,
        [
            month(datetime.date(2026, 1, 1), income={"grants": "500.00"}),
            month(datetime.date(2026, 2, 1), income={"grants": "500.00", "services": "1000.00"}),
        ],
    )
    root = assert_accessible_and_self_contained(income_mix_chart(figures))
    assert root.get("aria-labelledby").startswith("income-mix-2026-title")
    legend = [element.text for element in root.iter(f"{SVG}text")]
    assert "Grants: €1,000.00 (50.0%)" in legend and "Services: €1,000.00 (50.0%)" in legend


def test_charts_render_without_any_figures():
    empty = months_of(12)
    assert_accessible_and_self_contained(income_spending_chart(empty))
    assert_accessible_and_self_contained(income_spending_chart([]))
    mix = assert_accessible_and_self_contained(income_mix_chart(empty[-1]))
    assert "No income in this period" in [element.text for element in mix.iter(f"{SVG}text")]
    assert_accessible_and_self_contained(year_sparkline(year(2026, empty[-10:])))
    assert_accessible_and_self_contained(year_sparkline(year(2026, [])))


def test_charts_render_negative_results_and_refunds_above_income():
    history = months_of(
        4,
        income={"patrons": "-250.00", "donations": "100.00"},  # refunds exceeded patron income
        spending={"personnel": "3000.00", "other": "-20.00"},
    )
    root = assert_accessible_and_self_contained(income_spending_chart(history))
    labels = [element.text for element in root.iter(f"{SVG}text")]
    assert any(label.startswith("-€") for label in labels)  # the axis reaches below zero
    assert "income -€150.00, spending €2,980.00" in root.find(f"{SVG}desc").text

    mix = assert_accessible_and_self_contained(income_mix_chart(history[-1]))
    legend = [element.text for element in mix.iter(f"{SVG}text")]
    assert "Patrons: -€250.00" in legend
    assert "Donations: €100.00 (100.0%)" in legend
    assert_accessible_and_self_contained(year_sparkline(year(2026, history)))


def test_charts_render_a_single_month():
    only = [month(datetime.date(2026, 3, 1), income={"donations": "50.00"}, spending={"hosting": "20.00"})]
    root = assert_accessible_and_self_contained(income_spending_chart(only))
    assert root.find(f"{SVG}desc").text == "March 2026: income €50.00, spending €20.00."

    sparkline = assert_accessible_and_self_contained(year_sparkline(year(2026, only)))
    assert len(list(sparkline.iter(f"{SVG}circle"))) == 2  # one point each for income and spending
    assert list(sparkline.iter(f"{SVG}polyline")) == []
    assert sparkline.find(f"{SVG}title").text == "Income and spending per month in 2026"


def test_year_sparkline_draws_a_line_per_figure_over_the_year():
    months = [
        month(
            datetime.date(2026, number, 1),
            income={"patrons": f"{number * 100}.00"},
            spending={"hosting": "300.00"},
        )
        for number in range(1, 13)
    ]
    root = assert_accessible_and_self_contained(year_sparkline(year(2026, months)))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    assert [len(line.get("points").split()) for line in lines] == [12, 12]
    assert {line.get("stroke-dasharray") for line in lines} == {None, "4 3"}  # solid income, dashed spending
    assert root.get("aria-labelledby") == "year-2026-sparkline-title year-2026-sparkline-desc"
    assert "December 2026: income €1,200.00, spending €300.00." in root.find(f"{SVG}desc").text


def test_chart_text_is_escaped():
    hostile = '<script>alert("x")</script> & "quotes"'
    svg = str(income_spending_chart(months_of(2), title=hostile, chart_id='x" onload="alert(1)'))

    root = parse(svg)
    assert root.find(f"{SVG}title").text == hostile
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'onload="' not in svg
    assert root.get("onload") is None


@pytest.mark.parametrize("language", ["en", "de"])
def test_data_table_next_to_the_chart(language):
    history = months_of(2, income={"grants": "1000.00"}, spending={"personnel": "400.00"})
    with translation.override(language):
        html = str(income_spending_chart(history, with_table=True))
    soup = BeautifulSoup(html, "html.parser")

    figure = soup.find("figure")
    assert figure.find("svg", attrs={"role": "img"}) is not None
    details = figure.find("details")
    assert details.summary.get_text()
    table = details.find("table")
    assert table.caption.get_text()
    assert [th["scope"] for th in table.thead.find_all("th")] == ["col"] * 4
    rows = table.tbody.find_all("tr")
    assert len(rows) == 2 and rows[0].th["scope"] == "row"
    cells = [td.get_text() for td in rows[-1].find_all("td")]
    if language == "en":
        assert rows[-1].th.get_text() == "October 2026"
        assert cells == ["€1,000.00", "€400.00", "€600.00"]
    else:
        assert rows[-1].th.get_text() == "Oktober 2026"
        assert cells == ["1.000,00\xa0€", "400,00\xa0€", "600,00\xa0€"]


def test_mix_and_sparkline_tables():
    figures = month(datetime.date(2026, 10, 1), income={"patrons": "250.00", "donations": "750.00"})
    soup = BeautifulSoup(str(income_mix_chart(figures, with_table=True)), "html.parser")
    rows = {tr.th.get_text(): [td.get_text() for td in tr.find_all("td")] for tr in soup.tbody.find_all("tr")}
    assert rows["Patrons"] == ["€250.00", "25.0%"]
    assert rows["Total"] == ["€1,000.00", ""]

    sparkline = BeautifulSoup(str(year_sparkline(year(2026, [figures]), with_table=True)), "html.parser")
    assert (
        sparkline.find("details").find("table").caption.get_text() == "Income and spending per month in 2026"
    )
