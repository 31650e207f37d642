"""Token shards -> llm.c / modded-nanogpt ``.bin`` files, and reading them back."""

from __future__ import annotations

import contextlib
from typing import BinaryIO

import numpy as np

from curation.errors import CurationError, InputError
from curation.io.fs import atomic_write, filesystem, join, read_bytes
from curation.tokenization.split import SPLITS
from curation.tokens import load_manifest, open_parquet, row_group_array, token_dtype

BIN_MAGIC = 20240520  # llm.c / modded-nanogpt token files
BIN_HEADER_INTS = 256


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
