"""Word tokenizers per language, as FineWeb-2 assigns them, offline; each loads once per worker process.

FineWeb-2 gives every datatrove filter ``language="<iso639-3>_<Script>"``, and datatrove picks the word
tokenizer from its table ``assets/tokenizer_assignment.csv`` (``load_word_tokenizer``): for each of the
1,929 codes a tokenizer class and its argument, often a related language's (a "proxy"). Here:

- ``SpaCyTokenizer(<lang>)`` and ``WhitespaceTokenizer`` (= spaCy ``xx``) with spaCy's rule-based
  tokenizer (all spaCy languages the table uses but ``zh``, ``ja``, ``vi``): ``filters.words.SpacyWords``,
  spaCy's own tokenizer with a per-process chunk cache (exact: see ``filters/words.py``);
- ``SpaCyTokenizer("zh")`` (jieba), ``("ja")`` (SudachiPy, datatrove's leak-free wrapper), ``("vi")`` (pyvi),
  ``ThaiTokenizer`` (pythainlp), ``KiwiTokenizer`` (kiwipiepy, Korean), ``IndicNLPTokenizer`` (indic-nlp-library),
  ``BurmeseTokenizer`` (pyidaungsu), ``KhmerTokenizer`` (khmer-nltk), ``LaoTokenizer`` (laonlp): datatrove's
  own class, built once per process per tokenizer (not per language code), on packages whose models ship in
  their wheels (the ``multilingual`` extra); Chinese calls jieba as spaCy does, block by block with a cache
  (``JiebaSplitter``: the same words, without spaCy's Doc);
- ``StanzaTokenizer`` (98 codes) and ``TibetanTokenizer`` (botok; 3 codes) download their models on first use,
  which a run may never do: those codes fall back to the whitespace tokenizer (spaCy ``xx``), and
  ``assignment(code).fallback`` says why. Their decisions are FineWeb-2's thresholds on different words.

The three filters of a stage ask for the same text's words in turn: the last few texts' words are kept
(as datatrove's ``lru_cache`` on ``split_into_words`` does). ``python -m filters.fineweb2.word_tokenizers``
writes the table of every code's tokenizer (``docs/fineweb2_tokenizers.md``).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curation.errors import CurationError
from curation.resources import worker_resource
from filters import words as _spacy_words

# datatrove class -> (what runs here, the packages it imports)
_LIBRARY_TOKENIZERS = {
    "ThaiTokenizer": ("pythainlp", ("pythainlp",)),
    "KiwiTokenizer": ("kiwipiepy", ("kiwipiepy", "kiwipiepy_model")),
    "IndicNLPTokenizer": ("indic-nlp-library", ("indicnlp",)),
    "BurmeseTokenizer": ("pyidaungsu", ("pyidaungsu",)),
    "KhmerTokenizer": ("khmer-nltk", ("khmernltk",)),
    "LaoTokenizer": ("laonlp", ("laonlp",)),
}
# spaCy languages whose blank pipeline has its own (non rule-based) tokenizer
_SPACY_LIBRARY = {"zh": ("jieba", ("jieba",)), "ja": ("sudachipy", ("sudachipy", "sudachidict_core")), "vi": ("pyvi", ("pyvi",))}
_DOWNLOADING = {
    "StanzaTokenizer": "stanza downloads its models on first use",
    "TibetanTokenizer": "botok downloads its dialect pack on first use",
}
WHITESPACE = "spacy:xx"
RECENT_TEXTS = 4


@dataclass(frozen=True)
class Assignment:
    """Which word tokenizer a language gets: datatrove's choice and what runs here."""

    code: str  # <iso639-3>_<Script>
    datatrove: str  # datatrove's class, e.g. SpaCyTokenizer
    argument: str  # its argument, e.g. "fr" ("" for none)
    used: str  # what runs here: "spacy:<lang>" (rule-based, cached), or a library name
    fallback: str | None = None  # why datatrove's tokenizer is not used (then ``used`` is spacy:xx)

    @property
    def packages(self) -> tuple[str, ...]:
        """The modules it needs beyond spaCy."""
        if self.fallback:
            return ()
        if self.datatrove in _LIBRARY_TOKENIZERS:
            return _LIBRARY_TOKENIZERS[self.datatrove][1]
        if self.datatrove == "SpaCyTokenizer" and self.argument in _SPACY_LIBRARY:
            return _SPACY_LIBRARY[self.argument][1]
        return ()


