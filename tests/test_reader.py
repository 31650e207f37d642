"""Which WARC records become documents, and how the others are counted."""

from __future__ import annotations

import gzip
import io

from curation.io.reader import WarcReader, decode_transfer, parse_http_response
from curation.stats import StepStats


def warc_record(rtype: str, payload: bytes, rid: str, extra: str = "", uri: str = "") -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {rtype}\r\nWARC-Record-ID: {rid}\r\nWARC-Target-URI: {uri or 'http://example.com/' + rid[10:14]}\r\n"
        f"WARC-Date: 2024-01-01T00:00:00Z\r\n{extra}Content-Length: {len(payload)}\r\n\r\n"
    )
    return gzip.compress(head.encode() + payload + b"\r\n\r\n", mtime=0)


def http(status: int, ctype: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n{headers}\r\n".encode() + body


HTML = "<html><body><p>Grüße aus Köln</p></body></html>"


def read(data: bytes) -> tuple[list, StepStats]:
    st = StepStats("warc_reader")
    docs = list(WarcReader().read(io.BytesIO(data), "mem.warc.gz", st))
    return docs, st


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
    docs = list(reader.read(io.BytesIO(warc_record("response", http(200, "text/html", big), "<urn:uuid:0013>")), "m.warc.gz", st))
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
    from datatrove.pipeline.readers.warc import process_record
    from warcio.archiveiterator import ArchiveIterator

    for path in real_warcs:
        st = StepStats("warc_reader")
        with open(path, "rb") as f:
            ours = {d.id: d for d in WarcReader().read(f, str(path), st)}
        assert ours, path.name
        assert not [r for r in st.dropped if r.startswith("damaged")], (path.name, st.dropped)
        assert st.docs_in == st.docs_out + sum(st.dropped.values())
        with open(path, "rb") as f:
            ref = {d["id"]: d for d in map(process_record, ArchiveIterator(f)) if d}
        # datatrove also keeps non-200 responses; where a record has no WARC-Identified-Payload-Type
        # it sniffs the type with libmagic, which calls some HTML pages "application/javascript":
        # we trust the HTTP Content-Type, so we keep those.
        import magic

        for doc_id in set(ours) - set(ref):
            assert magic.from_buffer(ours[doc_id].text.encode(), mime=True) not in ("text/html", "application/xhtml+xml"), doc_id
        for doc_id, doc in ours.items():
            if doc_id not in ref:
                continue
            assert (doc.url, doc.date) == (ref[doc_id]["url"].strip("<>"), ref[doc_id]["date"]), doc_id
            if "charset" not in doc.metadata:  # UTF-8 pages: the same text
                assert doc.text == ref[doc_id]["text"], doc_id
            elif doc.text != ref[doc_id]["text"]:  # we follow the page's declared charset, datatrove guesses
                assert doc.metadata["charset"] not in ("utf-8",) and st.counters["charset_declared"] > 0
