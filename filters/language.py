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

FineWeb-2 (``per_language: fineweb2``)
---------------------------------------
FineWeb-2 labels every page with GlotLID (``fra_Latn``) and keeps, per language, the pages whose score
reaches that language's ``language_score`` (its config; ``>=``, as its ``LambdaFilter``). With
``per_language: fineweb2`` this step does the same in one pass: ``metadata["language"]`` is the
FineWeb-2 code (lid.176's label mapped by ``filters.fineweb2.lid176``, or GlotLID's label as it is),
``languages`` (default: none named, i.e. every language) restricts the codes kept, ``language_threshold``
is unused, and a page whose language has no FineWeb-2 config (English among them) is dropped as
``no_language_config``. ``backend: glotlid`` with ``model_path`` (a local GlotLID ``model_v3.bin``; never
downloaded) gives FineWeb-2's own labels and scores; ``model_path`` alone replaces lid.176 by another
fastText model with lid.176's labels. Without ``per_language``, ``backend: glotlid`` is datatrove's: the
label's script goes to ``metadata["language_script"]`` and ``language`` keeps the ISO 639-3 part.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from curation.document import Document
from curation.errors import CurationError
from curation.resources import worker_resource
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter
from filters.fineweb2 import language_config
from filters.fineweb2.lid176 import fineweb2_code
from filters.fineweb2.per_language import NO_LANGUAGE_CONFIG, PerLanguage


@worker_resource
def load_model():
    """fastText lid.176, loaded once per process (``load_model.cache_info().misses`` counts loads)."""
    import fasttext

    from curation.assets import lid176_path

    return fasttext.load_model(str(lid176_path()))


@worker_resource
def load_model_file(path: str):
    """A fastText model given by path (GlotLID), loaded once per process."""
    import fasttext

    return fasttext.load_model(path)


class LanguageParams(StepParams):
    languages: tuple[str, ...] | None = ("en",)  # a single code is accepted too, as in datatrove
    language_threshold: float = 0.65
    backend: Literal["ft176", "glotlid"] = "ft176"  # glotlid: needs model_path (never downloaded)
    model_path: str | None = None  # a local fastText model file: GlotLID's, or one with lid.176's labels
    label_only: bool = False  # only label the documents, drop none
    keep_top_pairs_threshold: float = -1  # store top_language_{lang}_score above this; -1: off
    per_language: PerLanguage = None  # fineweb2: FineWeb-2 codes, each language's own threshold

    @field_validator("languages", mode="before")
    @classmethod
    def _one_language(cls, value):
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _fineweb2_keeps_every_language(cls, data):
        # FineWeb-2 keeps every language with a config: ``languages`` restricts only when given
        if isinstance(data, dict) and data.get("per_language") == "fineweb2" and "languages" not in data:
            data = {**data, "languages": None}
        return data

    @model_validator(mode="after")
    def _glotlid_is_a_file(self):
        if self.backend == "glotlid" and not self.model_path:
            raise ValueError("backend glotlid needs model_path: the path of a local GlotLID model file (model_v3.bin); nothing is downloaded")
        return self


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
        from pathlib import Path

        from curation.assets import lid176_path

        if self.params.model_path:
            if not Path(self.params.model_path).is_file():
                raise CurationError(f"step {self.label!r}: model_path {self.params.model_path!r} is not a file")
        else:
            lid176_path()  # raises a one-line error naming the missing model file

    def model(self):
        return load_model_file(self.params.model_path) if self.params.model_path else load_model()

    def warm_up(self) -> None:
        self.model()

    def predict(self, text: str) -> tuple[str, float, dict[str, float] | None, bool]:
        """(best language, its score, all scores when they were needed, keep)."""
        p = self.params
        model = self.model()
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

    def predict_fineweb2(self, text: str) -> tuple[str, float, dict[str, float] | None]:
        """(FineWeb-2 code of the best label, its score, every label's score by code when wanted)."""
        p = self.params
        model = self.model()
        code = (lambda label: label) if p.backend == "glotlid" else fineweb2_code
        line = text.replace("\n", " ")
        if p.keep_top_pairs_threshold == -1:
            labels, scores = model.predict(line, k=1)
            return code(_label(labels[0])), scores[0].item(), None
        labels, scores = model.predict(line, k=-1)
        pairs = {code(_label(label)): score.item() for label, score in zip(labels, scores)}
        best, best_score = max(pairs.items(), key=lambda x: x[1])
        return best, best_score, pairs

    def keep_fineweb2(self, code: str, score: float) -> bool | tuple[bool, str]:
        p = self.params
        if p.label_only:
            return True
        config = language_config(code)
        if config is None:
            return False, NO_LANGUAGE_CONFIG
        if p.languages is not None and code not in p.languages:
            return False, self.name
        return score >= config.language_score

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.params.per_language == "fineweb2":
            best, score, pairs = self.predict_fineweb2(doc.text)
            keep = self.keep_fineweb2(best, score)
        else:
            best, score, pairs, keep = self.predict(doc.text)
            if self.params.backend == "glotlid":  # datatrove: language and script apart
                best, _, doc.metadata["language_script"] = best.partition("_")
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
            if keep is True:
                stats.count(f"language_kept:{best}")
        return keep
