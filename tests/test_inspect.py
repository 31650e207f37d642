"""``inspect`` and ``compare`` on two real runs of the sample that differ only in their filter settings:
run A is the FineWeb pipeline; run B reruns its filter stage on the same extract output with a
stricter language threshold and a higher minimum of words."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.errors import CurationError
from curation.execution import run_pipeline
from curation.inspect import compare_runs, dropped_samples, kept_samples
from curation.stats import SAMPLE_SIZE
from curation.layout import load_run_stats
from curation.summary import funnel_rows
from tests.conftest import ROOT, run_cli
from tests.test_report import full_run  # noqa: F401  (the session's run of the sample, done once)

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"
A_LANG, B_LANG = 0.65, 0.95
A_WORDS, B_WORDS = 50, 100


def ids_in(stage_dir: Path) -> set[str]:
    return {i for f in sorted((stage_dir / "shards").glob("*.parquet")) for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()}


@pytest.fixture(scope="module")
def two_runs(full_run, ray_session, tmp_path_factory) -> tuple[Path, Path]:  # noqa: F811
    out, _ = full_run
    base = tmp_path_factory.mktemp("inspect")
    a, b = base / "a", base / "b"
    for stage in ("extract", "filter"):
        shutil.copytree(out / stage, a / stage)
    shutil.copyfile(out / "run.json", a / "run.json")
    shutil.copytree(out / "extract", b / "extract")

    # edited as text: the pipeline file is YAML 1.2 (`on:` is a key there, a boolean to PyYAML)
    text = FINEWEB.read_text()
    for old, new in ((f"language_threshold: {A_LANG}", f"language_threshold: {B_LANG}"),
                     ("- gopher_quality: {}", f"- gopher_quality: {{min_doc_words: {B_WORDS}}}")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    strict = base / "strict.yaml"
    strict.write_text(text)
    results = run_pipeline(load_pipeline(strict), None, str(b), stages=["filter"], progress=False)
    assert [r.stage for r in results] == ["filter"] and not results[0].shards_failed
    return a, b


def step(output: Path, name: str):
    for ss in load_run_stats(str(output)).values():
        for st in ss.steps:
            if st.name == name:
                return st
    raise KeyError(name)


@pytest.mark.ray
def test_the_stricter_run_drops_more(two_runs):
    a, b = two_runs
    for name in ("language", "gopher_quality"):
        assert step(b, name).docs_in - step(b, name).docs_out > 0
    assert step(b, "language").docs_out < step(a, "language").docs_out
    assert step(b, "language").docs_in == step(a, "language").docs_in  # the same extract output
    assert ids_in(b / "filter") < ids_in(a / "filter")


@pytest.mark.ray
def test_dropped_samples_are_documents_dropped_for_that_reason_with_their_scores(two_runs):
    a, b = two_runs
    extracted = ids_in(a / "extract")
    # fineweb.yaml's screen drops the sample's non-English pages before extraction, so at the default
    # threshold (run a) the language step may drop nothing; the stricter run b drops English pages
    assert step(b, "language").dropped["language"] > 0
    for run, threshold, kept in ((a, A_LANG, ids_in(a / "filter")), (b, B_LANG, ids_in(b / "filter"))):
        if not step(run, "language").dropped["language"]:
            continue
        samples = dropped_samples(str(run), "language", reason="language", n=100)
        assert len(samples) == min(SAMPLE_SIZE, step(run, "language").dropped["language"])
        for s in samples:
            assert s["reason"] == "language" and s["id"] in extracted and s["id"] not in kept
            meta = s["metadata"]
            assert meta["language"] != "en" or meta["language_score"] <= threshold, s["id"]
            assert s["text"] and s["url"]
    screened = dropped_samples(str(a), "screen", reason="other_language", n=100)
    assert screened and all(s["id"] not in extracted and s["metadata"]["language"] != "en" for s in screened)
    for run, words in ((a, A_WORDS), (b, B_WORDS)):
        samples = dropped_samples(str(run), "gopher_quality", reason="gopher_short_doc", n=100)
        assert samples and all(s["reason"] == "gopher_short_doc" and s["metadata"]["n_words"] < words for s in samples)


@pytest.mark.ray
def test_dropped_samples_n_seed_and_all_reasons(two_runs):
    _, b = two_runs
    three = dropped_samples(str(b), "warc_reader", n=3, seed=1)
    assert len(three) == 3
    assert three == dropped_samples(str(b), "warc_reader", n=3, seed=1)
    reasons = set(step(b, "warc_reader").dropped)
    everything = dropped_samples(str(b), "warc_reader", n=1000)
    assert {s["reason"] for s in everything} == reasons and len(reasons) > 1


@pytest.mark.ray
def test_kept_samples_are_reproducible_by_seed(two_runs):
    _, b = two_runs
    kept = ids_in(b / "filter")
    first = kept_samples(str(b), "gopher_quality", n=5, seed=7)
    assert len(first) == 5 and all(s["id"] in kept and s["reason"] == "kept" for s in first)
    assert kept_samples(str(b), "gopher_quality", n=5, seed=7) == first
    assert [s["id"] for s in kept_samples(str(b), "gopher_quality", n=5, seed=8)] != [s["id"] for s in first]
    assert len(kept_samples(str(b), "language", n=10_000)) == len(kept)


@pytest.mark.ray
def test_unknown_step_or_reason_is_a_clear_error(two_runs):
    _, b = two_runs
    with pytest.raises(CurationError, match=r"no step 'nope' in this run; steps: warc_reader, url_filter, screen, trafilatura, language, "):
        dropped_samples(str(b), "nope")
    with pytest.raises(CurationError, match=r"no step 'nope'"):
        kept_samples(str(b), "nope")
    with pytest.raises(CurationError, match=r"step 'language' dropped nothing for reason 'short'; reasons: language$"):
        dropped_samples(str(b), "language", reason="short")


ROW = re.compile(r"^([* ]) (\S+)\s+(\S+)\s+([\d,]+)\s+(\S+)\s+([\d,]+)\s+(\S+)\s+([+-][\d,]+)$")


def parse_compare(text: str) -> dict[tuple[str, str], dict]:
    rows: dict[tuple[str, str], dict] = {}
    last = None
    for line in text.splitlines():
        if m := ROW.match(line):
            mark, stage, name, ao, ap, bo, bp, delta = m.groups()
            last = rows[(stage, name)] = {"marked": mark == "*", "a_out": int(ao.replace(",", "")), "a_pct": ap,
                                          "b_out": int(bo.replace(",", "")), "b_pct": bp, "delta": int(delta.replace(",", "")), "reasons": None}
        elif line.startswith("    reasons: ") and last is not None:
            last["reasons"] = line.removeprefix("    reasons: ")
    return rows


@pytest.mark.ray
def test_compare_marks_the_changed_rows_with_their_deltas(two_runs):
    a, b = two_runs
    text = compare_runs(str(a), str(b))
    assert text.startswith(f"A = {a}\nB = {b}\n")
    rows = parse_compare(text)
    fa = {(r["stage"], r["step"]): r for r in funnel_rows(load_run_stats(str(a)))}
    fb = {(r["stage"], r["step"]): r for r in funnel_rows(load_run_stats(str(b)))}
    assert list(rows) == list(fa) == list(fb)
    for key, row in rows.items():
        x, y = fa[key], fb[key]
        assert (row["a_out"], row["b_out"], row["delta"]) == (x["docs_out"], y["docs_out"], y["docs_out"] - x["docs_out"]), key
        assert (row["a_pct"], row["b_pct"]) == (f"{x['removed_pct']:.1f}%", f"{y['removed_pct']:.1f}%"), key
        assert row["marked"] == (x["docs_out"] != y["docs_out"] or row["a_pct"] != row["b_pct"]), key
    for key in (("extract", "warc_reader"), ("extract", "url_filter"), ("extract", "screen"), ("extract", "trafilatura")):
        assert not rows[key]["marked"] and rows[key]["delta"] == 0
    lang = rows[("filter", "language")]
    assert lang["marked"] and lang["delta"] < 0
    da, db = step(a, "language").dropped["language"], step(b, "language").dropped["language"]
    assert lang["reasons"] == f"language {da}→{db}"
    gq = rows[("filter", "gopher_quality")]
    assert gq["marked"] and f"gopher_short_doc {step(a, 'gopher_quality').dropped['gopher_short_doc']}→" in gq["reasons"]


@pytest.mark.ray
def test_compare_a_run_with_stages_the_other_lacks(two_runs, full_run):  # noqa: F811
    a, _ = two_runs
    out, _ = full_run
    rows = parse_compare(compare_runs(str(a), str(out)))
    assert rows[("dedup", "exact_dedup")]["marked"] and rows[("dedup", "exact_dedup")]["a_out"] == 0
    assert not rows[("filter", "language")]["marked"]  # the same filter output
    with pytest.raises(CurationError, match="no finished shard"):
        compare_runs(str(a / "missing"), str(a / "missing-too"))


@pytest.mark.ray
def test_cli_inspect_and_compare(two_runs, tmp_path):
    a, b = two_runs
    r = run_cli("inspect", str(b), "--step", "language", "--reason", "language", "-n", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("reason: language") == 3 and "language_score=" in r.stdout

    r = run_cli("inspect", str(b), "--step", "gopher_quality", "--kept", "-n", "2", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("reason: kept") == 2

    r = run_cli("inspect", str(b), "--step", "nope")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: no step 'nope' in this run; steps: warc_reader, url_filter")
    assert "Traceback" not in r.stderr

    r = run_cli("inspect", str(b), "--step", "language", "--reason", "nope")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: step 'language' dropped nothing for reason 'nope'; reasons: language"

    r = run_cli("inspect", str(b))  # --step is required
    assert r.returncode == 2 and "--step" in r.stderr

    r = run_cli("compare", str(a), str(b))
    assert r.returncode == 0, r.stderr
    assert parse_compare(r.stdout)[("filter", "language")]["marked"]
    assert r.stdout.rstrip("\n") == compare_runs(str(a), str(b))

    r = run_cli("compare", str(tmp_path / "x"), str(tmp_path / "y"))
    assert r.returncode == 2 and r.stderr.startswith("error: no finished shard")


@pytest.mark.ray
def test_cli_report(two_runs, tmp_path):
    from curation.cli import build_parser

    try:
        build_parser().parse_args(["report", "OUTPUT"])
    except SystemExit:
        pytest.skip("the `curation report` command is not wired into curation/cli.py yet")
    _, b = two_runs
    r = run_cli("report", str(b), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    r = run_cli("report", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.html"))
    assert r.returncode == 2 and r.stderr.startswith("error: no curation output")
