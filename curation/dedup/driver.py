"""The dedup stage's driver: plans the run, schedules each phase (``curation.dedup.phases``) as tasks,
resumes where a killed run stopped, and writes ``clusters.json``."""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from typing import Any

from curation.context import StageContext, StageResult
from curation.dedup import storage as st
from curation.dedup.phases import (
    PHASES,
    PLAN_VERSION,
    Paths,
    Settings,
)
from curation.errors import CurationError, InputError
from curation.io.fs import filesystem, list_files
from curation.io.shards import count_documents
from curation.layout import StageLayout
from curation.stats import StageStats
from curation.tasks import Task, TaskFailed, error_text, run_tasks

log = logging.getLogger(__name__)


def _input_shards(source: StageLayout) -> list[dict[str, Any]]:
    """The previous stage's finished shards, sorted by name, with their document counts and sizes."""
    shards = []
    files = source.shard_files()
    for m in source.markers():
        name = m["shard"]
        shard_url = source.find_shard(name, files)
        fs, path = filesystem(shard_url)
        try:
            size = fs.size(path)
        except FileNotFoundError:
            raise InputError(f"{shard_url} is marked done but does not exist: rerun the stage before dedup") from None
        docs = m.get("documents")
        if docs is None:
            docs = count_documents(shard_url)
        shards.append({"name": name, "input": shard_url, "documents": int(docs), "bytes": int(size)})
    if not shards:
        raise InputError(f"the dedup stage reads {source.dir}, which has no finished shard: run the stage before it first")
    shards.sort(key=lambda r: r["name"])
    if len(shards) >= 1 << 31:
        raise CurationError("too many shards for 32-bit shard numbers")
    return shards


def missing_markers(marker_urls: list[str]) -> list[int]:
    """Positions of the markers that do not exist (one listing per folder)."""
    by_folder: dict[str, list[tuple[int, str]]] = {}
    for k, u in enumerate(marker_urls):
        folder, name = u.rsplit("/", 1)
        by_folder.setdefault(folder, []).append((k, name))
    missing = []
    for folder, items in by_folder.items():
        have = {x.rsplit("/", 1)[-1] for x in list_files(folder, ".json")}
        missing += [k for k, n in items if n not in have]
    return sorted(missing)


def run_phase_part(phase: str, input: str, job: dict[str, Any]) -> dict[str, Any]:
    """One part of one phase; a failure names the phase."""
    try:
        return PHASES[phase](**job)
    except Exception as e:
        raise TaskFailed({"input": input, "error": f"{phase}: {error_text(e)}"}) from e


