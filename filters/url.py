"""URL blocklist filter, as datatrove 0.10.1's ``URLFilter``.

Same decisions and reasons (``domain``, ``subdomain``, ``url``, ``hard_blacklisted``,
``soft_blacklisted``, ``blacklisted_subword``) as datatrove with the same settings, on
``doc.url``:

- the UT1 blocklist that datatrove bundles (``url_filterblacklistsv0_3_0.tar.gz``: ``domains``,
  4.6 M lines, and ``urls``), matched against tldextract's registered domain and full domain
  name, and against the whole URL;
- datatrove's banned words (any of them a word of the URL), soft-banned words (at least
  ``soft_word_threshold`` of them) and banned subwords (Aho-Corasick over the URL without its
  non-alphanumeric characters).

datatrove extracts the archive to a cache folder and parses both lists into Python sets for
every task (~4.5 s, ~0.5 GB). Here they are loaded once per process (``load_blocklist``, a
``functools.cache``: ``load_blocklist.cache_info().misses`` counts the loads), straight from
the archive: the ``domains`` list, which is sorted, stays one bytes object searched by
bisection (after checking that it is plain sorted ASCII, one domain a line, nothing for
datatrove's parsing to change; otherwise it is parsed into a set exactly as datatrove does).

Unpacking the archive costs ~0.5-0.9 s of CPU in every worker process, on the way to its first
shard. The first load therefore also writes the checked ``domains`` list (124 MB), its index and
the ``urls`` list to ``curation.assets.derived_cache_dir()``, in a folder named by the archive's
size and CRC-32 (like datatrove, which keeps the extracted archive in its cache folder); later
loads map that file (``mmap``: ~0.1 s, and the pages are shared by every worker on the machine
instead of 124 MB in each). A cache folder that is missing, partial or unreadable is rebuilt or
ignored; the lists are the same either way (``tests/test_filters_url.py``).

tldextract runs offline, on the public suffix list snapshot it ships
(``TLDExtract(suffix_list_urls=(), cache_dir=None)``). datatrove's ``TLDExtract()`` fetches the
live list when it can (and falls back to the same snapshot when it cannot), so on a machine with
network access a domain under a suffix added since the snapshot may be split differently there.
"""

from __future__ import annotations

import bisect
import functools
import io
import json
import mmap
import os
import re
import shutil
import tarfile
import zlib
from array import array
from collections.abc import Iterable
from typing import ClassVar

from curation.document import Document
from curation.resources import worker_resource
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter

normalizer = re.compile(r"[^a-zA-Z0-9]+")


def normalize(text: str, replace: str = "") -> str:
    return normalizer.sub(replace, text).lower()


def parse_list(lines: Iterable[str], do_normalize: bool = True) -> set[str]:
    """datatrove ``url_filter.parse_list``: one entry a line, ``#`` lines skipped."""
    return {normalize(x) if do_normalize else x.strip() for x in lines if x[0] != "#"}


def _text_lines(data: bytes) -> io.TextIOWrapper:
    # what iterating over open(path) gives (locale encoding, universal newlines)
    return io.TextIOWrapper(io.BytesIO(data))


# (size, CRC-32) of url_filterblacklistsv0_3_0.tar.gz archives whose ``domains`` list is known to be
# sorted (tests/test_filters_url.py checks it with ``_is_sorted``); others are checked at load.
KNOWN_SORTED_ARCHIVES = {(18172875, 2259901191)}
_PRINTABLE = bytes(range(0x21, 0x7F))  # printable ASCII without the space


class SortedLines:
    """Membership in a sorted, newline-separated list of ASCII lines, searched in place.

    A binary search over byte offsets: the line around the middle offset is found with
    ``rfind``/``find``, so no index of the 4.6 M lines is built.
    """

    BLOCK = 2048  # bytes of list per entry of the sparse index

    def __init__(self, data: bytes | mmap.mmap, starts: list[int] | None = None):
        """``data``: the list (bytes, or a read-only ``mmap`` of it); ``starts``: its sparse index
        as ``index()`` returns it, when already known."""
        self.data = data
        self._starts = self.index(data) if starts is None else starts
        find = data.find
        self._keys = [data[s : (find(b"\n", s) + 1 or len(data) + 1) - 1] for s in self._starts]

    @classmethod
    def index(cls, data: bytes | mmap.mmap) -> list[int]:
        """The offset of the line starting at (or right after) every BLOCK-th byte."""
        starts = [0]
        find = data.find
        for offset in range(cls.BLOCK, len(data), cls.BLOCK):
            nl = find(b"\n", offset - 1)
            if nl < 0 or nl + 1 >= len(data):
                break
            if nl + 1 > starts[-1]:
                starts.append(nl + 1)
        return starts

    def _line_at(self, start: int) -> bytes:
        end = self.data.find(b"\n", start)
        return self.data[start : end if end >= 0 else len(self.data)]

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str) or not item.isascii():
            return False  # every line is ASCII
        key = item.encode("ascii")
        j = bisect.bisect_right(self._keys, key) - 1
        if j < 0:
            return False  # before the first line
        data = self.data
        size = len(data)
        # lines starting in [lo, hi) are undecided; the line at hi (if any) is above key
        lo = self._starts[j]
        hi = self._starts[j + 1] if j + 1 < len(self._starts) else size + 1
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", lo, mid) + 1 if mid > lo else lo
            if start == 0:
                start = lo
            end = data.find(b"\n", start)
            if end < 0:
                end = size
            if data[start:end] < key:
                lo = end + 1
            else:
                hi = start
        return lo <= size and self._line_at(lo) == key

    @classmethod
    def build(cls, data: bytes, known_sorted: bool = False) -> "SortedLines | None":
        """The list in ``data`` if datatrove's parsing keeps each line as it is and the lines are
        sorted, else None."""
        if not data or data.translate(None, _PRINTABLE + b"\n"):
            return None  # only printable ASCII without spaces: strip() and decoding change nothing
        if data.count(b"#") or data[:1] == b"\n":
            return None  # "#" lines are comments in datatrove's parsing (domains have no "#")
        if not known_sorted:
            import numpy as np

            arr = np.frombuffer(data, dtype=np.uint8)
            ends = np.flatnonzero(arr == 0x0A)
            if data[-1:] != b"\n":
                ends = np.append(ends, len(data))
            starts = np.empty_like(ends)
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
            lens = ends - starts
            if np.any(lens == 0) or not _is_sorted(data, starts, lens):
                return None
        # (known sorted: an empty line would sort first, and the first line is not empty)
        return cls(data)


