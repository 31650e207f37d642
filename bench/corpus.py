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

A **language-mixed** corpus (``build_mixed_corpus``, ``--english-share 0.45``) has Common Crawl's
share of English pages (about 45%), from real pages only. Its pool is the records above plus the 91
real site snapshots among the readability test pages (``source.html.gz`` of 15 KB or more; the
small synthetic unit cases, lorem ipsum in Latin, are left out), each page's bytes as published,
wrapped in a response record we write (WARC and HTTP headers: the envelope is ours, the HTML is
not). Each page's language is lid.176's top label on its main text as the pipeline extracts it
(trafilatura with FineWeb's settings; the visible text where that is empty), i.e. what the
language step will see. Then ``english_share`` of the corpus's pages are drawn from the English
pages and the rest from the others, each pool cycled in a seeded order, and the two interleaved.
The real data holds about 250 distinct English pages and about 30 distinct pages in other
languages (Chinese, German, French, Spanish, Japanese, Russian, Czech, Dutch, Portuguese, ...), so
the non-English half repeats its pages more often than the English one; the language *mix* is
Common Crawl's, its variety is not. The langid passages of the shared data are plain text, not
pages: putting them into HTML would measure our own wrapping, not real pages, so they are not used.

    .venv/bin/python -m bench.corpus --output bench_output/corpus --files 50 --pages-per-file 200
    .venv/bin/python -m bench.corpus --output bench_output/mixed --files 20 --pages-per-file 100 --english-share 0.45
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


READABILITY_REAL_MIN_BYTES = 15_000  # as curation.evaluate: smaller test pages are synthetic unit cases


def readability_records(root: Path | None = None) -> list[bytes]:
    """The real readability test pages, each as an uncompressed WARC response record (our envelope, their HTML)."""
    folder = (root or shared_warc_dir().parent) / "extraction" / "mozilla-readability-testpages" / "pages"
    records = []
    for page in sorted(folder.glob("*/source.html.gz")):
        html = gzip.decompress(page.read_bytes())
        if len(html) < READABILITY_REAL_MIN_BYTES:
            continue
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + str(len(html)).encode() + b"\r\n\r\n" + html
        rid = uuid.uuid5(_NAMESPACE, f"readability/{page.parent.name}")
        head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{rid}>\r\n"
                f"WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Target-URI: https://{page.parent.name}.readability-testpages.example/\r\n"
                f"WARC-Identified-Payload-Type: text/html\r\nContent-Type: application/http; msgtype=response\r\n"
                f"Content-Length: {len(http)}\r\n\r\n")
        records.append(head.encode() + http + b"\r\n\r\n")
    return records


def record_language(record: bytes) -> str:
    """lid.176's top label of a record's main text as the pipeline extracts it (visible text if none); "" if no text."""
    import io

    from curation.extraction.trafilatura import TrafilaturaExtractor
    from curation.extraction.screens import visible_text
    from curation.io.reader import WarcReader
    from curation.stats import StepStats
    from filters.language import load_model

    docs = list(WarcReader(WarcReader.Params(statuses="any")).read_stream(io.BytesIO(record), "record.warc", StepStats("reader")))
    if not docs:
        return ""
    html = docs[0].text
    text = TrafilaturaExtractor().extract(html) or visible_text(html)
    if not text.strip():
        return ""
    labels, _ = load_model().predict(text.replace("\n", " "), k=1)
    return labels[0].removeprefix("__label__")


def build_mixed_corpus(output: str | os.PathLike, files: int = 20, pages_per_file: int = 100, english_share: float = 0.45,
                       seed: int = 0, source: str | os.PathLike | None = None) -> dict:
    """Write a corpus whose pages are ``english_share`` English (by the language step's model), the
    rest in other languages; real pages only (see the module docstring). Returns its manifest."""
    src = Path(source) if source else shared_warc_dir()
    warcs = sorted(src.glob("*.warc.gz")) + sorted(src.glob("*.warc"))
    pool = html_response_records(warcs) + readability_records(src.parent)
    languages = [record_language(r) for r in pool]
    english = [r for r, lang in zip(pool, languages) if lang == "en"]
    other = [r for r, lang in zip(pool, languages) if lang != "en"]
    if not english or not other:
        raise ValueError(f"need English and non-English pages; found {len(english)} and {len(other)}")
    total = files * pages_per_file
    n_en = round(english_share * total)
    rng = random.Random(seed)

    def cycle(records: list[bytes], n: int) -> list[int]:
        picks: list[int] = []
        while len(picks) < n:
            order = list(range(len(records)))
            rng.shuffle(order)
            picks += order
        return picks[:n]

    chosen = [(english, k, "en") for k in cycle(english, n_en)]
    chosen += [(other, k, "other") for k in cycle(other, total - n_en)]
    rng.shuffle(chosen)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.warc.gz"):
        old.unlink()
    total_bytes = 0
    mix: dict[str, int] = {}
    label_of = {id(r): lang for r, lang in zip(pool, languages)}
    for f in range(files):
        parts = []
        for i in range(pages_per_file):
            records, k, _ = chosen[f * pages_per_file + i]
            record = records[k]
            mix[label_of[id(record)] or "none"] = mix.get(label_of[id(record)] or "none", 0) + 1
            new_id = uuid.uuid5(_NAMESPACE, f"mixed/{seed}/{f}/{i}")
            parts.append(gzip.compress(with_new_id(record, new_id), compresslevel=6, mtime=0))
        data = b"".join(parts)
        (out / f"mixed-{f:04d}.warc.gz").write_bytes(data)
        total_bytes += len(data)
    distinct: dict[str, int] = {}
    for lang in languages:
        distinct[lang or "none"] = distinct.get(lang or "none", 0) + 1
    manifest = {"files": files, "pages_per_file": pages_per_file, "pages": total, "english_share": n_en / total,
                "distinct_pages": len(pool), "distinct_english": len(english), "distinct_other": len(other),
                "languages_in_pool": dict(sorted(distinct.items(), key=lambda x: -x[1])),
                "languages_in_corpus": dict(sorted(mix.items(), key=lambda x: -x[1])),
                "bytes": total_bytes, "seed": seed, "source": str(src)}
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default=str(REPO_ROOT / "bench_output" / "corpus"))
    p.add_argument("--files", type=int, default=50)
    p.add_argument("--pages-per-file", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", help="folder of WARC files (default: $CURATION_SHARED_DATA/warc)")
    p.add_argument("--english-share", type=float, help="build the language-mixed corpus with this share of English pages (e.g. 0.45)")
    args = p.parse_args(argv)
    if args.english_share is not None:
        manifest = build_mixed_corpus(args.output, args.files, args.pages_per_file, args.english_share, args.seed, args.source)
    else:
        manifest = build_corpus(args.output, args.files, args.pages_per_file, args.seed, args.source)
    print(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
