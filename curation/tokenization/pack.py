"""Phase 2 of the tokenize stage: one key range of a split, from every intermediate file, packed into
rows of ``seq_len + 1`` tokens and written as one Parquet shard (with its sha256, computed while writing)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, BinaryIO

import numpy as np

from curation.io.fs import atomic_write, atomic_write_bytes, join
from curation.layout import StageLayout
from curation.resources import TaskMeter
from curation.stats import StepStats
from curation.tokenization.parts import N_BINS, gather, read_range, work_file
from curation.tokenization.step import STAGE, TokenizeStep, params_of
from curation.tokenization.tokenizer import TokenizerInfo
from curation.tokens import MANIFEST_FORMAT, token_dtype


def shard_schema(info: TokenizerInfo, params: TokenizeStep.Params, split: str):
    import pyarrow as pa

    width = params.seq_len + 1
    item = pa.uint16() if info.dtype == "uint16" else pa.uint32()
    start = pa.uint16() if width <= 0xFFFF else pa.int32()
    meta = {
        "curation.tokenize": json.dumps(
            {"format": MANIFEST_FORMAT, "tokenizer": info.name, "tokenizer_sha256": info.sha256, "eos_id": info.eos_id,
             "vocab_size": info.vocab_size, "seq_len": params.seq_len, "seed": params.seed, "split": split},
            sort_keys=True,
        )
    }
    return pa.schema(
        [
            pa.field("tokens", pa.list_(pa.field("item", item, nullable=False), width), nullable=False),
            pa.field("doc_starts", pa.list_(pa.field("item", start, nullable=False)), nullable=False),
            pa.field("num_tokens", pa.int32(), nullable=False),
        ],
        metadata=meta,
    )


class _HashingSink:
    """A write-only file wrapper that hashes (sha256) and counts what goes through it."""

    def __init__(self, f: BinaryIO):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        self.sha.update(data)
        n = len(memoryview(data).cast("B"))
        self.size += n
        self.f.write(data)
        return n

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:  # the caller closes the real file
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False


def _bin_range(index: int, n_shards: int) -> tuple[int, int]:
    return index * N_BINS // n_shards, (index + 1) * N_BINS // n_shards


def shard_path(split: str, index: int) -> str:
    return f"{split}/part-{index:05d}.parquet"


def pack_shard(
    stage_steps: list[dict[str, Any]], info: TokenizerInfo, split: str, index: int, n_shards: int, parts: list[str], layout: StageLayout, plan: str
) -> dict[str, Any]:
    """Phase 2 for one output shard: documents of key bins [b0, b1) of ``split``, packed and written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meter = TaskMeter()
    params = params_of(stage_steps)
    dtype = token_dtype(info.dtype)  # the tokenizer itself is not needed here
    width = params.seq_len + 1
    b0, b1 = _bin_range(index, n_shards)
    pieces = [read_range(work_file(layout, p, split), b0, b1) for p in parts]
    keys = np.concatenate([p[0] for p in pieces]) if pieces else np.empty(0, "<u8")
    ntok = np.concatenate([p[1] for p in pieces]).astype(np.int64) if pieces else np.empty(0, np.int64)
    nchars = np.concatenate([p[2] for p in pieces]).astype(np.int64) if pieces else np.empty(0, np.int64)
    tokens = np.concatenate([p[3] for p in pieces]) if pieces else np.empty(0, dtype)
    del pieces
    order = np.argsort(keys, kind="stable")  # ties (equal ids) keep input-shard order: deterministic
    starts = np.cumsum(ntok) - ntok
    stream = gather(tokens, starts, ntok, order).astype(dtype, copy=False)
    del tokens
    lengths = ntok[order]
    doc_pos = np.cumsum(lengths) - lengths  # where each document (its EOS) starts in the stream
    total = len(stream)
    n_full, rem = divmod(total, width)
    num_tokens = np.full(n_full, width, dtype=np.int32)
    padding = 0
    if params.last_sequence == "pad" and rem:
        padding = width - rem
        stream = np.concatenate([stream, np.full(padding, info.eos_id, dtype=dtype)])
        num_tokens = np.append(num_tokens, np.int32(rem))
        kept = total
    else:
        stream = stream[: n_full * width]
        kept = n_full * width
    n_rows = len(num_tokens)
    n_docs_out = int(np.searchsorted(doc_pos, kept, side="left"))
    starts_kept = doc_pos[:n_docs_out]
    row_offsets = np.searchsorted(starts_kept, np.arange(n_rows + 1, dtype=np.int64) * width, side="left").astype(np.int32)

    schema = shard_schema(info, params, split)
    tokens_type = schema.field("tokens").type
    starts_type = schema.field("doc_starts").type
    table = pa.Table.from_arrays(
        [
            pa.FixedSizeListArray.from_arrays(pa.array(stream, type=tokens_type.value_type), type=tokens_type),
            pa.ListArray.from_arrays(
                pa.array(row_offsets, type=pa.int32()),
                pa.array((starts_kept % width).astype(np.uint16 if starts_type.value_type == pa.uint16() else np.int32)),
                type=starts_type,
            ),
            pa.array(num_tokens, type=pa.int32()),
        ],
        schema=schema,
    )
    rel = shard_path(split, index)
    digest: dict[str, Any] = {}

    def write(f: BinaryIO) -> None:
        sink = _HashingSink(f)
        with pq.ParquetWriter(
            sink,
            schema,
            compression=params.compression,
            use_dictionary=False,
            write_statistics=False,
            data_page_size=1 << 20,
        ) as w:
            w.write_table(table, row_group_size=params.row_group_sequences)
        digest.update(sha256=sink.sha.hexdigest(), bytes=sink.size)

    atomic_write(join(layout.dir, rel), write)

    st = StepStats(STAGE)
    st.docs_out = n_docs_out
    st.chars_out = int(nchars[order][:n_docs_out].sum())
    if len(order) > n_docs_out:
        st.dropped["last_partial_sequence"] += len(order) - n_docs_out
    st.count("sequences", n_rows)
    st.count("tokens", n_rows * width)
    st.count(f"{split}_sequences", n_rows)
    st.count(f"{split}_tokens", n_rows * width)
    if padding:
        st.count("tokens_padding", padding)
    if total - kept:
        st.count("tokens_dropped_last_sequence", total - kept)
    st.seconds = time.perf_counter() - meter.t_wall
    stats = meter.stage_stats(STAGE, [st], shards=0)  # shards counts input shards (phase 1)
    marker = {
        "shard": f"pack-{split}-{index:05d}",
        "phase": "pack",
        "stage": STAGE,
        "plan": plan,
        "split": split,
        "index": index,
        "path": rel,
        "sequences": n_rows,
        "tokens": n_rows * width,
        "padding_tokens": padding,
        "documents": n_docs_out,
        "sha256": digest["sha256"],
        "bytes": digest["bytes"],
        "stats": stats.to_dict(),
    }
    atomic_write_bytes(layout.done(f"pack-{split}-{index:05d}"), json.dumps(marker, ensure_ascii=False).encode())
    return marker
