"""Turn what a user passes as ``--input`` into the list of input files to read.

Accepted: a local file, folder (searched recursively) or glob; an ``s3://`` object, prefix or
glob; an ``http(s)://`` file; a ``*.paths.gz`` listing; or a Common Crawl crawl id such as
``CC-MAIN-2024-10`` (its ``warc.paths.gz`` listing, or ``wet.paths.gz`` for the WET reader, read
from data.commoncrawl.org, or from ``CURATION_CC_BASE_URL``). A folder or prefix is searched for
the files of the reader in use (``suffixes``), or of every reader when the run chooses the reader
by file name. A host that cannot be reached ends in one line naming the URL and the attempts made.
"""

from __future__ import annotations

import glob
import gzip
import os
import re

from curation.errors import InputError
from curation.io.fs import filesystem, read_bytes, with_retries

WARC_SUFFIXES = (".warc", ".warc.gz")
CRAWL_ID = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")


def cc_base_url() -> str:
    return os.environ.get("CURATION_CC_BASE_URL", "https://data.commoncrawl.org").rstrip("/")


def read_listing(url: str) -> list[str]:
    """The files named in a Common Crawl ``*.paths.gz`` listing (relative lines resolve to the CC base)."""
    try:
        data = read_bytes(url)
    except FileNotFoundError as e:
        raise InputError(f"listing not found: {url}") from e
    if url.endswith(".gz"):
        data = gzip.decompress(data)
    base = cc_base_url()
    lines = [ln.strip() for ln in data.decode("utf-8").splitlines() if ln.strip()]
    return [ln if "://" in ln else f"{base}/{ln.lstrip('/')}" for ln in lines]


def resolve_inputs(spec: str, limit: int | None = None, suffixes: tuple[str, ...] = WARC_SUFFIXES, listing: str = "warc.paths.gz") -> list[str]:
    """The sorted input files (paths or URLs) that ``spec`` names, at most ``limit`` of them.
    ``suffixes``: the file names a folder or prefix is searched for; ``listing``: the crawl listing
    a crawl id names."""
    suffixes = tuple(s.lower() for s in suffixes)
    if CRAWL_ID.match(spec):
        files = read_listing(f"{cc_base_url()}/crawl-data/{spec}/{listing}")
    elif spec.endswith((".paths.gz", ".paths")):
        files = read_listing(spec)
    elif spec.startswith(("http://", "https://")):
        _reachable(spec)
        files = [spec]
    elif "://" in spec:
        files = _remote(spec, suffixes)
    else:
        files = _local(spec, suffixes)
    if not files:
        raise InputError(f"no {' or '.join(suffixes)} files found in {spec}")
    return files[:limit] if limit else files


def _reachable(url: str) -> None:
    """An https:// input answers (or the run stops in one line now, not in every shard later)."""
    fs, path = filesystem(url)
    try:
        with_retries(lambda: fs.info(path), url)
    except FileNotFoundError:
        raise InputError(f"input not found: {url}") from None


def _local(spec: str, suffixes: tuple[str, ...]) -> list[str]:
    if any(ch in spec for ch in "*?["):
        return sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
    if os.path.isdir(spec):
        found = []
        for root, _, names in os.walk(spec):
            found += [os.path.join(root, n) for n in names if n.lower().endswith(suffixes) and not n.startswith(".")]
        return sorted(found)
    if os.path.isfile(spec):
        return [spec]
    raise InputError(f"input not found: {spec} (a file, a folder of them, a glob, s3://, https:// or a crawl id like CC-MAIN-2024-10)")


def _remote(spec: str, suffixes: tuple[str, ...]) -> list[str]:
    proto = spec.split("://", 1)[0]
    fs, path = filesystem(spec)
    try:
        fs.invalidate_cache()
    except Exception:  # not every filesystem caches listings
        pass
    if any(ch in path for ch in "*?["):
        found = with_retries(lambda: fs.glob(path), spec)
    elif with_retries(lambda: fs.isfile(path), spec):
        return [spec]
    elif with_retries(lambda: fs.exists(path), spec):
        found = with_retries(lambda: fs.find(path), spec)
    else:
        raise InputError(f"input not found: {spec}")
    return sorted(f"{proto}://{p}" for p in found if p.lower().endswith(suffixes))
