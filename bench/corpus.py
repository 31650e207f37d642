"""A "many files" WARC corpus for the benchmark, built from real pages.

Takes every HTTP-200 HTML response record of the real WARC files (``$CURATION_SHARED_DATA/warc``)
and writes ``files`` WARC files of ``pages_per_file`` response records each, cycling through the
pages in a seeded order. Each record is its original bytes, with one change: a fresh
``WARC-Record-ID`` (a UUID derived from the original id, the file and the position), so that every
document of the corpus has its own id and the two pipelines can be compared record by record. Each
record is its own gzip member (Common Crawl's layout; a concatenation of gzip members is a valid
``.warc.gz``). Only response records are written (no request/metadata records) and only pages that
both readers accept under either rule set (status 200 and HTML by WARC-Identified-Payload-Type or
Content-Type, the warc_reader's defaults; datatrove/FineWeb, which fineweb.yaml's reader follows: any
status, HTML by WARC-Identified-Payload-Type or libmagic), so both pipelines read the same documents.

Pages repeat (the real files hold ~150 such pages): trafilatura's ``deduplicate=True`` would strip
repeated paragraphs, so run both sides with deduplicate off on this corpus.

    .venv/bin/python -m bench.corpus --output bench_output/corpus --files 50 --pages-per-file 200
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_RECORD_ID = re.compile(rb"^(WARC-Record-ID:[ \t]*)<?urn:uuid:[^>\r\n]*>?", re.I | re.M)
_NAMESPACE = uuid.UUID("7d5a3c2e-6f1b-4c8a-9e0d-2b4f6a8c1e3d")


def shared_warc_dir() -> Path:
    root = Path(os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    return root / "warc"


def html_response_records(warcs: list[str | os.PathLike]) -> list[bytes]:
    """The uncompressed bytes of each response record that both readers turn into a document:
    HTTP 200 and HTML by its headers (ours) and by datatrove's rules (gzip-per-record files only)."""
    from datatrove.pipeline.readers.warc import process_record
    from warcio.archiveiterator import ArchiveIterator

    records = []
    for path in sorted(str(p) for p in warcs):
        raw = Path(path).read_bytes()
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                keep = False
                if rec.rec_type == "response" and rec.http_headers is not None:
                    status = rec.http_headers.get_statuscode()
                    ctype = (rec.rec_headers.get_header("WARC-Identified-Payload-Type")
                             or (rec.http_headers.get_header("Content-Type") or "").split(";")[0]).strip().lower()
                    keep = status == "200" and ctype in ("text/html", "application/xhtml+xml")
                    # ...and datatrove's reader reads it too (it sniffs the body with libmagic when the
                    # record has no WARC-Identified-Payload-Type, and needs UTF-8 or a cchardet guess)
                    keep = keep and process_record(rec) is not None
                it.read_to_end(rec)
                if not keep:
                    continue
                offset, length = it.get_record_offset(), it.get_record_length()
                member = raw[offset : offset + length]
                data = gzip.decompress(member) if path.endswith(".gz") else member
                if not data.startswith(b"WARC/") or data.count(b"\r\nWARC-Type:") != 1:
                    raise ValueError(f"{path}: not one record per gzip member at byte {offset}; cannot reuse it")
                records.append(data)
    return records


def with_new_id(record: bytes, new_id: uuid.UUID) -> bytes:
    out, n = _RECORD_ID.subn(lambda m: m.group(1) + f"<urn:uuid:{new_id}>".encode(), record, count=1)
    if n != 1:
        raise ValueError("record has no WARC-Record-ID header")
    return out


def build_corpus(output: str | os.PathLike, files: int = 50, pages_per_file: int = 200, seed: int = 0,
                 source: str | os.PathLike | None = None) -> dict:
    """Write ``files`` WARC files of ``pages_per_file`` pages into ``output`` (emptied of *.warc.gz first).

    Returns a manifest: files, pages, distinct source pages, bytes. Deterministic for a given seed.
    """
    src = Path(source) if source else shared_warc_dir()
    warcs = sorted(src.glob("*.warc.gz")) + sorted(src.glob("*.warc"))
    if not warcs:
        raise FileNotFoundError(f"no WARC files in {src} (set CURATION_SHARED_DATA)")
    pool = html_response_records(warcs)
    if not pool:
        raise ValueError(f"no HTTP-200 HTML response in {src}")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.warc.gz"):
        old.unlink()
    rng = random.Random(seed)
    order: list[int] = []
    total_bytes = 0
    for f in range(files):
        parts = []
        for i in range(pages_per_file):
            if not order:
                order = list(range(len(pool)))
                rng.shuffle(order)
            k = order.pop()
            new_id = uuid.uuid5(_NAMESPACE, f"{seed}/{f}/{i}/{k}")
            parts.append(gzip.compress(with_new_id(pool[k], new_id), compresslevel=6, mtime=0))
        path = out / f"many-{f:04d}.warc.gz"
        data = b"".join(parts)
        path.write_bytes(data)
        total_bytes += len(data)
    manifest = {"files": files, "pages_per_file": pages_per_file, "pages": files * pages_per_file,
                "distinct_pages": len(pool), "bytes": total_bytes, "seed": seed, "source": str(src)}
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default=str(REPO_ROOT / "bench_output" / "corpus"))
    p.add_argument("--files", type=int, default=50)
    p.add_argument("--pages-per-file", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", help="folder of WARC files (default: $CURATION_SHARED_DATA/warc)")
    args = p.parse_args(argv)
    print(json.dumps(build_corpus(args.output, args.files, args.pages_per_file, args.seed, args.source), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
