"""Readers of the data people already have: Parquet, JSON Lines (datatrove's, dolma's), WET files and
Hugging Face datasets saved to disk; and what each does with a bad file, line, row group or mapping."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.errors import InputError
from curation.io.jsonl import JsonlReader
from curation.io.tables import HFDatasetReader, ParquetReader
from curation.io.wet import WetReader
from curation.registry import reader_for
from curation.stats import StepStats


def read(reader, url, part: int = 0, parts: int = 1):
    stats = StepStats(reader.name)
    return list(reader.read(str(url), stats, part, parts)), stats


def fineweb_like(path: Path, rows: int = 10, row_group_size: int = 4, **extra) -> Path:
    """A Parquet file with FineWeb's columns (and no `language` column of ours)."""
    table = pa.table({
        "text": [f"document number {i}" for i in range(rows)],
        "id": [f"<urn:uuid:{i:04d}>" for i in range(rows)],
        "dump": ["CC-MAIN-2024-10"] * rows,
        "url": [f"https://example.com/{i}" for i in range(rows)],
        "date": ["2024-02-20T10:00:00Z"] * rows,
        "token_count": list(range(rows)),
        **extra,
    })
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_the_reader_is_chosen_by_file_name():
    assert [reader_for(n) for n in ("a.warc.gz", "a.arc", "CC-x.warc.wet.gz", "a.parquet", "a.jsonl.zst", "a.json.gz", "data-00000-of-00001.arrow")] == [
        "warc_reader", "warc_reader", "wet_reader", "parquet_reader", "jsonl_reader", "jsonl_reader", "hf_dataset_reader"]
    assert reader_for("notes.txt") is None


def test_parquet_columns_map_to_documents_and_the_rest_is_kept_in_metadata(tmp_path):
    docs, stats = read(ParquetReader(), fineweb_like(tmp_path / "fw.parquet"))
    assert [d.id for d in docs] == [f"<urn:uuid:{i:04d}>" for i in range(10)]
    first = docs[0]
    assert (first.text, first.url, first.date, first.source) == ("document number 0", "https://example.com/0", "2024-02-20T10:00:00Z", str(tmp_path / "fw.parquet"))
    assert first.metadata == {"dump": "CC-MAIN-2024-10", "token_count": 0}
    assert stats.docs_in == stats.docs_out == 10


def test_a_column_mapping_names_other_fields_and_records_without_an_id_get_file_and_row(tmp_path):
    path = tmp_path / "mine.parquet"
    pq.write_table(pa.table({"content": ["a", "b", None, "d"], "link": ["u0", "u1", "u2", "u3"]}), path, row_group_size=2)
    reader = ParquetReader(ParquetReader.Params(text_key="content", url_key="link"))
    docs, stats = read(reader, path)
    assert [(d.id, d.text, d.url) for d in docs] == [(f"{path}/0", "a", "u0"), (f"{path}/1", "b", "u1"), (f"{path}/3", "d", "u3")]
    assert stats.dropped == {"no_text": 1} and stats.docs_in == 4
    assert read(reader, path)[0] == docs  # stable: the same file gives the same ids


def test_parts_of_a_parquet_file_are_contiguous_row_groups_that_together_read_it_once(tmp_path):
    path = fineweb_like(tmp_path / "fw.parquet", rows=23, row_group_size=3)  # 8 row groups
    whole, _ = read(ParquetReader(), path)
    parts = [read(ParquetReader(), path, p, 3)[0] for p in range(3)]
    assert [d.id for part in parts for d in part] == [d.id for d in whole]
    assert all(parts)


def test_a_damaged_row_group_is_counted_naming_it_and_the_rest_is_read(tmp_path):
    path = fineweb_like(tmp_path / "fw.parquet", rows=12, row_group_size=4)
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(1).column(0)  # the text of the second row group
    data = bytearray(path.read_bytes())
    start = column.data_page_offset
    data[start + 8 : start + column.total_compressed_size - 8] = b"\xff" * (column.total_compressed_size - 16)
    path.write_bytes(bytes(data))
    docs, stats = read(ParquetReader(), path)
    assert [d.id for d in docs] == [f"<urn:uuid:{i:04d}>" for i in (0, 1, 2, 3, 8, 9, 10, 11)]
    assert stats.dropped == {"damaged:row_group": 4} and stats.docs_in == 12
    assert stats.samples["damaged:row_group"][0]["id"] == f"{path}:row group 1"


