"""The dedup stage's phases: plain functions, one call per task, over files in ``OUTPUT/dedup/_work``.

See the package docstring (``curation.dedup``) for the design; ``curation.dedup.driver`` schedules
these. Every phase part writes its outputs atomically, then its completion marker, so a rerun
resumes after the last finished part; every computation is deterministic, so a part that is
redone writes what it wrote before. They know nothing of Ray: tests call them directly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from curation.config import StageSpec
from curation.dedup import clusters as cl
from curation.dedup import exact as ex
from curation.dedup import minhash as mh
from curation.dedup import storage as st
from curation.errors import ConfigError
from curation.io.fs import join
from curation.io.shards import read_columns, read_documents
from curation.layout import StageLayout
from curation.stage import RejectedSink, write_shard
from curation.stats import StageStats, StepStats
from curation.tasks import current_attempt

PLAN_VERSION = 1
READ_BATCH = 1000  # documents hashed together
SAMPLE_TEXT_CHARS = 300  # characters of each member shown in clusters.json
KIND_TEXT, KIND_URL, KIND_BAND = 0, 1, 2
# Rows of the remove table: what the filter pass does with a document (a document may have several).
KEEP_TEXT, KEEP_URL, KEEP_NEAR, COPIES = 10, 11, 12, 20
U64 = np.uint64

BAND_SCHEMA = pa.schema([("kind", pa.uint8()), ("key", pa.uint64()), ("key2", pa.uint64()), ("gdoc", pa.uint64()), ("prio", pa.uint64())])
EXACT_EDGE_SCHEMA = pa.schema([("kind", pa.uint8()), ("a", pa.uint64()), ("b", pa.uint64()), ("pa", pa.uint64()), ("pb", pa.uint64())])
PAIR_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64()), ("pa", pa.uint64()), ("pb", pa.uint64())])
SKETCH_SCHEMA = pa.schema([*PAIR_SCHEMA, ("sketch", pa.list_(pa.uint32()))])
EDGE_SCHEMA = pa.schema([*PAIR_SCHEMA, ("sim", pa.float32())])
# value: the cluster size (KEEP_*) or the number of removed copies (COPIES); keeper: the document kept instead (DROP_*)
REMOVE_SCHEMA = pa.schema([("gdoc", pa.uint64()), ("code", pa.uint8()), ("value", pa.uint32()), ("keeper", pa.uint64())])


# ----------------------------------------------------------------------------------------------
# Settings and paths
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The stage's steps, reduced to what the phases need (travels to tasks as a dict)."""

    labels: tuple[str, ...]  # step labels in pipeline order
    exact_label: str | None = None
    exact_on: tuple[str, ...] = ()
    exact_normalize: bool = True
    minhash_label: str | None = None
    ngrams: int = 5
    bands: int = 14
    rows: int = 8
    threshold: float = 0.8
    verify: bool = True
    verify_method: str = "exact"
    seed: int = 1
    scheme: str = "datasketch"
    bucket_rows: int = 2_000_000
    by_language: bool = False  # band keys salted with the document's language (FineWeb-2)
    cluster_size: bool = False  # minhash_cluster_size on kept documents
    keep_rejected: bool = False  # the removed documents go to OUTPUT/dedup/rejected/ with their reason

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def keys_per_doc(self) -> int:
        return len(self.exact_on) + (self.bands if self.minhash_label else 0)

    @classmethod
    def from_stage(cls, stage: StageSpec) -> "Settings":
        kw: dict[str, Any] = {"labels": tuple(s.label for s in stage.steps)}
        rows = []
        for spec in stage.steps:
            p = spec.params.model_dump()
            if spec.name == "exact_dedup" and "exact_label" not in kw:
                kw.update(exact_label=spec.label, exact_on=tuple(p["on"]), exact_normalize=p["normalize"])
                rows.append(p["bucket_rows"])
            elif spec.name == "minhash_dedup" and "minhash_label" not in kw:
                if "exact_label" not in kw and any(s.name == "exact_dedup" for s in stage.steps):
                    raise ConfigError(f"stage {stage.name!r}: list exact_dedup before minhash_dedup (exact copies are removed first)")
                keys = ("ngrams", "bands", "rows", "threshold", "verify", "verify_method", "seed", "scheme", "by_language", "cluster_size")
                kw.update(minhash_label=spec.label, **{k: p[k] for k in keys})
                rows.append(p["bucket_rows"])
            else:
                raise ConfigError(
                    f"stage {stage.name!r}: step {spec.label!r} cannot run here; the dedup stage takes "
                    "exact_dedup and/or minhash_dedup, each at most once"
                )
        if not rows:
            raise ConfigError(f"stage {stage.name!r} has no step: add exact_dedup and/or minhash_dedup")
        kw["bucket_rows"] = min(rows)
        kw["keep_rejected"] = stage.keep_rejected
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Settings":
        d = dict(d)
        d["labels"], d["exact_on"] = tuple(d["labels"]), tuple(d["exact_on"])
        return cls(**d)


