"""Rejected documents out: with ``keep_rejected: true`` every document a stage drops is written with
its step and reason, ``curation inspect --rejected`` browses them, and ``curation verify`` checks
that every shard's kept and rejected documents add up to what it read."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.document import Document
from curation.execution import run_pipeline
from curation.io.shards import read_columns
from curation.stats import StepStats
from curation.step import DocumentStep
from curation.verify import verify
from tests.conftest import ROOT, run_cli

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"


class Vanisher(DocumentStep):
    """A broken step: it loses every third document without counting it as dropped."""

    name = "vanisher"

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        for i, doc in enumerate(docs):
            if i % 3:
                yield doc


def pipeline(tmp_path: Path, filter_steps: str = "") -> Path:
    text = FINEWEB.read_text()
    filter_body = text[text.index("  filter:"): text.index("  dedup:")].split("\n", 1)[1]
    dedup_body = text[text.index("  dedup:"): text.index("  tokenize:")].split("\n", 1)[1]
    indent = lambda body: "\n".join("  " + line if line.strip() else line for line in body.split("\n"))  # noqa: E731
    path = tmp_path / "p.yaml"
    path.write_text(text[: text.index("  filter:")]
                    + "  filter:\n    keep_rejected: true\n    steps:\n" + filter_steps + indent(filter_body)
                    + "  dedup:\n    keep_rejected: true\n    output_format: jsonl.gz\n    steps:\n" + indent(dedup_body)
                    + text[text.index("  tokenize:"):])
    return path


@pytest.fixture(scope="module")
def extracted(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("extracted")
    run_pipeline(load_pipeline(FINEWEB), str(sample[0]), str(out), stages=["extract"], progress=False, executor="local")
    return out


def rejected_rows(stage_dir: Path) -> list[dict]:
    return [dict(zip(b, row)) for f in sorted((stage_dir / "rejected").iterdir()) for b in read_columns(str(f), ["id", "step", "reason"])
            for row in zip(*b.values())]


@pytest.mark.slow
def test_every_dropped_document_is_written_with_its_step_and_reason(extracted, tmp_path):
    out = tmp_path / "run"
    __import__("shutil").copytree(extracted / "extract", out / "extract")
    results = run_pipeline(load_pipeline(pipeline(tmp_path)), None, str(out), stages=["filter", "dedup"], progress=False, executor="local")
    assert all(not r.shards_failed for r in results)
    for stage, suffix in (("filter", ".parquet"), ("dedup", ".jsonl.gz")):
        stats = json.loads((out / stage / "stats.json").read_text())
        rows = rejected_rows(out / stage)
        assert all(f.name.endswith(suffix) for f in (out / stage / "rejected").iterdir())
        assert Counter((r["step"], r["reason"]) for r in rows) == Counter({(s["name"], reason): n for s in stats["steps"] for reason, n in s["dropped"].items()})
        for marker in (json.loads(f.read_text()) for f in (out / stage / "_done").iterdir()):
            assert marker["documents"] + marker["rejected"] == marker["read"], marker["shard"]
    assert verify(str(out)) == ({"extract": 6, "filter": 6, "dedup": 6}, [])
    proc = run_cli("inspect", str(out), "--rejected", "--step", "gopher_quality", "-n", "2", timeout=120)
    assert proc.returncode == 0 and proc.stdout.count("reason: gopher_quality: ") == 2, proc.stderr
    proc = run_cli("inspect", str(out), "--rejected", "--stage", "dedup", "--reason", "near_duplicate", "-n", "1", timeout=120)
    assert proc.returncode == 0 and "reason: minhash_dedup: near_duplicate" in proc.stdout

    # a document taken out of a rejected file is caught: it vanished unaccounted
    victim = sorted((out / "filter" / "rejected").iterdir())[0]
    table = pq.read_table(victim)
    pq.write_table(table.slice(1), victim)
    problems = verify(str(out))[1]
    assert any("vanished unaccounted" in p and victim.stem in p for p in problems), problems


def test_verify_catches_a_step_that_loses_documents_without_counting_them(extracted, tmp_path):
    out = tmp_path / "run"
    __import__("shutil").copytree(extracted / "extract", out / "extract")
    steps = "      - tests.test_rejected:Vanisher: {}\n"
    results = run_pipeline(load_pipeline(pipeline(tmp_path, steps)), None, str(out), stages=["filter"], progress=False, executor="local")
    assert all(not r.shards_failed for r in results)
    problems = verify(str(out))[1]
    assert any("step tests.test_rejected:Vanisher was handed" in p and "dropped 0" in p for p in problems), problems
    assert any("vanished unaccounted" in p for p in problems)


def test_a_rerun_in_another_format_without_rejected_documents_leaves_nothing_stale(extracted, tmp_path):
    out = tmp_path / "run"
    __import__("shutil").copytree(extracted / "extract", out / "extract")
    jsonl = tmp_path / "jsonl.yaml"
    jsonl.write_text("name: t\noutput_format: jsonl.gz\nstages:\n  extract:\n    - warc_reader: {}\n  filter:\n    keep_rejected: true\n    steps:\n      - language: {}\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: t\nstages:\n  extract:\n    - warc_reader: {}\n  filter:\n    - language: {}\n")
    for path in (jsonl, plain):
        results = run_pipeline(load_pipeline(path), None, str(out), stages=["filter"], force=True, progress=False, executor="local")
        assert all(not r.shards_failed for r in results)
    assert {f.suffix for f in (out / "filter" / "shards").iterdir()} == {".parquet"}
    assert not list((out / "filter" / "rejected").iterdir())
    assert verify(str(out))[1] == []
