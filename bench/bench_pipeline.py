"""``make bench``: our pipeline against datatrove's FineWeb recipe, in one run, on the same input.

    .venv/bin/python bench/bench_pipeline.py [--input DIR] [--workers 2] [--quick]
        [--skip-many-files] [--many-files N --pages-per-file M] [--json OUT.json]

Three measurements, each side started as its own process tree (ours: the ``curation run`` CLI,
which starts and stops an embedded Ray; datatrove: ``bench.reference``, a LocalPipelineExecutor):

1. whole pipeline (read -> extract -> filter) on the input WARCs (default: the real files in
   ``$CURATION_SHARED_DATA/warc``, else the bundled sample): docs/s, ratio, peak memory, and the
   agreement of the kept documents by WARC-Record-ID, against datatrove as FineWeb ran it
   (trafilatura ``deduplicate=True``) and against datatrove with ``deduplicate=False`` (our
   setting), with every disagreement and its likely cause;
2. the filter stage only, on identical input (our extract stage's output, given to datatrove as
   JSONL): docs/s, ratio, and whether the decisions (and kept texts) are identical;
3. a "many files" corpus (``bench/corpus.py``: real pages, many small WARC files): docs/s, ratio;
4. a language-mixed corpus (``bench/corpus.py``'s ``build_mixed_corpus``: real pages, 45% English
   as in Common Crawl), where the screens before trafilatura matter: docs/s, ratio, agreement;
5. the fast recipe (``pipelines/fineweb-fast.yaml``: resiliparse, DCLM's extractor, then FineWeb's
   filters) on the input WARCs and on the language-mixed corpus: docs/s against datatrove's FineWeb
   recipe on the same input, and both extractors' word-level F1 and documents per CPU-second on the
   real extraction test pages (``curation.evaluate``);
6. the screens' agreement: every real page through fineweb.yaml with and without its ``screen``
   step (``bench/bench_screens.py``), every difference listed.

Every whole-pipeline run prints where the time goes: each step's share of the CPU seconds (ours:
CPU seconds of the worker thread per step; datatrove: its per-step time, summed over tasks). The
kept sets are compared on every document, on the documents both readers read, and on the UTF-8
pages (where the two readers decode the same text: ours tries a page's declared charset before
detection, datatrove goes straight to detection). The run ends with a summary of the headline
figures.

Work folders live in ``bench_output/`` (emptied before each run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bench` and `curation` importable
    sys.path.insert(0, str(REPO_ROOT))

PIPELINE = REPO_ROOT / "pipelines" / "fineweb.yaml"
FAST_PIPELINE = REPO_ROOT / "pipelines" / "fineweb-fast.yaml"
STAGE_LINE = re.compile(r"^(\w+): (\d+) shards \((\d+) already done\), (\d+) failed, ([\d.]+)s$", re.M)
DOCS_PER_S_DEFINITION = (
    "docs/s = HTML documents that the side's own WARC reader passed on (records it turned into documents:\n"
    "         HTML responses of any HTTP status on both sides with fineweb.yaml's reader settings), divided by wall seconds.\n"
    "         'total' wall: process start to exit (interpreter, imports, Ray start-up and shut-down for ours,\n"
    "         the process pool for datatrove); 'stages' wall: ours = sum of the stage wall times the CLI\n"
    "         reports (Ray start-up excluded), datatrove = LocalPipelineExecutor.run() (pool start included).\n"
    "         Filter stage only: docs/s = documents entering the filter stage (the same for both sides)."
)


# --------------------------------------------------------------------------------------------
# Dependencies and input
# --------------------------------------------------------------------------------------------

def missing_dependencies() -> list[str]:
    """Modules the datatrove reference needs that are not importable (with what provides them)."""
    import importlib.util

    wanted = {
        "spacy": "spacy (datatrove's English word/sentence tokenizer for the Gopher, C4 and FineWeb filters)",
        "orjson": "orjson (datatrove's JsonlReader/JsonlWriter)",
        "magic": "python-magic (datatrove's WarcReader)",
        "cchardet": "faust-cchardet (datatrove's WarcReader)",
        "warcio": "warcio (datatrove's WarcReader)",
        "fasttext": "fasttext-numpy2-wheel (language filter)",
    }
    return [why for mod, why in wanted.items() if importlib.util.find_spec(mod) is None]


def default_input() -> Path:
    root = Path(os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    return root / "warc"


def sample_input(work: Path) -> Path:
    """The bundled sample, without its deliberately damaged record (datatrove's reader, warcio,
    stops the whole task with a zlib error on it, which ours counts and skips)."""
    from curation.sample import generate_sample

    raw, clean = work / "sample_raw", work / "sample"
    for d in (raw, clean):
        shutil.rmtree(d, ignore_errors=True)
    manifest = generate_sample(raw, seed=0)
    clean.mkdir(parents=True)
    cut: dict[str, list[tuple[int, int]]] = {}
    for rec in manifest["records"]:
        if rec.get("expected") == "reader:damaged_record":
            cut.setdefault(rec["file"], []).append((rec["offset"], rec["offset"] + rec["length"]))
    for name in manifest["files"]:
        data = (raw / name).read_bytes()
        for start, end in sorted(cut.get(name, []), reverse=True):
            data = data[:start] + data[end:]
        (clean / name).write_bytes(data)
    return clean


def input_summary(files: list[str]) -> str:
    size = sum(os.path.getsize(f) for f in files)
    return f"{len(files)} files, {size / 1e6:.1f} MB"


# --------------------------------------------------------------------------------------------
# Our side
# --------------------------------------------------------------------------------------------

def read_parquet_docs(folder: Path) -> dict[str, dict[str, str]]:
    import pyarrow.parquet as pq

    out: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.parquet")):
        for row in pq.read_table(path, columns=["id", "url", "text"]).to_pylist():
            out[row["id"]] = {"url": row["url"], "text": row["text"]}
    return out


def run_ours(input_spec: str | None, output: Path, workers: int, stages: str | None = None, timeout: float = 3600,
             pipeline: Path = PIPELINE) -> dict[str, Any]:
    """``curation run pipelines/fineweb.yaml`` as a subprocess; its numbers, kept documents and memory."""
    from bench.reference import run_tree

    if input_spec:  # a run from the WARC files starts from an empty folder
        shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "curation.cli", "run", str(pipeline), "--output", str(output), "--workers", str(workers), "--no-progress"]
    if input_spec:
        cmd += ["--input", input_spec]
    if stages:
        cmd += ["--stages", stages]
    log = output.parent / f"{output.name}.log"
    run = run_tree(cmd, log, timeout)
    text = log.read_text(errors="replace")
    if run["timed_out"] or run["rc"] != 0:
        raise RuntimeError(f"our pipeline failed (rc={run['rc']}, timed out={run['timed_out']}); log {log}:\n{text[-4000:]}")
    stage_wall = {m.group(1): float(m.group(5)) for m in STAGE_LINE.finditer(text)}
    stats = {}
    for stage in ("extract", "filter"):
        p = output / stage / "stats.json"
        if p.is_file():
            stats[stage] = json.loads(p.read_text())
    res: dict[str, Any] = {
        "wall_s": run["wall_s"],
        "stage_wall_s": sum(stage_wall.values()),
        "stage_walls": stage_wall,
        "peak_mib": run["peak_mib"],
        "max_processes": run["max_processes"],
        "leftover_pids": run["leftover_pids"],
        "log": str(log),
        "stats": stats,
    }
    if "extract" in stats:
        steps = stats["extract"]["steps"]
        res["documents_read"] = steps[0]["docs_out"]
        res["records_read"] = steps[0]["docs_in"]
        res["extracted"] = steps[-1]["docs_out"]
    if "filter" in stats:
        res["filter_docs_in"] = stats["filter"]["steps"][0]["docs_in"]
        res["kept"] = read_parquet_docs(output / "filter" / "shards")
        res["kept_ids"] = set(res["kept"])
    res["per_step"] = [
        {"stage": s, "name": st["name"], "docs_in": st["docs_in"], "docs_out": st["docs_out"], "seconds": st["seconds"],
         "dropped": st.get("dropped", {})}
        for s, ss in stats.items() for st in ss["steps"]
    ]
    return res


def our_filter_steps():
    """Our filter stage's steps, built from pipelines/fineweb.yaml (for per-document diagnosis)."""
    from curation.config import load_pipeline

    return [spec.build() for spec in load_pipeline(str(PIPELINE)).stage("filter").steps]


