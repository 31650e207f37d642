"""A bad file fails its own shard only; the exit code and the summary say so."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from curation.config import load_pipeline
from curation.execution import run_pipeline
from curation.layout import load_run_stats
from curation.summary import format_funnel
from tests.conftest import run_cli

EXTRACT_ONLY = "name: extract-only\nstages:\n  extract:\n    - warc_reader: {}\n    - trafilatura: {}\n"


@pytest.fixture
def mixed_input(tmp_path, real_warcs):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in real_warcs[:2]:
        shutil.copy(p, folder)
    (folder / "not-a-warc.warc.gz").write_bytes(b"<html>this is not a WARC file at all</html>" * 100)
    (folder / "empty.warc").write_bytes(b"")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(EXTRACT_ONLY)
    return folder, pipeline


@pytest.mark.ray
def test_an_unreadable_file_fails_its_shard_and_the_others_finish(mixed_input, tmp_path, ray_session):
    folder, pipeline = mixed_input
    out = tmp_path / "out"
    [result] = run_pipeline(load_pipeline(pipeline), str(folder), str(out), progress=False)
    assert result.shards_total == 4
    assert [f["input"].rsplit("/", 1)[-1] for f in result.shards_failed] == ["not-a-warc.warc.gz"]
    assert "no readable WARC record" in result.shards_failed[0]["error"]
    stats = load_run_stats(str(out))["extract"]
    assert stats.shards == 3 and stats.shards_failed == 1  # the empty file is a finished, empty shard
    assert "FAILED shards (1)" in format_funnel({"extract": stats}) and "not-a-warc.warc.gz" in format_funnel({"extract": stats})


@pytest.mark.ray
@pytest.mark.slow
def test_cli_exit_code_is_1_when_a_shard_failed(mixed_input, tmp_path):
    folder, pipeline = mixed_input
    proc = run_cli("run", str(pipeline), "--input", str(folder), "--output", str(tmp_path / "out"), "--no-progress")
    assert proc.returncode == 1
    assert "1 shard(s) failed" in proc.stderr and "not-a-warc.warc.gz" in proc.stdout


def test_the_command_process_exits_as_python_would_without_its_native_teardown(tmp_path):
    """``curation`` ends with ``os._exit`` (Arrow's I/O threads, still releasing a Python buffer while
    CPython tears down, aborted ``curation verify`` after its answer: 56 of 240 runs under load).
    What a normal exit does for Python code must still happen: non-daemon threads joined, atexit
    handlers run, buffered output flushed, the command's exit code kept."""
    marker = tmp_path / "thread-finished"
    script = f"""
import atexit, sys, threading, time
from pathlib import Path
from curation import cli

def late():
    time.sleep(0.3)
    Path({str(marker)!r}).write_text("joined")

threading.Thread(target=late).start()
atexit.register(lambda: sys.stdout.write("atexit ran\\n"))
sys.stdout.write("x" * 100_000 + "\\n")
cli.entry(sys.argv[1:])
"""
    proc = subprocess.run([sys.executable, "-c", script, "verify", str(tmp_path / "nothing")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error: no finished shard" in proc.stderr
    assert proc.stdout.endswith("x" * 1000 + "\natexit ran\n") and marker.read_text() == "joined"
    usage = subprocess.run([sys.executable, "-c", script, "no-such-command"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    helped = subprocess.run([sys.executable, "-c", script, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "usage: curation" in helped.stdout
