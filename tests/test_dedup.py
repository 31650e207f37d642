"""The dedup stage: MinHash equal to datasketch's, accuracy against true Jaccard, the keep rule,
restarts, independence from workers and shard layout, and real pages sharing a site template."""

from __future__ import annotations

import glob
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xxhash

from curation.config import load_pipeline
from curation.dedup import clusters as cl
from curation.dedup import minhash as mh
from curation.dedup.synthetic import make_corpus, write_stage_shards
from curation.errors import CurationError
from curation.execution import run_pipeline
from curation.layout import load_run_stats

PIPELINE = """\
name: dedup-test
stages:
  filter:
    - gopher_quality: {{}}
  dedup:
{steps}
"""
BOTH = """\
    - exact_dedup: {"on": [text, url]}
    - minhash_dedup: {ngrams: 5, bands: 14, rows: 8, threshold: 0.8, verify: true, seed: 1%s}
"""


def pipeline(tmp_path: Path, steps: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(PIPELINE.format(steps=steps))
    return load_pipeline(path)


def run_dedup(config, out: Path, **kw):
    (result,) = run_pipeline(config, None, str(out), stages=["dedup"], progress=False, **kw)
    return result


def output_ids(out: Path) -> dict[str, list[str]]:
    return {Path(f).stem: pq.read_table(f, columns=["id"]).column("id").to_pylist() for f in sorted(glob.glob(f"{out}/dedup/shards/*.parquet"))}


def kept_ids(out: Path) -> set[str]:
    return {i for ids in output_ids(out).values() for i in ids}


def gdoc_ids(out: Path) -> dict[int, str]:
    plan = json.loads((out / "dedup" / "plan.json").read_text())
    ids = {}
    for k, s in enumerate(plan["shards"]):
        for r, i in enumerate(pq.read_table(out / "filter" / "shards" / f"{s['name']}.parquet", columns=["id"]).column("id").to_pylist()):
            ids[(k << 32) | r] = i
    return ids


def work_pairs(out: Path, pattern: str) -> list[tuple[int, int]]:
    pairs = []
    for f in sorted(glob.glob(f"{out}/dedup/_work/{pattern}")):
        t = pq.read_table(f, columns=["a", "b"])
        pairs += list(zip(t.column("a").to_pylist(), t.column("b").to_pylist()))
    return pairs


def shingle_sets(texts: list[str], n: int = 5) -> list[set[str]]:
    """The shingles as strings (not hashes): the ground truth the hashed sets approximate."""
    out = []
    for t in texts:
        w = mh.words(t)
        out.append({" ".join(w[i : i + n]) for i in range(len(w) - n + 1)})
    return out


def jaccard_matrix(sets: list[set[str]]) -> np.ndarray:
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for k, s in enumerate(sets):
        for g in s:
            rows.append(k)
            cols.append(vocab.setdefault(g, len(vocab)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sets), max(len(vocab), 1)))
    inter = (m @ m.T).toarray()
    size = np.asarray(m.sum(axis=1)).ravel()
    union = size[:, None] + size[None, :] - inter
    j = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    np.fill_diagonal(j, 0.0)
    return j


class UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def keep_key(doc: dict) -> tuple[int, int]:
    return cl.date_seconds(doc["date"]), xxhash.xxh64_intdigest(doc["id"].encode()) >> 32


# ---------------------------------------------------------------------------------------------
# Hashing: same normalisation as datatrove, same MinHash as datasketch
# ---------------------------------------------------------------------------------------------


def test_simplify_text_is_datatrove_simplify_text():
    from datatrove.utils.text import simplify_text

    rng = random.Random(0)
    alphabet = "abcXYZ 0129.,;:!?'\"-\t\n\u00e9\u0301\u00a0\u2003\u0660\u0661\u06f5\u03a9\u03c9\u65e5\u672c\u200b\x1c\x85\u212a\u00df\u0130"
    texts = ["Hello, World! It's 2021-05-03; 3.50\u20ac caf\u00e9 na\u00efve d\u00e9\u0301ja 1,234.5 \u0661\u0662\u066b\u0663", ""]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    for t in texts:
        assert mh.simplify_text(t) == simplify_text(t), repr(t)
        assert mh.words(t) == simplify_text(t).split(), repr(t)


