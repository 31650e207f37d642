"""The WARC parser reads what warcio reads, and survives what warcio does not."""

from __future__ import annotations

import gzip
import io

import pytest

from curation.io.warc import WarcProblem, WarcRecord, iter_warc


def record(i: int, body: bytes = b"hello") -> bytes:
    head = f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{i}>\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body + b"\r\n\r\n"


def parse(data: bytes, gzipped: bool = True) -> list:
    out = []
    for item in iter_warc(io.BytesIO(data), gzipped):
        out.append(item.headers["warc-record-id"] if isinstance(item, WarcRecord) else (item.reason, item.offset))
    return out


MEMBERS = [gzip.compress(record(i, b"x" * 1000 + str(i).encode() * 50), mtime=0) for i in range(5)]
IDS = [f"<urn:uuid:{i}>" for i in range(5)]


def test_real_warcs_match_warcio(real_warcs):
    from warcio.archiveiterator import ArchiveIterator

    for path in real_warcs:
        with open(path, "rb") as f:
            ours = [(r.headers["warc-record-id"], r.type, r.payload) for r in iter_warc(f, True)]
        with open(path, "rb") as f:
            ref = [(r.rec_headers.get_header("WARC-Record-ID"), r.rec_type, r.raw_stream.read()) for r in ArchiveIterator(f, no_record_parse=True)]
        assert ours == ref, path.name


def test_corrupt_gzip_member_is_reported_and_the_rest_is_read():
    bad = bytearray(MEMBERS[2])
    bad[30:40] = b"\0" * 10
    data = MEMBERS[0] + MEMBERS[1] + bytes(bad) + MEMBERS[3] + MEMBERS[4]
    offset = len(MEMBERS[0]) + len(MEMBERS[1])
    assert parse(data) == [IDS[0], IDS[1], ("corrupt_gzip_member", offset), IDS[3], IDS[4]]


def test_garbage_between_members_is_skipped():
    assert parse(MEMBERS[0] + b"garbage!" + MEMBERS[1]) == [IDS[0], ("garbage", len(MEMBERS[0])), IDS[1]]


def test_record_cut_off_at_end_of_file():
    assert parse(MEMBERS[0] + MEMBERS[1][:-10]) == [IDS[0], ("truncated_gzip_member", len(MEMBERS[0]))]


def test_garbage_in_uncompressed_warc_names_its_byte_offset():
    first = record(0)
    assert parse(first + b"zzzz\r\n" + record(1), gzipped=False) == ["<urn:uuid:0>", ("garbage", len(first)), "<urn:uuid:1>"]


@pytest.mark.parametrize("claimed", [3, 50])
def test_wrong_content_length_loses_only_that_record(claimed):
    wrong = record(0).replace(b"Content-Length: 5", f"Content-Length: {claimed}".encode())
    assert parse(wrong + record(1) + record(2), gzipped=False) == [("wrong_content_length", 0), "<urn:uuid:1>", "<urn:uuid:2>"]


def test_empty_and_non_warc_files():
    assert parse(b"") == []
    assert parse(b"<html>not a warc</html>" * 10, gzipped=False) == [("garbage", 0)]
    assert parse(b"<html>not a warc</html>") == [("garbage", 0)]


def test_oversized_record_is_skipped_without_reading_it_whole():
    big = record(0, b"y" * 5000)
    items = list(iter_warc(io.BytesIO(big + record(1)), False, max_record_bytes=1000))
    assert isinstance(items[0], WarcProblem) and items[0].reason == "record_too_large"
    assert items[1].headers["warc-record-id"] == "<urn:uuid:1>"


ARC_DATA = __import__("pathlib").Path(__file__).parent / "data" / "warcio"


@pytest.mark.parametrize("name", ["example.arc", "example.arc.gz", "example-space-in-url.arc"])
def test_arc_files_match_warcio_record_for_record(name):
    """ARC records come out as warcio's arc2warc mode gives them: type, URI, IP, date and content."""
    from warcio.archiveiterator import ArchiveIterator

    path = ARC_DATA / name
    keys = ("WARC-Type", "WARC-Target-URI", "WARC-Filename", "WARC-IP-Address", "WARC-Date")
    with open(path, "rb") as f:
        ours = [(tuple(r.headers.get(k.lower()) for k in keys), r.payload) for r in iter_warc(f, name.endswith(".gz"))]
    with open(path, "rb") as f:
        ref = [(tuple(r.rec_headers.get_header(k) for k in keys), r.raw_stream.read()) for r in ArchiveIterator(f, arc2warc=True, no_record_parse=True)]
    assert len(ours) == 2 and ours == ref


def test_an_arc_record_cut_off_by_the_end_of_the_file_is_read_as_far_as_it_goes_and_marked():
    with open(ARC_DATA / "example-space-in-url.arc", "rb") as f:
        info, page = list(iter_warc(f, False))
    assert info.truncated == 0 and page.truncated == 12  # its Archive-length says 1591, the file holds 1579


def test_damaged_arc_records_are_reported_and_the_good_one_is_read():
    with open(ARC_DATA / "bad.arc", "rb") as f:
        items = list(iter_warc(f, False))
    assert [type(i).__name__ for i in items] == ["WarcProblem", "WarcProblem", "WarcRecord", "WarcProblem"]
    assert [i.reason for i in items if isinstance(i, WarcProblem)] == ["bad_header"] * 3
    assert items[2].headers["warc-target-uri"] == "http://example.com/" and items[2].payload == b"\n"


def test_arc_v2_field_order_comes_from_the_filedesc_record():
    fields = b"URL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length\n"
    head = b"2 0 Test\n" + fields
    body = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>hi</html>"
    data = (b"filedesc://t.arc 0.0.0.0 20080101000000 text/plain %d\n" % len(head) + head + b"\n"
            + b"http://a.example/x y 1.2.3.4 20080102030405 text/html 200 ABC - 0 t.arc %d\n" % len(body) + body + b"\n")
    info, page = list(iter_warc(io.BytesIO(data), False))
    assert info.type == "warcinfo" and page.type == "response"
    assert page.headers["warc-target-uri"] == "http://a.example/x%20y" and page.headers["warc-date"] == "2008-01-02T03:04:05Z"
    assert page.payload == body


def test_warc_reader_reads_arc_files_into_documents(tmp_path):
    from curation.io.reader import WarcReader
    from curation.stats import StepStats

    for name in ("example.arc", "example.arc.gz"):
        stats = StepStats("warc_reader")
        docs = list(WarcReader().read(str(ARC_DATA / name), stats))
        assert [(d.url, d.date) for d in docs] == [("http://example.com/", "2014-02-16T05:02:21Z")]
        assert "Example Domain" in docs[0].text and docs[0].id == f"{ARC_DATA / name}@{151 if name == 'example.arc' else 171}"
        assert stats.dropped == {"warcinfo_record": 1}
