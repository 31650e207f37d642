"""The page: one HTML file of sections drawn from ``collect``'s data, with inline styles and a few
lines of script, that opens offline (the Content-Security-Policy forbids fetching anything)."""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from typing import Any, Callable

import numpy as np

from curation.summary import language_stages
from curation.report.charts import (
    DROP_RED,
    KEPT_GREEN,
    PALETTE,
    STAGE_COLORS,
    esc,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    hbar_chart,
    histogram_chart,
    length_chart,
    plural,
    shard_bars,
    share_rows_chart,
    size_buckets,
    stacked_hbars,
    stacked_share_bar,
    vbar_chart,
)

TOP_LANGUAGES = 15  # languages charted and tabled one by one; the rest are summed as "other"
MAX_SHARD_BARS = 200  # tokens per shard: one bar per shard up to this many, a histogram beyond

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
.doc pre { white-space:pre-wrap; word-break:break-word; font-size:12.5px; background:#fbfbfc; border:1px solid var(--line); border-radius:4px;
           padding:8px 10px; max-height:340px; overflow:auto; margin:6px 0 2px; }
.doc .url { font-family:ui-monospace, Menlo, monospace; font-size:12px; word-break:break-all; color:#2f5d8a; }
.scores { font-size:11.5px; color:#444; font-family:ui-monospace, Menlo, monospace; }
.pill { display:inline-block; background:#eef2f7; border-radius:10px; padding:0 8px; font-size:12px; color:#333; margin-left:6px; }
.pill.red { background:#fde8e8; color:#9b1c1c; }
.toolbar { margin:4px 0 10px; font-size:13px; }
.toolbar button { font:inherit; font-size:12.5px; padding:3px 10px; margin-right:6px; border:1px solid #cbd2dc; background:#fff; border-radius:4px; cursor:pointer; }
.note { font-size:12px; color:var(--muted); }
table.languages td.reasons, table.languages th:last-child { text-align:left; }
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
    cards = []

    def card(k: str, v: str) -> None:
        cards.append(f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>')

    steps = [r for r in d["funnel"] if r["step"] is not None]
    extract = [r for r in steps if r["stage"] == "extract"]
    if extract:
        card("WARC records read" if extract[0]["step"] == "warc_reader" else "documents in", fmt_int(extract[0]["docs_in"]))
        card("documents extracted", fmt_int(extract[-1]["documents"]))
    labels = {"filter": "documents after filtering", "dedup": "documents after dedup"}
    for stage in (s for s in d["stages"] if s in labels):  # the run's order: FineWeb-2 de-duplicates before filtering
        rows = [r for r in steps if r["stage"] == stage]
        if rows:
            card(labels[stage], fmt_int(rows[-1]["documents"]))
    if d["tokens"]:
        card(f'{d["tokens"]["tokenizer"] or ""} tokens'.strip(), fmt_int(d["tokens"]["total"].get("tokens", 0)))
    card("CPU time, all stages", fmt_seconds(sum(c["cpu_seconds"] for c in d["compute"])))
    card("failed shards", fmt_int(sum(c["shards_failed"] for c in d["compute"])))
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
    sides = {"min": "below is dropped", "max": "above is dropped", "atleast": "at or above is dropped"}
    return "; ".join(f'{esc(t["param"])} = {fmt_num(t["value"])}: {sides[t["side"]]}' for t in ths)


def render_histograms(d: dict[str, Any]) -> str:
    if not d["histograms"]:
        return _empty("no step recorded a score histogram")
    docs_in = {(r["stage"], r["step"]): r["docs_in"] for r in d["funnel"] if r["step"] is not None}
    dropped = {(r["stage"], r["step"]): sum(r["dropped"].values()) for r in d["drops"]}
    by_step: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h in d["histograms"]:
        by_step.setdefault((h["stage"], h["step"]), []).append(h)
    out = []
    for (stage, step), hs in by_step.items():
        n = dropped.get((stage, step), 0)
        color = STAGE_COLORS.get(stage, PALETTE[0])
        out.append(f'<h3>{esc(stage)} / {esc(step)} <span class="pill{" red" if n else ""}">dropped {fmt_int(n)} of {fmt_int(docs_in.get((stage, step), 0))}</span></h3>'
                   '<div class="grid">')
        for h in hs:
            svg = histogram_chart(h, label=f'{step}: {h["metric"]}', xlabel=h["unit"], thresholds=h["thresholds"], color=color, ylabel=h["counted"])
            note = f' ({esc(h["note"])})' if h["note"] else ""
            out.append(f'<div class="hist" data-metric="{esc(h["metric"])}"><h4>{esc(h["metric"])}</h4>'
                       f'<div class="sub">{plural(h["documents"], h["counted"])} · {_threshold_text(h["thresholds"])}{note}</div>'
                       f'{_chart("histogram", svg)}</div>')
        out.append("</div>")
    out.append('<p class="note">Bins are fixed by each step; values beyond the axis are counted in its first or last bin. '
               'A document is scored only up to the check that drops it, so later metrics count fewer documents.</p>')
    return "".join(out)


def render_languages(d: dict[str, Any]) -> str:
    lang = d["languages"]
    mix = _empty("no language step in this run")
    if lang and lang["languages"]:
        items = lang["languages"]
        top, rest = items[:TOP_LANGUAGES], items[TOP_LANGUAGES:]
        total = sum(x["documents"] for x in items)
        labels = [x["language"] for x in top] + ([f"{len(rest)} others"] if rest else [])

        def column(key: str) -> list[int]:
            return [x[key] for x in top] + ([sum(x[key] for x in rest)] if rest else [])

        if "kept" in items[0]:
            svg = stacked_hbars(labels, [("kept by the language step", column("kept"), KEPT_GREEN), ("dropped by it", column("dropped"), "#bab0ac")], total)
            legend = _legend([("kept by the language step", KEPT_GREEN), ("dropped by the language step", "#bab0ac")])
        else:
            svg = stacked_hbars(labels, [("documents", column("documents"), PALETTE[0])], total)
            legend = ""
        mix = _chart("languages", svg, legend) + f'<p class="note">{esc(lang["note"])}.</p>'
    return mix + render_language_funnel(d)




def _fate(row: dict[str, Any], stages: list[str]) -> list[tuple[str, int]]:
    """Where a language's identified documents went: dropped in each stage, then kept to the end."""
    parts, before = [], row["identified"]
    for s in stages:
        after = row["kept"].get(s, before)  # a stage that saw none of them dropped none
        parts.append((f"dropped in {s}", before - after))
        before = after
    return parts + [(f"kept after {stages[-1]}" if stages else "kept", before)]


def _sum_rows(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Several languages as one row ("other")."""
    kept: Counter = Counter()
    dropped: Counter = Counter()
    for r in rows:
        kept.update(r["kept"])
        dropped.update(r["dropped"])
    out = {"language": label, "identified": sum(r["identified"] for r in rows), "kept": dict(kept), "dropped": dict(dropped.most_common())}
    if any("tokens" in r for r in rows):
        out["tokens"] = sum(r.get("tokens", 0) for r in rows)
    return out


def render_language_funnel(d: dict[str, Any]) -> str:
    rows = d["language_funnel"]
    head = "<h3>Per-language funnel</h3>"
    if not rows:
        return head + _empty("no step knew the documents' languages (a language step sets them)")
    stages = language_stages(rows, d["stages"])
    shown = rows[:TOP_LANGUAGES] + ([_sum_rows(rows[TOP_LANGUAGES:], f"other ({len(rows) - TOP_LANGUAGES})")] if len(rows) > TOP_LANGUAGES else [])
    colors = {f"dropped in {s}": c for s, c in zip(stages, ["#f4a582", "#d4a6c8", "#f1ce63", "#bab0ac"])}
    chart_rows = []
    for r in shown:
        fate = _fate(r, stages)
        kept = fate[-1][1]
        chart_rows.append({"label": r["language"], "parts": [(name, n, colors.get(name, KEPT_GREEN)) for name, n in fate],
                           "note": f'kept {fmt_int(kept)} of {fmt_int(r["identified"])} ({fmt_pct(kept, r["identified"])})'})
    svg = share_rows_chart(chart_rows, label="where each language's documents went")
    legend = _legend([(name, colors.get(name, KEPT_GREEN)) for name, _ in _fate(rows[0], stages)])
    with_tokens = any("tokens" in r for r in rows)
    all_tokens = sum(r.get("tokens", 0) for r in rows) if with_tokens else 0
    table = _language_table(shown, stages, with_tokens, all_tokens)
    full = ""
    if len(rows) > TOP_LANGUAGES:
        full = (f'<details><summary>all {len(rows)} languages</summary><div class="body">'
                + _language_table(rows, stages, with_tokens, all_tokens) + "</div></details>")
    note = ('<p class="note">Identified: documents entering the first step that knew their language. '
            "Kept after a stage: those its last step passed on (as a share of the identified). Drop reasons as <code>step:reason</code>"
            + (", tokens from <code>tokenize/manifest.json</code>." if with_tokens else ".") + "</p>")
    return head + _chart("language-funnel", svg, legend) + table + full + note


def _count_share(n: int, whole: int) -> str:
    return f'{fmt_int(n)} <span class="note">{fmt_pct(n, whole)}</span>' if n else "0"


def _language_table(rows: list[dict[str, Any]], stages: list[str], with_tokens: bool, all_tokens: int) -> str:
    head = ("<tr><th>language</th><th>identified</th>" + "".join(f"<th>kept after {esc(s)}</th>" for s in stages)
            + ("<th>tokens</th>" if with_tokens else "") + "<th>top drop reasons</th></tr>")
    body = []
    for r in rows:
        kept, before = [], r["identified"]
        for s in stages:
            before = r["kept"].get(s, before)
            kept.append(f"<td>{_count_share(before, r['identified'])}</td>")
        tokens = f"<td>{_count_share(r.get('tokens', 0), all_tokens)}</td>" if with_tokens else ""
        reasons = ", ".join(f"{k} {fmt_int(v)}" for k, v in list(r["dropped"].items())[:3])
        body.append(f'<tr data-language="{esc(r["language"])}"><td>{esc(r["language"])}</td><td>{fmt_int(r["identified"])}</td>{"".join(kept)}{tokens}'
                    f'<td class="reasons">{esc(reasons)}</td></tr>')
    return '<table class="languages">' + head + "".join(body) + "</table>"


def render_lengths(d: dict[str, Any]) -> str:
    if not d["lengths"]:
        return _empty("no document shards in this run")
    colors = ["#9aa5b1", "#4e79a7"]
    series = []
    rows = []
    for i, h in enumerate(d["lengths"]):
        name = {"extract": "extracted (extract output)", "filter": "after filtering (filter output)", "dedup": "after dedup (dedup output)"}.get(h["stage"], h["stage"])
        series.append({**h, "name": name, "color": colors[i % 2] if len(d["lengths"]) > 1 else colors[1]})
        sampled = "" if h["complete"] else f' (read {fmt_int(h["documents"])} documents from {h["files_read"]} of {h["files_total"]} shards)'
        rows.append(f'<tr><td>{esc(name)}{esc(sampled)}</td><td>{fmt_int(h["documents"])}</td><td>{fmt_int(h["characters"])}</td>'
                    f'<td>{fmt_int(h["median"])}</td><td>{fmt_int(h["mean"])}</td></tr>')
    svg = length_chart(series, label="document length")
    table = "<table><tr><th>documents</th><th>count</th><th>characters</th><th>median length</th><th>mean length</th></tr>" + "".join(rows) + "</table>"
    return _chart("lengths", svg, _legend([(s["name"], s["color"]) for s in series])) + table


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
        buckets = size_buckets(dict(union))
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
    cards += _knowledge_cutoff(t)
    if not shards:
        return cards + _empty("no token shard written")
    if len(shards) <= MAX_SHARD_BARS:
        labels = [s["path"].rsplit("/", 1)[-1].removesuffix(".parquet").replace("part-", "") for s in shards]
        splits = list(dict.fromkeys(s["split"] for s in shards))
        svg = shard_bars(labels, shards, colors)
        legend = _legend([(f'{sp}: {fmt_int(t["splits"].get(sp, {}).get("tokens") or 0)} tokens', colors.get(sp, PALETTE[0])) for sp in splits])
    else:
        counts = [s["tokens"] for s in shards]
        hi = max(counts) or 1
        hist = np.histogram(counts, bins=30, range=(0, hi))[0]
        svg = histogram_chart({"low": 0, "high": hi, "counts": [int(x) for x in hist]}, label="tokens per shard", xlabel="tokens per shard",
                              width=1060, height=240, ylabel="shards")
        legend = f'<p class="note">{fmt_int(len(shards))} shards: a histogram of their token counts.</p>'
    return cards + _chart("tokens", svg, legend)


def _knowledge_cutoff(t: dict[str, Any]) -> str:
    """The newest training document's date, and the training documents per month."""
    cutoff, months = t.get("knowledge_cutoff"), t.get("documents_per_month") or {}
    if not cutoff:
        return '<p class="note">knowledge cut-off: unknown (the training documents carry no date)</p>'
    head = (f'<p><b>Knowledge cut-off: {esc(cutoff[:10])}</b> (the newest training document: a model trained on these '
            'tokens knows of nothing later).</p>')
    if not months:
        return head
    svg = vbar_chart(list(months), [{"name": "documents", "color": "#f28e2b", "values": list(months.values())}],
                     label="training documents per month", xlabel="month (WARC-Date)", ylabel="documents", height=200)
    return head + _chart("documents-per-month", svg)


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
            f'<div style="flex:0 0 440px">{_chart("compute", svg, legend)}</div><div style="flex:1 1 420px;min-width:0">{table}'
            '<p class="note">Documents per CPU-second: the stage\'s first step\'s input over the '
            'CPU time of its tasks. Task-seconds add up each shard\'s wall time, so they exceed the elapsed time when shards run in parallel.</p></div></div>'
            f'<h3>time per step</h3>{_chart("step-time", steps_svg)}{_ledger(d.get("ledger"))}')


def _ledger(book: dict[str, Any] | None) -> str:
    """Energy and emissions of the curation run (an estimate from the tasks' CPU time)."""
    if not book:
        return ""
    rows = "".join(f'<tr><td>{esc(name)}</td><td>{s["cpu_hours"]:.4g}</td><td>{1000 * s["kwh"]:.4g}</td><td>{1000 * s["co2e_kg"]:.4g}</td></tr>'
                   for name, s in [*book["stages"].items(), ("total", book["total"])])
    return ('<h3>energy (estimate)</h3><table><tr><th>stage</th><th>CPU-hours</th><th>Wh</th><th>g CO2e</th></tr>' + rows + '</table>'
            f'<p class="note">CPU-hours of the tasks &times; {book["watts_per_core"]:.2f} W per busy core ({esc(book["watts_per_core_source"])}); '
            f'{book["grid_g_per_kwh"]:,.0f} gCO2e/kWh ({esc(book["grid_source"])}). Memory, disks, network and cooling are not counted.</p>')


def _score(k: str, v: Any) -> str:
    return f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"


def render_samples(d: dict[str, Any]) -> str:
    if not d["_samples"]:
        return _empty("no dropped document was sampled")
    out = ['<div class="toolbar"><button id="expand-all" type="button">expand all</button><button id="collapse-all" type="button">collapse all</button></div>']
    for step in d["_samples"]:
        out.append(f'<details class="step" data-step="{esc(step["step"])}"><summary><b>{esc(step["stage"])} / {esc(step["step"])}</b>'
                   f'<span class="pill red">{fmt_int(step["dropped"])} dropped</span></summary><div class="body">')
        for r in step["reasons"]:
            out.append(f'<details class="reason" data-reason="{esc(r["reason"])}"><summary>{esc(r["reason"])} '
                       f'<span class="pill">{fmt_int(r["dropped"])} dropped, {len(r["docs"])} sampled</span></summary><div class="body">')
            for s in r["docs"]:
                meta = s.get("metadata") or {}
                scores = " · ".join(_score(k, v) for k, v in sorted(meta.items()))
                text = s.get("text") or ""
                key = " ".join(_score(k, meta[k]) for k in r["keys"] if k in meta)  # the scores that explain the reason
                key = f'<span class="pill red">{esc(key)}</span>' if key else ""
                out.append(f'<details class="doc"><summary><span class="url">{esc(s.get("url") or s.get("id") or "")}</span>{key}</summary><div class="body">'
                           f'<div class="note">id {esc(s.get("id", ""))} · {fmt_int(len(text))} characters shown</div>'
                           + (f'<div class="scores">{esc(scores)}</div>' if scores else "")
                           + f"<pre>{esc(text) if text else '(no text)'}</pre></div></details>")
            out.append("</div></details>")
        out.append("</div></details>")
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


# (id, title, lead, renderer), in page order; the lead may hold HTML
SECTIONS: list[tuple[str, str, str, Callable[[dict[str, Any]], str]]] = [
    ("funnel", "Funnel", "Documents left after each step (the first bar is the input of the first step; a WARC reader counts records).", render_funnel),
    ("drops", "Why documents were dropped", "Each step's drops split by reason: the bar is 100 % of what the step dropped.", render_drops),
    ("scores", "Filter scores", "Distribution of every score a step recorded, with the step's threshold from <code>run.json</code> as a red dashed line; "
     "the shaded side is dropped.", render_histograms),
    ("languages", "Languages", "Documents per language entering the language step, and where each language's documents went through the run.", render_languages),
    ("lengths", "Document length", "Characters per document before and after: the first and the last document stage of the run.", render_lengths),
    ("dedup", "Duplicate clusters", "How many documents each duplicate cluster holds (from <code>dedup/clusters.json</code>); "
     "one copy per cluster is kept.", render_clusters),
    ("tokens", "Tokens", "Tokens in each token shard (from <code>tokenize/manifest.json</code>).", render_tokens),
    ("compute", "Compute", "CPU and task time per stage, and time per step.", render_compute),
    ("samples", "Dropped documents", "A sample of the documents each step dropped, per reason (kept for the documents with the smallest id hashes, "
     "so the same in every run).", render_samples),
]


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
    sections = [(sid, title, lead, render(d)) for sid, title, lead, render in SECTIONS]
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


