"""Word 5-gram Jaccard, as MinHash deduplication sees a text (no datatrove needed)."""

from __future__ import annotations

import re
import string
import unicodedata

SHINGLE_WORDS = 5

_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
# datatrove's PUNCTUATION restricted to ASCII: every ASCII punctuation mark and control character
_ASCII_PUNCT = str.maketrans({c: " " for c in string.punctuation + "".join(
    map(chr, [*range(0, 9), *range(11, 32), *range(127, 160)]))})


def _simple_words(text: str) -> list[str]:
    """The words of ``datatrove.utils.text.simplify_text(text)`` (default config).

    Exact for ASCII text (every generated English article is ASCII): lowercase, numbers -> "0",
    punctuation -> space, whitespace collapsed.  Other text is approximated (Unicode
    punctuation and symbols -> space, diacritics removed).
    """
    low = text.lower()
    if not low.isascii():
        low = "".join(" " if unicodedata.category(c)[0] in "PSC" and not c.isspace() else c
                      for c in unicodedata.normalize("NFD", low) if unicodedata.category(c) != "Mn")
    return _NUMBER.sub("0", low).translate(_ASCII_PUNCT).split()


def _shingles(text: str, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    w = _simple_words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def shingle_jaccard(a: str, b: str, n: int = SHINGLE_WORDS) -> float:
    """Jaccard similarity of the sets of word ``n``-grams of two texts (after simplify_text)."""
    sa, sb = _shingles(a, n), _shingles(b, n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def article_text(blocks) -> str:
    """The text of an article's blocks (headings, paragraphs, list items), one per line."""
    lines = []
    for kind, content in blocks:
        if kind in ("p", "h2"):
            lines.append(content)
        elif kind == "ul":
            lines.extend(content)
    return "\n".join(lines)
