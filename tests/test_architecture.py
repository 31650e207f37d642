"""The shape of the code: every module loads alone, the base knows no concrete step, the registry and
the pipeline file agree on step kinds, both executors give the same shards, the trainer runs on a GPU
image's packages, and a damaged marker is one line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curation.config import load_pipeline
from curation.errors import ConfigError
from curation.registry import STAGES, STEPS, step_class
from curation.step import DocumentStep, ReaderStep, StageStep
from tests.conftest import ROOT, run_cli

CONCRETE_STEP_MODULES = sorted({target.partition(":")[0] for target in STEPS.values()})


def _modules() -> list[str]:
    found = []
    for package in ("curation", "filters", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_module_imports_alone():
    """Each module imports in a fresh interpreter state of our code (third-party packages may stay
    loaded): no module needs another to be imported first, so no import cycle holds the code up."""
    code = (
        "import importlib, sys, traceback\n"
        "bad = []\n"
        f"for name in {_modules()!r}:\n"
        "    for m in [m for m in sys.modules if m.split('.')[0] in ('curation', 'filters', 'bench')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        bad.append(name + ': ' + traceback.format_exc(limit=3))\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_the_base_step_module_imports_no_concrete_step():
    code = (
        "import sys, curation.step, curation.registry, curation.config\n"
        f"print([m for m in {CONCRETE_STEP_MODULES!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"  # not even the registry or the pipeline-file parser pulls them in


def test_every_registered_step_has_a_kind_its_stages_accept():
    kinds = {"reader": ReaderStep, "document": DocumentStep, "stage": StageStep}
    for name in STEPS:
        cls = step_class(name)
        assert cls.name == name, name
        assert issubclass(cls, kinds[cls.kind]), name
        if cls.kind == "stage":
            assert STAGES[cls.stage].runner and "stage" in STAGES[cls.stage].accepts, name
        else:
            assert any(cls.kind in s.accepts for s in STAGES.values() if s.per_shard), name
        for score in cls.scores:
            assert score.low < score.high and score.bins > 0, (name, score.name)
            for th in score.thresholds:  # a threshold names one of the step's settings
                assert th.setting.split("[")[0] in cls.Params.model_fields, (name, th.setting)


def _pipeline(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("name: t\nstages:\n" + body)
    return path


@pytest.mark.parametrize(
    "body, words",
    [
        ("  filter:\n    - language: {}\n    - minhash_dedup: {}\n", ("minhash_dedup", "dedup")),
        ("  dedup:\n    - language: {}\n", ("language", "exact_dedup", "minhash_dedup")),
        ("  filter:\n    - language: {}\n    - warc_reader: {}\n", ("warc_reader", "first step")),
        ("  tokenize:\n    - exact_dedup: {}\n", ("exact_dedup", "dedup")),
        ("  extract:\n    - trafilatura: {}\n", ("extract", "reader")),
        ("  dedup:\n    - exact_dedup: {}\n    - exact_dedup: {}\n", ("exact_dedup", "twice")),
    ],
)
def test_a_step_in_the_wrong_place_is_refused_when_the_file_loads(tmp_path, body, words):
    with pytest.raises(ConfigError) as e:
        load_pipeline(_pipeline(tmp_path, body))
    message = str(e.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_the_cli_refuses_a_misplaced_step_in_one_line_before_any_work(tmp_path):
    pipeline = _pipeline(tmp_path, "  filter:\n    - language: {}\n    - minhash_dedup: {}\n")
    out = tmp_path / "out"
    proc = run_cli("run", str(pipeline), "--input", str(tmp_path), "--output", str(out), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "move it under `dedup:`" in proc.stderr, proc.stderr
    assert not out.exists()  # nothing started: no output, no Ray


def test_a_step_of_ones_own_code_is_named_module_colon_class(tmp_path):
    config = load_pipeline(_pipeline(tmp_path, "  filter:\n    - filters.pii:PIIFormatter: {}\n"))
    assert type(config.stage("filter").build_steps()[0]).__name__ == "PIIFormatter"
    with pytest.raises(ConfigError, match="not a pipeline step"):
        load_pipeline(_pipeline(tmp_path, "  filter:\n    - curation.errors:CurationError: {}\n"))


def test_a_marker_missing_a_field_is_one_line_naming_file_and_field(tmp_path):
    done = tmp_path / "out" / "filter" / "_done"
    done.mkdir(parents=True)
    (done / "shard-1.json").write_text(json.dumps({"shard": "shard-1", "input": "x"}))
    proc = run_cli("stats", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "shard-1.json" in proc.stderr and "'stats'" in proc.stderr


def test_embedded_ray_starts_without_its_api_server_and_monitor_only_meanwhile():
    """The API server and the autoscaler monitor are skipped while an embedded Ray starts
    (``_without_unused_head_processes``); Ray's own methods are back afterwards, even when the start fails."""
    from ray._private.node import Node

    from curation import executor

    originals = {name: getattr(Node, name) for name in executor.UNUSED_HEAD_PROCESSES}
    with executor._without_unused_head_processes():
        assert Node.start_api_server(object(), include_dashboard=False, raise_on_failure=False) is None
        assert Node.start_monitor(object()) is None
        assert all(getattr(Node, name) is not method for name, method in originals.items())
    assert all(getattr(Node, name) is method for name, method in originals.items())
    with pytest.raises(RuntimeError), executor._without_unused_head_processes():
        raise RuntimeError("ray.init failed")
    assert all(getattr(Node, name) is method for name, method in originals.items())


