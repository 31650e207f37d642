"""Intermediate files of the dedup stage: routed Parquet tables, JSON markers, peak memory.

A *routed* Parquet file holds one table split into row groups by a small integer route (the
bucket a band key goes to, the shard a pair must visit next): the file's metadata lists the route
of each row group, so a task reading route ``r`` from many files reads only those row groups.
Hash columns are incompressible, so they are stored without compression.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.io.fs import atomic_write, atomic_write_bytes, exists, filesystem, read_bytes  # noqa: F401  (exists: re-exported)

ROUTES_KEY = b"curation.routes"
MAX_GROUP_ROWS = 1 << 20


def write_routed(url: str, table: pa.Table, routes: np.ndarray) -> None:
    """Write ``table`` (atomically) with its rows grouped by ``routes`` (one int per row)."""
    order = np.argsort(routes, kind="stable")
    routes = routes[order]
    if len(table):
        table = table.take(pa.array(order))
    bounds = np.flatnonzero(np.diff(routes)) + 1 if len(routes) else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], bounds]).astype(np.int64) if len(routes) else np.zeros(0, dtype=np.int64)
    ends = np.concatenate([bounds, [len(routes)]]).astype(np.int64) if len(routes) else np.zeros(0, dtype=np.int64)
    groups: list[tuple[int, int, int]] = []  # (route, start, length) with length <= MAX_GROUP_ROWS
    for s, e in zip(starts, ends):
        for g in range(int(s), int(e), MAX_GROUP_ROWS):
            groups.append((int(routes[s]), g, min(MAX_GROUP_ROWS, int(e) - g)))
    meta = dict(table.schema.metadata or {})
    meta[ROUTES_KEY] = json.dumps([r for r, _, _ in groups]).encode()
    schema = table.schema.with_metadata(meta)

    def write(f) -> None:
        with pq.ParquetWriter(f, schema, compression="none", write_statistics=False) as w:
            for _, start, length in groups:
                w.write_table(table.slice(start, length).replace_schema_metadata(meta), row_group_size=length)

    atomic_write(url, write)


def read_routed(url: str, route: int, columns: list[str] | None = None) -> pa.Table | None:
    """The rows of ``url`` routed to ``route`` (None when it has none)."""
    fs, path = filesystem(url)
    with fs.open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        routes = json.loads(pf.schema_arrow.metadata[ROUTES_KEY])
        idx = [i for i, r in enumerate(routes) if r == route]
        if not idx:
            return None
        return pf.read_row_groups(idx, columns=columns)


def read_all(url: str, columns: list[str] | None = None) -> pa.Table:
    fs, path = filesystem(url)
    with fs.open(path, "rb") as f:
        return pq.ParquetFile(f).read(columns=columns)


def concat(tables: list[pa.Table | None], schema: pa.Schema) -> pa.Table:
    tables = [t.replace_schema_metadata(None) for t in tables if t is not None and len(t)]
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables).combine_chunks()


def col(table: pa.Table, name: str, dtype=np.uint64) -> np.ndarray:
    return table.column(name).to_numpy().astype(dtype, copy=False)


def write_json(url: str, data: Any) -> None:
    atomic_write_bytes(url, json.dumps(data, ensure_ascii=False, indent=1, default=_json_default).encode())


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def read_json(url: str) -> Any:
    return json.loads(read_bytes(url))


def read_json_or_none(url: str) -> Any:
    return read_json(url) if exists(url) else None


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the process's lifetime peak is the best we have
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Samples this process's resident memory every ``interval`` seconds while in use.

    Ray reuses worker processes, so ``ru_maxrss`` would report the largest task a worker ever
    ran; this measures the task itself.
    """

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)

    @property
    def delta_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


class Timer:
    def __init__(self):
        import resource

        self._resource = resource
        self.wall0 = time.perf_counter()
        u = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu0 = u.ru_utime + u.ru_stime

    @property
    def wall(self) -> float:
        return time.perf_counter() - self.wall0

    @property
    def cpu(self) -> float:
        u = self._resource.getrusage(self._resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime - self.cpu0
