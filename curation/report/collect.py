"""Reading a run into plain data: every figure the report shows (``collect``), as the page embeds it.

A run is read only through ``curation.layout`` (its statistics, ``run.json``, the token manifest,
each stage's shards) and the dedup stage's own ``Paths``. What a histogram measures, which setting
thresholds it and which drop reasons it explains is what the step says of its scores
(``curation.step.Score``): the step's class comes from the name ``run.json`` records for it
(``curation.registry.step_class``, which also loads a ``module:Class`` step of one's own), so a new
step needs nothing here. A step whose class cannot be loaded any more still gets its histograms,
plainly labelled, with a threshold only where a setting is named after the score.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from curation.config import step_label
from curation.dedup.phases import Paths as DedupPaths
from curation.errors import CurationError
from curation.io.fs import exists, read_bytes
from curation.io.shards import iter_tables
from curation.layout import StageLayout, load_run_stats, read_run_info, read_token_manifest
from curation.registry import STAGES, step_class
from curation.stats import StageStats
from curation.step import PipelineStep, Score
from curation.summary import language_mix, to_json

LENGTH_SAMPLE_DOCS = 100_000  # documents whose text length is read, per stage
LANGUAGE_SAMPLE_DOCS = 5_000  # documents whose language column is read when the language step kept no counters
LENGTH_BINS_PER_DECADE = 6
LENGTH_MAX_DECADE = 6  # 1,000,000 characters; longer documents go in the last bin


# ----------------------------------------------------------------------------------------------
# What the steps say of their scores
# ----------------------------------------------------------------------------------------------


def step_configs(run: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(stage, step label) -> (step name, settings), from ``run.json``'s ``config`` (labels as the
    pipeline gives them: the name, ``name#2`` for its second use in a stage)."""
    out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for stage, entries in (run.get("config") or {}).items():
        seen: Counter = Counter()
        for entry in entries or []:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            ((name, params),) = entry.items()
            seen[name] += 1
            out[(stage, step_label(name, seen[name]))] = (name, params or {})
    return out


def load_step_class(name: str) -> type[PipelineStep] | None:
    """The class of step ``name``, or None when it cannot be loaded any more (renamed, removed, or
    a module of one's own that no longer imports): the report then draws its figures plainly."""
    try:
        return step_class(name)
    except Exception:  # an unknown name, a module gone, or one that fails to import: none of them may stop the report
        return None


def _defaults(cls: type[PipelineStep]) -> dict[str, Any]:
    """A step's default settings (for a run without ``run.json``)."""
    try:
        return cls.Params().model_dump(mode="json")
    except Exception:  # settings without defaults: no threshold can be shown
        return {}


def describe_step(stage: str, label: str, configs: dict[tuple[str, str], tuple[str, dict[str, Any]]]) -> tuple[tuple[Score, ...], dict[str, Any]]:
    """The scores step ``label`` of ``stage`` describes, and its settings (from ``run.json``, else its defaults)."""
    name, params = configs.get((stage, label)) or (label.split("#")[0], None)
    cls = load_step_class(name)
    if cls is None:
        return (), params or {}
    return cls.scores, params if params is not None else _defaults(cls)


def setting_value(params: dict[str, Any], setting: str) -> Any:
    """The value of ``setting``; ``name[k]`` is the value paired with ``k`` in a list of [k, value]
    pairs (gopher_repetition's ``top_n_grams``), None when there is no such pair."""
    if not setting.endswith("]"):
        return params.get(setting)
    name, _, key = setting[:-1].partition("[")
    for pair in params.get(name) or []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and str(pair[0]) == key:
            return pair[1]
    return None


def thresholds_for(scores: Iterable[Score], metric: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The thresholds on histogram ``metric`` under settings ``params``: [{param, value, side}].

    ``scores`` are the step's own descriptions; a metric none of them describes (or a step whose
    class is gone) takes a setting named after it: ``metric`` or ``max_<metric>`` (an upper
    bound), ``min_<metric>`` (a lower one)."""
    score = next((s for s in scores if s.name == metric), None)
    if score is not None:
        found = [(t.setting, setting_value(params, t.setting), t.side, t.zero_is_off) for t in score.thresholds]
    else:
        found = [(p, params[p], side, True) for p, side in ((metric, "max"), (f"max_{metric}", "max"), (f"min_{metric}", "min")) if p in params]
    out = []
    for setting, value, side, zero_is_off in found:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # None (or not a number): the check is off
        if value == 0 and zero_is_off:
            continue
        out.append({"param": setting, "value": float(value), "side": side})
    return out


def reason_scores(scores: Iterable[Score], reason: str) -> list[str]:
    """The metadata keys that explain drop reason ``reason``: the reason itself (``dup_line_frac``,
    ``language``) and every score that says it explains it."""
    return list(dict.fromkeys([reason, *(s.name for s in scores if reason in s.explains)]))


def histograms(stats: dict[str, StageStats], configs: dict[tuple[str, str], tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every histogram a step recorded, with what it measures and the thresholds on it."""
    out = []
    for stage, ss in stats.items():
        for st in ss.steps:
            scores, params = describe_step(stage, st.name, configs)
            described = {s.name: s for s in scores}
            for metric, h in sorted(st.histograms.items()):
                score = described.get(metric) or Score(metric)
                out.append({"stage": stage, "step": st.name, "metric": metric, **h.to_dict(), "documents": sum(h.counts),
                            "unit": score.unit or metric.replace("_", " "), "counted": score.counts, "note": score.note,
                            "thresholds": thresholds_for(scores, metric, params)})
    return out


