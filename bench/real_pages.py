"""Every real HTML page of the shared data folder, decoded as the pipeline decodes it.

Two sources (``$CURATION_SHARED_DATA``, default ``../shared/data``):

- ``warc/*.warc.gz``: the documents ``pipelines/fineweb.yaml``'s ``warc_reader`` turns the records
  into (id = WARC-Record-ID, text = the decoded HTML);
- ``extraction/mozilla-readability-testpages/pages/*/source.html.gz``: id ``readability/<case>``,
  decoded with the reader's own rule (UTF-8, else the declared charset, else detection).

Used by the extraction benchmarks and the screens' agreement check; nothing here is imported by the
pipeline itself.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from curation.document import Document

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def warc_pages(files: list[str | os.PathLike] | None = None) -> list[Document]:
    """HTML documents of WARC files (default: the shared real WARCs), read by fineweb.yaml's reader."""
    from curation.config import load_pipeline
    from curation.stats import StepStats

    if files is None:
        files = sorted((shared_data_dir() / "warc").glob("*.warc.gz"))
    reader = load_pipeline(str(REPO_ROOT / "pipelines" / "fineweb.yaml")).stage("extract").steps[0].build()
    docs: list[Document] = []
    for path in files:
        with open(path, "rb") as fh:
            docs.extend(reader.read_stream(fh, str(path), StepStats("warc_reader")))
    return docs


def readability_pages(root: Path | None = None) -> list[Document]:
    """The 130 mozilla/readability test pages as documents (id ``readability/<case>``)."""
    from curation.io.reader import decode_html
    from curation.stats import StepStats

    folder = (root or shared_data_dir()) / "extraction" / "mozilla-readability-testpages" / "pages"
    docs = []
    for page in sorted(folder.glob("*/source.html.gz")):
        decoded = decode_html(gzip.decompress(page.read_bytes()), "", StepStats("decode"))
        if decoded is None:
            continue
        name = page.parent.name
        docs.append(Document(id=f"readability/{name}", text=decoded[0], url=f"http://{name}.example.com/", source=str(page)))
    return docs


def all_pages(root: Path | None = None) -> list[Document]:
    """Every real HTML page available: the WARC documents, then the readability pages."""
    root = root or shared_data_dir()
    return warc_pages(sorted((root / "warc").glob("*.warc.gz"))) + readability_pages(root)
