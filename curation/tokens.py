"""The token shards' format, reading side: manifest, Parquet row groups as zero-copy NumPy views.

Kept apart from ``curation.tokenization`` (which writes the shards and needs pydantic and the
tokenizer) so that the trainer and anything else that only reads shards imports numpy, pyarrow and
fsspec alone.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import numpy as np

from curation.errors import InputError
from curation.io.fs import exists, filesystem, join, read_bytes

MANIFEST_FORMAT = "curation-tokens/1"


def token_dtype(dtype: str) -> np.dtype:
    return np.dtype("<u2" if dtype == "uint16" else "<u4")


def row_group_array(table_or_column) -> np.ndarray:
    """The ``tokens`` of a row group (a Table or its column) as a (rows, seq_len + 1) NumPy view, zero-copy."""
    col = table_or_column.column("tokens") if hasattr(table_or_column, "column") else table_or_column
    if hasattr(col, "num_chunks"):  # a ChunkedArray: one chunk per row group read
        col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    width = col.type.list_size
    values = col.values.slice(col.offset * width, len(col) * width)
    return values.to_numpy(zero_copy_only=True).reshape(-1, width)


def load_manifest(tokenize_dir: str) -> dict[str, Any]:
    url = join(tokenize_dir, "manifest.json")
    if not exists(url):
        raise InputError(f"{url} not found: is {tokenize_dir} the output of a complete tokenize stage?")
    return json.loads(read_bytes(url))


def open_parquet(url: str, stack: contextlib.ExitStack):
    """A ParquetFile: local files through pyarrow's own reader (fast), others through fsspec."""
    import pyarrow.parquet as pq

    fs, path = filesystem(url)
    if "://" not in url or url.startswith("file://"):
        return pq.ParquetFile(path)
    return pq.ParquetFile(stack.enter_context(fs.open(path, "rb")))