class Paths:
    """The dedup stage's own files, in its stage folder (``curation.layout``)."""

    def __init__(self, layout: StageLayout):
        self.layout = layout

    def plan(self) -> str:
        return join(self.layout.dir, "plan.json")

    def sign(self, i: int) -> str:
        return self.layout.work("sign", f"{i:06d}.parquet")

    def sign_done(self, i: int) -> str:
        return self.layout.work("sign", "_done", f"{i:06d}.json")

    def exact_edges(self, p: int) -> str:
        return self.layout.work("bucket", f"exact-{p:05d}.parquet")

    def candidates(self, p: int) -> str:
        return self.layout.work("bucket", f"pairs-{p:05d}.parquet")

    def bucket_done(self, p: int) -> str:
        return self.layout.work("bucket", "_done", f"{p:05d}.json")

    def sketches(self, i: int) -> str:
        return self.layout.work("verify_a", f"{i:06d}.parquet")

    def sketches_done(self, i: int) -> str:
        return self.layout.work("verify_a", "_done", f"{i:06d}.json")

    def edges(self, i: int) -> str:
        return self.layout.work("verify_b", f"{i:06d}.parquet")

    def edges_done(self, i: int) -> str:
        return self.layout.work("verify_b", "_done", f"{i:06d}.json")

    def remove(self) -> str:
        return self.layout.work("cluster", "remove.parquet")

    def cluster_samples(self) -> str:
        return self.layout.work("cluster", "samples.json")

    def cluster_done(self) -> str:
        return self.layout.work("cluster", "_done.json")

    def samples(self, i: int) -> str:
        return self.layout.work("samples", f"{i:06d}.json")

    def clusters_json(self) -> str:
        return join(self.layout.dir, "clusters.json")


def _iter_columns(url: str, columns: list[str]):
    return read_columns(url, columns, READ_BATCH)


def _finish(marker_url: str, marker: dict[str, Any], timer: st.Timer, mem: st.PeakMemory) -> dict[str, Any]:
    marker.update(wall=round(timer.wall, 4), cpu=round(timer.cpu, 4), peak_rss_mb=mem.peak_mb, rss_growth_mb=mem.delta_mb)
    st.write_json(marker_url, marker)
    return marker


# ----------------------------------------------------------------------------------------------
# Phase 1: sign (one task per input shard)
# ----------------------------------------------------------------------------------------------


