"""Benchmark of the tokenize stage: (a) whole-stage tokenization throughput next to datatrove's
``DocumentTokenizer`` on the same documents with the same tokenizer, with a check that both give
identical token ids for every document; (b) single-core read throughput of the shards into NumPy
next to reading the same tokens from a memory-mapped llm.c ``.bin``.

    .venv/bin/python -m bench.bench_tokenize [--tokens 5000000] [--workers 2] [--work bench_output/tokenize]

Documents: the main text of the real WARCs in ``../shared/data/warc`` (``CURATION_SHARED_DATA``),
extracted once by our extract stage (warc_reader + trafilatura) and cached, plus the articles of
the readability test pages; longer corpora are made of random runs of those real paragraphs (so
documents differ, ids are new). Without the real data, generated text is used.

Both tools run with the same number of worker processes; each run is timed twice and the faster
run is reported (the first run of each warms its worker processes). Our stage is run with
``last_sequence: pad`` so every document can be found whole in the output (padding costs nothing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 0


def shared_data_dir() -> Path:
    return Path(os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


# ----------------------------------------------------------------------------------------------
# The corpus


def _extract_real_texts(work: Path, workers: int) -> list[str]:
    """Main text of the real WARCs (our extract stage) and of the readability test pages; cached."""
    cache = work / "real_texts.json"
    if cache.exists():
        return json.loads(cache.read_text())
    data = shared_data_dir()
    texts: list[str] = []
    warcs = sorted((data / "warc").glob("*.warc.gz"))
    if warcs:
        from curation.config import load_pipeline
        from curation.execution import run_pipeline
        from curation.io.shards import read_documents

        out = work / "extract_run"
        pipeline = work / "extract.yaml"
        pipeline.write_text("name: bench-extract\nstages:\n  extract:\n    - warc_reader: {}\n    - trafilatura: {favour_precision: true, deduplicate: false}\n")
        run_pipeline(load_pipeline(pipeline), str(data / "warc"), str(out), workers=workers, progress=False)
        for shard in sorted((out / "extract" / "shards").glob("*.parquet")):
            texts += [d.text for d in read_documents(str(shard)) if d.text]
    for page in sorted((data / "extraction" / "mozilla-readability-testpages" / "pages").glob("*/expected.html.gz")):
        html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
        html = re.sub(r"(?i)</(p|div|h[1-6]|li|br|tr|pre|blockquote)>", "\n", html)
        text = unescape(re.sub(r"<[^>]+>", "", html))
        text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
        if text:
            texts.append(text)
    work.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(texts, ensure_ascii=False))
    return texts


def _generated_paragraphs(n: int, rng: random.Random) -> list[str]:
    words = [f"w{i}" for i in range(5000)] + "the of and to in is that for it as was with be by on not he this are or".split()
    weights = [1 / (r + 1) for r in range(len(words))]
    paras = []
    for _ in range(n):
        sents = []
        for _ in range(rng.randint(1, 6)):
            sent = " ".join(rng.choices(words, weights, k=rng.randint(5, 30)))
            sents.append(sent[:1].upper() + sent[1:] + ".")
        paras.append(" ".join(sents))
    return paras


def build_corpus(work: Path, target_tokens: int, n_shards: int, workers: int) -> dict[str, Any]:
    """Input shards of a fake previous stage (OUTPUT/extract) holding about ``target_tokens`` tokens."""
    from curation.document import Document
    from curation.io.shards import write_documents
    from curation.stats import StageStats, StepStats

    rng = random.Random(SEED)
    real = _extract_real_texts(work, workers) if (shared_data_dir() / "warc").is_dir() else []
    source = "real WARC text + readability pages" if real else "generated text"
    paragraphs = [p for t in real for p in t.split("\n") if len(p) > 30] or _generated_paragraphs(20000, rng)
    lengths = [max(1, t.count("\n") + 1) for t in real] or [rng.randint(2, 30) for _ in range(1000)]
    target_chars = int(target_tokens * 4.3)  # GPT-2: about 4.3 characters per token of English web text
    docs = [Document(id=f"<urn:uuid:real-{i:06d}>", text=t, date="2024-05-01T00:00:00Z") for i, t in enumerate(real)]
    chars = sum(len(d.text) for d in docs)
    i = 0
    while chars < target_chars:
        k = min(rng.choice(lengths), 60)
        text = "\n".join(rng.choice(paragraphs) for _ in range(k))
        day = 1 + i % 28
        docs.append(Document(id=f"<urn:uuid:bench-{i:08d}>", text=text, date=f"2024-06-{day:02d}T12:00:00Z"))
        chars += len(text)
        i += 1
    rng.shuffle(docs)
    prev = work / "corpus" / "extract"
    if prev.exists():
        shutil.rmtree(prev)
    for s in range(n_shards):
        part = docs[s::n_shards]
        name = f"part{s:03d}"
        write_documents(str(prev / "shards" / f"{name}.parquet"), part)
        st = StepStats("warc_reader", docs_in=len(part), docs_out=len(part))
        (prev / "_done").mkdir(parents=True, exist_ok=True)
        (prev / "_done" / f"{name}.json").write_text(json.dumps({"shard": name, "stats": StageStats("extract", steps=[st], shards=1).to_dict()}))
    return {"documents": docs, "chars": chars, "source": source, "dir": prev}


# ----------------------------------------------------------------------------------------------
# (a) tokenization: our stage vs datatrove


def run_ours(work: Path, corpus_dir: Path, workers: int, settings: dict[str, Any]) -> tuple[float, float, Path]:
    from curation.config import load_pipeline
    from curation.execution import run_pipeline
    from curation.executor import connect_ray

    out = work / "ours"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.symlink(corpus_dir, out / "extract")
    pipeline = out / "pipeline.yaml"
    pipeline.write_text(f"name: bench\nstages:\n  extract:\n    - warc_reader: {{}}\n  tokenize:\n    - tokenize: {json.dumps(settings)}\n")
    connect_ray(None, workers)
    t0 = time.perf_counter()
    (result,) = run_pipeline(load_pipeline(pipeline), None, str(out), stages=["tokenize"], workers=workers, force=True, progress=False)
    seconds = time.perf_counter() - t0
    assert not result.shards_failed, result.shards_failed
    return seconds, result.stats.cpu_seconds, out / "tokenize"  # CPU: summed over the stage's tasks


def _datatrove_child(params_file: str) -> int:
    """In a child process: datatrove's ParquetReader -> DocumentTokenizer, timed around executor.run()."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    p = json.loads(Path(params_file).read_text())
    executor = LocalPipelineExecutor(
        pipeline=[
            ParquetReader(p["input"], glob_pattern="*.parquet", text_key="text", id_key="id"),
            DocumentTokenizer(p["output"], tokenizer_name_or_path=p["tokenizer"], eos_token="<|endoftext|>", seed=SEED),
        ],
        tasks=p["tasks"],
        workers=p["workers"],
        logging_dir=p["logs"],
        skip_completed=False,
    )
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - t0
    Path(p["result"]).write_text(json.dumps({"seconds": seconds, "cpu_before_run": before.ru_utime + before.ru_stime}))
    return 0


