"""Where a document goes: its split (train or val) and its position in the global shuffle.

Both are seeded 64-bit hashes of the document's id, so they depend on nothing but the id: not on
the shard a document sits in, the number of workers, or the order tasks finish.
"""

from __future__ import annotations

import xxhash

SPLITS = ("train", "val")
VAL_SEED = 0x5EED_0F_7E57  # the split hash is seeded apart from the shuffle seed


def doc_key(doc_id: str, seed: int) -> int:
    """The document's position in the global shuffle: a seeded 64-bit hash of its id."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed)


def is_val(doc_id: str, val_fraction: float) -> bool:
    """Whether the document is held out for validation (depends on its id only)."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), VAL_SEED) < val_threshold(val_fraction)


def val_threshold(val_fraction: float) -> int:
    return min(int(val_fraction * 2**64), 2**64)