def _is_sorted(data: bytes, starts, lens) -> bool:
    """Whether the lines data[starts[i] : starts[i] + lens[i]] are in non-decreasing byte order.

    Adjacent lines are compared 8 bytes at a time as big-endian integers, bytes past a line's end
    read as 0 (every byte of a line is above 0, so a line sorts before its extensions).
    """
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    n = len(starts)
    if n < 2:
        return True
    padded = np.frombuffer(data + bytes(8), dtype=np.uint8)
    windows = as_strided(padded, shape=(len(data), 8), strides=(1, 1))  # windows[i] = data[i:i+8]
    keep = np.array([(0xFFFFFFFFFFFFFFFF << (8 * (8 - r))) & 0xFFFFFFFFFFFFFFFF for r in range(9)], dtype=np.uint64)
    pairs = np.arange(n - 1)
    pos = 0
    while pairs.size:
        a_rows, b_rows = pairs, pairs + 1
        a = np.ascontiguousarray(windows[starts[a_rows] + pos]).view(">u8").ravel().astype(np.uint64)
        b = np.ascontiguousarray(windows[starts[b_rows] + pos]).view(">u8").ravel().astype(np.uint64)
        a &= keep[np.clip(lens[a_rows] - pos, 0, 8)]
        b &= keep[np.clip(lens[b_rows] - pos, 0, 8)]
        if np.any(a > b):
            return False
        pos += 8
        # equal so far: compare further while both lines go on
        pairs = pairs[(a == b) & (lens[a_rows] > pos) & (lens[b_rows] > pos)]
    return True


class Blocklist:
    def __init__(self, domains, urls: set[str]):
        self.domains = domains  # SortedLines or set[str]
        self.urls = urls


BLOCKLIST_CACHE_FORMAT = 1  # raise when the files written by _write_cached change


@worker_resource
def load_blocklist() -> Blocklist:
    """The UT1 domain and URL blocklists, read once per process: from the cache folder when an
    earlier load wrote it, else from datatrove's archive (and the cache folder written)."""
    from curation.assets import derived_cache_dir, url_blocklist_archive

    raw = url_blocklist_archive().read_bytes()
    crc = zlib.crc32(raw)
    base = derived_cache_dir()
    folder = base / f"ut1-blocklist-{len(raw)}-{crc:08x}-v{BLOCKLIST_CACHE_FORMAT}" if base is not None else None
    if folder is not None and (cached := _read_cached(folder)) is not None:
        return cached
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)  # not whole (damaged, or from an interrupted clean-up): rebuilt below
    known_sorted = (len(raw), crc) in KNOWN_SORTED_ARCHIVES
    tar_bytes = zlib.decompress(raw, 31) if raw[:2] == b"\x1f\x8b" else raw
    members = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.rsplit("/", 1)[-1] in ("domains", "urls"):
                members[m.name.rsplit("/", 1)[-1]] = tar.extractfile(m).read()
    del tar_bytes
    domains_data = members.get("domains", b"")
    urls_data = members.get("urls", b"")
    domains = SortedLines.build(domains_data, known_sorted)
    if domains is None:
        domains = parse_list(_text_lines(domains_data), do_normalize=False)
    elif folder is not None:  # only a list that passed SortedLines' checks is cached
        _write_cached(folder, domains_data, domains._starts, urls_data)
    urls = parse_list(_text_lines(urls_data), do_normalize=False)
    return Blocklist(domains, urls)


