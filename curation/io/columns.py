"""From a record of someone else's dataset (a Parquet row, a JSON line, a `datasets` row) to a document.

The reader's settings say which fields hold the text, id, url and date (``text_key`` ... default:
``text``, ``id``, ``url``, ``date``: FineWeb's, datatrove's and dolma's names; dolma's date is
``created``). Every other field is kept in the document's ``metadata``, and a ``metadata`` field
holding an object (or its JSON text, as this pipeline's own Parquet shards do) is merged into it,
as datatrove's readers do; so this pipeline's own output reads back as it was written.

A ``url`` or ``date`` found only inside ``metadata`` (where datatrove keeps them) is taken from there.
A record without an id gets ``<file>/<position>``: the input file as given and the record's
0-based position in it (the line for JSON Lines, counting every line; the row for Parquet and
Arrow). It is stable: the same file at the same path gives the same ids, on every run and
whatever the number of workers. A record whose text is missing, null, empty or not a string is
counted as ``no_text`` and skipped (datatrove skips them too).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import Field

from curation.document import Document
from curation.stats import StepStats
from curation.step import StepParams

DOCUMENT_FIELDS = ("id", "url", "date", "text")


class ColumnsParams(StepParams):
    """Settings shared by the readers of tabular datasets (Parquet, JSON Lines, `datasets`)."""

    text_key: str = Field("text", description="the field holding the document's text")
    id_key: str = Field("id", description="the field holding its id (missing: <file>/<position>)")
    url_key: str = Field("url", description="the field holding its URL (missing: empty)")
    date_key: str = Field("date", description="the field holding its date (missing: empty); dolma: created")

    def key(self, field: str) -> str:
        return getattr(self, f"{field}_key")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _merged_metadata(value: Any) -> dict[str, Any]:
    """A ``metadata`` field: an object (or JSON text of one) is merged; anything else kept as it is."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {"metadata": value}
        value = parsed
    if isinstance(value, dict):
        return dict(value)
    return {} if value is None else {"metadata": value}


class ColumnMapping:
    """Turns records of one input file into documents, with the reader's field names."""

    def __init__(self, params: ColumnsParams, source: str):
        self.source = source
        self.keys = {field: params.key(field) for field in DOCUMENT_FIELDS}
        self.mapped = set(self.keys.values())

    def fields(self, names: set[str]) -> set[str]:
        """The document fields that records with the fields ``names`` fill (an id is always made)."""
        return {"id"} | {field for field, key in self.keys.items() if key in names}

    def missing_text(self, names: set[str]) -> str | None:
        """An error naming the text field when a file's schema lacks it (a wrong ``text_key``)."""
        key = self.keys["text"]
        if key in names:
            return None
        return f"{self.source}: no field {key!r} (text_key) to read the text from; its fields: {', '.join(sorted(names))}"

    def document(self, record: dict[str, Any], position: int) -> Document | None:
        """The document of one record (``record`` is consumed), or None when it has no text."""
        text = record.pop(self.keys["text"], None)
        if not isinstance(text, str) or not text:
            return None
        doc_id = record.pop(self.keys["id"], None)
        url = record.pop(self.keys["url"], None)
        date = record.pop(self.keys["date"], None)
        metadata = _merged_metadata(record.pop("metadata", None)) if "metadata" not in self.mapped else {}
        # datatrove writes url and date inside metadata (its JsonlWriter, FineWeb's JSON files)
        if url is None:
            url = metadata.pop(self.keys["url"], None)
        if date is None:
            date = metadata.pop(self.keys["date"], None)
        for key, value in record.items():
            if value is not None:
                metadata[key] = value
        return Document(
            id=str(doc_id) if doc_id is not None and doc_id != "" else f"{self.source}/{position}",
            text=text,
            url="" if url is None else str(url),
            date="" if date is None else _date(date),
            source=self.source,
            metadata=metadata,
        )

    def counted(self, record: dict[str, Any], position: int, stats: StepStats) -> Document | None:
        """``document``, counted in the reader's ``stats``: a record without text is dropped as ``no_text``."""
        stats.docs_in += 1
        text = record.get(self.keys["text"])
        doc = self.document(record, position)
        if doc is None:
            stats.drop(Document(id=f"{self.source}/{position}", text=repr(text)[:200], source=self.source), "no_text")
            return None
        stats.chars_in += len(doc.text)
        stats.docs_out += 1
        stats.chars_out += len(doc.text)
        return doc
