"""Cheap screens before the extractor: settle a page's fate without paying for trafilatura.

trafilatura is most of the pipeline's CPU time (about 29 ms a page, 44 ms as shipped), and on a Common Crawl mix more
than half the pages are in a language that a FineWeb-style run then drops. The ``screen`` step reads
the page's visible text with resiliparse (lexbor, about 1 ms a page: every text node, form fields and
``<noscript>`` included, so that it holds whatever trafilatura could pick; lid.176 on it takes about
1.5 ms more) and drops:

- ``other_language``: every language the run keeps (``languages``, the language step's list) scores
  below ``other_language_below`` in lid.176 (the language step's model) on that text. The page's
  best language is counted as the language step counts it (``language:<code>``), so the run's
  language mix still covers every page. The language step keeps a page when a kept language
  scores *above* its threshold (FineWeb: English above 0.65) on trafilatura's text; on every real
  page we have, the pages the language step keeps score 0.37 or more for English on the screen's
  text, and the real non-English pages score below 0.04.
- ``too_few_words``: the visible text has fewer than ``min_words`` whitespace-separated words,
  far below Gopher's minimum of 50 (trafilatura's text of a page had at most twice the screen's
  word count on the real pages: it repeats some text).

Each screen is off unless set (``languages`` empty, ``min_words`` 0); ``pipelines/fineweb.yaml``
sets both to the values measured on every real page available (``bench/bench_screens.py``; every
difference from the unscreened run is listed in BENCHMARKS.md). A page the screens cannot read
(resiliparse fails) goes on to the extractor unscreened, counted as ``unscreened``. The screens add
nothing to the documents they let through, so a screened run writes the same bytes for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import field_validator

from curation.document import Document
from curation.errors import ConfigError
from curation.stats import StepStats
from curation.step import DocumentStep, PipelineStep, StepParams

# All visible text, with what trafilatura may read and resiliparse skips by default.
VISIBLE_TEXT = {"main_content": False, "form_fields": True, "noscript": True, "alt_texts": True, "comments": True, "list_bullets": False}


class ScreenParams(StepParams):
    # The languages the run keeps (the language step's `languages`); empty: no language screen.
    languages: tuple[str, ...] = ()
    # Drop a page when each of `languages` scores below this on its visible text.
    other_language_below: float = 0.05
    # Drop a page whose visible text has fewer words than this; 0: no word screen.
    min_words: int = 0

    @field_validator("languages", mode="before")
    @classmethod
    def _one_language(cls, value):
        return (value,) if isinstance(value, str) else value

    @field_validator("other_language_below")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError("must be a probability between 0 and 1 (exclusive)")
        return value


def visible_text(html: str) -> str:
    """Every visible word of a page (resiliparse, no main-content heuristics)."""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, **VISIBLE_TEXT)


def language_scores(text: str, at_least: float) -> list[tuple[str, float]]:
    """lid.176's labels scoring at least ``at_least`` on ``text``, best first (the language step's
    model and preprocessing: newlines to spaces)."""
    from filters.language import load_model

    labels, scores = load_model().predict(text.replace("\n", " "), k=-1, threshold=at_least)
    return [(lab[9:], float(s)) for lab, s in zip(labels, scores)]  # "__label__en" -> "en"


def kept_language_scores(text: str, languages: tuple[str, ...], at_least: float) -> dict[str, float]:
    """The scores of ``languages`` on ``text`` that reach ``at_least``."""
    wanted = set(languages)
    return {lang: s for lang, s in language_scores(text, at_least) if lang in wanted}


class ExtractionScreen(DocumentStep):
    """Drop pages whose fate is settled before extraction: ``other_language``, ``too_few_words``."""

    name = "screen"
    Params = ScreenParams

    def preflight(self) -> None:
        if self.params.languages:
            from curation.assets import lid176_path

            lid176_path()  # a one-line error naming the missing model file

    def check_pipeline(self, stages: dict[str, list[PipelineStep]]) -> None:
        """The language screen must keep what the language step keeps: the same languages."""
        if not self.params.languages:
            return
        for steps in stages.values():
            for step in steps:
                wanted = getattr(step.params, "languages", None) if step.name == "language" else None
                if step.name == "language" and (wanted is None or set(wanted) != set(self.params.languages)):
                    raise ConfigError(f"step {self.label!r} screens for languages {list(self.params.languages)} but step {step.label!r} keeps "
                                      f"{'every language' if wanted is None else list(wanted)}: give both the same languages (or drop the screen)")

    def warm_up(self) -> None:
        self.verdict("<html><body><p>Warm-up.</p></body></html>")  # loads resiliparse, and lid.176 when screening languages

    def verdict(self, html: str) -> tuple[str | None, tuple[str, float] | None]:
        """(the reason to drop the page or None to extract it, the page's best language and score
        when the language screen looked at it)."""
        p: ScreenParams = self.params
        text = visible_text(html)
        if p.min_words and len(text.split()) < p.min_words:
            return "too_few_words", None
        if not p.languages or not text.strip():  # a page without text is no evidence of a language
            return None, None
        scores = language_scores(text, p.other_language_below)
        if any(lang in p.languages for lang, _ in scores):
            return None, scores[0]
        return "other_language", scores[0] if scores else language_scores(text, 0.0)[0]

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        p: ScreenParams = self.params
        if not p.languages and not p.min_words:
            yield from docs
            return
        for doc in docs:
            try:
                reason, best = self.verdict(doc.text)
            except Exception:  # noqa: BLE001 - resiliparse refuses the page: the extractor decides
                stats.count("unscreened")
                yield doc
                continue
            if reason is None:
                yield doc  # untouched: the language step labels it later
                continue
            if best is not None:
                # the run's language mix (`curation stats`, the report) counts the pages the language
                # step never sees; the sampled dropped page shows its language
                stats.count(f"language:{best[0]}")
                doc.metadata["language"], doc.metadata["language_score"] = best
            stats.drop(doc, reason)
