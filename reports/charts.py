"""The reports' charts, drawn on the server as SVG: no JavaScript, no outside URL, fine in a WeasyPrint PDF.

- ``income_spending_chart(history)``: income and spending per month as paired bars (the last 12 months of a
  monthly report, or the months of a year), with a euro axis and localised month names.
- ``income_mix_chart(figures)``: the income mix by source as one horizontal stacked bar, with a legend that
  names each source with its amount and its share (readable without colour, and in the same order).
- ``year_sparkline(year)``: a small chart for the archive: income (solid line) and spending (dashed line)
  per month of one year.

Every chart has ``role="img"``, a ``<title>`` and a ``<desc>`` that says every figure in words; with
``with_table=True`` it comes inside a ``<figure>`` followed by a ``<details>`` data table with the same
figures (for HTML pages; leave it off in PDFs). All text is escaped here (``django.utils.html``); the
attributes are plain SVG presentation attributes (no CSS variables, no classes needed), colours meet
WCAG AA: text ≥ 4.5:1, bars and lines ≥ 3:1 on white, and income and spending also differ in shape (solid
against outlined bars, solid against dashed lines).

The labels of the income sources and spending categories (``INCOME_LABELS``, ``SPENDING_LABELS``) and the
formatting of amounts and percentages (``money``, ``percent``) live here too, so that pages, PDFs and
charts name and write things the same way.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils import dateformat, formats
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from fundraising.public import active_language, money_display

from .figures import MonthFigures, YearFigures, percent_share

ZERO = Decimal("0.00")

# Colours (on white): text ≥ 4.5:1, graphics ≥ 3:1.
TEXT = "#1a1d3a"
MUTED = "#4a5068"  # 8:1
GRID = "#dcdbe6"
AXIS = "#4a5068"
INCOME_COLOUR = "#0f766e"  # teal, 5.5:1
SPENDING_COLOUR = "#9a3412"  # dark orange, 7.3:1
SPENDING_FILL = "#fbd5c0"  # light fill inside the dark outline: outlined, not solid, bars
SOURCE_COLOURS = {
    "patrons": "#3730a3",  # indigo, 10:1
    "donations": "#0f766e",  # teal, 5.5:1
    "sponsorships": "#a21caf",  # fuchsia, 6.2:1
    "grants": "#b45309",  # amber, 5:1
    "services": "#4d7c0f",  # green, 5.2:1
    "other": "#57534e",  # stone, 7.6:1
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif"

INCOME_LABELS = {
    "patrons": gettext_lazy("Patrons"),
    "donations": gettext_lazy("Donations"),
    "sponsorships": gettext_lazy("Sponsorships"),
    "grants": gettext_lazy("Grants"),
    "services": gettext_lazy("Services"),
    "other": gettext_lazy("Other income"),
}
SPENDING_LABELS = {
    "personnel": gettext_lazy("Personnel"),
    "freelancers": gettext_lazy("Freelancers"),
    "hosting": gettext_lazy("Hosting"),
    "payment_fees": gettext_lazy("Payment fees"),
    "other": gettext_lazy("Other spending"),
}


# --- Formatting -----------------------------------------------------------------------------------


def money(amount: Decimal) -> str:
    """An amount in euros with cents in the active language: “€1,234.50” / “1.234,50 €”."""
    return format_currency(Decimal(amount), "EUR", locale=active_language())


def percent(value: Decimal | None) -> str:
    """A percentage with one decimal in the active language: “61.5%” / “61,5 %”; “–” for None."""
    if value is None:
        return "–"
    locale = Locale.parse(active_language())
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
    return format_percent(Decimal(value) / 100, format=pattern, locale=locale, decimal_quantization=True)


def number(value) -> str:
    return format_decimal(value, locale=active_language())


def month_name(month: datetime.date) -> str:
    """“October 2026” / “Oktober 2026”."""
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


def month_short(month: datetime.date) -> str:
    """“Oct” / “Okt”: Django's short month names in the active language."""
    return dateformat.format(month, "M")


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return percent_share(part, whole)


# --- Drawing --------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate: a dot as decimal mark whatever the language, one place at most."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _attrs(attributes: dict) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        if isinstance(value, float):
            value = _n(value)
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(value)}"')
    return " ".join(parts)


def _tag(name: str, content: str = "", **attributes) -> str:
    """One SVG element; ``content`` must already be escaped markup."""
    attrs = _attrs(attributes)
    opening = f"<{name} {attrs}" if attrs else f"<{name}"
    return f"{opening}>{content}</{name}>" if content else f"{opening}/>"


