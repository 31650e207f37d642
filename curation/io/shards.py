"""Document shards: the one place that knows how a stage's documents are stored.

Two formats, one schema (``output_format`` in the pipeline file; Parquet by default):

- ``parquet``: one row per document, zstd-compressed, row groups of ``BATCH_DOCS`` documents;
- ``jsonl.gz``: one JSON object per line, gzip (what datatrove's ``JsonlWriter`` and dolma write),
  ``metadata`` as a nested object.

| field | type | meaning |
|---|---|---|
| id | string | WARC-Record-ID, the input's id, or ``<file>/<position>`` for a record without one |
| url | string | WARC-Target-URI (or the input's url) |
| date | string | WARC-Date, ISO 8601 (or the input's date) |
| text | string | main text (HTML before the extraction step) |
| source | string | the input file the document was read from |
| language | string | top fastText language (null before the language step) |
| language_score | double | its score (null before the language step) |
| metadata | string (JSON) / object | everything else steps recorded and the input's other columns |

Rejected documents (``OUTPUT/<stage>/rejected/``) carry two more fields: ``step`` (the label of the
step that dropped the document) and ``reason``.

Every stage writes through ``DocumentWriter`` and every reader of a run (the next stage, dedup,
tokenize, verify, inspect, report) reads through ``read_documents`` / ``read_columns``, so
either format works everywhere; the format of a file is told by its name.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curation.document import Document
from curation.errors import ConfigError, InputError
from curation.io.fs import AtomicFile, filesystem

FORMATS: dict[str, str] = {"parquet": ".parquet", "jsonl.gz": ".jsonl.gz"}  # format -> file suffix
DEFAULT_FORMAT = "parquet"
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("date", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
        ("metadata", pa.string()),
    ]
)
REJECTED_FIELDS = ("step", "reason")
REJECTED_SCHEMA = pa.schema([*SCHEMA, *((name, pa.string()) for name in REJECTED_FIELDS)])
BATCH_DOCS = 1000  # documents per row group
GZIP_LEVEL = 6


def check_format(name: str, where: str = "output_format") -> str:
    if name not in FORMATS:
        raise ConfigError(f"{where}: unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return name


def format_of(url: str) -> str:
    """The format of a shard file, from its name."""
    for name, suffix in FORMATS.items():
        if url.endswith(suffix):
            return name
    raise InputError(f"{url}: not a document shard (expected a name ending in {' or '.join(FORMATS.values())})")


def shard_stem(url: str) -> str | None:
    """The shard name of a shard file (its file name without the format's suffix), None for another file."""
    base = url.rsplit("/", 1)[-1]
    for suffix in FORMATS.values():
        if base.endswith(suffix) and not base.startswith("."):
            return base[: -len(suffix)]
    return None


# -- one document <-> one row ------------------------------------------------------------------


def to_row(doc: Document) -> dict[str, Any]:
    """A document as a row of the schema, ``metadata`` as a dict (sorted, so output is reproducible)."""
    meta = dict(doc.metadata)
    language = meta.pop("language", None)
    score = meta.pop("language_score", None)
    return {
        "id": doc.id,
        "url": doc.url,
        "date": doc.date,
        "text": doc.text,
        "source": doc.source,
        "language": None if language is None else str(language),
        "language_score": None if score is None else float(score),
        "metadata": dict(sorted(meta.items())),
    }


def from_row(row: dict[str, Any], url: str, position: int) -> Document:
    """A row of the schema (metadata as a JSON string or a dict) as a document."""
    raw = row.get("metadata")
    meta = json.loads(raw) if isinstance(raw, str) and raw else dict(raw) if isinstance(raw, dict) else {}
    if row.get("language") is not None:
        meta["language"] = row["language"]
    if row.get("language_score") is not None:
        meta["language_score"] = row["language_score"]
    doc_id = row.get("id")
    return Document(
        id=doc_id if doc_id is not None else f"{url}/{position}",
        text=row.get("text") or "",
        url=row.get("url") or "",
        date=row.get("date") or "",
        source=row.get("source") or "",
        metadata=meta,
    )


def _json_default(value: Any) -> str:
    return str(value)


def _metadata_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str) if meta else "{}"


# -- writing -----------------------------------------------------------------------------------


