"""Phase 1 of the tokenize stage: one input shard -> per-split intermediate files sorted by key.

An intermediate file (``_work/parts/<input shard>.<split>.tok``) holds the shard's documents of one
split in key order, and a table of where each of the 2^16 key bins begins, so phase 2 reads one
bin range of it with a few byte-range requests (on S3 too), never the whole file::

    header (64 bytes)   magic, bin bits, token itemsize, documents, tokens, EOS id
    uint64[2^16 + 1]    first document of each bin
    uint64[2^16 + 1]    first token of each bin
    uint64[docs]        keys          uint32[docs] tokens per document (EOS included)
    uint32[docs]        characters    uint16/uint32[tokens] the tokens: EOS doc EOS doc ...
"""

from __future__ import annotations

import json
import os
import struct
import time
from typing import Any, BinaryIO

import numpy as np
import xxhash

from curation.document import Document
from curation.errors import CurationError, InputError
from curation.io.fs import atomic_write, atomic_write_bytes, filesystem, with_retries
from curation.io.shards import read_columns, shard_columns
from curation.layout import StageLayout
from curation.resources import TaskMeter
from curation.stats import StepStats
from curation.tasks import current_attempt
from curation.tokenization.split import SPLITS, VAL_SEED, val_threshold
from curation.tokenization.step import STAGE, params_of, phase1_fingerprint
from curation.tokenization.tokenizer import load_tokenizer, tokenizer_info
from curation.tokens import token_dtype

BIN_BITS = 16  # key bins: shards are ranges of bins, so a split has at most 2^16 shards
N_BINS = 1 << BIN_BITS
PART_MAGIC = b"CURTOK01"
PART_HEADER = struct.Struct("<8sIIQQQ")  # magic, bin bits, token itemsize, docs, tokens, eos id
PART_HEADER_SIZE = 64


def work_file(layout: StageLayout, part: str, split: str) -> str:
    """The intermediate file of input shard ``part``'s documents in ``split``."""
    return layout.work("parts", f"{part}.{split}.tok")


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


def gather(tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> np.ndarray:
    """tokens[starts[i]:starts[i] + lengths[i]] for i in order, concatenated."""
    out = np.empty(int(lengths.sum()), dtype=tokens.dtype)
    pos = 0
    for i in order.tolist():
        n = int(lengths[i])
        s = int(starts[i])
        out[pos : pos + n] = tokens[s : s + n]
        pos += n
    return out


def tokenize_part(stage_steps: list[dict[str, Any]], part: str, input_url: str, layout: StageLayout) -> dict[str, Any]:
    """Phase 1 for one input shard: tokenize, split, sort by key, write intermediates and the marker."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one task per core: no threads inside a task
    meter = TaskMeter()
    params = params_of(stage_steps)
    info = tokenizer_info(params.tokenizer, params.eos_token)
    tok = load_tokenizer(params.tokenizer)
    encode_fn = getattr(tok, "encode_batch_fast", tok.encode_batch)
    dtype = token_dtype(info.dtype)
    threshold = val_threshold(params.val_fraction)
    st = StepStats(STAGE)
    per_split: dict[str, dict[str, list]] = {s: {"keys": [], "ntok": [], "nchars": [], "tokens": [], "dates": []} for s in SPLITS}
    by_language: dict[str, dict[str, dict[str, int]]] = {s: {} for s in SPLITS}  # split -> language -> documents, tokens
    months: dict[str, dict[str, int]] = {s: {} for s in SPLITS}  # documents per month ("YYYY-MM") of each split
    eos = info.eos_id

    names = shard_columns(input_url)
    if not {"id", "text"} <= names:
        raise InputError(f"{input_url}: not a document shard (needs columns id and text; has {sorted(names)})")
    for batch in read_columns(input_url, ["id", "text", "url", "date", "language"], params.batch_size):
        texts = [t or "" for t in batch["text"]]
        ids = batch["id"]
        dates, langs, urls = batch["date"], batch["language"], batch["url"]
        t0 = time.perf_counter()
        encs = encode_fn(texts, add_special_tokens=False)
        flat: dict[str, list[int]] = {s: [] for s in SPLITS}  # EOS doc EOS doc ... per split
        for i, (doc_id, text, enc) in enumerate(zip(ids, texts, encs)):
            st.docs_in += 1
            st.chars_in += len(text)
            toks = enc.ids
            if not toks:
                st.drop(Document(id=doc_id, text=text, url=urls[i] or "", date=dates[i] or ""), "empty")
                continue
            raw = doc_id.encode("utf-8", "surrogatepass")  # split.is_val and split.doc_key, the id encoded once
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
            if langs[i]:
                counts = by_language[split].setdefault(langs[i], {"documents": 0, "tokens": 0})
                counts["documents"] += 1
                counts["tokens"] += len(toks) + 1
        for split, out in flat.items():
            if out:
                per_split[split]["tokens"].append(np.array(out, dtype=dtype))
        st.seconds += time.perf_counter() - t0
    splits_info: dict[str, Any] = {}
    for split, acc in per_split.items():
        n = len(acc["keys"])
        if not n:
            splits_info[split] = {"documents": 0, "tokens": 0, "chars": 0, "date_min": None, "date_max": None, "languages": {}}
            continue
        t0 = time.perf_counter()
        keys = np.array(acc["keys"], dtype=np.uint64)
        ntok = np.array(acc["ntok"], dtype=np.int64)
        nchars = np.array(acc["nchars"], dtype=np.int64)
        tokens = np.concatenate(acc["tokens"])
        acc["tokens"] = []
        total = len(tokens)
        order = np.argsort(keys, kind="stable")
        tokens = gather(tokens, np.cumsum(ntok) - ntok, ntok, order)
        _write_part(work_file(layout, part, split), keys[order], ntok[order], nchars[order], tokens, eos)
        st.seconds += time.perf_counter() - t0
        splits_info[split] = {
            "documents": n, "tokens": total, "chars": int(nchars.sum()),
            "date_min": min(acc["dates"]) if acc["dates"] else None, "date_max": max(acc["dates"]) if acc["dates"] else None,
            "languages": dict(sorted(by_language[split].items())),
        }
        st.count(f"{split}_documents", n)
        st.count("tokens_encoded", total)
    stats = meter.stage_stats(STAGE, [st], task_retries=current_attempt() - 1)
    marker = {
        "shard": f"tokenize-{part}",
        "phase": "tokenize",
        "input": input_url,
        "stage": STAGE,
        "fingerprint": phase1_fingerprint(params),
        "tokenizer": info.to_dict(),
        "dtype": info.dtype,
        "splits": splits_info,
        "months": {split: dict(sorted(counts.items())) for split, counts in months.items()},
        "stats": stats.to_dict(),
    }
    atomic_write_bytes(layout.done(f"tokenize-{part}"), json.dumps(marker, ensure_ascii=False).encode())
    return marker


def read_range(url: str, b0: int, b1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
