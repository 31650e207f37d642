"""Run a pipeline's stages on Ray: one task per shard, resumable, with a progress bar.

Ray is embedded (a local instance using all cores) unless an address is given (``--ray-address``
or ``RAY_ADDRESS``). Each stage lists its shards (extract: one per input file, or per part of a
large file; later stages: one per shard of the stage before), skips those already marked done,
runs the rest as Ray tasks (at most ``workers`` at once), then merges every finished shard's
statistics into ``OUTPUT/<stage>/stats.json``. Consecutive per-shard stages (extract, filter) run
in the same task one after the other, so a shard never waits for the rest of its stage. A shard
whose input cannot be read fails alone: its error is written to
``OUTPUT/<stage>/_failed/<shard>.json`` and the other shards go on. Dedup and tokenize, which
look at every shard at once, register their own runners (``@stage_runner``).
"""

from __future__ import annotations

import json
import logging
import math
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
from curation.io.fs import atomic_write_bytes, exists, filesystem, join, list_files, read_bytes
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
# @stage_runner("name"); every other stage runs shard by shard through run_shard_stages.
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
    after: str | None = None  # the stage this one ran with, shard by shard (its wall time starts when that one ended)


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
    def process_shard(chain: list[tuple[ShardTask, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        """One shard through consecutive per-shard stages (extract, then filter ...): the next stage
        starts on this shard at once instead of waiting for every shard of the stage before. A stage
        already marked done (by an earlier attempt of this task) is not redone; a failure ends the chain."""
        results = []
        for task, stage_steps in chain:
            if exists(task.done_url):
                results.append({"ok": True, "shard": task.shard, "stage": task.stage, "marker": json.loads(read_bytes(task.done_url))})
                continue
            stage = stage_from_dict(task.stage, stage_steps)
            try:
                results.append({"ok": True, "shard": task.shard, "stage": task.stage, "marker": run_shard(stage, task)})
            except Exception as e:  # a bad file fails its shard only
                error = {"shard": task.shard, "input": task.input, "error": f"{type(e).__name__}: {e}"}
                try:
                    atomic_write_bytes(task.failed_url, json.dumps(error).encode())
                except Exception:  # the failure is also returned to the driver
                    pass
                results.append({"ok": False, "stage": task.stage, **error})
                break
        return results

    return process_shard


# In a run of few files, a file much larger than the others would leave one worker busy long after
# the rest are idle. Such a file is split into parts, each a task that reads the records whose index
# is its part modulo parts (each part decompresses the whole file, a small cost next to extraction).
# The split depends on the input files only, never on the number of workers, and is written down on
# first use (OUTPUT/extract/_plan.json): a resumed run finds the same shards even if its input set
# grew, so no record is ever processed under two shard names.
SPLIT_FEWER_FILES_THAN = 16  # runs with this many files or more are balanced by their files alone
SPLIT_INTO = 16  # aim: the run's bytes in about this many tasks
MIN_PART_BYTES = 256 << 10  # 256 KiB of compressed WARC: some tens of pages, a second or more of work
MAX_PARTS = 16


def extract_plan(inputs: list[str], out_dir: str) -> list[ShardTask]:
    """The extract shards: one per input file, or several per large file in runs of few files."""
    plan_url = join(out_dir, "_plan.json")
    planned: dict[str, int] = json.loads(read_bytes(plan_url)) if exists(plan_url) else {}
    new = [u for u in inputs if u not in planned]
    if new:
        parts = dict.fromkeys(new, 1)
        if len(inputs) < SPLIT_FEWER_FILES_THAN:
            sizes = {u: _size(u) for u in inputs}
            part_bytes = max(sum(sizes.values()) / SPLIT_INTO, MIN_PART_BYTES)
            parts = {u: min(MAX_PARTS, max(1, math.ceil(sizes[u] / part_bytes))) for u in new}
        planned.update(parts)
        atomic_write_bytes(plan_url, json.dumps(planned, indent=1).encode())
    tasks = []
    for u in inputs:
        n, name = planned[u], shard_name(u)
        tasks += [ShardTask("extract", name if n == 1 else f"{name}.part{i:02d}of{n:02d}", u, out_dir, i, n) for i in range(n)]
    return tasks


def _size(url: str) -> int:
    try:
        fs, path = filesystem(url)
        return int(fs.size(path) or 0)
    except Exception:  # a size we cannot learn cheaply (some HTTP servers): do not split that file
        return 0


def plan_stage(config: PipelineConfig, stage: StageSpec, inputs: list[str] | None, output: str) -> list[ShardTask]:
    """The shards of ``stage``: one per input file or part of one (extract), or one per finished shard
    of the stage before."""
    out_dir = join(output, stage.name)
    if stage.name == "extract":
        assert inputs is not None
        return extract_plan(inputs, out_dir)
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


def _prepare_stage(stage: StageSpec, tasks: list[ShardTask], out_dir: str, force: bool) -> set[str]:
    """Clear what ``--force`` and a killed run left; returns the shards already done."""
    fs, path = filesystem(out_dir)
    for sub in ("_done", "_attempts") if force else ():
        if fs.exists(join(path, sub)):
            fs.rm(join(path, sub), recursive=True)
    _remove_leftovers(fs, path)
    done = _done_shards(out_dir)
    fingerprint = stage.fingerprint()
    stale = [t.shard for t in tasks if t.shard in done and json.loads(read_bytes(t.done_url)).get("fingerprint") != fingerprint]
    if stale:
        log.warning("%d %s shard(s) were finished with other settings; rerun with --force to redo them", len(stale), stage.name)
    for t in tasks:  # a failure from an earlier run is retried now
        if t.shard not in done and fs.exists(filesystem(t.failed_url)[1]):
            fs.rm(filesystem(t.failed_url)[1])
    return done


def run_shard_stages(
    config: PipelineConfig,
    stages: list[StageSpec],
    output: str,
    inputs: list[str] | None,
    workers: int | None,
    force: bool,
    progress: bool,
) -> list[StageResult]:
    """Run consecutive per-shard stages (e.g. extract and filter) as one Ray task per shard.

    Each stage still writes its own shards, markers and statistics; a shard goes on to the next
    stage as soon as it is done, so no stage waits for the slowest shard of the stage before.
    """
    import ray
    from tqdm import tqdm

    # Every stage's shards: the first stage's from its plan, each next stage's from the shards of the
    # stage before (those of this run, and those an earlier run finished).
    plans: list[dict[str, ShardTask]] = [{t.shard: t for t in plan_stage(config, stages[0], inputs, output)}]
    for prev, stage in zip(stages, stages[1:]):
        prev_dir = join(output, prev.name)
        names = list(plans[-1]) + sorted(_done_shards(prev_dir) - set(plans[-1]))
        plans.append({n: ShardTask(stage.name, n, join(prev_dir, "shards", f"{n}.parquet"), join(output, stage.name)) for n in names})
    done = [_prepare_stage(st, list(plan.values()), join(output, st.name), force) for st, plan in zip(stages, plans)]
    results = [StageResult(st.name, len(plan), len(set(plan) & d), after=stages[k - 1].name if k else None)
               for k, (st, plan, d) in enumerate(zip(stages, plans, done))]
    steps = [st.to_dict() for st in stages]
    chains = []
    for name in plans[-1]:  # the last stage's shards include every earlier stage's
        chain = [(plan[name], steps[k]) for k, plan in enumerate(plans) if name in plan and name not in done[k]]
        if chain:
            chains.append(chain)

    started = time.perf_counter()
    finished_at = [started] * len(stages)  # when each stage's last shard finished
    process_shard = _ray_task()
    limit = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
    label = "+".join(st.name for st in stages)
    total = sum(len(p) for p in plans)
    bar = tqdm(total=total, initial=sum(r.shards_skipped for r in results), desc=f"{label:>8}", unit="shard", disable=not progress, dynamic_ncols=True)
    docs_seen = 0
    pending: dict[Any, list[tuple[ShardTask, list[dict[str, Any]]]]] = {}
    queue = list(chains)
    while queue or pending:
        while queue and len(pending) < limit:
            chain = queue.pop(0)
            pending[process_shard.remote(chain)] = chain
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            chain = pending.pop(ref)
            try:
                outcomes = ray.get(ref)
            except Exception as e:  # the worker died more often than Ray retries: the chain's first unfinished stage failed
                task = next((t for t, _ in chain if not exists(t.done_url)), chain[0][0])
                error = {"shard": task.shard, "input": task.input, "error": f"{type(e).__name__}: {e}"}
                atomic_write_bytes(task.failed_url, json.dumps(error).encode())
                outcomes = [{"ok": False, "stage": task.stage, **error}]
            for res in outcomes:
                k = next(i for i, st in enumerate(stages) if st.name == res["stage"])
                finished_at[k] = time.perf_counter()
                if res["ok"]:
                    if k == 0:
                        first = res["marker"]["stats"]["steps"][0]
                        docs_seen += first["docs_out"] if stages[0].name == "extract" else first["docs_in"]
                else:
                    results[k].shards_failed.append(res)
                    bar.write(f"failed ({res['stage']}): {res['input']}: {res['error']}")
            bar.update(len(chain))  # a failed stage's later stages will not run this time either
            bar.set_postfix_str(f"{docs_seen / max(time.perf_counter() - started, 1e-9):,.0f} docs/s")
    bar.close()
    # Stages overlap: each is charged the time from the end of the one before to its own last shard.
    previous = started
    for k, st in enumerate(stages):
        if k:  # a later stage's shards are those whose input exists: not those of a failed shard before
            results[k].shards_total = len(set(plans[k]) & _done_shards(join(output, stages[k - 1].name)))
        _remove_leftovers(*filesystem(join(output, st.name)))  # what a worker killed mid-write left (Ray retried its shard)
        results[k].wall_seconds = max(finished_at[k] - previous, 0.0)
        previous = max(previous, finished_at[k])
        results[k].stats = merge_stage_stats(st.name, join(output, st.name))
    return results


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
    results: list[StageResult] = []
    group: list[StageSpec] = []  # consecutive per-shard stages run together, shard by shard
    for name in chosen + [None]:
        if name is not None and name not in STAGE_RUNNERS:
            group.append(config.stage(name))
            continue
        if group:
            results += run_shard_stages(config, group, output, inputs if group[0].name == "extract" else None, workers, force, progress)
            group = []
        if name is not None:
            idx = config.stage_names.index(name)
            prev = join(output, config.stage_names[idx - 1]) if idx > 0 else None
            ctx = StageContext(config, config.stage(name), output, prev, workers, force, progress)
            results.append(STAGE_RUNNERS[name](ctx))
    return results
