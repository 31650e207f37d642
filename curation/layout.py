"""Where a run's files live, in one place: every stage, runner, and reader of a run goes through here.

    OUTPUT/run.json                      the command, the pipeline and its settings
    OUTPUT/<stage>/shards/<shard>.parquet   the stage's documents (document stages; .jsonl.gz with output_format: jsonl.gz)
    OUTPUT/<stage>/rejected/<shard>.parquet the documents the stage dropped, with step and reason (keep_rejected: true)
    OUTPUT/<stage>/_done/<shard>.json    completion marker: written last, holds the shard's statistics
    OUTPUT/<stage>/_failed/<shard>.json  why a shard failed ({"shard", "input", "error"})
    OUTPUT/<stage>/_attempts/<shard>/    one empty file per attempt (retries survive a dead worker)
    OUTPUT/<stage>/_work/                intermediate files of whole-stage runners (dedup, tokenize)
    OUTPUT/<stage>/stats.json            the stage's merged statistics

A shard counts as finished only once its marker exists. Every write is atomic (a temporary
``.tmp-*`` name, then a rename), so what a killed run leaves behind is either finished or a
temporary file that ``clean_temporaries`` removes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from curation.errors import CurationError
from curation.io.fs import atomic_write_bytes, exists, filesystem, join, list_files, read_bytes
from curation.io.shards import DEFAULT_FORMAT, FORMATS, shard_stem
from curation.registry import STAGE_ORDER
from curation.stats import StageStats

MARKER_FIELDS = ("shard", "stats")  # what every completion marker holds, whoever wrote it


def _stem(url: str, suffix: str) -> str:
    return url.rsplit("/", 1)[-1][: -len(suffix)]


class StageLayout:
    """The folder of one stage of a run, and what is in it. ``format``: the format this run writes
    the stage's shards in; reading finds shards of either format."""

    def __init__(self, output: str, stage: str, format: str = DEFAULT_FORMAT):
        self.output = output
        self.stage = stage
        self.format = format
        self.dir = join(output, stage)

    def __repr__(self) -> str:
        return f"StageLayout({self.dir!r})"

    # -- paths ---------------------------------------------------------------------------------
    def shard(self, name: str) -> str:
        """Where this run writes shard ``name`` (in the layout's format)."""
        return join(self.dir, "shards", name + FORMATS[self.format])

    def rejected(self, name: str) -> str:
        """Where the documents shard ``name`` dropped are written (keep_rejected)."""
        return join(self.dir, "rejected", name + FORMATS[self.format])

    def done(self, name: str) -> str:
        return join(self.dir, "_done", f"{name}.json")

    def failed(self, name: str) -> str:
        return join(self.dir, "_failed", f"{name}.json")

    def work(self, *parts: str) -> str:
        return join(self.dir, "_work", *parts)

    @property
    def stats_url(self) -> str:
        return join(self.dir, "stats.json")

    # -- what is there -------------------------------------------------------------------------
    def exists(self) -> bool:
        return exists(self.dir)

    def shard_urls(self) -> list[str]:
        """Every shard file of the stage, in either format (sorted)."""
        return list(self.shard_files().values())

    def shard_files(self) -> dict[str, str]:
        """Shard name -> shard file, whichever format it was written in (one listing)."""
        return _by_stem(join(self.dir, "shards"))

    def rejected_files(self) -> dict[str, str]:
        """Shard name -> its file of rejected documents (one listing)."""
        return _by_stem(join(self.dir, "rejected"))

    def find_shard(self, name: str, files: dict[str, str] | None = None) -> str:
        """The file of shard ``name`` as written (``files``: a ``shard_files()`` listing already made),
        else where this run would write it."""
        files = self.shard_files() if files is None else files
        return files.get(name) or self.shard(name)

    def done_names(self) -> set[str]:
        """Names of the finished shards (one listing, no marker read)."""
        return {_stem(u, ".json") for u in list_files(join(self.dir, "_done"), ".json")}

    def markers(self) -> Iterator[dict[str, Any]]:
        """Every completion marker, checked (sorted by name)."""
        for url in list_files(join(self.dir, "_done"), ".json"):
            yield read_marker(url)

    def marker(self, name: str) -> dict[str, Any]:
        return read_marker(self.done(name))

    def failures(self) -> list[dict[str, Any]]:
        """The recorded failures of shards that are not (or no longer) marked done."""
        done = self.done_names()
        found = []
        for url in list_files(join(self.dir, "_failed"), ".json"):
            err = _read_json(url, "failure record")
            if err.get("shard", _stem(url, ".json")) not in done:
                found.append({"shard": _stem(url, ".json"), "input": "?", "error": "?", **err})
        return found

    # -- housekeeping --------------------------------------------------------------------------
    def record_attempt(self, name: str) -> int:
        """Leave a trace of one attempt at shard ``name``; return how many attempts it has had."""
        folder = join(self.dir, "_attempts", name)
        atomic_write_bytes(join(folder, uuid.uuid4().hex), b"")
        return len(list_files(folder, ""))

    def write_failure(self, name: str, input: str, error: str) -> dict[str, Any]:
        record = {"shard": name, "input": input, "error": error}
        atomic_write_bytes(self.failed(name), json.dumps(record, ensure_ascii=False).encode())
        return record

    def clear_failure(self, name: str) -> None:
        fs, path = filesystem(self.failed(name))
        if fs.exists(path):
            fs.rm(path)

    def clear_stale(self, name: str, keep_rejected: bool) -> None:
        """Delete what a rewrite of shard ``name`` would leave stale: its files in the other format
        (a run with another output_format) and its rejected documents when the stage no longer keeps them."""
        stale = [join(self.dir, folder, name + suffix) for fmt, suffix in FORMATS.items() for folder in ("shards", "rejected")
                 if fmt != self.format]
        if not keep_rejected:
            stale.append(self.rejected(name))
        for url in stale:
            fs, path = filesystem(url)
            if fs.exists(path):
                fs.rm(path)

    def clean_temporaries(self) -> int:
        """Delete the temporary files of writes a killed run left half-done (the driver owns the
        folder while it runs); return how many."""
        fs, path = filesystem(self.dir)
        if not fs.exists(path):
            return 0
        leftovers = [p for p in fs.find(path) if p.rsplit("/", 1)[-1].startswith(".tmp-")]
        for p in leftovers:
            fs.rm(p)
        return len(leftovers)

    def remove(self, *parts: str) -> None:
        """Delete ``parts`` of the stage folder (or the whole folder), if present."""
        fs, path = filesystem(join(self.dir, *parts) if parts else self.dir)
        if fs.exists(path):
            fs.rm(path, recursive=True)

    # -- statistics ----------------------------------------------------------------------------
    def collect_stats(self) -> StageStats | None:
        """The statistics of every finished shard and the errors of failed ones, folded into one;
        None when the stage has neither."""
        merged, seen = StageStats(self.stage), False
        for marker in self.markers():
            merged.merge(StageStats.from_dict(marker["stats"]))
            seen = True
        for err in self.failures():
            merged.shards_failed += 1
            merged.errors.append(err)
            seen = True
        return merged if seen else None

    def merge_stats(self) -> StageStats:
        """``collect_stats`` written to ``stats.json``."""
        merged = self.collect_stats() or StageStats(self.stage)
        atomic_write_bytes(self.stats_url, merged.to_json().encode())
        return merged


