"""Document shards: Parquet files with one documented schema, written atomically.

Schema (one row per document):

| column | type | meaning |
|---|---|---|
| id | string | WARC-Record-ID of the response record, e.g. ``<urn:uuid:...>`` |
| url | string | WARC-Target-URI |
| date | string | WARC-Date (ISO 8601, UTC) |
| text | string | extracted main text (after the extract stage) |
| source | string | the WARC file the document came from |
| language | string | top fastText language (null before the language step) |
| language_score | double | its score (null before the language step) |
| metadata | string | JSON object: everything else steps recorded (scores, counts) |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curation.document import Document
from curation.io.fs import atomic_write, filesystem

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
BATCH_DOCS = 1000  # documents per row group


def _batch(docs: list[Document]) -> pa.RecordBatch:
    cols: dict[str, list] = {name: [] for name in SCHEMA.names}
    for d in docs:
        meta = dict(d.metadata)
        cols["id"].append(d.id)
        cols["url"].append(d.url)
        cols["date"].append(d.date)
        cols["text"].append(d.text)
        cols["source"].append(d.source)
        cols["language"].append(meta.pop("language", None))
        score = meta.pop("language_score", None)
        cols["language_score"].append(None if score is None else float(score))
        cols["metadata"].append(json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str) if meta else "{}")
    return pa.RecordBatch.from_pydict(cols, schema=SCHEMA)


def write_documents(url: str, docs: Iterable[Document]) -> int:
    """Stream ``docs`` into a Parquet shard at ``url`` (atomically); return the number written."""
    written = 0

    def write(f) -> None:
        nonlocal written
        with pq.ParquetWriter(f, SCHEMA, compression="zstd", write_statistics=["id", "url", "date", "source", "language"]) as w:
            pending: list[Document] = []
            for doc in docs:
                pending.append(doc)
                if len(pending) >= BATCH_DOCS:
                    w.write_batch(_batch(pending))
                    written += len(pending)
                    pending = []
            if pending or written == 0:
                w.write_batch(_batch(pending))
                written += len(pending)

    atomic_write(url, write)
    return written


def read_documents(url: str, batch_size: int = BATCH_DOCS) -> Iterator[Document]:
    """Stream the documents of a shard, one row group at a time."""
    fs, path = filesystem(url)
    with fs.open(path, "rb") as f:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size):
            cols = batch.to_pydict()
            for i in range(batch.num_rows):
                meta = json.loads(cols["metadata"][i] or "{}")
                if cols["language"][i] is not None:
                    meta["language"] = cols["language"][i]
                if cols["language_score"][i] is not None:
                    meta["language_score"] = cols["language_score"][i]
                yield Document(
                    id=cols["id"][i],
                    text=cols["text"][i],
                    url=cols["url"][i],
                    date=cols["date"][i],
                    source=cols["source"][i],
                    metadata=meta,
                )