def phase_sign(layout: StageLayout, index: int, input: str, partitions: int, settings: dict) -> dict[str, Any]:
    """Hash every document of one shard into keys: exact text/URL keys and one key per MinHash band.

    Writes ``sign/<i>.parquet``: rows ``(kind, key, key2, gdoc, prio)`` routed by ``key % partitions``.
    """
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    with st.PeakMemory() as mem:
        parts: list[dict[str, np.ndarray]] = []
        seen_text: set[tuple[int, int]] = set()
        t_exact = t_minhash = 0.0
        row = no_shingles = skipped_copies = 0
        for cols in _iter_columns(input, ["id", "url", "date", "text", *(["language"] if s.by_language else [])]):
            n = len(cols["id"])
            if n == 0:
                continue
            texts = [t or "" for t in cols["text"]]
            gdoc = (U64(index) << U64(32)) + np.arange(row, row + n, dtype=np.uint64)
            prio = np.fromiter((cl.priority(i or "", d) for i, d in zip(cols["id"], cols["date"])), dtype=np.uint64, count=n)
            t0 = time.perf_counter()
            need_sig = np.ones(n, dtype=bool)
            if "text" in s.exact_on:
                hi, lo = ex.text_keys(texts, s.exact_normalize)
                parts.append(_rows(KIND_TEXT, lo, hi, gdoc, prio))
                # A second copy of a text in this shard has the same shingles: the exact stage maps
                # it to its representative, so its MinHash is not needed.
                for k, key in enumerate(zip(hi.tolist(), lo.tolist())):
                    if key in seen_text:
                        need_sig[k] = False
                    else:
                        seen_text.add(key)
            if "url" in s.exact_on:
                has_url = np.array([bool(u) for u in cols["url"]], dtype=bool)
                if has_url.any():
                    hi, lo = ex.keys128([u for u in cols["url"] if u])
                    parts.append(_rows(KIND_URL, lo, hi, gdoc[has_url], prio[has_url]))
            t1 = time.perf_counter()
            if s.minhash_label:
                todo = np.flatnonzero(need_sig)
                skipped_copies += n - len(todo)
                sig, has = mh.signatures([texts[k] for k in todo], s.ngrams, s.num_perm, s.seed, s.scheme)
                no_shingles += int((~has).sum())
                keys = mh.band_keys(sig[has], s.bands, s.rows)
                sel = todo[has]
                if s.by_language:
                    keys = mh.language_band_keys(keys, [cols["language"][k] for k in sel.tolist()])
                parts.append(_rows(KIND_BAND, keys.ravel(), np.zeros(keys.size, dtype=np.uint64), np.repeat(gdoc[sel], s.bands), np.repeat(prio[sel], s.bands)))
            t_exact += t1 - t0
            t_minhash += time.perf_counter() - t1
            row += n
        table = _table(parts)
        st.write_routed(paths.sign(index), table, (table.column("key").to_numpy() % U64(partitions)).astype(np.int64))
    marker = {
        "shard": index,
        "documents": row,
        "keys": len(table),
        "no_shingles": no_shingles,
        "exact_copies_not_signed": skipped_copies,
        "seconds_exact": round(t_exact, 4),
        "seconds_minhash": round(t_minhash, 4),
    }
    return _finish(paths.sign_done(index), marker, timer, mem)


def _rows(kind: int, key: np.ndarray, key2: np.ndarray, gdoc: np.ndarray, prio: np.ndarray) -> dict[str, np.ndarray]:
    return {"kind": np.full(len(key), kind, dtype=np.uint8), "key": key, "key2": key2, "gdoc": gdoc, "prio": prio}


def _table(parts: list[dict[str, np.ndarray]]) -> pa.Table:
    if not parts:
        return BAND_SCHEMA.empty_table()
    return pa.table({name: np.concatenate([p[name] for p in parts]) for name in BAND_SCHEMA.names}, schema=BAND_SCHEMA)


# ----------------------------------------------------------------------------------------------
# Phase 2: bucket (one task per partition of the keys)
# ----------------------------------------------------------------------------------------------