@pytest.mark.parametrize("bands,rows,seed", [(14, 8, 1), (20, 5, 42)])
def test_vectorised_signatures_equal_datasketch_minhash(bands, rows, seed):
    from datasketch import MinHash

    rng = random.Random(seed)
    vocab = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "Th\u00e9ta", "10.5", "Kappa!"]
    docs = ["", "too short", "exactly five words in here", "The quick, brown fox jumps over the lazy dog twice."]
    docs += [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 400))) for _ in range(60)]
    num_perm = bands * rows
    sigs, has = mh.signatures(docs, 5, num_perm, seed)
    for doc, sig, h in zip(docs, sigs, has):
        w = mh.words(doc)
        shingles = [" ".join(w[i : i + 5]).encode() for i in range(len(w) - 4)]
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=mh.shingle_hash32, scheme="affine32")
        m.update_batch(shingles)
        assert h == bool(shingles)
        assert np.array_equal(m.hashvalues, sig), doc[:60]
    a, b = mh.permutations(num_perm, seed)
    default = MinHash(num_perm=num_perm, seed=seed)  # datasketch's own default scheme and draw
    assert np.array_equal(default.permutations[0], a) and np.array_equal(default.permutations[1], b)


def test_band_keys_equal_exactly_when_bands_are_equal():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, (500, 112), dtype=np.uint64).astype(np.uint32)
    sig[1] = sig[0]
    sig[2, :8] = sig[0, :8]  # shares band 0 only
    sig[3, 8:16] = sig[0, :8]  # band 0's values in band 1: a different key
    keys = mh.band_keys(sig, 14, 8)
    assert (keys[1] == keys[0]).all()
    assert keys[2, 0] == keys[0, 0] and (keys[2, 1:] != keys[0, 1:]).all()
    assert keys[3, 1] != keys[0, 0]
    assert len(np.unique(keys[4:])) == keys[4:].size


def test_keep_rule_priority():
    early = cl.priority("<urn:b>", "2020-01-01T00:00:00Z")
    late = cl.priority("<urn:a>", "2021-01-01T00:00:00Z")
    undated = cl.priority("<urn:c>", "")
    assert early < late < undated
    tie_a, tie_b = cl.priority("<urn:a>", "2020-01-01T00:00:00Z"), cl.priority("<urn:b>", "2020-01-01T00:00:00Z")
    assert (tie_a < tie_b) == (xxhash.xxh64_intdigest(b"<urn:a>") < xxhash.xxh64_intdigest(b"<urn:b>"))


def test_clusters_keep_the_smallest_priority_and_map_exact_copies():
    g = np.array([10, 11, 12, 13, 14], dtype=np.uint64)
    p = np.array([5, 1, 9, 3, 7], dtype=np.uint64)
    e = lambda pairs: tuple(np.array(x, dtype=np.uint64) for x in zip(*[(g[a], g[b], p[a], p[b]) for a, b in pairs]))  # noqa: E731
    # text: 10=12 ; near: 12~13 (through the removed copy 12), 13~14
    res = cl.resolve({"text": e([(0, 2)]), "near": e([(2, 3), (3, 4)])})
    assert dict(zip(res.drop_gdoc.tolist(), res.drop_code.tolist())) == {12: cl.DROP_TEXT, 10: cl.DROP_NEAR, 14: cl.DROP_NEAR}
    assert set(res.drop_keeper.tolist()) == {13}