def _read_cached(folder) -> Blocklist | None:
    """The blocklist from a cache folder ``_write_cached`` wrote, or None if it is absent or not whole."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        with open(folder / "domains", "rb") as f:
            if os.fstat(f.fileno()).st_size != meta["domains_bytes"] or not meta["domains_bytes"]:
                return None
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        starts = array("q")
        starts.frombytes((folder / "starts").read_bytes())
        urls_data = (folder / "urls").read_bytes()
        if len(urls_data) != meta["urls_bytes"] or len(starts) != meta["index_entries"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Blocklist(SortedLines(data, starts.tolist()), parse_list(_text_lines(urls_data), do_normalize=False))


def _write_cached(folder, domains_data: bytes, starts: list[int], urls_data: bytes) -> None:
    """Write the cache folder whole or not at all: built aside, then renamed into place (a worker
    that loses the race to another, or finds the disk full, just goes on without it)."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir()
        (tmp / "domains").write_bytes(domains_data)
        (tmp / "starts").write_bytes(array("q", starts).tobytes())
        (tmp / "urls").write_bytes(urls_data)
        meta = {"domains_bytes": len(domains_data), "urls_bytes": len(urls_data), "index_entries": len(starts)}
        (tmp / "meta.json").write_text(json.dumps(meta))
        os.rename(tmp, folder)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@worker_resource
def load_word_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """datatrove's banned words, banned subwords and soft-banned words (normalized)."""
    from curation.assets import datatrove_assets

    def read(name: str) -> frozenset[str]:
        with open(datatrove_assets() / name) as f:
            return frozenset(parse_list(f))

    return read("banned_words.txt"), read("banned_subwords.txt"), read("soft_banned_words.txt")


@worker_resource
def tld_extractor():
    """tldextract on its bundled public suffix list: no network, no cache folder."""
    from tldextract import TLDExtract

    return TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.cache
def subword_automaton(words: frozenset[str]):
    import ahocorasick

    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for word in sorted(words):
        automaton.add_word(word, len(automaton))
    if len(automaton):
        automaton.make_automaton()
    return automaton


class URLParams(StepParams):
    soft_word_threshold: int = 2
    extra_domains: tuple[str, ...] | None = None
    extra_urls: tuple[str, ...] | None = None
    banned_words: tuple[str, ...] | None = None
    banned_subwords: tuple[str, ...] | None = None
    soft_banned_words: tuple[str, ...] | None = None
    use_integrated_lists: bool = True


class URLFilter(BaseFilter):
    """Drop documents whose URL is on the UT1 blocklist or has banned words (datatrove URLFilter)."""

    name = "url_filter"
    Params = URLParams
    uses = ("url",)
    scores: ClassVar[tuple[Score, ...]] = (
        Score("url_soft_banned_words", 0.0, 10.0, 10, thresholds=(Threshold("soft_word_threshold", "atleast"),), unit="soft-banned words in the URL"),
    )

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
        p = self.params
        self._extra_domains = parse_list(p.extra_domains, do_normalize=False) if p.extra_domains else set()
        self._extra_urls = parse_list(p.extra_urls, do_normalize=False) if p.extra_urls else set()
        self._extra_banned = parse_list(p.banned_words) if p.banned_words else set()
        self._extra_subwords = parse_list(p.banned_subwords) if p.banned_subwords else set()
        self._extra_soft = parse_list(p.soft_banned_words) if p.soft_banned_words else set()
        self._ready = False

    def _load(self) -> None:
        # heavy lists: loaded on first use, once per process
        if self.params.use_integrated_lists:
            blocklist = load_blocklist()
            banned, subwords, soft = load_word_lists()
            self._domains = blocklist.domains
            self._urls = blocklist.urls | self._extra_urls if self._extra_urls else blocklist.urls
            self._banned = frozenset(banned | self._extra_banned)
            self._subwords = frozenset(subwords | self._extra_subwords)
            self._soft = frozenset(soft | self._extra_soft)
        else:
            self._domains = set()
            self._urls = self._extra_urls
            self._banned = frozenset(self._extra_banned)
            self._subwords = frozenset(self._extra_subwords)
            self._soft = frozenset(self._extra_soft)
        self._automaton = subword_automaton(self._subwords)
        self._extract = tld_extractor()
        self._ready = True

    def warm_up(self) -> None:
        if not self._ready:
            self._load()

    def _blocked_domain(self, name: str) -> bool:
        return name in self._extra_domains or name in self._domains

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not self._ready:
            self._load()
        url = doc.url
        if not url:
            raise ValueError(f"document {doc.id} has no url")  # datatrove: an AssertionError
        info = self._extract(url)

        if self._blocked_domain(info.top_domain_under_public_suffix):  # tldextract's registered_domain
            return False, "domain"
        if self._blocked_domain(info.fqdn):
            return False, "subdomain"
        if url in self._urls:
            return False, "url"

        url_words = set(normalizer.split(url))
        if not self._banned.isdisjoint(url_words):
            return False, "hard_blacklisted"

        n_soft = len(self._soft.intersection(url_words))
        stats = getattr(self, "stats", None)
        if stats is not None:
            stats.observe("url_soft_banned_words", n_soft)
        if n_soft >= self.params.soft_word_threshold:
            return False, "soft_blacklisted"

        if self._subwords and next(self._automaton.iter(normalize(url)), False):
            return False, "blacklisted_subword"
        return True
