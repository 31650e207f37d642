"""Benchmark of the dedup stage.

    .venv/bin/python -m bench.bench_dedup [--quick] [--workers 2] [--docs 40000] [--scale 100000,200000]

1. **vs datatrove**: the same generated documents (``curation.dedup.synthetic``: families of
   edited copies, pages sharing templates, unrelated pages), as Parquet shards of a finished
   ``filter`` stage, de-duplicated by datatrove's MinHash pipeline (MinhashDedupSignature ->
   MinhashDedupBuckets -> MinhashDedupCluster -> MinhashDedupFilter, each with
   ``LocalPipelineExecutor`` and the same number of workers, in a child process) and by our stage
   with the same parameters (5-grams, 14 bands x 8 rows, seed 1) and no verification (datatrove
   has none). Wall time of both, the ratio, and agreement on the removed set:
   ``|ours & theirs| / |ours | theirs|``. With ``scheme: datatrove`` our signatures are datatrove's
   bit for bit, so the candidate pairs are the same; with our default (datasketch) hashes the
   permutations are other random functions, and pairs whose similarity lies on the slope of the
   LSH curve (Jaccard 0.5-0.8) are found by one run and not the other. Our keep rule is "earliest date"; the documents are
   dated in the order datatrove reads them, so both keep the first copy of a pair. datatrove
   tokenizes English with spaCy, which is not installed here: it is given a whitespace tokenizer,
   which on simplified text is what we use. Our stage is timed with Ray already started (its
   start-up is printed apart); datatrove's time includes its process pool.
   Our default configuration (exact dedup, then MinHash with exact verification) is timed too.
2. **signature throughput** on one core: documents per second of our batched signatures, of
   datatrove's ``get_shingles`` + ``get_signature``, and of datasketch's per-document API
   (``MinHash().update()`` for every shingle, and ``update_batch``).
3. **scaling**: our stage on 100k and 200k generated documents (10k per shard; buckets of
   ``--bucket-rows`` keys, so more documents make more tasks, not bigger ones), reporting wall
   time and the peak resident memory of the largest task of each phase.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_DATE = np.datetime64("2024-01-01T00:00:00")

try:  # datatrove's word tokenizer interface, for the child process
    from datatrove.utils.word_tokenizers import WordTokenizer
except ImportError:  # pragma: no cover
    WordTokenizer = object  # type: ignore[misc,assignment]


class WhitespaceSplit(WordTokenizer):
    """``str.split`` as a datatrove word tokenizer (spaCy, datatrove's English choice, is not installed)."""

    def __init__(self):
        super().__init__("en")

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


def write_corpus(out: Path, n_docs: int, docs_per_shard: int, seed: int) -> tuple[int, int]:
    """Generated documents as a finished ``filter`` stage in ``out``; dated in reading order."""
    from curation.dedup.synthetic import make_corpus, write_stage_shards

    docs = make_corpus(n_docs, seed=seed, length=(100, 400))
    shards = max(1, round(len(docs) / docs_per_shard))
    for k in range(shards):  # shard k holds docs[k::shards]; datatrove reads shard 0 first
        for r, d in enumerate(docs[k::shards]):
            d["date"] = str(BASE_DATE + np.timedelta64(k * 10_000_000 + r, "s")) + "Z"
    write_stage_shards(str(out), "filter", docs, shards)
    n = len(docs)
    del docs
    gc.collect()
    return n, shards


PIPELINE = """\
name: bench-dedup
stages:
  filter:
    - gopher_quality: {{}}
  dedup:
{steps}"""
LIKE_DATATROVE = "    - minhash_dedup: {ngrams: 5, bands: 14, rows: 8, seed: 1, verify: false%s}\n"
DEFAULTS = '    - exact_dedup: {"on": [text]}\n    - minhash_dedup: {ngrams: 5, bands: 14, rows: 8, threshold: 0.8, verify: true, seed: 1%s}\n'


def run_ours(out: Path, steps: str, workers: int) -> dict[str, Any]:
    from curation.config import load_pipeline
    from curation.execution import run_pipeline

    path = out / "pipeline.yaml"
    path.write_text(PIPELINE.format(steps=steps))
    config = load_pipeline(path)
    shutil.rmtree(out / "dedup", ignore_errors=True)
    t0 = time.perf_counter()
    (result,) = run_pipeline(config, None, str(out), stages=["dedup"], workers=workers, progress=False)
    wall = time.perf_counter() - t0
    if result.shards_failed:
        raise RuntimeError(f"dedup failed: {result.shards_failed}")
    removed = set()
    for f in sorted(glob.glob(f"{out}/filter/shards/*.parquet")):
        import pyarrow.parquet as pq

        before = set(pq.read_table(f, columns=["id"]).column("id").to_pylist())
        after = set(pq.read_table(f"{out}/dedup/shards/{Path(f).name}", columns=["id"]).column("id").to_pylist())
        removed |= before - after
    return {"wall": wall, "removed": removed, "clusters": our_clusters(out), "phases": phase_memory(out)}


def our_clusters(out: Path) -> list[list[str]]:
    """Our final clusters (kept document and the copies removed in its favour), as document ids."""
    import pyarrow.parquet as pq

    plan = json.loads((out / "dedup" / "plan.json").read_text())
    ids = {}
    for k, sh in enumerate(plan["shards"]):
        for r, i in enumerate(pq.read_table(out / "filter" / "shards" / f"{sh['name']}.parquet", columns=["id"]).column("id").to_pylist()):
            ids[(k << 32) | r] = i
    t = pq.read_table(out / "dedup" / "_work" / "cluster" / "remove.parquet")
    clusters: dict[int, list[str]] = {}
    for g, code, keeper in zip(t.column("gdoc").to_pylist(), t.column("code").to_pylist(), t.column("keeper").to_pylist()):
        if code < 10:  # a removed copy
            clusters.setdefault(keeper, [ids[keeper]]).append(ids[g])
    return list(clusters.values())


def removed_by_our_rule(clusters: list[list[str]], data: Path) -> set[str]:
    """What would be removed from these clusters if each kept its earliest document (our rule)."""
    import pyarrow.parquet as pq

    from curation.dedup.clusters import priority

    prio = {}
    for f in glob.glob(f"{data}/filter/shards/*.parquet"):
        t = pq.read_table(f, columns=["id", "date"])
        prio.update({i: priority(i, d) for i, d in zip(t.column("id").to_pylist(), t.column("date").to_pylist())})
    removed = set()
    for c in clusters:
        keep = min(c, key=lambda i: prio[i])
        removed |= set(c) - {keep}
    return removed


def cluster_agreement(ours: list[list[str]], theirs: list[list[str]]) -> float:
    """Fraction of the documents in a cluster (either side) whose cluster is the same set on both sides."""
    def by_doc(clusters):
        return {i: frozenset(c) for c in clusters for i in c}

    a, b = by_doc(ours), by_doc(theirs)
    docs = set(a) | set(b)
    return sum(a.get(i) == b.get(i) for i in docs) / max(len(docs), 1)


def phase_memory(out: Path) -> dict[str, dict[str, float]]:
    """Per phase: tasks, the largest peak RSS of a task, and the largest growth during one."""
    phases = {}
    for name, pattern in (("sign", "sign/_done/*.json"), ("bucket", "bucket/_done/*.json"), ("verify_a", "verify_a/_done/*.json"),
                          ("verify_b", "verify_b/_done/*.json"), ("cluster", "cluster/_done.json")):
        ms = [json.loads(Path(f).read_text()) for f in glob.glob(f"{out}/dedup/_work/{pattern}")]
        if ms:
            phases[name] = {"tasks": len(ms), "peak_rss_mb": max(m["peak_rss_mb"] for m in ms),
                            "growth_mb": max(m["rss_growth_mb"] for m in ms), "wall": sum(m["wall"] for m in ms)}
    ms = [json.loads(Path(f).read_text()) for f in glob.glob(f"{out}/dedup/_done/*.json")]
    if ms:
        phases["filter"] = {"tasks": len(ms), "peak_rss_mb": max(m["peak_rss_mb"] for m in ms), "growth_mb": max(m["rss_growth_mb"] for m in ms),
                            "wall": float("nan")}
    return phases


# ----------------------------------------------------------------------------------------------
# datatrove, in a child process of its own session
# ----------------------------------------------------------------------------------------------


def datatrove_child(params: dict[str, Any]) -> dict[str, Any]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    work = Path(params["work"])
    shutil.rmtree(work, ignore_errors=True)
    config = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
    inp, tasks, workers = params["input"], params["tasks"], params["workers"]

    def reader():
        return ParquetReader(inp, text_key="text", id_key="id", glob_pattern="*.parquet")

    t0 = time.perf_counter()
    stages = [
        LocalPipelineExecutor([reader(), MinhashDedupSignature(str(work / "sigs"), config=config, language=WhitespaceSplit())],
                              tasks=tasks, workers=workers, logging_dir=str(work / "logs1")),
        LocalPipelineExecutor([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)],
                              tasks=config.num_buckets, workers=workers, logging_dir=str(work / "logs2")),
        LocalPipelineExecutor([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config, save_cluster_id=True)],
                              tasks=1, workers=1, logging_dir=str(work / "logs3")),
        LocalPipelineExecutor([reader(), MinhashDedupFilter(str(work / "remove"), exclusion_writer=ParquetWriter(str(work / "removed")), load_cluster_ids=True),
                               ParquetWriter(str(work / "output"))], tasks=tasks, workers=workers, logging_dir=str(work / "logs4")),
    ]
    times = []
    for s in stages:
        t = time.perf_counter()
        s.run()
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    import pyarrow.parquet as pq

    removed, clusters = [], {}
    for folder in ("removed", "output"):
        for f in sorted(glob.glob(str(work / folder / "*.parquet"))):
            t = pq.read_table(f, columns=["id", "metadata"])
            ids = t.column("id").to_pylist()
            cids = [m["minhash_cluster_id"] for m in t.column("metadata").to_pylist()]
            for i, c in zip(ids, cids):
                if c >= 0:
                    clusters.setdefault(c, []).append(i)
            if folder == "removed":
                removed += ids
    return {"wall": wall, "stage_seconds": times, "removed": removed, "clusters": list(clusters.values())}