def our_verdict(steps, doc_id: str, text: str, url: str) -> str:
    from curation.document import Document
    from curation.stats import StepStats

    doc = Document(id=doc_id, text=text, url=url)
    for step in steps:
        st = StepStats(getattr(step, "label", getattr(step, "name", "?")))
        out = list(step.run([doc], st))
        if not out:
            reason = next(iter(st.dropped), "?")
            return f"{getattr(step, 'name', st.name)}:{reason}"
        doc = out[0]
    return "kept"


def datatrove_verdict(steps, doc_id: str, text: str, url: str) -> str:
    from datatrove.data import Document

    doc = Document(text=text, id=doc_id, metadata={"url": url})
    for step in steps:
        verdict = step.filter(doc)
        if verdict is True:
            continue
        reason = verdict[1] if isinstance(verdict, tuple) else ""
        return f"{type(step).__name__.replace('Offline', '')}{':' + reason if reason else ''}"
    return "kept"


# --------------------------------------------------------------------------------------------
# Agreement and diagnosis
# --------------------------------------------------------------------------------------------

def warc_index(files: list[str], wanted: set[str]) -> dict[str, dict[str, Any]]:
    """{WARC-Record-ID: {status, mime, url, file, dt_html}} for the wanted ids (datatrove's decoding)."""
    from warcio.archiveiterator import ArchiveIterator

    from datatrove.pipeline.readers.warc import process_record

    found: dict[str, dict[str, Any]] = {}
    for path in files:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                rid = rec.rec_headers.get_header("WARC-Record-ID")
                if rid not in wanted:
                    continue
                status = rec.http_headers.get_statuscode() if rec.http_headers else None
                mime = rec.rec_headers.get_header("WARC-Identified-Payload-Type") or (
                    (rec.http_headers.get_header("Content-Type") or "") if rec.http_headers else "")
                try:
                    dt = process_record(rec)
                except Exception as e:  # noqa: BLE001
                    dt = {"error": str(e)}
                found[rid] = {"status": status, "mime": mime, "url": rec.rec_headers.get_header("WARC-Target-URI"),
                              "file": os.path.basename(path), "dt_html": (dt or {}).get("text")}
        if any(found[i]["dt_html"] is None for i in found):  # read again: the reason datatrove's reader skips them
            with open(path, "rb") as fh:
                for rec in ArchiveIterator(fh):
                    rid = rec.rec_headers.get_header("WARC-Record-ID")
                    if rid in found and found[rid]["dt_html"] is None and "dt_reason" not in found[rid]:
                        found[rid]["dt_reason"] = datatrove_reader_reason(rec) if rec.rec_type == "response" else rec.rec_type
    return found


def our_reader_params():
    """The warc_reader settings of pipelines/fineweb.yaml."""
    from curation.config import load_pipeline

    return load_pipeline(str(PIPELINE)).stage("extract").steps[0].params


def reader_rules(params=None) -> str:
    """Our reader's rules in a few words, e.g. "any status + libmagic" (datatrove's) or "HTTP 200 + Content-Type"."""
    p = params or our_reader_params()
    status = "any status" if p.statuses == "any" else "HTTP " + "/".join(map(str, p.statuses))
    return f"{status} + {'libmagic' if p.mime_fallback == 'libmagic' else 'Content-Type'}"


