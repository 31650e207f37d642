"""`curation.evaluate`: the word-level P/R/F1, the ISO 639-3 -> lid.176 mapping, and both evaluations
run on the real data beside the project (skipped, with a reason, where that folder is absent)."""

from __future__ import annotations

import json

import pytest

from curation import evaluate
from curation.errors import CurationError
from tests.conftest import shared_data_dir


def _data_or_skip(sub: str):
    path = shared_data_dir()
    if not (path / sub).is_dir():
        pytest.skip(f"real data not found at {path / sub} (set CURATION_SHARED_DATA)")
    return path


# --- P/R/F1 on hand-made cases ----------------------------------------------------------------------


def test_words_lowercase_unicode():
    assert evaluate.words("Hello, World! Ça va? 2024-05") == [
        "hello",
        "world",
        "ça",
        "va",
        "2024",
        "05",
    ]
    assert evaluate.words(None) == [] and evaluate.words("") == []


def test_word_prf_exact_match():
    s = evaluate.word_prf("The cat sat.", "the CAT sat")
    assert s == {
        "overlap": 3,
        "extracted": 3,
        "expected": 3,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }


def test_word_prf_partial_multiset():
    # extracted: a a b c (4), expected: a b b d (4); multiset overlap: a (1) + b (1) = 2
    s = evaluate.word_prf("a a b c", "a b b d")
    assert (s["overlap"], s["extracted"], s["expected"]) == (2, 4, 4)
    assert s["precision"] == 0.5 and s["recall"] == 0.5 and s["f1"] == 0.5


def test_word_prf_asymmetric():
    # extracted: x y (2), expected: x y z w (4) -> P=1, R=0.5, F1=2/3
    s = evaluate.word_prf("x y", "x y z w")
    assert s["precision"] == 1.0 and s["recall"] == 0.5
    assert s["f1"] == pytest.approx(2 / 3)


def test_word_prf_empty_extraction():
    for nothing in (None, "", "  ...  "):
        s = evaluate.word_prf(nothing, "some words here")
        assert s["precision"] is None and s["recall"] == 0.0 and s["f1"] == 0.0


