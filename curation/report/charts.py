"""The report's charts: SVG drawn in Python (no library, nothing fetched) and numbers as a person
writes them. Every mark (a bar, a bin) has class ``mark`` and a ``<title>`` tooltip, and carries
its value in ``data-value`` so a test can read the chart back from the page."""

from __future__ import annotations

import html
import math
from typing import Any, Callable

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
STAGE_COLORS = {"extract": "#4e79a7", "filter": "#59a14f", "dedup": "#b07aa1", "tokenize": "#f28e2b"}
DROP_RED = "#d62728"
KEPT_GREEN = "#59a14f"


# ----------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------

def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def fmt_num(x: float) -> str:
    """A number as a person writes it: thousands separators, no needless decimals."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if float(x).is_integer():
        return f"{x:,.0f}"
    ax = abs(x)
    if ax >= 100:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:,.1f}"
    if ax >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2g}"


def plural(n: int, word: str) -> str:
    """``1 document``, ``2 documents`` (``word`` given in the plural)."""
    return f"{fmt_int(n)} {word[:-1] if n == 1 and word.endswith('s') else word}"


def fmt_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:,.1f} h"
    if s >= 60:
        return f"{s / 60:,.1f} min"
    return f"{s:,.1f} s" if s >= 1 else f"{s * 1000:,.0f} ms"


def fmt_pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (the last tick is >= hi); whole numbers when ``integer``."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, round(step)) if step >= 1 else 1
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v < hi - 1e-9 * step:
        ticks.append(v)
        v += step
    ticks.append(v)
    return [round(t, 10) for t in ticks]


# ----------------------------------------------------------------------------------------------
# SVG charts
# ----------------------------------------------------------------------------------------------

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


class Svg:
    """A tiny SVG builder: elements appended as strings; marks (bars, lines of data) carry class ``mark``."""

    def __init__(self, width: float, height: float, label: str):
        self.w, self.h = width, height
        self.parts: list[str] = []
        self.label = label

    def rect(self, x: float, y: float, w: float, h: float, fill: str, title: str | None = None, cls: str = "mark", **attrs: Any) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
        tip = f"<title>{esc(title)}</title>" if title else ""
        self.parts.append(
            f'<rect class="{cls}" x="{x:.2f}" y="{y:.2f}" width="{max(w, 0):.2f}" height="{max(h, 0):.2f}" fill="{fill}"{extra}>{tip}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#999", width: float = 1, dash: str | None = None, cls: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f'<line{c} x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{stroke}" stroke-width="{width}"{d}/>')

    def text(self, x: float, y: float, s: str, anchor: str = "start", size: int = 12, fill: str = "#333", weight: str = "normal",
             rotate: float | None = None, cls: str = "") -> None:
        rot = f' transform="rotate({rotate} {x:.2f} {y:.2f})"' if rotate is not None else ""
        c = f' class="{cls}"' if cls else ""
        self.parts.append(
            f'<text{c} x="{x:.2f}" y="{y:.2f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" font-weight="{weight}"{rot}>{esc(s)}</text>'
        )

    def raw(self, s: str) -> None:
        self.parts.append(s)

    def render(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.w:.0f} {self.h:.0f}" width="{self.w:.0f}" height="{self.h:.0f}" '
            f'role="img" aria-label="{esc(self.label)}" {FONT}>' + "".join(self.parts) + "</svg>"
        )


def _text_width(s: str, size: int = 12) -> float:
    return 0.64 * size * len(s)


def hbar_chart(rows: list[dict[str, Any]], *, label: str, width: int = 1060, label_width: int = 230, row_h: int = 26,
               value_fmt: Callable[[float], str] = fmt_int, note_width: int = 230, axis_label: str = "", tick_fmt: Callable[[float], str] = fmt_num,
               integer: bool = True) -> str:
    """Horizontal bars. rows: {label, sublabel?, value, color, note?, title?, data?}."""
    top, bottom = 8, 34 if axis_label else 10
    h = top + row_h * len(rows) + bottom
    svg = Svg(width, h, label)
    plot_w = width - label_width - note_width - 10
    vmax = max([r["value"] for r in rows] + [0]) or 1
    ticks = nice_ticks(0, vmax, 5, integer=integer)
    scale = plot_w / ticks[-1]
    x0 = label_width
    for t in ticks:
        x = x0 + t * scale
        svg.line(x, top - 2, x, top + row_h * len(rows), stroke="#e6e6e6")
        if axis_label:
            svg.text(x, top + row_h * len(rows) + 14, tick_fmt(t), anchor="middle", size=11, fill="#666")
    if axis_label:
        svg.text(x0 + plot_w / 2, h - 4, axis_label, anchor="middle", size=12, fill="#444")
    for i, r in enumerate(rows):
        y = top + i * row_h
        if r.get("sublabel"):
            svg.text(8, y + row_h * 0.65, r["sublabel"], size=11, fill="#888")
        svg.text(x0 - 8, y + row_h * 0.65, r["label"], anchor="end", size=12, fill="#222")
        bw = r["value"] * scale
        if r["value"] > 0:
            bw = max(bw, 1.5)
        data = {f"data_{k}": v for k, v in (r.get("data") or {}).items()}
        svg.rect(x0, y + 4, bw, row_h - 8, r.get("color", PALETTE[0]), title=r.get("title") or f'{r["label"]}: {value_fmt(r["value"])}', **data)
        svg.text(x0 + bw + 6, y + row_h * 0.65, value_fmt(r["value"]), size=12, fill="#222", weight="600")
        if r.get("note"):
            svg.text(width - 6, y + row_h * 0.65, r["note"], anchor="end", size=11, fill=r.get("note_color", "#888"))
    return svg.render()


def vbar_chart(labels: list[str], series: list[dict[str, Any]], *, label: str, xlabel: str, ylabel: str, width: int = 1060,
               height: int = 260, rotate_labels: bool = False, max_labels: int = 40, integer: bool = True, max_bar: float = 48) -> str:
    """Grouped vertical bars over categories. series: {name, color, values}."""
    left, right, top = 64, 16, 14
    bottom = 78 if rotate_labels else 44
    svg = Svg(width, height, label)
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max([v for s in series for v in s["values"]] + [0]) or 1
    ticks = nice_ticks(0, vmax, 5, integer=integer)
    sy = plot_h / ticks[-1]
    for t in ticks:
        y = top + plot_h - t * sy
        svg.line(left, y, left + plot_w, y, stroke="#e6e6e6")
        svg.text(left - 6, y + 4, fmt_num(t), anchor="end", size=11, fill="#666")
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = min(slot * 0.8 / max(len(series), 1), max_bar)
    group_w = bar_w * max(len(series), 1)
    every = max(1, math.ceil(n / max_labels))
    for i, lab in enumerate(labels):
        gx = left + i * slot + (slot - group_w) / 2
        for j, s in enumerate(series):
            v = s["values"][i]
            bh = v * sy
            if v > 0:
                bh = max(bh, 1.5)
            svg.rect(gx + j * bar_w, top + plot_h - bh, max(bar_w - (1 if bar_w > 3 else 0), 0.5), bh, s["color"],
                     title=f'{s["name"]}: {lab}: {fmt_num(v)}', data_value=v)
        if i % every == 0:
            cx = left + i * slot + slot / 2
            if rotate_labels:
                svg.text(cx, top + plot_h + 12, lab, anchor="end", size=11, fill="#555", rotate=-40)
            else:
                svg.text(cx, top + plot_h + 16, lab, anchor="middle", size=11, fill="#555")
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, stroke="#888")
    svg.text(left + plot_w / 2, height - 6, xlabel, anchor="middle", size=12, fill="#444")
    svg.text(14, top + plot_h / 2, ylabel, anchor="middle", size=12, fill="#444", rotate=-90)
    return svg.render()


def histogram_chart(hist: dict[str, Any], *, label: str, xlabel: str, thresholds: list[dict[str, Any]] | None = None,
                    width: int = 340, height: int = 210, color: str = PALETTE[0], ylabel: str = "documents") -> str:
    """A fixed-bin histogram (low, high, counts) with threshold lines; the dropped side is shaded."""
    thresholds = thresholds or []
    left, right, bottom = 52, 14, 42
    top = 10 + 14 * max(len(thresholds), 1)
    low, high, counts = float(hist["low"]), float(hist["high"]), list(hist["counts"])
    svg = Svg(width, height, label)
    plot_w, plot_h = width - left - right, height - top - bottom
    span = (high - low) or 1.0

    def sx(v: float) -> float:
        return left + (v - low) / span * plot_w

    cmax = max(counts + [0]) or 1
    ticks = nice_ticks(0, cmax, 4, integer=True)
    sy = plot_h / ticks[-1]
    for t in ticks:
        y = top + plot_h - t * sy
        svg.line(left, y, left + plot_w, y, stroke="#eee")
        svg.text(left - 6, y + 4, fmt_num(t), anchor="end", size=10, fill="#666")
    for th in thresholds:  # shading first, under the bars
        v = th["value"]
        if th["side"] in ("max", "atleast"):
            a, b = max(v, low), high
        else:
            a, b = low, min(v, high)
        if b > a:
            svg.rect(sx(a), top, sx(b) - sx(a), plot_h, DROP_RED, cls="shade", fill_opacity="0.08")
    nb = max(len(counts), 1)
    bw = plot_w / nb
    for i, c in enumerate(counts):
        x0v, x1v = low + i * span / nb, low + (i + 1) * span / nb
        bh = c * sy
        if c > 0:
            bh = max(bh, 1.5)
        # a bin wholly on the dropped side of a threshold is drawn red
        gone = any((t["side"] == "max" and x0v >= t["value"]) or (t["side"] == "atleast" and x0v >= t["value"])
                   or (t["side"] == "min" and x1v <= t["value"]) for t in thresholds)
        svg.rect(left + i * bw + 0.5, top + plot_h - bh, max(bw - 1, 0.5), bh, DROP_RED if gone else color,
                 title=f"{fmt_num(x0v)} to {fmt_num(x1v)}: {fmt_int(c)} {ylabel}" + (" (dropped side)" if gone else ""), data_value=c)
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, stroke="#888")
    for t in nice_ticks(low, high, 5):
        if low - 1e-9 <= t <= high + 1e-9:
            svg.line(sx(t), top + plot_h, sx(t), top + plot_h + 4, stroke="#888")
            svg.text(sx(t), top + plot_h + 15, fmt_num(t), anchor="middle", size=10, fill="#666")
    svg.text(left + plot_w / 2, height - 6, xlabel, anchor="middle", size=11, fill="#444")
    svg.text(12, top + plot_h / 2, ylabel, anchor="middle", size=11, fill="#444", rotate=-90)
    for k, th in enumerate(thresholds):
        v = th["value"]
        text = f'{th["param"]} = {fmt_num(v)}'
        ty = 12 + 14 * k
        tw = _text_width(text, 10)
        if low <= v <= high:
            x = sx(v)
            svg.line(x, ty - 8, x, top + plot_h, stroke=DROP_RED, width=1.5, dash="4 3", cls="threshold")
            if x + 4 + tw <= width - 2:
                svg.text(x + 4, ty, text, anchor="start", size=10, fill=DROP_RED, weight="600")
            else:
                svg.text(x - 4, ty, text, anchor="end", size=10, fill=DROP_RED, weight="600")
        else:
            arrow = "→" if v > high else "←"
            svg.text(width - 2 if v > high else left, ty, f"{text} {arrow} (off the axis)" if v > high else f"{arrow} {text} (off the axis)",
                     anchor="end" if v > high else "start", size=10, fill=DROP_RED, cls="threshold")
    return svg.render()


def stacked_share_bar(parts: list[tuple[str, int, str]], *, label: str, width: int = 1060, height: int = 26) -> str:
    """One 100 % stacked bar: (name, count, color) segments, labelled inside when they fit."""
    svg = Svg(width, height, label)
    total = sum(c for _, c, _ in parts) or 1
    x = 0.0
    for name, c, color in parts:
        w = width * c / total
        svg.rect(x, 2, max(w - 1, 0.8), height - 4, color, title=f"{name}: {fmt_int(c)} ({fmt_pct(c, total)})", data_reason=name, data_value=c)
        inside = f"{name} {fmt_int(c)}"
        if _text_width(inside, 11) + 8 < w:
            svg.text(x + 5, height / 2 + 4, inside, size=11, fill="#fff", weight="600")
        elif _text_width(fmt_int(c), 11) + 6 < w:
            svg.text(x + 3, height / 2 + 4, fmt_int(c), size=11, fill="#fff", weight="600")
        x += w
    return svg.render()


def length_chart(series: list[dict[str, Any]], *, label: str, width: int = 1060, height: int = 280) -> str:
    """Document length histograms on a log axis, overlaid. series: {name, color, counts, edges_log10}."""
    left, right, top, bottom = 64, 36, 14, 44
    svg = Svg(width, height, label)
    plot_w, plot_h = width - left - right, height - top - bottom
    edges = series[0]["edges_log10"]
    lo, hi = edges[0], edges[-1]

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    cmax = max([c for s in series for c in s["counts"]] + [0]) or 1
    ticks = nice_ticks(0, cmax, 5, integer=True)
    sy = plot_h / ticks[-1]
    for t in ticks:
        y = top + plot_h - t * sy
        svg.line(left, y, left + plot_w, y, stroke="#eee")
        svg.text(left - 6, y + 4, fmt_num(t), anchor="end", size=11, fill="#666")
    k = len(series)
    for si, s in enumerate(series):
        for i, c in enumerate(s["counts"]):
            a, b = sx(edges[i]), sx(edges[i + 1])
            w = (b - a) * 0.86 / k
            bh = c * sy
            if c > 0:
                bh = max(bh, 1.5)
            lo_c, hi_c = 10 ** edges[i], 10 ** edges[i + 1]
            svg.rect(a + (b - a) * 0.07 + si * w, top + plot_h - bh, w, bh, s["color"],
                     title=f'{s["name"]}: {fmt_int(math.ceil(lo_c))} to {fmt_int(math.ceil(hi_c) - 1)} characters: {fmt_int(c)} documents', data_value=c)
        if s.get("median"):
            x = sx(math.log10(max(s["median"], 1)))
            svg.line(x, top, x, top + plot_h, stroke=s["color"], width=1.5, dash="5 3", cls="median")
            svg.text(x + 4, top + 12 + 14 * si, f'median {fmt_int(s["median"])}', size=11, fill=s["color"], weight="600")
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, stroke="#888")
    for d in range(int(math.ceil(lo)), int(math.floor(hi)) + 1):
        svg.line(sx(d), top + plot_h, sx(d), top + plot_h + 4, stroke="#888")
        svg.text(sx(d), top + plot_h + 16, fmt_int(10**d), anchor="middle", size=11, fill="#555")
    svg.text(left + plot_w / 2, height - 6, "characters per document (log scale)", anchor="middle", size=12, fill="#444")
    svg.text(14, top + plot_h / 2, "documents", anchor="middle", size=12, fill="#444", rotate=-90)
    return svg.render()



def stacked_hbars(labels: list[str], series: list[tuple[str, list[int], str]], total: int, width: int = 1060) -> str:
    row_h, top, bottom, label_w, note_w = 24, 6, 30, 110, 150
    h = top + row_h * len(labels) + bottom
    svg = Svg(width, h, "documents per language")
    plot_w = width - label_w - note_w
    sums = [sum(s[1][i] for s in series) for i in range(len(labels))]
    ticks = nice_ticks(0, max(sums + [1]), 5, integer=True)
    scale = plot_w / ticks[-1]
    for t in ticks:
        x = label_w + t * scale
        svg.line(x, top, x, top + row_h * len(labels), stroke="#eee")
        svg.text(x, top + row_h * len(labels) + 14, fmt_num(t), anchor="middle", size=11, fill="#666")
    svg.text(label_w + plot_w / 2, h - 3, "documents", anchor="middle", size=12, fill="#444")
    for i, lab in enumerate(labels):
        y = top + i * row_h
        svg.text(label_w - 8, y + row_h * 0.68, lab, anchor="end", size=12, fill="#222", weight="600")
        x = label_w
        for name, vals, color in series:
            w = vals[i] * scale
            if vals[i] > 0:
                w = max(w, 1.5)
                svg.rect(x, y + 4, w, row_h - 8, color, title=f"{lab}: {name}: {fmt_int(vals[i])}", data_value=vals[i])
            x += w
        svg.text(x + 6, y + row_h * 0.68, f"{fmt_int(sums[i])}  ({fmt_pct(sums[i], total)})", size=12, fill="#222")
    return svg.render()



def shard_bars(labels: list[str], shards: list[dict[str, Any]], colors: dict[str, str]) -> str:
    width, height = 1060, 240
    left, right, top, bottom = 70, 16, 14, 60
    svg = Svg(width, height, "tokens per shard")
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max(s["tokens"] for s in shards) or 1
    ticks = nice_ticks(0, vmax, 5, integer=True)
    sy = plot_h / ticks[-1]
    for t in ticks:
        y = top + plot_h - t * sy
        svg.line(left, y, left + plot_w, y, stroke="#eee")
        svg.text(left - 6, y + 4, fmt_num(t), anchor="end", size=11, fill="#666")
    slot = plot_w / len(shards)
    bw = min(slot * 0.8, 60)
    every = max(1, math.ceil(len(shards) / 40))
    for i, (lab, s) in enumerate(zip(labels, shards)):
        x = left + i * slot + (slot - bw) / 2
        bh = max(s["tokens"] * sy, 1.5 if s["tokens"] else 0)
        svg.rect(x, top + plot_h - bh, bw, bh, colors.get(s["split"], PALETTE[0]),
                 title=f'{s["split"]}/{lab}: {fmt_int(s["tokens"])} tokens, {fmt_int(s.get("sequences") or 0)} sequences, {fmt_int(s.get("documents") or 0)} documents',
                 data_value=s["tokens"])
        if len(shards) <= 12:
            svg.text(x + bw / 2, top + plot_h - bh - 4, fmt_int(s["tokens"]), anchor="middle", size=11, fill="#333")
        if i % every == 0:
            svg.text(x + bw / 2, top + plot_h + 14, f'{s["split"]} {lab}', anchor="end" if len(shards) > 12 else "middle", size=11, fill="#555",
                     rotate=-40 if len(shards) > 12 else None)
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, stroke="#888")
    svg.text(left + plot_w / 2, height - 6, "token shard", anchor="middle", size=12, fill="#444")
    svg.text(14, top + plot_h / 2, "tokens", anchor="middle", size=12, fill="#444", rotate=-90)
    return svg.render()



def size_buckets(sizes: dict[int, int]) -> list[tuple[str, int, int]]:
    """(label, low, high) buckets of cluster sizes: one per size when few, else widening ranges."""
    if not sizes:
        return []
    if max(sizes) <= 40:
        return [(str(k), k, k + 1) for k in range(min(sizes), max(sizes) + 1)]
    edges = [2, 3, 4, 5, 6, 11, 21, 51, 101, 201, 501, 1001, 10**12]
    out = [(str(a) if b == a + 1 else (f"{a}–{b - 1}" if b < 10**12 else f"≥{a}"), a, b) for a, b in zip(edges, edges[1:])]
    while out and not any(out[-1][1] <= k < out[-1][2] for k in sizes):
        out.pop()
    return out




def share_rows_chart(rows: list[dict[str, Any]], *, label: str, width: int = 1060, label_width: int = 110, note_width: int = 250, row_h: int = 24) -> str:
    """One 100 % stacked bar per row: where a row's items went. rows: {label, parts: [(name, count, color)], note}."""
    top, bottom = 6, 24
    h = top + row_h * len(rows) + bottom
    svg = Svg(width, h, label)
    plot_w = width - label_width - note_width
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_width + t * plot_w
        svg.line(x, top, x, top + row_h * len(rows), stroke="#eee")
        svg.text(x, top + row_h * len(rows) + 14, f"{t:.0%}", anchor="middle", size=11, fill="#666")
    for i, r in enumerate(rows):
        y = top + i * row_h
        svg.text(label_width - 8, y + row_h * 0.68, r["label"], anchor="end", size=12, fill="#222", weight="600")
        total = sum(c for _, c, _ in r["parts"]) or 1
        x = float(label_width)
        for name, c, color in r["parts"]:
            if c <= 0:
                continue
            w = max(plot_w * c / total, 1.5)
            svg.rect(x, y + 4, w, row_h - 8, color, title=f'{r["label"]}: {name}: {fmt_int(c)} ({fmt_pct(c, total)})', data_row=r["label"], data_segment=name, data_value=c)
            x += w
        if r.get("note"):
            svg.text(width - 6, y + row_h * 0.68, r["note"], anchor="end", size=11, fill="#555")
    return svg.render()
