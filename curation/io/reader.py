"""The first step of the extract stage: WARC (and ARC) records -> HTML documents.

Only ``response`` records with an accepted HTTP status (``statuses``: 200 by default, or ``any``)
and an HTML payload become documents; every other record is counted by reason (``request_record``,
``non_200``, ``non_html``, ``too_large``, ``undecodable``, ``damaged:<what>`` ...), so the
statistics account for every record in a file.

A payload is HTML when its WARC-Identified-Payload-Type is one of ``content_types``. Records
without that header (older crawls, wget) are decided by ``mime_fallback``: ``http`` takes the HTTP
Content-Type, else a look at the first bytes of the body; ``libmagic`` does what datatrove's
WarcReader (FineWeb's) does: libmagic on the body as warcio's ``content_stream()`` gives it.
"""

from __future__ import annotations

import functools
import logging
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO, Literal

from pydantic import field_validator

from curation.document import Document
from curation.errors import CurationError, InputError
from curation.io.fs import RetryingReader
from curation.io.warc import WarcProblem, WarcRecord, iter_warc
from curation.stats import StepStats
from curation.step import ReaderStep, StepParams

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)


class WarcReaderParams(StepParams):
    content_types: list[str] = ["text/html", "application/xhtml+xml"]
    # HTTP statuses read; the others are counted as non_200. "any": every status (datatrove/FineWeb).
    statuses: list[int] | Literal["any"] = [200]
    # What decides "HTML" for a record without WARC-Identified-Payload-Type: "http" = the HTTP
    # Content-Type, else a look at the body's first bytes; "libmagic" = libmagic on the decoded body,
    # as datatrove's WarcReader does (needs python-magic and the system libmagic).
    mime_fallback: Literal["http", "libmagic"] = "http"
    max_html_bytes: int = 5_000_000  # larger pages are counted as too_large, not extracted
    max_record_bytes: int = 64 << 20  # larger records are skipped without being read into memory

    @field_validator("statuses", mode="before")
    @classmethod
    def _statuses(cls, v):
        usage = "'any' or a list of HTTP status codes such as [200]"
        if isinstance(v, str):
            if v != "any":
                raise ValueError(f"expected {usage}")
            return v
        if not isinstance(v, (list, tuple)) or not v:
            raise ValueError(f"expected {usage}")
        if not all(isinstance(x, int) and not isinstance(x, bool) and 100 <= x <= 599 for x in v):
            raise ValueError(f"expected {usage} (status codes are integers from 100 to 599)")
        return list(v)


