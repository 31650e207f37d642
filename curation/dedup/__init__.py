"""Global de-duplication: exact and MinHash near-duplicates across the whole dataset.

In a pipeline file::

    dedup:
      - exact_dedup: {"on": [text, url]}     # or {} for text only
      - minhash_dedup: {ngrams: 5, bands: 14, rows: 8, threshold: 0.8, verify: true, seed: 1}

(``on`` must be quoted: YAML 1.1 reads a bare ``on`` as ``true``.) Either step may be left out;
exact de-duplication, when present, comes first. The stage reads the previous stage's finished
shards (``OUTPUT/<prev>/_done/*.json``) and writes ``OUTPUT/dedup/shards/<same name>.parquet``
(``.jsonl.gz`` with ``output_format: jsonl.gz``) without the removed documents, with the usual ``_done/<shard>.json`` markers (statistics of the
steps ``exact_dedup`` and ``minhash_dedup``: drops ``exact_duplicate``, ``duplicate_url``,
``near_duplicate``; counters ``clusters``, ``verified_pairs``, ``rejected_pairs``,
``no_shingles``; a ``cluster_size`` histogram), ``stats.json``, and ``clusters.json``: the
number of clusters, the histogram of their sizes, the documents removed, candidate and verified
pair counts and sample clusters (id, url, date, first characters of each member, which one was
kept) for a person to check. A kept document that had copies records how many in its metadata
(``dedup_copies``).

What is a duplicate
-------------------
- exact: the same text after lowercasing and collapsing whitespace (``curation.dedup.exact``),
  and with ``on: [text, url]`` also the same URL; a 128-bit hash stands for the text.
- near: MinHash LSH with datasketch's semantics and FineWeb's defaults (``curation.dedup.minhash``):
  word 5-gram shingles of the text simplified as datatrove's ``simplify_text`` does; 112
  permutations in 14 bands of 8 rows (``scheme: datatrove`` computes datatrove's 64-bit
  signatures bit for bit instead, e.g. to reproduce a FineWeb run); documents sharing all 8 values of a band are candidates
  (a pair at Jaccard 0.8 becomes a candidate with probability 0.92, at 0.7 with 0.53, at 0.5 with
  0.05). With ``verify: true`` (default) a candidate pair is kept only if its Jaccard similarity
  reaches ``threshold``: computed exactly on the two shingle sets (``verify_method: exact``,
  default) or estimated as the fraction of equal MinHash values (``estimate``, with a standard
  error of ~0.04 at 0.8 for 112 permutations). Without verification every candidate pair counts,
  as in FineWeb/datatrove.
- clusters are the connected components of the pairs; one document per cluster is kept:
  **the one with the earliest date (WARC-Date), ties going to the smallest xxh64 hash of its id**
  (``curation.dedup.clusters``). The result depends neither on the number of workers and
  buckets nor on the order in which shards are processed.

Phases (``curation.dedup.phases``, scheduled by ``curation.dedup.driver``), each a set of tasks writing Parquet under ``OUTPUT/dedup/_work``
--------------------------------------------------------------------------------------------------------------------------------------
Documents are numbered ``gdoc = shard index << 32 | row`` (shards sorted by name).

1. **sign** - one task per input shard: for every document its exact keys and one 64-bit key per
   MinHash band, written as rows ``(kind, key, key2, gdoc, priority)`` to ``sign/<shard number>.parquet``,
   one row group per bucket (``key % buckets``). Signatures are computed for 1,000 documents at a
   time with NumPy (one multiply-add and one segmented minimum per permutation over all shingles
   of the batch) and never stored: only band keys travel.
2. **bucket** - one task per bucket (``buckets = ceil(documents x keys per document / bucket_rows)``):
   reads its row group of every shard, sorts by key, and turns each group of documents sharing a
   key into pairs: each member with the group's first (smallest priority) and, when verifying,
   with its predecessor. Exact pairs go to ``bucket/exact-<b>.parquet``; candidate pairs,
   de-duplicated, to ``bucket/pairs-<b>.parquet`` routed by the shard of their first document.
3. **verify** (``verify: true``) - two tasks per shard, a distributed join that never holds more
   than one shard's documents: ``verify_a`` takes the pairs whose first document is in its shard,
   re-reads those documents and attaches their sketch (shingle set or signature), routed by the
   second document's shard; ``verify_b`` computes the second documents' sketches and keeps the pairs
   whose similarity reaches the threshold (``verify_b/<shard number>.parquet``).
4. **cluster** - one task: connected components (SciPy) of the exact pairs, then of the near pairs
   with removed exact copies replaced by their representative; writes ``cluster/remove.parquet``
   (per shard: rows removed and why, kept cluster heads and their cluster sizes) and picks the
   sample clusters.
5. **filter** - one task per shard: copies the shard without its removed rows, collects the sample
   members' text, writes the shard's statistics and its ``_done`` marker. Finally the driver merges
   the statistics (``stats.json``) and writes ``clusters.json``.

Memory and disk per document
----------------------------
(Defaults, ``on: [text]``: 15 keys per document. Measured figures: ``bench/bench_dedup.py`` on
generated documents of ~260 words, a quarter of them duplicates.)

- sign: a task holds its shard's key rows, 33 bytes x 15 = ~500 bytes per document of the shard,
  about three times over while sorting them into buckets (~1.5 kB per document: ~15 MB for a
  10,000-document shard), plus one batch of 1,000 texts and their shingles (~20 MB). On disk
  ~310 bytes per document (hash columns barely compress).
- bucket: ~100 bytes per key row of its bucket (33 read, the sort order, gathered copies): with
  ``bucket_rows: 2000000`` about 200 MB, whatever the size of the dataset; more documents make
  more buckets, not bigger ones. On disk 32 bytes per candidate pair.
- verify: 32 bytes per candidate pair of the shard plus one sketch per distinct document of
  those pairs and destination shard: 4 bytes per distinct shingle for ``verify_method: exact``
  (~1 kB for 260 words), 448 bytes for ``estimate``. On disk the same (~700 bytes per document of
  the dataset in the benchmark, the largest part of ``_work``).
- cluster: ~100 bytes per pair (exact and verified near pairs), i.e. proportional to the number
  of duplicated documents, not to the dataset; 21 bytes per duplicated document on disk.
- filter: one 1,000-document batch of the shard plus its removal list (~100 bytes per duplicated
  document of the shard).

Measured (2 workers, 10,000 documents per shard): 100k and 200k documents give the same peak
resident memory per task in every phase (~270-310 MB, of which ~230 MB is the Ray worker with
the pipeline imported); only the number of tasks grows. ``_work`` holds ~1 kB per document.

Restarts: every part writes its files atomically and then a marker (``_work/<phase>/_done/...``,
the final ``_done/<shard>.json``); a rerun skips finished parts and resumes at the first missing
one. ``OUTPUT/dedup/plan.json`` records the input shards (names, document counts, sizes) and the
settings: if either changed, the stage starts over (all shards depend on all others); ``--force``
starts over too. A failed task stops the stage after its phase with the failure in
``_failed/<name>.json``; the rerun retries it. ``_work`` may be deleted once the stage is done
(a rerun then finds every shard done and does nothing).
"""
