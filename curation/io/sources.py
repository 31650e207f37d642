"""Turn what a user passes as ``--input`` into the list of WARC files to process.

Accepted: a local file, folder (searched recursively) or glob; an ``s3://`` object, prefix or
glob; an ``http(s)://`` file; a ``*.paths.gz`` listing; or a Common Crawl crawl id such as
``CC-MAIN-2024-10`` (its ``warc.paths.gz`` listing is read from data.commoncrawl.org, or from
``CURATION_CC_BASE_URL``).
"""

from __future__ import annotations

import glob
import gzip
import os
import re

from curation.errors import InputError
from curation.io.fs import filesystem, read_bytes

WARC_SUFFIXES = (".warc", ".warc.gz")
CRAWL_ID = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")


def cc_base_url() -> str:
    return os.environ.get("CURATION_CC_BASE_URL", "https://data.commoncrawl.org").rstrip("/")


def is_warc(path: str) -> bool:
    return path.lower().endswith(WARC_SUFFIXES)


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


def resolve_inputs(spec: str, limit: int | None = None) -> list[str]:
    """The sorted WARC files (paths or URLs) that ``spec`` names, at most ``limit`` of them."""
    if CRAWL_ID.match(spec):
        files = read_listing(f"{cc_base_url()}/crawl-data/{spec}/warc.paths.gz")
    elif spec.endswith((".paths.gz", ".paths")):
        files = read_listing(spec)
    elif spec.startswith(("http://", "https://")):
        files = [spec]
    elif "://" in spec:
        files = _remote(spec)
    else:
        files = _local(spec)
    if not files:
        raise InputError(f"no .warc or .warc.gz files found in {spec}")
    return files[:limit] if limit else files


def _local(spec: str) -> list[str]:
    if any(ch in spec for ch in "*?["):
        return sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
    if os.path.isdir(spec):
        found = []
        for root, _, names in os.walk(spec):
            found += [os.path.join(root, n) for n in names if is_warc(n) and not n.startswith(".")]
        return sorted(found)
    if os.path.isfile(spec):
        return [spec]
    raise InputError(f"input not found: {spec} (a WARC file, a folder of them, a glob, s3://, https:// or a crawl id like CC-MAIN-2024-10)")


def _remote(spec: str) -> list[str]:
    proto = spec.split("://", 1)[0]
    fs, path = filesystem(spec)
    try:
        fs.invalidate_cache()
    except Exception:  # not every filesystem caches listings
        pass
    if any(ch in path for ch in "*?["):
        found = fs.glob(path)
    elif fs.isfile(path):
        return [spec]
    elif fs.exists(path):
        found = fs.find(path)
    else:
        raise InputError(f"input not found: {spec}")
    return sorted(f"{proto}://{p}" for p in found if is_warc(p))