def test_a_truncated_parquet_file_fails_with_its_name(tmp_path):
    path = fineweb_like(tmp_path / "fw.parquet")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputError, match=f"{path}: not a readable Parquet file"):
        read(ParquetReader(), path)


def test_a_wrong_text_column_fails_naming_the_file_the_key_and_the_columns(tmp_path):
    path = fineweb_like(tmp_path / "fw.parquet")
    with pytest.raises(InputError) as e:
        read(ParquetReader(ParquetReader.Params(text_key="content")), path)
    assert str(e.value).startswith(f"{path}: no field 'content' (text_key)") and "dump" in str(e.value)


def jsonl_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_plain_and_compressed_with_bad_lines_counted_by_line_number(tmp_path, suffix):
    lines = [
        json.dumps({"id": "a", "text": "first", "added": "2024-01-01", "metadata": {"lang": "en"}}),
        "{not json",
        "",
        json.dumps({"id": "b", "body": "no text here"}),
        json.dumps([1, 2]),
        json.dumps({"text": "third, without an id"}),
    ]
    raw = jsonl_bytes(lines)
    if suffix.endswith(".gz"):
        raw = gzip.compress(raw)
    elif suffix.endswith(".zst"):
        import zstandard

        raw = zstandard.ZstdCompressor().compress(raw)
    path = tmp_path / f"docs{suffix}"
    path.write_bytes(raw)
    docs, stats = read(JsonlReader(), path)
    assert [(d.id, d.text) for d in docs] == [("a", "first"), (f"{path}/5", "third, without an id")]
    assert docs[0].metadata == {"lang": "en", "added": "2024-01-01"}
    assert stats.dropped == {"damaged:bad_json": 1, "no_text": 1, "damaged:not_an_object": 1}
    assert stats.samples["damaged:bad_json"][0]["id"] == f"{path}:2" and stats.samples["damaged:not_an_object"][0]["id"] == f"{path}:5"
    assert stats.docs_in == 5  # the blank line is not a record


def test_a_gzip_cut_off_part_way_keeps_what_came_before_and_counts_the_rest(tmp_path):
    raw = gzip.compress(jsonl_bytes([json.dumps({"id": str(i), "text": os.urandom(1000).hex()}) for i in range(200)]))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(raw[: len(raw) // 2])
    docs, stats = read(JsonlReader(), path)
    assert 0 < len(docs) < 200 and [d.id for d in docs] == [str(i) for i in range(len(docs))]
    assert stats.dropped == {"damaged:truncated": 1}


def test_a_jsonl_file_with_no_readable_line_fails_alone(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("this is\nnot json\n")
    with pytest.raises(InputError, match=f"{path}: no readable JSON line"):
        read(JsonlReader(), path)


def test_jsonl_parts_deal_out_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl_bytes([json.dumps({"text": f"t{i}"}) for i in range(10)]))
    parts = [read(JsonlReader(), path, p, 3)[0] for p in range(3)]
    assert sorted(d.text for part in parts for d in part) == sorted(f"t{i}" for i in range(10))
    assert [d.text for d in parts[1]] == ["t1", "t4", "t7"]


def test_what_datatroves_jsonl_writer_writes_is_read(tmp_path):
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    originals = [DTDocument(text=f"text of document {i}", id=f"dt-{i}", metadata={"url": f"https://d.example/{i}", "date": "2024-05-01", "score": i / 10})
                 for i in range(5)]
    with JsonlWriter(str(tmp_path / "dt")) as writer:
        for doc in originals:
            writer.write(doc, rank=0)
    (path,) = sorted((tmp_path / "dt").glob("*.jsonl.gz"))
    assert reader_for(str(path)) == "jsonl_reader"
    docs, stats = read(JsonlReader(), path)
    assert [(d.id, d.text, d.url, d.date) for d in docs] == [(o.id, o.text, o.metadata["url"], "2024-05-01") for o in originals]
    assert [d.metadata["score"] for d in docs] == [o.metadata["score"] for o in originals]
    assert stats.docs_in == stats.docs_out == 5


def test_a_dataset_saved_with_save_to_disk_is_read_as_datasets_reads_it(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"text": [f"row {i} " * (i + 1) for i in range(2500)], "id": [f"r{i}" for i in range(2500)], "score": [i * 0.5 for i in range(2500)]}
    folder = tmp_path / "saved"
    datasets.Dataset.from_dict(rows).save_to_disk(str(folder), num_shards=2)
    files = sorted(folder.glob("*.arrow"))
    assert len(files) == 2 and all(reader_for(str(f)) == "hf_dataset_reader" for f in files)
    docs = [d for f in files for d in read(HFDatasetReader(), f)[0]]
    reference = datasets.load_from_disk(str(folder))
    assert [(d.id, d.text, d.metadata["score"]) for d in docs] == [(r["id"], r["text"], r["score"]) for r in reference]
    parts = [d.id for f in files for p in range(2) for d in read(HFDatasetReader(), f, p, 2)[0]]
    assert sorted(parts) == sorted(rows["id"])


def test_a_hub_datasets_parquet_shards_are_read_by_the_dataset_reader_too(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(10)], "label": list(range(10))})
    (tmp_path / "data").mkdir()
    ds.to_parquet(str(tmp_path / "data" / "train-00000-of-00001.parquet"))
    docs, _ = read(HFDatasetReader(), tmp_path / "data" / "train-00000-of-00001.parquet")
    assert [(d.text, d.metadata["label"]) for d in docs] == [(r["text"], r["label"]) for r in ds]


