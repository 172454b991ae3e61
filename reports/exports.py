"""The reports as CSV (docs/reports.md): one row per figure, the same figures as the page, PDF and JSON.

- ``month_csv``: ``section,key,label,amount``: income by source and its total, spending by category and its
  total, result, cash at the end of the month, the development share and spending, then the patrons.
- ``year_csv``: ``section,key,label`` and one column per month included (``2026-01`` …) and ``total``: the
  year's sum for income and spending; for figures that are a state at a moment (cash at the end, active
  patrons, monthly recurring income) the value at the end of the last month included.

UTF-8 with a byte order mark (spreadsheets then read the umlauts right), comma-separated, CRLF line ends.
Amounts with a decimal point, two decimals and no thousands separator (``1234.50``); counts as whole
numbers; the development share as a percentage with one decimal, empty without spending. Every text cell
goes through ``ledger.viewsets.cell_neutralise``, so no cell ever runs as a formula in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from ledger.viewsets import cell_neutralise

from .documents import INCOME_LABELS, SPENDING_LABELS, development_share, document_language, pick
from .figures import MonthFigures, MonthReportData, PatronFigures, YearFigures, money_text, patron_figures

BYTE_ORDER_MARK = "\ufeff"

# (English, German)
ROW_LABELS: dict[str, tuple[str, str]] = {
    "income_total": ("Total income", "Einnahmen gesamt"),
    "spending_total": ("Total spending", "Ausgaben gesamt"),
    "result": ("Result (income minus spending)", "Ergebnis (Einnahmen minus Ausgaben)"),
    "cash_end": ("Cash at the end of the month", "Liquide Mittel am Monatsende"),
    "development_share": ("Development share (% of spending)", "Anteil Entwicklung (% der Ausgaben)"),
    "development_spending": (
        "Development spending (personnel and freelancers)",
        "Ausgaben für Entwicklung (Personal und freie Mitarbeit)",
    ),
    "patrons_active": ("Active patrons at the end of the month", "Aktive Unterstützer:innen am Monatsende"),
    "patrons_new": ("New patrons in the month", "Neue Unterstützer:innen im Monat"),
    "patrons_ended": ("Patrons who ended their support in the month", "Beendete Unterstützungen im Monat"),
    "monthly_recurring": (
        "Monthly recurring income pledged at the end of the month",
        "Zugesagte monatliche Einnahmen am Monatsende",
    ),
}
HEADER = ["section", "key", "label"]  # the column names stay English in every language: keys, not words


def _development(figures: MonthFigures | YearFigures) -> Decimal:
    return figures.spending["personnel"] + figures.spending["freelancers"]


def _share_text(figures: MonthFigures | YearFigures) -> str:
    if isinstance(figures, MonthFigures):
        share = figures.development_share  # exactly the JSON's
    else:
        share = development_share(_development(figures), figures.spending_total)
    return "" if share is None else f"{share}"


def _text_cells(section: str, key: str, label: str) -> list[str]:
    return [cell_neutralise(section), cell_neutralise(key), cell_neutralise(str(label))]


def _rows(columns: list[MonthFigures | YearFigures], patrons: list[PatronFigures], *, language: str) -> list:
    """One row per figure: section, key and label, then the figure of each column (a month, or the year
    for the total column; ``patrons`` goes with ``columns``)."""
    labels = pick(ROW_LABELS, language)
    money_figures = [
        *(
            ("income", key, label, lambda f, key=key: f.income[key])
            for key, label in pick(INCOME_LABELS, language).items()
        ),
        ("income", "total", labels["income_total"], lambda f: f.income_total),
        *(
            ("spending", key, label, lambda f, key=key: f.spending[key])
            for key, label in pick(SPENDING_LABELS, language).items()
        ),
        ("spending", "total", labels["spending_total"], lambda f: f.spending_total),
        ("result", "result", labels["result"], lambda f: f.result),
        ("cash_end", "cash_end", labels["cash_end"], lambda f: f.cash_end),
    ]
    rows = [
        [*_text_cells(section, key, label), *(money_text(amount(f)) for f in columns)]
        for section, key, label, amount in money_figures
    ]
    rows.append(
        [*_text_cells("development", "share", labels["development_share"]), *map(_share_text, columns)]
    )
    rows.append(
        [
            *_text_cells("development", "spending", labels["development_spending"]),
            *(money_text(_development(f)) for f in columns),
        ]
    )
    rows += [
        [*_text_cells("patrons", "active", labels["patrons_active"]), *(str(p.active) for p in patrons)],
        [*_text_cells("patrons", "new", labels["patrons_new"]), *(str(p.new) for p in patrons)],
        [*_text_cells("patrons", "ended", labels["patrons_ended"]), *(str(p.ended) for p in patrons)],
        [
            *_text_cells("patrons", "monthly_recurring", labels["monthly_recurring"]),
            *(money_text(p.monthly_recurring) for p in patrons),
        ],
    ]
    return rows


def _write(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    buffer.write(BYTE_ORDER_MARK)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell_neutralise(cell) for cell in header])
    writer.writerows(rows)
    return buffer.getvalue()


def month_csv(data: MonthReportData, *, language: str = "en") -> str:
    """A month's figures as CSV text (starting with the byte order mark): ``section,key,label,amount``."""
    rows = _rows([data.figures], [data.patrons], language=document_language(language))
    return _write([*HEADER, "amount"], rows)


def year_csv(figures: YearFigures, *, language: str = "en") -> str:
    """A year's figures as CSV text: one column per month of ``figures`` (the months included) and
    ``total``: the year's sums, and for states at a moment (cash, active patrons, monthly recurring income)
    the value at the end of the last month included."""
    patrons = [patron_figures(m.month) for m in figures.months]
    year_patrons = PatronFigures(
        active=patrons[-1].active if patrons else 0,
        new=sum(p.new for p in patrons),
        ended=sum(p.ended for p in patrons),
        monthly_recurring=patrons[-1].monthly_recurring if patrons else Decimal("0.00"),
    )
    rows = _rows([*figures.months, figures], [*patrons, year_patrons], language=document_language(language))
    return _write([*HEADER, *(f"{m.month:%Y-%m}" for m in figures.months), "total"], rows)
