"""Run one stage on one shard: read, chain the steps lazily, write the shard, then mark it done.

This is what a task executes, and it knows nothing of Ray or of any executor: tests and debuggers
call ``run_shard`` directly. A shard counts as finished only once its completion marker exists
(``_done/<shard>.json``, written last and atomically, holding the shard's statistics), so a crash
at any point leaves either a finished shard or one that the next run redoes from scratch.

With ``keep_rejected``, every document a step drops goes, with the step and the reason, to the
shard's file in ``rejected/``, written alongside the shard and moved into place before the marker.
The marker records what the shard read, kept and rejected, so ``curation verify`` can check that
nothing vanished unaccounted.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from curation.config import StageSpec, stage_from_dict
from curation.document import Document
from curation.io.fs import atomic_write_bytes, exists
from curation.io.shards import DEFAULT_FORMAT, DocumentWriter, read_documents, write_documents
from curation.layout import StageLayout
from curation.resources import TaskMeter
from curation.stats import StepStats
from curation.step import DocumentStep, PipelineStep, ReaderStep
from curation.tasks import TaskFailed, error_text


@dataclass(frozen=True)
class ShardTask:
    stage: str
    shard: str  # output name, stable across runs
    input: str  # an input file (the stage begins with a reader) or the previous stage's shard
    output: str  # the run's output folder
    part: int = 0  # this shard reads the part-th of ``parts`` parts of its input file
    parts: int = 1
    format: str = DEFAULT_FORMAT  # of the shard this task writes

    @property
    def layout(self) -> StageLayout:
        return StageLayout(self.output, self.stage, self.format)


@functools.lru_cache(maxsize=16)
def _steps(stage_json: str, stage_name: str) -> tuple[PipelineStep, ...]:
    """Steps are built once per worker process and stage (their resources are cached too)."""
    return tuple(spec.build() for spec in stage_from_dict(stage_name, json.loads(stage_json)).steps)


def warm_up(stages: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Build the steps of per-shard stages and load their resources, in this worker process, before
    its first shard (``StageSpec.to_dict`` form: the steps ``run_shard`` builds are these same objects)."""
    for name, steps in stages:
        for step in _steps(json.dumps(steps), name):
            step.warm_up()


class RejectedSink:
    """Where a shard's dropped documents go (keep_rejected): ``StepStats.drop`` hands each one here
    with its step and reason. Committed with the shard, before its marker; aborted if it fails."""

    def __init__(self, url: str):
        self.writer = DocumentWriter(url, rejected=True)

    def __call__(self, step: str, doc: Document, reason: str) -> None:
        self.writer.write(doc, step=step, reason=reason)


def write_shard(docs: Iterable[Document], url: str, sink: RejectedSink | None) -> tuple[int, int | None]:
    """Stream ``docs`` into the shard ``url``, then commit it and the documents ``sink`` received on
    the way; on an error neither file is left. Returns (documents written, documents rejected or None)."""
    try:
        written = write_documents(url, docs)
    except BaseException:
        if sink is not None:
            sink.writer.abort()
        raise
    return written, sink.writer.commit() if sink is not None else None


# Steps are timed in CPU seconds of the worker's thread: wall time would charge a step for the
# time its worker waited for a core, which on a busy machine is most of it.
clock = time.thread_time


def _counted(upstream: Iterable[Document], st: StepStats, spent: list[float]) -> Iterator[Document]:
    """Count what enters a step; ``spent[0]`` accumulates the time spent producing it upstream."""
    it = iter(upstream)
    while True:
        t0 = clock()
        try:
            doc = next(it)
        except StopIteration:
            spent[0] += clock() - t0
            return
        spent[0] += clock() - t0
        st.docs_in += 1
        st.chars_in += len(doc.text)
        yield doc


def _instrumented(step: DocumentStep, upstream: Iterable[Document], st: StepStats) -> Iterator[Document]:
    """Run ``step`` over ``upstream``, counting documents and characters out and timing the step alone."""
    spent = [0.0]
    out = iter(step.run(_counted(upstream, st, spent), st))
    while True:
        t0, up0 = clock(), spent[0]
        try:
            doc = next(out)
        except StopIteration:
            st.seconds += (clock() - t0) - (spent[0] - up0)
            return
        st.seconds += (clock() - t0) - (spent[0] - up0)
        st.docs_out += 1
        st.chars_out += len(doc.text)
        st.keep(doc)
        yield doc


def _timed(docs: Iterator[Document], st: StepStats) -> Iterator[Document]:
    """A reader's documents, its time charged to it (a reader counts its own records)."""
    while True:
        t0 = clock()
        try:
            doc = next(docs)
        except StopIteration:
            st.seconds += clock() - t0
            return
        st.seconds += clock() - t0
        yield doc


def run_shard(stage: StageSpec, task: ShardTask) -> dict[str, Any]:
    """Process one shard and mark it done; returns its completion marker."""
    meter = TaskMeter()
    layout = task.layout
    attempt = layout.record_attempt(task.shard)  # per stage: a chain retried after its first stage finished retries only the rest
    steps = _steps(json.dumps(stage.to_dict()), stage.name)
    stats = [s.new_stats() for s in steps]
    if isinstance(steps[0], ReaderStep):
        docs: Iterable[Document] = _timed(steps[0].read(task.input, stats[0], task.part, task.parts), stats[0])
        rest = list(zip(steps[1:], stats[1:]))
    else:
        docs = read_documents(task.input)
        rest = list(zip(steps, stats))
    layout.clear_stale(task.shard, stage.keep_rejected)
    sink = RejectedSink(layout.rejected(task.shard)) if stage.keep_rejected else None
    for step, st in rest:
        st.reject = sink  # documents a reader skips (request records, damaged bytes) are records, not documents: counted only
        docs = _instrumented(step, docs, st)  # type: ignore[arg-type]  (config checked the kinds)
    written, rejected = write_shard(docs, layout.shard(task.shard), sink)
    stage_stats = meter.stage_stats(stage.name, stats, task_retries=attempt - 1)
    marker = {
        "shard": task.shard,
        "input": task.input,
        "stage": stage.name,
        "fingerprint": stage.fingerprint(),
        # documents that entered the stage's document steps: what the reader made, or the shard before held
        "read": stats[0].docs_out if isinstance(steps[0], ReaderStep) else stats[0].docs_in,
        "documents": written,
        "stats": stage_stats.to_dict(),
    }
    if rejected is not None:
        marker["rejected"] = rejected
    if task.parts > 1:
        marker["part"] = [task.part, task.parts]
    atomic_write_bytes(layout.done(task.shard), json.dumps(marker, ensure_ascii=False).encode())
    return marker


def run_chain(chain: list[tuple[ShardTask, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One shard through consecutive per-shard stages (extract, then filter ...): the next stage starts
    on this shard at once instead of waiting for every shard of the stage before. A stage already marked
    done (by an earlier attempt) is not redone; a failure is recorded in its stage and ends the chain."""
    markers = []
    for task, wire in chain:  # wire: StageSpec.to_wire()
        layout = task.layout
        if exists(layout.done(task.shard)):
            markers.append(layout.marker(task.shard))
            continue
        try:
            markers.append(run_shard(stage_from_dict(task.stage, wire), task))
        except Exception as e:  # a bad file fails its shard only
            record = layout.write_failure(task.shard, task.input, error_text(e))
            raise TaskFailed({**record, "stage": task.stage}, recorded=True) from None
    return markers
