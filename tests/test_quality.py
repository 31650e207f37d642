"""Model-based quality filtering (issue #3): training (curation/quality_train.py) and the
``quality_classifier`` filter (filters/quality.py), on small synthetic data: no network, no Ray."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from curation.document import Document
from curation.errors import CurationError
from curation.io.shards import write_documents
from curation.quality_train import main, train_quality
from curation.resources import LOADS
from curation.sample import english_article
from curation.stats import StepStats
from filters.quality import QualityClassifierFilter, QualityParams, load_quality_model

SMALL = {"epochs": 10, "dim": 16, "bucket": 50_000, "holdout": 0.2}  # a small, fast model

_PRODUCTS = ["viagra", "replica watches", "payday loans", "cheap pills", "casino bonus", "weight loss tea",
             "crypto signals", "fake diplomas", "car insurance", "phone unlock", "seo backlinks", "diet pills"]
_HOOKS = ["best price", "buy now", "free shipping", "limited offer", "click here", "order online", "discount code",
          "top rated", "100% guaranteed", "no prescription", "lowest price", "sale today", "cheap", "hot deal"]
_CITIES = ["London", "Paris", "Dallas", "Miami", "Toronto", "Sydney", "Berlin", "Denver", "Austin", "Boston",
           "Chicago", "Seattle", "Houston", "Phoenix", "Atlanta", "Detroit"]
_NAV = ["Home", "About us", "Contact", "Login", "Sign up", "Privacy policy", "Terms of use", "Cart", "Checkout",
        "FAQ", "Sitemap", "Careers", "Blog", "Shop", "Categories", "Newsletter", "Help", "My account", "Search",
        "Cookie settings", "Follow us", "Share", "Tags", "Archive", "Next page", "Previous", "Read more"]


def good_text(rng: random.Random) -> str:
    art = english_article(rng, min_words=150, max_words=400)
    return art["title"] + "\n" + "\n".join(text for _, text in art["blocks"])


def spam_text(rng: random.Random) -> str:
    kind = rng.choice(["keywords", "nav", "cities", "mixed"])
    product = rng.choice(_PRODUCTS)
    lines: list[str] = []
    if kind in ("keywords", "mixed"):
        for _ in range(rng.randint(5, 15)):
            lines.append(" ".join(rng.choice([product, *rng.sample(_HOOKS, 3)]) for _ in range(rng.randint(4, 10))))
    if kind in ("nav", "mixed"):
        lines += rng.sample(_NAV, rng.randint(8, 20))
        lines.append(f"Copyright {rng.randint(2005, 2024)} All rights reserved")
    if kind == "cities":
        for c in rng.sample(_CITIES, rng.randint(6, 14)):
            lines.append(f"{rng.choice(_HOOKS).capitalize()} {product} in {c} - {rng.randint(1, 9)}0% off")
    rng.shuffle(lines)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Training inputs: positives as a Parquet shard folder, negatives as .jsonl."""
    d = tmp_path_factory.mktemp("quality")
    rng = random.Random(1)
    pos = [good_text(rng) for _ in range(300)]
    neg = [spam_text(rng) for _ in range(360)]  # unbalanced on purpose: downsampled
    shards = d / "shards"
    shards.mkdir()
    write_documents(str(shards / "00000.parquet"),
                    (Document(id=f"<urn:uuid:pos-{i}>", text=t, url=f"https://example.org/{i}") for i, t in enumerate(pos)))
    with open(d / "neg.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": t}) + "\n" for t in neg)
    return d, str(shards), str(d / "neg.jsonl")


@pytest.fixture(scope="module")
def model(data):
    d, pos, neg = data
    out = str(d / "model" / "quality.bin")
    metrics = train_quality(pos, neg, out, seed=0, **SMALL)
    return out, metrics