def _assign(code: str, cls: str, arg: str) -> Assignment:
    if cls in _DOWNLOADING:
        return Assignment(code, cls, arg, WHITESPACE, _DOWNLOADING[cls])
    if cls == "WhitespaceTokenizer":
        return Assignment(code, cls, arg, WHITESPACE)
    if cls == "SpaCyTokenizer":
        return Assignment(code, cls, arg, _SPACY_LIBRARY[arg][0] if arg in _SPACY_LIBRARY else f"spacy:{arg}")
    if cls in _LIBRARY_TOKENIZERS:
        name = _LIBRARY_TOKENIZERS[cls][0]
        return Assignment(code, cls, arg, f"{name}:{arg}" if arg else name)
    raise ValueError(f"{code}: unknown datatrove tokenizer class {cls!r}")


@functools.cache
def assignments() -> dict[str, Assignment]:
    """Every ``<iso639-3>_<Script>`` of datatrove's table (its first row wins, as in datatrove)."""
    from curation.assets import datatrove_assets

    path = datatrove_assets() / "tokenizer_assignment.csv"
    out: dict[str, Assignment] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row["type"]:
                continue
            code = f"{row['code_3']}_{row['script']}"
            if code not in out:
                out[code] = _assign(code, row["type"], row["tok_code"])
    return out


def assignment(code: str) -> Assignment | None:
    return assignments().get(code)


def missing_packages() -> dict[str, list[str]]:
    """Modules the assigned tokenizers need that are not installed -> the codes that need them."""
    missing: dict[str, list[str]] = {}
    for a in assignments().values():
        for module in a.packages:
            if importlib.util.find_spec(module) is None:
                missing.setdefault(module, []).append(a.code)
    return missing


# ---------------------------------------------------------------------------------------------
# The splitters


class Splitter(ABC):
    """The words of a text in one language: ``words(text)`` (shared list: do not modify it).

    ``spaced``: words may contain spaces (pyvi joins syllables, "Hôm nay"), so an n-gram's word
    tuple and its ``" ".join`` are not interchangeable."""

    spaced = True

    @abstractmethod
    def words(self, text: str) -> list[str]:
        """The words of ``text``, as datatrove's word tokenizer of the language splits it."""

    def count_words(self, text: str) -> int:
        return len(self.words(text))


class SpacySplitter(Splitter):
    """A rule-based spaCy pipeline through the chunk cache of ``filters.words``."""

    spaced = False

    def __init__(self, lang: str, key: object):
        self.cache = _spacy_words.spacy_words(lang)
        self.key = key  # what datatrove is asked for texts containing "IS_ALPHA"

    def words(self, text: str) -> list[str]:
        return self.cache.words(text, self.key)

    def count_words(self, text: str) -> int:
        return self.cache.count_words(text, self.key)


class LibrarySplitter(Splitter):
    """datatrove's own tokenizer class (one instance per process), with the last few texts' words kept."""

    def __init__(self, tokenizer_factory: Callable[[], object], name: str):
        self._factory = tokenizer_factory
        self.name = name
        self._recent: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def words(self, text: str) -> list[str]:
        found = self._recent.get(text)
        if found is not None:
            return found
        tokenizer = self._factory()
        with self._lock:  # the libraries are not documented as thread-safe
            try:
                result = tokenizer.word_tokenize(text)
            except ImportError as e:
                raise CurationError(f"word tokenizer {self.name!r} is not installed ({e}); run `make install` (the multilingual extra)") from e
        if len(self._recent) >= RECENT_TEXTS:
            del self._recent[next(iter(self._recent))]
        self._recent[text] = result
        return result