def _group_edges(order: np.ndarray, new_group: np.ndarray, chain: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edges within groups of a sorted sequence: each member to the group's first (a star), plus
    each member to the one before it when ``chain``. Returns element indices ``(x, y)``."""
    n = len(order)
    if n == 0:
        return order, order
    gid = np.cumsum(new_group) - 1
    first = np.flatnonzero(new_group)[gid]
    pos = np.arange(n)
    star = pos != first
    x, y = [order[first[star]]], [order[pos[star]]]
    if chain:
        link = np.zeros(n, dtype=bool)
        link[1:] = (gid[1:] == gid[:-1]) & (pos[:-1] != first[1:])
        x.append(order[pos[link] - 1])
        y.append(order[pos[link]])
    return np.concatenate(x), np.concatenate(y)


def _new_group(*sorted_keys: np.ndarray) -> np.ndarray:
    n = len(sorted_keys[0])
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
        for k in sorted_keys:
            new[1:] |= k[1:] != k[:-1]
    return new


def phase_bucket(layout: StageLayout, partition: int, shards: int, settings: dict) -> dict[str, Any]:
    """Gather one partition of every shard's keys; documents sharing a key become pairs.

    Exact keys give exact pairs (each copy to the group's first by priority). Band keys give
    candidate pairs: the same star, plus a chain through the group when pairs are verified (so a
    member that fails verification against the first can still join through its neighbour).
    """
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    with st.PeakMemory() as mem:
        t = st.concat([st.read_routed(paths.sign(i), partition) for i in range(shards)], BAND_SCHEMA)
        kind, key, key2 = st.col(t, "kind", np.uint8), st.col(t, "key"), st.col(t, "key2")
        gdoc, prio = st.col(t, "gdoc"), st.col(t, "prio")
        del t
        # exact: group by (kind, key, key2), first = smallest (prio, gdoc)
        ex_idx = np.flatnonzero(kind != KIND_BAND)
        order = ex_idx[np.lexsort((gdoc[ex_idx], prio[ex_idx], key2[ex_idx], key[ex_idx], kind[ex_idx]))]
        x, y = _group_edges(order, _new_group(kind[order], key[order], key2[order]), chain=False)
        exact = pa.table({"kind": kind[x], "a": gdoc[x], "b": gdoc[y], "pa": prio[x], "pb": prio[y]}, schema=EXACT_EDGE_SCHEMA)
        st.write_routed(paths.exact_edges(partition), exact, np.zeros(len(exact), dtype=np.int64))
        # near: group by key
        bd_idx = np.flatnonzero(kind == KIND_BAND)
        order = bd_idx[np.lexsort((gdoc[bd_idx], prio[bd_idx], key[bd_idx]))]
        new = _new_group(key[order])
        groups = int(new.sum())
        x, y = _group_edges(order, new, chain=s.verify)
        a, b = np.minimum(gdoc[x], gdoc[y]), np.maximum(gdoc[x], gdoc[y])
        swap = gdoc[x] > gdoc[y]
        pa_, pb_ = np.where(swap, prio[y], prio[x]), np.where(swap, prio[x], prio[y])
        keep = a != b
        a, b, pa_, pb_ = a[keep], b[keep], pa_[keep], pb_[keep]
        o = np.lexsort((b, a))
        a, b, pa_, pb_ = a[o], b[o], pa_[o], pb_[o]
        uniq = _new_group(a, b)
        pairs = pa.table({"a": a[uniq], "b": b[uniq], "pa": pa_[uniq], "pb": pb_[uniq]}, schema=PAIR_SCHEMA)
        st.write_routed(paths.candidates(partition), pairs, cl.shard_of(pairs.column("a").to_numpy()))
    marker = {
        "partition": partition,
        "keys": int(len(kind)),
        "exact_pairs": len(exact),
        "band_groups": groups,
        "band_groups_multi": int(np.count_nonzero(np.diff(np.r_[np.flatnonzero(new), len(new)]) > 1)) if len(new) else 0,
        "candidate_pairs": len(pairs),
    }
    return _finish(paths.bucket_done(partition), marker, timer, mem)


# ----------------------------------------------------------------------------------------------
# Phase 3: verify (two tasks per shard: attach the first document's sketch, then compare)
# ----------------------------------------------------------------------------------------------


def _sketches(input: str, rows: np.ndarray, s: Settings) -> dict[int, np.ndarray]:
    """For the given rows of a shard: sorted unique shingle hashes (exact) or the signature (estimate)."""
    out: dict[int, np.ndarray] = {}
    if len(rows) == 0:
        return out
    start = 0
    for cols in _iter_columns(input, ["text"]):
        n = len(cols["text"])
        lo, hi = np.searchsorted(rows, [start, start + n])
        want = rows[lo:hi]
        if len(want):
            texts = [cols["text"][r - start] or "" for r in want]
            if s.verify_method == "exact":
                for r, h in zip(want.tolist(), mh.shingle_sets(texts, s.ngrams, s.scheme)):
                    out[r] = h
            else:
                sig, _ = mh.signatures(texts, s.ngrams, s.num_perm, s.seed, s.scheme)
                if sig.dtype == np.uint64:
                    sig = mh.fold32(sig)
                for r, g in zip(want.tolist(), sig):
                    out[r] = g
        start += n
    return out


def phase_verify_a(layout: StageLayout, index: int, input: str, partitions: int, settings: dict) -> dict[str, Any]:
    """Candidate pairs whose first document is in this shard: attach its sketch, route to the second's shard."""
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    with st.PeakMemory() as mem:
        t = st.concat([st.read_routed(paths.candidates(p), index) for p in range(partitions)], PAIR_SCHEMA)
        a, b, pa_, pb_ = (st.col(t, c) for c in ("a", "b", "pa", "pb"))
        del t
        o = np.lexsort((b, a, cl.shard_of(b)))  # by destination shard, then a, then b
        a, b, pa_, pb_ = a[o], b[o], pa_[o], pb_[o]
        uniq = _new_group(a, b)  # the same pair found in several partitions
        a, b, pa_, pb_ = a[uniq], b[uniq], pa_[uniq], pb_[uniq]
        dest = cl.shard_of(b)
        sketches = _sketches(input, np.unique(cl.row_of(a)), s)
        # The sketch of ``a`` is stored once per destination; the rows after it that repeat ``a`` hold [].
        first = _new_group(dest, a)
        rows_a = cl.row_of(a)
        lengths = np.zeros(len(a), dtype=np.int64)
        values = []
        for k in np.flatnonzero(first):
            v = sketches[int(rows_a[k])]
            lengths[k] = len(v)
            values.append(v)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        flat = np.concatenate(values).astype(np.uint32) if values else np.zeros(0, dtype=np.uint32)
        sketch = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), pa.array(flat, type=pa.uint32()))
        table = pa.table({"a": a, "b": b, "pa": pa_, "pb": pb_, "sketch": sketch}, schema=SKETCH_SCHEMA)
        st.write_routed(paths.sketches(index), table, dest)
    marker = {"shard": index, "candidate_pairs": len(a), "documents_sketched": len(sketches)}
    return _finish(paths.sketches_done(index), marker, timer, mem)


