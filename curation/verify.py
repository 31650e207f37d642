"""``curation verify OUTPUT``: check every finished shard against what the run recorded about it.

Document stages (extract, filter, dedup): each shard has a completion marker and the marker a
shard; the shard opens with the documented schema and holds the number of documents its marker
says; no document id appears in two shards of a stage. Tokens: every shard in the manifest exists
with the recorded sha256 and number of sequences, the recorded dtype and sequence length, and
token ids below the vocabulary size.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq

from curation.io.fs import exists, filesystem, join, list_files, read_bytes
from curation.io.parquet import SCHEMA


def _name(url: str, suffix: str) -> str:
    return url.rsplit("/", 1)[-1][: -len(suffix)]


def verify_documents(output: str, stage: str) -> tuple[int, list[str]]:
    """(shards checked, problems) for one document stage."""
    stage_dir = join(output, stage)
    problems: list[str] = []
    markers = {_name(u, ".json"): u for u in list_files(join(stage_dir, "_done"), ".json")}
    shards = {_name(u, ".parquet"): u for u in list_files(join(stage_dir, "shards"), ".parquet")}
    for name in sorted(set(shards) - set(markers)):
        problems.append(f"{stage}/shards/{name}.parquet has no completion marker (an unfinished or foreign file)")
    seen: dict[str, str] = {}
    for name in sorted(markers):
        marker = json.loads(read_bytes(markers[name]))
        if name not in shards:
            problems.append(f"{stage}/shards/{name}.parquet is missing but marked done")
            continue
        fs, path = filesystem(shards[name])
        try:
            with fs.open(path, "rb") as f:
                table = pq.read_table(f, columns=["id"])
                f.seek(0)
                schema = pq.read_schema(f)
        except Exception as e:
            problems.append(f"{stage}/shards/{name}.parquet cannot be read: {type(e).__name__}: {e}")
            continue
        if not schema.equals(SCHEMA, check_metadata=False):
            problems.append(f"{stage}/shards/{name}.parquet: schema differs from the document schema")
        if "documents" in marker and table.num_rows != marker["documents"]:
            problems.append(f"{stage}/shards/{name}.parquet: {table.num_rows} rows, its marker says {marker['documents']}")
        for doc_id in table.column("id").to_pylist():
            if doc_id in seen:
                problems.append(f"{stage}: document {doc_id} is in both {seen[doc_id]} and {name}")
            seen[doc_id] = name
    return len(markers), problems


def verify_tokens(output: str) -> tuple[int, list[str]]:
    """(shards checked, problems) for the tokenize stage, against its manifest."""
    tok_dir = join(output, "tokenize")
    manifest = json.loads(read_bytes(join(tok_dir, "manifest.json")))
    vocab, length, dtype = manifest["vocab_size"], manifest["sequence_tokens"], np.dtype(manifest["dtype"])
    problems: list[str] = []
    checked = 0
    for info in manifest["splits"].values():
        for shard in info["shards"]:
            checked += 1
            url = join(tok_dir, shard["path"])
            where = f"tokenize/{shard['path']}"
            if not exists(url):
                problems.append(f"{where} is in the manifest but missing")
                continue
            data = read_bytes(url)
            if hashlib.sha256(data).hexdigest() != shard["sha256"]:
                problems.append(f"{where}: sha256 differs from the manifest")
            fs, path = filesystem(url)
            try:
                with fs.open(path, "rb") as f:
                    table = pq.read_table(f, columns=["tokens"])
            except Exception as e:
                problems.append(f"{where} cannot be read: {type(e).__name__}: {e}")
                continue
            if table.num_rows != shard["sequences"]:
                problems.append(f"{where}: {table.num_rows} sequences, the manifest says {shard['sequences']}")
            col = table.column("tokens").type
            if getattr(col, "list_size", None) != length or col.value_type.to_pandas_dtype() != dtype:
                problems.append(f"{where}: tokens are {col}, the manifest says {dtype}[{length}]")
            for chunk in table.column("tokens").chunks:
                values = chunk.values.to_numpy(zero_copy_only=False)
                if values.size and int(values.max()) >= vocab:
                    problems.append(f"{where}: token id {int(values.max())} is not below the vocabulary size {vocab}")
                    break
    return checked, problems


def verify(output: str) -> tuple[dict[str, int], list[str]]:
    """Shards checked per stage, and every problem found."""
    checked: dict[str, int] = {}
    problems: list[str] = []
    for stage in ("extract", "filter", "dedup"):
        if list_files(join(output, stage, "_done"), ".json") or list_files(join(output, stage, "shards"), ".parquet"):
            checked[stage], found = verify_documents(output, stage)
            problems += found
    if exists(join(output, "tokenize", "manifest.json")):
        checked["tokenize"], found = verify_tokens(output)
        problems += found
    return checked, problems
