"""Shared fixtures: the real-data folder (one setting), the bundled sample, one Ray per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("CURATION_BACKOFF_BASE", "0.01")  # retries in tests need not wait


FAST = os.environ.get("CURATION_TEST_FAST") == "1"  # `make test-fast`: no Ray, no real data


def shared_data_dir() -> Path:
    """The real data beside the project: ``CURATION_SHARED_DATA``, default ``../shared/data``
    (none under ``make test-fast``, so the tests that read it skip)."""
    if FAST:
        return Path("/nonexistent/test-fast-reads-no-real-data")
    return Path(os.environ.get("CURATION_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "warc").is_dir():
        pytest.skip(f"real data not found at {path} (set CURATION_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def real_warcs(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "warc").glob("*.warc.gz"))


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    """The bundled sample, generated once per session: (folder, manifest)."""
    from curation.sample import generate_sample

    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out, seed=0)


@pytest.fixture(scope="session")
def ray_session():
    """One embedded Ray for the whole session (it takes seconds to start and ~1 GB)."""
    if FAST:
        pytest.skip("make test-fast runs no Ray")
    import ray

    from curation.executor import connect_ray

    connect_ray(None, 2)  # as `curation run` starts its embedded Ray
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def sample_run(sample, ray_session, tmp_path_factory):
    """The FineWeb pipeline on the sample through the session's Ray, run once: (output, manifest)."""
    folder, manifest = sample
    out = tmp_path_factory.mktemp("sample_run")
    from curation.config import load_pipeline
    from curation.execution import run_pipeline

    results = run_pipeline(load_pipeline(ROOT / "pipelines" / "fineweb.yaml"), str(folder), str(out), progress=False)
    assert all(not r.shards_failed for r in results)
    return out, manifest


# Short rows and small row groups: many row groups to shard and shuffle, cheap steps on 2 cores.
TRAINER_TOKENIZE = "{seq_len: 32, val_fraction: 0.1, seed: 0, shard_sequences: 1024, row_group_sequences: 16}"


@pytest.fixture(scope="session")
def trainer_tokens(sample, ray_session, tmp_path_factory) -> Path:
    """The FineWeb pipeline on the bundled sample, tokenized into 33-token rows: OUTPUT/tokenize
    (the trainer's and eval-model's tests)."""
    from curation.config import load_pipeline
    from curation.execution import run_pipeline

    folder, _ = sample
    out = tmp_path_factory.mktemp("trainer_data")
    text = (ROOT / "pipelines" / "fineweb.yaml").read_text()
    pipeline = out / "pipeline.yaml"
    pipeline.write_text(text[: text.index("  tokenize:")] + f"  tokenize:\n    - tokenize: {TRAINER_TOKENIZE}\n")
    results = run_pipeline(load_pipeline(pipeline), str(folder), str(out / "run"), progress=False)
    assert all(not r.shards_failed for r in results)
    return out / "run" / "tokenize"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``curation`` command in a fresh process (its own embedded Ray unless told otherwise)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT
    )
