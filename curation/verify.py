"""``curation verify OUTPUT``: check every finished shard against what the run recorded about it.

Document stages (read, extract, filter, dedup), in either shard format: each shard has a completion
marker and the marker a shard; the shard opens with the documented schema and holds the number of
documents its marker says; no document id appears in two shards of a stage; and nothing vanished
unaccounted: in the marker's statistics every document step passed on or dropped each document it
was handed, and where the stage kept its rejected documents, the shard's kept and rejected files
together hold every document the shard read. Tokens: every shard in the manifest exists with the
recorded sha256 and number of sequences, the recorded dtype and sequence length, and token ids
below the vocabulary size.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.io.fs import exists, filesystem, join, read_bytes
from curation.io.shards import REJECTED_SCHEMA, SCHEMA, format_of, read_columns, shard_columns
from curation.layout import StageLayout, stage_order
from curation.registry import STAGES, step_class


def _schema_problem(url: str, expected: pa.Schema) -> str | None:
    """How a shard's fields differ from the document schema (None: they do not)."""
    if format_of(url) == "parquet":
        fs, path = filesystem(url)
        with fs.open(path, "rb") as f:
            schema = pq.read_schema(f)
        return None if schema.equals(expected, check_metadata=False) else "schema differs from the document schema"
    names = shard_columns(url, default=set(expected.names))  # an empty JSON Lines file has no fields to check
    return None if names == set(expected.names) else f"fields {sorted(names)}, the document schema has {sorted(expected.names)}"


def _rows(url: str) -> list[Any]:
    return [v for batch in read_columns(url, ["id"]) for v in batch["id"]]


def _is_reader(step: dict[str, Any]) -> bool:
    """Whether a step of a marker's statistics is a reader (it counts records, not documents)."""
    try:
        return step_class(step["name"].split("#")[0]).kind == "reader"
    except Exception:  # noqa: BLE001 - a step of one's own code that no longer loads
        return False


def conservation_problems(where: str, marker: dict[str, Any]) -> list[str]:
    """Where a shard's statistics lose documents: a step handed a document neither passed it on nor
    dropped it, or a step did not get what the one before passed on, or the last one's output is
    not what the shard holds."""
    problems = []
    steps = [s for s in marker["stats"]["steps"] if not _is_reader(s)]
    readers = [s for s in marker["stats"]["steps"] if _is_reader(s)]
    handed = readers[0]["docs_out"] if readers else None
    for st in steps:
        dropped = sum(st["dropped"].values())
        if st["docs_in"] != st["docs_out"] + dropped:
            problems.append(f"{where}: step {st['name']} was handed {st['docs_in']} documents, passed on {st['docs_out']} and dropped {dropped}")
        if handed is not None and st["docs_in"] != handed:
            problems.append(f"{where}: step {st['name']} was handed {st['docs_in']} documents, the step before passed on {handed}")
        handed = st["docs_out"]
    if handed is not None and "documents" in marker and handed != marker["documents"]:
        problems.append(f"{where}: the last step passed on {handed} documents, the shard holds {marker['documents']}")
    return problems


def verify_documents(output: str, stage: str) -> tuple[int, list[str]]:
    """(shards checked, problems) for one document stage."""
    layout = StageLayout(output, stage)
    problems: list[str] = []
    markers = layout.done_names()
    shards, rejected = layout.shard_files(), layout.rejected_files()
    rel = {name: f"{stage}/shards/{url.rsplit('/', 1)[-1]}" for name, url in shards.items()}
    for name in sorted(set(shards) - set(markers)):
        problems.append(f"{rel[name]} has no completion marker (an unfinished or foreign file)")
    seen: dict[str, str] = {}
    for name in sorted(markers):
        marker = json.loads(read_bytes(layout.done(name)))
        if name not in shards:
            problems.append(f"{stage}/shards/{name} is missing but marked done")
            continue
        where = rel[name]
        try:
            problem = _schema_problem(shards[name], SCHEMA)
            ids = _rows(shards[name])
        except Exception as e:
            problems.append(f"{where} cannot be read: {type(e).__name__}: {e}")
            continue
        if problem:
            problems.append(f"{where}: {problem}")
        if "documents" in marker and len(ids) != marker["documents"]:
            problems.append(f"{where}: {len(ids)} rows, its marker says {marker['documents']}")
        for doc_id in ids:
            if doc_id in seen:
                problems.append(f"{stage}: document {doc_id} is in both {seen[doc_id]} and {name}")
            seen[doc_id] = name
        if "stats" in marker:
            problems += conservation_problems(where, marker)
        problems += _rejected_problems(stage, name, marker, rejected.get(name), len(ids))
    return len(markers), problems


def _rejected_problems(stage: str, name: str, marker: dict[str, Any], url: str | None, kept: int) -> list[str]:
    """A shard that kept its rejected documents: kept + rejected = read."""
    if "rejected" not in marker:
        return [f"{stage}/rejected/{url.rsplit('/', 1)[-1]} has no completion marker that counts it"] if url else []
    if url is None:
        return [f"{stage}/rejected/{name}: missing, but its marker counts {marker['rejected']} rejected documents"]
    where = f"{stage}/rejected/{url.rsplit('/', 1)[-1]}"
    try:
        problem = _schema_problem(url, REJECTED_SCHEMA)
        rows = len(_rows(url))
    except Exception as e:
        return [f"{where} cannot be read: {type(e).__name__}: {e}"]
    problems = [f"{where}: {problem}"] if problem else []
    if rows != marker["rejected"]:
        problems.append(f"{where}: {rows} rows, its marker says {marker['rejected']}")
    if "read" in marker and kept + rows != marker["read"]:
        problems.append(f"{stage}/{name}: {kept} kept + {rows} rejected = {kept + rows} documents, but the shard read {marker['read']}: "
                        f"{marker['read'] - kept - rows} vanished unaccounted")
    return problems


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
    for stage in (s for s in stage_order(output) if STAGES[s].documents):
        layout = StageLayout(output, stage)
        if layout.done_names() or layout.shard_files():
            checked[stage], found = verify_documents(output, stage)
            problems += found
    if exists(join(output, "tokenize", "manifest.json")):
        checked["tokenize"], found = verify_tokens(output)
        problems += found
    return checked, problems