def reader_sets(files: list[str]) -> tuple[set[str], set[str]]:
    """The WARC-Record-IDs that each side's reader turns into documents: (ours, datatrove's).

    datatrove reads every HTTP status and, without WARC-Identified-Payload-Type, sniffs the body
    with libmagic; fineweb.yaml sets our reader to the same rules (``statuses: any``,
    ``mime_fallback: libmagic``), so the two sets are equal unless those settings change (or a
    page decodes under its declared charset only, which datatrove does not try)."""
    from warcio.archiveiterator import ArchiveIterator

    from curation.config import load_pipeline
    from curation.stats import StepStats
    from datatrove.pipeline.readers.warc import process_record

    reader = load_pipeline(str(PIPELINE)).stage("extract").steps[0].build()
    ours: set[str] = set()
    theirs: set[str] = set()
    for path in files:
        with open(path, "rb") as fh:
            ours.update(d.id for d in reader.read_stream(fh, path, StepStats("reader")))
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                try:
                    if process_record(rec):
                        theirs.add(rec.rec_headers.get_header("WARC-Record-ID"))
                except Exception:  # noqa: BLE001 - datatrove's task would stop here; count it as not read
                    pass
    return ours, theirs


def non_utf8_ids(files: list[str]) -> set[str]:
    """The documents whose HTML is not UTF-8 (our reader records the charset it decoded them with)."""
    from curation.config import load_pipeline
    from curation.stats import StepStats

    reader = load_pipeline(str(PIPELINE)).stage("extract").steps[0].build()
    found: set[str] = set()
    for path in files:
        with open(path, "rb") as fh:
            found.update(d.id for d in reader.read_stream(fh, path, StepStats("reader")) if "charset" in d.metadata)
    return found


def datatrove_reader_reason(rec) -> str:
    """Why datatrove's WarcReader skips a response record (its rules, datatrove/pipeline/readers/warc.py)."""
    import cchardet
    import magic

    ipt = rec.rec_headers.get_header("WARC-Identified-Payload-Type")
    body = rec.content_stream().read()
    ctype = (rec.http_headers.get_header("Content-Type") or "") if rec.http_headers else ""
    if ipt and ipt not in ("text/html", "application/xhtml+xml"):
        return f"WARC-Identified-Payload-Type is {ipt}"
    if not ipt:
        sniffed = magic.from_buffer(body, mime=True)
        if sniffed not in ("text/html", "application/xhtml+xml"):
            return (f"no WARC-Identified-Payload-Type, and libmagic sniffs the body as {sniffed} "
                    f"(HTTP Content-Type: {ctype or 'none'}; ours follows it with mime_fallback: http)")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return f"not UTF-8, and cchardet's guess {cchardet.detect(body).get('encoding')} does not decode it (ours also tries the declared charset)"
    return "?"


def compare(ours: dict[str, dict[str, str]], theirs: dict[str, dict[str, str]], universe: set[str] | None = None) -> dict[str, Any]:
    """Agreement of two kept sets by id (restricted to ``universe``, e.g. the documents both readers read)."""
    a, b = set(ours), set(theirs)
    if universe is not None:
        a, b = a & universe, b & universe
    union = a | b
    both = a & b
    exact = sum(1 for i in both if ours[i]["text"] == theirs[i]["text"])
    same_text = sum(1 for i in both if ours[i]["text"] == theirs[i]["text"] or mask_pii(ours[i]["text"]) == mask_pii(theirs[i]["text"]))
    return {
        "ours": len(a), "theirs": len(b), "both": len(both), "union": len(union),
        "jaccard": len(both) / len(union) if union else 1.0,
        "only_ours": sorted(a - b), "only_theirs": sorted(b - a),
        "same_text": same_text, "same_text_exact": exact,
    }


_PII = None


def mask_pii(text: str) -> str:
    """Every e-mail and IP address (datatrove's PIIFormatter patterns) as one placeholder: our filter
    stage ends with pii_formatter (FineWeb applies PIIFormatter after dedup), datatrove's reference does not."""
    global _PII  # noqa: PLW0603
    if _PII is None:
        from datatrove.pipeline.formatters import PIIFormatter

        f = PIIFormatter()
        _PII = (f.emails_replacer.regex, f.ip_replacer.regex)
    emails, ips = _PII
    return ips.sub("<ip>", emails.sub("<email>", text))


def ours_drop_reasons(output: Path) -> dict[str, str]:
    """{id: "step:reason"} of the dropped documents our run sampled (OUT/<stage>/stats.json; 20 per reason)."""
    found: dict[str, str] = {}
    for stage in ("extract", "filter"):
        p = Path(output) / stage / "stats.json"
        if not p.is_file():
            continue
        for st in json.loads(p.read_text()).get("steps", []):
            for reason, samples in (st.get("samples") or {}).items():
                for sample in samples:
                    found.setdefault(sample["id"], f"{st['name']}:{reason}")
    return found


