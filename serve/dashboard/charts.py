"""Charts as inline SVG strings: no JavaScript library, no CDN, readable without a network.

Every text that comes from data is escaped here; the templates mark the result safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

PALETTE = {"dealer": "#c0392b", "past": "#95a5a6", "peers": "#2c7fb8",
           "churn": "#c0392b", "decline": "#e67e22", "orders": "#2c7fb8"}
BAND_COLORS = {"low": "#27ae60", "medium": "#f1c40f", "high": "#e67e22",
               "critical": "#c0392b"}


def _num(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def short_number(value: float) -> str:
    """1.2M, 35k, 0.42: compact labels for axes and bars."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.1f}M"
    if a >= 1e4:
        return f"{value / 1e3:.0f}k"
    if a >= 100:
        return f"{value:.0f}"
    return f"{value:.2g}"


CHAR_PX = 7.0
"""Width of one character of a bar's value at the charts' font size (11px), a bound for
digits and Latin text; a CJK character counts as two (see _text_px)."""


def _text_px(text: str) -> float:
    return sum(2 * CHAR_PX if ord(c) > 0x2E80 else CHAR_PX for c in text)


def band_legend(bands: list[str], labels: dict[str, str]) -> str:
    """The band colours of band_stack, named (SVG swatches: the pages' CSP allows no inline
    style)."""
    return '<p class="legend band-legend">' + " ".join(
        f'<span class="band-key" data-band="{escape(b)}"><svg width="12" height="12" '
        f'aria-hidden="true"><rect width="12" height="12" fill="{BAND_COLORS.get(b, "#888")}"'
        f'/></svg> {escape(labels[b])}</span>' for b in bands) + "</p>"


def factor_bars(factors: list[dict], labels: dict[str, str],
                fmt: Callable[[str, float], str] | None = None) -> str:
    """One block per factor: its sentence (HTML, so it wraps), then three bars (dealer, own
    past, peers) scaled to the largest of the three. Factors without numbers (a channel,
    a region) show the sentence only. `fmt(feature, value)` writes a bar's value in its
    unit (-42%, ¥1.2M)."""
    width, bar_h, gap, label_w = 560, 12, 3, 110
    blocks = []
    for f in factors:
        mark = "▲" if f.get("direction") == "raises" else "▼"
        sentence = (f'<p class="factor-sentence">{mark} '
                    f'{escape(str(f.get("sentence", "")))}</p>')
        values = [("dealer", _num(f.get("value"))), ("past", _num(f.get("past_value"))),
                  ("peers", _num(f.get("peer_median")))]
        numeric = [(k, v) for k, v in values if v is not None]
        if not numeric:
            blocks.append(f'<div class="factor">{sentence}</div>')
            continue
        scale = max(abs(v) for _, v in numeric) or 1.0
        texts = {k: fmt(str(f.get("feature")), v) if fmt else short_number(v)
                 for k, v in numeric}
        room = max(_text_px(t) for t in texts.values()) + 8  # the value beside its bar
        if any(v < 0 for _, v in numeric):
            origin = label_w + (width - label_w) / 2
            span = (width - label_w) / 2 - room
        else:
            origin, span = label_w, width - label_w - room
        span = max(span, 20.0)
        rows, y = [], 0
        for key, v in values:
            rows.append(f'<text x="{label_w - 6}" y="{y + bar_h - 2}" text-anchor="end" '
                        f'class="bar-label">{escape(labels[key])}</text>')
            if v is not None:
                w = abs(v) / scale * span
                x = origin if v >= 0 else origin - w
                shown = texts[key]
                rows.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" '
                            f'height="{bar_h}" fill="{PALETTE[key]}" data-series="{key}">'
                            f'<title>{escape(labels[key])}: {escape(shown)}</title></rect>')
                rows.append(f'<text x="{(x + w + 4) if v >= 0 else (x - 4):.1f}" '
                            f'y="{y + bar_h - 2}" class="bar-value" text-anchor='
                            f'"{"start" if v >= 0 else "end"}">{escape(shown)}</text>')
            else:
                rows.append(f'<text x="{origin + 4:.1f}" y="{y + bar_h - 2}" '
                            'class="bar-value">–</text>')
            y += bar_h + gap
        blocks.append(f'<div class="factor">{sentence}<svg class="chart factors" '
                      f'viewBox="0 0 {width} {y}" width="100%" role="img" '
                      f'aria-label="{escape(labels["title"])}">{"".join(rows)}</svg></div>')
    return "".join(blocks)


