"""Statistics: what each step saw, kept and dropped, and why.

Every step of every shard fills one ``StepStats``; a shard's statistics are saved with its
completion marker, and ``merge`` folds any number of them into the run's figures. All parts
merge exactly (counts add, histograms add, samples keep the documents with the smallest id
hash), so the merged statistics do not depend on the order in which shards finished.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xxhash

SAMPLE_SIZE = 20  # dropped documents kept per step and reason
SAMPLE_CHARS = 2000  # characters of text kept per sampled document


KEPT = "kept"  # the key of passed-on documents in ``StepStats.languages``


def _language(doc: Any) -> str | None:
    metadata = getattr(doc, "metadata", None)
    return metadata.get("language") if metadata else None


def _id_hash(doc_id: str) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"))


@dataclass
class Histogram:
    """Fixed-bin histogram: mergeable across shards because the bins are declared by the step."""

    low: float
    high: float
    counts: list[int]

    def add(self, value: float) -> None:
        bins = len(self.counts)
        pos = int((value - self.low) / (self.high - self.low) * bins)
        self.counts[min(max(pos, 0), bins - 1)] += 1

    def merge(self, other: "Histogram") -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "counts": self.counts}


@dataclass
class StepStats:
    """The figures of one step: documents and characters in and out, drops by reason, events."""

    name: str
    docs_in: int = 0
    docs_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    seconds: float = 0.0
    dropped: Counter = field(default_factory=Counter)
    counters: Counter = field(default_factory=Counter)  # events that are not drops: retries, timeouts, ...
    histograms: dict[str, Histogram] = field(default_factory=dict)
    # language -> {"kept": documents passed on, <reason>: documents dropped}, for documents whose
    # language is known (``metadata["language"]``, set by the language step): the per-language funnel
    languages: dict[str, Counter] = field(default_factory=dict)
    bins: dict[str, tuple[float, float, int]] = field(default_factory=dict, repr=False)
    # reason -> heap of (-id_hash, sample); the heap keeps the SAMPLE_SIZE smallest hashes.
    _samples: dict[str, list] = field(default_factory=dict, repr=False)
    # keep_rejected: called as reject(step, doc, reason) for every dropped document (the stage's rejected file)
    reject: Callable[[str, Any, str], None] | None = field(default=None, repr=False, compare=False)

    def drop(self, doc: Any, reason: str) -> None:
        """Count a dropped document under ``reason``, offer it to the reason's sample, and hand it to
        the stage's rejected documents when it keeps them."""
        if self.reject is not None:
            self.reject(self.name, doc, reason)
        self.dropped[reason] += 1
        if lang := _language(doc):
            self.languages.setdefault(lang, Counter())[reason] += 1
        self.offer_sample(reason, doc)

    def keep(self, doc: Any) -> None:
        """Count a document the step passed on (``docs_out`` is counted by whoever runs the step)."""
        if lang := _language(doc):
            self.languages.setdefault(lang, Counter())[KEPT] += 1

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def observe(self, metric: str, value: float) -> None:
        """Add ``value`` to the histogram of ``metric`` (bins declared by the step's ``scores``)."""
        hist = self.histograms.get(metric)
        if hist is None:
            low, high, n = self.bins.get(metric, (0.0, 1.0, 50))
            hist = self.histograms[metric] = Histogram(low, high, [0] * n)
        hist.add(value)

    def offer_sample(self, reason: str, doc: Any) -> None:
        h = _id_hash(doc.id)
        heap = self._samples.setdefault(reason, [])
        if len(heap) >= SAMPLE_SIZE and -heap[0][0] <= h:
            return
        if any(doc_id == doc.id for _, doc_id, _ in heap):
            return  # a second document with the same id (ids are the input's: not always unique): one sample of it
        sample = {
            "id": doc.id,
            "url": doc.url,
            "reason": reason,
            "text": doc.text[:SAMPLE_CHARS],
            "metadata": {k: v for k, v in doc.metadata.items() if isinstance(v, (int, float, str, bool))},
        }
        item = (-h, doc.id, sample)
        if len(heap) < SAMPLE_SIZE:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    @property
    def samples(self) -> dict[str, list[dict]]:
        """Sampled dropped documents per reason, in a stable order (by id hash)."""
        return {r: [s for _, _, s in sorted(heap, key=lambda t: (-t[0], t[1]))] for r, heap in sorted(self._samples.items())}

    def merge(self, other: "StepStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.chars_in += other.chars_in
        self.chars_out += other.chars_out
        self.seconds += other.seconds
        self.dropped.update(other.dropped)
        self.counters.update(other.counters)
        for lang, counts in other.languages.items():
            self.languages.setdefault(lang, Counter()).update(counts)
        for metric, hist in other.histograms.items():
            if metric in self.histograms:
                self.histograms[metric].merge(hist)
            else:
                self.histograms[metric] = Histogram(hist.low, hist.high, list(hist.counts))
        for reason, heap in other._samples.items():
            for neg_h, doc_id, sample in heap:
                mine = self._samples.setdefault(reason, [])
                item = (neg_h, doc_id, sample)
                if any(other == doc_id for _, other, _ in mine):
                    continue
                if len(mine) < SAMPLE_SIZE:
                    heapq.heappush(mine, item)
                elif -mine[0][0] > -neg_h:
                    heapq.heapreplace(mine, item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "seconds": round(self.seconds, 6),
            "dropped": dict(sorted(self.dropped.items())),
            "counters": dict(sorted(self.counters.items())),
            "histograms": {k: v.to_dict() for k, v in sorted(self.histograms.items())},
            **({"languages": {k: dict(sorted(v.items())) for k, v in sorted(self.languages.items())}} if self.languages else {}),
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StepStats":
        st = cls(
            name=d["name"],
            docs_in=d["docs_in"],
            docs_out=d["docs_out"],
            chars_in=d["chars_in"],
            chars_out=d["chars_out"],
            seconds=d.get("seconds", 0.0),
            dropped=Counter(d.get("dropped", {})),
            counters=Counter(d.get("counters", {})),
            languages={lang: Counter(c) for lang, c in d.get("languages", {}).items()},
        )
        for metric, h in d.get("histograms", {}).items():
            st.histograms[metric] = Histogram(h["low"], h["high"], list(h["counts"]))
        for reason, samples in d.get("samples", {}).items():
            st._samples[reason] = [(-_id_hash(s["id"]), s["id"], s) for s in samples]
            heapq.heapify(st._samples[reason])
        return st


@dataclass
class StageStats:
    """The statistics of one stage: its steps in pipeline order, plus shard-level figures."""

    stage: str
    steps: list[StepStats] = field(default_factory=list)
    shards: int = 0
    shards_failed: int = 0
    wall_seconds: float = 0.0  # summed over shards (task time)
    cpu_seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)  # failed shards: {"shard", "input", "error"}
    resource_loads: Counter = field(default_factory=Counter)  # heavy resources loaded (see curation.resources)
    task_retries: int = 0  # shard attempts beyond the first (a worker or the driver died mid-shard)

    def step(self, name: str) -> StepStats:
        for st in self.steps:
            if st.name == name:
                return st
        raise KeyError(f"stage {self.stage!r} has no step {name!r} (steps: {[s.name for s in self.steps]})")

    def merge(self, other: "StageStats") -> None:
        self.shards += other.shards
        self.shards_failed += other.shards_failed
        self.wall_seconds += other.wall_seconds
        self.cpu_seconds += other.cpu_seconds
        self.errors.extend(other.errors)
        self.resource_loads.update(other.resource_loads)
        self.task_retries += other.task_retries
        mine = {s.name: s for s in self.steps}
        for st in other.steps:
            if st.name in mine:
                mine[st.name].merge(st)
            else:
                copy = StepStats(st.name)
                copy.merge(st)
                self.steps.append(copy)
                mine[st.name] = copy

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "shards": self.shards,
            "shards_failed": self.shards_failed,
            "wall_seconds": round(self.wall_seconds, 6),
            "cpu_seconds": round(self.cpu_seconds, 6),
            "errors": self.errors,
            "resource_loads": dict(sorted(self.resource_loads.items())),
            "task_retries": self.task_retries,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StageStats":
        return cls(
            stage=d["stage"],
            steps=[StepStats.from_dict(s) for s in d["steps"]],
            shards=d.get("shards", 0),
            shards_failed=d.get("shards_failed", 0),
            wall_seconds=d.get("wall_seconds", 0.0),
            cpu_seconds=d.get("cpu_seconds", 0.0),
            errors=list(d.get("errors", [])),
            resource_loads=Counter(d.get("resource_loads", {})),
            task_retries=d.get("task_retries", 0),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False, ensure_ascii=False)
