"""HTTP responses and WARC/1.0 records as Common Crawl writes them: one gzip member per record
(mtime 0, so the bytes depend on the content only), and a way to corrupt one member."""

from __future__ import annotations

import base64
import datetime as _dt
import gzip
import hashlib
import random
import uuid
import zlib

STATUS_TEXT = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found"}
_SERVERS = ("nginx/1.24.0", "Apache/2.4.58 (Ubuntu)", "cloudflare", "LiteSpeed", "nginx", "Microsoft-IIS/10.0")


def record_id(rng: random.Random) -> str:
    """A WARC-Record-ID drawn from ``rng`` (a version-4 UUID URN)."""
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def _http_date(t: _dt.datetime) -> str:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{days[t.weekday()]}, {t.day:02d} {months[t.month - 1]} {t.year} {t:%H:%M:%S} GMT"


def _warc_date(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunked(body: bytes, rng: random.Random) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        n = rng.randint(700, 2600)
        piece = body[i:i + n]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        i += n
    out += b"0\r\n\r\n"
    return bytes(out)


def http_response(rng: random.Random, status: int, content_type: str, body: bytes, when: _dt.datetime, *,
                  location: str | None = None, chunked: bool = False, gzip_body: bool = False) -> bytes:
    """The HTTP/1.1 response (status line, headers, body) as the crawler received it."""
    headers = [f"HTTP/1.1 {status} {STATUS_TEXT[status]}",
               f"Date: {_http_date(when)}",
               f"Server: {rng.choice(_SERVERS)}",
               f"Content-Type: {content_type}"]
    if gzip_body:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append("Content-Encoding: gzip")
        headers.append("Vary: Accept-Encoding")
    if chunked:
        headers.append("Transfer-Encoding: chunked")
        body = _chunked(body, rng)
    else:
        headers.append(f"Content-Length: {len(body)}")
    if location:
        headers.append(f"Location: {location}")
    if status == 200:
        headers.append(f"Cache-Control: max-age={rng.choice([0, 60, 300, 600, 3600])}")
        lm = when - _dt.timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86399))
        headers.append(f"Last-Modified: {_http_date(lm)}")
    headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _member(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One WARC record, compressed as its own gzip member."""
    lines = ["WARC/1.0"] + [f"{k}: {v}" for k, v in headers]
    record = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"
    return gzip.compress(record, compresslevel=6, mtime=0)


def warcinfo_member(filename: str, when: _dt.datetime, rid: str, seed: int) -> bytes:
    info = (f"isPartOf: CURATION-SAMPLE-2024\r\npublisher: curation.sample (synthetic, generated text)\r\n"
            f"description: Synthetic crawl written by curation.sample with seed {seed}\r\n"
            f"operator: curation project\r\nsoftware: curation.sample/1.0\r\n"
            f"format: WARC File Format 1.0\r\n"
            f"conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
            ).encode()
    return _member([
        ("WARC-Type", "warcinfo"), ("WARC-Date", _warc_date(when)), ("WARC-Filename", filename),
        ("WARC-Record-ID", rid), ("Content-Type", "application/warc-fields"),
        ("Content-Length", str(len(info)))], info)


def request_member(url: str, when: _dt.datetime, rid: str, info_id: str, ip: str) -> bytes:
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
           f"User-Agent: CurationSampleBot/1.0 (synthetic)\r\nAccept: text/html,application/xhtml+xml,"
           f"application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
           f"Accept-Encoding: br,gzip\r\nConnection: Keep-Alive\r\n\r\n").encode()
    return _member([
        ("WARC-Type", "request"), ("WARC-Date", _warc_date(when)), ("WARC-Record-ID", rid),
        ("Content-Length", str(len(req))), ("Content-Type", "application/http; msgtype=request"),
        ("WARC-Warcinfo-ID", info_id), ("WARC-IP-Address", ip), ("WARC-Target-URI", url)], req)


def response_member(url: str, http: bytes, when: _dt.datetime, rid: str, info_id: str, request_id: str, ip: str,
                    payload_type: str) -> bytes:
    payload = http.split(b"\r\n\r\n", 1)[1]
    return _member([
        ("WARC-Type", "response"), ("WARC-Date", _warc_date(when)),
        ("WARC-Record-ID", rid), ("Content-Length", str(len(http))),
        ("Content-Type", "application/http; msgtype=response"), ("WARC-Warcinfo-ID", info_id),
        ("WARC-Concurrent-To", request_id), ("WARC-IP-Address", ip),
        ("WARC-Target-URI", url), ("WARC-Payload-Digest", _sha1_b32(payload)),
        ("WARC-Block-Digest", _sha1_b32(http)),
        ("WARC-Identified-Payload-Type", payload_type)], http)


def metadata_member(url: str, when: _dt.datetime, rid: str, info_id: str, response_id: str, fields: bytes) -> bytes:
    return _member([
        ("WARC-Type", "metadata"), ("WARC-Date", _warc_date(when)), ("WARC-Record-ID", rid),
        ("Content-Length", str(len(fields))), ("Content-Type", "application/warc-fields"),
        ("WARC-Warcinfo-ID", info_id), ("WARC-Concurrent-To", response_id),
        ("WARC-Target-URI", url)], fields)


def corrupt_member(member: bytes) -> bytes:
    """Flip bytes inside the deflate data of a gzip member so that zlib fails mid-stream.

    The damage sits early in the compressed data (after the 10-byte gzip header), so zlib
    raises ("invalid distance too far back" and the like) long before the CRC check, and a
    reader has to skip to the next member.
    """
    for start in range(10 + (len(member) - 18) // 20, len(member) - 16, 3):
        bad = bytearray(member)
        for k in range(start, start + 6):
            bad[k] ^= 0xA5
        bad = bytes(bad)
        try:
            d = zlib.decompressobj(zlib.MAX_WBITS | 16)
            d.decompress(bad)
            d.flush()
        except zlib.error as e:
            if "data check" not in str(e):
                return bad
    raise RuntimeError("could not corrupt the gzip member")  # pragma: no cover


def iter_gzip_members(data: bytes):
    """Yield (offset, decompressed bytes or None) for each gzip member of ``data``.

    A member that does not decompress yields None; reading resumes at the next gzip magic.
    """
    pos = 0
    n = len(data)
    while pos < n:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            out = d.decompress(data[pos:])
            out += d.flush()
            if not d.eof:
                raise zlib.error("truncated member")
        except zlib.error:
            yield pos, None
            nxt = data.find(b"\x1f\x8b\x08", pos + 1)
            if nxt < 0:
                return
            pos = nxt
            continue
        yield pos, out
        pos = n - len(d.unused_data)
