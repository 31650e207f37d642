"""A step of one's own, outside the registry: a pipeline names it ``tests.custom_step:ShoutFilter``.

The report knows nothing of it; the step's ``scores`` are all it takes to get a histogram with the
threshold marked and the score shown beside the documents it dropped (tests/test_report.py).
"""

from __future__ import annotations

from typing import ClassVar

from curation.document import Document
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter


class ShoutParams(StepParams):
    max_shout: float = 0.5  # 0 switches the check off


class ShoutFilter(BaseFilter):
    """Drop documents that shout: too large a share of their letters are capitals."""

    name = "shout"
    Params = ShoutParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("shout_ratio", 0.0, 1.0, 20, thresholds=(Threshold("max_shout", "max"),), unit="share of letters in capitals",
              explains=("too_loud",), note="letters only; a text without letters scores 0"),
    )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        letters = [c for c in doc.text if c.isalpha()]
        ratio = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
        self.score(doc, "shout_ratio", ratio)
        if self.params.max_shout and ratio > self.params.max_shout:
            return False, "too_loud"
        return True
