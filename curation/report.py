"""The HTML report of a run: one self-contained page of charts a person can read at a glance.

``write_report(output, path)`` reads what a run left under ``output`` and writes one HTML file
that opens offline: every chart is SVG drawn here, in Python, and the styles and the few lines
of script are inline; nothing is fetched from anywhere.

The page shows, for whatever stages the run has:

* the funnel: documents left after every step, and what each step removed;
* the drop reasons of every step (100 % stacked bars, with counts);
* the histogram of every score a step recorded, with the step's threshold from ``run.json``
  marked and the side it drops shaded;
* the language distribution of the documents entering the language step (from its
  ``language:<code>`` counters when it keeps them, otherwise lid.176 run again on a bounded,
  evenly spread sample of that input: exact whenever the sample covers it all);
* document length (characters) before and after: the first and last document stage's shards,
  ``text`` column only, at most ``LENGTH_SAMPLE_DOCS`` documents per stage;
* near-duplicate cluster sizes (``dedup/clusters.json``) and tokens per shard
  (``tokenize/manifest.json``);
* compute per stage and time per step;
* the sampled dropped documents of every step and reason, collapsed, HTML-escaped.

Every number the page shows is also embedded as JSON (``<script type="application/json"
id="report-data">``), which is what the tests compare with the run's statistics.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections import Counter
from typing import Any

import numpy as np

from curation.errors import CurationError
from curation.io.fs import atomic_write_bytes, exists, join, read_bytes
from curation.stats import StageStats
from curation.io.shards import iter_tables
from curation.layout import StageLayout, has_output, load_run_stats
from curation.registry import STAGE_ORDER, STAGES
from curation.summary import language_mix, to_json

LENGTH_SAMPLE_DOCS = 100_000  # documents whose text length is read, per stage
LANGUAGE_SAMPLE_DOCS = 5_000  # documents re-identified when the language step kept no counters
LENGTH_BINS_PER_DECADE = 6
LENGTH_MAX_DECADE = 6  # 1,000,000 characters; longer documents go in the last bin
TOP_LANGUAGES = 15
MAX_SHARD_BARS = 200  # tokens per shard: one bar per shard up to this many, a histogram beyond

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
STAGE_COLORS = {"extract": "#4e79a7", "filter": "#59a14f", "dedup": "#b07aa1", "tokenize": "#f28e2b"}
DROP_RED = "#d62728"

# Which step setting is the threshold of which histogram. side "min": a document below the value
# is dropped; "max": above it; "atleast": at or above it. (top_n_grams and dup_n_grams, lists of [n, fraction], are expanded
# in thresholds_for.) A setting that is None (or 0, outside the language step) is switched off.
THRESHOLDS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "language": {"language_score": [("language_threshold", "min")]},
    "url_filter": {"url_soft_banned_words": [("soft_word_threshold", "atleast")]},
    "gopher_repetition": {m: [(m, "max")] for m in ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac")},
    "gopher_quality": {
        "n_words": [("min_doc_words", "min"), ("max_doc_words", "max")],
        "mean_word_length": [("min_avg_word_length", "min"), ("max_avg_word_length", "max")],
        "hash_word_ratio": [("max_symbol_word_ratio", "max")],
        "ellipsis_word_ratio": [("max_symbol_word_ratio", "max")],
        "bullet_lines_ratio": [("max_bullet_lines_ratio", "max")],
        "end_ellipsis_lines_ratio": [("max_ellipsis_lines_ratio", "max")],
        "alpha_words_ratio": [("max_non_alpha_words_ratio", "min")],  # datatrove's name; a minimum alpha ratio
        "stop_words": [("min_stop_words", "min")],
    },
    "fineweb_quality": {
        "line_punct_ratio": [("line_punct_thr", "min")],
        "short_line_ratio": [("short_line_thr", "max")],
        "char_dup_ratio": [("char_duplicates_ratio", "max")],
        "list_ratio": [("new_line_ratio", "max")],
    },
}

HIST_NOTES = {
    ("language", "language_score"): "the score of the best label: a document in another language is dropped whatever its score",
    ("gopher_quality", "alpha_words_ratio"): "share of words with a letter",
    ("dedup", "cluster_size"): "one bin per size; larger clusters in the last bin",
}

# The scores that explain a drop reason, shown beside each sampled document (a reason that is
# itself a metric name, like ``dup_line_frac`` or ``top_2_gram``, explains itself).
REASON_SCORES = {
    "language": ("language", "language_score"),
    "gopher_short_doc": ("n_words",),
    "gopher_long_doc": ("n_words",),
    "gopher_below_avg_threshold": ("mean_word_length",),
    "gopher_above_avg_threshold": ("mean_word_length",),
    "gopher_too_many_hashes": ("hash_word_ratio",),
    "gopher_too_many_ellipsis": ("ellipsis_word_ratio",),
    "gopher_too_many_bullets": ("bullet_lines_ratio",),
    "gopher_too_many_end_ellipsis": ("end_ellipsis_lines_ratio",),
    "gopher_below_alpha_threshold": ("alpha_words_ratio",),
    "gopher_enough_stop_words": ("stop_words",),
    "too_few_sentences": ("c4_sentences",),
}

METRIC_COUNTS = {"cluster_size": "clusters"}  # what a histogram counts, when not documents

METRIC_UNITS = {
    "n_words": "words",
    "mean_word_length": "characters per word",
    "stop_words": "stop words",
    "url_soft_banned_words": "soft-banned words in the URL",
    "cluster_size": "documents in the cluster",
}


# ----------------------------------------------------------------------------------------------
# Formatting
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

    def text(self, x: float, y: float, s: str, anchor: str = "start", size: int = 12, fill: str = "#333", weight: str = "normal", rotate: float | None = None, cls: str = "") -> None:
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
               value_fmt=fmt_int, note_width: int = 230, axis_label: str = "", tick_fmt=fmt_num, integer: bool = True) -> str:
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


# ----------------------------------------------------------------------------------------------
# Collecting the figures
# ----------------------------------------------------------------------------------------------


def _read_json(url: str) -> Any | None:
    try:
        if not exists(url):
            return None
        return json.loads(read_bytes(url))
    except (OSError, ValueError):
        return None


def step_params(run: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(stage, step label) -> (step name, settings), from ``run.json``'s ``config``."""
    out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for stage, entries in (run.get("config") or {}).items():
        seen: Counter = Counter()
        for entry in entries or []:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            (name, params), = entry.items()
            seen[name] += 1
            label = name if seen[name] == 1 else f"{name}#{seen[name]}"
            out[(stage, label)] = (name, params or {})
    return out


