"""Duplicate pairs -> clusters (connected components) -> the one document each cluster keeps.

Documents are named by a 64-bit *gdoc*: ``shard index << 32 | row`` (shard index: position of
the shard's name in the sorted list of input shards). Each also has a 64-bit *priority*
(``priority()``); the kept document of a cluster is the member with the smallest
``(priority, gdoc)``.

**Keep rule**: the earliest crawl date (``date`` column, WARC-Date) wins: it is the copy most
likely to be the original, and the choice does not depend on which shard or worker saw a document
first. Documents without a parsable date come after all dated ones. Ties (same second) go to the
smaller ``xxh64(id)`` (its top 32 bits; then the gdoc, which only matters for two documents with
the same date whose id hashes share 32 bits).

Exact and near duplicates are resolved in that order, as the pipeline lists them:

1. text clusters (identical normalised text), then URL clusters among the survivors (an edge to
   a removed copy counts as an edge to the copy that represents it);
2. near-duplicate clusters among the exact survivors, again with every removed exact copy
   replaced by its representative. Since each representative has the smallest priority of its
   exact cluster, the document a near-duplicate cluster keeps has the smallest priority of
   everything that was merged into it.

Connected components use ``scipy.sparse.csgraph.connected_components``; memory is proportional
to the number of pairs (about 60 bytes per pair), not to the size of the dataset.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import xxhash

from curation.dedup.minhash import fmix64

NO_DATE = (1 << 32) - 1


def date_seconds(date: str | None) -> int:
    """Seconds since 1970 of an ISO 8601 date (UTC when no zone), clipped to 32 bits; NO_DATE when unparsable."""
    if not date:
        return NO_DATE
    try:
        d = dt.datetime.fromisoformat(date.strip().replace("Z", "+00:00"))
    except ValueError:
        return NO_DATE
    if d.tzinfo is not None:
        d = d.astimezone(dt.timezone.utc)
    secs = calendar.timegm(d.timetuple())
    return min(max(secs, 0), NO_DATE - 1)


def priority(doc_id: str, date: str | None) -> int:
    """Smaller wins: earliest date first, then the smaller ``xxh64(id)``."""
    return (date_seconds(date) << 32) | (xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass")) >> 32)


def shard_of(gdoc: np.ndarray) -> np.ndarray:
    return (gdoc >> np.uint64(32)).astype(np.int64)


def row_of(gdoc: np.ndarray) -> np.ndarray:
    return (gdoc & np.uint64(0xFFFFFFFF)).astype(np.int64)


@dataclass
class Clustering:
    """Connected components of a graph of documents; arrays are per node (nodes sorted by gdoc)."""

    nodes: np.ndarray  # uint64 gdocs
    prio: np.ndarray  # uint64
    label: np.ndarray  # component number
    keeper: np.ndarray  # uint64 gdoc of the component's kept document
    keeper_prio: np.ndarray  # uint64
    size: np.ndarray  # component size

    @property
    def removed(self) -> np.ndarray:
        return self.keeper != self.nodes

    def mapping(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(removed gdocs sorted, their keepers, the keepers' priorities)."""
        m = self.removed
        return self.nodes[m], self.keeper[m], self.keeper_prio[m]

    def cluster_sizes(self) -> dict[int, int]:
        """Cluster size -> number of clusters."""
        keepers = ~self.removed
        sizes, counts = np.unique(self.size[keepers], return_counts=True)
        return {int(s): int(c) for s, c in zip(sizes, counts)}


def empty_clustering() -> Clustering:
    z = np.zeros(0, dtype=np.uint64)
    return Clustering(z, z, np.zeros(0, dtype=np.int64), z, z, np.zeros(0, dtype=np.int64))


