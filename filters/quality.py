"""Model-based quality filtering (issue #3): a fastText classifier, as DCLM's.

The model comes from ``curation.quality_train`` (reference-quality text against random crawl
text). Each document, prepared as in training (``prepare_text``: lowercase, whitespace runs and
newlines to one space), is scored with P(``label``); the score goes to
``metadata["quality_score"]`` of every document, kept or dropped, and to the ``quality_score``
histogram. Dropped documents are counted under the step's name, ``quality_classifier``.

Two ways to decide, exactly one of them set:

- ``threshold``: keep when the score is at least the threshold (default 0.5);
- ``top_fraction``: keep (about) the best-scoring fraction. A streaming filter sees one shard
  at a time and cannot rank the whole corpus, so the fraction is turned into a fixed score
  threshold once: the ``1 - top_fraction`` quantile of the held-out scores saved with the model
  in its sidecar (``MODEL.json``, ``score_quantiles``). Every shard then makes the same decision
  for the same document, whatever the sharding. The fraction is exact on data scored like the
  held-out set (reference and crawl text in equal parts: the quantiles weight the two held-out
  classes equally); on a different mix the kept fraction
  differs, and ties (saturated scores) keep more. ``quality_reference: negative`` uses the
  quantiles of the held-out crawl (negative) documents instead, the closer match when the
  filter runs on crawl data.

The model (and its sidecar) is loaded once per worker process (``curation.resources``).
fastText loads from a local path only.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from curation.document import Document
from curation.errors import CurationError
from curation.quality_train import (
    POSITIVE_LABEL,
    positive_scores,
    prepare_text,
    sidecar_path,
)
from curation.resources import worker_resource
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter


@worker_resource
def load_quality_model(model_path: str) -> tuple[Any, dict | None]:
    """The fastText quality model at ``model_path`` and its sidecar (None when absent)."""
    import fasttext

    model = fasttext.load_model(model_path)
    side = sidecar_path(model_path)
    sidecar = None
    if os.path.exists(side):
        with open(side, encoding="utf-8") as f:
            sidecar = json.load(f)
    return model, sidecar


class QualityParams(StepParams):
    model_path: str
    label: str = POSITIVE_LABEL
    threshold: float | None = Field(0.5, ge=0.0, le=1.0)
    top_fraction: float | None = Field(None, gt=0.0, le=1.0)
    quality_reference: Literal["heldout", "negative"] = "heldout"  # quantiles top_fraction uses

    @model_validator(mode="before")
    @classmethod
    def _one_mode(cls, data):
        # top_fraction alone replaces the default threshold; both given explicitly is an error
        if isinstance(data, dict) and data.get("top_fraction") is not None and "threshold" not in data:
            data = {**data, "threshold": None}
        return data

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.threshold is None) == (self.top_fraction is None):
            raise ValueError("set exactly one of threshold and top_fraction")
        return self


def fraction_threshold(sidecar: dict, top_fraction: float, reference: str = "heldout") -> float:
    """The score at the ``1 - top_fraction`` quantile of the sidecar's held-out scores."""
    key = "score_quantiles" if reference == "heldout" else "negative_score_quantiles"
    qs = sidecar.get(key) or []
    if len(qs) < 2:
        raise CurationError(f"the quality model's sidecar has no {key}: retrain it with curation.quality_train")
    pos = (1.0 - top_fraction) * (len(qs) - 1)
    lo = int(pos)
    if lo >= len(qs) - 1:
        return float(qs[-1])
    frac = pos - lo
    return float(qs[lo] + (qs[lo + 1] - qs[lo]) * frac)


class QualityClassifierFilter(BaseFilter):
    """Keep documents a fastText quality classifier scores high (DCLM-style)."""

    name = "quality_classifier"
    Params = QualityParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("quality_score", thresholds=(Threshold("threshold", "min", zero_is_off=False),), explains=("quality_classifier",),
              note="probability of the positive (high-quality) label"),
    )

    def preflight(self) -> None:
        p = self.params
        if not os.path.isfile(p.model_path):
            raise CurationError(
                f"quality_classifier: model file {p.model_path!r} not found "
                "(train one with `python -m curation.quality_train POSITIVE NEGATIVE --output MODEL`)")
        if p.top_fraction is not None:
            side = sidecar_path(p.model_path)
            if not os.path.isfile(side):
                raise CurationError(f"quality_classifier: top_fraction needs the model's sidecar {side!r}, not found")

    def _cutoff(self) -> float:
        p = self.params
        if p.threshold is not None:
            return p.threshold
        _, sidecar = load_quality_model(p.model_path)
        if sidecar is None:
            raise CurationError(f"quality_classifier: top_fraction needs {sidecar_path(p.model_path)!r}, not found")
        return fraction_threshold(sidecar, p.top_fraction, p.quality_reference)

    def score(self, text: str) -> float:
        model, _ = load_quality_model(self.params.model_path)
        return positive_scores(model, [prepare_text(text)], self.params.label)[0]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        cutoff = getattr(self, "_cutoff_value", None)
        if cutoff is None:
            cutoff = self._cutoff_value = self._cutoff()
        score = self.score(doc.text)
        doc.metadata["quality_score"] = score
        stats = getattr(self, "stats", None)
        if stats is not None:
            stats.observe("quality_score", score)
        return score >= cutoff
