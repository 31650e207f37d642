"""The tokenize stage's runner: phase 1 over every input shard, then phase 2 over every output shard.

Restarts: phase-1 markers ``_done/tokenize-<input shard>.json`` and phase-2 markers
``_done/pack-<split>-<index>.json``; a rerun redoes only what lacks a marker (or its file), phase 2
is redone as a whole when the set of input shards or a packing setting changed, and ``--force``
starts over. Once complete, ``_work`` is deleted (``keep_work: true`` keeps it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from curation.context import StageContext, StageResult
from curation.errors import CurationError, InputError
from curation.io.fs import atomic_write_bytes, exists, filesystem, join
from curation.layout import StageLayout
from curation.tasks import Task, run_tasks
from curation.tokenization.manifest import build_manifest
from curation.tokenization.pack import pack_shard, shard_path
from curation.tokenization.parts import N_BINS, tokenize_part, work_file
from curation.tokenization.split import SPLITS
from curation.tokenization.step import STAGE, TokenizeStep, params_of, phase1_fingerprint
from curation.tokenization.tokenizer import tokenizer_info

log = logging.getLogger(__name__)


@dataclass
class PackPlan:
    """How many output shards each split gets, and which input shards feed it."""

    fingerprint: str
    shards: dict[str, int]  # split -> number of output shards
    parts: dict[str, list[str]]  # split -> input parts with documents in that split


def make_plan(params: TokenizeStep.Params, markers: dict[str, dict[str, Any]]) -> PackPlan:
    width = params.seq_len + 1
    shards, parts = {}, {}
    for split in SPLITS:
        total = sum(m["splits"][split]["tokens"] for m in markers.values())
        n = math.ceil(total / (params.shard_sequences * width)) if total else 0
        if n > N_BINS:
            log.warning("tokenize: %s needs %d shards of %d sequences; writing %d larger ones", split, n, params.shard_sequences, N_BINS)
            n = N_BINS
        shards[split] = n
        parts[split] = sorted(p for p, m in markers.items() if m["splits"][split]["documents"])
    d = {
        "params": params.model_dump(mode="json", exclude={"batch_size", "keep_work"}),
        "inputs": {p: markers[p]["splits"] for p in sorted(markers)},
        "shards": shards,
    }
    return PackPlan(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16], shards, parts)


def _phase_markers(layout: StageLayout, phase: str) -> dict[str, dict[str, Any]]:
    """Phase markers (``<phase>-<key>.json``) by key."""
    prefix = phase + "-"
    return {m["shard"][len(prefix):]: m for m in layout.markers() if m["shard"].startswith(prefix)}


def run_tokenize(ctx: StageContext) -> StageResult:
    """The tokenize stage runner (see ``curation.tokenization``)."""
    stage_steps = ctx.stage.to_dict()
    params = params_of(stage_steps)
    source = ctx.input_layout()
    layout = ctx.layout
    if ctx.force:
        layout.remove()
    layout.clean_temporaries()
    info = tokenizer_info(params.tokenizer, params.eos_token)  # fails early on a bad tokenizer
    names = sorted(source.done_names())
    if not names:
        raise InputError(f"stage 'tokenize' reads {source.dir}, which has no finished shard: run the stage before it first")
    files = source.shard_files()
    inputs = {n: source.find_shard(n, files) for n in names}
    fp1 = phase1_fingerprint(params)
    p1 = _phase_markers(layout, "tokenize")
    fs, _ = filesystem(layout.dir)
    for part, m in list(p1.items()):
        if part not in inputs:  # the stage before was rerun with other shards
            log.warning("tokenize: input shard %s is gone; forgetting its tokens", part)
            fs.rm(filesystem(layout.done(f"tokenize-{part}"))[1])
            for split in SPLITS:
                if exists(work_file(layout, part, split)):
                    fs.rm(filesystem(work_file(layout, part, split))[1])
            del p1[part]
        elif m.get("fingerprint") != fp1:
            raise CurationError(f"{layout.dir} was tokenized with another tokenizer, seed or val_fraction; rerun with --force to start over")
    result = StageResult(STAGE, 0, 0)
    started = time.perf_counter()
    tokens_done = [0]

    def tokenized(task: Task, marker: dict[str, Any]) -> str:
        p1[marker["shard"][len("tokenize-"):]] = marker
        tokens_done[0] += sum(s["tokens"] for s in marker["splits"].values())
        return f"{tokens_done[0] / max(time.perf_counter() - started, 1e-9):,.0f} tokens/s"

    def run_phase1(parts: list[str], initial: int = 0) -> bool:
        for p in parts:
            layout.clear_failure(f"tokenize-{p}")
        tasks = [Task(f"tokenize-{p}", tokenize_part, (stage_steps, p, inputs[p], layout), inputs[p], layout, attempts=f"tokenize-{p}") for p in parts]
        failed = run_tasks(ctx.executor, tasks, desc=STAGE, unit="file", progress=ctx.progress, on_done=tokenized, initial=initial)
        result.shards_failed += failed
        return not failed

    def finish() -> StageResult:
        result.wall_seconds = time.perf_counter() - started
        result.stats = layout.merge_stats()
        return result

    missing = [p for p in names if p not in p1]
    result.shards_total = len(inputs)
    result.shards_skipped = len(inputs) - len(missing)
    if not run_phase1(missing, initial=len(inputs) - len(missing)):
        return finish()

    plan = make_plan(params, p1)
    p2 = _phase_markers(layout, "pack")
    expected = {f"{s}-{i:05d}" for s in SPLITS for i in range(plan.shards[s])}
    for key, m in list(p2.items()):
        if key not in expected or m.get("plan") != plan.fingerprint:
            fs.rm(filesystem(layout.done(f"pack-{key}"))[1])
            del p2[key]
    expected_files = {shard_path(s, i) for s in SPLITS for i in range(plan.shards[s])}
    for split in SPLITS:  # shards of an earlier plan
        folder = filesystem(join(layout.dir, split))[1]
        if fs.exists(folder):
            for p in fs.ls(folder, detail=False):
                if f"{split}/{p.rsplit('/', 1)[-1]}" not in expected_files:
                    fs.rm(p)
    todo = sorted(k for k in expected if k not in p2 or not exists(join(layout.dir, p2[k]["path"])))
    result.shards_total += len(expected)
    result.shards_skipped += len(expected) - len(todo)
    if todo:
        need = sorted({p for p in inputs for s in SPLITS if p1[p]["splits"][s]["documents"] and not exists(work_file(layout, p, s))})
        if need:  # intermediates were cleaned up after an earlier complete run: redo them
            if not run_phase1(need):
                return finish()
            if make_plan(params, p1).fingerprint != plan.fingerprint:
                raise CurationError(f"tokenize: the input of {layout.dir} changed while it was being tokenized; rerun with --force")
        tasks = []
        for k in todo:
            split, index = k.split("-")
            layout.clear_failure(f"pack-{k}")
            args = (stage_steps, info, split, int(index), plan.shards[split], plan.parts[split], layout, plan.fingerprint)
            tasks.append(Task(f"pack-{k}", pack_shard, args, f"{split} shard {int(index)}", layout, attempts=f"pack-{k}"))

        def packed(task: Task, marker: dict[str, Any]) -> None:
            p2[f"{marker['split']}-{marker['index']:05d}"] = marker

        result.shards_failed += run_tasks(ctx.executor, tasks, desc="pack", unit="shard", progress=ctx.progress, on_done=packed)
    if not result.shards_failed:
        manifest = build_manifest(params, info, p1, p2, plan, source.stage)
        atomic_write_bytes(join(layout.dir, "manifest.json"), (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode())
        if not params.keep_work:
            layout.remove("_work")
    return finish()
