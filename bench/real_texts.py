"""Real texts for checking the filters against datatrove (tests) and timing them (bench).

Everything comes from the shared data folder (``$CURATION_SHARED_DATA``, default ``../shared/data``
from the repository root): the main text of every HTML response in ``warc/*.warc.gz`` and of every
``extraction/mozilla-readability-testpages/**/source.html.gz`` page, extracted as FineWeb does
(``trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False)``),
plus the labelled passages in ``langid/``. Extraction takes ~12 s of CPU (spread over the CPUs),
so the texts are cached in the temporary directory, keyed by the input files' sizes and times
and trafilatura's version.

Nothing here is imported by the pipeline itself.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Sample:
    id: str
    text: str
    url: str = ""
    source: str = ""  # "warc", "readability", "udhr", "whatlang"


def _inputs(root: Path) -> list[Path]:
    warcs = sorted((root / "warc").glob("*.warc.gz"))
    pages = sorted((root / "extraction" / "mozilla-readability-testpages").glob("**/source.html.gz"))
    return warcs + pages


def _fingerprint(paths: list[Path]) -> str:
    import trafilatura

    h = hashlib.sha256(trafilatura.__version__.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _html_records(warc: Path):
    """(url, html bytes) of each HTML response of a WARC file (warcio, the reference reader)."""
    from warcio.archiveiterator import ArchiveIterator

    with open(warc, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type != "response" or rec.http_headers is None:
                continue
            ctype = rec.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype.lower():
                continue
            yield rec.rec_headers.get_header("WARC-Target-URI") or "", rec.content_stream().read()


def _extract(jobs: list[tuple[str, str, bytes, str]]) -> dict[str, dict]:
    import trafilatura

    out = {}
    for doc_id, url, html, source in jobs:
        text = trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False)
        if text:
            out[doc_id] = {"id": doc_id, "url": url, "text": text, "source": source}
    return out


def _extract_all(root: Path) -> list[dict]:
    from bench.datatrove_filters import _in_parallel

    jobs = []
    for warc in sorted((root / "warc").glob("*.warc.gz")):
        for i, (url, html) in enumerate(_html_records(warc)):
            jobs.append((f"{warc.name}#{i}", url, html, "warc"))
    pages_root = root / "extraction" / "mozilla-readability-testpages"
    for page in sorted(pages_root.glob("**/source.html.gz")):
        name = page.parent.name
        jobs.append((f"readability/{name}", f"http://{name}.example.com/", gzip.decompress(page.read_bytes()), "readability"))
    found = _in_parallel(_extract, jobs)
    return [found[doc_id] for doc_id, *_ in jobs if doc_id in found]


def extracted_pages(root: Path | None = None) -> list[Sample]:
    """Main texts of the real HTML pages (WARC responses and readability test pages)."""
    root = root or shared_data_dir()
    paths = _inputs(root)
    if not paths:
        return []
    cache = Path(tempfile.gettempdir()) / f"curation-filter-corpus-{_fingerprint(paths)}.json"
    if cache.is_file():
        try:
            rows = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rows = None
    else:
        rows = None
    if rows is None:
        rows = _extract_all(root)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, cache)
        except OSError:
            pass
    return [Sample(r["id"], r["text"], r["url"], r["source"]) for r in rows]


def langid_texts(root: Path | None = None) -> list[Sample]:
    """Labelled passages: UDHR translations (522) and whatlang examples (69 languages)."""
    root = (root or shared_data_dir()) / "langid"
    out = []
    udhr = root / "udhr_declarations_first4000chars.jsonl"
    if udhr.is_file():
        for line in udhr.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out.append(Sample(f"udhr/{r['code']}", r["text"], f"http://udhr.example.org/{r['iso639_3']}", "udhr"))
    whatlang = root / "whatlang_examples.json"
    if whatlang.is_file():
        for code, text in json.loads(whatlang.read_text(encoding="utf-8")).items():
            out.append(Sample(f"whatlang/{code}", text, f"http://whatlang.example.org/{code}", "whatlang"))
    return out


def all_texts(root: Path | None = None) -> list[Sample]:
    return extracted_pages(root) + langid_texts(root)