class JiebaSplitter(LibrarySplitter):
    """datatrove's ``SpaCyTokenizer("zh")`` words (spaCy's Chinese pipeline, jieba segmenter), without spaCy's Doc,
    with a per-process cache of jieba's blocks.

    spaCy's ``ChineseTokenizer`` takes jieba's non-empty pieces (``jieba.cut(text, cut_all=False)``), aligns them
    with the text (whitespace between them becomes whitespace tokens) and datatrove keeps the stripped non-empty
    token texts: jieba's pieces, stripped, without the blank ones. ``jieba.cut`` splits the text with its regex
    ``re_han_default`` into blocks and segments each block alone (dictionary graph plus HMM for a Han block,
    character by character otherwise), so a block's pieces do not depend on the rest of the text: they are
    cached by block. Texts containing "IS_ALPHA" go to datatrove's own tokenizer (see ``filters.words._datatrove``).
    """

    MAX_CACHED_BLOCKS = 200_000

    def __init__(self, tokenizer_factory: Callable[[], object], name: str):
        super().__init__(tokenizer_factory, name)
        self._blocks: dict[str, tuple[str, ...]] = {}

    def _jieba(self):
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading lines would be printed by every worker
        spacy_tokenizer = self._factory().tokenizer.tokenizer  # the pipeline datatrove builds: jieba must be its segmenter
        segmenter = getattr(spacy_tokenizer, "segmenter", None)
        if getattr(segmenter, "value", segmenter) != "jieba":
            raise CurationError(f"spaCy's Chinese pipeline does not segment with jieba ({spacy_tokenizer.segmenter!r})")
        return spacy_tokenizer.jieba_seg

    def words(self, text: str) -> list[str]:
        found = self._recent.get(text)
        if found is not None:
            return found
        if "IS_ALPHA" in text:
            return super().words(text)
        with self._lock:
            seg = self._jieba()
            blocks = self._blocks
            if len(blocks) > self.MAX_CACHED_BLOCKS:
                blocks.clear()
            result: list[str] = []
            for block in seg.re_han_default.split(text):
                if not block:
                    continue
                pieces = blocks.get(block)
                if pieces is None:
                    pieces = blocks[block] = tuple(p.strip() for p in seg.cut(block, cut_all=False) if p and p.strip())
                result.extend(pieces)
        if len(self._recent) >= RECENT_TEXTS:
            del self._recent[next(iter(self._recent))]
        self._recent[text] = result
        return result


@functools.cache
def _whitespace_tokenizer():
    """The key datatrove is given for texts with "IS_ALPHA" in fallback languages: its WhitespaceTokenizer."""
    from datatrove.utils.word_tokenizers import WhitespaceTokenizer

    return WhitespaceTokenizer()


@worker_resource
def _datatrove_tokenizer(cls: str, arg: str):
    """One datatrove tokenizer per (class, argument) per process: languages that share a proxy share it."""
    import logging

    from datatrove.utils import word_tokenizers as wt

    logging.getLogger("jieba").setLevel(logging.WARNING)  # not a line per worker about its dictionary
    tokenizer_class = getattr(wt, cls)
    return tokenizer_class(arg) if arg else tokenizer_class()


@functools.cache
def splitter(code: str) -> Splitter:
    """The word splitter of FineWeb-2 language ``code`` (one per process; nothing loads until its first text)."""
    a = assignment(code)
    if a is None:
        raise CurationError(f"language {code!r} has no word tokenizer in datatrove's tokenizer_assignment.csv")
    if a.used.startswith("spacy:"):
        lang = a.used.split(":", 1)[1]
        return SpacySplitter(lang, _whitespace_tokenizer() if a.fallback else code)
    factory = functools.partial(_datatrove_tokenizer, a.datatrove, a.argument)
    if a.used == "jieba":
        return JiebaSplitter(factory, a.used)
    return LibrarySplitter(factory, a.used)


def words(text: str, code: str) -> list[str]:
    """``datatrove.utils.text.split_into_words(text, code)``, offline (fallbacks: see ``assignment``)."""
    return splitter(code).words(text)


# ---------------------------------------------------------------------------------------------
# The table for the README


def table() -> str:
    """Markdown: every FineWeb-2 config's tokenizer, grouped by what runs here."""
    from filters.fineweb2 import language_codes

    groups: dict[tuple[str, str | None], list[str]] = {}
    for code in language_codes():
        a = assignment(code)
        groups.setdefault((a.used, a.fallback), []).append(code)
    lines = [
        "# Word tokenizers of the FineWeb-2 languages",
        "",
        "Generated by `python -m filters.fineweb2.word_tokenizers` from datatrove's `assets/tokenizer_assignment.csv`:",
        "for each FineWeb-2 config, the tokenizer that splits its words here. `spacy:<lang>` is spaCy's blank",
        "rule-based pipeline of `<lang>` (`xx`: the multi-language one, datatrove's whitespace tokenizer).",
        "",
        "| runs here | datatrove's choice | configs | codes |",
        "|---|---|---|---|",
    ]
    for (used, fallback), codes in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][0])):
        chosen = sorted({f"{assignment(c).datatrove}({assignment(c).argument})" for c in codes})
        note = f" **fallback**: {fallback}" if fallback else ""
        shown = ", ".join(codes)
        lines.append(f"| {used}{note} | {', '.join(chosen)} | {len(codes)} | {shown} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0] if argv else Path(__file__).resolve().parents[2] / "docs" / "fineweb2_tokenizers.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table(), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