class DocumentWriter:
    """Streams documents into one shard file (either format) under a temporary name; ``commit``
    renames it into place, ``abort`` deletes it. ``rejected=True``: the rejected-documents schema,
    ``write(doc, step=..., reason=...)``."""

    def __init__(self, url: str, rejected: bool = False):
        self.url = url
        self.format = format_of(url)
        self.fields = REJECTED_FIELDS if rejected else ()
        self.schema = REJECTED_SCHEMA if rejected else SCHEMA
        self.written = 0
        self._pending: dict[str, list] = {name: [] for name in self.schema.names}
        self._rows = 0
        self._target = AtomicFile(url)
        if self.format == "parquet":
            stats_columns = ["id", "url", "date", "source", "language", *self.fields]
            self._parquet = pq.ParquetWriter(self._target.file, self.schema, compression="zstd", write_statistics=stats_columns)
        else:
            # no file name or time in the gzip header: the same documents give the same bytes
            self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._target.file, mtime=0, compresslevel=GZIP_LEVEL)

    def write(self, doc: Document, **extra: str) -> None:
        row = to_row(doc)
        for name in self.fields:
            row[name] = extra[name]
        if self.format == "parquet":
            row["metadata"] = _metadata_json(row["metadata"])
            for name, column in self._pending.items():
                column.append(row[name])
            self._rows += 1
            if self._rows >= BATCH_DOCS:
                self._flush()
        else:
            self._gzip.write(orjson.dumps(row, default=_json_default) + b"\n")
        self.written += 1

    def _flush(self) -> None:
        self._parquet.write_batch(pa.RecordBatch.from_pydict(self._pending, schema=self.schema))
        self._pending = {name: [] for name in self.schema.names}
        self._rows = 0

    def commit(self) -> int:
        """Finish the file and move it into place; returns the number of documents written."""
        try:
            if self.format == "parquet":
                if self._rows or self.written == 0:  # an empty shard still has the schema
                    self._flush()
                self._parquet.close()
            else:
                self._gzip.close()
        except BaseException:
            self._target.abort()
            raise
        self._target.commit()
        return self.written

    def abort(self) -> None:
        try:
            (self._parquet if self.format == "parquet" else self._gzip).close()
        except Exception:  # the file is deleted anyway
            pass
        self._target.abort()


def write_documents(url: str, docs: Iterable[Document]) -> int:
    """Stream ``docs`` into the shard ``url`` (its format told by its name), atomically; returns how many."""
    writer = DocumentWriter(url)
    try:
        for doc in docs:
            writer.write(doc)
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


# -- reading -----------------------------------------------------------------------------------


def _jsonl_rows(url: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line index, object) of a gzipped JSON Lines shard."""
    fs, path = filesystem(url)
    with fs.open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as f:
        for i, line in enumerate(f):
            if line.strip():
                try:
                    yield i, orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    raise InputError(f"{url}: line {i + 1} is not JSON ({e}): not a document shard written by this pipeline") from None


def shard_columns(url: str, default: set[str] | None = None) -> set[str]:
    """The fields a shard holds (a Parquet shard's columns; a JSON Lines shard's first row's keys;
    ``default``, else the document schema's, for an empty one)."""
    if format_of(url) == "parquet":
        fs, path = filesystem(url)
        with fs.open(path, "rb") as f:
            return set(pq.read_schema(f).names)
    for _, row in _jsonl_rows(url):
        return set(row)
    return set(SCHEMA.names) if default is None else default


def read_columns(url: str, columns: list[str], batch_size: int = BATCH_DOCS) -> Iterator[dict[str, list]]:
    """Batches of some fields of a shard as ``{field: [values]}``; a field the file lacks reads as None."""
    if format_of(url) == "parquet":
        fs, path = filesystem(url)
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            present = [c for c in columns if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(batch_size=batch_size, columns=present):
                cols = batch.to_pydict()
                yield {c: cols[c] if c in cols else [None] * batch.num_rows for c in columns}
        return
    pending: dict[str, list] = {c: [] for c in columns}
    n = 0
    for _, row in _jsonl_rows(url):
        for c in columns:
            pending[c].append(row.get(c))
        n += 1
        if n == batch_size:
            yield pending
            pending, n = {c: [] for c in columns}, 0
    if n:
        yield pending


def read_documents(url: str, batch_size: int = BATCH_DOCS) -> Iterator[Document]:
    """Stream the documents of a shard (either format), a row group or a batch of lines at a time.
    Fields the file lacks (a shard from elsewhere) read as empty; a missing id gets ``<file>/<row>``."""
    if format_of(url) == "parquet":
        row = 0
        for cols in read_columns(url, list(SCHEMA.names), batch_size):
            names = list(cols)
            for values in zip(*cols.values()):
                yield from_row(dict(zip(names, values)), url, row)
                row += 1
        return
    for i, obj in _jsonl_rows(url):
        yield from_row(obj, url, i)


def count_documents(url: str) -> int:
    """The number of documents in a shard (a Parquet footer; a JSON Lines shard is read through)."""
    if format_of(url) == "parquet":
        fs, path = filesystem(url)
        with fs.open(path, "rb") as f:
            return pq.ParquetFile(f).metadata.num_rows
    return sum(1 for _ in _jsonl_rows(url))


def iter_tables(url: str, columns: list[str], batch_size: int = BATCH_DOCS) -> Iterator[pa.Table]:
    """Batches of some fields of a shard as Arrow tables (the report's histograms)."""
    for cols in read_columns(url, columns, batch_size):
        yield pa.table({c: pa.array(v, type=SCHEMA.field(c).type if c in SCHEMA.names else None) for c, v in cols.items()})