def test_a_dataset_dicts_splits_are_read_from_its_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    from curation.io.sources import resolve_inputs
    from curation.registry import reader_suffixes

    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a", "b"]}), "test": datasets.Dataset.from_dict({"text": ["c"]})}).save_to_disk(str(folder))
    files = resolve_inputs(str(folder), suffixes=reader_suffixes())
    assert {Path(f).parent.name for f in files} == {"train", "test"}
    assert sorted(d.text for f in files for d in read(HFDatasetReader(), f)[0]) == ["a", "b", "c"]


# -- WET ---------------------------------------------------------------------------------------


def wet_record(record_type: str, headers: dict[str, str], block: bytes) -> bytes:
    """One record in Common Crawl's WET layout: WARC/1.0 headers, the block, a blank line; one gzip member."""
    head = f"WARC/1.0\r\nWARC-Type: {record_type}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode() + block + b"\r\n\r\n", mtime=0)


def write_wet(path: Path, docs: list[dict[str, str]]) -> Path:
    """A WET file as Common Crawl writes one: a warcinfo record, then one conversion record per page."""
    info = b"Software-Info: curation-test\r\nExtracted-Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    out = [wet_record("warcinfo", {"WARC-Date": "2024-01-01T00:00:00Z", "WARC-Filename": path.name, "WARC-Record-ID": "<urn:uuid:info>",
                                   "Content-Type": "application/warc-fields"}, info)]
    for i, d in enumerate(docs):
        block = d["text"].encode()
        out.append(wet_record("conversion", {
            "WARC-Target-URI": d["url"], "WARC-Date": d["date"], "WARC-Record-ID": f"<urn:uuid:wet-{path.name}-{i:06d}>",
            "WARC-Refers-To": d["id"], "WARC-Block-Digest": "sha1:TEST", "WARC-Identified-Content-Language": "eng",
            "Content-Type": "text/plain"}, block))
    path.write_bytes(b"".join(out))
    return path


def test_wet_conversion_records_become_text_documents(tmp_path):
    docs = [{"id": f"<urn:uuid:{i}>", "url": f"https://e.example/{i}", "date": "2024-01-02T03:04:05Z", "text": f"Plain text number {i}.\nSecond line."} for i in range(3)]
    path = write_wet(tmp_path / "x.warc.wet.gz", docs)
    read_docs, stats = read(WetReader(), path)
    assert [(d.url, d.date, d.text) for d in read_docs] == [(d["url"], d["date"], d["text"]) for d in docs]
    assert [d.id for d in read_docs] == [f"<urn:uuid:wet-{path.name}-{i:06d}>" for i in range(3)]
    assert stats.dropped == {"warcinfo_record": 1}
    parts = [read(WetReader(), path, p, 2)[0] for p in range(2)]
    assert sorted(d.id for part in parts for d in part) == sorted(d.id for d in read_docs)


