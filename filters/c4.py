"""C4's line and document rules (Raffel et al. 2020), as datatrove 0.10.1's ``C4QualityFilter``.

Same decisions, reasons and text changes as datatrove with the same settings, with one
different default: ``filter_no_terminal_punct`` is False here, because FineWeb runs
``C4QualityFilter(filter_no_terminal_punct=False)`` (datatrove's own default is True).

The filter edits the text: it keeps only the lines that pass (stripped, with Wikipedia-style
citations removed) joined by newlines. The costly part of datatrove's version is splitting every
kept line into sentences with spaCy; the decision only needs to know whether there are at least
``min_num_sentences`` of them, so lines are split only until that many are counted (each kept
line holds at least one), and the count replays spaCy's sentencizer on cached words
(``filters.words.count_sentences``). ``c4_sentences`` in the metadata is therefore capped at
``min_num_sentences`` (when counting is on). Line removals are counted in the step's counters
(``line-filter-<why>``, as datatrove's stats).
"""

from __future__ import annotations

import re
from typing import ClassVar

from curation.document import Document
from curation.step import Score, StepParams, Threshold
from filters import words as _words
from filters.base import BaseFilter

CITATION_REGEX = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


class C4QualityParams(StepParams):
    split_paragraph: bool = True  # False: apply the rules to spaCy sentences instead of lines
    remove_citations: bool = True
    filter_no_terminal_punct: bool = False  # FineWeb's setting; datatrove's default is True
    min_num_sentences: int = 5  # -1 disables
    min_words_per_line: int = 3  # -1 disables
    max_word_length: int = 1000  # -1 disables
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


class C4QualityFilter(BaseFilter):
    """Drop lines and documents by C4's heuristics; rewrites ``doc.text`` with the kept lines."""

    name = "c4_quality"
    Params = C4QualityParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("c4_lines_removed_frac", note="share of lines C4's line rules removed"),
        # of the documents the sentence rule judges
        Score("c4_sentences", 0.0, 10.0, 10, thresholds=(Threshold("min_num_sentences", "min"),), unit="sentences, counted until there are enough",
              explains=("too_few_sentences",), note="counting stops at the line that reaches min_num_sentences: values above it are not totals"),
    )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        p = self.params
        text = doc.text
        lines = text.splitlines() if p.split_paragraph else _words.split_sentences(text)

        count_sentences = p.min_num_sentences != -1
        enough = p.min_num_sentences
        sentences_in = _words.count_sentences
        if "IS_ALPHA" in text:
            # datatrove's tokenizer answers such texts by what it saw before: let it split every
            # kept line, as it does in datatrove's pipeline (see filters.words._datatrove)
            enough = float("inf")
            dt_text = _words._datatrove()
            sentences_in = lambda line: len(dt_text.split_into_sentences(line, "eng"))  # noqa: E731
        num_sentences = 0
        kept_lines = []
        removed = {"too_long_word": 0, "no_terminal_punc": 0, "too_few_words": 0, "javascript": 0, "policy": 0}
        verdict: bool | tuple[bool, str] = True

        for line in lines:
            line = line.strip()
            words = line.split()
            # a word longer than max_word_length needs a line longer than that: most lines are not
            if p.max_word_length != -1 and len(line) > p.max_word_length and max(map(len, words)) > p.max_word_length:
                removed["too_long_word"] += 1
                continue
            if p.remove_citations and "[" in line:
                line = CITATION_REGEX.sub("", line)
            if p.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS)):
                removed["no_terminal_punc"] += 1
                continue
            if len(words) < p.min_words_per_line:
                removed["too_few_words"] += 1
                continue
            line_l = line.lower()
            if p.filter_lorem_ipsum and "lorem ipsum" in line_l:
                verdict = (False, "lorem_ipsum")
                break
            if p.filter_javascript and "javascript" in line_l:
                removed["javascript"] += 1
                continue
            if p.filter_curly_bracket and "{" in line:
                verdict = (False, "curly_bracket")
                break
            if p.filter_policy and any(s in line_l for s in POLICY_SUBSTRINGS):
                removed["policy"] += 1
                continue
            if count_sentences and num_sentences < enough:
                num_sentences += sentences_in(line) if p.split_paragraph else 1
            kept_lines.append(line)

        stats = getattr(self, "stats", None)
        if stats is not None:
            for what, n in removed.items():
                if n:
                    stats.count(f"line-filter-{what}", n)
            if lines:
                stats.observe("c4_lines_removed_frac", sum(removed.values()) / len(lines))
        if count_sentences:
            doc.metadata["c4_sentences"] = num_sentences
        if verdict is not True:
            return verdict
        if count_sentences and stats is not None:
            stats.observe("c4_sentences", num_sentences)
        if num_sentences < p.min_num_sentences:
            return False, "too_few_sentences"

        doc.text = ("\n" if p.split_paragraph else " ").join(kept_lines).strip()
        return True
