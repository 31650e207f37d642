"""Exact de-duplication keys: a 128-bit hash of the normalised text and, optionally, of the URL.

``normalize: true`` (the default) lowercases the text and collapses every run of whitespace to
one space (and trims the ends) before hashing, so copies that differ only in case, line breaks or
indentation count as the same text; ``normalize: false`` hashes the text as it is. The hash is
``xxh3_128`` of the UTF-8 bytes: two different texts share it with probability ~2**-128, so no
second comparison of the texts is needed (a 64-bit hash would expect a false match somewhere in
a few billion documents).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xxhash
from pydantic import Field, field_validator

from curation.dedup.minhash import CLUSTER_SIZE
from curation.step import StageStep, StepParams

MASK64 = (1 << 64) - 1


def normalize_text(text: str) -> str:
    """Lowercase, whitespace runs collapsed to one space, ends trimmed."""
    return " ".join(text.lower().split())


def keys128(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(high, low)`` 64-bit halves of ``xxh3_128`` of each value."""
    digests = [xxhash.xxh3_128_intdigest(v.encode("utf-8", "surrogatepass")) for v in values]
    hi = np.fromiter((d >> 64 for d in digests), dtype=np.uint64, count=len(digests))
    lo = np.fromiter((d & MASK64 for d in digests), dtype=np.uint64, count=len(digests))
    return hi, lo


def text_keys(texts: Sequence[str], normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    return keys128([normalize_text(t) for t in texts] if normalize else list(texts))


class ExactDedup(StageStep):
    """Exact de-duplication over the whole dataset: one copy of each text (and of each URL if asked) is kept."""

    name = "exact_dedup"
    stage = "dedup"
    scores = (CLUSTER_SIZE,)

    def needs(self) -> tuple[str, ...]:
        return tuple(self.params.on)

    class Params(StepParams):
        on: list[Literal["text", "url"]] = Field(default_factory=lambda: ["text"], description="what must be unique")
        normalize: bool = Field(True, description="lowercase and collapse whitespace before hashing the text")
        bucket_rows: int = Field(2_000_000, ge=1000, description="keys per bucket task (bounds its memory)")

        @field_validator("on", mode="before")
        @classmethod
        def _one_or_many(cls, v):
            if isinstance(v, str):
                v = [v]
            if isinstance(v, list) and not v:
                raise ValueError("give at least one of: text, url")
            if isinstance(v, list) and len(set(v)) != len(v):
                raise ValueError(f"repeated entries in {v}")
            return v
