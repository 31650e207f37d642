"""``OUTPUT/tokenize/manifest.json``: what the stage wrote, built from its phase markers alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from curation.tokenization.split import SPLITS
from curation.tokenization.step import TokenizeStep
from curation.tokenization.tokenizer import TokenizerInfo
from curation.tokens import MANIFEST_FORMAT

if TYPE_CHECKING:
    from curation.tokenization.driver import PackPlan


def _languages(parts) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for part in parts:
        for lang, counts in part.items():
            mine = total.setdefault(lang, {"documents": 0, "tokens": 0})
            mine["documents"] += counts["documents"]
            mine["tokens"] += counts["tokens"]
    return dict(sorted(total.items(), key=lambda kv: (-kv[1]["tokens"], kv[0])))


def build_manifest(params: TokenizeStep.Params, info: TokenizerInfo, p1: dict[str, dict[str, Any]], p2: dict[str, dict[str, Any]], plan: PackPlan, source: str) -> dict[str, Any]:
    """The manifest from the phase-1 markers ``p1`` (by input shard), the phase-2 markers ``p2`` (by
    ``<split>-<index>``) and the plan; ``source`` is the stage the documents came from."""
    width = params.seq_len + 1
    splits: dict[str, Any] = {}
    dates = [m["splits"][s][k] for m in p1.values() for s in SPLITS for k in ("date_min", "date_max") if m["splits"][s][k]]
    for split in SPLITS:
        shards = []
        for i in range(plan.shards[split]):
            m = p2[f"{split}-{i:05d}"]
            shards.append({k: m[k] for k in ("path", "sequences", "tokens", "padding_tokens", "documents", "bytes", "sha256")})
        split_dates = [m["splits"][split][k] for m in p1.values() for k in ("date_min", "date_max") if m["splits"][split][k]]
        splits[split] = {
            "shards": shards,
            "sequences": sum(s["sequences"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "documents": sum(s["documents"] for s in shards),
            "date_range": {"min": min(split_dates), "max": max(split_dates)} if split_dates else None,
            # tokens encoded per document language (EOS included), before rows were cut
            "languages": _languages(m["splits"][split].get("languages", {}) for m in p1.values()),
        }
    train_months: dict[str, int] = {}  # markers written before "months" existed count nothing
    for m in p1.values():
        for month, n in m.get("months", {}).get("train", {}).items():
            train_months[month] = train_months.get(month, 0) + n
    return {
        "format": MANIFEST_FORMAT,
        "tokenizer": info.to_dict(),
        "vocab_size": info.vocab_size,
        "eos_id": info.eos_id,
        "dtype": info.dtype,
        "seq_len": params.seq_len,
        "sequence_tokens": width,
        "seed": params.seed,
        "val_fraction": params.val_fraction,
        "last_sequence": params.last_sequence,
        "layout": {
            "tokens": f"fixed_size_list<{info.dtype}>[{width}]: EOS before every document, rows cut every {width} tokens",
            "doc_starts": "positions in tokens of the EOS that begins each document starting in the row",
            "num_tokens": "data tokens in the row (< seq_len + 1 only in a padded last row)",
        },
        "splits": splits,
        "total": {k: sum(splits[s][k] for s in SPLITS) for k in ("sequences", "tokens", "documents")},
        "date_range": {"min": min(dates), "max": max(dates)} if dates else None,
        # what a model trained on the train split can know of: its newest document, and how the
        # documents spread over time
        "knowledge_cutoff": splits["train"]["date_range"]["max"] if splits["train"]["date_range"] else None,
        "documents_per_month": dict(sorted(train_months.items())),
        "source": {"stage": source, "shards": len(p1)},  # no absolute path: same bytes anywhere
        "plan": plan.fingerprint,
    }