class WarcReader(ReaderStep):
    """Read one WARC or ARC file into HTML documents."""

    name = "warc_reader"
    Params = WarcReaderParams
    suffixes = (".warc", ".warc.gz", ".arc", ".arc.gz")
    splittable = True
    html = True
    crawl_listing = "warc.paths.gz"
    record_type = "response"  # the records that become documents (dealt out in turn between parts)

    def preflight(self) -> None:
        if self.params.mime_fallback == "libmagic":
            libmagic()  # one line naming what is missing, before any work

    def read(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        """The documents of the WARC file ``url`` (local, s3://, https://), read as a stream that
        reopens and resumes where it was on transient errors (each retry counted as ``io_retries``)."""
        with RetryingReader(url, on_retry=lambda: stats.count("io_retries")) as stream:
            yield from self.read_stream(stream, url, stats, part, parts)

    def read_stream(self, stream: BinaryIO, path: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        """The documents of one WARC stream, or of its part ``part`` of ``parts``: every ``parts``-th
        response record starting at the ``part``-th (each part still decompresses the whole file, so
        only files much larger than a task's fair share are split)."""
        p: WarcReaderParams = self.params
        gzipped = path.lower().endswith(".gz")
        records = damaged = responses = 0  # in the whole file, every part: a file with no readable record fails
        for item in iter_warc(stream, gzipped, p.max_record_bytes):
            records += 1
            damaged += isinstance(item, WarcProblem)
            # responses are dealt out in turn (record types come in cycles: counting every record
            # would give one part all of them); other records by their index in the file
            is_response = isinstance(item, WarcRecord) and item.type == self.record_type
            slot = responses if is_response else records
            responses += is_response
            if slot % parts != part:
                continue
            stats.docs_in += 1
            if isinstance(item, WarcProblem):
                log.warning("%s: byte %d: %s (%s)", path, item.offset, item.reason, item.detail)
                # a damaged record has no id: its sample entry names the file and byte offset instead
                stats.drop(Document(id=f"{path}@{item.offset}", text=item.detail, source=path), f"damaged:{item.reason}")
                continue
            stats.chars_in += len(item.payload)  # bytes of the records read, for the funnel
            if item.truncated:  # an ARC record cut off by the end of the file, read as far as it goes
                stats.count("truncated_record_read")
            doc = self._document(item, path, stats)
            if doc is not None:
                stats.docs_out += 1
                stats.chars_out += len(doc.text)
                yield doc
        if records and records == damaged:
            raise InputError(f"{path}: no readable WARC record in this file (neither WARC nor ARC; {dict(stats.dropped)})")

    def _document(self, record: WarcRecord, path: str, stats: StepStats) -> Document | None:
        p: WarcReaderParams = self.params
        h = record.headers
        rec_id = h.get("warc-record-id", f"{path}@{record.offset}")
        url = (h.get("warc-target-uri") or h.get("uri", "")).strip("<>")  # wget writes <uri>, as WARC/1.0's grammar did
        stub = Document(id=rec_id, text="", url=url, source=path)
        if record.type != "response":
            stats.drop(stub, f"{record.type or 'untyped'}_record")
            return None
        if not url.lower().startswith(("http://", "https://")):
            stats.drop(stub, "non_http")  # e.g. dns: records of Heritrix crawls
            return None
        try:
            status, http_headers, body = parse_http_response(record.payload)
        except ValueError as e:
            stub.text = str(e)
            stats.drop(stub, "bad_http_response")
            return None
        if p.statuses != "any" and status not in p.statuses:
            stats.drop(stub, "non_200")
            return None
        mime = h.get("warc-identified-payload-type", "").strip().lower()
        if not mime and p.mime_fallback == "libmagic":
            mime = libmagic().from_buffer(warcio_content(body, http_headers))
        elif not mime:
            mime = http_headers.get("content-type", "").split(";")[0].strip().lower() or sniff_mime(body)
        if mime not in p.content_types:
            stats.drop(stub, "non_html")
            return None
        try:
            body = decode_transfer(body, http_headers)
        except ValueError as e:
            stub.text = str(e)
            stats.drop(stub, "bad_content_encoding")
            return None
        if len(body) > p.max_html_bytes:
            stats.drop(stub, "too_large")
            return None
        decoded = decode_html(body, http_headers.get("content-type", ""), stats)
        if decoded is None:
            stats.drop(stub, "undecodable")
            return None
        html, charset = decoded
        doc = Document(id=rec_id, text=html, url=url, date=h.get("warc-date") or h.get("archive-date", ""), source=path)
        if charset != "utf-8":
            doc.metadata["charset"] = charset
        return doc


def parse_http_response(payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split an HTTP response into (status, headers with lower-cased keys, body)."""
    head, sep, body = payload.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = payload.partition(b"\n\n")
    lines = head.split(b"\n")
    status_line = lines[0].strip().split(None, 2)
    if not sep or len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {lines[0][:60]!r}")
    try:
        status = int(status_line[1])
    except ValueError as e:
        raise ValueError(f"bad HTTP status line: {lines[0][:60]!r}") from e
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, colon, value = line.partition(b":")
        if colon:
            headers[key.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return status, headers, body


def decode_transfer(body: bytes, headers: dict[str, str]) -> bytes:
    """Undo chunked transfer encoding and gzip/deflate/br content encoding (as warcio does)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    encoding = headers.get("content-encoding", "").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(47).decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -15)
        if encoding == "br":
            import brotli

            return brotli.decompress(body)
    except Exception as e:
        raise ValueError(f"cannot undo Content-Encoding {encoding}: {e}") from e
    return body


def dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        nl = body.find(b"\r\n", pos)
        if nl < 0:
            return body if not out else b"".join(out)  # not really chunked: keep what we have
        try:
            size = int(body[pos:nl].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body if not out else b"".join(out)
        if size == 0:
            return b"".join(out)
        out.append(body[nl + 2 : nl + 2 + size])
        pos = nl + 2 + size + 2


_WARCIO_BLOCK = 16384  # warcio.utils.BUFF_SIZE: warcio reads (and decompresses) in blocks of this size


def warcio_content(body: bytes, headers: dict[str, str]) -> bytes:
    """The HTTP body as warcio's ``ArcWarcRecord.content_stream().read()`` gives it (warcio 1.8.2),
    i.e. the bytes datatrove's WarcReader sniffs with libmagic and decodes.

    Like warcio: de-chunked only when Transfer-Encoding is exactly ``chunked``, falling back to the
    raw bytes from the first chunk header that does not parse; Content-Encoding ``gzip``, its
    alias ``x-gzip`` (since warcio 1.8.2), ``deflate`` (zlib, else raw deflate) and ``br`` undone
    (any other value left alone); a body that does not decompress from its start passed on as it
    is, and a failure after some output ends it; nothing after the end of the compressed stream.
    (warcio's ``br`` decoder needs brotlicffi since 1.8.2 and failed outright with brotli >= 1.1
    before; here it simply decodes.) ``decode_transfer`` is the strict version used for the HTML.
    """
    encoding = headers.get("content-encoding", "").lower()
    if encoding == "x-gzip":
        encoding = "gzip"
    blocks = _warcio_chunks(body) if headers.get("transfer-encoding") == "chunked" else _warcio_blocks(body)
    if encoding not in ("gzip", "deflate", "br"):
        return b"".join(blocks)
    return _warcio_decompress(blocks, encoding)


def _warcio_blocks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), _WARCIO_BLOCK):
        yield data[i : i + _WARCIO_BLOCK]


def _warcio_chunks(body: bytes) -> Iterator[bytes]:
    """warcio's ChunkedDataReader, as the blocks it hands to its decompressor."""
    pos, n = 0, len(body)
    while pos < n:
        nl = body.find(b"\n", pos, pos + 64)  # readline(64)
        end = nl + 1 if nl >= 0 else min(pos + 64, n)
        header, pos = body[pos:end], end
        try:
            if header[-2:] != b"\r\n":
                raise ValueError
            size = int(header[:-2].split(b";")[0], 16)
            if size > 2**31:
                raise ValueError
        except ValueError:  # not chunked after all: the rest as it is, from this line on
            yield header
            yield from _warcio_blocks(body[pos:])
            return
        if size == 0:
            if body[pos : pos + 2] != b"\r\n":
                yield header
                yield from _warcio_blocks(body[pos + 2 :])
            return
        data = body[pos : pos + size]
        pos += len(data)
        if len(data) < size:  # cut off in the middle of a chunk
            yield data
            return
        if body[pos : pos + 2] != b"\r\n":  # no CRLF after the chunk: the rest as it is
            yield header + data
            yield from _warcio_blocks(body[pos + 2 :])
            return
        pos += 2
        yield data


def _warcio_decompress(blocks: Iterator[bytes], encoding: str) -> bytes:
    """warcio's BufferedReader._decompress over the blocks."""
    if encoding == "br":
        import brotli

        decomp = brotli.Decompressor()
        decompress, finished = decomp.process, decomp.is_finished
    else:
        decomp = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        decompress, finished = decomp.decompress, lambda: decomp.eof
    out: list[bytes] = []
    produced = 0
    for block in blocks:
        if decompress is None:
            out.append(block)
            continue
        if finished():
            break
        try:
            data = decompress(block)
        except Exception:  # noqa: BLE001 - any decoder error, as warcio catches
            if produced:
                break  # warcio logs it and returns nothing more
            if encoding == "deflate":  # warcio retries the first block as raw deflate, then gives up
                encoding = "deflate_alt"
                alt = zlib.decompressobj(-zlib.MAX_WBITS)
                decompress, finished = alt.decompress, lambda alt=alt: alt.eof
                try:
                    data = decompress(block)
                except zlib.error:
                    decompress, data = None, block
            else:
                decompress, data = None, block
        out.append(data)
        produced += len(data)
    return b"".join(out)


@functools.cache
def libmagic():
    """python-magic's Magic(mime=True) (what ``magic.from_buffer(..., mime=True)`` uses), loaded once per process."""
    try:
        import magic

        return magic.Magic(mime=True)
    except ImportError as e:  # python-magic missing, or the system libmagic it loads
        raise CurationError(
            f"warc_reader: mime_fallback: libmagic needs python-magic and the system libmagic "
            f"(apt install libmagic1 / brew install libmagic): {e}"
        ) from None


def sniff_mime(body: bytes) -> str:
    start = body[:1024].lstrip().lower()
    return "text/html" if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) else "application/octet-stream"


def decode_html(body: bytes, content_type: str, stats: StepStats) -> tuple[str, str] | None:
    """(text, charset): UTF-8 first (as datatrove does), then the declared charset, then detection.

    datatrove goes straight from UTF-8 to detection (cchardet); where a page declares its charset
    we trust the declaration, which avoids mojibake such as "fⁿr" for "für" on windows-1252 pages.
    """
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = None
    if "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'")
    elif m := _META_CHARSET.search(body[:4096]):
        declared = m.group(1).decode("ascii", "ignore").lower()
    if declared and declared not in ("utf-8", "utf8"):
        try:
            html = body.decode(declared)
            stats.count("charset_declared")
            return html, declared
        except (UnicodeDecodeError, LookupError):
            pass
    import cchardet

    detected = cchardet.detect(body).get("encoding")
    if detected:
        try:
            html = body.decode(detected)
            stats.count("charset_detected")
            return html, detected.lower()
        except (UnicodeDecodeError, LookupError):
            pass
    return None
