"""Charts drawn as SVG on the server: bars against a plan, stacked bars, a timeline, and
paired bars per month. Colours come from the stylesheet's classes (no inline style: the CSP)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from app.console.labels import MONTHS

WIDTH = 760
LABEL_WIDTH = 190
ROW = 26
BAR = 16
MAX_LABEL = 26
AXIS_LABEL = 48  # the width a month's name needs on the axis


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _svg(height: int, body: list[str], title: str) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every text escaped above)


def _num(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _label(y: int, text: str) -> str:
    return (
        f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 3}" text-anchor="end">'
        f"<title>{escape(text)}</title>{escape(_short(text))}</text>"
    )


@dataclass(frozen=True)
class PlanBar:
    label: str
    done: int
    planned: int


def plan_bars(rows: Sequence[PlanBar], title: str) -> Markup:
    """Per row, the plan as a track and what is done as a bar over it, with the figures."""
    span = WIDTH - LABEL_WIDTH - 150
    body: list[str] = []
    for index, row in enumerate(rows):
        y = 6 + index * ROW
        share = min(row.done / row.planned, 1.0) if row.planned else 0.0
        percent = f"{100 * row.done / row.planned:.1f}%".replace(".", ",") if row.planned else "-"
        body += [
            _label(y, row.label),
            f'<rect class="track" x="{LABEL_WIDTH}" y="{y}" width="{span}" height="{BAR}"/>',
            f'<rect class="done" x="{LABEL_WIDTH}" y="{y}" width="{share * span:.1f}" '
            f'height="{BAR}"/>',
            f'<text class="figure" x="{LABEL_WIDTH + span + 8}" y="{y + BAR - 3}">'
            f"{_num(row.done)} / {_num(row.planned)} ({percent})</text>",
        ]
    return _svg(12 + ROW * len(rows), body, title)


@dataclass(frozen=True)
class StackBar:
    label: str
    first: int
    second: int


def stacked_bars(rows: Sequence[StackBar], title: str) -> Markup:
    """Per row, two counts end to end (active, then held), scaled to the largest row."""
    span = WIDTH - LABEL_WIDTH - 90
    largest = max((row.first + row.second for row in rows), default=0) or 1
    body: list[str] = []
    for index, row in enumerate(rows):
        y = 6 + index * ROW
        first = span * row.first / largest
        second = span * row.second / largest
        body += [
            _label(y, row.label),
            f'<rect class="done" x="{LABEL_WIDTH}" y="{y}" width="{first:.1f}" height="{BAR}"/>',
            f'<rect class="held" x="{LABEL_WIDTH + first:.1f}" y="{y}" width="{second:.1f}" '
            f'height="{BAR}"/>',
            f'<text class="figure" x="{LABEL_WIDTH + first + second + 6:.1f}" '
            f'y="{y + BAR - 3}">{_num(row.first + row.second)}</text>',
        ]
    return _svg(12 + ROW * len(rows), body, title)


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def timeline(periods: Sequence[Period], title: str) -> Markup:
    """Each period as a bar on an axis of months, from the first month to the last."""
    if not periods:
        return _svg(20, [], title)
    first = min(_month_index(p.start) for p in periods)
    last = max(_month_index(p.end) for p in periods)
    months = last - first + 1
    span = WIDTH - LABEL_WIDTH - 20
    step = span / months
    top = 22
    body: list[str] = []
    every = max(1, math.ceil(AXIS_LABEL / step))
    for offset in range(0, months, every):
        index = first + offset
        x = LABEL_WIDTH + offset * step
        name = f"{MONTHS[index % 12][:3]} {str(index // 12)[2:]}"
        body += [
            f'<line class="grid" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
            f'y2="{top + ROW * len(periods)}"/>',
            f'<text class="axis" x="{x + 3:.1f}" y="14">{name}</text>',
        ]
    for index, period in enumerate(periods):
        y = top + index * ROW
        start = (
            LABEL_WIDTH + (_month_index(period.start) - first + (period.start.day - 1) / 31) * step
        )
        end = LABEL_WIDTH + (_month_index(period.end) - first + period.end.day / 31) * step
        body += [
            _label(y, period.label),
            f'<rect class="period" x="{start:.1f}" y="{y}" width="{max(end - start, 2):.1f}" '
            f'height="{BAR}"><title>{escape(period.label)}: {period.start} - {period.end}'
            "</title></rect>",
        ]
    return _svg(top + 6 + ROW * len(periods), body, title)


@dataclass(frozen=True)
class MonthPair:
    month: str  # YYYY-MM
    due: int
    paid: int


def month_pairs(rows: Sequence[MonthPair], title: str) -> Markup:
    """Per month, what is owed and what is paid, side by side, on one scale."""
    height, bottom, left = 220, 190, 70
    largest = max((max(row.due, row.paid) for row in rows), default=0) or 1
    slot = (WIDTH - left - 10) / max(len(rows), 1)
    bar = min(28.0, slot / 2.6)
    scale = (bottom - 20) / largest
    body = [
        f'<line class="grid" x1="{left}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}"/>',
        f'<text class="axis" x="{left - 6}" y="24" text-anchor="end">{_short_rupiah(largest)}'
        "</text>",
        f'<text class="axis" x="{left - 6}" y="{bottom}" text-anchor="end">0</text>',
    ]
    for index, row in enumerate(rows):
        x = left + index * slot + (slot - 2 * bar) / 2
        for offset, (kind, value) in enumerate((("due", row.due), ("paid", row.paid))):
            h = value * scale
            body.append(
                f'<rect class="{kind}" x="{x + offset * bar:.1f}" y="{bottom - h:.1f}" '
                f'width="{bar - 2:.1f}" height="{h:.1f}"><title>{_num(value)}</title></rect>'
            )
        year, month = row.month.split("-")
        body.append(
            f'<text class="axis" x="{x + bar:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{MONTHS[int(month) - 1][:3]} {year[2:]}</text>"
        )
    return _svg(height, body, title)


def _short_rupiah(value: int) -> str:
    if value >= 1_000_000_000:
        return f"Rp{value / 1_000_000_000:.1f} M".replace(".", ",")
    if value >= 1_000_000:
        return f"Rp{value / 1_000_000:.1f} jt".replace(".", ",")
    return "Rp" + _num(value)
