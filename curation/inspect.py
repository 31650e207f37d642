"""Looking at what a step did: sampled dropped (or kept) documents, and two runs side by side."""

from __future__ import annotations

import random
import textwrap
from typing import Any

from curation.errors import CurationError
from curation.io.shards import from_row, read_columns, read_documents
from curation.layout import StageLayout, load_run_stats, stage_layouts
from curation.stats import StageStats, StepStats
from curation.summary import funnel_rows


def find_step(stats: dict[str, StageStats], name: str) -> tuple[str, StepStats]:
    for stage, ss in stats.items():
        for st in ss.steps:
            if st.name == name:
                return stage, st
    known = [st.name for ss in stats.values() for st in ss.steps]
    raise CurationError(f"no step {name!r} in this run; steps: {', '.join(known)}")


def dropped_samples(output: str, step: str, reason: str | None = None, n: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` of the sampled documents ``step`` dropped (optionally for one ``reason``)."""
    _, st = find_step(load_run_stats(output), step)
    samples = st.samples
    if reason is not None and reason not in samples:
        raise CurationError(f"step {step!r} dropped nothing for reason {reason!r}; reasons: {', '.join(samples) or 'none'}")
    pool = [s for r, group in samples.items() if reason in (None, r) for s in group]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def kept_samples(output: str, step: str, n: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` documents from the output of the stage holding ``step`` (they passed it and the
    stage's later steps), chosen reproducibly with ``seed`` (reservoir sampling over the shards)."""
    stage, _ = find_step(load_run_stats(output), step)
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    seen = 0
    for url in StageLayout(output, stage).shard_urls():
        for doc in read_documents(url):
            seen += 1
            item = {"id": doc.id, "url": doc.url, "reason": "kept", "text": doc.text[:2000], "metadata": doc.metadata}
            if len(chosen) < n:
                chosen.append(item)
            elif (j := rng.randrange(seen)) < n:
                chosen[j] = item
    return chosen


def rejected_samples(output: str, stage: str | None = None, step: str | None = None, reason: str | None = None,
                     n: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` of every document a stage dropped (``keep_rejected``; not only the sampled ones),
    optionally of one ``stage``, ``step`` or ``reason``, chosen reproducibly with ``seed``."""
    layouts = [lay for lay in stage_layouts(output) if stage in (None, lay.stage)]
    files = [url for lay in layouts for url in lay.rejected_files().values()]
    if not files:
        where = f"stage {stage!r} of {output}" if stage else output
        raise CurationError(f"no rejected documents were written in {where}: set `keep_rejected: true` on a stage and rerun it")
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    seen = 0
    found: set[tuple[str, str]] = set()
    fields = ["id", "url", "text", "step", "reason", "language", "language_score", "metadata"]
    for url in files:
        for batch in read_columns(url, fields):
            for row in zip(*batch.values()):
                doc = dict(zip(fields, row))
                found.add((doc["step"], doc["reason"]))
                if step not in (None, doc["step"]) or reason not in (None, doc["reason"]):
                    continue
                seen += 1
                if len(chosen) < n or (j := rng.randrange(seen)) < n:
                    rejected = from_row(doc, url, 0)  # metadata parsed, language fields folded in, as read_documents does
                    item = {"id": doc["id"], "url": rejected.url, "reason": f"{doc['step']}: {doc['reason']}", "text": rejected.text[:2000],
                            "metadata": {k: v for k, v in rejected.metadata.items() if isinstance(v, (int, float, str, bool))}}
                    if len(chosen) < n:
                        chosen.append(item)
                    else:
                        chosen[j] = item
    if not seen:
        kinds = ", ".join(f"{s}/{r}" for s, r in sorted(found))
        raise CurationError(f"no rejected document of step {step or 'any'} and reason {reason or 'any'}; written: {kinds}")
    return chosen


def format_samples(samples: list[dict[str, Any]], width: int = 100, chars: int = 600) -> str:
    out = []
    for s in samples:
        scores = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(s.get("metadata", {}).items()))
        out.append("=" * width)
        out.append(f"id:     {s['id']}\nurl:    {s['url']}\nreason: {s['reason']}" + (f"\nscores: {scores}" if scores else ""))
        out.append("-" * width)
        text = s["text"][:chars] + (" [...]" if len(s["text"]) > chars else "")
        out.extend(textwrap.fill(par, width) for par in text.splitlines() if par.strip())
    return "\n".join(out) if out else "no documents to show"


def compare_runs(a: str, b: str) -> str:
    """The funnels of two runs side by side; rows whose outcome differs are marked with '*'."""
    ra = {(r["stage"], r["step"]): r for r in funnel_rows(load_run_stats(a))}
    rb = {(r["stage"], r["step"]): r for r in funnel_rows(load_run_stats(b))}
    if not ra and not rb:
        raise CurationError(f"no finished shard in {a} or {b}")
    keys = list(ra) + [k for k in rb if k not in ra]
    head = f"  {'stage':<9}{'step':<20}{'A out':>10}{'A removed':>11}{'B out':>10}{'B removed':>11}{'Δ out':>10}"
    lines = [f"A = {a}", f"B = {b}", "", head, "-" * len(head)]
    for k in keys:
        x, y = ra.get(k), rb.get(k)
        ao, bo = (x["docs_out"] if x else 0), (y["docs_out"] if y else 0)
        ap, bp = (f"{x['removed_pct']:.1f}%" if x else "-"), (f"{y['removed_pct']:.1f}%" if y else "-")
        mark = "*" if (x is None or y is None or ao != bo or ap != bp) else " "
        lines.append(f"{mark} {k[0]:<9}{k[1]:<20}{ao:>10,}{ap:>11}{bo:>10,}{bp:>11}{bo - ao:>+10,}")
        if x and y and x["top_reasons"] != y["top_reasons"] and mark == "*":
            ra_ = dict(x["top_reasons"])
            rb_ = dict(y["top_reasons"])
            diff = ", ".join(f"{r} {ra_.get(r, 0)}→{rb_.get(r, 0)}" for r in dict.fromkeys(list(ra_) + list(rb_)) if ra_.get(r, 0) != rb_.get(r, 0))
            lines.append(f"    reasons: {diff}")
    return "\n".join(lines)
