"""Readers of columnar datasets: Parquet files (FineWeb, a hub dataset's Parquet shards, this
pipeline's own shards) and Hugging Face ``datasets`` saved with ``save_to_disk`` (Arrow files).

Both read a file one row group (Parquet) or record batch (Arrow) at a time, so memory holds one
group whatever the file's size, and both can read a part of a file: part ``p`` of ``n`` reads the
``p``-th of ``n`` contiguous runs of row groups (Arrow: every ``n``-th record batch), so a large
file in a small run keeps several workers busy. A row group that cannot be decoded is counted
under ``damaged:row_group`` (its rows as ``docs_in``) with the file and group named, and the rest
of the file is read; a file that does not open, or whose every group is damaged, fails its shard
alone. Field mapping and ids: ``curation.io.columns``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from curation.document import Document
from curation.errors import InputError
from curation.io.columns import ColumnMapping, ColumnsParams
from curation.io.fs import filesystem, with_retries
from curation.stats import StepStats
from curation.step import ReaderStep

log = logging.getLogger(__name__)


class TableReaderParams(ColumnsParams):
    batch_size: int = Field(1000, ge=1, description="rows turned into documents at a time")


def _open(url: str, stats: StepStats) -> Any:
    fs, path = filesystem(url)
    return with_retries(lambda: fs.open(path, "rb"), url, on_retry=lambda: stats.count("io_retries"))


def _damaged(url: str, what: str, rows: int, error: BaseException, stats: StepStats) -> None:
    """Count ``rows`` rows lost to a group that does not decode, naming file and group."""
    detail = f"{type(error).__name__}: {error}"
    log.warning("%s: %s: %d rows not read (%s)", url, what, rows, detail)
    stats.docs_in += rows
    stats.dropped["damaged:row_group"] += rows - 1
    stats.drop(Document(id=f"{url}:{what}", text=detail, source=url), "damaged:row_group")


class _TableReader(ReaderStep):
    Params = TableReaderParams
    splittable = True

    def _emit(self, mapping: ColumnMapping, batch: pa.RecordBatch, first_row: int, stats: StepStats) -> Iterator[Document]:
        """The documents of one batch whose first row is row ``first_row`` of the file."""
        for i, record in enumerate(batch.to_pylist()):
            doc = mapping.counted(record, first_row + i, stats)
            if doc is not None:
                yield doc


class ParquetReader(_TableReader):
    """Read one Parquet file of documents, row group by row group."""

    name = "parquet_reader"
    suffixes = (".parquet",)

    def fields(self, url: str) -> set[str] | None:
        with _open(url, StepStats(self.label)) as f:
            return ColumnMapping(self.params, url).fields(set(pq.read_schema(f).names))

    def read(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        yield from self.read_parquet(url, stats, part, parts)

    def read_parquet(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        mapping = ColumnMapping(self.params, url)
        with _open(url, stats) as f:
            try:
                pf = pq.ParquetFile(f)
            except Exception as e:  # a truncated or foreign file: its shard fails, the others go on
                raise InputError(f"{url}: not a readable Parquet file ({type(e).__name__}: {e})") from None
            problem = mapping.missing_text(set(pf.schema_arrow.names))
            if problem:
                raise InputError(problem)
            meta = pf.metadata
            starts = [0]
            for g in range(meta.num_row_groups):
                starts.append(starts[-1] + meta.row_group(g).num_rows)
            groups = range(meta.num_row_groups)
            mine = groups[part * len(groups) // parts : (part + 1) * len(groups) // parts]
            damaged = 0
            for g in mine:
                row = starts[g]
                try:
                    for batch in pf.iter_batches(batch_size=self.params.batch_size, row_groups=[g], use_threads=False):
                        yield from self._emit(mapping, batch, row, stats)
                        row += batch.num_rows
                except Exception as e:  # noqa: BLE001 - a damaged group is counted; the file goes on
                    damaged += 1
                    _damaged(url, f"row group {g}", starts[g + 1] - row, e, stats)
            if mine and damaged == len(mine):
                raise InputError(f"{url}: no readable row group ({damaged} damaged; first: {stats.samples['damaged:row_group'][0]['text']})")


class HFDatasetReader(ParquetReader):
    """Read a Hugging Face ``datasets`` dataset: the Arrow files ``save_to_disk`` writes (give the
    folder: every ``.arrow`` file in it, a ``DatasetDict``'s splits included), or a hub dataset's
    Parquet shards (read as ``parquet_reader`` reads them)."""

    name = "hf_dataset_reader"
    suffixes = (".arrow", ".parquet")

    def fields(self, url: str) -> set[str] | None:
        if url.endswith(".parquet"):
            return super().fields(url)
        with _open(url, StepStats(self.label)) as f:
            return ColumnMapping(self.params, url).fields(set(pa.ipc.open_stream(f).schema.names))

    def read(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        if url.endswith(".parquet"):
            yield from self.read_parquet(url, stats, part, parts)
            return
        mapping = ColumnMapping(self.params, url)
        with _open(url, stats) as f:
            try:
                batches = pa.ipc.open_stream(f)
            except Exception as e:
                raise InputError(f"{url}: not an Arrow file of a saved dataset ({type(e).__name__}: {e})") from None
            problem = mapping.missing_text(set(batches.schema.names))
            if problem:
                raise InputError(problem)
            row = 0
            for k in itertools.count():
                try:
                    batch = batches.read_next_batch()
                except StopIteration:
                    return
                except Exception as e:  # the stream cannot be resynchronised: what follows is lost
                    _damaged(url, f"record batch {k}", 1, e, stats)
                    if row == 0:
                        raise InputError(f"{url}: no readable record batch ({type(e).__name__}: {e})") from None
                    return
                if k % parts == part:
                    for start in range(0, batch.num_rows, self.params.batch_size):
                        yield from self._emit(mapping, batch.slice(start, self.params.batch_size), row + start, stats)
                row += batch.num_rows