def test_aggregate_macro_and_micro():
    pages = [
        evaluate.word_prf("a b", "a b"),  # P=1 R=1 F1=1 (2 words)
        evaluate.word_prf("a b c d", "a e"),  # P=0.25 R=0.5 F1=1/3
        evaluate.word_prf(None, "x y"),  # empty: R=F1=0, P left out of macro P
    ]
    agg = evaluate.aggregate(pages)
    assert agg["pages"] == 3 and agg["empty"] == 1
    assert agg["macro"]["precision"] == pytest.approx((1 + 0.25) / 2)
    assert agg["macro"]["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert agg["macro"]["f1"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    # micro: overlap 2+1+0=3, extracted 2+4+0=6, expected 2+2+2=6
    assert agg["micro"]["precision"] == pytest.approx(0.5)
    assert agg["micro"]["recall"] == pytest.approx(0.5)
    assert agg["micro"]["f1"] == pytest.approx(0.5)


def test_expected_text_strips_tags():
    assert evaluate.words(
        evaluate.expected_text("<div><p>Hello <b>there</b></p><p>friend</p></div>")
    ) == [
        "hello",
        "there",
        "friend",
    ]


# --- ISO 639-3 -> lid.176 ---------------------------------------------------------------------------


def test_iso_mapping():
    assert evaluate.lid176_label("eng") == "en"
    assert evaluate.lid176_label("cmn") == "zh"
    assert evaluate.lid176_label("pes") == "fa"
    assert evaluate.lid176_label("nob") == "no"
    assert (
        evaluate.lid176_label("ceb") == "ceb"
    )  # lid.176 uses the 3-letter code where there is no 2-letter one
    assert (
        evaluate.lid176_label("als") == "sq"
    )  # ISO als is Tosk Albanian; lid.176's "als" is Alemannic
    assert evaluate.lid176_label("gsw") == "als"
    assert evaluate.lid176_label("zul") is None  # lid.176 has no Zulu: out of scope
    assert evaluate.lid176_label("xx-unknown") is None
    assert evaluate.lid176_label("eng", labels={"de"}) is None


def test_iso_mapping_targets_are_lid176_labels():
    from filters.language import load_model

    labels = {label.split("__")[2] for label in load_model().get_labels()}
    assert set(evaluate.ISO639_3_TO_LID176.values()) <= labels


# --- missing data -------------------------------------------------------------------------------------


def test_missing_data_raises_clear_error(tmp_path):
    with pytest.raises(CurationError, match="CURATION_SHARED_DATA"):
        evaluate.evaluate_extraction(tmp_path / "nowhere")
    with pytest.raises(CurationError, match="CURATION_SHARED_DATA"):
        evaluate.evaluate_langid(tmp_path / "nowhere")
    assert evaluate.main(["--data", str(tmp_path / "nowhere")]) == 2


# --- real data ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extraction_results():
    return evaluate.evaluate_extraction(_data_or_skip("extraction"))


@pytest.fixture(scope="module")
def langid_results():
    return evaluate.evaluate_langid(_data_or_skip("langid"))


def test_extraction_on_real_pages(extraction_results):
    summary = extraction_results["summary"]
    real, synthetic = summary["ours"]["real"], summary["ours"]["synthetic"]
    assert 80 <= real["pages"] <= 100 and 30 <= synthetic["pages"] <= 50
    assert real["pages"] + synthetic["pages"] == summary["ours"]["all"]["pages"]
    assert real["macro"]["f1"] > 0.5 and real["micro"]["f1"] > 0.5
    assert summary["default"]["real"]["macro"]["f1"] > 0.5
    assert real["empty"] <= 5
    # favor_precision trades recall for precision
    assert (
        summary["ours"]["real"]["micro"]["precision"]
        >= summary["default"]["real"]["micro"]["precision"] - 0.02
    )
    for setting in evaluate.EXTRACTORS:
        for agg in summary[setting].values():
            for kind in ("macro", "micro"):
                assert all(0.0 <= v <= 1.0 for v in agg[kind].values())


def test_both_extractors_are_scored_and_timed(extraction_results):
    """resiliparse (DCLM's call) is scored on the same pages, and costs less CPU per page than trafilatura."""
    summary = extraction_results["summary"]
    assert summary["resiliparse"]["real"]["pages"] == summary["ours"]["real"]["pages"]
    assert summary["resiliparse"]["real"]["micro"]["f1"] > 0.5
    assert extraction_results["settings"]["resiliparse"]["main_content"] is True
    cpu = extraction_results["cpu_seconds"]
    assert all(cpu[s] > 0 for s in evaluate.EXTRACTORS)
    assert cpu["resiliparse"] < cpu["ours"]


def test_langid_on_real_texts(langid_results):
    whatlang, udhr = (
        langid_results["datasets"]["whatlang"],
        langid_results["datasets"]["udhr"],
    )
    assert whatlang["in_scope"] >= 60 and whatlang["accuracy"] > 0.8
    assert whatlang["per_language"]["eng"] == {"label": "en", "correct": 1, "total": 1}
    assert (
        udhr["in_scope"] >= 150 and udhr["accuracy"] > 0.6
    )  # long-tail dialects and scripts: lower
    assert udhr["in_scope"] + sum(udhr["out_of_scope"].values()) == udhr["texts"]


def test_report_and_json(extraction_results, langid_results, tmp_path):
    results = {"extraction": extraction_results, "langid": langid_results}
    text = evaluate.format_report(results)
    assert (
        "real / ours" in text
        and "real / default" in text
        and "real / resiliparse" in text
        and "docs per CPU-second" in text
        and "whatlang: accuracy" in text
    )
    json.loads(json.dumps(results))  # serialisable as --json writes it