def run_datatrove(inp: Path, work: Path, tasks: int, workers: int, timeout: float) -> dict[str, Any]:
    params = {"input": str(inp), "work": str(work), "tasks": tasks, "workers": workers}
    work.mkdir(parents=True, exist_ok=True)
    pfile = work.parent / "datatrove_params.json"
    pfile.write_text(json.dumps(params))
    log = open(work.parent / "datatrove.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_dedup", "--datatrove-child", str(pfile)], cwd=REPO_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the executor's pool and forkserver, if left
        except ProcessLookupError:
            pass
        log.close()
    if rc != 0:
        raise RuntimeError(f"datatrove failed ({rc}): {(work.parent / 'datatrove.log').read_text()[-3000:]}")
    return json.loads((work.parent / "datatrove_result.json").read_text())


# ----------------------------------------------------------------------------------------------
# Parts
# ----------------------------------------------------------------------------------------------


def compare_with_datatrove(root: Path, n_docs: int, workers: int) -> list[str]:
    import ray

    from curation.executor import connect_ray

    data = root / "vs_datatrove"
    shutil.rmtree(data, ignore_errors=True)
    n, shards = write_corpus(data, n_docs, max(1000, n_docs // 8), seed=11)
    theirs = run_datatrove(data / "filter" / "shards", root / "datatrove" / "work", shards, workers, timeout=3600)
    t = time.perf_counter()
    connect_ray(None, workers)
    ray_start = time.perf_counter() - t
    b = set(theirs["removed"])
    b_rule = removed_by_our_rule(theirs["clusters"], data)
    runs = [
        ("ours, datatrove's hashes (`scheme: datatrove`), no verification", LIKE_DATATROVE % ", scheme: datatrove"),
        ("ours, datasketch hashes (default scheme), no verification", LIKE_DATATROVE % ""),
        ("ours, defaults: exact + MinHash with exact verification", DEFAULTS % ""),
    ]
    lines = [
        f"## 1. vs datatrove: {n:,} documents, {shards} shards, {workers} workers",
        "",
        "Ray start-up {ray_start:.1f}s is not counted; each of our runs is the faster of two (the first warms Ray's worker processes).",
        "",
        "| run | wall s | docs/s | removed | speed-up vs datatrove | removed set agreement | same keep rule | same clusters |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| datatrove MinHash (4 executors) | {theirs['wall']:.1f} | {n / theirs['wall']:,.0f} | {len(b):,} | 1.00x | 1 | 1 | 1 |",
    ]
    for name, steps in runs:
        res = min((run_ours(data, steps, workers) for _ in range(2)), key=lambda r: r["wall"])
        a = res["removed"]
        agree = len(a & b) / max(len(a | b), 1)
        lines.append(f"| {name} | {res['wall']:.1f} | {n / res['wall']:,.0f} | {len(a):,} | {theirs['wall'] / res['wall']:.2f}x | "
                     f"{agree:.4f} (ours only {len(a - b)}, theirs only {len(b - a)}) | {len(a & b_rule) / max(len(a | b_rule), 1):.4f} | "
                     f"{cluster_agreement(res['clusters'], theirs['clusters']):.4f} |")
    lines[2] = lines[2].format(ray_start=ray_start)
    lines += [
        "",
        f"datatrove stage seconds (signature, buckets, cluster, filter): {', '.join(f'{s:.1f}' for s in theirs['stage_seconds'])}",
        "",
        "*removed set agreement* = |ours & theirs| / |ours | theirs|. *same keep rule*: the same, with datatrove's clusters "
        "but our keep rule (earliest date) choosing the kept member. *same clusters* = the fraction of documents in a "
        "duplicate cluster (on either side) whose cluster has the same members on both sides: it does not depend on which "
        "member each side keeps. Ours keeps the earliest document; datatrove keeps the root of its union-find, which for "
        "clusters of three or more is often another member, hence the lower raw agreement with identical clusters.",
    ]
    ray.shutdown()
    return lines


def signature_throughput(n_docs: int) -> list[str]:
    from datasketch import MinHash
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    from curation.dedup import minhash as mh
    from curation.dedup.synthetic import make_corpus

    texts = [d["text"] for d in make_corpus(n_docs, seed=5, length=(100, 400))]
    words = np.mean([len(t.split()) for t in texts])

    def rate(fn, docs) -> float:
        best = 0.0
        for _ in range(2):
            t = time.perf_counter()
            fn(docs)
            best = max(best, len(docs) / (time.perf_counter() - t))
        return best

    def ours(docs):
        for i in range(0, len(docs), 1000):
            mh.signatures(docs[i : i + 1000], 5, 112, 1)

    def ours_dt(docs):
        for i in range(0, len(docs), 1000):
            mh.signatures(docs[i : i + 1000], 5, 112, 1, "datatrove")

    dt = MinhashDedupSignature("/tmp/unused-datatrove-sigs", config=MinhashConfig(), language=WhitespaceSplit())

    def datatrove(docs):
        for d in docs:
            s = dt.get_shingles(d)
            if s.size:
                dt.get_signature(s)

    def shingles(d):
        w = mh.words(d)
        return [" ".join(w[i : i + 5]).encode() for i in range(len(w) - 4)]

    def ds_update(docs):
        for d in docs:
            m = MinHash(num_perm=112, seed=1)
            for s in shingles(d):
                m.update(s)

    def ds_batch(docs):
        for d in docs:
            m = MinHash(num_perm=112, seed=1)
            m.update_batch(shingles(d))

    r_ours = rate(ours, texts)
    rows = [("ours: batched NumPy (1,000 docs per batch)", r_ours), ("ours, `scheme: datatrove` (bit-identical to datatrove)", rate(ours_dt, texts)),
            ("datatrove get_shingles + get_signature", rate(datatrove, texts[: max(200, n_docs // 5)])),
            ("datasketch MinHash().update() per shingle", rate(ds_update, texts[:100])), ("datasketch MinHash().update_batch()", rate(ds_batch, texts[: max(200, n_docs // 5)]))]
    lines = [f"## 2. Signature throughput on one core ({words:.0f} words per document, 112 permutations)", "",
             "| method | docs/s | ours is |", "|---|---:|---:|"]
    lines += [f"| {name} | {r:,.0f} | {r_ours / r:,.1f}x |" for name, r in rows]
    return lines


def scaling(root: Path, sizes: list[int], workers: int, bucket_rows: int, per_shard: int) -> list[str]:
    import ray

    lines = [f"## 3. Scaling: our defaults (exact + MinHash, exact verification), {per_shard:,} docs per shard, "
             f"bucket_rows {bucket_rows:,}, {workers} workers", "",
             "| documents | shards | buckets | wall s | docs/s | removed "
             "| largest task, peak RSS MB (growth during the task): sign / bucket / verify_a / verify_b / cluster / filter | _work bytes/doc |",
             "|---:|---:|---:|---:|---:|---:|---|---:|"]
    for n_docs in sizes:
        data = root / f"scale_{n_docs}"
        shutil.rmtree(data, ignore_errors=True)
        n, shards = write_corpus(data, n_docs, per_shard, seed=21)
        from curation.executor import connect_ray

        connect_ray(None, workers)  # a fresh Ray per size: worker processes start empty
        res = run_ours(data, DEFAULTS % f", bucket_rows: {bucket_rows}", workers)
        ray.shutdown()
        ph = res["phases"]
        mem = " / ".join(f"{ph[p]['peak_rss_mb']:.0f} ({ph[p]['growth_mb']:+.0f})" if p in ph else "-"
                         for p in ("sign", "bucket", "verify_a", "verify_b", "cluster", "filter"))
        work_bytes = sum(f.stat().st_size for f in (data / "dedup" / "_work").rglob("*") if f.is_file())
        plan = json.loads((data / "dedup" / "plan.json").read_text())
        lines.append(f"| {n:,} | {shards} | {plan['partitions']} | {res['wall']:.1f} | {n / res['wall']:,.0f} | {len(res['removed']):,} | {mem} | {work_bytes / n:,.0f} |")
        shutil.rmtree(data, ignore_errors=True)
    lines += ["", "Peak RSS includes the ~230 MB a Ray worker holds after importing the pipeline; growth is what the task "
              "itself added. The cluster task grows with the number of duplicate pairs, the others with their shard or bucket."]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--docs", type=int, help="documents for the datatrove comparison (default 40000, quick 6000)")
    p.add_argument("--scale", help="comma-separated sizes for the scaling run (default 100000,200000; quick 20000,40000)")
    p.add_argument("--bucket-rows", type=int, help="bucket_rows of the scaling run (default 800000; quick 160000)")
    p.add_argument("--per-shard", type=int, help="documents per shard in the scaling run (default 10000; quick 2000)")
    p.add_argument("--parts", default="1,2,3", help="which parts to run")
    p.add_argument("--work", default=str(REPO_ROOT / "bench_output" / "dedup"))
    p.add_argument("--datatrove-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.datatrove_child:
        params = json.loads(Path(args.datatrove_child).read_text())
        result = datatrove_child(params)
        (Path(args.datatrove_child).parent / "datatrove_result.json").write_text(json.dumps(result))
        return 0
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    root = Path(args.work)
    root.mkdir(parents=True, exist_ok=True)
    parts = {int(x) for x in args.parts.split(",")}
    docs = args.docs or (6000 if args.quick else 40000)
    sizes = [int(x) for x in (args.scale or ("20000,40000" if args.quick else "100000,200000")).split(",")]
    bucket_rows = args.bucket_rows or (160_000 if args.quick else 800_000)
    per_shard = args.per_shard or (2000 if args.quick else 10_000)
    out = [f"# dedup benchmark ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)", ""]
    if 1 in parts:
        out += compare_with_datatrove(root, docs, args.workers) + [""]
        print("\n".join(out), flush=True)
    if 2 in parts:
        lines = signature_throughput(2000 if args.quick else 5000) + [""]
        print("\n".join(lines), flush=True)
        out += lines
    if 3 in parts:
        lines = scaling(root, sizes, args.workers, bucket_rows, per_shard) + [""]
        print("\n".join(lines), flush=True)
        out += lines
    out.append(f"load average at end: {os.getloadavg()[0]:.1f}")
    (root / "report.md").write_text("\n".join(out) + "\n")
    print(f"load average at end: {os.getloadavg()[0]:.1f}; report in {root / 'report.md'}")
    return 0


if __name__ == "__main__":
    # Run as ``python -m bench.bench_dedup``; the child re-imports this module under its package
    # name so datatrove's worker processes can unpickle WhitespaceSplit.
    from bench.bench_dedup import main as _main

    sys.exit(_main())
