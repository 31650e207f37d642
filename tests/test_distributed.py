"""s3:// input and output against a local S3 server, and a run on an externally started Ray cluster."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import free_port, run_cli
from tests.test_pipeline import FINEWEB

FILES = 2  # sample files each test runs on


@pytest.fixture(scope="module")
def s3_env():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    yield env
    server.stop()


def s3fs_for(env: dict):
    import s3fs

    return s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"], endpoint_url=env["AWS_ENDPOINT_URL"])


def kept_ids_by_file(rows: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(source.rsplit("/", 1)[-1], doc_id) for source, doc_id in rows}


def reference_kept(sample_run, names: list[str]) -> set[tuple[str, str]]:
    out, _ = sample_run
    rows = []
    for f in sorted((out / "filter" / "shards").glob("*.parquet")):
        t = pq.read_table(f, columns=["source", "id"])
        rows += list(zip(t.column("source").to_pylist(), t.column("id").to_pylist()))
    return {r for r in kept_ids_by_file(rows) if r[0] in names}


def s3_kept(fs, prefix: str) -> set[tuple[str, str]]:
    fs.invalidate_cache()
    rows = []
    for key in sorted(fs.glob(f"{prefix}/filter/shards/*.parquet")):
        with fs.open(key, "rb") as f:
            t = pq.read_table(f, columns=["source", "id"])
        rows += list(zip(t.column("source").to_pylist(), t.column("id").to_pylist()))
    return kept_ids_by_file(rows)


@pytest.mark.ray
@pytest.mark.slow
def test_s3_input_and_output(s3_env, sample, sample_run):
    folder, manifest = sample
    names = manifest["files"][:FILES]
    fs = s3fs_for(s3_env)
    fs.mkdir("curation-in")
    fs.mkdir("curation-out")
    for name in names:
        fs.put(str(folder / name), f"curation-in/crawl/{name}")
    proc = run_cli("run", str(FINEWEB), "--input", "s3://curation-in/crawl/", "--output", "s3://curation-out/run", "--no-progress", env=s3_env)
    assert proc.returncode == 0, proc.stderr
    assert s3_kept(fs, "curation-out/run") == reference_kept(sample_run, names)
    stats = run_cli("stats", "s3://curation-out/run", env=s3_env)
    assert stats.returncode == 0 and "url_filter" in stats.stdout


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A Ray head started with `ray start` on loopback, stopped by its own process ids."""
    ray_bin = shutil.which("ray", path=str(Path(os.sys.executable).parent))
    temp_dir = tmp_path_factory.mktemp("ray")
    port = free_port()
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "AUTOSCALER_METRIC_PORT": str(free_port()),
        "DASHBOARD_METRIC_PORT": str(free_port()),
    }
    subprocess.run(
        [ray_bin, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp_dir}", "--dashboard-agent-listen-port=0",
         "--object-store-memory=200000000"],
        check=True, env=env, capture_output=True, timeout=120,
    )
    yield f"127.0.0.1:{port}", temp_dir
    pids = subprocess.run(["pgrep", "-f", str(temp_dir)], capture_output=True, text=True).stdout.split()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass
        time.sleep(2)


@pytest.mark.ray
@pytest.mark.slow
def test_run_on_an_external_ray_cluster_writing_to_s3(ray_cluster, s3_env, sample, sample_run):
    address, temp_dir = ray_cluster
    folder, manifest = sample
    names = manifest["files"][:FILES]
    fs = s3fs_for(s3_env)
    fs.mkdir("curation-ext")
    inputs = [str(folder / n) for n in names]
    local_input = Path(temp_dir) / "in"
    local_input.mkdir()
    for p in inputs:
        shutil.copy(p, local_input)
    proc = run_cli("run", str(FINEWEB), "--input", str(local_input), "--output", "s3://curation-ext/run", "--ray-address", address, "--no-progress", env=s3_env)
    assert proc.returncode == 0, proc.stderr
    assert s3_kept(fs, "curation-ext/run") == reference_kept(sample_run, names)
    # the tasks ran in the cluster's workers, whose logs live under the cluster's temp dir
    assert list(Path(temp_dir).glob("session_*/logs/worker-*"))
