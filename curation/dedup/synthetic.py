"""Generated documents with known duplicates, for tests and benchmarks of the dedup stage.

``make_corpus`` writes families of documents: an original and a few copies, each copy with a
controlled fraction of its words substituted, inserted or deleted (fraction 0 makes an exact copy
up to case and spacing), plus unrelated documents that share a boilerplate header and footer (a
site template), plus unrelated documents. Words follow a Zipf law over a vocabulary of
pseudo-words, so documents share common words the way real text does.

``write_stage_shards`` stores documents as a finished stage's output (Parquet shards and
``_done`` markers, as ``curation.stage.run_shard`` writes them) for the next stage to read.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np

from curation.document import Document
from curation.io.fs import atomic_write_bytes, join
from curation.io.shards import write_documents
from curation.stats import StageStats, StepStats

SYLLABLES = ["ka", "to", "ri", "mu", "sen", "lo", "pa", "ne", "vi", "da", "qu", "ex", "or", "an", "th", "el", "im", "bra", "cos", "lu"]
PUNCT = [",", ".", ";", ":", "!", "?"]


class Vocabulary:
    def __init__(self, size: int, seed: int):
        rng = np.random.default_rng(seed)
        words = set()
        while len(words) < size:
            words.add("".join(SYLLABLES[k] for k in rng.integers(0, len(SYLLABLES), rng.integers(1, 5))))
        self.words = np.array(sorted(words), dtype=object)
        rng.shuffle(self.words)
        w = 1.0 / np.arange(1, size + 1) ** 1.05
        self.cdf = np.cumsum(w / w.sum())

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        return list(self.words[np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.words) - 1)])


def render(words: list[str], rng: np.random.Generator) -> str:
    """Words -> text with capitals, punctuation and line breaks (all removed by normalisation)."""
    out = []
    marks = rng.random(len(words))
    for w, m in zip(words, marks):
        out.append(w)
        if m < 0.06:
            out[-1] += PUNCT[int(m * 100) % len(PUNCT)]
        if m > 0.985:
            out[-1] += "\n"
    text = " ".join(out)
    return text[:1].upper() + text[1:]


def respace(text: str, rng: np.random.Generator) -> str:
    """The same words with other spacing and case."""
    parts = text.split(" ")
    seps = rng.choice(np.array([" ", "  ", "\n", " \t"], dtype=object), len(parts) - 1, p=[0.85, 0.05, 0.05, 0.05])
    out = "".join(p + sep for p, sep in zip(parts, list(seps) + [""]))
    return out.upper() if rng.random() < 0.5 else "  " + out + "\n"


def edit(words: list[str], rate: float, rng: np.random.Generator, vocab: Vocabulary) -> list[str]:
    """Change about ``rate`` of the words: a third substituted, a third inserted, a third deleted."""
    out: list[str] = []
    ops = rng.random(len(words))
    fresh = vocab.sample(rng, len(words) + 1)
    for k, (w, r) in enumerate(zip(words, ops)):
        if r < rate / 3:
            out.append(fresh[k])  # substitute
        elif r < 2 * rate / 3:
            out += [w, fresh[k]]  # insert
        elif r < rate:
            continue  # delete
        else:
            out.append(w)
    return out


def make_corpus(
    n_docs: int,
    seed: int = 0,
    family_fraction: float = 0.4,
    template_fraction: float = 0.2,
    copies: tuple[int, int] = (1, 4),
    edit_rates: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2),
    length: tuple[int, int] = (150, 500),
    vocab_size: int = 30000,
) -> list[dict[str, Any]]:
    """About ``n_docs`` documents: dicts with id, url, date, text, family, edit (rate, or None).

    ``family_fraction`` of them belong to families (an original and ``copies`` edited copies),
    ``template_fraction`` are unrelated pages sharing one of a few site templates (header and
    footer of ~80 words around a body of their own), the rest are unrelated.
    """
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(vocab_size, seed)
    templates = [(vocab.sample(rng, 50), vocab.sample(rng, 30)) for _ in range(5)]
    docs: list[dict[str, Any]] = []
    family = 0
    base_time = np.datetime64("2024-01-01T00:00:00")

    def add(text: str, fam: int | None, rate: float | None) -> None:
        k = len(docs)
        docs.append({
            "id": f"<urn:uuid:{uuid.UUID(bytes=rng.bytes(16), version=4)}>",
            "url": f"https://site{int(rng.integers(0, 10**6))}.example/page/{k}",
            "date": str(base_time + np.timedelta64(int(rng.integers(0, 365 * 86400)), "s")) + "Z",
            "text": text,
            "family": fam,
            "edit": rate,
        })

    while len(docs) < n_docs:
        r = rng.random()
        n_words = int(rng.integers(length[0], length[1] + 1))
        if r < family_fraction:
            original = vocab.sample(rng, n_words)
            text = render(original, rng)
            add(text, family, None)
            for _ in range(int(rng.integers(copies[0], copies[1] + 1))):
                rate = float(edit_rates[int(rng.integers(0, len(edit_rates)))])
                if rate == 0.0:  # the same text, re-spaced and in capitals: an exact duplicate once normalised
                    add(respace(text, rng), family, rate)
                else:
                    add(render(edit(original, rate, rng, vocab), rng), family, rate)
            family += 1
        elif r < family_fraction + template_fraction:
            head, foot = templates[int(rng.integers(0, len(templates)))]
            add(render(head + vocab.sample(rng, n_words) + foot, rng), None, None)
        else:
            add(render(vocab.sample(rng, n_words), rng), None, None)
    order = rng.permutation(len(docs))
    return [docs[k] for k in order]


def to_document(d: dict[str, Any]) -> Document:
    return Document(
        id=d["id"], text=d["text"], url=d.get("url", ""), date=d.get("date", ""), source=d.get("source", "synthetic"), metadata=dict(d.get("metadata", {}))
    )


def write_stage_shards(output: str, stage: str, docs: list[dict[str, Any]], n_shards: int, prefix: str = "part") -> list[str]:
    """Write ``docs`` as ``n_shards`` finished shards of ``stage`` under ``output``; return the shard names."""
    names = []
    for k in range(n_shards):
        name = f"{prefix}-{k:04d}"
        part = docs[k::n_shards]
        written = write_documents(join(output, stage, "shards", f"{name}.parquet"), (to_document(d) for d in part))
        step = StepStats("synthetic", docs_in=written, docs_out=written)
        marker = {
            "shard": name,
            "input": f"synthetic:{name}",
            "stage": stage,
            "fingerprint": "synthetic",
            "documents": written,
            "stats": StageStats(stage, steps=[step], shards=1).to_dict(),
        }
        atomic_write_bytes(join(output, stage, "_done", f"{name}.json"), json.dumps(marker).encode())
        names.append(name)
    return names
