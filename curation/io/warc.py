"""A streaming WARC (and ARC) parser that survives damaged files.

Readers in the wild (warcio, fastwarc) stop at the first broken gzip member or bad header and lose
the rest of the file. Here each problem becomes a ``WarcProblem`` naming the byte offset and a
reason, and parsing resumes at the next good record:

- per-record gzip (Common Crawl's layout): a corrupt or truncated member is skipped by scanning for
  the next gzip magic; a member's bytes are checked (CRC) before any of them is parsed;
- garbage between records: skipped up to the next ``WARC/1.x`` line;
- a wrong ``Content-Length``: detected by the missing record trailer, the record is reported and
  parsing resumes at the next record header;
- a record cut off at the end of the file: reported.

Memory stays bounded: the file is read in chunks, and a record larger than ``max_record_bytes`` is
skipped without being held.

ARC files (Common Crawl's 2008-2012 crawls, older Internet Archive crawls; ``.arc``, ``.arc.gz``)
are read by the same loop, told apart by their first line, and handed on as warcio's ``arc2warc``
mode hands them: the ``filedesc://`` record as ``warcinfo``, every other record as a ``response``
with ``WARC-Target-URI`` (spaces as ``%20``), ``WARC-IP-Address``, ``WARC-Date`` (ISO 8601) and
``Content-Length``. ARC records have no id (a reader names them by file and byte offset) and no
trailer, so a record whose ``Archive-length`` runs past the end of the file is read as far as it
goes, as warcio does, and marked with the bytes it lacks (``WarcRecord.truncated``). The field
order is ARC v1's unless the ``filedesc://`` record lists others (ARC v2).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_HEADER_BYTES = 1 << 20
# Members larger than this are streamed without waiting for their CRC (whole-file gzip).
MEMBER_BUFFER_LIMIT = 64 << 20
_NEXT_RECORD = re.compile(rb"(?:^|\n)(WARC/[01]\.\d+\r?\n)")
# An ARC header line: URL IP-address Archive-date Content-type Archive-length (v1; v2 has more fields)
_ARC_LINE = rb"[A-Za-z][A-Za-z0-9+.-]*:[^\n]* \S+ \d{8,} [^ \n]* -?\d+\r?\n"
_NEXT_ARC = re.compile(rb"(?:^|\n)(" + _ARC_LINE + rb")")
_ARC_HEADER = re.compile(_ARC_LINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ARC_V1_FIELDS = ("url", "ip-address", "archive-date", "content-type", "archive-length")


@dataclass(slots=True)
class WarcRecord:
    offset: int  # byte offset in the file (compressed) of the record's start (its gzip member)
    headers: dict[str, str]  # WARC headers, keys lower-cased
    payload: bytes  # the content block
    truncated: int = 0  # ARC only: bytes of the record missing at the end of the file

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "")


@dataclass(slots=True)
class WarcProblem:
    offset: int
    reason: str  # corrupt_gzip_member, truncated_gzip_member, garbage, bad_header, wrong_content_length, truncated_record, record_too_large
    detail: str = ""


class _Decompressed:
    """Bytes of the file after decompression, with the file offset each part came from."""

    def __init__(self, raw: BinaryIO, gzipped: bool):
        self.raw = raw
        self.gzipped = gzipped
        self.raw_pos = 0  # offset in the file of the start of ``pending``
        self.pending = b""  # compressed bytes read but not yet decompressed
        self.eof = False
        self.problems: list[WarcProblem] = []

    def _read_raw(self) -> bool:
        chunk = self.raw.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.pending += chunk
        return True

    def blocks(self) -> Iterator[tuple[int, bytes]]:
        """Yield (file offset, decompressed bytes) blocks; problems accumulate in ``self.problems``."""
        if not self.gzipped:
            while True:
                chunk = self.raw.read(CHUNK)
                if not chunk:
                    return
                yield self.raw_pos, chunk
                self.raw_pos += len(chunk)
        while True:
            if not self.pending and not self._read_raw():
                return
            yield from self._member()

    def _member(self) -> Iterator[tuple[int, bytes]]:
        start = self.raw_pos
        while len(self.pending) < 3 and self._read_raw():
            pass
        if not self.pending.startswith(GZIP_MAGIC):
            self._resync(start, "garbage", "bytes that are not a gzip member")
            return
        d = zlib.decompressobj(31)
        out: list[bytes] = []
        held = 0
        streamed = False
        while True:
            try:
                data = d.decompress(self.pending)
            except zlib.error as e:
                if streamed:
                    self.problems.append(WarcProblem(start, "corrupt_gzip_member", f"{e} (after streaming {held} bytes)"))
                else:
                    self.problems.append(WarcProblem(start, "corrupt_gzip_member", str(e)))
                self._skip_to_next_member(start + 1)
                return
            consumed = len(self.pending) - len(d.unused_data) if d.eof else len(self.pending)
            self.raw_pos += consumed
            self.pending = d.unused_data if d.eof else b""
            if data:
                out.append(data)
                held += len(data)
            if d.eof:
                break
            if held > MEMBER_BUFFER_LIMIT:  # a whole-file gzip: stream it, trusting the CRC at the end
                streamed = True
                yield start, b"".join(out)
                out, held = [], 0
            if not self._read_raw():
                self.problems.append(WarcProblem(start, "truncated_gzip_member", "file ends inside a gzip member"))
                if streamed and out:
                    yield start, b"".join(out)
                return
        if out:
            yield start, b"".join(out)

    def _skip_to_next_member(self, search_from: int) -> None:
        """Drop compressed bytes up to the next gzip magic at or after file offset ``search_from``."""
        # pending starts at raw_pos; after a failed member, rewind is impossible, so search what we hold.
        rel = max(search_from - self.raw_pos, 0)
        while True:
            idx = self.pending.find(GZIP_MAGIC, rel)
            if idx >= 0:
                self.raw_pos += idx
                self.pending = self.pending[idx:]
                return
            keep = self.pending[-2:]
            self.raw_pos += len(self.pending) - len(keep)
            self.pending = keep
            rel = 0
            if not self._read_raw():
                self.raw_pos += len(self.pending)
                self.pending = b""
                return

    def _resync(self, start: int, reason: str, detail: str) -> None:
        self.problems.append(WarcProblem(start, reason, detail))
        self._skip_to_next_member(start + 1)


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def arc_timestamp(value: str) -> str:
    """An ARC 14-digit timestamp as ISO 8601 (longer ones cut to 14 digits, as warcio does); a
    value that is not a date is passed on as it is."""
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return value


def parse_arc_header(line: bytes, fields: tuple[str, ...]) -> dict[str, str] | None:
    """The fields of an ARC header line (split from the right, so a URL may hold spaces), or None
    when the line is not one."""
    text = _decode_line(line.rstrip(b"\r\n"))
    parts = text.rsplit(" ", len(fields) - 1)
    if len(parts) != len(fields) or not _SCHEME.match(parts[0]):
        return None
    return dict(zip(fields, parts))


def _arc_warc_headers(arc: dict[str, str], length: int) -> dict[str, str]:
    """An ARC record's header line as the WARC headers warcio's arc2warc gives it."""
    url = arc.get("url", "")
    date = arc_timestamp(arc.get("archive-date", ""))
    if url.startswith("filedesc://"):
        return {"warc-type": "warcinfo", "warc-filename": url[len("filedesc://"):], "warc-ip-address": arc.get("ip-address", ""),
                "warc-date": date, "content-type": arc.get("content-type", ""), "content-length": str(length)}
    return {"warc-type": "response", "warc-target-uri": url.replace(" ", "%20"), "warc-ip-address": arc.get("ip-address", ""),
            "warc-date": date, "content-type": "application/http;msgtype=response", "content-length": str(length)}


def iter_warc(raw: BinaryIO, gzipped: bool, max_record_bytes: int = 64 << 20) -> Iterator[WarcRecord | WarcProblem]:
    """Parse a WARC (or ARC) stream into records, reporting each problem in place of the record it spoiled."""
    source = _Decompressed(raw, gzipped)
    blocks = source.blocks()
    buf = bytearray()
    # (position in buf, file offset) of each block still in buf, to map a record to its file offset.
    marks: list[tuple[int, int]] = []
    done = False
    mode: str | None = None  # "warc" or "arc", from the first record read: where to resynchronise
    arc_fields = ARC_V1_FIELDS

    def fill(n: int) -> bool:
        nonlocal done
        while len(buf) < n and not done:
            try:
                off, data = next(blocks)
            except StopIteration:
                done = True
                break
            marks.append((len(buf), off))
            buf.extend(data)
        return len(buf) >= n

    def offset_at(pos: int) -> int:
        best = marks[0] if marks else (0, source.raw_pos)
        for mark in marks:
            if mark[0] > pos:
                break
            best = mark
        # uncompressed: exact byte offset; gzip: the offset of the member the record starts in
        return best[1] if gzipped else best[1] + (pos - best[0])

    def consume(n: int) -> None:
        del buf[:n]
        shifted = [(p - n, off) for p, off in marks]
        # keep the last mark at or before 0, and all later ones
        keep_from = 0
        for i, (p, _) in enumerate(shifted):
            if p <= 0:
                keep_from = i
        marks[:] = [(0, off if gzipped else off - p) if p < 0 else (p, off) for p, off in shifted[keep_from:]]

    def drain_problems() -> Iterator[WarcProblem]:
        while source.problems:
            yield source.problems.pop(0)

    def next_header(start: int) -> int | None:
        """Where the next record header begins at or after ``start`` (reading on as needed), or None."""
        patterns = {"warc": (_NEXT_RECORD,), "arc": (_NEXT_ARC,)}.get(mode or "", (_NEXT_RECORD, _NEXT_ARC))
        while True:
            found = [m.start(1) for m in (p.search(buf, start) for p in patterns) if m is not None]
            if found:
                return min(found)
            if not fill(len(buf) + CHUNK):
                return None

    def line_end() -> int:
        """The end of the first line in buf (reading on up to MAX_HEADER_BYTES), or -1."""
        while True:
            nl = buf.find(b"\n")
            if nl >= 0 or len(buf) > MAX_HEADER_BYTES or not fill(len(buf) + CHUNK):
                return nl

    def skip(n: int) -> None:
        """Drop ``n`` bytes from the front, reading on as needed (a record too large to hold)."""
        while n > 0:
            if not fill(min(n, CHUNK)):
                consume(len(buf))
                return
            k = min(n, len(buf))
            consume(k)
            n -= k

    def arc_record(arc: dict[str, str], body: int, start_offset: int) -> Iterator[WarcRecord | WarcProblem]:
        """The ARC record whose header line ends at ``body``."""
        nonlocal arc_fields
        try:
            length = int(arc.get("archive-length", ""))
            if length < 0:
                raise ValueError
        except ValueError:
            yield WarcProblem(start_offset, "bad_header", f"invalid Archive-length {arc.get('archive-length')!r}")
            m = next_header(body - 1)
            consume(m if m is not None else len(buf))
            return
        if length > max_record_bytes:
            yield WarcProblem(start_offset, "record_too_large", f"{length} bytes > max_record_bytes={max_record_bytes}")
            skip(body + length)
            return
        complete = fill(body + length + 1)  # and the newline after it
        end = min(body + length, len(buf))
        if complete and buf[end : end + 1] != b"\n" and not buf.startswith(b"WARC/", end) and not _ARC_HEADER.match(buf, end):
            m = next_header(body - 1)
            yield from drain_problems()
            yield WarcProblem(start_offset, "wrong_content_length", f"Archive-length {length} does not end at a record boundary")
            consume(m if m is not None else len(buf))
            return
        content = bytes(buf[body:end])
        headers = _arc_warc_headers(arc, length)
        if headers["warc-type"] == "warcinfo":  # the version and field-names lines count in its length, as warcio reads it
            version, _, rest = content.partition(b"\n")
            names, _, content = rest.partition(b"\n")
            fields = tuple(_decode_line(names).strip().lower().split())
            if "url" in fields and "archive-length" in fields:
                arc_fields = fields  # ARC v2 lists more fields than v1's five
        consume(end)
        yield from drain_problems()
        yield WarcRecord(start_offset, headers, content, body + length - end)

    while True:
        # skip the blank lines between records
        while True:
            fill(2)
            if buf[:2] == b"\r\n":
                consume(2)
            elif buf[:1] == b"\n":
                consume(1)
            else:
                break
        yield from drain_problems()
        if not fill(1):
            yield from drain_problems()
            return
        start_offset = offset_at(0)
        fill(8)
        if not buf.startswith(b"WARC/"):
            nl = line_end()
            arc = parse_arc_header(bytes(buf[:nl]), arc_fields) if nl >= 0 else None
            if arc is None:
                m = next_header(1)
                yield WarcProblem(start_offset, "garbage", "bytes between records that are not a WARC or ARC header")
                consume(m if m is not None else len(buf))
                continue
            mode = "arc"
            yield from arc_record(arc, nl + 1, start_offset)
            continue
        mode = "warc"
        # header block
        end = -1
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0 or len(buf) > MAX_HEADER_BYTES or not fill(len(buf) + CHUNK):
                break
        if end < 0:
            yield WarcProblem(start_offset, "truncated_record", "file ends inside a record header")
            consume(len(buf))
            continue
        headers: dict[str, str] = {}
        for line in bytes(buf[:end]).split(b"\r\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep:
                headers[key.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
        try:
            length = int(headers.get("content-length", ""))
            if length < 0:
                raise ValueError
        except ValueError:
            yield WarcProblem(start_offset, "bad_header", f"missing or invalid Content-Length {headers.get('content-length')!r}")
            m = _NEXT_RECORD.search(buf, 1)
            consume(m.start(1) if m else end + 4)
            continue
        body = end + 4
        if length > max_record_bytes:
            yield WarcProblem(start_offset, "record_too_large", f"{length} bytes > max_record_bytes={max_record_bytes}")
            remaining = body + length
            while remaining > 0:
                if not fill(min(remaining, CHUNK)):
                    remaining = 0
                    consume(len(buf))
                    break
                n = min(remaining, len(buf))
                consume(n)
                remaining -= n
            continue
        complete = fill(body + length + 4)
        trailer = bytes(buf[body + length : body + length + 4])
        if trailer == b"\r\n\r\n" or (not complete and trailer in (b"", b"\r\n") and len(buf) >= body + length):
            record = WarcRecord(start_offset, headers, bytes(buf[body : body + length]))
            consume(min(len(buf), body + length + 4))
            yield from drain_problems()
            yield record
            continue
        if not complete:
            yield from drain_problems()
            yield WarcProblem(start_offset, "truncated_record", f"file ends {body + length - len(buf)} bytes before the record's end")
            consume(len(buf))
            continue
        # Content-Length disagrees with the data: resume at the next record header after this one's.
        m = _NEXT_RECORD.search(buf, body)
        yield WarcProblem(start_offset, "wrong_content_length", f"Content-Length {length} does not end at a record boundary")
        consume(m.start(1) if m else body + length + 4)
