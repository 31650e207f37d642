"""JSON Lines documents: one JSON object per line, plain or compressed (gzip, zstandard), e.g. what
datatrove's ``JsonlWriter`` and dolma write, or this pipeline's ``output_format: jsonl.gz``.

The file is streamed (local, ``s3://``, ``https://``; a dropped connection resumes where it was),
one line at a time. A line that is not JSON, or not a JSON object, is counted under
``damaged:bad_json`` / ``damaged:not_an_object`` with its file and line (1-based, as an editor
shows it) and the rest of the file is read; a compressed stream cut off or corrupt part-way is
counted as ``damaged:truncated`` at the line it reached, keeping what came before. A file with no
readable line fails its shard alone. Part ``p`` of ``n`` reads every ``n``-th line from the
``p``-th. Field mapping and ids: ``curation.io.columns``.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from curation.document import Document
from curation.errors import InputError
from curation.io.columns import ColumnMapping, ColumnsParams
from curation.io.fs import RetryingReader
from curation.stats import StepStats
from curation.step import ReaderStep

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
FIELD_SAMPLE_LINES = 100  # lines looked at to learn which fields a file has


def _decompressed(stream: BinaryIO, url: str) -> Any:
    name = url.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    return stream


def iter_lines(stream: Any) -> Iterator[bytes]:
    """The lines of a binary stream, read in chunks (without their line ends). A decompressing stream
    is read with ``read1`` (what one read of the file gives), so the lines before a corrupt or
    cut-off part are handed on before its error."""
    read = getattr(stream, "read1", stream.read)
    rest = b""
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            if rest:
                yield rest
            return
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines


class JsonlReader(ReaderStep):
    """Read one JSON Lines file of documents."""

    name = "jsonl_reader"
    Params = ColumnsParams
    suffixes = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".ndjson", ".ndjson.gz")
    splittable = True

    def fields(self, url: str) -> set[str] | None:
        """The fields of the first records (a field counts when any of them has it)."""
        names: set[str] = set()
        seen = 0
        with RetryingReader(url) as stream:
            for line in iter_lines(_decompressed(stream, url)):  # type: ignore[arg-type]
                try:
                    record = orjson.loads(line) if line.strip() else None
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    names.update(record)
                    if isinstance(record.get("metadata"), dict):  # datatrove keeps url and date there
                        names.update(record["metadata"])
                    seen += 1
                    if seen == FIELD_SAMPLE_LINES:
                        break
        return ColumnMapping(self.params, url).fields(names) if seen else None

    def read(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        mapping = ColumnMapping(self.params, url)
        readable = damaged = 0
        with RetryingReader(url, on_retry=lambda: stats.count("io_retries")) as stream:
            lines = iter_lines(_decompressed(stream, url))  # type: ignore[arg-type]
            index = -1
            while True:
                try:
                    line = next(lines)
                except StopIteration:
                    break
                except Exception as e:  # noqa: BLE001 - a corrupt or cut-off compressed stream
                    if not isinstance(e, (OSError, EOFError, zlib.error)) and type(e).__name__ != "ZstdError":
                        raise  # not the data's fault (the source gave up after its retries, ...)
                    if (index + 1) % parts == part:  # every part reads up to here: one of them counts it
                        damaged += 1
                        self._damaged(url, index + 2, "truncated", f"{type(e).__name__}: {e}", stats)
                    break
                index += 1
                if not line.strip() or index % parts != part:
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    damaged += 1
                    self._damaged(url, index + 1, "bad_json", f"{e}: {line[:200]!r}", stats)
                    continue
                if not isinstance(record, dict):
                    damaged += 1
                    self._damaged(url, index + 1, "not_an_object", repr(record)[:200], stats)
                    continue
                readable += 1
                doc = mapping.counted(record, index, stats)
                if doc is not None:
                    yield doc
        if damaged and not readable:
            raise InputError(f"{url}: no readable JSON line ({dict(stats.dropped)}; first: {next(iter(stats.samples.values()))[0]['text'][:200]})")

    @staticmethod
    def _damaged(url: str, line: int, what: str, detail: str, stats: StepStats) -> None:
        log.warning("%s: line %d: %s (%s)", url, line, what, detail)
        stats.docs_in += 1
        stats.drop(Document(id=f"{url}:{line}", text=detail, source=url), f"damaged:{what}")
