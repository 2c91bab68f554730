"""Server-side SVG charts for the analytics screen: no JavaScript, nothing from a CDN.

Each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>` (the desc states
what the chart shows and its main values; the table under each chart carries every number).
Bars carry a `<title>` too, which browsers show as a tooltip. Text uses `currentColor`, so charts
follow the admin's light and dark themes; series colours come from the Okabe-Ito palette, which
stays distinguishable with the common colour-vision deficiencies, and the legend names them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 960
FONT = 12
_ids = count(1)

# Okabe-Ito colours (plus a neutral grey), dark enough to read against a white page.
BLUE = "#0072b2"
SKY = "#56b4e9"
GREEN = "#009e73"
ORANGE = "#e69f00"
VERMILLION = "#d55e00"
PURPLE = "#cc79a7"
GREY = "#8a94a3"
STATUS_COLOURS = {
    "COMPLETED": GREEN,
    "CHECKED_IN": PURPLE,
    "CONFIRMED": BLUE,
    "REQUESTED": ORANGE,
    "NO_SHOW": VERMILLION,
    "CANCELLED": GREY,
}


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: Sequence[float]


def _num(value: float) -> str:
    """A coordinate: short and stable."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _plain(value: float) -> str:
    return f"{value:g}"


def nice_ticks(maximum: float, target: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum`, about `target` of them."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if step >= 1:
        step = math.ceil(step)
    top = math.ceil(maximum / step - 1e-9) * step
    ticks, value = [], 0.0
    while value <= top + step / 2:
        ticks.append(round(value, 6))
        value += step
    return ticks


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def legend(series: Sequence[Series]) -> SafeString:
    """The series names with their colours (hidden from screen readers: the chart's description
    and the table say the same in words)."""
    items = format_html_join(
        "",
        '<li><svg class="cp-chart__swatch" viewBox="0 0 12 12" width="12" height="12">'
        '<rect width="12" height="12" rx="2" fill="{}"/></svg>{}</li>',
        ((s.colour, s.label) for s in series),
    )
    return format_html('<ul class="cp-chart__legend" aria-hidden="true">{}</ul>', items)


def _svg(width: float, height: float, title: str, desc: str, body: str) -> SafeString:
    uid = f"cp-chart-{next(_ids)}"
    return format_html(
        '<svg class="cp-chart__svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg" '
        'font-size="{font}" fill="currentColor">'
        '<title id="{uid}-t">{title}</title><desc id="{uid}-d">{desc}</desc>{body}</svg>',
        w=_num(width),
        h=_num(height),
        uid=uid,
        font=FONT,
        title=title,
        desc=desc,
        body=mark_safe(body),  # noqa: S308 - built from escaped parts below
    )


def _empty(title: str, desc: str, message: str) -> SafeString:
    body = format_html(
        '<text x="{}" y="40" text-anchor="middle" class="cp-chart__empty">{}</text>',
        WIDTH / 2,
        message,
    )
    return format_html('<div class="cp-chart">{}</div>', _svg(WIDTH, 70, title, desc, body))


def bar_chart(
    *,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    stacked: bool = True,
    horizontal: bool = False,
    value_text: Callable[[float], str] = _plain,
    tick_text: Callable[[float], str] | None = None,
    empty: str = "Nothing to show for this period.",
    long_labels: Sequence[str] | None = None,
) -> SafeString:
    """Bars per category: stacked (one bar, a segment per series) or grouped (a bar per series).

    Vertical charts suit many categories (days); horizontal ones suit named categories (doctors,
    weekdays), whose names stay readable at the start of each row.
    """
    n = len(categories)
    values = [[float(s.values[i] or 0) for s in series] for i in range(n)]
    missing = {(i, j) for i in range(n) for j, s in enumerate(series) if s.values[i] is None}
    largest = max((sum(v) if stacked else max(v, default=0)) for v in values) if n else 0
    if not n or largest <= 0:
        return _empty(title, desc, empty)
    ticks = nice_ticks(largest)
    top = ticks[-1]
    tick_text = tick_text or value_text
    long_labels = long_labels or categories
    draw = _horizontal if horizontal else _vertical
    svg = draw(title, desc, categories, long_labels, series, values, stacked, top, ticks)
    svg = svg(lambda v, i=None, j=None: "—" if (i, j) in missing else value_text(v), tick_text)
    return format_html('<div class="cp-chart">{}{}</div>', legend(series), svg)


def _bar_title(category: str, series: Series, value: float, value_text) -> str:
    return f"{category}: {series.label} {value_text(value)}"


def _vertical(title, desc, categories, long_labels, series, values, stacked, top, ticks):
    def render(value_text, tick_text):
        left, right, upper, bottom = 56, 12, 12, 36
        height = 300
        plot_w, plot_h = WIDTH - left - right, height - upper - bottom
        n = len(categories)
        slot = plot_w / n
        parts = []
        for tick in ticks:
            y = upper + plot_h - tick / top * plot_h
            parts.append(
                format_html(
                    '<line x1="{}" x2="{}" y1="{y}" y2="{y}" class="cp-chart__grid"/>'
                    '<text x="{}" y="{}" text-anchor="end">{}</text>',
                    left,
                    WIDTH - right,
                    _num(left - 6),
                    _num(y + 4),
                    tick_text(tick),
                    y=_num(y),
                )
            )
        gap = slot * 0.2 if slot >= 4 else 0
        groups = len(series)
        for i, row in enumerate(values):
            x0 = left + i * slot + gap / 2
            width = slot - gap
            base = 0.0
            for j, (s, value) in enumerate(zip(series, row, strict=True)):
                if value <= 0:
                    continue
                if stacked:
                    x, w, y0 = x0, width, base
                    base += value
                else:
                    w = width / groups
                    x, y0 = x0 + j * w, 0.0
                h = value / top * plot_h
                y = upper + plot_h - y0 / top * plot_h - h
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}</title></rect>",
                        _num(x),
                        _num(y),
                        _num(max(w, 0.6)),
                        _num(h),
                        s.colour,
                        _bar_title(long_labels[i], s, value, value_text),
                    )
                )
        every = max(1, math.ceil(n / 12))
        for i in range(0, n, every):
            x = left + (i + 0.5) * slot
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                    _num(x),
                    height - bottom + 18,
                    categories[i],
                )
            )
        parts.append(
            format_html(
                '<line x1="{l}" x2="{r}" y1="{y}" y2="{y}" class="cp-chart__axis"/>',
                l=left,
                r=WIDTH - right,
                y=_num(upper + plot_h),
            )
        )
        return _svg(WIDTH, height, title, desc, "".join(parts))

    return render


def _horizontal(title, desc, categories, long_labels, series, values, stacked, top, ticks):
    def render(value_text, tick_text):
        left, right, upper, bottom = 190, 70, 8, 26
        groups = 1 if stacked else len(series)
        bar_h = 18 if stacked else 12
        row_h = bar_h * groups + 12
        n = len(categories)
        plot_w = WIDTH - left - right
        plot_h = n * row_h
        height = upper + plot_h + bottom
        parts = []
        for tick in ticks:
            x = left + tick / top * plot_w
            parts.append(
                format_html(
                    '<line x1="{x}" x2="{x}" y1="{}" y2="{}" class="cp-chart__grid"/>'
                    '<text x="{x}" y="{}" text-anchor="middle">{}</text>',
                    upper,
                    upper + plot_h,
                    upper + plot_h + 17,
                    tick_text(tick),
                    x=_num(x),
                )
            )
        for i, row in enumerate(values):
            y0 = upper + i * row_h + 6
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="end"><title>{}</title>{}</text>',
                    left - 8,
                    _num(y0 + bar_h * groups / 2 + 4),
                    long_labels[i],
                    _shorten(categories[i], 28),
                )
            )
            base = 0.0
            for j, (s, value) in enumerate(zip(series, row, strict=True)):
                y = y0 if stacked else y0 + j * bar_h
                x = left + (base if stacked else 0) / top * plot_w
                w = value / top * plot_w
                if value > 0:
                    parts.append(
                        format_html(
                            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                            "<title>{}</title></rect>",
                            _num(x),
                            _num(y),
                            _num(w),
                            bar_h - 2,
                            s.colour,
                            _bar_title(long_labels[i], s, value, value_text),
                        )
                    )
                if stacked:
                    base += value
                else:
                    parts.append(
                        format_html(
                            '<text x="{}" y="{}" class="cp-chart__value">{}</text>',
                            _num(x + w + 4),
                            _num(y + bar_h - 4),
                            value_text(value, i, j),
                        )
                    )
            if stacked:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" class="cp-chart__value">{}</text>',
                        _num(left + base / top * plot_w + 4),
                        _num(y0 + bar_h - 5),
                        value_text(base),
                    )
                )
        parts.append(
            format_html(
                '<line x1="{x}" x2="{x}" y1="{}" y2="{}" class="cp-chart__axis"/>',
                upper,
                upper + plot_h,
                x=left,
            )
        )
        return _svg(WIDTH, height, title, desc, "".join(parts))

    return render


# --- Heat map ---------------------------------------------------------------------------------

# Pale blue through mid blue to deep blue (a sequential scale that prints and greys well).
_STOPS = ((222, 235, 247), (66, 146, 198), (8, 48, 107))


def heat_colour(share: float) -> str:
    """From pale to deep blue as `share` goes from 0 to 1."""
    share = min(max(share, 0.0), 1.0)
    low, high = (_STOPS[0], _STOPS[1]) if share <= 0.5 else (_STOPS[1], _STOPS[2])
    t = share * 2 if share <= 0.5 else share * 2 - 1
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(
    *,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[int]],
    highlight: tuple[int, int] | None = None,
    long_row_labels: Sequence[str] | None = None,
    empty: str = "Nothing to show for this period.",
) -> SafeString:
    """A grid of counts (rows x columns) shaded by value, each cell labelled with its count;
    `highlight` (row, column) outlines one cell (the peak)."""
    largest = max((max(row, default=0) for row in values), default=0)
    if largest <= 0:
        return _empty(title, desc, empty)
    long_row_labels = long_row_labels or row_labels
    left, right, upper, bottom = 48, 12, 22, 36
    columns = len(column_labels)
    cell_w = (WIDTH - left - right) / columns
    cell_h = 30
    height = upper + cell_h * len(row_labels) + bottom
    parts = []
    for c, label in enumerate(column_labels):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                _num(left + (c + 0.5) * cell_w),
                upper - 8,
                label,
            )
        )
    for r, label in enumerate(row_labels):
        y = upper + r * cell_h
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end">{}</text>',
                left - 8,
                _num(y + cell_h / 2 + 4),
                label,
            )
        )
        for c, value in enumerate(values[r]):
            share = value / largest
            x = left + c * cell_w
            fill = heat_colour(share) if value else "none"
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" class="cp-chart__cell">'
                    "<title>{}</title></rect>",
                    _num(x + 1),
                    _num(y + 1),
                    _num(cell_w - 2),
                    cell_h - 2,
                    fill,
                    f"{long_row_labels[r]} {column_labels[c]}:00 — {value}",
                )
            )
            if value:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                        _num(x + cell_w / 2),
                        _num(y + cell_h / 2 + 4),
                        "#ffffff" if share > 0.45 else "#1f2a37",
                        value,
                    )
                )
    if highlight is not None:
        r, c = highlight
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="none" class="cp-chart__peak"/>',
                _num(left + c * cell_w),
                upper + r * cell_h,
                _num(cell_w),
                cell_h,
            )
        )
    # Scale: five steps from the lightest to the darkest shade, under the grid.
    scale_y = height - 16
    parts.append(format_html('<text x="{}" y="{}">Fewer</text>', left, scale_y + 10))
    for step in range(5):
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="18" height="12" fill="{}"/>',
                left + 44 + step * 20,
                scale_y,
                heat_colour((step + 1) / 5),
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}">More (the busiest cell: {})</text>',
            left + 150,
            scale_y + 10,
            largest,
        )
    )
    svg = _svg(WIDTH, height, title, desc, "".join(parts))
    return format_html('<div class="cp-chart">{}</div>', svg)