def cluster(a: np.ndarray, b: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> Clustering:
    """Components of the undirected graph with edges ``a[i] - b[i]``; priorities ``pa``, ``pb``."""
    keep = a != b
    a, b, pa, pb = a[keep], b[keep], pa[keep], pb[keep]
    if len(a) == 0:
        return empty_clustering()
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    prio = np.empty(len(nodes), dtype=np.uint64)
    prio[inv] = np.concatenate([pa, pb])
    n, m = len(nodes), len(a)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (inv[:m], inv[m:])), shape=(n, n)).tocsr()
    _, label = connected_components(graph, directed=False)
    order = np.lexsort((nodes, prio, label))  # by component, then priority, then gdoc
    first = order[np.r_[True, label[order][1:] != label[order][:-1]]]  # keeper index of component 0, 1, ...
    keeper_idx = first[label]
    size = np.bincount(label)[label]
    return Clustering(nodes, prio, label.astype(np.int64), nodes[keeper_idx], prio[keeper_idx], size)


def remap(x: np.ndarray, px: np.ndarray, frm: np.ndarray, to: np.ndarray, pto: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace every ``x`` found in sorted ``frm`` by its ``to`` (and its priority by ``pto``)."""
    if len(frm) == 0 or len(x) == 0:
        return x, px
    idx = np.minimum(np.searchsorted(frm, x), len(frm) - 1)
    hit = frm[idx] == x
    x, px = x.copy(), px.copy()
    x[hit] = to[idx[hit]]
    px[hit] = pto[idx[hit]]
    return x, px


@dataclass
class Resolution:
    """What the dedup stage does with every document that has a duplicate."""

    stages: dict[str, Clustering]  # "text", "url", "near" (those that ran)
    drop_gdoc: np.ndarray  # removed documents (sorted)
    drop_code: np.ndarray  # DROP_* code of each
    drop_keeper: np.ndarray  # the document finally kept in its place


DROP_TEXT, DROP_URL, DROP_NEAR = 1, 2, 3
DROP_REASONS = {DROP_TEXT: "exact_duplicate", DROP_URL: "duplicate_url", DROP_NEAR: "near_duplicate"}


def resolve(edges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> Resolution:
    """Cluster ``edges["text"]``, then ``["url"]``, then ``["near"]`` (each optional), in that order."""
    stages: dict[str, Clustering] = {}
    maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    drops = []
    for name, code in (("text", DROP_TEXT), ("url", DROP_URL), ("near", DROP_NEAR)):
        if name not in edges:
            continue
        a, b, pa, pb = edges[name]
        for frm, to, pto in maps:  # an edge to a removed copy is an edge to its representative
            a, pa = remap(a, pa, frm, to, pto)
            b, pb = remap(b, pb, frm, to, pto)
        c = cluster(a, b, pa, pb)
        stages[name] = c
        frm, _, _ = m = c.mapping()
        maps.append(m)
        drops.append((frm, np.full(len(frm), code, dtype=np.uint8)))
    if drops:
        gdoc = np.concatenate([g for g, _ in drops])
        code = np.concatenate([c for _, c in drops])
    else:
        gdoc, code = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint8)
    keeper, _ = gdoc, gdoc
    for frm, to, pto in maps:
        keeper, _ = remap(keeper, keeper, frm, to, pto)
    order = np.argsort(gdoc, kind="stable")
    return Resolution(stages, gdoc[order], code[order], keeper[order])


def pick_samples(c: Clustering, kind: str, largest: int, spread: int, members: int) -> list[dict]:
    """A few clusters for a person to check: the ``largest`` biggest, then ``spread`` others chosen by hash.

    Each: ``{"kind", "size", "keeper", "members"}`` with at most ``members`` gdocs, the kept one first.
    """
    keepers = np.flatnonzero(~c.removed)
    if len(keepers) == 0:
        return []
    by_size = keepers[np.lexsort((c.keeper_prio[keepers], -c.size[keepers]))][:largest]
    rest = np.setdiff1d(keepers, by_size)
    by_hash = rest[np.argsort(fmix64(c.keeper_prio[rest] ^ np.uint64(0x5DEECE66D)), kind="stable")][:spread]
    out = []
    for k in list(by_size) + list(by_hash):
        in_cluster = np.flatnonzero(c.label == c.label[k])
        order = in_cluster[np.lexsort((c.nodes[in_cluster], c.prio[in_cluster]))][:members]
        out.append({"kind": kind, "size": int(c.size[k]), "keeper": int(c.nodes[k]), "members": [int(c.nodes[i]) for i in order]})
    return out
