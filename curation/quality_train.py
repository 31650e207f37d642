"""Train the fastText quality classifier of ``filters/quality.py`` (issue #3, DCLM's approach).

DCLM's model-based quality filter is a fastText bigram classifier trained on reference-quality
text (the positive class) against random crawl text (the negative class); the filter then keeps
the documents the model scores highest. ``train_quality`` does that on our own data::

    python -m curation.quality_train POSITIVE NEGATIVE --output MODEL [--epochs 5 ...]

``POSITIVE`` / ``NEGATIVE`` each name our document Parquet shards (a folder such as
``OUTPUT/filter/shards``, one ``.parquet`` file, or a glob of them), or a ``.txt`` file (one
document per line) or a ``.jsonl`` file (one ``{"text": ...}`` object per line).

Steps, all deterministic for the same inputs and seed:

1. read both sides and normalise each text with ``prepare_text`` (lowercase, every run of
   whitespace, newlines included, becomes one space); the filter scores exactly this form;
2. balance the classes: the larger side is downsampled to the size of the smaller, keeping the
   documents with the smallest seeded hash of their text;
3. split off the hold-out set by a seeded hash of the text (identical texts fall on the same side,
   so no exact duplicate leaks from training into evaluation);
4. write the fastText training file (in a shuffled, seeded order) to a temporary folder and train
   with ``fasttext.train_supervised(thread=1, seed=seed)``: one thread makes training reproducible;
   an ``output`` ending in ``.ftz`` is quantized (retrained on the same file) before saving;
5. score the held-out documents with the saved model: precision, recall, F1 and accuracy of the
   positive class at probability 0.5;
6. save the model to ``output`` and a sidecar ``output + ".json"``: metrics, settings, labels,
   and the quantiles of the held-out scores (positives and negatives weighted equally, and the
   negatives only), which the filter's ``top_fraction`` mode turns into a score threshold.
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing
import json
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xxhash

from curation.errors import CurationError, InputError

POSITIVE_LABEL = "__label__hq"
NEGATIVE_LABEL = "__label__cc"
SIDECAR_FORMAT = "curation.quality/1"
QUANTILE_POINTS = 1001  # score quantiles stored at q = i / 1000


def prepare_text(text: str) -> str:
    """The form of a document that the classifier sees, in training and in the filter."""
    return " ".join(text.lower().split())


def sidecar_path(model_path: str) -> str:
    return str(model_path) + ".json"


def positive_scores(model, lines: list[str], label: str = POSITIVE_LABEL) -> list[float]:
    """P(label) for each prepared line (0 for an empty line or when the label is not predicted)."""
    if not lines:
        return []
    labels, probs = model.predict(lines, k=-1)
    out = []
    for line, labs, ps in zip(lines, labels, probs):
        score = 0.0
        if line:
            for lab, p in zip(labs, ps):
                if lab == label:
                    score = float(p)
                    break
        out.append(min(max(score, 0.0), 1.0))  # fastText adds 1e-5 before the log: clip to [0, 1]
    return out


# ---------------------------------------------------------------------------------------------
# reading


def _parquet_files(spec: str) -> list[str]:
    if any(c in spec for c in "*?["):
        return sorted(p for p in glob.glob(spec, recursive=True) if p.endswith(".parquet"))
    if spec.endswith(".parquet"):
        return [spec]
    from curation.io.fs import exists, list_files

    if not exists(spec):
        raise InputError(f"quality training input {spec!r} does not exist")
    return list_files(spec, ".parquet")


def read_texts(spec: str) -> Iterator[str]:
    """Documents of ``spec``: Parquet shards (folder, file or glob), ``.txt`` or ``.jsonl``."""
    if spec.endswith((".txt", ".jsonl")):
        if not os.path.exists(spec):
            raise InputError(f"quality training input {spec!r} does not exist")
        with open(spec, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if spec.endswith(".txt"):
                    yield line
                    continue
                try:
                    yield json.loads(line)["text"]
                except (ValueError, KeyError, TypeError) as e:
                    raise InputError(f"{spec}:{n}: not a JSON object with a \"text\" field ({e})") from None
        return
    files = _parquet_files(spec)
    if not files:
        raise InputError(f"quality training input {spec!r}: no .parquet shards found")
    from curation.io.shards import read_documents

    for path in files:
        for doc in read_documents(path):
            yield doc.text


def _load(spec: str) -> list[str]:
    texts = [t for t in (prepare_text(x) for x in read_texts(spec)) if t]
    if not texts:
        raise InputError(f"quality training input {spec!r} holds no non-empty document")
    return texts


# ---------------------------------------------------------------------------------------------
# training


def _hash(text: str, seed: int, salt: str) -> int:
    return xxhash.xxh64_intdigest(f"{salt}\x00{text}".encode("utf-8", "surrogatepass"), seed=seed)


def _quantiles(*groups: list[float]) -> list[float]:
    """Score quantiles at q = i / (QUANTILE_POINTS - 1) of the groups mixed with equal weights
    (each group weighs 1 / len(groups) however many scores it has), linearly interpolated."""
    import numpy as np

    groups = tuple(g for g in groups if g)
    if not groups:
        return []
    scores = np.concatenate([np.asarray(g, dtype=np.float64) for g in groups])
    weights = np.concatenate([np.full(len(g), 1.0 / len(g)) for g in groups])
    order = np.argsort(scores, kind="stable")
    scores, weights = scores[order], weights[order]
    cdf = (np.cumsum(weights) - weights / 2) / weights.sum()  # mid-point plotting positions
    q = np.interp(np.linspace(0.0, 1.0, QUANTILE_POINTS), cdf, scores)
    return [round(float(v), 7) for v in q]


def _metrics(pos_scores: list[float], neg_scores: list[float], threshold: float = 0.5) -> dict[str, Any]:
    tp = sum(s >= threshold for s in pos_scores)
    fn = len(pos_scores) - tp
    fp = sum(s >= threshold for s in neg_scores)
    tn = len(neg_scores) - fp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = tp + fp + tn + fn
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / total if total else 0.0,
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


def _train_and_save(train_file: str, settings: dict, quantized: bool, path: str) -> None:
    import fasttext

    model = fasttext.train_supervised(input=train_file, verbose=0, **settings)
    if quantized:
        model.quantize(input=train_file, retrain=True, qnorm=True, thread=1, verbose=0)
    model.save_model(path)


def train_quality(positive: str, negative: str, output: str, *, epochs: int = 5, lr: float = 0.1,
                  wordNgrams: int = 2, dim: int = 100, bucket: int = 2_000_000, minCount: int = 1,
                  seed: int = 0, holdout: float = 0.1, label: str = POSITIVE_LABEL,
                  negative_label: str = NEGATIVE_LABEL) -> dict[str, Any]:
    """Train the quality classifier, save ``output`` and its sidecar, return the held-out metrics.

    Defaults are fastText's supervised defaults (lr 0.1, dim 100, 5 epochs, 2M hash buckets)
    with word bigrams, as DCLM. ``bucket`` x ``dim`` x 4 bytes is the size of the n-gram table
    (800 MB by default): lower both for small data, or save as ``.ftz`` to quantize.
    """
    import fasttext

    if not 0.0 < holdout < 1.0:
        raise CurationError(f"holdout must be between 0 and 1 (exclusive), not {holdout}")
    for lab in (label, negative_label):
        if not lab.startswith("__label__") or any(c.isspace() for c in lab):
            raise CurationError(f"label {lab!r} must start with __label__ and contain no space")
    if label == negative_label:
        raise CurationError("the positive and negative labels must differ")

    pos, neg = _load(positive), _load(negative)
    read = {"positive": len(pos), "negative": len(neg)}
    n = min(len(pos), len(neg))
    pos = sorted(pos, key=lambda t: _hash(t, seed, "balance"))[:n]
    neg = sorted(neg, key=lambda t: _hash(t, seed, "balance"))[:n]
    cut = int(holdout * 2**64)

    def split(texts: list[str]) -> tuple[list[str], list[str]]:
        train, held = [], []
        for t in texts:
            (held if _hash(t, seed, "holdout") < cut else train).append(t)
        return train, held

    pos_train, pos_held = split(pos)
    neg_train, neg_held = split(neg)
    if not pos_train or not neg_train:
        raise InputError("quality training: a class has no training document left after the hold-out split")
    if not pos_held or not neg_held:
        raise InputError("quality training: a class has no held-out document (too little data, or holdout too small)")

    rows = [f"{label} {t}\n" for t in pos_train] + [f"{negative_label} {t}\n" for t in neg_train]
    random.Random(seed).shuffle(rows)
    settings = {"epoch": epochs, "lr": lr, "wordNgrams": wordNgrams, "dim": dim, "bucket": bucket,
                "minCount": minCount, "seed": seed, "thread": 1, "loss": "softmax"}
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    quantized = out.suffix == ".ftz"
    with tempfile.TemporaryDirectory(prefix="quality-train-") as tmp:
        train_file = os.path.join(tmp, "train.txt")
        with open(train_file, "w", encoding="utf-8") as f:
            f.writelines(rows)
        tmp_model = str(out) + ".tmp"
        # Train in a fresh process: fastText's training diverges ("Encountered NaN") in a process
        # whose floating-point state other libraries have changed, seen in the test suite.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            pool.apply(_train_and_save, (train_file, settings, quantized, tmp_model))
        os.replace(tmp_model, out)

    model = fasttext.load_model(str(out))  # evaluate what was saved
    pos_scores = positive_scores(model, pos_held, label)
    neg_scores = positive_scores(model, neg_held, label)
    metrics = _metrics(pos_scores, neg_scores)
    metrics.update({
        "train_positive": len(pos_train), "train_negative": len(neg_train),
        "heldout_positive": len(pos_held), "heldout_negative": len(neg_held),
        "read_positive": read["positive"], "read_negative": read["negative"],
    })
    sidecar = {
        "format": SIDECAR_FORMAT,
        "model": out.name,
        "label": label,
        "negative_label": negative_label,
        "preprocess": "lowercase; whitespace runs (newlines included) -> one space",
        "inputs": {"positive": positive, "negative": negative},
        "settings": {**settings, "holdout": holdout, "quantized": quantized},
        "metrics": metrics,
        # score at q = i / (QUANTILE_POINTS - 1), i = 0 .. QUANTILE_POINTS - 1
        # held-out positives and negatives weighted equally (the hash split leaves the held-out
        # classes only roughly balanced), and the held-out negatives (random crawl) alone
        "score_quantiles": _quantiles(pos_scores, neg_scores),
        "negative_score_quantiles": _quantiles(neg_scores),
    }
    tmp_side = sidecar_path(str(out)) + ".tmp"
    with open(tmp_side, "w", encoding="utf-8") as f:
        json.dump(sidecar, f, indent=1)
    os.replace(tmp_side, sidecar_path(str(out)))
    return metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m curation.quality_train", description=__doc__.split("\n")[0])
    ap.add_argument("positive", help="reference-quality documents: Parquet shards (folder/file/glob), .txt or .jsonl")
    ap.add_argument("negative", help="random crawl documents, same forms")
    ap.add_argument("--output", "-o", required=True, help="model file (.bin; .ftz to quantize); sidecar at OUTPUT.json")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--word-ngrams", type=int, default=2)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--bucket", type=int, default=2_000_000)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", type=float, default=0.1)
    args = ap.parse_args(argv)
    try:
        metrics = train_quality(args.positive, args.negative, args.output, epochs=args.epochs, lr=args.lr,
                                wordNgrams=args.word_ngrams, dim=args.dim, bucket=args.bucket,
                                minCount=args.min_count, seed=args.seed, holdout=args.holdout)
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