def diagnose(cmp: dict[str, Any], ours_kept, theirs_kept, ours_extracted, files: list[str], limit: int = 40,
             ours_drops: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per disagreement (at most ``limit``): id, url, who kept it, and the likely cause."""
    from bench.reference import filter_steps

    ids = [(i, "ours") for i in cmp["only_ours"]] + [(i, "datatrove") for i in cmp["only_theirs"]]
    ids = ids[:limit]
    if not ids:
        return []
    index = warc_index(files, {i for i, _ in ids})
    dt_steps = filter_steps()
    try:
        our_steps = our_filter_steps()
    except Exception as e:  # noqa: BLE001 - diagnosis is best-effort
        our_steps, our_err = None, str(e)
    reader = our_reader_params()
    rows = []
    for doc_id, kept_by in ids:
        rec = index.get(doc_id, {})
        url = (ours_kept.get(doc_id) or theirs_kept.get(doc_id) or {}).get("url") or rec.get("url", "")
        row: dict[str, Any] = {"id": doc_id, "url": url, "kept_by": kept_by, "status": rec.get("status"), "mime": rec.get("mime")}
        our_text = (ours_extracted.get(doc_id) or {}).get("text")
        if kept_by == "datatrove" and reader.statuses != "any" and rec.get("status") not in (None, *map(str, reader.statuses)):
            row["cause"] = (f"HTTP {rec.get('status')}: our reader reads only statuses {reader.statuses} "
                            "(warc_reader statuses), datatrove does not check the status")
        elif our_text is None:
            dropped = (ours_drops or {}).get(doc_id)
            if dropped:
                row["cause"] = f"ours dropped it in the extract stage: {dropped}"
                if dropped.endswith(":cpu_timeout"):
                    row["cause"] += " (our CPU budget per page: the page needs more CPU than the budget, whatever the load)"
                elif dropped.endswith(":wall_timeout"):
                    row["cause"] += " (our hang guard: the page used no CPU for the guard's time)"
            else:
                row["cause"] = "ours did not extract it (reader, URL filter, screen, or trafilatura: empty/cpu_timeout/error); see OUT/extract/stats.json"
            dt_html = rec.get("dt_html")
            if dt_html:
                import trafilatura

                t = trafilatura.extract(dt_html, favor_precision=True, include_comments=False, deduplicate=False)
                row["cause"] += f"; trafilatura on datatrove's decoded HTML now gives {len(t or '')} chars"
        else:
            dt_v = datatrove_verdict(dt_steps, doc_id, our_text, url)
            ours_v = our_verdict(our_steps, doc_id, our_text, url) if our_steps else f"? ({our_err})"
            row["datatrove_filters_on_our_text"] = dt_v
            row["our_filters_on_our_text"] = ours_v
            if (dt_v == "kept") != (ours_v == "kept"):
                row["cause"] = f"filters disagree on the same text: datatrove -> {dt_v}, ours -> {ours_v}"
            else:
                # same filter decision on our text: the extracted texts differ
                import trafilatura

                dt_html = rec.get("dt_html")
                t = trafilatura.extract(dt_html, favor_precision=True, include_comments=False, deduplicate=False) if dt_html else None
                if dt_html is None:
                    row["cause"] = f"datatrove's reader skips this record: {rec.get('dt_reason', '?')}"
                elif t == our_text:
                    row["cause"] = ("extraction differs only in the run: trafilatura gives our text when rerun on datatrove's "
                                    "HTML, so datatrove's run lost it to its 1 s wall-clock extraction timeout (see the timeout counts) "
                                    "or, with deduplicate=True, to trafilatura's per-process dedup cache")
                else:
                    row["cause"] = ("extracted texts differ: datatrove decodes the HTML differently (charset) "
                                    f"or extraction is not deterministic ({len(t or '')} vs {len(our_text)} chars)")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------

def _count_step(steps: list[dict[str, Any]], word: str, key: str) -> int:
    for st in steps:
        if word.lower() in st["name"].lower():
            return int(st["counters"].get(key, 0))
    return 0


def _rate(n: int | None, s: float | None) -> float | None:
    return n / s if n is not None and s else None


def _f(x: float | None, spec: str = ",.1f") -> str:
    return "-" if x is None else format(x, spec)


def side_row(label: str, r: dict[str, Any], docs_key: str, stage_key: str) -> dict[str, Any]:
    docs = r.get(docs_key)
    return {
        "side": label, "docs": docs, "kept": len(r.get("kept_ids", ())), "wall_s": r["wall_s"],
        "docs_per_s": _rate(docs, r["wall_s"]), "stage_wall_s": r.get(stage_key),
        "stage_docs_per_s": _rate(docs, r.get(stage_key)), "peak_mib": r.get("peak_mib"),
    }


def print_table(rows: list[dict[str, Any]], docs_label: str) -> None:
    head = f"  {'side':<26}{docs_label:>10}{'kept':>7}{'wall total':>12}{'docs/s':>9}{'wall stages':>13}{'docs/s':>9}{'peak mem':>11}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in rows:
        print(f"  {r['side']:<26}{_f(r['docs'], ',d'):>10}{r['kept']:>7,d}{_f(r['wall_s']):>11}s{_f(r['docs_per_s']):>9}"
              f"{_f(r['stage_wall_s']):>12}s{_f(r['stage_docs_per_s']):>9}{_f(r['peak_mib'], ',.0f'):>7} MiB")


def _short(name: str) -> str:
    """datatrove's step name without its emoji and type prefix: '🔻 - FILTER: 😈 Url-filter' -> 'Url-filter'."""
    name = name.split(":", 1)[-1]
    return "".join(ch for ch in name if ord(ch) < 0x2000).strip()


def print_step_seconds(ours: dict[str, Any], dts: dict[bool, dict[str, Any]]) -> None:
    """Seconds spent in each step, summed over tasks (CPU-bound steps: about CPU seconds)."""
    print("  seconds per step, summed over tasks:")
    print("    ours:      " + ", ".join(f"{s['name']} {s['seconds']:.1f}" for s in ours["per_step"]))
    for dedup, dt in dts.items():
        print(f"    datatrove{' (dedup)' if dedup else ''}: " + ", ".join(f"{_short(s['name'])} {s['seconds']:.1f}" for s in dt["per_step"]))


def cpu_shares(per_step: list[dict[str, Any]], name_of=lambda s: s["name"]) -> list[tuple[str, float, float]]:
    """(step, seconds, share of the total) for each step, largest first."""
    total = sum(s["seconds"] for s in per_step) or 1.0
    rows = [(name_of(s), s["seconds"], s["seconds"] / total) for s in per_step]
    return sorted(rows, key=lambda r: -r[1])


def print_cpu_shares(ours: dict[str, Any], dts: dict[bool, dict[str, Any]]) -> dict[str, Any]:
    """Where the time goes: each step's share of the CPU seconds (ours) or step seconds (datatrove)."""
    out = {"ours": cpu_shares(ours["per_step"])}
    print("  where the time goes (share of the summed step seconds):")
    print("    ours:      " + ", ".join(f"{n} {100 * f:.0f}%" for n, _, f in out["ours"] if f >= 0.005))
    for dedup, dt in dts.items():
        key = f"datatrove{' (dedup)' if dedup else ''}"
        out[key] = cpu_shares(dt["per_step"], lambda st: _short(st["name"]))
        print(f"    {key}: " + ", ".join(f"{n} {100 * f:.0f}%" for n, _, f in out[key] if f >= 0.005))
    return out


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def print_ratio(ours: dict[str, Any], theirs: dict[str, Any], label: str) -> dict[str, Any]:
    ratio = {
        "docs_per_s": (ours["docs_per_s"] / theirs["docs_per_s"]) if ours["docs_per_s"] and theirs["docs_per_s"] else None,
        "stage_docs_per_s": (ours["stage_docs_per_s"] / theirs["stage_docs_per_s"])
        if ours["stage_docs_per_s"] and theirs["stage_docs_per_s"] else None,
        "wall_speedup": theirs["wall_s"] / ours["wall_s"] if ours["wall_s"] else None,
        "stage_wall_speedup": (theirs["stage_wall_s"] / ours["stage_wall_s"]) if ours["stage_wall_s"] and theirs["stage_wall_s"] else None,
    }
    print(f"  ratio ours/{label}: docs/s x{_f(ratio['docs_per_s'], '.2f')} (total wall), x{_f(ratio['stage_docs_per_s'], '.2f')} (stages);"
          f" same input, wall time theirs/ours x{_f(ratio['wall_speedup'], '.2f')} (total), x{_f(ratio['stage_wall_speedup'], '.2f')} (stages)")
    return ratio


def print_agreement(cmp: dict[str, Any], label: str, note: str = "") -> None:
    print(f"  agreement with {label}: |A∩B|/|A∪B| = {cmp['both']}/{cmp['union']} = {100 * cmp['jaccard']:.1f}%"
          f"  (ours {cmp['ours']}, datatrove {cmp['theirs']}; only ours {len(cmp['only_ours'])}, only datatrove {len(cmp['only_theirs'])};"
          f" identical text in {cmp['same_text']}/{cmp['both']} kept by both, e-mails/IPs masked)" + (f"; disagreements: {note}" if note else ""))


def print_disagreements(cmp: dict[str, Any], rows: list[dict[str, Any]], show: int = 12, per_cause: int = 4) -> None:
    """Each disagreement with its diagnosis (``rows``; grouped by cause when there are many), else just the ids."""
    if not rows:
        for i in cmp["only_ours"][:20]:
            print(f"    only ours: {i}")
        for i in cmp["only_theirs"][:20]:
            print(f"    only datatrove: {i}")
        return
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(f"kept by {r['kept_by']} only; cause: {r.get('cause')}", []).append(r)
    many = len(rows) > show
    for head, members in groups.items():
        if many:
            print(f"    {len(members)} x {head}")
        for r in members[: per_cause if many else len(members)]:
            if many:
                print(f"        e.g. {r['id']} {r['url']} (HTTP {r['status']} {r['mime']})")
            else:
                print(f"    kept by {r['kept_by']} only: {r['id']} {r['url']}")
                print(f"        HTTP {r['status']} {r['mime']}; cause: {r.get('cause')}")
    total = len(cmp["only_ours"]) + len(cmp["only_theirs"])
    if total > len(rows):
        print(f"    ... {total - len(rows)} more not diagnosed (see --json)")


# --------------------------------------------------------------------------------------------
# The three measurements
# --------------------------------------------------------------------------------------------

def whole_pipeline(files: list[str], input_spec: str, work: Path, workers: int, label: str, variants: list[bool],
                   diagnose_against: bool | None = False) -> dict[str, Any]:
    from bench.reference import read_extract_shards, run_datatrove_fineweb

    ours = run_ours(input_spec, work / "ours", workers, stages="extract,filter", pipeline=PIPELINE)
    rows = [side_row("ours", ours, "documents_read", "stage_wall_s")]
    dts = {}
    for dedup in variants:
        dt = run_datatrove_fineweb(files, work / f"datatrove_dedup_{str(dedup).lower()}", workers=workers, deduplicate=dedup)
        dt["wall_s"] = dt["process_seconds"]
        dts[dedup] = dt
        rows.append(side_row(f"datatrove (dedup={dedup})", dt, "documents_read", "seconds"))
    print_table(rows, "docs read")
    print_step_seconds(ours, dts)
    result: dict[str, Any] = {"label": label, "files": len(files), "ours": _jsonable(ours), "rows": rows, "datatrove": {}}
    result["cpu_shares"] = print_cpu_shares(ours, dts)
    result["dt_runs"] = dts  # for the fast recipe's comparison (dropped from the JSON below)
    ours_read, dt_read = reader_sets(files)
    common = ours_read & dt_read
    utf8 = common - non_utf8_ids(files)
    print(f"  readers: {len(common)} documents read by both, {len(ours_read - dt_read)} by ours only, "
          f"{len(dt_read - ours_read)} by datatrove only (ours: {reader_rules()}; datatrove: any status + libmagic)")
    result["readers"] = {"both": len(common), "ours_only": sorted(ours_read - dt_read), "datatrove_only": sorted(dt_read - ours_read)}
    traf = next((st for st in ours["per_step"] if st["name"] == "trafilatura"), {"dropped": {}})
    timeouts = {"ours cpu_timeout": traf["dropped"].get("cpu_timeout", 0), "ours wall_timeout": traf["dropped"].get("wall_timeout", 0)}
    for dedup, dt in dts.items():
        timeouts[f"datatrove(dedup={dedup}) timeout"] = _count_step(dt["per_step"], "Trafilatura", "timeout")
    print("  trafilatura time limits: ours, a CPU budget per page (and a hang guard), the same whatever the load; datatrove, "
          "1 s of wall-clock time per page, more timeouts under load: " + ", ".join(f"{k} {v}" for k, v in timeouts.items()))
    result["trafilatura_timeouts"] = timeouts
    screen = next((st for st in ours["per_step"] if st["name"] == "screen"), None)
    if screen:
        print(f"  screens: {screen['docs_in']} pages in, dropped before trafilatura: "
              + (", ".join(f"{k} {v}" for k, v in screen["dropped"].items()) or "none"))
    ours_extracted = None
    shown: list[str] | None = None
    for dedup, dt in dts.items():
        name = f"datatrove(dedup={dedup})"
        ratio = print_ratio(rows[0], next(r for r in rows if r["side"] == f"datatrove (dedup={dedup})"), name)
        cmp = compare(ours["kept"], dt["kept"])
        cmp_common = compare(ours["kept"], dt["kept"], universe=common)
        diag = None
        if diagnose_against is None or diagnose_against == dedup:
            if ours_extracted is None:
                ours_extracted = {d["id"]: d for docs in read_extract_shards(work / "ours" / "extract").values() for d in docs}
            diag = diagnose(cmp, ours["kept"], dt["kept"], ours_extracted, files, ours_drops=ours_drop_reasons(work / "ours"))
        same_as_shown = shown is not None and shown == cmp["only_ours"] + cmp["only_theirs"]
        print_agreement(cmp, name, note="the same documents as above" if same_as_shown else "")
        if not same_as_shown:
            print_disagreements(cmp, diag or [])
            shown = cmp["only_ours"] + cmp["only_theirs"]
        print(f"  agreement with {name} on the documents both readers read: {cmp_common['both']}/{cmp_common['union']}"
              f" = {100 * cmp_common['jaccard']:.1f}%")
        cmp_utf8 = compare(ours["kept"], dt["kept"], universe=utf8)
        identical = not cmp_utf8["only_ours"] and not cmp_utf8["only_theirs"]
        print(f"  agreement with {name} on the UTF-8 pages ({len(utf8)} of the {len(common)} both read): "
              f"{cmp_utf8['both']}/{cmp_utf8['union']} = {100 * cmp_utf8['jaccard']:.1f}%; kept sets identical: {'YES' if identical else 'NO'}")
        result["datatrove"][str(dedup)] = {"run": _jsonable(dt), "ratio": ratio, "agreement": cmp,
                                           "agreement_common_input": cmp_common, "agreement_utf8": cmp_utf8,
                                           "utf8_identical": identical, "disagreements": diag}
    return result


def fast_recipe(input_spec: str, work: Path, workers: int, dt: dict[str, Any], label: str) -> dict[str, Any]:
    """pipelines/fineweb-fast.yaml (resiliparse + FineWeb's filters) on the same input as datatrove's run ``dt``."""
    fast = run_ours(input_spec, work / "fast", workers, stages="extract,filter", pipeline=FAST_PIPELINE)
    rows = [side_row("ours, fineweb-fast.yaml", fast, "documents_read", "stage_wall_s"),
            side_row("datatrove (dedup=False)", dt, "documents_read", "seconds")]
    print_table(rows, "docs read")
    ratio = print_ratio(rows[0], rows[1], "datatrove FineWeb")
    shares = cpu_shares(fast["per_step"])
    print("  where the time goes (ours, fast): " + ", ".join(f"{n} {100 * f:.0f}%" for n, _, f in shares if f >= 0.005))
    cmp = compare(fast["kept"], dt["kept"])
    print(f"  kept: fast {cmp['ours']}, datatrove FineWeb {cmp['theirs']}, both {cmp['both']} "
          f"(a different extractor keeps different text: not expected to agree)")
    return {"label": label, "ours": _jsonable(fast), "rows": rows, "ratio": ratio, "cpu_shares": shares,
            "kept_overlap": {k: cmp[k] for k in ("ours", "theirs", "both", "union", "jaccard")}}


def extraction_quality() -> dict[str, Any]:
    """Word-level F1 and documents per CPU-second of trafilatura (FineWeb's settings) and resiliparse (DCLM's call)."""
    from curation.evaluate import evaluate_extraction

    ext = evaluate_extraction()
    out = {}
    for setting, name in (("ours", "trafilatura (FineWeb's settings)"), ("resiliparse", "resiliparse (DCLM's call)")):
        real = ext["summary"][setting]["real"]
        out[setting] = {"name": name, "macro_f1": real["macro"]["f1"], "micro_f1": real["micro"]["f1"], "pages": real["pages"],
                        "docs_per_cpu_second": ext["docs_per_cpu_second"][setting]}
        print(f"  {name:34} word-level F1 on the {real['pages']} real test pages: macro {real['macro']['f1']:.3f}, "
              f"micro {real['micro']['f1']:.3f}; {ext['docs_per_cpu_second'][setting]:,.0f} docs per CPU-second (all 130 pages)")
    return out


def print_summary(report: dict[str, Any]) -> None:
    """The headline figures, in one place."""
    print("\nsummary")

    def fineweb(key: str, what: str) -> None:
        r = report.get(key)
        if not r:
            return
        ratio = r["datatrove"]["False"]["ratio"]
        ident = r["datatrove"]["False"]
        print(f"  FineWeb recipe, {what}: total wall time datatrove/ours x{_f(ratio['wall_speedup'], '.2f')} "
              f"(stages x{_f(ratio['stage_wall_speedup'], '.2f')}); kept sets on UTF-8 pages "
              f"{'identical' if ident['utf8_identical'] else 'DIFFER'} ({ident['agreement_utf8']['both']}/{ident['agreement_utf8']['union']})")

    fineweb("whole", "input WARCs")
    fineweb("mixed", "language-mixed corpus")
    fineweb("many_files", "many files")
    for key, what in (("fast", "input WARCs"), ("fast_mixed", "language-mixed corpus")):
        r = report.get(key)
        if r:
            print(f"  fast recipe, {what}: docs/s ours/datatrove x{_f(r['ratio']['docs_per_s'], '.2f')} (total wall), "
                  f"x{_f(r['ratio']['stage_docs_per_s'], '.2f')} (stages)")
    q = report.get("extraction_quality")
    if q:
        print("  extraction: " + "; ".join(f"{v['name']} F1 {v['micro_f1']:.3f} micro / {v['macro_f1']:.3f} macro, "
                                          f"{v['docs_per_cpu_second']:,.0f} docs per CPU-second" for v in q.values()))
    sc = report.get("screens")
    if sc:
        print(f"  screens: {sc['both']}/{sc['union']} = {100 * sc['agreement']:.2f}% of the kept documents the same over "
              f"{sc['pages']} real pages; {len(sc['only_screened']) + len(sc['only_unscreened'])} differences")
    for key in ("whole", "mixed"):
        r = report.get(key)
        if r:
            print(f"  where the time goes ({key}, ours): " + ", ".join(f"{n} {100 * f:.0f}%" for n, _, f in r["cpu_shares"]["ours"] if f >= 0.005))


def filter_only(work: Path, extract_dir: Path, workers: int) -> dict[str, Any]:
    from bench.reference import run_datatrove_filters

    ours_out = work / "ours"
    shutil.rmtree(ours_out, ignore_errors=True)
    ours_out.mkdir(parents=True)
    shutil.copytree(extract_dir, ours_out / "extract")
    ours = run_ours(None, ours_out, workers, stages="filter")
    dt = run_datatrove_filters(extract_dir, work / "datatrove", workers=workers)
    dt["wall_s"] = dt["process_seconds"]
    rows = [side_row("ours (filter stage)", ours, "filter_docs_in", "stage_wall_s"),
            side_row("datatrove (filters)", dt, "documents_in", "seconds")]
    print_table(rows, "docs in")
    ratio = print_ratio(rows[0], rows[1], "datatrove")
    cmp = compare(ours["kept"], dt["kept"])
    identical = not cmp["only_ours"] and not cmp["only_theirs"]
    print(f"  decisions identical: {'YES' if identical else 'NO'}; kept texts identical: "
          f"{'YES' if cmp['same_text'] == cmp['both'] else 'NO'} ({cmp['same_text']}/{cmp['both']} with e-mails/IPs masked, "
          f"{cmp['same_text_exact']} byte for byte: ours runs pii_formatter at the end of its filter stage)")
    diag = None
    if not identical:
        extracted = {d_id: d for d_id, d in read_parquet_docs(extract_dir / "shards").items()}
        diag = []
        from bench.reference import filter_steps

        dt_steps, our_steps = filter_steps(), our_filter_steps()
        for doc_id in cmp["only_ours"] + cmp["only_theirs"]:
            d = extracted[doc_id]
            diag.append({"id": doc_id, "url": d["url"], "kept_by": "ours" if doc_id in cmp["only_ours"] else "datatrove",
                         "datatrove": datatrove_verdict(dt_steps, doc_id, d["text"], d["url"]),
                         "ours": our_verdict(our_steps, doc_id, d["text"], d["url"])})
        for r in diag[:40]:
            print(f"    kept by {r['kept_by']} only: {r['id']} {r['url']}\n        datatrove -> {r['datatrove']}; ours -> {r['ours']}")
    return {"ours": _jsonable(ours), "datatrove": _jsonable(dt), "rows": rows, "ratio": ratio, "agreement": cmp,
            "identical": identical, "disagreements": diag}


def _jsonable(r: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in r.items():
        if k in ("kept", "stats"):
            continue
        out[k] = sorted(v) if isinstance(v, set) else v
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="our pipeline against datatrove's FineWeb recipe, on the same input")
    p.add_argument("--input", help="folder of WARC files (default: $CURATION_SHARED_DATA/warc, else the bundled sample)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="smaller many-files corpus (10 files unless --many-files is given)")
    p.add_argument("--skip-many-files", action="store_true", help="skip measurement 3")
    p.add_argument("--many-files", type=int, help="files in the many-files corpus (default 50, --quick: 10)")
    p.add_argument("--pages-per-file", type=int, default=40,
                   help="pages per file in the many-files corpus (default 40, so that the bench takes ~10 minutes on 2 "
                        "cores; 200 makes the corpus 5x larger and the bench ~3x longer)")
    p.add_argument("--skip-mixed", action="store_true", help="skip measurement 4 (the language-mixed corpus)")
    p.add_argument("--mixed-files", type=int, help="files in the language-mixed corpus (default 20, --quick: 6)")
    p.add_argument("--mixed-pages-per-file", type=int, help="pages per file in the language-mixed corpus (default 100, --quick: 50)")
    p.add_argument("--english-share", type=float, default=0.45, help="share of English pages in the mixed corpus (Common Crawl: ~0.45)")
    p.add_argument("--skip-fast", action="store_true", help="skip measurement 5 (the fast recipe)")
    p.add_argument("--skip-screens", action="store_true", help="skip measurement 6 (the screens' agreement on every real page)")
    p.add_argument("--json", help="write every number to this JSON file")
    p.add_argument("--work", default=str(REPO_ROOT / "bench_output"), help="work folder (default bench_output/)")
    args = p.parse_args(argv)

    missing = missing_dependencies()
    if missing:
        print("error: the datatrove reference needs: " + "; ".join(missing), file=sys.stderr)
        return 2
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = time.perf_counter()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("whole", "filter_only", "many_files", "corpus", "mixed", "mixed_corpus"):
        shutil.rmtree(work / sub, ignore_errors=True)

    if args.input:
        input_dir = Path(args.input).resolve()
        source = "given"
    elif default_input().is_dir():
        input_dir, source = default_input().resolve(), "real WARCs ($CURATION_SHARED_DATA/warc)"
    else:
        input_dir, source = sample_input(work), "bundled sample (curation.sample, damaged record removed); real WARCs not found"
    from bench.reference import resolve_warcs

    files = resolve_warcs(str(input_dir))
    report: dict[str, Any] = {"input": str(input_dir), "workers": args.workers, "files": files}
    print(f"curation vs datatrove {_dt_version()}, FineWeb recipe, {args.workers} workers, {os.cpu_count()} CPUs")
    print(f"input: {input_dir} ({source}; {input_summary(files)})")
    print(DOCS_PER_S_DEFINITION)
    print("Ray start-up: included in 'wall total' of ours (once per CLI run), excluded from 'wall stages'.")
    print("ours = `curation run pipelines/fineweb.yaml --stages extract,filter` (its filter stage ends with pii_formatter);"
          " datatrove = bench/reference.py (examples/fineweb.py up to its JsonlWriter, offline).")

    print(f"machine: {load_note()} before the runs (other processes on the machine skew every timing)")
    print("\n1. whole pipeline (read -> extract -> filter)")
    report["whole"] = whole_pipeline(files, str(input_dir), work / "whole", args.workers, "input", [True, False], diagnose_against=None)
    print(f"  ({load_note()})")

    if not args.skip_fast:
        print("\n1b. fast recipe (pipelines/fineweb-fast.yaml: resiliparse + FineWeb's filters) on the same input")
        report["fast"] = fast_recipe(str(input_dir), work / "whole", args.workers, report["whole"]["dt_runs"][False], "input")
        print(f"  ({load_note()})")

    print("\n2. filter stage only (LanguageFilter .. FineWebQualityFilter), on our extract output as input for both")
    report["filter_only"] = filter_only(work / "filter_only", work / "whole" / "ours" / "extract", args.workers)
    print(f"  ({load_note()})")

    if not args.skip_mixed and not args.input and default_input().is_dir():
        from bench.corpus import build_mixed_corpus

        mixed_dir = work / "mixed_corpus"
        manifest = build_mixed_corpus(mixed_dir, args.mixed_files or (6 if args.quick else 20),
                                      args.mixed_pages_per_file or (50 if args.quick else 100), args.english_share,
                                      source=default_input())
        mixed_files = resolve_warcs(str(mixed_dir))
        print(f"\n4. language-mixed corpus: {manifest['files']} WARC files x {manifest['pages_per_file']} real pages, "
              f"{100 * manifest['english_share']:.0f}% English ({manifest['distinct_english']} distinct English pages, "
              f"{manifest['distinct_other']} in other languages; corpus mix: "
              + ", ".join(f"{k} {v}" for k, v in manifest["languages_in_corpus"].items())
              + f"; {manifest['bytes'] / 1e6:.1f} MB); datatrove with deduplicate=False (pages repeat)")
        report["mixed"] = whole_pipeline(mixed_files, str(mixed_dir), work / "mixed", args.workers, "language-mixed",
                                         [False], diagnose_against=False)
        report["mixed"]["corpus"] = manifest
        print(f"  ({load_note()})")
        if not args.skip_fast:
            print("\n4b. fast recipe on the language-mixed corpus")
            report["fast_mixed"] = fast_recipe(str(mixed_dir), work / "mixed", args.workers, report["mixed"]["dt_runs"][False],
                                               "language-mixed")
            print(f"  ({load_note()})")

    if not args.skip_many_files:
        from bench.corpus import build_corpus

        n_files = args.many_files or (10 if args.quick else 50)
        corpus_dir = work / "corpus"
        source_dir = input_dir if not default_input().is_dir() or args.input else default_input()
        manifest = build_corpus(corpus_dir, n_files, args.pages_per_file, source=source_dir)
        corpus_files = resolve_warcs(str(corpus_dir))
        print(f"\n3. many files: {manifest['files']} WARC files x {manifest['pages_per_file']} pages "
              f"({manifest['distinct_pages']} distinct pages, {manifest['bytes'] / 1e6:.1f} MB); "
              "datatrove with deduplicate=False (pages repeat, so trafilatura's dedup cache would strip them)")
        report["many_files"] = whole_pipeline(corpus_files, str(corpus_dir), work / "many_files", args.workers, "many files",
                                              [False], diagnose_against=False)
        report["many_files"]["corpus"] = manifest
        print(f"  ({load_note()})")

    if not args.skip_fast:
        print("\n5. extraction quality and cost on the real extraction test pages (curation eval)")
        report["extraction_quality"] = extraction_quality()

    if not args.skip_screens:
        from bench.bench_screens import measure as screens_measure
        from bench.bench_screens import report as screens_report

        print("\n6. the screens: every real page through fineweb.yaml with and without its screen step (bench/bench_screens.py)")
        report["screens"] = screens_measure(PIPELINE)
        screens_report(report["screens"])
        print(f"  ({load_note()})")

    print_summary(report)
    for r in report.values():
        if isinstance(r, dict):
            r.pop("dt_runs", None)
    total = time.perf_counter() - started
    report["bench_seconds"] = total
    print(f"\nbench wall time: {total:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
        print(f"numbers written to {args.json}")
    return 0


def _dt_version() -> str:
    from importlib.metadata import version

    return version("datatrove")


if __name__ == "__main__":
    sys.exit(main())
