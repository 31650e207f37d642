"""A streaming WARC parser that survives damaged files.

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
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_HEADER_BYTES = 1 << 20
# Members larger than this are streamed without waiting for their CRC (whole-file gzip).
MEMBER_BUFFER_LIMIT = 64 << 20
_NEXT_RECORD = re.compile(rb"(?:^|\n)(WARC/[01]\.\d+\r?\n)")


@dataclass(slots=True)
class WarcRecord:
    offset: int  # byte offset in the file (compressed) of the record's start (its gzip member)
    headers: dict[str, str]  # WARC headers, keys lower-cased
    payload: bytes  # the content block

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


def iter_warc(raw: BinaryIO, gzipped: bool, max_record_bytes: int = 64 << 20) -> Iterator[WarcRecord | WarcProblem]:
    """Parse a WARC stream into records, reporting each problem in place of the record it spoiled."""
    source = _Decompressed(raw, gzipped)
    blocks = source.blocks()
    buf = bytearray()
    # (position in buf, file offset) of each block still in buf, to map a record to its file offset.
    marks: list[tuple[int, int]] = []
    done = False

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
        # header block
        end = -1
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0 or len(buf) > MAX_HEADER_BYTES or not fill(len(buf) + CHUNK):
                break
        if not buf.startswith(b"WARC/"):
            m = _NEXT_RECORD.search(buf, 1)
            while m is None and fill(len(buf) + CHUNK):
                m = _NEXT_RECORD.search(buf, 1)
            yield WarcProblem(start_offset, "garbage", "bytes between records that are not a WARC header")
            consume(m.start(1) if m else len(buf))
            continue
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