def read_json(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fresh(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    return [good_text(rng) for _ in range(n)], [spam_text(rng) for _ in range(n)]


def make_filter(**params) -> QualityClassifierFilter:
    return QualityClassifierFilter(QualityParams(**params))


def run_filter(f: QualityClassifierFilter, texts: list[str]) -> tuple[list[Document], list[Document], StepStats]:
    docs = [Document(id=f"<urn:uuid:{i}>", text=t) for i, t in enumerate(texts)]
    stats = f.new_stats()
    kept = list(f.run(docs, stats))
    return docs, kept, stats


def test_training_metrics_and_sidecar(model):
    out, metrics = model
    assert metrics["f1"] > 0.9
    assert metrics["precision"] > 0.9 and metrics["recall"] > 0.9
    assert metrics["read_positive"] == 300 and metrics["read_negative"] == 360
    assert metrics["train_positive"] + metrics["heldout_positive"] == 300  # balanced: 360 -> 300
    assert metrics["train_negative"] + metrics["heldout_negative"] == 300
    assert metrics["heldout_positive"] > 30 and metrics["heldout_negative"] > 30
    side = read_json(out + ".json")
    assert side["label"] == "__label__hq" and side["metrics"] == metrics
    assert side["settings"]["wordNgrams"] == 2 and side["settings"]["thread"] == 1
    qs = side["score_quantiles"]
    assert len(qs) == 1001 and qs == sorted(qs) and 0.0 <= qs[0] <= qs[-1] <= 1.0


def test_filter_keeps_good_drops_spam(model):
    out, _ = model
    good, spam = fresh(seed=99, n=40)
    f = make_filter(model_path=out)
    docs, kept, stats = run_filter(f, good + spam)
    kept_ids = {d.id for d in kept}
    good_kept = sum(d.id in kept_ids for d in docs[:40])
    spam_kept = sum(d.id in kept_ids for d in docs[40:])
    assert good_kept >= 38 and spam_kept <= 2
    assert all(0.0 <= d.metadata["quality_score"] <= 1.0 for d in docs)  # written on kept and dropped
    assert stats.dropped["quality_classifier"] == 80 - len(kept)
    assert sum(stats.histograms["quality_score"].counts) == 80
    assert len(stats.histograms["quality_score"].counts) == 50
    assert stats.samples["quality_classifier"]  # dropped documents sampled under the reason


def test_model_loaded_once_per_process(model):
    out, _ = model
    load_quality_model(out)
    before = LOADS["load_quality_model"]
    for _ in range(3):
        run_filter(make_filter(model_path=out, threshold=0.9), ["some text here"])
    assert LOADS["load_quality_model"] == before


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_top_fraction_keeps_about_that_fraction(model, fraction):
    out, _ = model
    good, spam = fresh(seed=7, n=60)  # balanced, like the held-out set the quantiles come from
    _, kept, _ = run_filter(make_filter(model_path=out, top_fraction=fraction), good + spam)
    assert abs(len(kept) / 120 - fraction) <= 0.12


def test_params_exactly_one_mode():
    assert QualityParams(model_path="m.bin").threshold == 0.5
    p = QualityParams(model_path="m.bin", top_fraction=0.1)
    assert p.threshold is None and p.top_fraction == 0.1
    with pytest.raises(ValidationError):
        QualityParams(model_path="m.bin", threshold=0.5, top_fraction=0.1)
    with pytest.raises(ValidationError):
        QualityParams(model_path="m.bin", threshold=None)
    with pytest.raises(ValidationError):
        QualityParams(model_path="m.bin", top_fraction=1.5)
    with pytest.raises(ValidationError):
        QualityParams()  # model_path is required


def test_preflight_missing_model(tmp_path, model):
    with pytest.raises(CurationError, match="not found"):
        make_filter(model_path=str(tmp_path / "missing.bin")).preflight()
    out, _ = model
    make_filter(model_path=out).preflight()  # present: no error
    bare = tmp_path / "bare.bin"
    bare.write_bytes(Path(out).read_bytes())  # a model without its sidecar
    make_filter(model_path=str(bare)).preflight()
    with pytest.raises(CurationError, match="sidecar"):
        make_filter(model_path=str(bare), top_fraction=0.2).preflight()


def test_training_is_deterministic(data, model, tmp_path):
    _, pos, neg = data
    out, metrics = model
    again = train_quality(pos, neg, str(tmp_path / "again.bin"), seed=0, **SMALL)
    assert again == metrics
    assert read_json(tmp_path / "again.bin.json")["score_quantiles"] == read_json(out + ".json")["score_quantiles"]


def test_txt_input_and_cli(tmp_path, capsys):
    good, spam = fresh(seed=3, n=60)
    (tmp_path / "pos.txt").write_text("\n".join(t.replace("\n", " ") for t in good) + "\n")
    (tmp_path / "neg.txt").write_text("\n".join(t.replace("\n", " ") for t in spam) + "\n")
    rc = main([str(tmp_path / "pos.txt"), str(tmp_path / "neg.txt"), "--output", str(tmp_path / "m.bin"),
               "--dim", "16", "--bucket", "50000", "--holdout", "0.25"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["read_positive"] == 60 and (tmp_path / "m.bin.json").exists()
    assert main([str(tmp_path / "nope.txt"), str(tmp_path / "neg.txt"), "--output", str(tmp_path / "x.bin")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_top_fraction_of_crawl_reference(model):
    """quality_reference=negative: the fraction is taken of the held-out crawl (negative) scores."""
    out, _ = model
    _, spam = fresh(seed=11, n=100)
    f = make_filter(model_path=out, top_fraction=0.2, quality_reference="negative")
    _, kept, _ = run_filter(f, spam)
    assert abs(len(kept) / 100 - 0.2) <= 0.12