def test_a_wet_file_made_from_a_real_warc_reads_back_our_extracted_text(tmp_path, real_warcs):
    """The main text our extract stage gets from a real Common Crawl WARC, written as Common Crawl
    writes WET files, reads back document for document."""
    from curation.config import load_pipeline
    from curation.execution import run_pipeline
    from curation.io.shards import read_documents
    from tests.conftest import ROOT

    warc = next(p for p in real_warcs if p.name.startswith("CC-MAIN-2024-22"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / warc.name).symlink_to(warc)
    out = tmp_path / "out"
    # FineWeb's reader and extractor, without the English-only screen (the page is Aragonese)
    text = (ROOT / "pipelines" / "fineweb.yaml").read_text()
    start, end = text.index("    - screen:"), text.index("    - trafilatura:")
    (tmp_path / "p.yaml").write_text(text[:start] + text[end:])
    run_pipeline(load_pipeline(tmp_path / "p.yaml"), str(tmp_path / "in"), str(out), stages=["extract"], progress=False, executor="local")
    extracted = [d for f in sorted((out / "extract" / "shards").glob("*.parquet")) for d in read_documents(str(f))]
    assert extracted
    path = write_wet(tmp_path / "CC-MAIN-2024-22-00000.warc.wet.gz", [{"id": d.id, "url": d.url, "date": d.date, "text": d.text} for d in extracted])
    docs, stats = read(WetReader(), path)
    assert [(d.url, d.date, d.text) for d in docs] == [(d.url, d.date, d.text) for d in extracted]
    assert stats.docs_out == len(extracted) and not stats.counters.get("invalid_utf8")


def test_bytes_stream_helper_splits_lines_across_chunks():
    from curation.io import jsonl

    data = b"a" * (jsonl.READ_CHUNK - 1) + b"\nbb\ncc"
    assert [len(x) for x in jsonl.iter_lines(io.BytesIO(data))] == [jsonl.READ_CHUNK - 1, 2, 2]


class _RangeHandler(__import__("http.server").server.BaseHTTPRequestHandler):
    """Serves files of ``server.root`` with byte ranges (as S3, the hub and Common Crawl do)."""

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head: bool = False):
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        ranged = self.headers.get("Range", "").startswith("bytes=")
        if ranged:
            a, _, b = self.headers["Range"][6:].partition("-")
            start, end = int(a or 0), min(int(b) if b else len(data) - 1, len(data) - 1)
        self.send_response(206 if ranged else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if not head:
            self.wfile.write(data[start : end + 1])


def test_parquet_and_jsonl_inputs_are_read_over_https_as_from_disk(tmp_path):
    import http.server
    import threading

    fineweb_like(tmp_path / "fw.parquet", rows=30, row_group_size=7)
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes([json.dumps({"id": str(i), "text": f"t{i}"}) for i in range(50)])))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    server.root = tmp_path
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for reader, name in ((ParquetReader(), "fw.parquet"), (JsonlReader(), "d.jsonl.gz")):
            local = [(d.id, d.text) for d in read(reader, tmp_path / name)[0]]
            remote = [(d.id, d.text) for p in range(2) for d in read(reader, f"{base}/{name}", p, 2)[0]]
            assert sorted(remote) == sorted(local) and len(local) in (30, 50)
        assert reader.fields(f"{base}/d.jsonl.gz") == {"id", "text"}
    finally:
        server.shutdown()


def test_a_shard_from_elsewhere_without_our_optional_columns_reads(tmp_path):
    """What a finished stage's folder may hold when its shards came from another tool: no language,
    source or metadata column. The next stage reads them (no KeyError)."""
    from curation.io.shards import read_documents

    buf = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one", "two"], "url": ["u", None]}), buf)
    assert [(d.id, d.text, d.url, d.metadata) for d in read_documents(str(buf))] == [("a", "one", "u", {}), ("b", "two", "", {})]