@pytest.mark.ray
def test_embedded_ray_runs_no_api_server_and_no_monitor(ray_session):
    """The test session's Ray starts as ``curation run`` starts its own: it has neither process."""
    from ray._private import ray_constants
    from ray._private import worker as ray_worker

    processes = ray_worker._global_node.all_processes
    assert ray_constants.PROCESS_TYPE_RAYLET in processes
    assert not processes.get(ray_constants.PROCESS_TYPE_MONITOR) and not processes.get(ray_constants.PROCESS_TYPE_DASHBOARD)
    assert not processes.get(ray_constants.PROCESS_TYPE_LOG_MONITOR)


@pytest.mark.ray
def test_embedded_ray_runs_with_prompt_socket_connects(ray_session):
    """The cluster's system config (what the GCS hands every raylet and worker) polls sockets every
    50 ms, for as long in all as Ray's defaults wait."""
    from ray._private.state import state

    from curation import executor

    config = state.get_system_config()
    config = json.loads(config) if isinstance(config, str) else config
    # Ray adds this session's spilling folder to the dict it is given: a next start must not inherit it
    assert set(executor.PROMPT_CONNECT) == {"raylet_client_connect_timeout_milliseconds", "raylet_client_num_connect_attempts"}
    assert {k: config.get(k) for k in executor.PROMPT_CONNECT} == executor.PROMPT_CONNECT
    retry_ms = executor.PROMPT_CONNECT["raylet_client_connect_timeout_milliseconds"]
    assert retry_ms * executor.PROMPT_CONNECT["raylet_client_num_connect_attempts"] >= 10_000
    assert retry_ms * 300 >= 10_000  # the object manager's connect to the store makes 300 attempts whatever the setting


def _log_bad_records(count: int) -> int:
    for k in range(count):
        logging.getLogger("curation.io.reader").warning("%s: byte %d: corrupt_gzip_member", "crawl.warc.gz", 100 * k)
    logging.getLogger("curation.io.reader").info("not a warning: stays on the worker")
    return count


def _logged(caplog, name: str = "curation.io.reader") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno >= logging.WARNING]


