"""The one-screen view of a run: the funnel of each stage, the language mix and the compute used.

Takes the statistics ``curation.layout.load_run_stats`` merges from a run's completion markers (so a
stage still running or that crashed shows whatever shards it finished).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from curation.ledger import format_ledger, ledger
from curation.registry import STAGE_ORDER
from curation.stats import KEPT, StageStats


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _chars(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.1f}{unit}"
    return f"{x:.0f}"


def funnel_rows(stats: dict[str, StageStats]) -> list[dict[str, Any]]:
    rows = []
    for stage, ss in stats.items():
        for st in ss.steps:
            removed = st.docs_in - st.docs_out
            rows.append(
                {
                    "stage": stage,
                    "step": st.name,
                    "docs_in": st.docs_in,
                    "docs_out": st.docs_out,
                    "removed_pct": 100.0 * removed / st.docs_in if st.docs_in else 0.0,
                    "chars_in": st.chars_in,
                    "chars_out": st.chars_out,
                    "seconds": st.seconds,
                    "top_reasons": st.dropped.most_common(3),
                    "counters": dict(st.counters),
                }
            )
    return rows


def language_mix(stats: dict[str, StageStats]) -> dict[str, int]:
    """Documents per top language, from the language step's ``language:<code>`` counters."""
    mix: dict[str, int] = {}
    for ss in stats.values():
        for st in ss.steps:
            for key, n in st.counters.items():
                if key.startswith("language:"):
                    mix[key.split(":", 1)[1]] = mix.get(key.split(":", 1)[1], 0) + n
    return dict(sorted(mix.items(), key=lambda kv: -kv[1]))


TOP_LANGUAGE_ROWS = 12  # rows of the per-language table in the terminal (--json has them all)


def language_funnel(stats: dict[str, StageStats], manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per language: documents identified (entering the first step that knew their language),
    documents kept after each stage, the drop reasons (``step:reason``) and, with the token
    manifest, the tokens encoded. Most identified first."""
    rows: dict[str, dict[str, Any]] = {}
    for stage, ss in stats.items():
        for st in ss.steps:
            for lang, counts in st.languages.items():
                row = rows.setdefault(lang, {"language": lang, "identified": sum(counts.values()), "kept": {}, "dropped": Counter()})
                row["kept"][stage] = counts.get(KEPT, 0)  # the stage's last step: what the stage kept
                for reason, n in counts.items():
                    if reason != KEPT:
                        row["dropped"][f"{st.name}:{reason}"] += n
    tokens: dict[str, int] = {}
    for split in (manifest or {}).get("splits", {}).values():
        for lang, counts in (split.get("languages") or {}).items():
            tokens[lang] = tokens.get(lang, 0) + counts["tokens"]
    out = []
    for row in sorted(rows.values(), key=lambda r: (-r["identified"], r["language"])):
        row["dropped"] = dict(row["dropped"].most_common())
        if manifest is not None:
            row["tokens"] = tokens.get(row["language"], 0)
        out.append(row)
    return out


def language_stages(rows: list[dict[str, Any]], order: Sequence[str] = STAGE_ORDER) -> list[str]:
    """The stages the per-language rows report, in the run's order (``order``: its stages, as
    ``load_run_stats`` lists them; filter and dedup may come in either order)."""
    seen = {s for r in rows for s in r["kept"]}
    return [s for s in order if s in seen] + sorted(seen - set(order))


def format_language_funnel(rows: list[dict[str, Any]], limit: int = TOP_LANGUAGE_ROWS, order: Sequence[str] = STAGE_ORDER) -> str:
    stages = language_stages(rows, order)
    with_tokens = any("tokens" in r for r in rows)
    head = f"{'language':<10}{'identified':>11}" + "".join(f"{'kept ' + s:>14}" for s in stages) + (f"{'tokens':>12}" if with_tokens else "") + "  top drop reasons"
    lines = [head, "-" * len(head)]
    for r in rows[:limit]:
        kept = "".join(f"{_n(r['kept'][s]) if s in r['kept'] else '-':>14}" for s in stages)
        tok = f"{_n(r.get('tokens', 0)):>12}" if with_tokens else ""
        reasons = ", ".join(f"{k} {_n(v)}" for k, v in list(r["dropped"].items())[:3])
        lines.append(f"{r['language']:<10}{_n(r['identified']):>11}{kept}{tok}  {reasons}")
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more languages (curation stats --json lists them all)")
    return "\n".join(lines)


def to_json(stats: dict[str, StageStats], manifest: dict[str, Any] | None = None, **ledger_options: float) -> dict[str, Any]:
    """``ledger_options``: ``watts_per_core`` and ``grid`` of the energy estimate (curation.ledger)."""
    return {
        "funnel": funnel_rows(stats),
        "language_funnel": language_funnel(stats, manifest),
        "languages": language_mix(stats),
        "compute": {
            s: {"shards": ss.shards, "shards_failed": ss.shards_failed, "task_retries": ss.task_retries, "cpu_seconds": ss.cpu_seconds, "task_seconds": ss.wall_seconds,
                "docs_per_cpu_second": (ss.steps[0].docs_in / ss.cpu_seconds) if ss.steps and ss.cpu_seconds else None}
            for s, ss in stats.items()
        },
        "ledger": ledger(stats, **ledger_options),
        "errors": {s: ss.errors for s, ss in stats.items() if ss.errors},
    }


def format_funnel(stats: dict[str, StageStats], manifest: dict[str, Any] | None = None, **ledger_options: float) -> str:
    """A terminal table: one row per step, then languages (with the per-language funnel when the run
    keeps more than one), compute, its energy and failures."""
    if not stats:
        return "no finished shard found"
    head = f"{'stage':<9}{'step':<20}{'docs in':>10}{'docs out':>10}{'removed':>9}{'chars in':>10}{'chars out':>10}  top drop reasons"
    lines = [head, "-" * len(head)]
    for r in funnel_rows(stats):
        reasons = ", ".join(f"{k} {_n(v)}" for k, v in r["top_reasons"])
        lines.append(
            f"{r['stage']:<9}{r['step']:<20}{_n(r['docs_in']):>10}{_n(r['docs_out']):>10}{r['removed_pct']:>8.1f}%"
            f"{_chars(r['chars_in']):>10}{_chars(r['chars_out']):>10}  {reasons}"
        )
    mix = language_mix(stats)
    if mix:
        total = sum(mix.values())
        top = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in list(mix.items())[:8])
        lines += ["", f"languages ({_n(total)} documents): {top}"]
    by_language = language_funnel(stats, manifest)
    if sum(1 for r in by_language if any(r["kept"].values())) > 1:
        lines += ["", format_language_funnel(by_language, order=list(stats))]
    lines.append("")
    for s, ss in stats.items():
        docs = ss.steps[0].docs_in if ss.steps else 0
        rate = f"{docs / ss.cpu_seconds:,.1f} docs per CPU-second" if ss.cpu_seconds else ""
        retries = f", {ss.task_retries} task retries" if ss.task_retries else ""
        lines.append(f"compute  {s:<9} {ss.shards} shards{retries}, {ss.cpu_seconds:,.1f} CPU-s, {ss.wall_seconds:,.1f} task-s  {rate}")
    lines += format_ledger(ledger(stats, **ledger_options))
    failures = [(s, e) for s, ss in stats.items() for e in ss.errors]
    if failures:
        lines += ["", f"FAILED shards ({len(failures)}):"]
        lines += [f"  {s}: {e['input']}: {e['error']}" for s, e in failures]
    return "\n".join(lines)