def phase_verify_b(layout: StageLayout, index: int, input: str, shards: int, settings: dict) -> dict[str, Any]:
    """Candidate pairs whose second document is in this shard: compute its sketch, keep similar pairs."""
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    with st.PeakMemory() as mem:
        a_parts, b_parts, pa_parts, pb_parts, sk_a = [], [], [], [], []
        for i in range(shards):
            t = st.read_routed(paths.sketches(i), index)
            if t is None or len(t) == 0:
                continue
            sk = t.column("sketch").combine_chunks()
            offsets = sk.offsets.to_numpy()
            flat = sk.values.to_numpy()
            lengths = np.diff(offsets)
            current = None
            for k in range(len(t)):
                if lengths[k]:
                    current = flat[offsets[k] : offsets[k + 1]]
                sk_a.append(current)
            for lst, c in ((a_parts, "a"), (b_parts, "b"), (pa_parts, "pa"), (pb_parts, "pb")):
                lst.append(st.col(t, c))
        a = np.concatenate(a_parts) if a_parts else np.zeros(0, dtype=np.uint64)
        b = np.concatenate(b_parts) if b_parts else np.zeros(0, dtype=np.uint64)
        pa_ = np.concatenate(pa_parts) if pa_parts else np.zeros(0, dtype=np.uint64)
        pb_ = np.concatenate(pb_parts) if pb_parts else np.zeros(0, dtype=np.uint64)
        rows_b = cl.row_of(b)
        sketches = _sketches(input, np.unique(rows_b), s)
        sim = np.zeros(len(a), dtype=np.float32)
        if len(a) and s.verify_method == "exact":
            for k in range(len(a)):
                sim[k] = mh.jaccard_exact(sk_a[k], sketches[int(rows_b[k])])
        elif len(a):
            sig_a = np.stack(sk_a)
            sig_b = np.stack([sketches[int(r)] for r in rows_b])
            sim = (sig_a == sig_b).mean(axis=1).astype(np.float32)
        ok = sim >= np.float32(s.threshold) - np.float32(1e-6)
        edges = pa.table({"a": a[ok], "b": b[ok], "pa": pa_[ok], "pb": pb_[ok], "sim": sim[ok]}, schema=EDGE_SCHEMA)
        st.write_routed(paths.edges(index), edges, np.zeros(len(edges), dtype=np.int64))
    marker = {"shard": index, "candidate_pairs": int(len(a)), "verified_pairs": int(ok.sum()), "rejected_pairs": int(len(a) - ok.sum())}
    return _finish(paths.edges_done(index), marker, timer, mem)