def test_what_a_task_logs_is_logged_once_on_the_driver_with_the_local_executor(caplog, tmp_path):
    from curation.executor import LocalExecutor
    from curation.tasks import MAX_WARNINGS_PER_TASK, Task, run_tasks

    caplog.set_level(logging.INFO)
    handlers = list(logging.getLogger().handlers)
    failures = run_tasks(LocalExecutor(), [Task("shard-a", _log_bad_records, (2,))], desc="test", progress=False)
    assert failures == []
    assert _logged(caplog) == ["crawl.warc.gz: byte 0: corrupt_gzip_member", "crawl.warc.gz: byte 100: corrupt_gzip_member"]
    assert not any("not a warning" in r.getMessage() for r in caplog.records)
    caplog.clear()
    run_tasks(LocalExecutor(), [Task("shard-b", _log_bad_records, (MAX_WARNINGS_PER_TASK + 7,))], desc="test", progress=False)
    assert len(_logged(caplog)) == MAX_WARNINGS_PER_TASK
    assert _logged(caplog, "curation.tasks") == ["shard-b: 7 more warning(s) not shown"]
    assert logging.getLogger().handlers == handlers  # the root's handlers are back after each task


@pytest.mark.ray
def test_what_a_task_logs_on_a_ray_worker_reaches_the_driver(ray_session, caplog):
    """An embedded Ray has no log monitor: a bad record's one-line warning comes back with the task's
    result, failed or not, and is logged on the driver under the worker's logger."""
    from curation.executor import RayExecutor
    from curation.tasks import Task, run_tasks

    def warns() -> None:  # defined here: Ray sends it by value (the test module is not importable there)
        logging.getLogger("curation.io.reader").warning("crawl.warc.gz: byte 0: corrupt_gzip_member")
        logging.getLogger("curation.io.reader").info("not a warning: stays on the worker")

    def fails_after_a_warning() -> None:
        logging.getLogger("curation.io.reader").warning("crawl.warc.gz: byte 7: truncated_record")
        raise ValueError("unreadable")

    caplog.set_level(logging.WARNING)
    failures = run_tasks(RayExecutor(None, 2), [Task("ok", warns), Task("bad", fails_after_a_warning)],
                         desc="test", progress=False)
    assert [f["shard"] for f in failures] == ["bad"]
    assert sorted(_logged(caplog)) == ["crawl.warc.gz: byte 0: corrupt_gzip_member", "crawl.warc.gz: byte 7: truncated_record"]


@pytest.mark.ray
def test_embedded_ray_waits_for_its_node_by_reading_the_node_table(ray_session):
    """While an embedded Ray starts, ``get_node`` reads the node table until the node is there, then
    answers as Ray's own call does; Ray's function is back afterwards, even when the start fails."""
    import ray
    import ray._private.services as services

    from curation import executor

    gcs, node = ray.get_runtime_context().gcs_address, ray.get_runtime_context().get_node_id()
    original = services.get_node
    with executor._prompt_node_wait():
        assert services.get_node is not original
        assert services.get_node(gcs, node) == original(gcs, node)
    assert services.get_node is original
    with pytest.raises(RuntimeError), executor._prompt_node_wait():
        raise RuntimeError("ray.init failed")
    assert services.get_node is original


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_executors_write_identical_shards(sample, sample_run, tmp_path):
    """The same task code in this process (``--executor local``) and on Ray: byte-identical output."""
    from curation.execution import run_pipeline

    folder, _ = sample
    ray_out, _ = sample_run
    local_out = tmp_path / "local"
    results = run_pipeline(load_pipeline(ROOT / "pipelines" / "fineweb.yaml"), str(folder), str(local_out), progress=False, executor="local")
    assert all(not r.shards_failed for r in results)
    files = sorted(p.relative_to(ray_out) for p in ray_out.rglob("*.parquet") if "_work" not in p.parts)
    assert files and files == sorted(p.relative_to(local_out) for p in local_out.rglob("*.parquet") if "_work" not in p.parts)
    for rel in files:
        assert (ray_out / rel).read_bytes() == (local_out / rel).read_bytes(), rel
    assert (ray_out / "tokenize" / "manifest.json").read_bytes() == (local_out / "tokenize" / "manifest.json").read_bytes()


