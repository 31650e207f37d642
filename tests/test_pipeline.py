"""End to end through Ray on the bundled sample: every planted case lands where it should, and a
killed run resumes to exactly the output of an uninterrupted one."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.execution import run_pipeline
from curation.summary import load_run_stats
from tests.conftest import ROOT, run_cli

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"
QUALITY_STEPS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def ids_in(stage_dir: Path) -> set[str]:
    ids: set[str] = set()
    for f in sorted((stage_dir / "shards").glob("*.parquet")):
        ids.update(pq.read_table(f, columns=["id"]).column("id").to_pylist())
    return ids


def shard_bytes(stage_dir: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted((stage_dir / "shards").glob("*.parquet"))}


def by_expected(manifest: dict) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = collections.defaultdict(set)
    for r in manifest["records"]:
        groups[r["expected"]].add(r["id"])
    return groups


@pytest.mark.ray
def test_every_planted_case_lands_where_expected(sample_run):
    out, manifest = sample_run
    groups = by_expected(manifest)
    extracted, kept = ids_in(out / "extract"), ids_in(out / "filter")
    assert kept == groups["kept"]
    for dropped_before_filter in ("url_filter", "extraction"):
        assert groups[dropped_before_filter] and not groups[dropped_before_filter] & extracted
    for dropped_in_filter in ("language", "quality"):
        assert groups[dropped_in_filter] <= extracted and not groups[dropped_in_filter] & kept


@pytest.mark.ray
def test_statistics_count_each_planted_case(sample_run):
    out, manifest = sample_run
    stats = load_run_stats(str(out))
    expected = collections.Counter(r["expected"] for r in manifest["records"])
    reader = stats["extract"].step("warc_reader")
    assert reader.dropped["non_200"] == expected["reader:non_200"]
    assert reader.dropped["non_html"] == expected["reader:non_html"]
    assert reader.dropped["damaged:corrupt_gzip_member"] == expected["reader:damaged_record"] == 1
    assert stats["extract"].step("url_filter").docs_in - stats["extract"].step("url_filter").docs_out == expected["url_filter"]
    assert sum(stats["extract"].step("trafilatura").dropped.values()) == expected["extraction"]
    lang = stats["filter"].step("language")
    assert lang.docs_in - lang.docs_out == expected["language"]
    steps = collections.Counter(r["expected_step"] for r in manifest["records"] if r["expected"] == "quality")
    for step in QUALITY_STEPS:
        st = stats["filter"].step(step)
        assert st.docs_in - st.docs_out == steps[step], step
        assert sum(st.dropped.values()) == steps[step]
    # documents are conserved at every step: in = out + dropped
    for ss in stats.values():
        for st in ss.steps:
            assert st.docs_in == st.docs_out + sum(st.dropped.values()), st.name


@pytest.mark.ray
def test_a_rerun_skips_finished_shards(sample_run):
    out, _ = sample_run
    before = shard_bytes(out / "filter")
    results = run_pipeline(load_pipeline(FINEWEB), None, str(out), stages=["filter"], progress=False)
    assert results[0].shards_skipped == results[0].shards_total > 0
    assert shard_bytes(out / "filter") == before


@pytest.mark.ray
@pytest.mark.slow
def test_killed_driver_resumes_to_the_uninterrupted_output(sample_run, sample, tmp_path):
    reference, _ = sample_run
    folder, _ = sample
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "curation.cli", "run", str(FINEWEB), "--input", str(folder), "--output", str(out), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ})
    deadline = time.time() + 240
    while time.time() < deadline and not list((out / "extract" / "_done").glob("*.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its embedded Ray, mid-stage
    proc.wait()
    done_before = len(list((out / "extract" / "_done").glob("*.json")))
    assert 1 <= done_before < 6, "the kill should land in the middle of the extract stage"
    second = run_cli("run", str(FINEWEB), "--input", str(folder), "--output", str(out), "--no-progress")
    assert second.returncode == 0, second.stderr
    resumed = int(re.search(r"extract: 6 shards \((\d+) already done\)", second.stdout).group(1))
    assert done_before <= resumed < 6, second.stdout  # finished shards were kept, the rest redone
    for stage in ("extract", "filter"):
        assert shard_bytes(out / stage) == shard_bytes(reference / stage), stage
    assert not list((out / "extract" / "shards").glob(".tmp-*"))


@pytest.mark.ray
def test_dedup_keeps_the_earliest_copy_of_each_exact_duplicate(sample_run):
    out, manifest = sample_run
    dates = {}
    for f in (out / "filter" / "shards").glob("*.parquet"):
        t = pq.read_table(f, columns=["id", "date"])
        dates.update(zip(t.column("id").to_pylist(), t.column("date").to_pylist()))
    deduped = ids_in(out / "dedup")
    pairs = [(r["duplicate_of"], r["id"]) for r in manifest["records"] if r["case"] == "exact_duplicate"]
    assert pairs
    for original, copy in pairs:
        assert (original in deduped) != (copy in deduped), (original, copy)
        kept = original if original in deduped else copy
        assert dates[kept] == min(dates[original], dates[copy])
    assert len(ids_in(out / "filter")) - len(deduped) >= len(pairs)


@pytest.mark.ray
def test_tokens_cover_every_deduplicated_document(sample_run):
    import json

    out, _ = sample_run
    manifest = json.loads((out / "tokenize" / "manifest.json").read_text())
    assert manifest["vocab_size"] == 50257 and manifest["eos_id"] == 50256
    stats = load_run_stats(str(out))
    assert stats["tokenize"].step("tokenize").docs_in == len(ids_in(out / "dedup"))


@pytest.mark.ray
def test_dedup_removes_near_duplicates_and_keeps_merely_similar_pages(sample_run):
    out, manifest = sample_run
    deduped = ids_in(out / "dedup")
    near = [(r["near_duplicate_of"], r["id"]) for r in manifest["records"] if r["case"] == "near_duplicate"]
    similar = [(r["similar_to"], r["id"]) for r in manifest["records"] if r["case"] == "similar_article"]
    assert near and similar
    for original, copy in near:  # true Jaccard >= 0.85
        assert (original in deduped) != (copy in deduped), (original, copy)
    for original, other in similar:  # true Jaccard <= 0.6
        assert original in deduped and other in deduped, (original, other)