def _session_cpu(sid: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of every live process of session ``sid``."""
    from bench.reference import proc_stats

    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (int(f[11]) + int(f[12])) / tick for pid, f in proc_stats().items() if int(f[3]) == sid}


class CpuSampler:
    """Polls the CPU time of a process session; ``total`` = the sum of each process's last value."""

    def __init__(self, sid: int, interval: float = 0.1):
        import threading

        self.sid, self.interval, self.last = sid, interval, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.last.update(_session_cpu(self.sid))
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self.last.update(_session_cpu(self.sid))
        self._stop.set()
        self._thread.join()
        return sum(self.last.values())


def run_datatrove(work: Path, corpus_dir: Path, workers: int, tokenizer_json: Path) -> tuple[float, float, Path]:
    out = work / "datatrove"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    n_files = len(list((corpus_dir / "shards").glob("*.parquet")))
    params = {"input": str(corpus_dir / "shards"), "output": str(out / "tokens"), "tokenizer": str(tokenizer_json),
              "tasks": n_files, "workers": workers, "logs": str(out / "logs"), "result": str(out / "result.json")}
    (out / "params.json").write_text(json.dumps(params))
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_tokenize", "--datatrove-child", str(out / "params.json")],
                            cwd=REPO_ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = CpuSampler(proc.pid)
    try:
        _, err = proc.communicate(timeout=1800)
    finally:
        cpu = sampler.stop()
        try:  # the executor's pool processes share the child's session: end them with it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.returncode != 0:
        raise RuntimeError(f"datatrove run failed:\n{err.decode()[-3000:]}")
    result = json.loads((out / "result.json").read_text())
    return result["seconds"], cpu - result["cpu_before_run"], out / "tokens"


def our_documents(tok_dir: Path) -> dict[str, list[np.ndarray]]:
    """Every document's tokens (without its EOS) per split, in stream order (= seeded key order)."""
    import pyarrow.parquet as pq

    from curation.tokenization.split import SPLITS
    from curation.tokens import load_manifest, row_group_array

    manifest = load_manifest(str(tok_dir))
    docs: dict[str, list[np.ndarray]] = {}
    for split in SPLITS:
        docs[split] = []
        for shard in manifest["splits"][split]["shards"]:
            t = pq.read_table(tok_dir / shard["path"])
            width = manifest["sequence_tokens"]
            stream = row_group_array(t).reshape(-1)[: int(t.column("num_tokens").to_numpy().sum())]
            starts = [r * width + s for r, row in enumerate(t.column("doc_starts").to_pylist()) for s in row]
            docs[split] += [stream[a + 1 : b] for a, b in zip(starts, starts[1:] + [len(stream)])]
    return docs


def datatrove_documents(dt_dir: Path) -> list[np.ndarray]:
    docs = []
    for ds in sorted(dt_dir.glob("*.ds")):
        tokens = np.fromfile(ds, dtype="<u2")
        ends = np.fromfile(f"{ds}.index", dtype="<u8").astype(np.int64)
        starts = np.concatenate([np.zeros(1, np.int64), ends[:-1]])
        docs += [tokens[a : b - 1] for a, b in zip(starts, ends)]  # each ends with its EOS
        assert (tokens[ends - 1] == 50256).all()
    return docs


def check_ids(docs: list, tok_dir: Path, dt_dir: Path, seed: int, val_fraction: float) -> dict[str, Any]:
    """Ours: document by document (the stream order is the key order); datatrove: as a multiset."""
    from curation.tokenization.split import doc_key, is_val
    from curation.tokenization.tokenizer import encode

    expected = {d.id: np.asarray(ids, dtype=np.uint16) for d, ids in zip(docs, encode([d.text for d in docs]))}
    ours = our_documents(tok_dir)
    mismatches = 0
    for split in ("train", "val"):
        ids = sorted((d.id for d in docs if is_val(d.id, val_fraction) == (split == "val") and len(expected[d.id])), key=lambda i: doc_key(i, seed))
        assert len(ids) == len(ours[split]), (split, len(ids), len(ours[split]))
        mismatches += sum(not np.array_equal(expected[i], got) for i, got in zip(ids, ours[split]))
    theirs = datatrove_documents(dt_dir)
    want = Counter(expected[d.id].tobytes() for d in docs if len(expected[d.id]))
    got = Counter(t.tobytes() for t in theirs if len(t))
    return {"documents": sum(1 for v in expected.values() if len(v)), "ours_mismatches": mismatches,
            "datatrove_equal": want == got, "datatrove_docs": len(theirs)}


# ----------------------------------------------------------------------------------------------
# (b) read throughput


def _timed(fn, min_seconds: float = 1.0) -> float:
    """Seconds per call of ``fn`` (best of repeated calls, at least ``min_seconds`` in all)."""
    fn()
    best, spent = float("inf"), 0.0
    while spent < min_seconds:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return best


def read_parquet_tokens(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    from curation.tokens import row_group_array

    n = 0
    for p in paths:
        f = pq.ParquetFile(p)
        for g in range(f.num_row_groups):
            arr = row_group_array(f.read_row_group(g, columns=["tokens"], use_threads=False))
            n += arr.size
    return n


def read_bin_tokens(paths: list[str]) -> int:
    from curation.tokenization.export import read_bin

    n = 0
    for p in paths:
        mm = read_bin(p)
        arr = np.array(mm)  # materialize: every page read
        n += arr.size
    return n


def read_benchmark(tok_dir: Path, work: Path) -> list[dict[str, Any]]:
    """Single-core (use_threads=False) reads of the train shards, files in the page cache."""
    import pyarrow.parquet as pq

    from curation.tokenization.export import export_bin
    from curation.tokens import row_group_array

    paths = sorted((tok_dir / "train").glob("*.parquet"))
    bins = [b for b in export_bin(str(tok_dir), str(work / "bin")) if "/train_" in b]
    n = read_parquet_tokens(paths)
    n_bin = read_bin_tokens(bins)  # fewer only by the padding of each shard's last row
    rows = []
    size = sum(p.stat().st_size for p in paths)
    rows.append({"what": "Parquet shards (zstd, default)", "bytes_per_token": size / n,
                 "tokens_per_s": n / _timed(lambda: read_parquet_tokens(paths))})
    table = pq.read_table(paths[0])
    for compression in ("none", "lz4"):
        alt = work / f"alt-{compression}.parquet"
        pq.write_table(table, alt, compression=compression, use_dictionary=False, write_statistics=False,
                       row_group_size=pq.ParquetFile(paths[0]).metadata.row_group(0).num_rows)
        m = row_group_array(table).size
        rows.append({"what": f"same layout, compression={compression} (first shard)", "bytes_per_token": alt.stat().st_size / m,
                     "tokens_per_s": m / _timed(lambda alt=alt: read_parquet_tokens([alt]))})
    # Worst case for compression: uniformly random ids (real text compresses better than this).
    import pyarrow as pa

    width = table.schema.field("tokens").type.list_size
    rng = np.random.default_rng(SEED)
    noise = rng.integers(0, 50257, size=table.num_rows * width, dtype=np.uint16)
    noise_table = pa.table({"tokens": pa.FixedSizeListArray.from_arrays(pa.array(noise), type=table.schema.field("tokens").type)})
    alt = work / "alt-random.parquet"
    pq.write_table(noise_table, alt, compression="zstd", use_dictionary=False, write_statistics=False,
                   row_group_size=pq.ParquetFile(paths[0]).metadata.row_group(0).num_rows)
    rows.append({"what": "same layout, zstd, random ids (worst case)", "bytes_per_token": alt.stat().st_size / noise.size,
                 "tokens_per_s": noise.size / _timed(lambda: read_parquet_tokens([alt]))})
    rows.append({"what": "llm.c .bin, np.memmap + copy", "bytes_per_token": sum(os.path.getsize(b) for b in bins) / n_bin,
                 "tokens_per_s": n_bin / _timed(lambda: read_bin_tokens(bins))})
    return rows


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--datatrove-child"]:
        return _datatrove_child(argv[1])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=5_000_000, help="about this many tokens of documents")
    ap.add_argument("--shards", type=int, default=8, help="input shards (tasks of both tools)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--work", default=str(REPO_ROOT / "bench_output" / "tokenize"))
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)

    from curation.tokenization.tokenizer import load_tokenizer

    corpus = build_corpus(work, args.tokens, args.shards, args.workers)
    docs = corpus["documents"]
    print(f"corpus: {len(docs):,} documents, {corpus['chars'] / 1e6:.1f}M characters ({corpus['source']}), {args.shards} input shards, {args.workers} workers")
    tokenizer_json = work / "gpt2-tokenizer.json"
    load_tokenizer("gpt2").save(str(tokenizer_json))
    settings = {"tokenizer": "gpt2", "seq_len": 1024, "val_fraction": 0.01, "seed": SEED, "last_sequence": "pad"}
    ours_s, dt_s, ours_cpu, dt_cpu = [], [], [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        s, cpu, tok_dir = run_ours(work, corpus["dir"], args.workers, settings)
        ours_s.append(s)
        ours_cpu.append(cpu)
        s, cpu, dt_dir = run_datatrove(work, corpus["dir"], args.workers, tokenizer_json)
        dt_s.append(s)
        dt_cpu.append(cpu)
    manifest = json.loads((tok_dir / "manifest.json").read_text())
    doc_tokens = manifest["total"]["tokens"] - sum(s["padding_tokens"] for sp in manifest["splits"].values() for s in sp["shards"])
    check = check_ids(docs, tok_dir, dt_dir, SEED, settings["val_fraction"])

    print()
    print("(a) tokenization, whole stage (read Parquet documents -> tokenize -> shuffle -> write), same documents and tokenizer")
    print(f"{'':44s}{'seconds':>9s}{'tokens/s':>13s}{'CPU-s':>8s}{'tokens/CPU-s':>14s}  runs (s)")
    for name, secs, cpus in (("curation tokenize (Ray, global shuffle)", ours_s, ours_cpu),
                             ("datatrove DocumentTokenizer (local shuffle)", dt_s, dt_cpu)):
        i = secs.index(min(secs))
        print(f"{name:44s}{secs[i]:>9.2f}{doc_tokens / secs[i]:>13,.0f}{cpus[i]:>8.1f}{doc_tokens / cpus[i]:>14,.0f}  {', '.join(f'{s:.2f}' for s in secs)}")
    print("CPU-s: ours summed over the stage's Ray tasks; datatrove's whole process tree during executor.run() (incl. its pool's start)")
    print(f"tokens: {doc_tokens:,} (documents + one EOS each); output: {manifest['total']['sequences']:,} sequences of {manifest['sequence_tokens']}")
    print(f"ids: {check['documents']:,} documents; ours differ from direct encoding in {check['ours_mismatches']} document(s); "
          f"datatrove's documents {'are identical (as a multiset)' if check['datatrove_equal'] else 'DIFFER'}")
    print()
    print("(b) read throughput into NumPy, one core, files in the page cache (train shards)")
    print(f"{'':50s}{'bytes/token':>12s}{'tokens/s':>16s}")
    for r in read_benchmark(tok_dir, work):
        print(f"{r['what']:50s}{r['bytes_per_token']:>12.2f}{r['tokens_per_s']:>16,.0f}")
    return 0 if check["ours_mismatches"] == 0 and check["datatrove_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