def _by_stem(folder: str) -> dict[str, str]:
    found = {}
    for url in list_files(folder, ""):
        stem = shard_stem(url)
        if stem is not None:
            found[stem] = url
    return dict(sorted(found.items()))


def _read_json(url: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(read_bytes(url))
    except json.JSONDecodeError as e:
        raise CurationError(f"{url}: {what} is not valid JSON ({e}); delete it and rerun the stage") from None
    if not isinstance(value, dict):
        raise CurationError(f"{url}: {what} is not a JSON object; delete it and rerun the stage")
    return value


def read_marker(url: str) -> dict[str, Any]:
    """A completion marker, with the fields every reader relies on checked."""
    marker = _read_json(url, "completion marker")
    for key in MARKER_FIELDS:
        if key not in marker:
            raise CurationError(f"{url}: completion marker has no field {key!r} (damaged or foreign); delete it and rerun the stage")
    stats = marker["stats"]
    missing = [k for k in ("stage", "steps") if not isinstance(stats, dict) or k not in stats]
    if missing:
        raise CurationError(f"{url}: completion marker's 'stats' has no field {missing[0]!r} (damaged or foreign); delete it and rerun the stage")
    return marker


def stage_order(output: str) -> list[str]:
    """The stages of the run in ``output`` in the order its pipeline runs them (filter and dedup
    may come in either order: run.json's pipeline says which), then any others in the usual order."""
    info = read_run_info(output) or {}
    run = [s for s in info.get("config") or {} if s in STAGE_ORDER]
    first = STAGE_ORDER[0]  # "read": a run that starts at a whole stage with --input reads its input there first
    return [first] + run + [s for s in STAGE_ORDER[1:] if s not in run]


def stage_layouts(output: str) -> list[StageLayout]:
    """The stages a run has written under ``output``, in pipeline order."""
    return [StageLayout(output, s) for s in stage_order(output) if exists(join(output, s))]


def load_run_stats(output: str) -> dict[str, StageStats]:
    """Statistics of every stage under ``output`` (merged from its markers, so a stage still
    running or that crashed shows what it finished), in pipeline order."""
    found = {}
    for layout in stage_layouts(output):
        stats = layout.collect_stats()
        if stats is not None:
            found[layout.stage] = stats
    return found


def has_output(output: str) -> bool:
    return bool(stage_layouts(output))


def read_run_info(output: str) -> dict[str, Any] | None:
    """``OUTPUT/run.json``, or None when the run has none."""
    url = join(output, "run.json")
    return _read_json(url, "run record") if exists(url) else None


def read_token_manifest(output: str) -> dict[str, Any] | None:
    """``OUTPUT/tokenize/manifest.json``, or None before the tokenize stage finished."""
    url = join(output, "tokenize", "manifest.json")
    return _read_json(url, "token manifest") if exists(url) else None


def write_run_info(output: str, info: dict[str, Any]) -> None:
    atomic_write_bytes(join(output, "run.json"), json.dumps(info, indent=1, ensure_ascii=False).encode())