BLOCK_PIPELINE_PACKAGES = (
    "import runpy, sys\n"
    "for m in ('pydantic', 'ray', 'yaml', 'xxhash', 'datatrove', 'trafilatura', 'fasttext', 'spacy'):\n"
    "    sys.modules[m] = None  # importing any of these now raises ImportError\n"
    "sys.argv = [{module!r}] + {argv!r}\n"
    "runpy.run_module({module!r}, run_name='__main__')\n"
)


def _run_blocked(module: str, *argv: str) -> subprocess.CompletedProcess:
    code = BLOCK_PIPELINE_PACKAGES.format(module=module, argv=list(argv))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_training_and_sampling_run_without_the_pipeline_packages(sample, tmp_path):
    """A GPU image has torch, numpy, pyarrow and fsspec (and ``tokenizers`` to sample): train and
    sample there, with pydantic, Ray and PyYAML unavailable."""
    pytest.importorskip("torch", reason="the trainer needs torch (make install-trainer)")
    from curation.execution import run_pipeline

    folder, _ = sample
    text = (ROOT / "pipelines" / "fineweb.yaml").read_text()
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(text[: text.index("  tokenize:")] + "  tokenize:\n    - tokenize: {seq_len: 32, val_fraction: 0.1}\n")
    results = run_pipeline(load_pipeline(pipeline), str(folder), str(tmp_path / "run"), progress=False, executor="local")
    assert all(not r.shards_failed for r in results)
    ckpt = tmp_path / "ckpt"
    proc = _run_blocked("curation.trainer.train", "--data", str(tmp_path / "run" / "tokenize"), "--out", str(ckpt), "--model", "tiny",
                        "--steps", "3", "--batch-size", "4", "--device", "cpu", "--eval-interval", "0", "--log-interval", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = _run_blocked("curation.trainer.sample", str(ckpt), "--prompt", "The city", "--max-new-tokens", "5", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("The city")


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_pipeline_loads(path):
    config = load_pipeline(path)
    assert config.stage_names and all(spec.build() for stage in config.stages for spec in stage.steps)


@pytest.mark.slow
def test_a_pipeline_may_deduplicate_before_it_filters(sample, tmp_path):
    """extract, dedup, filter (FineWeb-2's order): the filter stage reads the dedup stage's shards, every
    report lists the stages in the run's order, and running filter without dedup's output is one clear error."""
    from curation.errors import InputError
    from curation.execution import run_pipeline
    from curation.io.shards import read_documents
    from curation.layout import load_run_stats
    from curation.verify import verify

    folder, _ = sample
    path = tmp_path / "dedup-first.yaml"
    path.write_text("stages:\n  extract:\n    - warc_reader: {}\n    - trafilatura: {}\n  dedup:\n    - exact_dedup: {on: [text]}\n"
                    "  filter:\n    - language: {languages: [en]}\n    - gopher_quality: {}\n")
    config = load_pipeline(path)
    out = tmp_path / "out"
    results = run_pipeline(config, str(folder), str(out), progress=False, executor="local")
    assert [r.stage for r in results] == ["extract", "dedup", "filter"] and not any(r.shards_failed for r in results)

    def count(stage: str) -> int:
        return sum(1 for f in (out / stage / "shards").glob("*.parquet") for _ in read_documents(str(f)))

    stats = load_run_stats(str(out))
    assert list(stats) == ["extract", "dedup", "filter"]
    assert count("dedup") < count("extract")  # the sample plants exact duplicates
    assert stats["filter"].steps[0].docs_in == count("dedup")
    assert verify(str(out))[1] == []

    with pytest.raises(InputError, match="reads the shards of stage 'dedup'.*add dedup to --stages"):
        run_pipeline(config, str(folder), str(tmp_path / "other"), stages=["extract", "filter"], progress=False, executor="local")
    assert not (tmp_path / "other").exists()  # found before any work
