"""url_filter against datatrove's URLFilter, and the blocklist structure behind it."""

from __future__ import annotations

import io
import random
import tarfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import real_texts as corpus
from bench.datatrove_filters import reference_document, reference_filter, verdict
from curation.assets import url_blocklist_archive
from curation.document import Document
from curation.stats import StepStats
from filters import url

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --------------------------------------------------------------------------------------------
# SortedLines


@pytest.mark.parametrize(
    "lines",
    [["a"], ["a", "b", "c"], ["aa", "ab", "b", "ba"], [f"d{i:05d}.com" for i in range(3000)], ["x" * 5000, "y"]],
)
@pytest.mark.parametrize("trailing_newline", [False, True])
def test_sorted_lines_membership(lines, trailing_newline):
    data = ("\n".join(lines) + ("\n" if trailing_newline else "")).encode()
    found = url.SortedLines.build(data)
    assert found is not None
    probes = set(lines) | {"", "0", "a", "aa", "ab", "abc", "b", "bb", "c", "z", "~", "d00001.co", "d00001.comm", "é"}
    probes |= {line[:-1] for line in lines} | {line + "x" for line in lines}
    for probe in probes:
        assert (probe in found) == (probe in lines), probe


@pytest.mark.parametrize(
    "lines",
    [["b", "a"], ["ab", "a"], ["abcdefghik", "abcdefghij"], ["a", "", "b"], ["#a", "b"], ["a b"], ["a\tb"], ["é"], []],
)
def test_sorted_lines_refuses_what_datatrove_would_parse_differently(lines):
    assert url.SortedLines.build("\n".join(lines).encode()) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc.-0", min_size=1, max_size=12), min_size=1, max_size=60), st.data())
def test_sorted_lines_generated(lines, data):
    lines = sorted(set(lines))
    found = url.SortedLines.build("\n".join(lines).encode())
    assert found is not None
    probes = data.draw(st.lists(st.text(alphabet="abc.-0", max_size=12), max_size=30)) + lines
    for probe in probes:
        assert (probe in found) == (probe in lines)
    shuffled = list(lines)
    random.Random(len(lines)).shuffle(shuffled)
    if shuffled != lines:
        assert url.SortedLines.build("\n".join(shuffled).encode()) is None


def _archive_member(name: str) -> bytes:
    raw = url_blocklist_archive().read_bytes()
    with tarfile.open(fileobj=io.BytesIO(zlib.decompress(raw, 31)), mode="r:") as tar:
        for m in tar.getmembers():
            if m.name.rsplit("/", 1)[-1] == name:
                return tar.extractfile(m).read()
    raise KeyError(name)


@pytest.mark.slow
def test_known_archive_is_sorted_and_searched_without_a_set():
    raw = url_blocklist_archive().read_bytes()
    data = _archive_member("domains")
    if (len(raw), zlib.crc32(raw)) in url.KNOWN_SORTED_ARCHIVES:
        # the claim that lets load_blocklist skip the check
        assert url.SortedLines.build(data, known_sorted=False) is not None
    assert isinstance(url.load_blocklist().domains, url.SortedLines)


# --------------------------------------------------------------------------------------------
# The blocklist's cache folder


def _load_uncached(monkeypatch, cache_dir: str):
    monkeypatch.setenv("CURATION_CACHE_DIR", cache_dir)
    return url.load_blocklist.__wrapped__()


@pytest.mark.slow
def test_blocklist_from_its_cache_folder_equals_the_archive(tmp_path, monkeypatch):
    """The first load writes the cache folder, the next maps it; both answer as the archive's list,
    and a partial or damaged folder is ignored, not trusted."""
    plain = _load_uncached(monkeypatch, "off")
    assert isinstance(plain.domains.data, bytes)
    first = _load_uncached(monkeypatch, str(tmp_path))  # from the archive; writes the folder
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("ut1-blocklist-") and not list(tmp_path.glob("*.tmp-*"))
    second = _load_uncached(monkeypatch, str(tmp_path))
    import mmap

    assert isinstance(second.domains.data, mmap.mmap)
    assert second.domains._starts == plain.domains._starts and second.domains._keys == plain.domains._keys
    assert second.urls == plain.urls == first.urls
    assert bytes(second.domains.data) == plain.domains.data
    rng = random.Random(13)
    lines = plain.domains.data.split(b"\n")
    probes = [rng.choice(lines).decode() for _ in range(2000)]
    probes += [p + "x" for p in probes[:500]] + ["x" + p for p in probes[:500]] + ["", "zzzz.zz", "0", "a"]
    for p in probes:
        assert (p in second.domains) == (p in plain.domains), p
    # a damaged folder (a truncated list) is not used; an unreadable cache place means no cache
    with open(folder / "domains", "r+b") as f:
        f.truncate(1000)
    assert url._read_cached(folder) is None
    assert isinstance(_load_uncached(monkeypatch, str(tmp_path)).domains.data, bytes)  # rebuilt from the archive
    assert url._read_cached(folder) is not None  # and written whole again
    (tmp_path / "file").write_text("")
    assert _load_uncached(monkeypatch, str(tmp_path / "file" / "sub")).urls == plain.urls


