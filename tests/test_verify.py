"""`curation verify` finds a damaged shard, a wrong row count and a document in two shards."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from curation.verify import verify
from tests.conftest import run_cli


@pytest.fixture
def run_copy(sample_run, tmp_path):
    out, _ = sample_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return copy


@pytest.mark.ray
def test_a_finished_run_verifies_clean(run_copy):
    checked, problems = verify(str(run_copy))
    assert problems == [] and set(checked) == {"extract", "filter", "dedup", "tokenize"} and checked["extract"] == 6


@pytest.mark.ray
def test_a_corrupted_token_shard_is_caught(run_copy):
    shard = sorted((run_copy / "tokenize" / "train").glob("*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    _, problems = verify(str(run_copy))
    assert any("sha256 differs" in p and shard.name in p for p in problems)


@pytest.mark.ray
def test_a_shard_missing_rows_and_a_document_in_two_shards_are_caught(run_copy):
    shards = sorted((run_copy / "filter" / "shards").glob("*.parquet"))
    table = pq.read_table(shards[0])
    pq.write_table(table.slice(1), shards[0])  # one document lost
    twin = run_copy / "filter" / "shards" / "copy.parquet"
    shutil.copy(shards[1], twin)  # its documents now in two shards
    marker = json.loads((run_copy / "filter" / "_done" / f"{shards[1].stem}.json").read_text())
    (run_copy / "filter" / "_done" / "copy.json").write_text(json.dumps({**marker, "shard": "copy"}))
    _, problems = verify(str(run_copy))
    assert any(f"{shards[0].name}: {table.num_rows - 1} rows, its marker says {table.num_rows}" in p for p in problems)
    assert any("is in both" in p and "copy" in p for p in problems)


@pytest.mark.ray
def test_cli_exit_code_names_the_mismatch(run_copy):
    (sorted((run_copy / "dedup" / "shards").glob("*.parquet"))[0]).unlink()
    proc = run_cli("verify", str(run_copy), timeout=120)
    assert proc.returncode == 1 and "MISMATCH dedup/shards/" in proc.stdout and "missing but marked done" in proc.stdout
