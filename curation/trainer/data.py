"""The token loader: the tokenize stage's Parquet shards -> batches of (inputs, targets) on the device.

Unit of work: the Parquet row group (``row_group_sequences`` rows, 1024 by default: ~2 MB of
uint16). Each epoch, the row groups of all shards of the split are permuted with a seed; process
``rank`` of ``world_size`` takes every ``world_size``-th of them, so processes read disjoint data
and only the row groups they train on. Within a row group, rows come in a seeded order too.

A background thread reads and decodes row groups and copies rows straight from Arrow's buffer (a
zero-copy NumPy view) into a (pinned, on CUDA) uint16 batch: one copy from disk to the batch,
and the host-to-device copy then runs asynchronously. The trainer converts to int64 on the device.

Resuming: the order is a pure function of (seed, epoch, world_size, rank), so the position in it is
a cursor ``(epoch, group, row)``: the next row to read is row ``row`` (in this epoch's row order)
of the ``group``-th row group of this process's list for ``epoch``. Each batch carries the cursor
just after it; ``state_dict()`` returns the cursor after the last batch handed to the trainer (not
after what the thread prefetched), and ``load_state_dict()`` restarts the thread there, so a resumed
run continues with exactly the sequence that would have come next, even mid-row-group or with
another batch size. The number of processes must stay the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from curation.errors import CurationError, InputError
from curation.io.fs import join
from curation.tokens import load_manifest, open_parquet, row_group_array

TORCH_DTYPES = {"uint16": torch.uint16, "uint32": torch.uint32}


@dataclass(frozen=True)
class RowGroup:
    shard: str  # URL of the shard
    index: int  # row group within the shard
    rows: int  # rows to read: a padded last row (last_sequence: pad) is left out


def list_row_groups(data_dir: str, split: str, manifest: dict[str, Any] | None = None) -> list[RowGroup]:
    """Every row group of the split's shards, in manifest order (footers read in parallel)."""
    manifest = manifest or load_manifest(data_dir)
    shards = manifest["splits"][split]["shards"]

    def footer(shard: dict[str, Any]) -> list[RowGroup]:
        url = join(data_dir, shard["path"])
        with contextlib.ExitStack() as stack:
            meta = open_parquet(url, stack).metadata
        if meta.num_rows != shard["sequences"]:
            raise InputError(f"{url} has {meta.num_rows} rows, its manifest says {shard['sequences']}: rerun the tokenize stage")
        groups = [RowGroup(url, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]
        if shard.get("padding_tokens") and groups:  # only a shard's last row can be padded
            last = groups[-1]
            groups[-1] = RowGroup(last.shard, last.index, last.rows - 1)
        return [g for g in groups if g.rows > 0]

    with ThreadPoolExecutor(16) as pool:  # one footer read per shard: latency-bound on object stores
        return [g for groups in pool.map(footer, shards) for g in groups]


class TokenLoader:
    """Batches of ``batch_size`` sequences of the split, forever (``cycle``) or for one epoch.

    ``next(loader)`` returns ``(inputs, targets)``: int64 tensors of shape (batch_size, seq_len)
    on ``device``, ``targets`` being ``inputs`` shifted by one token. Without ``cycle``, the last
    partial batch of the epoch is dropped, or handed out smaller with ``drop_last=False``.
    """

    def __init__(self, data_dir: str, split: str, batch_size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 device: str | torch.device = "cpu", shuffle: bool = True, cycle: bool = True, prefetch: int = 4,
                 manifest: dict[str, Any] | None = None, drop_last: bool = True):
        self.manifest = manifest or load_manifest(data_dir)
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.device = torch.device(device)
        self.shuffle, self.cycle, self.prefetch, self.drop_last = shuffle, cycle, max(1, prefetch), drop_last
        self.seq_len = int(self.manifest["seq_len"])
        self.width = self.seq_len + 1
        self.np_dtype = np.dtype(self.manifest["dtype"])
        self.torch_dtype = TORCH_DTYPES[self.manifest["dtype"]]
        self.groups = list_row_groups(data_dir, split, self.manifest)
        if len(self.groups) < world_size:
            raise InputError(
                f"{data_dir}: the {split} split has {len(self.groups)} row groups, fewer than the {world_size} processes that "
                "share it; tokenize with a smaller row_group_sequences or shard_sequences"
            )
        # what the order depends on, besides seed and ranks: a checkpoint only fits the same data
        self.fingerprint = hashlib.sha256(
            json.dumps([self.manifest.get("plan"), [(g.shard.rsplit("/", 2)[-2:], g.index, g.rows) for g in self.groups]]).encode()
        ).hexdigest()[:16]
        self._cursor = (0, 0, 0)  # (epoch, group, row): the next row to hand out
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self.pin = self.device.type == "cuda"

    @property
    def tokens_per_batch(self) -> int:
        return self.batch_size * self.seq_len

    # ------------------------------------------------------------------------------------------
    # The order: a pure function of (seed, epoch, rank, world_size)

    def _rank_groups(self, epoch: int) -> np.ndarray:
        """Indices into ``self.groups`` this process reads in ``epoch``, in order."""
        n = len(self.groups)
        order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        return order[self.rank :: self.world_size]

    def _row_order(self, epoch: int, group: int) -> np.ndarray:
        rows = self.groups[group].rows
        # the tokenize stage already shuffled documents globally; this varies batches across epochs
        return np.random.default_rng([self.seed, epoch, group]).permutation(rows) if self.shuffle else np.arange(rows)

    def _read(self, group: int) -> np.ndarray:
        g = self.groups[group]
        with contextlib.ExitStack() as stack:
            table = open_parquet(g.shard, stack).read_row_group(g.index, columns=["tokens"], use_threads=False)
        return row_group_array(table)  # (rows, width) view of Arrow's buffer: no copy

    # ------------------------------------------------------------------------------------------
    # The producer thread

    def _batches(self, cursor: tuple[int, int, int]) -> Iterator[tuple[torch.Tensor, tuple[int, int, int]]]:
        """(uint16 batch of shape (batch_size, width), cursor after it), from ``cursor`` on."""
        epoch, k, row = cursor
        mine = self._rank_groups(epoch)
        rows = order = None
        batch, filled = None, 0
        while True:
            if k == len(mine):  # end of this process's epoch
                if not self.cycle:
                    if filled and not self.drop_last:
                        yield batch[:filled], (epoch, k, row)
                    return
                epoch, k, mine = epoch + 1, 0, self._rank_groups(epoch + 1)
            if rows is None:
                rows, order = self._read(int(mine[k])), self._row_order(epoch, int(mine[k]))
            if batch is None:
                # pinned (page-locked) host memory: the copy to the GPU runs asynchronously, straight by DMA
                batch = torch.empty((self.batch_size, self.width), dtype=self.torch_dtype, pin_memory=self.pin)
                out = batch.numpy()
            n = min(self.batch_size - filled, len(order) - row)
            np.take(rows, order[row : row + n], axis=0, out=out[filled : filled + n])  # the one copy
            filled, row = filled + n, row + n
            if row == len(order):
                k, row, rows = k + 1, 0, None
            if filled == self.batch_size:
                yield batch, (epoch, k, row)
                batch, filled = None, 0

    def _run(self, cursor: tuple[int, int, int], q: queue.Queue, stop: threading.Event) -> None:
        try:
            for item in self._batches(cursor):
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(None)
        except BaseException as e:  # handed to the trainer, raised there
            q.put(e)

    def _start(self) -> None:
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self.prefetch)
        self._thread = threading.Thread(target=self._run, args=(self._cursor, self._queue, self._stop), daemon=True, name=f"loader-{self.split}")
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------------------------------
    # The trainer's side

    def __iter__(self) -> TokenLoader:
        return self

    def next_host(self) -> torch.Tensor:
        """The next batch as the uint16 (pinned) host tensor of (batch_size, seq_len + 1) tokens."""
        if self._thread is None:
            self._start()
        item = self._queue.get()
        if item is None:
            self._thread = None
            raise StopIteration
        if isinstance(item, BaseException):
            self._thread = None
            raise item
        batch, self._cursor = item
        return batch

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.next_host()
        # uint16 crosses the bus (a quarter of int64's bytes); widened on the device
        tokens = batch.to(self.device, dtype=torch.int64, non_blocking=True)
        return tokens[:, :-1], tokens[:, 1:]

    def state_dict(self) -> dict[str, Any]:
        epoch, group, row = self._cursor
        return {"split": self.split, "seed": self.seed, "shuffle": self.shuffle, "rank": self.rank, "world_size": self.world_size,
                "fingerprint": self.fingerprint, "epoch": epoch, "group": group, "row": row}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("split", "seed", "shuffle", "world_size", "rank", "fingerprint"):
            if state[key] != getattr(self, key):
                what = {"world_size": "number of processes", "fingerprint": "data (shards or row groups)"}.get(key, key)
                raise CurationError(f"cannot resume the {self.split} loader: the {what} changed (checkpoint: {state[key]!r}, now: {getattr(self, key)!r})")
        self.close()
        self._cursor = (int(state["epoch"]), int(state["group"]), int(state["row"]))

    def seek_epoch(self, epoch: int) -> None:
        """Continue from the start of ``epoch`` (``reset()``: epoch 0, as the validation loader does)."""
        self.close()
        self._cursor = (epoch, 0, 0)

    def reset(self) -> None:
        self.seek_epoch(0)
