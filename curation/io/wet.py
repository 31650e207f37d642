"""Common Crawl WET files: the plain text Common Crawl extracted from each page, read as documents.

A WET file is a WARC file of ``conversion`` records (one per page: WARC-Target-URI, WARC-Date, the
page's text as the block) after one ``warcinfo`` record. Each conversion record becomes a document
whose text is already the main text, so a run on WET files has no extraction step: it starts at
the filter stage (``--stages filter,dedup,tokenize``), and a crawl id names the crawl's
``wet.paths.gz`` listing. Damaged records are counted as the WARC reader counts them.
"""

from __future__ import annotations

from curation.document import Document
from curation.io.reader import WarcReader
from curation.io.warc import WarcRecord
from curation.stats import StepStats
from curation.step import StepParams


class WetReaderParams(StepParams):
    max_record_bytes: int = 64 << 20  # larger records are skipped without being read into memory


class WetReader(WarcReader):
    """Read one WET file into text documents."""

    name = "wet_reader"
    Params = WetReaderParams
    suffixes = (".wet", ".wet.gz")
    html = False
    crawl_listing = "wet.paths.gz"
    record_type = "conversion"

    def preflight(self) -> None:
        pass  # no libmagic: nothing to sniff

    def _document(self, record: WarcRecord, path: str, stats: StepStats) -> Document | None:
        h = record.headers
        rec_id = h.get("warc-record-id", f"{path}@{record.offset}")
        url = h.get("warc-target-uri", "").strip("<>")
        if record.type != "conversion":
            stats.drop(Document(id=rec_id, text="", url=url, source=path), f"{record.type or 'untyped'}_record")
            return None
        try:
            text = record.payload.decode("utf-8")
        except UnicodeDecodeError:  # Common Crawl writes UTF-8; keep what decodes, and say so
            text = record.payload.decode("utf-8", "replace")
            stats.count("invalid_utf8")
        if not text.strip():
            stats.drop(Document(id=rec_id, text="", url=url, source=path), "empty")
            return None
        return Document(id=rec_id, text=text, url=url, date=h.get("warc-date", ""), source=path)
