"""Large files in runs of few files are split into parts; extract and filter run shard by shard.

A split must not change what comes out: the parts of a file together read every record once, the
documents and statistics are those of the whole file, and the split is written down so that a
resumed run (another number of workers, more input files) finds the same shards.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.execution import run_pipeline
from curation.layout import StageLayout
from curation.sharding import MIN_PART_BYTES, input_plan
from curation.stats import StepStats
from tests.conftest import ROOT

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"


@pytest.fixture(scope="module")
def one_file_sample(tmp_path_factory) -> tuple[Path, dict]:
    """The bundled sample written as a single WARC file (~1.4 MB: several parts), and its manifest."""
    from curation.sample import generate_sample

    folder = tmp_path_factory.mktemp("one_file")
    manifest = generate_sample(folder, seed=0, files=1)
    return next(folder.glob("*.warc.gz")), manifest


@pytest.fixture(scope="module")
def one_file(one_file_sample) -> Path:
    return one_file_sample[0]


def ids(folder: Path) -> list[str]:
    return [i for f in sorted(folder.glob("shards/*.parquet")) for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


def test_parts_read_every_record_once(one_file):
    whole_stats = StepStats("warc_reader")
    reader = load_pipeline(FINEWEB).stage("extract").steps[0].build()
    whole = [d.id for d in reader.read_stream(io.BytesIO(one_file.read_bytes()), str(one_file), whole_stats)]
    for parts in (2, 3, 7):
        got, docs_in, dropped = [], 0, {}
        for part in range(parts):
            st = StepStats("warc_reader")
            got += [d.id for d in reader.read_stream(io.BytesIO(one_file.read_bytes()), str(one_file), st, part, parts)]
            docs_in += st.docs_in
            for reason, n in st.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + n
        assert sorted(got) == sorted(whole) and len(set(got)) == len(got)
        assert docs_in == whole_stats.docs_in and dropped == dict(whole_stats.dropped)
    # responses are dealt out in turn (not records: request, response and metadata records come in
    # cycles), so the parts hold about as many documents each
    sizes = [sum(1 for _ in reader.read_stream(io.BytesIO(one_file.read_bytes()), str(one_file), StepStats("r"), p, 3)) for p in range(3)]
    assert min(sizes) >= 0.8 * max(sizes), sizes


def test_the_plan_splits_only_large_files_and_is_kept(tmp_path, one_file):
    small = tmp_path / "small.warc.gz"
    small.write_bytes(b"x" * 1000)
    out = tmp_path / "extract"
    tasks = input_plan([str(one_file), str(small)], StageLayout(str(tmp_path), "extract"), splittable=True)
    parts = [t for t in tasks if t.input == str(one_file)]
    assert len(parts) == -(-one_file.stat().st_size // MIN_PART_BYTES) and len(parts) > 1
    assert [t.part for t in parts] == list(range(len(parts))) and {t.parts for t in parts} == {len(parts)}
    assert [t for t in tasks if t.input == str(small)][0].parts == 1
    assert json.loads((out / "_plan.json").read_text())[str(one_file)] == len(parts)
    # a later run with more input files keeps the first file's shards as they were
    more = [tmp_path / f"more{i}.warc.gz" for i in range(3)]
    for m in more:
        m.write_bytes(b"x" * (4 << 20))
    again = input_plan([str(one_file), str(small)] + [str(m) for m in more], StageLayout(str(tmp_path), "extract"), splittable=True)
    assert [t.shard for t in again if t.input == str(one_file)] == [t.shard for t in parts]


@pytest.mark.ray
def test_a_split_file_gives_the_documents_of_the_whole_file(tmp_path, one_file_sample, ray_session):
    one_file, manifest = one_file_sample
    out = tmp_path / "run"
    results = run_pipeline(load_pipeline(FINEWEB), str(one_file.parent), str(out), stages=["extract", "filter"], progress=False)
    assert all(not r.shards_failed for r in results)
    assert results[0].shards_total > 1 and results[1].shards_total == results[0].shards_total  # split, shard by shard
    reader = load_pipeline(FINEWEB).stage("extract").steps[0].build()
    whole = StepStats("warc_reader")
    read = [d.id for d in reader.read_stream(io.BytesIO(one_file.read_bytes()), str(one_file), whole)]
    extracted = ids(out / "extract")
    assert len(extracted) == len(set(extracted)) and set(extracted) <= set(read)
    stats = json.loads((out / "extract" / "stats.json").read_text())["steps"][0]
    assert (stats["docs_in"], stats["docs_out"]) == (whole.docs_in, len(read))  # every record counted once
    kept = {r["id"] for r in manifest["records"] if r["expected"] == "kept"}
    assert set(ids(out / "filter")) == kept
