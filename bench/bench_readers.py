"""Benchmark of reading Parquet documents: our ``parquet_reader`` against datatrove's ``ParquetReader``
on the same files in one run (documents/s, CPU, peak memory), with a check that both read the same
documents in the same order.

    .venv/bin/python -m bench.bench_readers [--docs 100000] [--files 4] [--repeats 2] [--work bench_output/readers]

Files: FineWeb's columns (text, id, dump, url, date, file_path, language, language_score,
token_count), zstd, row groups of 1,000 rows (as datatrove's ParquetWriter writes them). Texts: the
real pages of ``../shared/data`` (``CURATION_SHARED_DATA``; see bench/real_texts.py), cycled with
new ids; generated text without the real data. Both readers turn every row into a document with
the other columns as metadata (datatrove: ``read_metadata=True``, its default), in a fresh process
each, one core; each is timed ``--repeats`` times, interleaved, and the faster run is reported.
Peak memory is the process's peak resident set (``VmHWM``), and the growth over what the process
held before reading (imports included in the first, not the second).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ROW_GROUP = 1000


def _rss_mb(field: str = "VmRSS") -> float:
    """The process's resident set (``VmRSS``) or its peak (``VmHWM``: unlike ``ru_maxrss``, not
    inherited from the parent that forked it), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _texts(n: int) -> tuple[list[str], str]:
    try:
        from bench.real_texts import all_texts

        texts = [s.text for s in all_texts() if len(s.text) > 200]
    except Exception:  # noqa: BLE001 - no real data: generated text
        texts = []
    if texts:
        return texts, "real pages of ../shared/data"
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(100, 800))) for _ in range(min(n, 2000))], "generated words"


def build_corpus(work: Path, docs: int, files: int) -> dict:
    """FineWeb-like Parquet files (cached by size)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = work / f"parquet-{docs}-{files}"
    info = folder / "corpus.json"
    if info.exists():
        return json.loads(info.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    texts, source = _texts(docs)
    per_file = -(-docs // files)
    chars = 0
    for k in range(files):
        rows = range(k * per_file, min(docs, (k + 1) * per_file))
        text = [texts[i % len(texts)] for i in rows]
        chars += sum(len(t) for t in text)
        table = pa.table({
            "text": text,
            "id": [f"<urn:uuid:{i:032x}>" for i in rows],
            "dump": ["CC-MAIN-2024-10"] * len(rows),
            "url": [f"https://site{i % 997}.example/page/{i}" for i in rows],
            "date": ["2024-02-20T10:11:12Z"] * len(rows),
            "file_path": [f"s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/{k}/warc/{i // 1000:05d}.warc.gz" for i in rows],
            "language": ["en"] * len(rows),
            "language_score": [0.9] * len(rows),
            "token_count": [len(t) // 4 for t in text],
        })
        pq.write_table(table, folder / f"{k:03d}_00000.parquet", row_group_size=ROW_GROUP, compression="zstd")
    corpus = {"dir": str(folder), "documents": docs, "files": files, "chars": chars, "source": source,
              "bytes": sum(f.stat().st_size for f in folder.glob("*.parquet"))}
    info.write_text(json.dumps(corpus))
    return corpus


def _child(which: str, folder: str) -> int:
    """Read every file of ``folder`` with one reader; print the figures as JSON."""
    import xxhash

    if which == "ours":
        from curation.io.tables import ParquetReader
        from curation.stats import StepStats

        reader = ParquetReader()
        files = sorted(str(p) for p in Path(folder).glob("*.parquet"))

        def documents():
            for f in files:
                yield from reader.read(f, StepStats(reader.name))
    else:
        from datatrove.pipeline.readers import ParquetReader as DTParquetReader

        dt_reader = DTParquetReader(folder, glob_pattern="*.parquet")

        def documents():
            yield from dt_reader.run(None, 0, 1)

    base = _rss_mb()
    digest = xxhash.xxh64()
    docs = chars = meta = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for doc in documents():
        docs += 1
        chars += len(doc.text)
        meta += len(doc.metadata)
        digest.update(doc.id.encode())
        digest.update(doc.text.encode("utf-8", "surrogatepass"))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_mb("VmHWM")
    print(json.dumps({"documents": docs, "chars": chars, "metadata_fields": meta, "seconds": seconds, "cpu": cpu,
                      "peak_rss_mb": peak, "rss_before_mb": base, "checksum": digest.hexdigest()}))
    return 0


def _run_child(which: str, folder: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "OMP_NUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "bench.bench_readers", "--child", which, folder], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{which} reader failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000, help="documents in all")
    ap.add_argument("--files", type=int, default=4, help="Parquet files")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--work", default=str(REPO_ROOT / "bench_output" / "readers"))
    args = ap.parse_args(argv)
    work = Path(args.work).resolve()
    corpus = build_corpus(work, args.docs, args.files)
    print(f"corpus: {corpus['documents']:,} documents, {corpus['chars'] / 1e6:.1f}M characters ({corpus['source']}), "
          f"{corpus['files']} Parquet files, {corpus['bytes'] / 1e6:.1f} MB, row groups of {ROW_GROUP}; load average {os.getloadavg()[0]:.2f}")
    runs: dict[str, list[dict]] = {"ours": [], "datatrove": []}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        for which in runs:
            runs[which].append(_run_child(which, corpus["dir"]))
    print()
    print(f"{'':38s}{'seconds':>9s}{'documents/s':>13s}{'CPU-s':>8s}{'peak RSS MB':>13s}{'growth MB':>11s}  runs (s)")
    best = {}
    for which, label in (("ours", "curation parquet_reader"), ("datatrove", "datatrove ParquetReader")):
        r = best[which] = min(runs[which], key=lambda x: x["seconds"])
        times = ", ".join(f"{x['seconds']:.2f}" for x in runs[which])
        print(f"{label:38s}{r['seconds']:>9.2f}{r['documents'] / r['seconds']:>13,.0f}{r['cpu']:>8.2f}{r['peak_rss_mb']:>13.0f}"
              f"{r['peak_rss_mb'] - r['rss_before_mb']:>11.0f}  {times}")
    ours, ref = best["ours"], best["datatrove"]
    print(f"ratio (datatrove time / ours): {ref['seconds'] / ours['seconds']:.2f}x; "
          f"peak memory ours / datatrove: {ours['peak_rss_mb'] / ref['peak_rss_mb']:.2f}")
    same = ours["checksum"] == ref["checksum"] and ours["documents"] == ref["documents"] == corpus["documents"]
    print(f"documents: {ours['documents']:,} read by each; ids and texts {'identical, in the same order' if same else 'DIFFER'}; "
          f"metadata fields per document: ours {ours['metadata_fields'] / ours['documents']:.1f}, datatrove {ref['metadata_fields'] / ref['documents']:.1f}")
    (work / "results.json").write_text(json.dumps({"corpus": corpus, "runs": runs}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
