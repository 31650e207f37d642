"""Run a pipeline's stages: plan each stage's shards, hand them to the task runner, merge statistics.

    pipeline file -> plan (curation.sharding) -> executor (curation.executor) -> task runner
    (curation.tasks) -> stage on one shard (curation.stage) -> steps -> shard + marker (curation.layout)

Consecutive per-shard stages (extract, filter) run in one task per shard, one stage after the
other, so a shard never waits for the rest of its stage; each stage still writes its own shards,
markers and statistics. Whole stages (dedup, tokenize) are run by the runner the registry names.
Finished shards are skipped, so a rerun of the same command resumes; a shard whose input cannot
be read fails alone.

A run may start at any stage. With ``--input``, a first stage that has no reader of its own reads
the input with the reader ``curation.io.inputs`` chooses: a per-shard stage (filter) takes it as
its first step; a whole stage (dedup, tokenize) reads document shards, so the input is first read
into ``OUTPUT/read/`` (the ``read`` stage, one shard per input file) and the stage reads those.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from curation.config import PipelineConfig, StageSpec
from curation.context import StageContext, StageResult
from curation.errors import CurationError, InputError
from curation.executor import Executor, make_executor
from curation.io.fs import filesystem
from curation.io.inputs import check_fields, plan_input
from curation.layout import StageLayout, load_run_stats, write_run_info
from curation.ledger import ledger
from curation.registry import STAGES, stage_runner
from curation.sharding import following_plan, input_plan
from curation.stage import ShardTask, run_chain, warm_up
from curation.step import ReaderStep
from curation.tasks import Task, run_tasks

log = logging.getLogger(__name__)

LISTING_HEAD_START = 0.5  # seconds the input listing gets before Ray starts beside it


def _prepare(stage: StageSpec, layout: StageLayout, tasks: list[ShardTask], force: bool) -> set[str]:
    """Clear what ``--force`` and a killed run left; returns the shards already done."""
    if force:
        layout.remove("_done")
        layout.remove("_attempts")
    layout.clean_temporaries()
    done = layout.done_names()
    fingerprint = stage.fingerprint()
    stale = [t.shard for t in tasks if t.shard in done and layout.marker(t.shard).get("fingerprint") != fingerprint]
    if stale:
        log.warning("%d %s shard(s) were finished with other settings; rerun with --force to redo them", len(stale), stage.name)
    for t in tasks:  # a failure from an earlier run is retried now
        if t.shard not in done:
            layout.clear_failure(t.shard)
    return done


def run_shard_stages(config: PipelineConfig, stages: list[StageSpec], output: str, inputs: list[str] | None,
                     executor: Executor, force: bool, progress: bool) -> list[StageResult]:
    """Run consecutive per-shard stages (e.g. extract and filter) as one task per shard."""
    layouts = [StageLayout(output, st.name, st.output_format) for st in stages]
    first = stages[0].build_steps()[0]
    if isinstance(first, ReaderStep):
        if inputs is None:
            raise InputError(f"stage {stages[0].name!r} reads input files: give --input")
        plans = [{t.shard: t for t in input_plan(inputs, layouts[0], first.splittable)}]
    else:
        before = _stage_before(config, stages[0].name, output)
        plans = [{t.shard: t for t in following_plan(stages[0].name, before, sorted(before.done_names()), stages[0].output_format)}]
        if not plans[0]:
            raise InputError(f"stage {stages[0].name!r} reads {before.dir}, which has no finished shard: run `--stages {before.stage}` first")
    # Each next stage's shards: those of the stage before in this run, and those an earlier run finished.
    for prev, stage in zip(layouts, stages[1:]):
        names = list(plans[-1]) + sorted(prev.done_names() - set(plans[-1]))
        plans.append({t.shard: t for t in following_plan(stage.name, prev, names, stage.output_format)})
    done = [_prepare(st, lay, list(plan.values()), force) for st, lay, plan in zip(stages, layouts, plans)]
    results = [StageResult(st.name, len(plan), len(set(plan) & d), after=stages[k - 1].name if k else None)
               for k, (st, plan, d) in enumerate(zip(stages, plans, done))]
    steps = [st.to_wire() for st in stages]
    tasks = []
    for name in plans[-1]:  # the last stage's shards include every earlier stage's
        chain = [(plan[name], steps[k]) for k, plan in enumerate(plans) if name in plan and name not in done[k]]
        if chain:
            head = chain[0][0]
            tasks.append(Task(name, run_chain, (chain,), head.input, head.layout, units=len(chain)))

    started = time.perf_counter()
    finished_at = [started] * len(stages)  # when each stage's last shard finished
    index = {st.name: k for k, st in enumerate(stages)}
    docs_seen = [0]

    def on_done(task: Task, markers: list[dict[str, Any]]) -> str:
        for marker in markers:
            k = index[marker["stage"]]
            finished_at[k] = time.perf_counter()
            if k == 0:
                first_step = marker["stats"]["steps"][0]
                docs_seen[0] += first_step["docs_out"] if isinstance(first, ReaderStep) else first_step["docs_in"]
        return f"{docs_seen[0] / max(time.perf_counter() - started, 1e-9):,.0f} docs/s"

    def on_failure(task: Task, failure: dict[str, Any]) -> None:
        chain = task.args[0]
        stage = failure.get("stage")
        if stage is None:  # the worker died: the chain's first unfinished stage failed
            shard_task = next((t for t, _ in chain if t.shard not in t.layout.done_names()), chain[0][0])
            stage = shard_task.stage
            if shard_task.stage != chain[0][0].stage:
                shard_task.layout.write_failure(shard_task.shard, shard_task.input, failure["error"])
        for t, _ in chain:  # the stages before the failed one finished this shard
            if t.stage == stage:
                break
            finished_at[index[t.stage]] = time.perf_counter()
        results[index[stage]].shards_failed.append({k: v for k, v in failure.items() if k != "stage"})

    label = "+".join(st.name for st in stages)
    run_tasks(executor, tasks, desc=label, unit="shard", progress=progress, on_done=on_done, on_failure=on_failure,
              total=sum(len(p) for p in plans), initial=sum(r.shards_skipped for r in results))
    # Stages overlap: each is charged the time from the end of the one before to its own last shard.
    previous = started
    for k, lay in enumerate(layouts):
        if k:  # a later stage's shards are those whose input exists: not those of a failed shard before
            results[k].shards_total = len(set(plans[k]) & layouts[k - 1].done_names())
        lay.clean_temporaries()  # what a worker killed mid-write left (Ray retried its shard)
        results[k].wall_seconds = max(finished_at[k] - previous, 0.0)
        previous = max(previous, finished_at[k])
        results[k].stats = lay.merge_stats()
    return results


def _stage_before(config: PipelineConfig, stage: str, output: str) -> StageLayout:
    names = config.stage_names
    k = names.index(stage)
    if k == 0:
        raise CurationError(f"stage {stage!r} needs an earlier stage's output, but it is the first stage of {config.path}: give --input")
    return StageLayout(output, names[k - 1])


class _Background:
    """``fn(*args)`` in a thread; ``result()`` waits for it and returns (or raises) what it did."""

    def __init__(self, fn: Callable[..., Any], *args: Any):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            self._error = e

    def done_within(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _absolute(url: str) -> str:
    """Local paths made absolute: workers may run in another directory."""
    return url if "://" in url else os.path.abspath(url)


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
    executor: str | Executor = "ray",
) -> list[StageResult]:
    """Run the chosen stages (default: all of the pipeline's) in order."""
    chosen = stages or config.stage_names
    for s in chosen:
        config.stage(s)  # raises a clear error for a stage the pipeline lacks
    chosen = [s for s in config.stage_names if s in chosen]
    for name in chosen[1:]:  # a stage whose stage before is not run now must find that one's shards, before any work
        before = config.stage_names[config.stage_names.index(name) - 1]
        if before not in chosen and not StageLayout(_absolute(output), before).done_names():
            raise InputError(f"stage {name!r} reads the shards of stage {before!r} in {output}, which has none finished: "
                             f"add {before} to --stages (the pipeline runs {', '.join(config.stage_names)})")
    specs = {name: config.stage(name) for name in chosen}
    for name in chosen:  # a missing model file is one clear line now, not a failure in every shard
        for step in specs[name].build_steps():
            step.preflight()
    # The input is listed in the background while Ray starts (seconds each); then Ray's workers load the
    # steps' resources while the driver plans the shards.
    listing = _Background(plan_input, config, specs[chosen[0]], input_spec, limit)
    if listing.done_within(LISTING_HEAD_START):  # local input: listed already; a mistake in it is one line before Ray starts
        listing.result()
    per_shard = [(s, specs[s].to_dict()) for s in chosen if STAGES[s].per_shard]
    try:
        runner = make_executor(executor, ray_address, workers, (warm_up, (per_shard,)) if per_shard else None) if isinstance(executor, str) else executor
    finally:
        run_input = listing.result()
    read_stage = None  # the input read into document shards first, for a whole stage
    if run_input is not None and run_input.added:
        run_input.reader.build().preflight()
        if STAGES[chosen[0]].per_shard:
            specs[chosen[0]] = replace(specs[chosen[0]], steps=(run_input.reader, *specs[chosen[0]].steps))
        else:
            read_stage = StageSpec("read", (run_input.reader,), output_format=config.output_format)
    if run_input is not None:
        check_fields(run_input, [specs[name] for name in chosen])
    output = _absolute(output)
    inputs = [_absolute(u) for u in run_input.files] if run_input is not None else None
    fs, path = filesystem(output)
    info = {"pipeline": config.name, "pipeline_file": config.path, "input": input_spec,
            "reader": run_input.reader.to_dict() if run_input is not None else None, "stages": chosen,
            "executor": runner.name, "config": {s.name: s.to_dict() for s in config.stages}}
    try:
        fs.makedirs(path, exist_ok=True)
        write_run_info(output, info)
    except OSError as e:
        raise CurationError(f"cannot write to output {output}: {e}") from None
    results: list[StageResult] = []
    previous: str | None = None  # the stage whose shards the next whole stage reads
    if read_stage is not None:
        results += run_shard_stages(config, [read_stage], output, inputs, runner, force, progress)
        previous, inputs = "read", None
    names = config.stage_names
    group: list[StageSpec] = []  # per-shard stages next to each other in the pipeline run together, shard by shard
    for name in chosen + [None]:
        joins = name is not None and STAGES[name].per_shard and (not group or names.index(name) == names.index(group[-1].name) + 1)
        if group and not joins:  # e.g. extract, dedup, filter: filter reads dedup's shards, not extract's
            results += run_shard_stages(config, group, output, inputs if group[0].name == chosen[0] else None, runner, force, progress)
            group = []
        if name is not None and STAGES[name].per_shard:
            group.append(specs[name])
        elif name is not None:
            k = names.index(name)
            before = previous if previous is not None and name == chosen[0] else (config.stage_names[k - 1] if k else None)
            ctx = StageContext(config, specs[name], output, before, runner, force, progress)
            results.append(stage_runner(name)(ctx))
    info["ledger"] = ledger(load_run_stats(output))  # the compute and energy of every stage of OUTPUT so far
    write_run_info(output, info)
    return results