# --------------------------------------------------------------------------------------------
# against datatrove


@pytest.fixture(scope="module")
def reference():
    return reference_filter("url_filter")


@pytest.fixture(scope="module")
def test_urls():
    rng = random.Random(0)
    domains = _archive_member("domains").decode().splitlines()
    listed_urls = _archive_member("urls").decode().splitlines()
    banned, subwords, soft = url.load_word_lists()
    urls = [s.url for s in corpus.all_texts() if s.url]
    for d in domains[:: max(1, len(domains) // 400)]:
        urls += [f"http://{d}/", f"https://www.{d}/page?x=1", f"http://sub.{d}:8080/a/b", f"http://{d}.example.org/"]
    urls += [f"http://{u}" for u in listed_urls[:: max(1, len(listed_urls) // 200)]]
    urls += [u for u in listed_urls[:50]]
    words = sorted(banned)[:40] + sorted(soft)[:40] + sorted(subwords)[:40]
    for _ in range(600):
        parts = [rng.choice(words + ["news", "blog", "shop", "page", "index", "2024"]) for _ in range(rng.randint(1, 4))]
        sep = rng.choice(["/", "-", "_", ".", "", "?q="])
        urls.append(f"https://{rng.choice(['example.com', 'www.site.co.uk', 'a.b.c.blogspot.com'])}/{sep.join(parts)}")
    urls += [
        "http://127.0.0.1/", "http://localhost:8000/x", "http://[::1]/", "http://192.168.0.1/porn",
        "HTTP://WWW.EXAMPLE.COM/Index.html", "http://xn--bcher-kva.example/", "http://bücher.example/", "example.com",
        "http://user:pw@host.example.com:81/path", "https://sub.domain.co.uk/path/to/sex-and-the-city",
        "https://www.bbc.co.uk/news", "http://amateur-porn.example.com/", "https://www.wikipedia.org/wiki/Sex",
    ]
    return urls


@pytest.mark.slow
def test_same_decisions_as_datatrove(reference, test_urls):
    step = url.URLFilter()
    reasons = {}
    for u in test_urls:
        theirs = verdict(reference.filter(reference_document("text", url=u)))
        mine = verdict(step.filter(Document(id="d", text="text", url=u)))
        assert mine == theirs, u
        reasons[theirs[1]] = reasons.get(theirs[1], 0) + 1
    # every reason occurred
    assert {"domain", "subdomain", "url", "hard_blacklisted", "soft_blacklisted", "blacklisted_subword", None} <= set(reasons)


URL_PIECES = ["porn", "sex", "xxx", "news", "free", "cam", "girls", "www", "blog", "co", "uk", "com", "org", "a", "b1"]


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(URL_PIECES), min_size=1, max_size=4),
    st.lists(st.one_of(st.sampled_from(URL_PIECES), st.text(max_size=8)), max_size=4),
    st.sampled_from(["http://", "https://", "", "ftp://"]),
)
def test_generated_urls(reference, host, path, scheme):
    u = scheme + ".".join(host) + "/" + "/".join(path)
    if not u:
        return
    theirs = verdict(reference.filter(reference_document("text", url=u)))
    mine = verdict(url.URLFilter().filter(Document(id="d", text="text", url=u)))
    assert mine == theirs


def test_settings_without_integrated_lists(reference):
    params = dict(
        use_integrated_lists=False,
        extra_domains=("bad.com",),
        extra_urls=("good.com/bad-page",),
        banned_words=("Evil",),
        banned_subwords=("wick",),
        soft_banned_words=("foo", "bar"),
        soft_word_threshold=2,
    )
    ref = reference_filter("url_filter", **{k: list(v) if isinstance(v, tuple) else v for k, v in params.items()})
    step = url.URLFilter(url.URLFilter.Params(**params))
    for u in ["http://bad.com/", "http://x.bad.com/", "good.com/bad-page", "http://a.org/evil", "http://a.org/Evil",
              "http://a.org/wicked", "http://a.org/foo/bar", "http://a.org/foo", "http://porn.com/", "http://a.org/"]:
        assert verdict(step.filter(Document(id="d", text="", url=u))) == verdict(ref.filter(reference_document("", url=u))), u


def test_blocklist_loaded_once_in_this_process():
    for _ in range(3):
        step = url.URLFilter()
        list(step.run([Document(id="d", text="t", url="http://example.com/")], StepStats("url_filter")))
    assert url.load_blocklist.cache_info().misses == 1


def test_no_url_is_an_error():
    with pytest.raises(ValueError):
        url.URLFilter().filter(Document(id="d", text="t"))
