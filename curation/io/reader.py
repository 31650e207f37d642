"""The first step of the extract stage: WARC records -> HTML documents.

Only ``response`` records with HTTP status 200 and an HTML payload become documents; every other
record is counted by reason (``request_record``, ``non_200``, ``non_html``, ``too_large``,
``undecodable``, ``damaged:<what>`` ...), so the statistics account for every record in a file.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from curation.document import Document
from curation.io.warc import WarcProblem, WarcRecord, iter_warc
from curation.stats import StepStats
from curation.step import PipelineStep, StepParams, register

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)


class WarcReaderParams(StepParams):
    content_types: list[str] = ["text/html", "application/xhtml+xml"]
    statuses: list[int] = [200]
    max_html_bytes: int = 5_000_000  # larger pages are counted as too_large, not extracted
    max_record_bytes: int = 64 << 20  # larger records are skipped without being read into memory


@register
class WarcReader(PipelineStep):
    """Read one WARC file into HTML documents."""

    name = "warc_reader"
    Params = WarcReaderParams

    def read(self, stream: BinaryIO, path: str, stats: StepStats) -> Iterator[Document]:
        p: WarcReaderParams = self.params
        gzipped = path.lower().endswith(".gz")
        for item in iter_warc(stream, gzipped, p.max_record_bytes):
            stats.docs_in += 1
            if isinstance(item, WarcProblem):
                log.warning("%s: byte %d: %s (%s)", path, item.offset, item.reason, item.detail)
                # a damaged record has no id: its sample entry names the file and byte offset instead
                stats.drop(Document(id=f"{path}@{item.offset}", text=item.detail, source=path), f"damaged:{item.reason}")
                continue
            stats.chars_in += len(item.payload)  # bytes of the records read, for the funnel
            doc = self._document(item, path, stats)
            if doc is not None:
                stats.docs_out += 1
                stats.chars_out += len(doc.text)
                yield doc

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
        if status not in p.statuses:
            stats.drop(stub, "non_200")
            return None
        mime = h.get("warc-identified-payload-type") or http_headers.get("content-type", "").split(";")[0]
        mime = mime.strip().lower() or sniff_mime(body)
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
