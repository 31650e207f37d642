"""Run one stage on one shard: read, chain the steps lazily, write the shard, then mark it done.

This is the unit of work a Ray task executes, and it knows nothing of Ray: tests and debuggers can
call ``run_shard`` directly. A shard counts as finished only once its completion marker exists
(``_done/<shard>.json``, written last and atomically, holding the shard's statistics), so a crash
at any point leaves either a finished shard or one that the next run redoes from scratch.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from curation.config import StageSpec, stage_from_dict
from curation.document import Document
from curation.io.fs import RetryingReader, atomic_write_bytes, join, list_files
from curation.io.parquet import read_documents, write_documents
from curation.io.reader import WarcReader
from curation.resources import TaskMeter
from curation.stats import StepStats
from curation.step import PipelineStep


@dataclass(frozen=True)
class ShardTask:
    stage: str
    shard: str  # output name, stable across runs
    input: str  # a WARC file (extract) or the previous stage's Parquet shard
    output_dir: str  # OUTPUT/<stage>
    part: int = 0  # extract: this shard reads every parts-th response record of the file, from the part-th
    parts: int = 1

    @property
    def shard_url(self) -> str:
        return join(self.output_dir, "shards", f"{self.shard}.parquet")

    @property
    def done_url(self) -> str:
        return join(self.output_dir, "_done", f"{self.shard}.json")

    @property
    def failed_url(self) -> str:
        return join(self.output_dir, "_failed", f"{self.shard}.json")

    def record_attempt(self) -> int:
        """Leave a trace of this attempt and return how many attempts the shard has had."""
        folder = join(self.output_dir, "_attempts", self.shard)
        atomic_write_bytes(join(folder, uuid.uuid4().hex), b"")
        return len(list_files(folder, ""))


@functools.lru_cache(maxsize=16)
def _steps(stage_json: str, stage_name: str) -> tuple[PipelineStep, ...]:
    """Steps are built once per worker process and stage (their resources are cached too)."""
    return tuple(spec.build() for spec in stage_from_dict(stage_name, json.loads(stage_json)).steps)


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


def _instrumented(step: PipelineStep, upstream: Iterable[Document], st: StepStats) -> Iterator[Document]:
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
        yield doc


def _read_warc(reader: WarcReader, task: ShardTask, st: StepStats) -> Iterator[Document]:
    with RetryingReader(task.input, on_retry=lambda: st.count("io_retries")) as stream:
        docs = reader.read(stream, task.input, st, task.part, task.parts)
        while True:
            t0 = clock()
            try:
                doc = next(docs)
            except StopIteration:
                st.seconds += clock() - t0
                break
            st.seconds += clock() - t0
            yield doc


def run_shard(stage: StageSpec, task: ShardTask) -> dict[str, Any]:
    """Process one shard and mark it done; returns the shard's statistics as a dict."""
    meter = TaskMeter()
    attempt = task.record_attempt()
    steps = _steps(json.dumps(stage.to_dict()), stage.name)
    stats = [StepStats(s.label, bins=dict(s.histograms)) for s in steps]
    if stage.name == "extract":
        docs: Iterable[Document] = _read_warc(steps[0], task, stats[0])  # type: ignore[arg-type]
        rest = list(zip(steps[1:], stats[1:]))
    else:
        docs = read_documents(task.input)
        rest = list(zip(steps, stats))
    for step, st in rest:
        docs = _instrumented(step, docs, st)
    written = write_documents(task.shard_url, docs)
    stage_stats = meter.stage_stats(stage.name, stats, task_retries=attempt - 1)
    marker = {
        "shard": task.shard,
        "input": task.input,
        "stage": stage.name,
        "fingerprint": stage.fingerprint(),
        "documents": written,
        "stats": stage_stats.to_dict(),
    }
    if task.parts > 1:
        marker["part"] = [task.part, task.parts]
    atomic_write_bytes(task.done_url, json.dumps(marker, ensure_ascii=False).encode())
    return marker