def dropped_samples(stats: dict[str, StageStats], configs: dict[tuple[str, str], tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The sampled dropped documents of every step, per reason, with the scores that explain the reason."""
    out = []
    for stage, ss in stats.items():
        for st in ss.steps:
            samples = st.samples
            if not samples:
                continue
            scores, _ = describe_step(stage, st.name, configs)
            reasons = [{"reason": r, "dropped": st.dropped.get(r, 0), "keys": reason_scores(scores, r), "docs": docs} for r, docs in samples.items()]
            out.append({"stage": stage, "step": st.name, "dropped": sum(st.dropped.values()), "reasons": reasons})
    return out


# ----------------------------------------------------------------------------------------------
# Reading shards (bounded)
# ----------------------------------------------------------------------------------------------

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


def _iter_text_batches(shards: list[str], max_docs: int, columns: list[str]) -> Iterator[tuple[int, Any]]:
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


def length_histogram(layout: StageLayout, max_docs: int = LENGTH_SAMPLE_DOCS) -> dict[str, Any] | None:
    """Histogram of text lengths (characters, log bins) of a document stage's shards."""
    import pyarrow.compute as pc

    shards = layout.shard_urls()
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
        "stage": layout.stage,
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


def document_stages(stats: dict[str, StageStats], output: str) -> list[StageLayout]:
    """The stages of the run that wrote document shards, in pipeline order."""
    return [layout for layout in (StageLayout(output, s) for s in stats if STAGES[s].documents) if layout.shard_urls()]


def language_distribution(output: str, stats: dict[str, StageStats], max_docs: int = LANGUAGE_SAMPLE_DOCS) -> dict[str, Any] | None:
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


# ----------------------------------------------------------------------------------------------
# The whole run
# ----------------------------------------------------------------------------------------------


def read_clusters(output: str) -> dict[str, Any] | None:
    """The dedup stage's ``clusters.json`` (cluster counts, sizes and sample clusters), or None."""
    url = DedupPaths(StageLayout(output, "dedup")).clusters_json()
    if not exists(url):
        return None
    try:
        return json.loads(read_bytes(url))
    except ValueError as e:
        raise CurationError(f"{url}: not valid JSON ({e}); rerun the dedup stage") from None


def token_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """Tokens per shard and split, from the token manifest."""
    splits = manifest.get("splits", {})
    shards = [{"split": split, "path": sh["path"], "tokens": sh["tokens"], "sequences": sh.get("sequences"), "documents": sh.get("documents")}
              for split, info in splits.items() for sh in info.get("shards", [])]
    return {"shards": shards, "total": manifest.get("total", {}), "seq_len": manifest.get("seq_len"),
            "tokenizer": (manifest.get("tokenizer") or {}).get("name"), "dtype": manifest.get("dtype"),
            "splits": {k: {kk: v.get(kk) for kk in ("sequences", "tokens", "documents")} for k, v in splits.items()},
            "knowledge_cutoff": manifest.get("knowledge_cutoff"), "documents_per_month": manifest.get("documents_per_month") or {}}


def collect(output: str) -> dict[str, Any]:
    """Every figure the report shows, as plain data: what ``report-data`` embeds (keys starting
    with ``_`` are rendered as HTML instead: the dropped documents)."""
    stats = load_run_stats(output)
    run = read_run_info(output) or {}
    configs = step_configs(run)
    manifest = read_token_manifest(output) if "tokenize" in stats else None
    summary = to_json(stats, manifest)

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

    doc_stages = document_stages(stats, output)
    lengths = []
    for layout in doc_stages[:1] + doc_stages[1:][-1:]:  # before and after: the first and the last
        if h := length_histogram(layout):
            lengths.append(h)

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
        "histograms": histograms(stats, configs),
        "languages": language_distribution(output, stats) if stats else None,
        "language_funnel": summary["language_funnel"],
        "lengths": lengths,
        "clusters": read_clusters(output) if "dedup" in stats else None,
        "tokens": token_summary(manifest) if manifest else None,
        "compute": compute,
        "ledger": summary["ledger"],
        "errors": summary["errors"],
        "_samples": dropped_samples(stats, configs),  # not embedded: rendered as HTML
    }
