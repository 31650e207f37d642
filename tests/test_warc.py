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