def test_pipeline_files_validate(tmp_path):
    config = pipeline(tmp_path, BOTH % "")
    steps = config.stage("dedup").steps
    assert [s.name for s in steps] == ["exact_dedup", "minhash_dedup"]
    assert steps[0].params.on == ["text", "url"] and steps[1].params.bands * steps[1].params.rows == 112
    from curation.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown key 'band'"):
        pipeline(tmp_path, "    - minhash_dedup: {band: 3}\n", "bad.yaml")
    with pytest.raises(ConfigError, match="on"):
        pipeline(tmp_path, '    - exact_dedup: {"on": [title]}\n', "bad2.yaml")


# ---------------------------------------------------------------------------------------------
# The stage on Ray
# ---------------------------------------------------------------------------------------------

N_DOCS = 700


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(N_DOCS, seed=7, family_fraction=0.45, template_fraction=0.3)


@pytest.fixture(scope="module")
def reference_run(corpus, ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dedup")
    out = tmp / "out"
    write_stage_shards(str(out), "filter", corpus, 4)
    config = pipeline(tmp, BOTH % ", bucket_rows: 4000")
    result = run_dedup(config, out)
    assert not result.shards_failed
    return tmp, out, config


def test_recall_and_precision_against_true_jaccard(corpus, reference_run):
    _, out, _ = reference_run
    index = {d["id"]: k for k, d in enumerate(corpus)}
    jac = jaccard_matrix(shingle_sets([d["text"] for d in corpus]))
    true_pairs = list(zip(*np.nonzero(np.triu(jac >= 0.8 - 1e-9))))
    ids = gdoc_ids(out)
    verified = [(index[ids[a]], index[ids[b]]) for a, b in work_pairs(out, "verify_b/*.parquet")]
    exact = [(index[ids[a]], index[ids[b]]) for a, b in work_pairs(out, "bucket/exact-*.parquet")]
    uf = UnionFind()
    for a, b in verified + exact:
        uf.union(a, b)
    # the corpus has pairs all over [0.8, 1] and many in [0.5, 0.8): both sides of the threshold are tested
    assert len(true_pairs) > 150 and np.count_nonzero(np.triu((jac > 0.5) & (jac < 0.8))) > 50
    recall = np.mean([uf.find(a) == uf.find(b) for a, b in true_pairs])
    precision = np.mean([jac[a, b] >= 0.8 - 1e-9 for a, b in verified])
    assert recall >= 0.95, recall
    assert precision >= 0.99, precision
    # exact pairs are exact after normalisation
    assert all(" ".join(corpus[a]["text"].lower().split()) == " ".join(corpus[b]["text"].lower().split()) for a, b in exact if corpus[a]["url"] != corpus[b]["url"])
    # every document with a true duplicate either went or kept one copy only; nothing unrelated went
    kept = kept_ids(out)
    for a, b in true_pairs:
        if uf.find(a) == uf.find(b):
            assert not (corpus[a]["id"] in kept and corpus[b]["id"] in kept)
    has_partner = set(np.nonzero((jac >= 0.8 - 1e-9).any(axis=1))[0])
    removed = [k for k, d in enumerate(corpus) if d["id"] not in kept]
    assert set(removed) <= has_partner | {k for pair in exact for k in pair}


def test_each_cluster_keeps_its_earliest_document(corpus, reference_run):
    _, out, _ = reference_run
    index = {d["id"]: k for k, d in enumerate(corpus)}
    ids = gdoc_ids(out)
    uf = UnionFind()
    for a, b in work_pairs(out, "verify_b/*.parquet") + work_pairs(out, "bucket/exact-*.parquet"):
        uf.union(index[ids[a]], index[ids[b]])
    groups: dict[int, list[int]] = {}
    for k in list(uf.parent):
        groups.setdefault(uf.find(k), []).append(k)
    kept = kept_ids(out)
    assert len(groups) > 50
    for members in groups.values():
        survivors = [k for k in members if corpus[k]["id"] in kept]
        assert survivors == [min(members, key=lambda k: keep_key(corpus[k]))]


def test_statistics_and_cluster_report(corpus, reference_run):
    _, out, _ = reference_run
    stats = load_run_stats(str(out))["dedup"]
    exact, near = stats.step("exact_dedup"), stats.step("minhash_dedup")
    kept = kept_ids(out)
    assert exact.docs_in == len(corpus) and near.docs_out == len(kept)
    assert exact.docs_out == near.docs_in
    assert exact.docs_in - exact.docs_out == sum(exact.dropped.values()) > 0
    assert near.docs_in - near.docs_out == near.dropped["near_duplicate"] > 0
    assert near.counters["verified_pairs"] > 0 and near.counters["rejected_pairs"] > 0
    assert sum(near.histograms["cluster_size"].counts) == near.counters["clusters"]
    assert set(exact.samples) <= {"exact_duplicate", "duplicate_url"} and near.samples["near_duplicate"]
    assert json.loads((out / "dedup" / "stats.json").read_text())["shards"] == 4
    report = json.loads((out / "dedup" / "clusters.json").read_text())
    assert report["documents_in"] == len(corpus) and report["documents_out"] == len(kept)
    assert report["near"]["clusters"] == near.counters["clusters"]
    assert sum(int(s) * n for s, n in report["near"]["cluster_sizes"].items()) == report["near"]["documents_in_clusters"]
    assert report["near"]["documents_removed"] == near.dropped["near_duplicate"]
    sample = report["samples"][0]
    assert sample["members"][0]["kept"] and all(m["text"] and m["id"] and m["url"] for m in sample["members"])
    assert sum(m["kept"] for m in sample["members"]) == 1
    metadata = [m for f in glob.glob(f"{out}/dedup/shards/*.parquet") for m in pq.read_table(f, columns=["metadata"]).column("metadata").to_pylist()]
    copies = sum(json.loads(m or "{}").get("dedup_copies", 0) for m in metadata)
    assert copies == len(corpus) - len(kept)


def test_result_does_not_depend_on_workers_buckets_or_shard_layout(corpus, reference_run):
    tmp, out, _ = reference_run
    expected = kept_ids(out)
    other = tmp / "layout"
    shuffled = list(reversed(corpus))
    write_stage_shards(str(other), "filter", shuffled, 3, prefix="zz")
    config = pipeline(tmp, BOTH % ", bucket_rows: 1000", "layout.yaml")  # 11 buckets instead of 3
    result = run_dedup(config, other, workers=1)
    assert not result.shards_failed
    assert kept_ids(other) == expected
    assert json.loads((other / "dedup" / "plan.json").read_text())["partitions"] > 3


def test_restart_resumes_to_the_same_output(corpus, reference_run, tmp_path):
    tmp, ref_out, config = reference_run
    out = tmp_path / "out"
    shutil.copytree(ref_out / "filter", out / "filter")
    shard = sorted((out / "filter" / "shards").glob("*.parquet"))[1]
    good = shard.read_bytes()
    shard.write_bytes(bytes(reversed(good)))  # same size, unreadable: its sign task fails
    result = run_dedup(config, out)
    assert [f["shard"] for f in result.shards_failed] == [shard.stem]
    assert "sign" in result.shards_failed[0]["error"]
    assert (out / "dedup" / "_failed" / f"{shard.stem}.json").exists() and not (out / "dedup" / "_done").exists()
    signed = sorted((out / "dedup" / "_work" / "sign" / "_done").glob("*.json"))
    assert len(signed) == 3
    before = {p.name: p.stat().st_mtime_ns for p in signed}
    shard.write_bytes(good)
    result = run_dedup(config, out)  # resumes: only the failed shard is signed again
    assert not result.shards_failed and result.shards_skipped == 0
    assert {p.name: p.stat().st_mtime_ns for p in signed} == before
    assert output_ids(out) == output_ids(ref_out)
    # a crash in later phases: lose markers and files of several phases, then rerun
    work = out / "dedup" / "_work"
    (work / "bucket" / "_done" / "00001.json").unlink()
    (work / "verify_b" / "_done" / "000002.json").unlink()
    (work / "cluster" / "_done.json").unlink()
    victim = sorted((out / "dedup" / "_done").glob("*.json"))[0]
    victim.unlink()
    (out / "dedup" / "shards" / f"{victim.stem}.parquet").unlink()
    (work / "bucket" / ".tmp-0123456789ab-pairs-00001.parquet").write_bytes(b"half written")
    result = run_dedup(config, out)
    assert result.shards_skipped == 3 and not result.shards_failed
    assert output_ids(out) == output_ids(ref_out)
    assert not list(work.rglob(".tmp-*"))
    assert len(load_run_stats(str(out))["dedup"].steps) == 2
    # --force redoes everything and gets the same again
    result = run_dedup(config, out, force=True)
    assert result.shards_skipped == 0 and output_ids(out) == output_ids(ref_out)


def test_exact_only_on_text_and_url(ray_session, tmp_path):
    docs = [
        {"id": "<a>", "url": "https://x.example/1", "date": "2024-01-02T00:00:00Z", "text": "Same text here."},
        {"id": "<b>", "url": "https://x.example/2", "date": "2024-01-01T00:00:00Z", "text": "same   TEXT here."},
        {"id": "<c>", "url": "https://x.example/1", "date": "2023-06-01T00:00:00Z", "text": "Another page at the first URL."},
        {"id": "<d>", "url": "https://x.example/3", "date": "2024-01-01T00:00:00Z", "text": "Unique."},
        {"id": "<e>", "url": "", "date": "", "text": "Unique too."},
        {"id": "<f>", "url": "", "date": "", "text": "unique too."},
    ]
    out = tmp_path / "out"
    write_stage_shards(str(out), "filter", docs, 2)
    config = pipeline(tmp_path, '    - exact_dedup: {"on": [text, url]}\n')
    result = run_dedup(config, out)
    assert not result.shards_failed
    # <a> = <b> by text: <b> is earlier; <a> also shares its URL with <c>, earlier still: {a, b, c} keep <c>.
    # <e> = <f> (no dates): the smaller id hash stays.
    winner = min(["<e>", "<f>"], key=lambda i: xxhash.xxh64_intdigest(i.encode()))
    assert kept_ids(out) == {"<c>", "<d>", winner}
    st = load_run_stats(str(out))["dedup"].step("exact_dedup")
    assert st.dropped == {"exact_duplicate": 2, "duplicate_url": 1}
    assert [s.name for s in load_run_stats(str(out))["dedup"].steps] == ["exact_dedup"]


def test_minhash_before_exact_is_refused(ray_session, tmp_path):
    out = tmp_path / "out"
    write_stage_shards(str(out), "filter", make_corpus(10, seed=1), 1)
    config = pipeline(tmp_path, "    - minhash_dedup: {}\n    - exact_dedup: {}\n")
    with pytest.raises(CurationError, match="before minhash_dedup"):
        run_dedup(config, out)


# ---------------------------------------------------------------------------------------------
# Real pages: the 2008 archive.org crawl, many pages on one template
# ---------------------------------------------------------------------------------------------

EXTRACT_THEN_DEDUP = """\
name: real
stages:
  extract:
    - warc_reader: {}
    - trafilatura: {favour_precision: true, cpu_timeout: 0, wall_timeout: 0, deduplicate: false}
  dedup:
    - exact_dedup: {}
    - minhash_dedup: {verify: true}
"""


@pytest.mark.real_data
def test_archive_org_pages_sharing_a_template(shared_data, ray_session, tmp_path):
    warc = shared_data / "warc" / "archive-org-2008_aut-example.warc.gz"
    if not warc.exists():
        pytest.skip(f"{warc} not found")
    (tmp_path / "p.yaml").write_text(EXTRACT_THEN_DEDUP)
    config = load_pipeline(tmp_path / "p.yaml")
    out = tmp_path / "out"
    results = run_pipeline(config, str(warc), str(out), progress=False)
    assert not any(r.shards_failed for r in results)
    t = [row for f in sorted(glob.glob(f"{out}/extract/shards/*.parquet"))  # one file, maybe in parts
         for row in pq.read_table(f, columns=["id", "url", "date", "text"]).to_pylist()]
    assert len(t) > 50
    kept = kept_ids(out)
    jac = jaccard_matrix(shingle_sets([d["text"] for d in t]))
    norm = [" ".join(d["text"].lower().split()) for d in t]
    # Pages on archive.org's template that are similar but below the threshold must both stay.
    similar = [(a, b) for a, b in zip(*np.nonzero(np.triu((jac >= 0.5) & (jac < 0.8)))) if norm[a] != norm[b]]
    assert similar
    # Rule: documents linked by identical text or Jaccard >= 0.8 form clusters; each keeps its
    # earliest document (then the smallest id hash); a page that is only similar (< 0.8) stays.
    uf = UnionFind()
    for a in range(len(t)):
        uf.find(a)
        for b in range(a + 1, len(t)):
            if norm[a] == norm[b] or jac[a, b] >= 0.8:
                uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for k in range(len(t)):
        groups.setdefault(uf.find(k), []).append(k)
    assert any(len(g) > 2 for g in groups.values())  # template-only pages extract to the same text
    for members in groups.values():
        expected = min(members, key=lambda k: keep_key(t[k]))
        assert [k for k in members if t[k]["id"] in kept] == [expected], [t[k]["url"] for k in members]
    assert any(t[a]["id"] in kept and t[b]["id"] in kept for a, b in similar)
    report = json.loads((out / "dedup" / "clusters.json").read_text())
    assert report["documents_out"] == len(groups)
    assert any(s["size"] > 2 for s in report["samples"])


@pytest.mark.parametrize("mode", ["verify: false", "verify_method: estimate"])
def test_minhash_only_without_verification_or_with_estimates(mode, corpus, reference_run):
    tmp, ref_out, _ = reference_run
    out = tmp / mode.split(":")[0]
    shutil.copytree(ref_out / "filter", out / "filter")
    config = pipeline(tmp, f"    - minhash_dedup: {{{mode}}}\n", f"{mode.split(':')[0]}.yaml")
    result = run_dedup(config, out)
    assert not result.shards_failed
    index = {d["id"]: k for k, d in enumerate(corpus)}
    jac = jaccard_matrix(shingle_sets([d["text"] for d in corpus]))
    ids = gdoc_ids(out)
    pairs = [(index[ids[a]], index[ids[b]]) for a, b in work_pairs(out, "bucket/pairs-*.parquet" if "false" in mode else "verify_b/*.parquet")]
    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    true_pairs = list(zip(*np.nonzero(np.triu(jac >= 0.8 - 1e-9))))
    recall = np.mean([uf.find(a) == uf.find(b) for a, b in true_pairs])
    precision = np.mean([jac[a, b] >= 0.8 - 1e-9 for a, b in pairs])
    if "false" in mode:  # every candidate counts, as in FineWeb: the band curve alone (0.70 here)
        assert recall >= 0.95 and precision < 0.9
    else:  # estimates (standard error ~0.04 at 0.8) lose and admit pairs near the threshold
        assert recall >= 0.9 and precision >= 0.9
    stats = load_run_stats(str(out))["dedup"]
    assert [s.name for s in stats.steps] == ["minhash_dedup"]
    assert stats.step("minhash_dedup").docs_out == len(kept_ids(out))


def test_a_finished_stage_without_its_work_folder_is_not_redone(reference_run, tmp_path):
    tmp, ref_out, config = reference_run
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    shutil.rmtree(out / "dedup" / "_work")
    result = run_dedup(config, out)
    assert result.shards_skipped == result.shards_total == 4 and not result.shards_failed
    assert output_ids(out) == output_ids(ref_out)
    assert (out / "dedup" / "clusters.json").read_text() == (ref_out / "dedup" / "clusters.json").read_text()
