"""Inputs: local folders and globs, https:// files, Common Crawl crawl ids, retried on transient errors."""

from __future__ import annotations

import gzip
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from curation.config import load_pipeline
from curation.errors import InputError
from curation.sharding import shard_name
from curation.io.sources import resolve_inputs
from curation.stage import ShardTask, run_shard


class FlakyServer(http.server.ThreadingHTTPServer):
    """Serves a folder on 127.0.0.1; answers 503 to the first ``fail_first`` requests of each file,
    and cuts the connection half-way through the first successful response when ``cut_once``."""

    def __init__(self, root: Path, fail_first: int = 0, cut_once: bool = False):
        self.root, self.fail_first, self.cut_once = root, fail_first, cut_once
        self.requests: dict[str, int] = {}
        self.cut_done: set[str] = set()
        self.failures = 0  # 503s sent and connections cut
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head: bool = False):
        srv: FlakyServer = self.server
        n = srv.requests[self.path] = srv.requests.get(self.path, 0) + 1
        file = srv.root / self.path.lstrip("/")
        if not file.is_file():
            self.send_error(404)
            return
        if n <= srv.fail_first and not head:
            srv.failures += 1
            self.send_error(503, "Slow Down")
            return
        data = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if head:
            return
        if srv.cut_once and self.path not in srv.cut_done and not self.path.endswith("paths.gz"):
            srv.cut_done.add(self.path)
            srv.failures += 1
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(data)


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(root: Path, **kw) -> tuple[str, FlakyServer]:
        srv = FlakyServer(root, **kw)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}", srv

    yield start
    for srv in servers:
        srv.shutdown()


def extract_stage(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("stages:\n  extract:\n    - warc_reader: {}\n")
    return load_pipeline(path).stage("extract")


def test_local_folder_glob_and_file(real_warcs):
    folder = str(real_warcs[0].parent)
    assert resolve_inputs(folder) == [str(p) for p in real_warcs]
    assert resolve_inputs(folder + "/dolma-*.warc.gz") == [str(p) for p in real_warcs if p.name.startswith("dolma")]
    assert resolve_inputs(str(real_warcs[0])) == [str(real_warcs[0])]
    assert len(resolve_inputs(folder, limit=2)) == 2


def test_folder_without_warc_files_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no .warc or .warc.gz files found"):
        resolve_inputs(str(tmp_path))


def test_crawl_id_reads_the_crawl_listing(tmp_path, serve, real_warcs, monkeypatch):
    crawl = tmp_path / "crawl-data" / "CC-MAIN-2099-01"
    crawl.mkdir(parents=True)
    rel = [f"crawl-data/CC-MAIN-2099-01/segments/x/warc/{p.name}" for p in real_warcs]
    (crawl / "warc.paths.gz").write_bytes(gzip.compress("\n".join(rel).encode() + b"\n"))
    base, _ = serve(tmp_path)
    monkeypatch.setenv("CURATION_CC_BASE_URL", base)
    assert resolve_inputs("CC-MAIN-2099-01", limit=3) == [f"{base}/{r}" for r in rel[:3]]


def test_https_input_is_retried_on_503_and_cut_connections_and_retries_are_counted(tmp_path, serve, real_warcs):
    src = real_warcs[-1]  # the largest real file
    shutil.copy(src, tmp_path / src.name)
    base, srv = serve(tmp_path, fail_first=2, cut_once=True)
    url = f"{base}/{src.name}"
    stage = extract_stage(tmp_path)
    marker = run_shard(stage, ShardTask("extract", shard_name(url), url, str(tmp_path / "out")))
    local = run_shard(stage, ShardTask("extract", shard_name(str(src)), str(src), str(tmp_path / "local")))
    reader, reader_local = marker["stats"]["steps"][0], local["stats"]["steps"][0]
    assert srv.failures >= 2 and reader["counters"]["io_retries"] == srv.failures  # each 503 and the cut connection
    assert reader["docs_out"] == reader_local["docs_out"] > 0 and reader["dropped"] == reader_local["dropped"]
    a = (tmp_path / "out/extract/shards" / f"{shard_name(url)}.parquet").read_bytes()
    b = (tmp_path / "local/extract/shards" / f"{shard_name(str(src))}.parquet").read_bytes()
    import io

    import pyarrow.parquet as pq

    ta, tb = pq.read_table(io.BytesIO(a)), pq.read_table(io.BytesIO(b))
    assert ta.column("id").to_pylist() == tb.column("id").to_pylist()
    assert ta.column("text").to_pylist() == tb.column("text").to_pylist()
