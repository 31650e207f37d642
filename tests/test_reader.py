"""Which WARC records become documents, and how the others are counted."""

from __future__ import annotations

import collections
import gzip
import io
import random
import zlib

import pytest

from curation.config import load_pipeline
from curation.errors import CurationError
from curation.io.reader import WarcReader, decode_transfer, libmagic, parse_http_response, warcio_content
from curation.stats import StepStats
from tests.conftest import ROOT

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"
HTML_TYPES = ("text/html", "application/xhtml+xml")


def warc_record(rtype: str, payload: bytes, rid: str, extra: str = "", uri: str = "") -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {rtype}\r\nWARC-Record-ID: {rid}\r\nWARC-Target-URI: {uri or 'http://example.com/' + rid[10:14]}\r\n"
        f"WARC-Date: 2024-01-01T00:00:00Z\r\n{extra}Content-Length: {len(payload)}\r\n\r\n"
    )
    return gzip.compress(head.encode() + payload + b"\r\n\r\n", mtime=0)


def http(status: int, ctype: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n{headers}\r\n".encode() + body


HTML = "<html><body><p>Grüße aus Köln</p></body></html>"


def read(data: bytes, **params) -> tuple[list, StepStats]:
    st = StepStats("warc_reader")
    docs = list(WarcReader(WarcReader.Params(**params)).read_stream(io.BytesIO(data), "mem.warc.gz", st))
    return docs, st


def fineweb_reader() -> WarcReader:
    return load_pipeline(FINEWEB).stage("extract").steps[0].build()


def test_only_200_html_responses_become_documents_and_the_rest_are_counted():
    data = b"".join(
        [
            warc_record("warcinfo", b"software: test", "<urn:uuid:0000>"),
            warc_record("request", b"GET / HTTP/1.1\r\n\r\n", "<urn:uuid:0001>"),
            warc_record("response", http(200, "text/html; charset=utf-8", HTML.encode()), "<urn:uuid:0002>"),
            warc_record("response", http(404, "text/html", b"<html>missing</html>"), "<urn:uuid:0003>"),
            warc_record("response", http(200, "image/png", b"\x89PNG...."), "<urn:uuid:0004>"),
            warc_record("response", http(200, "text/html", b"<html>x</html>"), "<urn:uuid:0005>", "WARC-Identified-Payload-Type: application/pdf\r\n"),
            warc_record("metadata", b"fetchTimeMs: 1", "<urn:uuid:0006>"),
            warc_record("response", b"not http at all", "<urn:uuid:0007>"),
            warc_record("response", b"20080430204825\nwww.archive.org.\t589\tIN\tA\t207.241.229.39\n", "<urn:uuid:0008>", uri="dns:www.archive.org"),
        ]
    )
    docs, st = read(data)
    assert [d.id for d in docs] == ["<urn:uuid:0002>"]
    assert docs[0].text == HTML and docs[0].url == "http://example.com/0002" and docs[0].date == "2024-01-01T00:00:00Z"
    assert dict(st.dropped) == {
        "warcinfo_record": 1,
        "request_record": 1,
        "non_200": 1,
        "non_html": 2,
        "metadata_record": 1,
        "bad_http_response": 1,
        "non_http": 1,
    }
    assert st.docs_in == 9


def test_statuses_any_reads_every_status():
    data = b"".join(
        warc_record("response", http(status, "text/html", b"<html>page</html>"), f"<urn:uuid:00{status}>")
        for status in (200, 301, 404, 500)
    )
    docs, st = read(data)
    assert [d.id for d in docs] == ["<urn:uuid:00200>"] and st.dropped["non_200"] == 3
    docs, st = read(data, statuses="any")
    assert [d.id for d in docs] == [f"<urn:uuid:00{s}>" for s in (200, 301, 404, 500)] and "non_200" not in st.dropped
    docs, st = read(data, statuses=[200, 404])
    assert [d.id for d in docs] == ["<urn:uuid:00200>", "<urn:uuid:00404>"] and st.dropped["non_200"] == 2


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PAGE = b"<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>Hello there.</p></body></html>\n"


def test_mime_fallback_libmagic_sniffs_the_body_where_the_record_has_no_payload_type():
    records = [
        # the server says HTML, the body is a PDF: http reads it, libmagic (datatrove) does not
        warc_record("response", http(200, "text/html", PDF), "<urn:uuid:0030>"),
        # the server says JavaScript, the body is an HTML page: libmagic reads it, http does not
        warc_record("response", http(200, "application/x-javascript", PAGE), "<urn:uuid:0031>"),
        # chunked and gzipped: libmagic sees the decoded body, as warcio hands it to datatrove
        warc_record("response", http(200, "application/octet-stream", chunk(gzip.compress(PAGE, mtime=0), 9),
                                     "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"), "<urn:uuid:0032>"),
        # WARC-Identified-Payload-Type decides where there is one, whatever the body
        warc_record("response", http(200, "application/pdf", PDF), "<urn:uuid:0033>", "WARC-Identified-Payload-Type: text/html\r\n"),
        warc_record("response", http(200, "text/html", PAGE), "<urn:uuid:0034>", "WARC-Identified-Payload-Type: application/pdf\r\n"),
    ]
    data = b"".join(records)
    docs, st = read(data)
    assert [d.id for d in docs] == ["<urn:uuid:0030>", "<urn:uuid:0033>"] and st.dropped["non_html"] == 3
    docs, st = read(data, mime_fallback="libmagic")
    assert [d.id for d in docs] == ["<urn:uuid:0031>", "<urn:uuid:0032>", "<urn:uuid:0033>"] and st.dropped["non_html"] == 2
    assert docs[1].text == PAGE.decode()


def test_the_libmagic_fallback_is_a_clear_error_without_python_magic(monkeypatch):
    import sys

    libmagic.cache_clear()
    monkeypatch.setitem(sys.modules, "magic", None)  # as if python-magic (or the system libmagic) were missing
    try:
        with pytest.raises(CurationError, match="mime_fallback: libmagic needs python-magic and the system libmagic"):
            WarcReader(WarcReader.Params(mime_fallback="libmagic")).preflight()
        WarcReader().preflight()  # the default needs no libmagic
    finally:
        libmagic.cache_clear()


def chunk(body: bytes, size: int) -> bytes:
    return b"".join(f"{len(body[i:i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n" for i in range(0, len(body), size)) + b"0\r\n\r\n"


_BIG = b"".join(b"<p>line %d of a long page</p>\n" % i for i in range(4000))  # > warcio's 16 KiB blocks
_GZ = gzip.compress(_BIG, mtime=0)
_WORDS = random.Random(0).choices([b"%x" % i for i in range(4096)], k=40000)
_BIG_GZ = gzip.compress(b" ".join(_WORDS), mtime=0)  # over 16 KiB compressed: warcio decompresses it in blocks


def gzip_then_garbage(body: bytes) -> bytes:
    """A gzip stream that zlib gives up on at its end (a reserved deflate block type after a flush)."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(body) + c.flush(zlib.Z_FULL_FLUSH) + b"\xff" * 64


@pytest.mark.parametrize(
    "headers, body",
    [
        ("", _BIG),
        ("Transfer-Encoding: chunked\r\n", chunk(_BIG, 3000)),
        ("Transfer-Encoding: chunked\r\n", b"5;ext=1\r\nhello\r\n0\r\n\r\n"),
        ("Transfer-Encoding: chunked\r\n", b"<html>not chunked after all</html>"),
        ("Transfer-Encoding: chunked\r\n", b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"),  # no CRLF after a chunk
        ("Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n10\r\ncut off"),
        ("Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"),
        ("Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n" + b"f" * 80 + b"\r\n"),  # a size line over 64 bytes
        ("Transfer-Encoding: Chunked\r\n", chunk(b"hello", 2)),  # warcio: exactly "chunked" only
        ("Content-Encoding: gzip\r\n", _GZ),
        ("Content-Encoding: GZIP\r\n", _GZ),
        ("Content-Encoding: gzip\r\n", _GZ + b"trailing bytes"),
        ("Content-Encoding: gzip\r\n", _BIG),  # not compressed at all
        ("Content-Encoding: gzip\r\n", _BIG_GZ),
        ("Content-Encoding: gzip\r\n", gzip_then_garbage(_BIG)),  # fails in the first block: the raw body
        ("Content-Encoding: gzip\r\n", gzip_then_garbage(b" ".join(_WORDS))),  # fails later: what came before
        ("Content-Encoding: gzip\r\n", _GZ[:5000]),  # cut off
        ("Content-Encoding: x-gzip\r\n", _GZ),  # gzip's alias since warcio 1.8.2
        ("Transfer-Encoding: chunked\r\nContent-Encoding: X-Gzip\r\n", chunk(_GZ, 700)),
        ("Content-Encoding: deflate\r\n", zlib.compress(_BIG)),
        ("Content-Encoding: deflate\r\n", zlib.compress(_BIG)[2:-4]),  # raw deflate
        ("Content-Encoding: deflate\r\n", b"neither zlib nor raw deflate"),
        ("Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n", chunk(_GZ, 700)),
        ("Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n", chunk(_BIG, 700)),
    ],
)
def test_warcio_content_is_what_warcio_hands_datatrove(headers, body):
    pytest.importorskip("warcio")
    from warcio.archiveiterator import ArchiveIterator

    payload = http(200, "text/html", body, headers)
    for rec in ArchiveIterator(io.BytesIO(warc_record("response", payload, "<urn:uuid:0040>"))):
        expected = rec.content_stream().read()
    _, http_headers, raw = parse_http_response(payload)
    assert warcio_content(raw, http_headers) == expected


def test_chunked_and_gzip_encoded_bodies_are_decoded():
    body = gzip.compress(HTML.encode(), mtime=0)
    chunked = b"".join(f"{len(body[i:i + 7]):x}\r\n".encode() + body[i : i + 7] + b"\r\n" for i in range(0, len(body), 7)) + b"0\r\n\r\n"
    payload = http(200, "text/html", chunked, "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n")
    docs, _ = read(warc_record("response", payload, "<urn:uuid:0010>"))
    assert docs[0].text == HTML


def test_declared_charset_is_used_when_the_page_is_not_utf8():
    body = HTML.encode("iso-8859-1")
    docs, st = read(warc_record("response", http(200, "text/html; charset=iso-8859-1", body), "<urn:uuid:0011>"))
    assert docs[0].text == HTML and st.counters["charset_declared"] == 1


def test_undeclared_charset_is_detected():
    text = "<html><body><p>" + "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 20 + "</p></body></html>"
    docs, st = read(warc_record("response", http(200, "text/html", text.encode("cp1251")), "<urn:uuid:0012>"))
    assert docs[0].text == text and st.counters["charset_detected"] == 1


def test_pages_over_the_size_cap_are_counted_not_extracted():
    big = b"<html>" + b"a" * 2000 + b"</html>"
    st = StepStats("warc_reader")
    reader = WarcReader(WarcReader.Params(max_html_bytes=1000))
    docs = list(reader.read_stream(io.BytesIO(warc_record("response", http(200, "text/html", big), "<urn:uuid:0013>")), "m.warc.gz", st))
    assert docs == [] and st.dropped["too_large"] == 1


def test_damaged_record_is_counted_with_file_and_offset():
    good = warc_record("response", http(200, "text/html", HTML.encode()), "<urn:uuid:0020>")
    bad = bytearray(warc_record("response", http(200, "text/html", HTML.encode() * 20), "<urn:uuid:0021>"))
    bad[40:60] = b"\0" * 20
    last = warc_record("response", http(200, "text/html", HTML.encode()), "<urn:uuid:0022>")
    docs, st = read(good + bytes(bad) + last)
    assert [d.id for d in docs] == ["<urn:uuid:0020>", "<urn:uuid:0022>"]
    assert st.dropped["damaged:corrupt_gzip_member"] == 1
    assert st.samples["damaged:corrupt_gzip_member"][0]["id"] == f"mem.warc.gz@{len(good)}"


def test_http_parsing():
    status, headers, body = parse_http_response(b"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nbody")
    assert (status, headers["location"], body) == (301, "/x", b"body")
    assert decode_transfer(b"5\r\nhello\r\n0\r\n\r\n", {"transfer-encoding": "chunked"}) == b"hello"


def test_real_warcs_read_without_damage_and_decode_as_datatrove_does(real_warcs):
    """With FineWeb's settings (pipelines/fineweb.yaml: ``statuses: any``, ``mime_fallback: libmagic``)
    the reader turns exactly the records datatrove's reader reads into documents; the default
    reader (status 200 only, the HTTP Content-Type where a record has no payload type) differs
    from it by those two rules alone."""
    from datatrove.pipeline.readers.warc import process_record
    from warcio.archiveiterator import ArchiveIterator

    fineweb = fineweb_reader()
    differences = collections.Counter()
    for path in real_warcs:
        st = StepStats("warc_reader")
        with open(path, "rb") as f:
            ours = {d.id: d for d in fineweb.read_stream(f, str(path), st)}
        assert ours, path.name
        assert not [r for r in st.dropped if r.startswith("damaged")], (path.name, st.dropped)
        assert st.docs_in == st.docs_out + sum(st.dropped.values())
        ref, status, typed = {}, {}, {}
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                rid = rec.rec_headers.get_header("WARC-Record-ID")
                status[rid] = rec.http_headers.get_statuscode() if rec.http_headers else None
                typed[rid] = bool(rec.rec_headers.get_header("WARC-Identified-Payload-Type"))
                if d := process_record(rec):
                    ref[rid] = d
        assert set(ours) == set(ref), (path.name, sorted(set(ours) ^ set(ref)))
        for doc_id, doc in ours.items():
            assert (doc.url, doc.date) == (ref[doc_id]["url"].strip("<>"), ref[doc_id]["date"]), doc_id
            if "charset" not in doc.metadata:  # UTF-8 pages: the same text
                assert doc.text == ref[doc_id]["text"], doc_id
            elif doc.text != ref[doc_id]["text"]:  # we follow the page's declared charset, datatrove guesses
                assert doc.metadata["charset"] not in ("utf-8",) and st.counters["charset_declared"] > 0

        with open(path, "rb") as f:
            default = {d.id: d for d in WarcReader().read_stream(f, str(path), StepStats("warc_reader"))}
        # read by the default reader only: no payload type, an HTML Content-Type, and libmagic says otherwise
        for doc_id in set(default) - set(ref):
            assert not typed[doc_id] and libmagic().from_buffer(default[doc_id].text.encode()) not in HTML_TYPES, doc_id
            differences["content_type_not_libmagic"] += 1
        # read by datatrove only: another status, or no payload type and a Content-Type that is not HTML
        for doc_id in set(ref) - set(default):
            assert status[doc_id] != "200" or not typed[doc_id], doc_id
            differences["non_200" if status[doc_id] != "200" else "libmagic_not_content_type"] += 1
    # the real files exercise both rules
    assert differences["non_200"] and differences["content_type_not_libmagic"], differences


def test_on_the_sample_fineweb_reads_the_redirects_and_404s_a_status_200_reader_drops(sample):
    """pipelines/fineweb.yaml reads the planted redirects and 404s (their labels are where FineWeb's
    filters drop them); the same reader with ``statuses: [200]`` counts them as non_200."""
    from curation.sample import NON_200_CASES

    folder, manifest = sample
    fineweb = fineweb_reader()
    status_200 = WarcReader(fineweb.params.model_copy(update={"statuses": [200]}))
    records = manifest["records"]
    labelled = {r["id"] for r in records if not r["expected"].startswith("reader:")}
    non_200 = {r["id"] for r in records if r["http_status"] != 200}
    assert {r["case"] for r in records if r["id"] in non_200} == set(NON_200_CASES) and non_200 <= labelled
    for reader, expected, dropped in ((fineweb, labelled, 0), (status_200, labelled - non_200, len(non_200))):
        st = StepStats("warc_reader")
        ids = set()
        for name in manifest["files"]:
            with open(folder / name, "rb") as f:
                ids.update(d.id for d in reader.read_stream(f, name, st))
        assert ids == expected
        assert st.dropped.get("non_200", 0) == dropped
        assert st.dropped["non_html"] == sum(r["expected"] == "reader:non_html" for r in records)