# ----------------------------------------------------------------------------------------------
# Phase 4: cluster (one task)
# ----------------------------------------------------------------------------------------------


def phase_cluster(layout: StageLayout, shards: int, partitions: int, settings: dict) -> dict[str, Any]:
    """Join all pairs into clusters, pick each cluster's kept document, write what every shard removes."""
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    with st.PeakMemory() as mem:
        edges: dict[str, tuple[np.ndarray, ...]] = {}
        if s.exact_on:
            t = st.concat([st.read_all(paths.exact_edges(p)) for p in range(partitions)], EXACT_EDGE_SCHEMA)
            kind = st.col(t, "kind", np.uint8)
            for name, k in (("text", KIND_TEXT), ("url", KIND_URL)):
                if name in s.exact_on:
                    m = kind == k
                    edges[name] = tuple(st.col(t, c)[m] for c in ("a", "b", "pa", "pb"))
            del t
        if s.minhash_label:
            if s.verify:
                t = st.concat([st.read_all(paths.edges(i)) for i in range(shards)], EDGE_SCHEMA)
            else:
                t = st.concat([st.read_all(paths.candidates(p)) for p in range(partitions)], PAIR_SCHEMA)
            edges["near"] = tuple(st.col(t, c) for c in ("a", "b", "pa", "pb"))
            del t
        res = cl.resolve(edges)
        gdocs, codes, values = [res.drop_gdoc], [res.drop_code], [np.zeros(len(res.drop_gdoc), dtype=np.uint32)]
        keepers = [res.drop_keeper]
        summary: dict[str, Any] = {}
        samples: list[dict] = []
        for name, code in (("text", KEEP_TEXT), ("url", KEEP_URL), ("near", KEEP_NEAR)):
            if name not in res.stages:
                continue
            c = res.stages[name]
            keep = ~c.removed
            gdocs.append(c.nodes[keep])
            codes.append(np.full(int(keep.sum()), code, dtype=np.uint8))
            values.append(c.size[keep].astype(np.uint32))
            keepers.append(c.nodes[keep])
            sizes = c.cluster_sizes()
            summary[name] = {
                "clusters": int(keep.sum()),
                "documents_in_clusters": int(len(c.nodes)),
                "documents_removed": int(c.removed.sum()),
                "largest_cluster": max(sizes) if sizes else 0,
                "cluster_sizes": {str(k): v for k, v in sizes.items()},
            }
            largest, spread = (5, 15) if name == "near" else (3, 5)
            samples += cl.pick_samples(c, name, largest, spread, members=10)
        kept, copies = np.unique(res.drop_keeper, return_counts=True)
        gdocs.append(kept)
        codes.append(np.full(len(kept), COPIES, dtype=np.uint8))
        values.append(copies.astype(np.uint32))
        keepers.append(kept)
        table = pa.table(
            {"gdoc": np.concatenate(gdocs), "code": np.concatenate(codes), "value": np.concatenate(values), "keeper": np.concatenate(keepers)},
            schema=REMOVE_SCHEMA,
        )
        st.write_routed(paths.remove(), table, cl.shard_of(table.column("gdoc").to_numpy()))
        st.write_json(paths.cluster_samples(), samples)
    marker = {"pairs": {k: int(len(v[0])) for k, v in edges.items()}, "summary": summary, "documents_removed": int(len(res.drop_gdoc))}
    return _finish(paths.cluster_done(), marker, timer, mem)


# ----------------------------------------------------------------------------------------------
# Phase 5: filter (one task per shard)
# ----------------------------------------------------------------------------------------------