def default_params(step: str) -> dict[str, Any]:
    """A step's default settings (for a run without ``run.json``)."""
    try:
        from curation.registry import step_class

        return step_class(step).Params().model_dump(mode="json")
    except Exception:  # an unknown step, or settings without defaults
        return {}


def thresholds_for(step: str, metric: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The thresholds of ``step`` that apply to histogram ``metric``: [{param, value, side}]."""
    found: list[tuple[str, float, str]] = []
    for param, side in THRESHOLDS.get(step, {}).get(metric, []):
        found.append((param, params.get(param), side))
    if step == "gopher_repetition":
        for key, pattern in (("top_n_grams", "top_{}_gram"), ("dup_n_grams", "duplicated_{}_n_grams")):
            for pair in params.get(key) or []:
                if isinstance(pair, (list, tuple)) and len(pair) == 2 and pattern.format(pair[0]) == metric:
                    found.append((f"{key}[{pair[0]}]", pair[1], "max"))
    if not found:  # a step not in the table: a setting named after the metric
        for param, side in ((metric, "max"), (f"max_{metric}", "max"), (f"min_{metric}", "min")):
            if param in params:
                found.append((param, params[param], side))
    out = []
    for param, value, side in found:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not value and step != "language":  # 0 / None switch a check off (as the filters read them)
            continue
        out.append({"param": param, "value": float(value), "side": side})
    return out


def _spread(n: int) -> list[int]:
    """0..n-1 in an order that spreads over the range (0, n/2, n/4, 3n/4, ...), for bounded reads."""
    if n <= 0:
        return []
    order, seen = [], set()
    k = 1
    while len(order) < n:
        for j in range(k):
            i = (j * n) // k
            if i not in seen:
                seen.add(i)
                order.append(i)
        k *= 2
    return order


def _iter_text_batches(shards: list[str], max_docs: int, columns: list[str]):
    """Batches of ``columns`` from ``shards`` (spread over the list, either shard format) until ``max_docs`` rows."""
    read = 0
    for i in _spread(len(shards)):
        if read >= max_docs:
            return
        for table in iter_tables(shards[i], columns):
            if read >= max_docs:
                break
            if read + table.num_rows > max_docs:
                table = table.slice(0, max_docs - read)
            read += table.num_rows
            yield i, table


def length_histogram(stage_dir: str, max_docs: int = LENGTH_SAMPLE_DOCS) -> dict[str, Any] | None:
    """Histogram of text lengths (characters, log bins) of a document stage's shards."""
    import pyarrow.compute as pc

    output, stage = stage_dir.rstrip("/").rsplit("/", 1)
    shards = StageLayout(output, stage).shard_urls()
    if not shards:
        return None
    nb = LENGTH_BINS_PER_DECADE * LENGTH_MAX_DECADE
    edges = np.linspace(0.0, float(LENGTH_MAX_DECADE), nb + 1)
    counts = np.zeros(nb, dtype=np.int64)
    lengths: list[np.ndarray] = []
    files_read: set[int] = set()
    docs = chars = 0
    for i, table in _iter_text_batches(shards, max_docs, ["text"]):
        files_read.add(i)
        lens = pc.utf8_length(table.column("text")).to_numpy(zero_copy_only=False)
        lens = np.nan_to_num(lens.astype(np.float64), nan=0.0)
        docs += len(lens)
        chars += int(lens.sum())
        lengths.append(lens)
        logs = np.log10(np.maximum(lens, 1.0))
        idx = np.clip((logs / LENGTH_MAX_DECADE * nb).astype(np.int64), 0, nb - 1)
        counts += np.bincount(idx, minlength=nb)
    all_lens = np.concatenate(lengths) if lengths else np.zeros(0)
    return {
        "stage": stage_dir.rstrip("/").rsplit("/", 1)[-1],
        "edges_log10": [round(float(e), 6) for e in edges],
        "counts": [int(c) for c in counts],
        "documents": docs,
        "characters": chars,
        "median": float(np.median(all_lens)) if len(all_lens) else 0.0,
        "mean": float(all_lens.mean()) if len(all_lens) else 0.0,
        "files_read": len(files_read),
        "files_total": len(shards),
        "complete": len(files_read) == len(shards) and docs < max_docs,
    }


def _document_stages(stats: dict[str, StageStats], output: str) -> list[str]:
    return [s for s in STAGE_ORDER if STAGES[s].documents and s in stats and StageLayout(output, s).shard_urls()]


def language_distribution(output: str, stats: dict[str, StageStats], run: dict[str, Any], max_docs: int = LANGUAGE_SAMPLE_DOCS) -> dict[str, Any] | None:
    """Documents per language entering the language step, from its counters (kept and dropped);
    for a run without them, the languages of the documents its last stage kept."""
    mix = language_mix(stats)
    if mix:
        kept: Counter = Counter()
        for ss in stats.values():
            for st in ss.steps:
                kept.update({k.split(":", 1)[1]: n for k, n in st.counters.items() if k.startswith("language_kept:")})
        return {
            "source": "counters",
            "note": "best lid.176 label of every document entering the language step (its counters)",
            "documents": sum(mix.values()),
            "of": sum(mix.values()),
            "languages": [{"language": k, "documents": v, "kept": kept[k], "dropped": v - kept[k]} for k, v in mix.items()],
        }
    stage = next((s for s, ss in stats.items() for st in ss.steps if st.name.split("#")[0] == "language"), None)
    if stage is None:
        return None
    counts: Counter = Counter()
    for _, table in _iter_text_batches(StageLayout(output, stage).shard_urls(), max_docs, ["language"]):
        counts.update(x for x in table.column("language").to_pylist() if x)
    if not counts:
        return None
    return {
        "source": "kept_column",
        "note": f"language of the documents the {stage} stage kept (this run's language step kept no counters)",
        "languages": [{"language": k, "documents": v} for k, v in counts.most_common()],
    }


def collect(output: str) -> dict[str, Any]:
    """Every figure the report shows, as plain data (what ``report-data`` embeds)."""
    stats = load_run_stats(output)
    run = _read_json(join(output, "run.json")) or {}
    params = step_params(run)
    summary = to_json(stats)

    funnel: list[dict[str, Any]] = []
    for stage, ss in stats.items():
        for st in ss.steps:
            if not funnel:
                funnel.append({"stage": stage, "step": None, "label": "WARC records read" if st.name == "warc_reader" else f"into {st.name}", "documents": st.docs_in})
            funnel.append({"stage": stage, "step": st.name, "label": f"after {st.name}", "docs_in": st.docs_in, "documents": st.docs_out,
                           "removed": st.docs_in - st.docs_out})

    drops = [
        {"stage": stage, "step": st.name, "docs_in": st.docs_in, "dropped": dict(st.dropped.most_common())}
        for stage, ss in stats.items() for st in ss.steps if sum(st.dropped.values())
    ]

    histograms = []
    for stage, ss in stats.items():
        for st in ss.steps:
            base = st.name.split("#")[0]
            name, p = params.get((stage, st.name)) or (base, default_params(base))
            for metric, h in sorted(st.histograms.items()):
                histograms.append({"stage": stage, "step": st.name, "metric": metric, **h.to_dict(), "documents": sum(h.counts),
                                   "thresholds": thresholds_for(name, metric, p)})

    doc_stages = _document_stages(stats, output)
    lengths = []
    if doc_stages:
        for s in dict.fromkeys([doc_stages[0], doc_stages[-1]]):
            h = length_histogram(join(output, s))
            if h:
                lengths.append(h)

    clusters = _read_json(join(output, "dedup", "clusters.json")) if "dedup" in stats else None
    manifest = _read_json(join(output, "tokenize", "manifest.json")) if "tokenize" in stats else None
    tokens = None
    if manifest:
        shards = [{"split": split, "path": sh["path"], "tokens": sh["tokens"], "sequences": sh.get("sequences"), "documents": sh.get("documents")}
                  for split, info in manifest.get("splits", {}).items() for sh in info.get("shards", [])]
        tokens = {"shards": shards, "total": manifest.get("total", {}), "seq_len": manifest.get("seq_len"),
                  "tokenizer": (manifest.get("tokenizer") or {}).get("name"), "dtype": manifest.get("dtype"),
                  "splits": {k: {kk: v.get(kk) for kk in ("sequences", "tokens", "documents")} for k, v in manifest.get("splits", {}).items()}}

    compute = [
        {"stage": s, **c, "steps": [{"step": st.name, "seconds": st.seconds} for st in stats[s].steps]}
        for s, c in summary["compute"].items()
    ]
    return {
        "output": output,
        "run": {k: run.get(k) for k in ("pipeline", "pipeline_file", "input", "stages")},
        "stages": list(stats),
        "funnel": funnel,
        "funnel_rows": summary["funnel"],
        "drops": drops,
        "histograms": histograms,
        "languages": language_distribution(output, stats, run) if stats else None,
        "lengths": lengths,
        "clusters": clusters,
        "tokens": tokens,
        "compute": compute,
        "errors": summary["errors"],
        "_stats": stats,  # not embedded: the samples are rendered as HTML
    }


# ----------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------

CSS = """
:root { --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --bg:#f6f7f9; --card:#fff; --red:#d62728; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); line-height:1.45; }
header { background:#1d2330; color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header .meta { color:#c5cad3; font-size:13px; }
header .meta code { color:#fff; }
nav { position:sticky; top:0; z-index:5; background:#fff; border-bottom:1px solid var(--line); padding:8px 32px; font-size:13px; }
nav a { color:#2f5d8a; text-decoration:none; margin-right:16px; white-space:nowrap; }
nav a:hover { text-decoration:underline; }
main { max-width:1140px; margin:0 auto; padding:18px 24px 60px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:18px 22px 20px; margin:18px 0; }
section h2 { margin:0 0 2px; font-size:19px; }
section > p.lead { margin:0 0 14px; color:var(--muted); font-size:13px; }
h3 { font-size:15px; margin:18px 0 6px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:4px 0 4px; }
.card { flex:1 1 120px; background:var(--bg); border-radius:6px; padding:10px 14px; }
.card .v { font-size:22px; font-weight:650; }
.card .k { font-size:12px; color:var(--muted); }
.chart { margin:6px 0 10px; overflow-x:auto; }
.chart svg { display:block; max-width:100%; height:auto; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(310px, 1fr)); gap:14px 18px; }
.grid svg { width:100%; height:auto; }
.hist h4 { margin:4px 0 0; font-size:13px; }
.hist .sub { font-size:11.5px; color:var(--muted); margin-bottom:2px; min-height:2.8em; }
.legend { display:flex; flex-wrap:wrap; gap:4px 14px; font-size:12px; color:#333; margin:2px 0 0; }
.legend i { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.droprow { margin:10px 0 14px; }
.droprow .title { font-size:13px; margin-bottom:3px; }
.droprow .title b { font-weight:650; }
.droprow .title span { color:var(--muted); }
table { border-collapse:collapse; font-size:13px; margin:8px 0; }
th, td { padding:5px 12px; border-bottom:1px solid var(--line); text-align:right; }
th:first-child, td:first-child { text-align:left; }
th { background:var(--bg); font-weight:600; }
.empty { color:var(--muted); font-style:italic; font-size:13px; padding:6px 0; }
details { border:1px solid var(--line); border-radius:6px; margin:6px 0; background:#fff; }
details > summary { cursor:pointer; padding:7px 12px; font-size:13px; }
details[open] > summary { border-bottom:1px solid var(--line); background:var(--bg); }
details .body { padding:8px 12px; }
details details { margin:6px 0; }
.doc pre { white-space:pre-wrap; word-break:break-word; font-size:12.5px; background:#fbfbfc; border:1px solid var(--line); border-radius:4px; padding:8px 10px; max-height:340px; overflow:auto; margin:6px 0 2px; }
.doc .url { font-family:ui-monospace, Menlo, monospace; font-size:12px; word-break:break-all; color:#2f5d8a; }
.scores { font-size:11.5px; color:#444; font-family:ui-monospace, Menlo, monospace; }
.pill { display:inline-block; background:#eef2f7; border-radius:10px; padding:0 8px; font-size:12px; color:#333; margin-left:6px; }
.pill.red { background:#fde8e8; color:#9b1c1c; }
.toolbar { margin:4px 0 10px; font-size:13px; }
.toolbar button { font:inherit; font-size:12.5px; padding:3px 10px; margin-right:6px; border:1px solid #cbd2dc; background:#fff; border-radius:4px; cursor:pointer; }
.note { font-size:12px; color:var(--muted); }
.error { color:#9b1c1c; font-family:ui-monospace, Menlo, monospace; font-size:12px; white-space:pre-wrap; }
"""

SCRIPT = """
(function () {
  function all(open) {
    document.querySelectorAll('#samples details').forEach(function (d) { d.open = open; });
  }
  var ex = document.getElementById('expand-all'), co = document.getElementById('collapse-all');
  if (ex) ex.addEventListener('click', function () { all(true); });
  if (co) co.addEventListener('click', function () { all(false); });
  var data = JSON.parse(document.getElementById('report-data').textContent);
  document.body.setAttribute('data-charts', String(document.querySelectorAll('.chart svg').length));
  document.body.setAttribute('data-stages', data.stages.join(','));
})();
"""


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{esc(n)}</span>' for n, c in items) + "</div>"


def _chart(kind: str, svg: str, extra: str = "") -> str:
    return f'<div class="chart" data-chart="{esc(kind)}">{svg}{extra}</div>'


def _section(sid: str, title: str, lead: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(title)}</h2><p class="lead">{lead}</p>{body}</section>'


def _empty(msg: str) -> str:
    return f'<div class="empty">{esc(msg)}</div>'


def render_overview(d: dict[str, Any]) -> str:
    stats: dict[str, StageStats] = d["_stats"]
    cards = []

    def card(k: str, v: str) -> None:
        cards.append(f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>')

    if "extract" in stats and stats["extract"].steps:
        ex = stats["extract"]
        card("WARC records read" if ex.steps[0].name == "warc_reader" else "documents in", fmt_int(ex.steps[0].docs_in))
        card("documents extracted", fmt_int(ex.steps[-1].docs_out))
    for stage, label in (("filter", "documents after filtering"), ("dedup", "documents after dedup")):
        if stage in stats and stats[stage].steps:
            card(label, fmt_int(stats[stage].steps[-1].docs_out))
    if d["tokens"]:
        card(f'{d["tokens"]["tokenizer"] or ""} tokens'.strip(), fmt_int(d["tokens"]["total"].get("tokens", 0)))
    cpu = sum(ss.cpu_seconds for ss in stats.values())
    card("CPU time, all stages", fmt_seconds(cpu))
    failed = sum(ss.shards_failed for ss in stats.values())
    card("failed shards", fmt_int(failed))
    return '<div class="cards">' + "".join(cards) + "</div>"


def render_funnel(d: dict[str, Any]) -> str:
    rows = []
    first = d["funnel"][0]["documents"] if d["funnel"] else 0
    for r in d["funnel"]:
        note, color = "", STAGE_COLORS.get(r["stage"], PALETTE[0])
        if r["step"] is not None:
            if r["removed"]:
                note = f'−{fmt_int(r["removed"])} ({fmt_pct(r["removed"], r["docs_in"])} of its input)'
            else:
                note = "nothing removed"
        rows.append({"label": r["label"], "sublabel": r["stage"], "value": r["documents"], "color": color, "note": note,
                     "note_color": DROP_RED if r["step"] and r["removed"] else "#999",
                     "title": f'{r["stage"]} / {r["label"]}: {fmt_int(r["documents"])} documents ({fmt_pct(r["documents"], first)} of the first bar)',
                     "data": {"stage": r["stage"], "step": r["step"] or "", "value": r["documents"]}})
    svg = hbar_chart(rows, label="documents after each step", axis_label="documents")
    legend = _legend([(s, STAGE_COLORS.get(s, PALETTE[0])) for s in d["stages"]])
    table = ["<table><tr><th>stage</th><th>step</th><th>docs in</th><th>docs out</th><th>removed</th><th>chars in</th><th>chars out</th><th>time</th></tr>"]
    for r in d["funnel_rows"]:
        table.append(
            f'<tr><td>{esc(r["stage"])}</td><td style="text-align:left">{esc(r["step"])}</td><td>{fmt_int(r["docs_in"])}</td><td>{fmt_int(r["docs_out"])}</td>'
            f'<td>{r["removed_pct"]:.1f}%</td><td>{fmt_int(r["chars_in"])}</td><td>{fmt_int(r["chars_out"])}</td><td>{fmt_seconds(r["seconds"])}</td></tr>'
        )
    table.append("</table>")
    return _chart("funnel", svg, legend) + "<details><summary>the funnel as a table</summary><div class=\"body\">" + "".join(table) + "</div></details>"


def render_drops(d: dict[str, Any]) -> str:
    if not d["drops"]:
        return _empty("no step dropped anything")
    out = []
    for r in d["drops"]:
        total = sum(r["dropped"].values())
        parts = [(reason, n, PALETTE[i % len(PALETTE)]) for i, (reason, n) in enumerate(r["dropped"].items())]
        title = (f'<div class="title"><b>{esc(r["stage"])} / {esc(r["step"])}</b> <span>dropped {fmt_int(total)} of {fmt_int(r["docs_in"])} '
                 f'({fmt_pct(total, r["docs_in"])}) for {len(parts)} reason{"s" if len(parts) != 1 else ""}</span></div>')
        svg = stacked_share_bar(parts, label=f'drop reasons of {r["step"]}')
        legend = _legend([(f"{reason}  {fmt_int(n)} ({fmt_pct(n, total)})", c) for reason, n, c in parts])
        out.append(f'<div class="droprow" data-step="{esc(r["step"])}">{title}{_chart("drops", svg)}{legend}</div>')
    return "".join(out)


def _threshold_text(ths: list[dict[str, Any]]) -> str:
    if not ths:
        return "no threshold: recorded for reference"
    words = []
    for t in ths:
        words.append(f'{esc(t["param"])} = {fmt_num(t["value"])}: ' + {"min": "below is dropped", "max": "above is dropped", "atleast": "at or above is dropped"}[t["side"]])
    return "; ".join(words)


def render_histograms(d: dict[str, Any]) -> str:
    if not d["histograms"]:
        return _empty("no step recorded a score histogram")
    out = []
    by_step: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h in d["histograms"]:
        by_step.setdefault((h["stage"], h["step"]), []).append(h)
    stats: dict[str, StageStats] = d["_stats"]
    for (stage, step), hs in by_step.items():
        st = stats[stage].step(step)
        dropped = sum(st.dropped.values())
        color = STAGE_COLORS.get(stage, PALETTE[0])
        out.append(f'<h3>{esc(stage)} / {esc(step)} <span class="pill{" red" if dropped else ""}">dropped {fmt_int(dropped)} of {fmt_int(st.docs_in)}</span></h3><div class="grid">')
        for h in hs:
            unit = METRIC_UNITS.get(h["metric"], h["metric"].replace("_", " "))
            counted = METRIC_COUNTS.get(h["metric"], "documents")
            svg = histogram_chart(h, label=f'{step}: {h["metric"]}', xlabel=unit, thresholds=h["thresholds"], color=color, ylabel=counted)
            note = HIST_NOTES.get((step.split("#")[0], h["metric"])) or HIST_NOTES.get((stage, h["metric"]))
            note = f" ({esc(note)})" if note else ""
            out.append(f'<div class="hist"><h4>{esc(h["metric"])}</h4><div class="sub">{plural(h["documents"], counted)} · {_threshold_text(h["thresholds"])}{note}</div>'
                       f'{_chart("histogram", svg)}</div>')
        out.append("</div>")
    out.append('<p class="note">Bins are fixed by each step; values beyond the axis are counted in its first or last bin. '
               'A document is scored only up to the check that drops it, so later metrics count fewer documents.</p>')
    return "".join(out)


def render_languages(d: dict[str, Any]) -> str:
    lang = d["languages"]
    if not lang or not lang["languages"]:
        return _empty("no language step in this run")
    items = lang["languages"]
    top, rest = items[:TOP_LANGUAGES], items[TOP_LANGUAGES:]
    split = "kept" in items[0]
    total = sum(x["documents"] for x in items)
    labels = [x["language"] for x in top] + ([f"{len(rest)} others"] if rest else [])
    if split:
        kept = [x["kept"] for x in top] + ([sum(x["kept"] for x in rest)] if rest else [])
        dropped = [x["dropped"] for x in top] + ([sum(x["dropped"] for x in rest)] if rest else [])
        rows_svg = _stacked_hbars(labels, [("kept by the language step", kept, "#59a14f"), ("dropped by it", dropped, "#bab0ac")], total)
        legend = _legend([("kept by the language step", "#59a14f"), ("dropped by the language step", "#bab0ac")])
    else:
        vals = [x["documents"] for x in top] + ([sum(x["documents"] for x in rest)] if rest else [])
        rows_svg = _stacked_hbars(labels, [("documents", vals, "#4e79a7")], total)
        legend = ""
    return _chart("languages", rows_svg, legend) + f'<p class="note">{esc(lang["note"])}.</p>'


def _stacked_hbars(labels: list[str], series: list[tuple[str, list[int], str]], total: int, width: int = 1060) -> str:
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


def render_lengths(d: dict[str, Any]) -> str:
    if not d["lengths"]:
        return _empty("no document shards in this run")
    colors = ["#9aa5b1", "#4e79a7"]
    series = []
    rows = []
    for i, h in enumerate(d["lengths"]):
        name = {"extract": "extracted (extract output)", "filter": "after filtering (filter output)", "dedup": "final (dedup output)"}.get(h["stage"], h["stage"])
        series.append({**h, "name": name, "color": colors[i % 2] if len(d["lengths"]) > 1 else colors[1]})
        sampled = "" if h["complete"] else f' (read {fmt_int(h["documents"])} documents from {h["files_read"]} of {h["files_total"]} shards)'
        rows.append(f'<tr><td>{esc(name)}{esc(sampled)}</td><td>{fmt_int(h["documents"])}</td><td>{fmt_int(h["characters"])}</td>'
                    f'<td>{fmt_int(h["median"])}</td><td>{fmt_int(h["mean"])}</td></tr>')
    svg = length_chart(series, label="document length")
    table = "<table><tr><th>documents</th><th>count</th><th>characters</th><th>median length</th><th>mean length</th></tr>" + "".join(rows) + "</table>"
    return _chart("lengths", svg, _legend([(s["name"], s["color"]) for s in series])) + table


def _size_buckets(sizes: dict[int, int]) -> list[tuple[str, int, int]]:
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


def render_clusters(d: dict[str, Any]) -> str:
    c = d["clusters"]
    if not c:
        return _empty("no dedup stage in this run" if "dedup" not in d["stages"] else "dedup/clusters.json not found")
    groups: list[tuple[str, dict[str, Any]]] = [(f"exact ({k})", v) for k, v in (c.get("exact") or {}).items()]
    if c.get("near") is not None:
        groups.append(("near (MinHash)", c["near"]))
    merged: dict[str, dict[int, int]] = {name: {int(k): int(v) for k, v in (g.get("cluster_sizes") or {}).items()} for name, g in groups}
    union: dict[int, int] = Counter()
    for m in merged.values():
        union.update(m)
    table = ["<table><tr><th>kind</th><th>clusters</th><th>documents in clusters</th><th>removed</th><th>largest cluster</th></tr>"]
    for name, g in groups:
        table.append(f'<tr><td>{esc(name)}</td><td>{fmt_int(g.get("clusters", 0))}</td><td>{fmt_int(g.get("documents_in_clusters", 0))}</td>'
                     f'<td>{fmt_int(g.get("documents_removed", 0))}</td><td>{fmt_int(g.get("largest_cluster", 0))}</td></tr>')
    table.append("</table>")
    pairs = c.get("pairs") or {}
    pair_note = ""
    if pairs:
        pair_note = '<p class="note">' + esc(", ".join(f"{k.replace('_', ' ')}: {fmt_int(v)}" for k, v in pairs.items())) + ".</p>"
    if not union:
        chart = _empty("no duplicate clusters found")
    else:
        buckets = _size_buckets(dict(union))
        labels = [b[0] for b in buckets]
        series = []
        for i, (name, m) in enumerate(merged.items()):
            if not m:
                continue
            values = [sum(v for k, v in m.items() if lo <= k < hi) for _, lo, hi in buckets]
            series.append({"name": name, "color": ["#b07aa1", "#f28e2b", "#4e79a7", "#76b7b2"][i % 4], "values": values})
        svg = vbar_chart(labels, series, label="cluster sizes", xlabel="documents in the cluster (the kept copy included)", ylabel="clusters", height=240)
        empties = [name for name, m in merged.items() if not m]
        extra = _legend([(s["name"], s["color"]) for s in series])
        if empties:
            extra += f'<p class="note">no clusters: {esc(", ".join(empties))}.</p>'
        chart = _chart("clusters", svg, extra)
    samples = _render_cluster_samples(c.get("samples") or [])
    return chart + "".join(table) + pair_note + samples


def _render_cluster_samples(samples: list[dict[str, Any]]) -> str:
    if not samples:
        return ""
    out = [f'<details><summary>example clusters ({len(samples)})</summary><div class="body">']
    for s in samples:
        out.append(f'<details><summary>{esc(s.get("kind", ""))} cluster of {fmt_int(s.get("size", 0))} documents</summary><div class="body">')
        for m in s.get("members", []):
            mark = '<span class="pill">kept</span>' if m.get("kept") else '<span class="pill red">removed</span>'
            out.append(f'<div class="doc">{mark} <span class="url">{esc(m.get("url", ""))}</span> <span class="note">{esc(m.get("date", ""))}</span>'
                       f'<pre>{esc(m.get("text", ""))}</pre></div>')
        out.append("</div></details>")
    out.append("</div></details>")
    return "".join(out)


def render_tokens(d: dict[str, Any]) -> str:
    t = d["tokens"]
    if not t:
        return _empty("no tokenize stage in this run" if "tokenize" not in d["stages"] else "tokenize/manifest.json not found")
    shards = t["shards"]
    colors = {"train": "#f28e2b", "val": "#4e79a7"}
    total = t["total"]
    cards = (f'<div class="cards"><div class="card"><div class="v">{fmt_int(total.get("tokens", 0))}</div><div class="k">tokens</div></div>'
             f'<div class="card"><div class="v">{fmt_int(total.get("sequences", 0))}</div><div class="k">sequences of {fmt_int((t["seq_len"] or 0) + 1)} tokens</div></div>'
             f'<div class="card"><div class="v">{fmt_int(total.get("documents", 0))}</div><div class="k">documents</div></div>'
             f'<div class="card"><div class="v">{len(shards)}</div><div class="k">shards ({esc(t["dtype"] or "")}, {esc(t["tokenizer"] or "")})</div></div></div>')
    if not shards:
        return cards + _empty("no token shard written")
    if len(shards) <= MAX_SHARD_BARS:
        labels = [s["path"].rsplit("/", 1)[-1].removesuffix(".parquet").replace("part-", "") for s in shards]
        splits = list(dict.fromkeys(s["split"] for s in shards))
        svg = _single_bars(labels, shards, colors)
        legend = _legend([(f'{sp}: {fmt_int(t["splits"].get(sp, {}).get("tokens") or 0)} tokens', colors.get(sp, PALETTE[0])) for sp in splits])
    else:
        counts = [s["tokens"] for s in shards]
        hi = max(counts) or 1
        hist = np.histogram(counts, bins=30, range=(0, hi))[0]
        svg = histogram_chart({"low": 0, "high": hi, "counts": [int(x) for x in hist]}, label="tokens per shard", xlabel="tokens per shard",
                              width=1060, height=240, ylabel="shards")
        legend = f'<p class="note">{fmt_int(len(shards))} shards: a histogram of their token counts.</p>'
    return cards + _chart("tokens", svg, legend)


def _single_bars(labels: list[str], shards: list[dict[str, Any]], colors: dict[str, str]) -> str:
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


def render_compute(d: dict[str, Any]) -> str:
    if not d["compute"]:
        return _empty("no stage finished")
    labels = [c["stage"] for c in d["compute"]]
    svg = vbar_chart(labels, [
        {"name": "CPU-seconds", "color": "#4e79a7", "values": [round(c["cpu_seconds"], 3) for c in d["compute"]]},
        {"name": "task-seconds (wall time summed over shards)", "color": "#9aa5b1", "values": [round(c["task_seconds"], 3) for c in d["compute"]]},
    ], label="compute per stage", xlabel="stage", ylabel="seconds", height=230, width=440, integer=False)
    legend = _legend([("CPU-seconds", "#4e79a7"), ("task-seconds (wall time summed over shards)", "#9aa5b1")])
    rows = []
    for c in d["compute"]:
        rate = f'{c["docs_per_cpu_second"]:,.1f}' if c["docs_per_cpu_second"] else "-"
        rows.append(f'<tr><td>{esc(c["stage"])}</td><td>{fmt_int(c["shards"])}</td><td>{fmt_int(c["shards_failed"])}</td><td>{c["cpu_seconds"]:,.1f}</td>'
                    f'<td>{c["task_seconds"]:,.1f}</td><td>{rate}</td></tr>')
    table = ("<table><tr><th>stage</th><th>shards</th><th>failed</th><th>CPU-seconds</th><th>task-seconds</th><th>documents per CPU-second</th></tr>"
             + "".join(rows) + "</table>")
    step_rows = [{"label": s["step"], "sublabel": c["stage"], "value": s["seconds"], "color": STAGE_COLORS.get(c["stage"], PALETTE[0]),
                  "title": f'{c["stage"]} / {s["step"]}: {s["seconds"]:,.2f} s'} for c in d["compute"] for s in c["steps"]]
    steps_svg = hbar_chart(step_rows, label="time per step", value_fmt=lambda v: f"{v:,.2f} s" if v < 100 else f"{v:,.0f} s", note_width=40,
                           axis_label="seconds in the step, summed over shards", tick_fmt=lambda v: f"{fmt_num(v)} s", integer=False)
    return ('<div style="display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start">'
            f'<div style="flex:0 0 440px">{_chart("compute", svg, legend)}</div><div style="flex:1 1 420px;min-width:0">{table}<p class="note">Documents per CPU-second: the stage\'s first step\'s input over the '
            'CPU time of its tasks. Task-seconds add up each shard\'s wall time, so they exceed the elapsed time when shards run in parallel.</p></div></div>'
            f'<h3>time per step</h3>{_chart("step-time", steps_svg)}')


def _score(k: str, v: Any) -> str:
    return f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"


def _score_line(meta: dict[str, Any]) -> str:
    return " · ".join(_score(k, v) for k, v in sorted(meta.items()))


def _reason_scores(reason: str, meta: dict[str, Any]) -> str:
    keys = REASON_SCORES.get(reason, (reason,))
    return " ".join(_score(k, meta[k]) for k in keys if k in meta)


def render_samples(d: dict[str, Any]) -> str:
    stats: dict[str, StageStats] = d["_stats"]
    out = ['<div class="toolbar"><button id="expand-all" type="button">expand all</button><button id="collapse-all" type="button">collapse all</button></div>']
    any_ = False
    for stage, ss in stats.items():
        for st in ss.steps:
            samples = st.samples
            if not samples:
                continue
            any_ = True
            total = sum(st.dropped.values())
            out.append(f'<details class="step" data-step="{esc(st.name)}"><summary><b>{esc(stage)} / {esc(st.name)}</b>'
                       f'<span class="pill red">{fmt_int(total)} dropped</span></summary><div class="body">')
            for reason, docs in samples.items():
                out.append(f'<details class="reason" data-reason="{esc(reason)}"><summary>{esc(reason)} '
                           f'<span class="pill">{fmt_int(st.dropped.get(reason, 0))} dropped, {len(docs)} sampled</span></summary><div class="body">')
                for s in docs:
                    scores = _score_line(s.get("metadata") or {})
                    text = s.get("text") or ""
                    key = _reason_scores(reason, s.get("metadata") or {})
                    key = f'<span class="pill red">{esc(key)}</span>' if key else ""
                    out.append(f'<details class="doc"><summary><span class="url">{esc(s.get("url") or s.get("id") or "")}</span>{key}</summary><div class="body">'
                               f'<div class="note">id {esc(s.get("id", ""))} · {fmt_int(len(text))} characters shown</div>'
                               + (f'<div class="scores">{esc(scores)}</div>' if scores else "")
                               + f"<pre>{esc(text) if text else '(no text)'}</pre></div></details>")
                out.append("</div></details>")
            out.append("</div></details>")
    if not any_:
        return _empty("no dropped document was sampled")
    return "".join(out)


def render_errors(d: dict[str, Any]) -> str:
    if not d["errors"]:
        return ""
    rows = [f'<li><b>{esc(stage)}</b> {esc(e.get("input", e.get("shard", "")))}<div class="error">{esc(e.get("error", ""))}</div></li>'
            for stage, errs in d["errors"].items() for e in errs]
    return _section("errors", "Failed shards", "These shards failed; rerun the same command to retry them (finished shards are kept).", "<ul>" + "".join(rows) + "</ul>")


def _data_json(d: dict[str, Any]) -> str:
    public = {k: v for k, v in d.items() if not k.startswith("_")}
    if public.get("clusters"):
        public["clusters"] = {k: v for k, v in public["clusters"].items() if k != "samples"}
    text = json.dumps(public, ensure_ascii=False, default=str)
    # safe inside <script>: no "</script>", no "<!--"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(d: dict[str, Any]) -> str:
    run = d["run"]
    title = f'Curation report: {run.get("pipeline") or "run"}'
    meta = [f'output <code>{esc(d["output"])}</code>']
    if run.get("input"):
        meta.append(f'input <code>{esc(run["input"])}</code>')
    if run.get("pipeline_file"):
        meta.append(f'pipeline <code>{esc(run["pipeline_file"])}</code>')
    meta.append(f'stages {esc(", ".join(d["stages"]) or "none")}')
    meta.append(f'generated {esc(_dt.datetime.now().strftime("%Y-%m-%d %H:%M"))}')
    sections = [
        ("funnel", "Funnel", "Documents left after each step (the first bar is the input of the first step; a WARC reader counts records).", render_funnel(d)),
        ("drops", "Why documents were dropped", "Each step's drops split by reason: the bar is 100 % of what the step dropped.", render_drops(d)),
        ("scores", "Filter scores", "Distribution of every score a step recorded, with the step's threshold from <code>run.json</code> as a red dashed line; the shaded side is dropped.", render_histograms(d)),
        ("languages", "Languages", "Documents per language.", render_languages(d)),
        ("lengths", "Document length", "Characters per document before and after: the first and the last document stage of the run.", render_lengths(d)),
        ("dedup", "Duplicate clusters", "How many documents each duplicate cluster holds (from <code>dedup/clusters.json</code>); one copy per cluster is kept.", render_clusters(d)),
        ("tokens", "Tokens", "Tokens in each token shard (from <code>tokenize/manifest.json</code>).", render_tokens(d)),
        ("compute", "Compute", "CPU and task time per stage, and time per step.", render_compute(d)),
        ("samples", "Dropped documents", "A sample of the documents each step dropped, per reason (kept for the documents with the smallest id hashes, so the same in every run).", render_samples(d)),
    ]
    nav = "".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t, _, _ in sections)
    body = render_errors(d) + "".join(_section(sid, t, lead, b) for sid, t, lead, b in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f'<link rel="icon" href="data:,"><title>{esc(title)}</title><style>{CSS}</style></head><body>'
        f'<header><h1>{esc(title)}</h1><div class="meta">{" · ".join(meta)}</div></header>'
        f'<nav>{nav}</nav><main><section id="overview"><h2>Overview</h2><p class="lead"></p>{render_overview(d)}</section>{body}</main>'
        f'<script type="application/json" id="report-data">{_data_json(d)}</script>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def write_report(output: str, path: str | None = None) -> str:
    """Write the HTML report of the run in ``output`` to ``path`` (default ``OUTPUT/report.html``); return the path."""
    if not has_output(output):
        raise CurationError(f"no curation output found in {output} (expected folders like {output}/extract)")
    data = collect(output)
    if not data["stages"]:
        raise CurationError(f"no finished shard found in {output}")
    path = path or join(output, "report.html")
    atomic_write_bytes(path, render_html(data).encode("utf-8"))
    return path