def risk_lines(points: list[dict], labels: dict[str, str]) -> str:
    """Churn and decline probability at each snapshot (y from 0 to 100%)."""
    width, height, left, bottom, top = 560, 180, 40, 24, 10
    n = len(points)
    if not n:
        return ""
    inner_w, inner_h = width - left - 10, height - bottom - top

    def xy(i: int, p: float) -> tuple[float, float]:
        x = left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        return x, top + inner_h * (1 - p)

    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        _, ty = xy(0, tick)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'class="grid"/><text x="{left - 4}" y="{ty + 4:.1f}" '
                     f'text-anchor="end" class="axis">{tick:.0%}</text>')
    for series in ("churn", "decline"):
        coords = [(i, _num(p.get(f"{series}_probability"))) for i, p in enumerate(points)]
        coords = [(i, v) for i, v in coords if v is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in coords))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[series]}" '
                     f'stroke-width="2" data-series="{series}"/>')
        for i, v in coords:
            x, y = xy(i, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[series]}">'
                         f'<title>{escape(labels[series])} {escape(points[i]["as_of"])}: '
                         f'{v:.0%}</title></circle>')
    step = max(1, n // 6)
    for i in range(0, n, step):
        x, _ = xy(i, 0)
        anchor = "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}" '
                     f'class="axis">{escape(points[i]["as_of"][:7])}</text>')
    legend = "".join(f'<tspan fill="{PALETTE[s]}">■ {escape(labels[s])}</tspan> '
                     for s in ("churn", "decline"))
    parts.append(f'<text x="{left}" y="{top + 2}" class="legend">{legend}</text>')
    return (f'<svg class="chart risk" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(labels["title"])}">' + "".join(parts) + "</svg>")


def survival_steps(curve: list[float], marks: list[int], labels: dict[str, str]) -> str:
    """The chance of still ordering after 0..horizon months as a step line (y 0 to 100%),
    with the report months marked and labelled."""
    width, height, left, bottom, top = 560, 170, 40, 22, 22
    if not curve:
        return ""
    values = [1.0, *(float(v) for v in curve)]
    n = len(values) - 1
    inner_w, inner_h = width - left - 12, height - bottom - top

    def xy(month: float, p: float) -> tuple[float, float]:
        return left + inner_w * month / n, top + inner_h * (1 - p)

    parts = []
    for tick in (0, 0.5, 1):
        _, ty = xy(0, tick)
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'class="grid"/><text x="{left - 4}" y="{ty + 4:.1f}" '
                     f'text-anchor="end" class="axis">{tick:.0%}</text>')
    steps = []
    for month in range(n):
        steps += [xy(month, values[month]), xy(month + 1, values[month])]
    steps.append(xy(n, values[n]))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in steps)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE["dealer"]}" '
                 'stroke-width="2" data-series="survival"/>')
    for month in marks:
        if 1 <= month <= n:
            x, y = xy(month, values[month])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                         f'fill="{PALETTE["dealer"]}" data-month="{month}"><title>'
                         f'{escape(labels["month"].format(month))}: {values[month]:.0%}'
                         f'</title></circle><text x="{x:.1f}" y="{y - 7:.1f}" '
                         f'text-anchor="middle" class="axis">{values[month]:.0%}</text>')
    for month in range(0, n + 1, 3):
        x, _ = xy(month, 0)
        anchor = "end" if month == n else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}" '
                     f'class="axis">{escape(labels["month"].format(month))}</text>')
    return (f'<svg class="chart survival" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(labels["title"])}">' + "".join(parts) + "</svg>")


def month_bars(amounts: dict[str, float], title: str) -> str:
    """Net orders per month, oldest first; returns can make a month negative."""
    width, height, left, bottom, top = 560, 160, 48, 22, 8
    months = list(amounts)
    if not months:
        return ""
    values = [float(amounts[m]) for m in months]
    hi, lo = max(max(values), 0.0), min(min(values), 0.0)
    span = (hi - lo) or 1.0
    inner_w, inner_h = width - left - 8, height - bottom - top
    slot = inner_w / len(values)
    zero = top + inner_h * hi / span
    parts = [f'<line x1="{left}" x2="{width - 8}" y1="{zero:.1f}" y2="{zero:.1f}" '
             'class="grid"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="axis">'
             f'{short_number(hi)}</text>']
    for i, (m, v) in enumerate(zip(months, values, strict=True)):
        h = abs(v) / span * inner_h
        x = left + i * slot + slot * 0.15
        y = zero - h if v >= 0 else zero
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{max(h, 0.5):.1f}" fill="{PALETTE["orders"]}" '
                     f'data-month="{escape(m)}"><title>{escape(m)}: ¥{v:,.0f}</title></rect>')
        if i % 3 == 0:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 6}" '
                         f'text-anchor="middle" class="axis">{escape(m)}</text>')
    return (f'<svg class="chart orders" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(title)}">' + "".join(parts) + "</svg>")


def band_stack(counts: dict[str, int], bands: list[str], labels: dict[str, str]) -> str:
    """One horizontal bar split by band, each part's width its share of dealers."""
    total = sum(counts.values()) or 1
    width, x, parts = 300, 0.0, []
    for b in bands:
        n = counts.get(b, 0)
        if not n:
            continue
        w = n / total * width
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="14" '
                     f'fill="{BAND_COLORS.get(b, "#888")}"><title>{escape(labels[b])}: '
                     f'{n}</title></rect>')
        x += w
    return (f'<svg class="chart stack" viewBox="0 0 {width} 14" width="{width}" '
            f'height="14" role="img">' + "".join(parts) + "</svg>")