def run_dedup(ctx: StageContext) -> StageResult:
    """Exact and/or MinHash de-duplication of the previous stage's shards, across all of them."""
    started = time.perf_counter()
    settings = Settings.from_stage(ctx.stage)
    layout = ctx.layout
    paths = Paths(layout)
    shards = _input_shards(ctx.input_layout())
    total_docs = sum(r["documents"] for r in shards)
    partitions = max(1, math.ceil(total_docs * settings.keys_per_doc / settings.bucket_rows))
    plan = {
        "version": PLAN_VERSION,
        "fingerprint": ctx.stage.fingerprint(),
        "settings": settings.to_dict(),
        "partitions": partitions,
        "documents": total_docs,
        "shards": [{k: r[k] for k in ("name", "documents", "bytes")} for r in shards],  # not paths: the output may move
    }
    plan = json.loads(json.dumps(plan))  # as it reads back from plan.json
    old = st.read_json_or_none(paths.plan())
    if old is not None and old != plan and not ctx.force:
        log.warning("dedup: the input shards or the settings changed since %s was started: starting over", layout.dir)
    if ctx.force or old != plan:  # (no plan: whatever is there was not made by this runner's plan)
        layout.remove()
    layout.clean_temporaries()
    layout.remove("_failed")
    st.write_json(paths.plan(), plan)

    names = [r["name"] for r in shards]
    done_before = layout.done_names() & set(names)
    result = StageResult(ctx.stage.name, len(shards), len(done_before))
    sd = settings.to_dict()

    def run(phase: str, jobs: list[tuple[str, str, dict[str, Any]]]) -> bool:
        """jobs: (task name, what it reads, the phase function's arguments)."""
        tasks = [Task(name, functools.partial(run_phase_part, phase, what, {"layout": layout, **job}), (), what, layout, attempts=f"{phase}/{name}")
                 for name, what, job in jobs]
        failures = run_tasks(ctx.executor, tasks, desc=f"dedup:{phase}", progress=ctx.progress)
        result.shards_failed += failures
        return not failures

    def per_shard(done: list[str], **extra: Any) -> list[tuple[str, str, dict[str, Any]]]:
        return [(shards[i]["name"], shards[i]["input"], {"index": i, "input": shards[i]["input"], "settings": sd, **extra}) for i in missing_markers(done)]

    worked = len(done_before) < len(shards)
    if worked:
        n = len(shards)
        ok = run("sign", per_shard([paths.sign_done(i) for i in range(n)], partitions=partitions))
        ok = ok and run("bucket", [(f"partition-{p:05d}", f"bucket {p}", {"partition": p, "shards": n, "settings": sd})
                                   for p in missing_markers([paths.bucket_done(p) for p in range(partitions)])])
        if ok and settings.minhash_label and settings.verify:
            ok = run("verify_a", per_shard([paths.sketches_done(i) for i in range(n)], partitions=partitions))
            ok = ok and run("verify_b", per_shard([paths.edges_done(i) for i in range(n)], shards=n))
        if ok and missing_markers([paths.cluster_done()]):
            ok = run("cluster", [("cluster", "every pair", {"shards": n, "partitions": partitions, "settings": sd})])
        if ok:
            costs = [st.read_json(paths.bucket_done(p)) for p in range(partitions)] + [st.read_json(paths.cluster_done())]
            global_wall, global_cpu = sum(c["wall"] for c in costs), sum(c["cpu"] for c in costs)
            done_now = layout.done_names()
            run("filter", [
                (r["name"], r["input"], {"index": i, "name": r["name"], "input": r["input"], "settings": sd, "fingerprint": plan["fingerprint"],
                                         "global_costs": {"wall": global_wall, "cpu": global_cpu, "share": r["documents"] / max(total_docs, 1)}})
                for i, r in enumerate(shards) if r["name"] not in done_now
            ])
    result.stats = layout.merge_stats()
    if not result.shards_failed and layout.done_names() >= set(names) and (worked or (not st.exists(paths.clusters_json()) and st.exists(paths.cluster_done()))):
        write_clusters_report(paths, shards, settings, result.stats, partitions)
    result.wall_seconds = time.perf_counter() - started
    return result


def write_clusters_report(paths: Paths, shards: list[dict], settings: Settings, stats: StageStats, partitions: int) -> dict[str, Any]:
    """``OUTPUT/dedup/clusters.json``: counts, cluster-size histograms and sample clusters to check."""
    cluster = st.read_json(paths.cluster_done())
    members: dict[str, dict] = {}
    for i in range(len(shards)):
        members.update(st.read_json_or_none(paths.samples(i)) or {})
    samples = []
    for smp in st.read_json(paths.cluster_samples()):
        samples.append({
            "kind": smp["kind"],
            "size": smp["size"],
            "members": [
                {"kept": g == smp["keeper"], "shard": shards[g >> 32]["name"], "row": g & 0xFFFFFFFF, **members.get(str(g), {})}
                for g in smp["members"]
            ],
        })
    pairs: dict[str, int] = {}
    for p in range(partitions):
        m = st.read_json(paths.bucket_done(p))
        pairs["exact_pairs"] = pairs.get("exact_pairs", 0) + m["exact_pairs"]
        pairs["candidate_pairs_per_bucket"] = pairs.get("candidate_pairs_per_bucket", 0) + m["candidate_pairs"]
    if settings.minhash_label and settings.verify:
        for i in range(len(shards)):
            m = st.read_json(paths.edges_done(i))
            for k in ("candidate_pairs", "verified_pairs", "rejected_pairs"):
                pairs[k] = pairs.get(k, 0) + m[k]
    first = stats.steps[0] if stats.steps else None
    last = stats.steps[-1] if stats.steps else None
    report = {
        "keep_rule": "per cluster, the document with the earliest date (WARC-Date); ties: smallest xxh64(id)",
        "documents_in": first.docs_in if first else 0,
        "documents_out": last.docs_out if last else 0,
        "exact": {k: cluster["summary"][k] for k in ("text", "url") if k in cluster["summary"]},
        "near": cluster["summary"].get("near"),
        "pairs": pairs,
        "settings": settings.to_dict(),
        "samples": samples,
    }
    st.write_json(paths.clusters_json(), report)
    return report

