"""Hostile pages and random input: every document is handled in bounded time, counted, never a crash."""

from __future__ import annotations

import gzip
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.config import load_pipeline
from curation.document import Document
from curation.errors import InputError
from curation.io.reader import WarcReader
from curation.stats import StepStats
from tests.conftest import ROOT

STAGES = load_pipeline(ROOT / "pipelines" / "fineweb.yaml")
EXTRACT = [s.build() for s in STAGES.stage("extract").steps]
FILTER = [s.build() for s in STAGES.stage("filter").steps]


def warc(payload: bytes, uri: str = "http://example.com/page") -> bytes:
    head = f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:fuzz>\r\nWARC-Target-URI: {uri}\r\nContent-Length: {len(payload)}\r\n\r\n"
    return gzip.compress(head.encode() + payload + b"\r\n\r\n", mtime=0)


def through_pipeline(data: bytes) -> tuple[list[Document], list[StepStats]]:
    """Reader, then every extract and filter step, as a stage runs them; returns the survivors."""
    stats = [StepStats(s.label) for s in EXTRACT + FILTER]
    docs = list(EXTRACT[0].read_stream(io.BytesIO(data), "fuzz.warc.gz", stats[0]))
    for step, st_ in zip(EXTRACT[1:] + FILTER, stats[1:]):
        incoming = docs
        st_.docs_in = len(incoming)
        docs = list(step.run(iter(incoming), st_))
        st_.docs_out = len(docs)
        assert st_.docs_in == st_.docs_out + sum(st_.dropped.values()), step.label
    return docs, stats


def html_response(body: bytes, ctype: str = "text/html") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n\r\n".encode() + body


def test_a_50_mb_page_is_counted_as_too_large_without_extraction():
    body = b"<html><body>" + b"<p>lorem ipsum dolor sit amet.</p>" * (50_000_000 // 34) + b"</body></html>"
    docs, stats = through_pipeline(warc(html_response(body)))
    assert docs == [] and stats[0].dropped["too_large"] == 1


@pytest.mark.slow
def test_html_nested_100000_levels_deep():
    body = b"<html><body>" + b"<div>" * 100_000 + b"words " * 100 + b"</div>" * 100_000 + b"</body></html>"
    docs, stats = through_pipeline(warc(html_response(body)))
    assert sum(sum(s.dropped.values()) for s in stats) + len(docs) == 1


def test_binary_data_labelled_as_html():
    docs, stats = through_pipeline(warc(html_response(os.urandom(300_000))))
    assert docs == [] and sum(sum(s.dropped.values()) for s in stats) == 1


def test_a_page_of_one_repeated_character():
    docs, stats = through_pipeline(warc(html_response(b"<html><body><p>" + b"a" * 1_000_000 + b"</p></body></html>")))
    assert docs == [] and sum(sum(s.dropped.values()) for s in stats) == 1


def test_wrong_and_missing_charsets_and_many_scripts():
    text = "Ελληνικά русский язык 日本語のテキスト עברית العربية हिन्दी ภาษาไทย 한국어 " * 40
    for body, ctype in [
        (text.encode("utf-8"), "text/html; charset=iso-8859-1"),  # declared wrong, valid UTF-8
        (text.encode("utf-16"), "text/html"),  # undeclared UTF-16
        ("<html><body><p>Grüße, Straße, Äpfel</p></body></html>".encode("cp1252"), "text/html; charset=klingon"),
    ]:
        docs, stats = through_pipeline(warc(html_response(b"<html><body><p>" + body + b"</p></body></html>", ctype)))
        assert len(docs) + sum(sum(s.dropped.values()) for s in stats) == 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(st.binary(max_size=4000), st.text(max_size=4000).map(lambda t: t.encode("utf-8", "surrogatepass"))),
    ctype=st.sampled_from(["text/html", "text/html; charset=utf-8", "text/html; charset=bogus", "application/xhtml+xml", ""]),
    headers=st.sampled_from(["", "Transfer-Encoding: chunked\r\n", "Content-Encoding: gzip\r\n", "Content-Encoding: br\r\n"]),
)
def test_fuzz_random_responses_never_raise(body, ctype, headers):
    payload = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n{headers}\r\n".encode() + b"<html><body><p>" + body + b"</p></body></html>"
    docs, stats = through_pipeline(warc(payload))
    assert stats[0].docs_in == 1
    assert len(docs) + sum(sum(s.dropped.values()) for s in stats) == 1


@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=0, max_size=3000))
def test_fuzz_random_text_through_every_filter(text):
    docs = [Document(id="<urn:uuid:t>", text=text, url="http://example.com/")]
    for step in FILTER:
        st_ = StepStats(step.label)
        docs = list(step.run(iter(docs), st_))
        assert len(docs) + sum(st_.dropped.values()) <= 1


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=3000), gz=st.booleans())
def test_fuzz_random_bytes_as_a_warc_file(data, gz):
    st_ = StepStats("warc_reader")
    docs: list = []
    try:
        docs.extend(WarcReader().read_stream(io.BytesIO(data), "fuzz.warc.gz" if gz else "fuzz.warc", st_))
    except InputError:  # the file fails (its shard fails) only when no record in it was readable
        assert st_.docs_in and st_.docs_in == sum(n for r, n in st_.dropped.items() if r.startswith("damaged:"))
    assert st_.docs_in == len(docs) + sum(st_.dropped.values())
