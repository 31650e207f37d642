"""FineWeb's own quality rules, as datatrove 0.10.1's ``FineWebQualityFilter``.

Same decisions and reasons as datatrove with the same settings. The word count for the list
ratio comes from ``filters.words.count_words`` (datatrove's spaCy tokenizer, cached per chunk), or with
``per_language: fineweb2`` from the document's language's tokenizer (``filters.fineweb2``).
"""

from __future__ import annotations

from typing import ClassVar

from datatrove.utils.text import TERMINAL_PUNCTUATION

from curation.document import Document
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter
from filters.fineweb2.per_language import NO_LANGUAGE_CONFIG, LanguageSettings, PerLanguage
from filters.gopher import find_duplicates


class FineWebQualityParams(StepParams):
    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    stop_chars: tuple[str, ...] | None = None  # None: datatrove's TERMINAL_PUNCTUATION
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3
    per_language: PerLanguage = None  # fineweb2: FineWeb-2's settings and words of each document's language


class FineWebQualityFilter(BaseFilter):
    """Drop documents with few punctuated lines, many short or repeated lines, or list-like layout."""

    name = "fineweb_quality"
    Params = FineWebQualityParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("line_punct_ratio", thresholds=(Threshold("line_punct_thr", "min"),), note="share of lines ending in terminal punctuation"),
        Score("short_line_ratio", thresholds=(Threshold("short_line_thr", "max"),), note="share of lines of at most short_line_length characters"),
        Score("char_dup_ratio", 0.0, 0.2, thresholds=(Threshold("char_duplicates_ratio", "max"),), note="share of characters in repeated lines"),
        Score("list_ratio", thresholds=(Threshold("new_line_ratio", "max"),), note="newlines per word"),
    )

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
        sc = self.params.stop_chars
        self._stop_chars = tuple(TERMINAL_PUNCTUATION) if sc is None else tuple(sc)
        self.settings = LanguageSettings(self.name, self.params)

    def warm_up(self) -> None:
        self.settings.warm_up()

    def preflight(self) -> None:
        self.settings.preflight(self.label)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        setting = self.settings.for_doc(doc)
        if setting is None:
            return False, NO_LANGUAGE_CONFIG
        p = setting.params
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip() != ""]
        if not lines:
            return False, "empty"
        n_lines = len(lines)

        ratio = sum(1 for line in lines if line.endswith(self._stop_chars)) / n_lines
        self.score(doc, "line_punct_ratio", ratio)
        if ratio < p.line_punct_thr and not (ratio == 0 and p.line_punct_exclude_zero):
            return False, "line_punct_ratio"

        ratio = sum(1 for line in lines if len(line) <= p.short_line_length) / n_lines
        self.score(doc, "short_line_ratio", ratio)
        if ratio > p.short_line_thr:
            return False, "short_line_ratio"

        ratio = find_duplicates(lines)[1] / (len(text) - text.count("\n"))
        self.score(doc, "char_dup_ratio", ratio)
        if ratio > p.char_duplicates_ratio:
            return False, "char_dup_ratio"

        n_words = setting.splitter.count_words(text)
        if not n_words:
            # datatrove divides by zero here; only a library tokenizer can find no word in a non-empty
            # line (kiwipiepy drops runs of 20 digits): such a page counts as all list, not as a crash
            return False, "list_ratio"
        ratio = text.count("\n") / n_words
        self.score(doc, "list_ratio", ratio)
        if ratio > p.new_line_ratio:
            return False, "list_ratio"
        return True