def phase_filter(
    layout: StageLayout, index: int, name: str, input: str, settings: dict, fingerprint: str, global_costs: dict[str, float]
) -> dict[str, Any]:
    """Copy one shard without its removed documents; write its statistics and completion marker."""
    s = Settings.from_dict(settings)
    paths = Paths(layout)
    timer = st.Timer()
    actions: dict[int, list[tuple[int, int]]] = {}
    t = st.read_routed(paths.remove(), index)
    if t is not None:
        for g, c, v in zip(cl.row_of(st.col(t, "gdoc")).tolist(), t.column("code").to_pylist(), t.column("value").to_pylist()):
            actions.setdefault(g, []).append((c, v))
    wanted = {g for smp in st.read_json(paths.cluster_samples()) for g in smp["members"] if (g >> 32) == index}
    found: dict[str, dict] = {}
    stats: dict[str, StepStats] = {}
    if s.exact_label:
        stats["exact"] = StepStats(s.exact_label, bins=ex.ExactDedup.histogram_bins())
    if s.minhash_label:
        stats["near"] = StepStats(s.minhash_label, bins=mh.MinhashDedup.histogram_bins())
    exact_st, near_st = stats.get("exact"), stats.get("near")

    def kept():
        for row, doc in enumerate(read_documents(input)):
            acts = actions.get(row, ())
            g = (index << 32) | row
            if g in wanted:
                found[str(g)] = {"id": doc.id, "url": doc.url, "date": doc.date, "text": doc.text[:SAMPLE_TEXT_CHARS]}
            drop = None
            for code, value in acts:
                if code in cl.DROP_REASONS:
                    drop = code
                elif code in (KEEP_TEXT, KEEP_URL, KEEP_NEAR):
                    target = near_st if code == KEEP_NEAR else exact_st
                    target.count("clusters")
                    target.observe("cluster_size", value)
                elif code == COPIES:
                    doc.metadata["dedup_copies"] = value
            for key, step in (("exact", exact_st), ("near", near_st)):
                if step is None:
                    continue
                step.docs_in += 1
                step.chars_in += len(doc.text)
                if drop is not None and (drop == cl.DROP_NEAR) == (key == "near"):
                    doc.metadata.pop("dedup_copies", None)
                    step.drop(doc, cl.DROP_REASONS[drop])
                    break
                step.docs_out += 1
                step.chars_out += len(doc.text)
                step.keep(doc)
            else:
                if s.cluster_size:  # FineWeb-2's name; the cluster counts every copy, exact ones too
                    doc.metadata["minhash_cluster_size"] = doc.metadata.get("dedup_copies", 0) + 1
                yield doc

    layout.clear_stale(name, s.keep_rejected)
    sink = RejectedSink(layout.rejected(name)) if s.keep_rejected else None
    for step in stats.values():
        step.reject = sink
    with st.PeakMemory() as mem:
        written, rejected = write_shard(kept(), layout.shard(name), sink)
    st.write_json(paths.samples(index), found)
    # Work done for this shard in the earlier phases, and its share of the global ones.
    sign = st.read_json(paths.sign_done(index))
    wall, cpu = sign["wall"] + timer.wall, sign["cpu"] + timer.cpu
    seconds_near = sign["seconds_minhash"]
    share = global_costs["share"]
    if exact_st is not None:
        exact_st.seconds = sign["seconds_exact"]
    if near_st is not None:
        near_st.count("no_shingles", sign["no_shingles"])
        if s.verify:
            for url in (paths.sketches_done(index), paths.edges_done(index)):
                m = st.read_json(url)
                wall, cpu, seconds_near = wall + m["wall"], cpu + m["cpu"], seconds_near + m["wall"]
                for k in ("verified_pairs", "rejected_pairs"):
                    if k in m:
                        near_st.count(k, m[k])
        near_st.seconds = seconds_near + share * global_costs["wall"]
    elif exact_st is not None:
        exact_st.seconds += share * global_costs["wall"]
    stage_stats = StageStats(
        stage="dedup",
        steps=[stats["exact" if label == s.exact_label else "near"] for label in s.labels],
        shards=1,
        wall_seconds=wall + share * global_costs["wall"],
        cpu_seconds=cpu + share * global_costs["cpu"],
        task_retries=current_attempt() - 1,
    )
    marker = {
        "shard": name,
        "input": input,
        "stage": "dedup",
        "fingerprint": fingerprint,
        "read": (exact_st or near_st).docs_in,
        "documents": written,
        **({"rejected": rejected} if rejected is not None else {}),
        "peak_rss_mb": mem.peak_mb,
        "rss_growth_mb": mem.delta_mb,
        "stats": stage_stats.to_dict(),
    }
    st.write_json(layout.done(name), marker)
    return marker


PHASES = {
    "sign": phase_sign,
    "bucket": phase_bucket,
    "verify_a": phase_verify_a,
    "verify_b": phase_verify_b,
    "cluster": phase_cluster,
    "filter": phase_filter,
}
