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
from curation.layout import load_run_stats
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


def screened(manifest: dict, extracted: set[str]) -> collections.Counter:
    """The planted cases that fineweb.yaml's screen step dropped before extraction, by expected outcome
    (and step, for quality drops): the documents of a filter-stage group that never reached extraction."""
    return collections.Counter(
        (r["expected"], r.get("expected_step")) for r in manifest["records"]
        if r["expected"] in ("language", "quality") and r["id"] not in extracted
    )


@pytest.mark.ray
def test_every_planted_case_lands_where_expected(sample_run):
    out, manifest = sample_run
    groups = by_expected(manifest)
    extracted, kept = ids_in(out / "extract"), ids_in(out / "filter")
    assert kept == groups["kept"]
    for dropped_before_filter in ("url_filter", "extraction"):
        assert groups[dropped_before_filter] and not groups[dropped_before_filter] & extracted
    for dropped_in_filter in ("language", "quality"):
        assert groups[dropped_in_filter] and not groups[dropped_in_filter] & kept
    # a language or quality case that was not extracted was settled by the screens, for their reasons
    screen = load_run_stats(str(out))["extract"].step("screen")
    by_screen = screened(manifest, extracted)
    assert sum(n for (group, _), n in by_screen.items() if group == "language") == screen.dropped["other_language"] > 0
    assert sum(n for (group, _), n in by_screen.items() if group == "quality") <= screen.dropped["too_few_words"]


@pytest.mark.ray
def test_statistics_count_each_planted_case(sample_run):
    out, manifest = sample_run
    stats = load_run_stats(str(out))
    expected = collections.Counter(r["expected"] for r in manifest["records"])
    reader = stats["extract"].step("warc_reader")
    # fineweb.yaml reads every HTTP status (statuses: any): the planted redirects and 404s are read,
    # and counted below where FineWeb's filters drop them
    assert reader.docs_out == sum(1 for r in manifest["records"] if not r["expected"].startswith("reader:"))
    assert "non_200" not in reader.dropped
    assert reader.dropped["non_html"] == expected["reader:non_html"]
    assert reader.dropped["damaged:corrupt_gzip_member"] == expected["reader:damaged_record"] == 1
    assert stats["extract"].step("url_filter").docs_in - stats["extract"].step("url_filter").docs_out == expected["url_filter"]
    # the screens take some language and quality cases (and perhaps some extraction cases) before trafilatura
    by_screen = screened(manifest, ids_in(out / "extract"))
    screen_drops = sum(stats["extract"].step("screen").dropped.values())
    extraction_screened = screen_drops - sum(by_screen.values())
    assert sum(stats["extract"].step("trafilatura").dropped.values()) == expected["extraction"] - extraction_screened
    lang = stats["filter"].step("language")
    assert lang.docs_in - lang.docs_out == expected["language"] - by_screen[("language", None)]
    steps = collections.Counter(r["expected_step"] for r in manifest["records"] if r["expected"] == "quality")
    for step in QUALITY_STEPS:
        st = stats["filter"].step(step)
        assert st.docs_in - st.docs_out == steps[step] - by_screen[("quality", step)], step
        assert sum(st.dropped.values()) == steps[step] - by_screen[("quality", step)]
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


def all_outputs(out: Path) -> dict[str, bytes]:
    """Every shard of every stage (documents and tokens), by relative path."""
    files = {}
    for stage in ("extract", "filter", "dedup"):
        files.update({f"{stage}/{k}": v for k, v in shard_bytes(out / stage).items()})
    for f in sorted((out / "tokenize").glob("*/part-*.parquet")):
        files[str(f.relative_to(out))] = f.read_bytes()
    files["tokenize/manifest.json"] = (out / "tokenize" / "manifest.json").read_bytes()
    return files


def started(out: Path, stage: str) -> bool:
    """The stage has finished at least one unit of work (a shard, or a dedup/tokenize phase part)."""
    return (out / stage).is_dir() and any(p.parent.name == "_done" or p.name == "_done.json" for p in (out / stage).rglob("*"))


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("stage", ["extract", "filter", "dedup", "tokenize"])
def test_killed_driver_resumes_to_the_uninterrupted_output(sample_run, sample, tmp_path, stage):
    reference, _ = sample_run
    folder, _ = sample
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "curation.cli", "run", str(FINEWEB), "--input", str(folder), "--output", str(out), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ})
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not started(out, stage):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its embedded Ray, in the middle of the stage
    proc.wait()
    assert not (out / "tokenize" / "manifest.json").exists(), "the kill should land before the run ends"
    second = run_cli("run", str(FINEWEB), "--input", str(folder), "--output", str(out), "--no-progress")
    assert second.returncode == 0, second.stderr
    if stage == "extract":
        resumed = int(re.search(r"extract: 6 shards \((\d+) already done\)", second.stdout).group(1))
        assert 1 <= resumed < 6, second.stdout  # finished shards were kept, the rest redone
    assert all_outputs(out) == all_outputs(reference)  # nothing lost, nothing duplicated, same bytes
    assert not [p for p in out.rglob(".tmp-*")]


@pytest.mark.ray
@pytest.mark.slow
def test_a_killed_worker_is_retried_and_the_retry_is_counted(tmp_path):
    from curation.sample import generate_sample

    manifest = generate_sample(tmp_path / "one-file", seed=0, files=1)
    out = tmp_path / "out"
    # one worker: the file is split into parts, and the only worker running is the one whose attempt is recorded
    cmd = [sys.executable, "-m", "curation.cli", "run", str(FINEWEB), "--input", str(tmp_path / "one-file"), "--output", str(out), "--no-progress",
           "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    killed = None
    deadline = time.time() + 240
    while killed is None and time.time() < deadline and proc.poll() is None:
        mid_shard = any((out / "extract" / "_attempts").glob("*/*")) and not any((out / "extract" / "_done").glob("*.json"))
        # Ray names a worker after the task it runs; only this run's session counts: under pytest-xdist another
        # test's Ray runs the same task name, and killing its worker would leave this run without a retry
        session = ["pgrep", "--session", str(proc.pid), "-f", "ray::run_chain"]
        pids = subprocess.run(session, capture_output=True, text=True).stdout.split() if mid_shard else []
        if pids:
            os.kill(int(pids[0]), signal.SIGKILL)
            killed = int(pids[0])
        time.sleep(0.02)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed, "no worker was caught mid-shard"
    assert proc.returncode == 0, stderr
    assert ids_in(out / "filter") == by_expected(manifest)["kept"]  # nothing lost, nothing duplicated
    stats = load_run_stats(str(out))
    # the worker died mid-extract, or (a race: just after) mid-filter of the same shard: one retry
    assert stats["extract"].task_retries + stats["filter"].task_retries == 1
    assert "1 task retries" in stdout
    assert not [p for p in out.rglob(".tmp-*")]


@pytest.mark.ray
def test_outputs_do_not_depend_on_the_number_of_workers(sample_run, sample, tmp_path):
    reference, _ = sample_run
    folder, _ = sample
    run_pipeline(load_pipeline(FINEWEB), str(folder), str(tmp_path / "one"), workers=1, progress=False)
    assert all_outputs(tmp_path / "one") == all_outputs(reference)


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
