"""Language identification with fastText lid.176, as datatrove 0.10.1's ``LanguageFilter``.

Same decisions as datatrove's ``LanguageFilter(languages=..., language_threshold=...)`` with the
``ft176`` backend: the text, newlines replaced by spaces, goes to ``model.predict``; the best
label and its probability go to ``metadata["language"]`` / ``["language_score"]`` of every
document, kept or dropped; a document is kept when one of ``languages`` scores above the
threshold (with ``languages`` None: when the best score does; empty: never, as in datatrove).

The model is the quantized ``lid.176.ftz`` (``curation.assets.lid176_path()``; datatrove
downloads ``lid.176.bin``, whose scores differ slightly), loaded once per process.

datatrove asks for all 176 labels (``k=-1``). Here the two best are enough: if the best label is
wanted, the answer is whether its score is above the threshold (no other label scores higher);
if not, a wanted label can only pass when the second score does, and only then are all labels
asked for. A dropped document has no reason string in datatrove (its filter returns a bare
bool); ours are dropped under the step's name, ``language``.
"""

from __future__ import annotations

import functools
from typing import ClassVar, Literal

from pydantic import field_validator

from curation.document import Document
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter


@functools.cache
def load_model():
    """fastText lid.176, loaded once per process (``load_model.cache_info().misses`` counts loads)."""
    import fasttext

    from curation.assets import lid176_path

    return fasttext.load_model(str(lid176_path()))


class LanguageParams(StepParams):
    languages: tuple[str, ...] | None = ("en",)  # a single code is accepted too, as in datatrove
    language_threshold: float = 0.65
    backend: Literal["ft176"] = "ft176"
    label_only: bool = False  # only label the documents, drop none
    keep_top_pairs_threshold: float = -1  # store top_language_{lang}_score above this; -1: off

    @field_validator("languages", mode="before")
    @classmethod
    def _one_language(cls, value):
        return (value,) if isinstance(value, str) else value


def _label(label: str) -> str:
    return label.split("__")[2]


class LanguageFilter(BaseFilter):
    """Keep documents in the wanted languages (fastText lid.176)."""

    name = "language"
    Params = LanguageParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("language_score", thresholds=(Threshold("language_threshold", "min", zero_is_off=False),), explains=("language",),
              note="the score of the best label: a document in another language is dropped whatever its score"),
    )

    def preflight(self) -> None:
        from curation.assets import lid176_path

        lid176_path()  # raises a one-line error naming the missing model file

    def warm_up(self) -> None:
        load_model()

    def predict(self, text: str) -> tuple[str, float, dict[str, float] | None, bool]:
        """(best language, its score, all scores when they were needed, keep)."""
        p = self.params
        model = load_model()
        line = text.replace("\n", " ")
        wanted = p.languages
        need_all = p.keep_top_pairs_threshold != -1
        if not need_all:
            labels, scores = model.predict(line, k=2)
            best, best_score = _label(labels[0]), scores[0].item()
            if p.label_only:
                return best, best_score, None, True
            if wanted is None:
                return best, best_score, None, best_score > p.language_threshold
            if not wanted:  # datatrove: an empty list keeps nothing
                return best, best_score, None, False
            if best in wanted:
                return best, best_score, None, best_score > p.language_threshold
            second = scores[1].item() if len(scores) > 1 else 0.0
            if second <= p.language_threshold:
                return best, best_score, None, False
        # the general case: every label, as datatrove asks for
        labels, scores = model.predict(line, k=-1)
        pairs = {_label(lang): score.item() for lang, score in zip(labels, scores)}
        best, best_score = max(pairs.items(), key=lambda x: x[1])
        if wanted:  # datatrove's FT176LID then returns the wanted languages' scores only
            pairs = {lang: pairs.get(lang, 0.0) for lang in wanted}
        if p.label_only:
            keep = True
        elif wanted:
            keep = any(score > p.language_threshold for score in pairs.values())
        elif wanted is None:
            keep = best_score > p.language_threshold
        else:
            keep = False
        return best, best_score, pairs, keep

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        best, score, pairs, keep = self.predict(doc.text)
        doc.metadata["language"] = best
        doc.metadata["language_score"] = score
        if pairs is not None and self.params.keep_top_pairs_threshold != -1:
            for lang, value in pairs.items():
                if value > self.params.keep_top_pairs_threshold:
                    doc.metadata[f"top_language_{lang}_score"] = value
        stats = getattr(self, "stats", None)
        if stats is not None:
            stats.observe("language_score", score)
            stats.count(f"language:{best}")  # the language mix of `curation stats`, dropped or kept
            if keep:
                stats.count(f"language_kept:{best}")
        return keep
