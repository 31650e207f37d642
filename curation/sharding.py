"""Which shards a stage has: one per input file (or per part of a large one), or one per shard of the
stage before. Shard names are stable across runs, so a rerun finds what an earlier one finished."""

from __future__ import annotations

import json
import math
import re

import xxhash

from curation.io.fs import atomic_write_bytes, exists, filesystem, join, read_bytes
from curation.io.shards import DEFAULT_FORMAT
from curation.layout import StageLayout
from curation.stage import ShardTask

# In a run of few files, a file much larger than the others would leave one worker busy long after
# the rest are idle. Such a file is split into parts, each a task that reads the records whose index
# is its part modulo parts (each part decompresses the whole file, a small cost next to extraction).
# The split depends on the input files only, never on the number of workers, and is written down on
# first use (OUTPUT/<stage>/_plan.json): a resumed run finds the same shards even if its input set
# grew, so no record is ever processed under two shard names.
SPLIT_FEWER_FILES_THAN = 16  # runs with this many files or more are balanced by their files alone
SPLIT_INTO = 16  # aim: the run's bytes in about this many tasks
MIN_PART_BYTES = 256 << 10  # 256 KiB of compressed WARC: some tens of pages, a second or more of work
MAX_PARTS = 16
_SUFFIXES = re.compile(r"(\.warc\.wet|\.warc|\.arc|\.wet|\.jsonl?|\.ndjson|\.parquet|\.arrow)?(\.gz|\.zst|\.bz2|\.xz)?$", re.I)


def shard_name(url: str) -> str:
    """A stable, readable shard name for an input file: its stem plus a hash of the full path."""
    base = url.rstrip("/").rsplit("/", 1)[-1]
    stem = _SUFFIXES.sub("", base, count=1) or base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80]
    return f"{stem}-{xxhash.xxh64_hexdigest(url)[:8]}"


def input_plan(inputs: list[str], layout: StageLayout, splittable: bool) -> list[ShardTask]:
    """The shards of a stage that reads input files: one per file, or several per large file in runs
    of few files (when its reader can read a part of a file)."""
    plan_url = join(layout.dir, "_plan.json")
    planned: dict[str, int] = json.loads(read_bytes(plan_url)) if exists(plan_url) else {}
    new = [u for u in inputs if u not in planned]
    if new:
        parts = dict.fromkeys(new, 1)
        if splittable and len(inputs) < SPLIT_FEWER_FILES_THAN:
            sizes = {u: _size(u) for u in inputs}
            part_bytes = max(sum(sizes.values()) / SPLIT_INTO, MIN_PART_BYTES)
            parts = {u: min(MAX_PARTS, max(1, math.ceil(sizes[u] / part_bytes))) for u in new}
        planned.update(parts)
        atomic_write_bytes(plan_url, json.dumps(planned, indent=1).encode())
    tasks = []
    for u in inputs:
        n, name = planned[u], shard_name(u)
        tasks += [ShardTask(layout.stage, name if n == 1 else f"{name}.part{i:02d}of{n:02d}", u, layout.output, i, n, layout.format)
                  for i in range(n)]
    return tasks


def _size(url: str) -> int:
    try:
        fs, path = filesystem(url)
        return int(fs.size(path) or 0)
    except Exception:  # a size we cannot learn cheaply (some HTTP servers): do not split that file
        return 0


def following_plan(stage: str, before: StageLayout, names: list[str], format: str = DEFAULT_FORMAT) -> list[ShardTask]:
    """The shards of a stage that reads the stage before it: one per shard of that stage (a finished
    one in whatever format it was written; one still to come where this run writes it)."""
    done, files = before.done_names(), before.shard_files()
    return [ShardTask(stage, n, files[n] if n in done and n in files else before.shard(n), before.output, format=format) for n in names]
