"""The one-screen view of a run: the funnel of each stage, the language mix and the compute used.

Reads ``OUTPUT/<stage>/stats.json`` (or, for a stage still running or that crashed, merges the
completion markers of whatever shards are finished).
"""

from __future__ import annotations

import json
from typing import Any

from curation.config import STAGE_KINDS
from curation.io.fs import exists, join, list_files, read_bytes
from curation.ledger import format_ledger, ledger
from curation.stats import StageStats


def load_run_stats(output: str) -> dict[str, StageStats]:
    """Statistics of every stage found under ``output``, in pipeline order."""
    found: dict[str, StageStats] = {}
    for stage in STAGE_KINDS:
        stage_dir = join(output, stage)
        done = list_files(join(stage_dir, "_done"), ".json")
        failed = list_files(join(stage_dir, "_failed"), ".json")
        if not done and not failed:
            continue
        merged = StageStats(stage)
        names = set()
        for url in done:
            marker = json.loads(read_bytes(url))
            merged.merge(StageStats.from_dict(marker["stats"]))
            names.add(marker["shard"])
        for url in failed:
            err = json.loads(read_bytes(url))
            if err["shard"] not in names:
                merged.shards_failed += 1
                merged.errors.append(err)
        found[stage] = merged
    return found


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


def to_json(stats: dict[str, StageStats], **ledger_options: float) -> dict[str, Any]:
    """``ledger_options``: ``watts_per_core`` and ``grid`` of the energy estimate (curation.ledger)."""
    return {
        "funnel": funnel_rows(stats),
        "languages": language_mix(stats),
        "compute": {
            s: {"shards": ss.shards, "shards_failed": ss.shards_failed, "task_retries": ss.task_retries, "cpu_seconds": ss.cpu_seconds, "task_seconds": ss.wall_seconds,
                "docs_per_cpu_second": (ss.steps[0].docs_in / ss.cpu_seconds) if ss.steps and ss.cpu_seconds else None}
            for s, ss in stats.items()
        },
        "ledger": ledger(stats, **ledger_options),
        "errors": {s: ss.errors for s, ss in stats.items() if ss.errors},
    }


def format_funnel(stats: dict[str, StageStats], **ledger_options: float) -> str:
    """A terminal table: one row per step, then languages, compute, its energy and failures."""
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


def has_output(output: str) -> bool:
    return any(exists(join(output, s)) for s in STAGE_KINDS)
