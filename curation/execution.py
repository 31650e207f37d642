"""Run a pipeline's stages on Ray: one task per shard, resumable, with a progress bar.

Ray is embedded (a local instance using all cores) unless an address is given (``--ray-address``
or ``RAY_ADDRESS``). Each stage lists its shards, skips those already marked done, runs the rest
as Ray tasks (at most ``workers`` at once), then merges every finished shard's statistics into
``OUTPUT/<stage>/stats.json``. A shard whose input cannot be read fails alone: its error is
written to ``OUTPUT/<stage>/_failed/<shard>.json`` and the other shards go on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xxhash

from curation.config import PipelineConfig, StageSpec, stage_from_dict
from curation.errors import CurationError, InputError
from curation.io.fs import atomic_write_bytes, filesystem, join, list_files, read_bytes
from curation.io.sources import resolve_inputs
from curation.stage import ShardTask, run_shard
from curation.stats import StageStats

log = logging.getLogger(__name__)

TASK_RETRIES = 3  # Ray re-runs a task whose worker died, at most this many times


def shard_name(url: str) -> str:
    """A stable, readable shard name for an input file: its stem plus a hash of the full path."""
    base = url.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"\.warc(\.gz)?$", "", base, flags=re.I)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80]
    return f"{stem}-{xxhash.xxh64_hexdigest(url)[:8]}"


@dataclass(frozen=True)
class StageContext:
    """What a stage runner needs to know about the run."""

    config: PipelineConfig
    stage: StageSpec
    output: str  # the run's output folder; the stage writes OUTPUT/<stage.name>
    input_dir: str | None  # the previous stage's folder (None for extract)
    workers: int | None
    force: bool
    progress: bool


# Stages that are not one-shard-in, one-shard-out (dedup, tokenize) register a runner here with
# @stage_runner("name"); every other stage runs shard by shard through run_stage.
STAGE_RUNNERS: dict[str, Callable[[StageContext], "StageResult"]] = {}


def stage_runner(name: str):
    def register(fn):
        STAGE_RUNNERS[name] = fn
        return fn

    return register


@dataclass
class StageResult:
    stage: str
    shards_total: int
    shards_skipped: int  # already done before this run
    shards_failed: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    stats: StageStats | None = None


def connect_ray(address: str | None, workers: int | None) -> None:
    """Attach to ``address`` (or RAY_ADDRESS), else start an embedded Ray with ``workers`` CPUs."""
    import ray

    if ray.is_initialized():
        return
    # Without this an embedded ray.init() writes ~/.ray/auth_token, and later clusters turn auth on.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS") or None
    # The driver's environment does not reach tasks on an existing cluster: pass what they need.
    env_vars = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "CURATION_"))}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env_vars}} if env_vars else {}
    if address:
        _check_answers(address)
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, **kwargs)
        else:
            ray.init(
                num_cpus=workers or os.cpu_count(),
                include_dashboard=False,
                logging_level=logging.WARNING,
                object_store_memory=300 * 1024 * 1024,  # shards travel as files, not objects
                **kwargs,
            )
    except Exception as e:
        where = f"the Ray cluster at {address}" if address else "an embedded Ray"
        raise CurationError(f"could not start or reach {where}: {e} (check --ray-address / RAY_ADDRESS)") from None


def _check_answers(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when nothing listens at a Ray address (ray.init retries long)."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms are Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise CurationError(f"no Ray cluster answers at {address} ({e}); start one with `ray start --head` or fix --ray-address / RAY_ADDRESS") from None


def _ray_task():
    import ray

    @ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
    def process_shard(stage_steps: list[dict[str, Any]], task: ShardTask) -> dict[str, Any]:
        stage = stage_from_dict(task.stage, stage_steps)
        try:
            marker = run_shard(stage, task)
            return {"ok": True, "shard": task.shard, "marker": marker}
        except Exception as e:  # a bad file fails its shard only
            error = {"shard": task.shard, "input": task.input, "error": f"{type(e).__name__}: {e}"}
            try:
                atomic_write_bytes(task.failed_url, json.dumps(error).encode())
            except Exception:  # the failure is also returned to the driver
                pass
            return {"ok": False, **error}

    return process_shard


def plan_stage(config: PipelineConfig, stage: StageSpec, inputs: list[str] | None, output: str) -> list[ShardTask]:
    """The shards of ``stage``: one per input file (extract) or per finished shard of the stage before."""
    out_dir = join(output, stage.name)
    if stage.name == "extract":
        assert inputs is not None
        return [ShardTask(stage.name, shard_name(u), u, out_dir) for u in inputs]
    names = config.stage_names
    prev = names[names.index(stage.name) - 1] if names.index(stage.name) > 0 else None
    if prev is None:
        raise CurationError(f"stage {stage.name!r} needs an earlier stage's output, but it is the first stage of {config.path}")
    prev_dir = join(output, prev)
    done = list_files(join(prev_dir, "_done"), ".json")
    if not done:
        raise InputError(f"stage {stage.name!r} reads {prev_dir}, which has no finished shard: run `--stages {prev}` first")
    names_done = [u.rsplit("/", 1)[-1][: -len(".json")] for u in done]
    return [ShardTask(stage.name, n, join(prev_dir, "shards", f"{n}.parquet"), out_dir) for n in names_done]


def _remove_leftovers(fs, stage_path: str) -> None:
    """Delete temporary files a killed run left behind (this driver owns the output folder)."""
    for sub in ("shards", "_done", "_failed"):
        folder = f"{stage_path}/{sub}"
        if fs.exists(folder):
            for p in fs.ls(folder, detail=False):
                if p.rsplit("/", 1)[-1].startswith(".tmp-"):
                    fs.rm(p)


def _done_shards(out_dir: str) -> set[str]:
    return {u.rsplit("/", 1)[-1][: -len(".json")] for u in list_files(join(out_dir, "_done"), ".json")}


def merge_stage_stats(stage: str, out_dir: str) -> StageStats:
    """Fold the statistics of every finished shard (and the errors of failed ones) into one."""
    merged = StageStats(stage)
    done = set()
    for url in list_files(join(out_dir, "_done"), ".json"):
        marker = json.loads(read_bytes(url))
        merged.merge(StageStats.from_dict(marker["stats"]))
        done.add(marker["shard"])
    for url in list_files(join(out_dir, "_failed"), ".json"):
        err = json.loads(read_bytes(url))
        if err["shard"] not in done:
            merged.shards_failed += 1
            merged.errors.append(err)
    atomic_write_bytes(join(out_dir, "stats.json"), merged.to_json().encode())
    return merged


def run_stage(
    config: PipelineConfig,
    stage: StageSpec,
    output: str,
    inputs: list[str] | None,
    workers: int | None,
    force: bool,
    progress: bool,
) -> StageResult:
    import ray
    from tqdm import tqdm

    tasks = plan_stage(config, stage, inputs, output)
    out_dir = join(output, stage.name)
    fs, path = filesystem(out_dir)
    for sub in ("_done", "_attempts") if force else ():
        if fs.exists(join(path, sub)):
            fs.rm(join(path, sub), recursive=True)
    _remove_leftovers(fs, path)
    done = _done_shards(out_dir)
    todo = [t for t in tasks if t.shard not in done]
    fingerprint = stage.fingerprint()
    stale = [
        t.shard for t in tasks if t.shard in done and json.loads(read_bytes(t.done_url)).get("fingerprint") != fingerprint
    ]
    if stale:
        log.warning("%d %s shard(s) were finished with other settings; rerun with --force to redo them", len(stale), stage.name)
    for t in todo:  # a failure from an earlier run is retried now
        if fs.exists(filesystem(t.failed_url)[1]):
            fs.rm(filesystem(t.failed_url)[1])
    result = StageResult(stage.name, len(tasks), len(tasks) - len(todo))
    started = time.perf_counter()
    process_shard = _ray_task()
    steps = stage.to_dict()
    limit = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
    bar = tqdm(total=len(tasks), initial=result.shards_skipped, desc=f"{stage.name:>8}", unit="file", disable=not progress, dynamic_ncols=True)
    docs_seen = 0
    pending: dict[Any, ShardTask] = {}
    queue = list(todo)
    while queue or pending:
        while queue and len(pending) < limit:
            t = queue.pop(0)
            pending[process_shard.remote(steps, t)] = t
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            task = pending.pop(ref)
            try:
                res = ray.get(ref)
            except Exception as e:  # the worker died more often than Ray retries
                res = {"ok": False, "shard": task.shard, "input": task.input, "error": f"{type(e).__name__}: {e}"}
                atomic_write_bytes(task.failed_url, json.dumps({k: v for k, v in res.items() if k != "ok"}).encode())
            if res["ok"]:
                first = res["marker"]["stats"]["steps"][0]
                docs_seen += first["docs_out"] if stage.name == "extract" else first["docs_in"]
            else:
                result.shards_failed.append(res)
                bar.write(f"failed: {res['input']}: {res['error']}")
            bar.update(1)
            elapsed = time.perf_counter() - started
            bar.set_postfix_str(f"{docs_seen / max(elapsed, 1e-9):,.0f} docs/s")
    bar.close()
    _remove_leftovers(fs, path)  # what a worker killed mid-write left (Ray retried its shard)
    result.wall_seconds = time.perf_counter() - started
    result.stats = merge_stage_stats(stage.name, out_dir)
    return result


def run_pipeline(
    config: PipelineConfig,
    input_spec: str | None,
    output: str,
    stages: list[str] | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    force: bool = False,
    limit: int | None = None,
    progress: bool = True,
) -> list[StageResult]:
    """Run the chosen stages (default: all of the pipeline's) in order."""
    chosen = stages or config.stage_names
    for s in chosen:
        config.stage(s)  # raises a clear error for a stage the pipeline lacks
    chosen = [s for s in config.stage_names if s in chosen]
    for name in chosen:  # a missing model file is one clear line now, not a failure in every shard
        for spec in config.stage(name).steps:
            spec.build().preflight()
    inputs = None
    if "extract" in chosen:
        if not input_spec:
            raise InputError("the extract stage needs --input (WARC files, a folder, a glob, s3://, https:// or a crawl id)")
        inputs = resolve_inputs(input_spec, limit)
    connect_ray(ray_address, workers)
    fs, path = filesystem(output)
    try:
        fs.makedirs(path, exist_ok=True)
        atomic_write_bytes(
            join(output, "run.json"),
            json.dumps(
                {"pipeline": config.name, "pipeline_file": config.path, "input": input_spec, "stages": chosen,
                 "config": {s.name: s.to_dict() for s in config.stages}},
                indent=1,
            ).encode(),
        )
    except OSError as e:
        raise CurationError(f"cannot write to output {output}: {e}") from None
    from curation.step import load_all_steps

    load_all_steps()  # imports the modules that register stage runners
    results = []
    for name in chosen:
        if name in STAGE_RUNNERS:
            idx = config.stage_names.index(name)
            prev = join(output, config.stage_names[idx - 1]) if idx > 0 else None
            ctx = StageContext(config, config.stage(name), output, prev, workers, force, progress)
            results.append(STAGE_RUNNERS[name](ctx))
        else:
            results.append(run_stage(config, config.stage(name), output, inputs, workers, force, progress))
    return results