def _text(x: float, y: float, text: str, **attributes) -> str:
    return _tag("text", escape(text), x=x, y=y, **attributes)


def _svg(*, chart_id: str, width: int, height: int, title: str, description: str, body: list[str]) -> str:
    header = _attrs(
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "report-chart",
            "viewBox": f"0 0 {width} {height}",
            "width": width,
            "height": height,
            "preserveAspectRatio": "xMinYMin meet",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "font-family": FONT,
            "font-size": 12,
            "style": "max-width: 100%; height: auto;",
        }
    )
    parts = [
        f"<svg {header}>",
        _tag("title", escape(title), id=f"{chart_id}-title"),
        _tag("desc", escape(description), id=f"{chart_id}-desc"),
        _tag("rect", width=width, height=height, fill="#ffffff"),
        *body,
        "</svg>",
    ]
    return "\n".join(parts)


def _table(*, summary: str, caption: str, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A ``<details>`` data table with the chart's figures: first column row headers, the rest amounts."""
    head = "".join(
        format_html('<th scope="col"{}>{}</th>', mark_safe(' class="num"') if index else "", heading)
        for index, heading in enumerate(headings)
    )
    body = "".join(
        "<tr>"
        + format_html('<th scope="row">{}</th>', row[0])
        + "".join(format_html('<td class="num">{}</td>', cell) for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    return format_html(
        '<details class="report-chart__table"><summary>{}</summary><div class="table-scroll">'
        '<table class="report-table"><caption>{}</caption><thead><tr>{}</tr></thead><tbody>{}</tbody>'
        "</table></div></details>",
        summary,
        caption,
        mark_safe(head),  # noqa: S308 - built with format_html above
        mark_safe(body),  # noqa: S308
    )


def _figure(svg: str, table: str | None) -> SafeString:
    # Every text above went through escape() or format_html(); numbers are formatted here.
    if table is None:
        return mark_safe(svg)  # noqa: S308
    return mark_safe(f'<figure class="report-chart-figure">{svg}{table}</figure>')  # noqa: S308


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _axis(values: Iterable[Decimal], *, count: int = 4) -> tuple[float, float, list[float]]:
    """Low and high ends of a euro axis that includes zero and every value, and its round ticks."""
    numbers = [float(value) for value in values] + [0.0]
    low, high = min(numbers), max(numbers)
    if high - low < 1:
        high = low + 100
    step = _nice_step(high - low, count)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    ticks, tick = [], low
    while tick <= high + step / 2:
        ticks.append(round(tick, 2))
        tick += step
    return low, high, ticks


def _tick_label(value: float) -> str:
    return money_display(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP), "eur")


# --- Income and spending per month ----------------------------------------------------------------


def income_spending_chart(
    history: list[MonthFigures],
    *,
    title: str | None = None,
    chart_id: str | None = None,
    with_table: bool = False,
) -> SafeString:
    """Income (solid bars) and spending (outlined bars) side by side for each month of ``history`` (oldest
    first), with a euro axis. ``title`` defaults to “Income and spending per month”."""
    months = list(history)
    title = title or gettext("Income and spending per month")
    if chart_id is None:
        chart_id = f"income-spending-{months[-1].month:%Y-%m}" if months else "income-spending"
    width, height = 640, 300
    left, right, top, bottom = 84, width - 12, 40, 250
    body: list[str] = []
    if not months:
        description = gettext("There are no figures yet.")
        body.append(_text(width / 2, height / 2, description, fill=MUTED, text_anchor="middle"))
        return _figure(
            _svg(
                chart_id=chart_id, width=width, height=height, title=title, description=description, body=body
            ),
            None,
        )
    low, high, ticks = _axis([m.income_total for m in months] + [m.spending_total for m in months])

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    # Legend.
    body.append(
        "<g>"
        + _tag("rect", x=float(left), y=10.0, width=14, height=14, fill=INCOME_COLOUR)
        + _text(left + 20, 21, gettext("Income"), fill=TEXT)
        + _tag(
            "rect",
            x=float(left + 110),
            y=11.0,
            width=12,
            height=12,
            fill=SPENDING_FILL,
            stroke=SPENDING_COLOUR,
            stroke_width=2,
        )
        + _text(left + 130, 21, gettext("Spending"), fill=TEXT)
        + "</g>"
    )
    # Axis with euro ticks and grid lines.
    grid = []
    for tick in ticks:
        grid.append(
            _tag("line", x1=float(left), y1=y(tick), x2=float(right), y2=y(tick), stroke=GRID, stroke_width=1)
        )
        grid.append(
            _text(
                left - 6,
                y(tick) + 4,
                _tick_label(tick),
                fill=MUTED,
                font_size=11,
                text_anchor="end",
            )
        )
    body.append('<g aria-hidden="true">' + "".join(grid) + "</g>")
    slot = (right - left) / len(months)
    bar = min(slot * 0.36, 24)
    bars, labels = [], []
    for index, figures in enumerate(months):
        centre = left + slot * index + slot / 2
        for value, x, attributes in (
            (figures.income_total, centre - bar - 1, {"fill": INCOME_COLOUR}),
            (
                figures.spending_total,
                centre + 1,
                {"fill": SPENDING_FILL, "stroke": SPENDING_COLOUR, "stroke_width": 2},
            ),
        ):
            y0, y1 = y(0.0), y(float(value))
            stroke_room = 1 if "stroke" in attributes else 0
            bars.append(
                _tag(
                    "rect",
                    x=x + stroke_room,
                    y=min(y0, y1),
                    width=max(bar - 2 * stroke_room, 1.0),
                    height=max(abs(y1 - y0), 0.0),
                    **attributes,
                )
            )
        labels.append(_text(centre, bottom + 18, month_short(figures.month), text_anchor="middle"))
        if index == 0 or figures.month.month == 1:
            labels.append(_text(centre, bottom + 33, str(figures.month.year), text_anchor="middle"))
    body.extend(bars)
    body.append(
        _tag("line", x1=float(left), y1=y(0.0), x2=float(right), y2=y(0.0), stroke=AXIS, stroke_width=1.5)
    )
    body.append(f'<g aria-hidden="true" font-size="11" fill="{MUTED}">' + "".join(labels) + "</g>")
    description = (
        "; ".join(
            gettext("%(month)s: income %(income)s, spending %(spending)s")
            % {
                "month": month_name(m.month),
                "income": money(m.income_total),
                "spending": money(m.spending_total),
            }
            for m in months
        )
        + "."
    )
    svg = _svg(chart_id=chart_id, width=width, height=height, title=title, description=description, body=body)
    table = None
    if with_table:
        table = _table(
            summary=gettext("Income and spending per month as a table"),
            caption=title,
            headings=[gettext("Month"), gettext("Income"), gettext("Spending"), gettext("Result")],
            rows=[
                [month_name(m.month), money(m.income_total), money(m.spending_total), money(m.result)]
                for m in months
            ],
        )
    return _figure(svg, table)


# --- Income mix -----------------------------------------------------------------------------------


def income_mix_chart(
    figures: MonthFigures | YearFigures, *, chart_id: str | None = None, with_table: bool = False
) -> SafeString:
    """The income by source as one horizontal bar split into its sources (left to right in the legend's
    order), and a legend that names each source with its amount and share of the income."""
    income = figures.income
    total = figures.income_total
    if isinstance(figures, YearFigures):
        period = str(figures.year)
        period_name = period
    else:
        period = f"{figures.month:%Y-%m}"
        period_name = month_name(figures.month)
    chart_id = chart_id or f"income-mix-{period}"
    title = gettext("Income by source, %(period)s") % {"period": period_name}
    positive_total = sum((amount for amount in income.values() if amount > 0), ZERO)
    width, left, right = 640, 12, 628
    bar_top, bar_height = 12, 36
    legend_top, line_height = bar_top + bar_height + 24, 22
    height = legend_top + line_height * len(income) + 4
    body: list[str] = []
    entries = []
    for key, amount in income.items():
        share = _share(amount, positive_total) if amount > 0 else None
        entries.append((key, amount, share))
    if positive_total > 0:
        x = float(left)
        segments, inside = [], []
        for key, amount, _share_value in entries:
            if amount <= 0:
                continue
            segment = float(amount / positive_total) * (right - left)
            segments.append(
                _tag(
                    "rect",
                    x=x,
                    y=float(bar_top),
                    width=max(segment, 1.0),
                    height=float(bar_height),
                    fill=SOURCE_COLOURS[key],
                    stroke="#ffffff",
                    stroke_width=1.5,
                )
            )
            if segment >= 48:
                inside.append(
                    _text(
                        x + segment / 2,
                        bar_top + bar_height / 2 + 4,
                        percent(_share_value),
                        fill="#ffffff",
                        font_weight="700",
                        text_anchor="middle",
                    )
                )
            x += segment
        body.extend(segments)
        if inside:
            body.append('<g aria-hidden="true">' + "".join(inside) + "</g>")
    else:
        body.append(
            _tag(
                "rect",
                x=float(left),
                y=float(bar_top),
                width=float(right - left),
                height=float(bar_height),
                fill="#ffffff",
                stroke=GRID,
                stroke_width=1.5,
            )
        )
        body.append(
            _text(
                (left + right) / 2,
                bar_top + bar_height / 2 + 4,
                gettext("No income in this period"),
                fill=MUTED,
                text_anchor="middle",
            )
        )
    legend = []
    for index, (key, amount, share) in enumerate(entries):
        y = legend_top + index * line_height
        legend.append(
            _tag("rect", x=float(left), y=float(y - 11), width=14, height=14, fill=SOURCE_COLOURS[key])
        )
        text = f"{INCOME_LABELS[key]}: {money(amount)}"
        if share is not None:
            text += f" ({percent(share)})"
        legend.append(_text(left + 22, y, text, fill=TEXT))
    body.append('<g aria-hidden="true">' + "".join(legend) + "</g>")
    parts = []
    for key, amount, share in entries:
        part = f"{INCOME_LABELS[key]} {money(amount)}"
        if share is not None:
            part += f" ({percent(share)})"
        parts.append(part)
    description = gettext("Income %(total)s in all: %(parts)s.") % {
        "total": money(total),
        "parts": "; ".join(parts),
    }
    svg = _svg(chart_id=chart_id, width=width, height=height, title=title, description=description, body=body)
    table = None
    if with_table:
        table = _table(
            summary=gettext("Income by source as a table"),
            caption=title,
            headings=[gettext("Source"), gettext("Amount"), gettext("Share")],
            rows=[
                [str(INCOME_LABELS[key]), money(amount), percent(share) if share is not None else "–"]
                for key, amount, share in entries
            ]
            + [[gettext("Total"), money(total), ""]],
        )
    return _figure(svg, table)


# --- The archive's small chart per year -----------------------------------------------------------


def year_sparkline(year: YearFigures, *, chart_id: str | None = None, with_table: bool = False) -> SafeString:
    """Income (solid line) and spending (dashed line) per month of one year, January to December, small."""
    chart_id = chart_id or f"year-{year.year}-sparkline"
    title = gettext("Income and spending per month in %(year)s") % {"year": year.year}
    width, height = 240, 90
    left, right, top, bottom = 6, width - 6, 26, 72
    months = list(year.months)
    body: list[str] = []
    if months:
        low, high, _ticks = _axis(
            [m.income_total for m in months] + [m.spending_total for m in months], count=2
        )
    else:
        low, high = 0.0, 100.0

    def x(month_number: int) -> float:
        return left + (right - left) * (month_number - 1) / 11

    def y(value: Decimal) -> float:
        return bottom - (float(value) - low) / (high - low) * (bottom - top)

    body.append(
        _tag("line", x1=float(left), y1=y(ZERO), x2=float(right), y2=y(ZERO), stroke=AXIS, stroke_width=1)
    )
    for attribute, colour, dashes in (
        ("income_total", INCOME_COLOUR, None),
        ("spending_total", SPENDING_COLOUR, "4 3"),
    ):
        points = [(x(m.month.month), y(getattr(m, attribute))) for m in months]
        if len(points) > 1:
            body.append(
                _tag(
                    "polyline",
                    points=" ".join(f"{_n(px)},{_n(py)}" for px, py in points),
                    fill="none",
                    stroke=colour,
                    stroke_width=2,
                    stroke_dasharray=dashes,
                    stroke_linejoin="round",
                )
            )
        for px, py in points:
            body.append(_tag("circle", cx=px, cy=py, r=2.5, fill=colour))
    body.append(
        f'<g aria-hidden="true" font-size="10" fill="{MUTED}">'
        + _text(left, height - 3, month_short(datetime.date(year.year, 1, 1)))
        + _text(right, height - 3, month_short(datetime.date(year.year, 12, 1)), text_anchor="end")
        + "</g>"
    )
    if months:
        description = (
            gettext("Income (solid line) and spending (dashed line) per month.")
            + " "
            + "; ".join(
                gettext("%(month)s: income %(income)s, spending %(spending)s")
                % {
                    "month": month_name(m.month),
                    "income": money(m.income_total),
                    "spending": money(m.spending_total),
                }
                for m in months
            )
            + "."
        )
    else:
        description = gettext("There are no figures yet.")
    svg = _svg(chart_id=chart_id, width=width, height=height, title=title, description=description, body=body)
    table = None
    if with_table:
        table = _table(
            summary=gettext("Income and spending per month as a table"),
            caption=title,
            headings=[gettext("Month"), gettext("Income"), gettext("Spending")],
            rows=[[month_name(m.month), money(m.income_total), money(m.spending_total)] for m in months],
        )
    return _figure(svg, table)
