"""Kept for code that imports the document shard functions from here: they live in
``curation.io.shards``, which knows both shard formats (Parquet and JSON Lines)."""

from curation.io.shards import BATCH_DOCS, SCHEMA, read_documents, write_documents

__all__ = ["BATCH_DOCS", "SCHEMA", "read_documents", "write_documents"]
