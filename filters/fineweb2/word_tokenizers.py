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
  (``JiebaSplitter``: the same words, without spaCy's Doc); Japanese calls SudachiPy as datatrove's spaCy
  tokenizer does, keeping only the surfaces (``SudachiSplitter``), Vietnamese calls pyvi's CRF as spaCy does
  (``PyviSplitter``) and Burmese pyidaungsu's CRF (``BurmeseSplitter``), the last two on faster-built but equal
  features: the same words (``tests/test_fineweb2_library_splitters.py``), and datatrove's object for any text
  where that path fails;
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
from filters.fineweb2.jieba_cut import JiebaBlockCutter

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
        return self._remember(text, result)

    def _remember(self, text: str, result: list[str]) -> list[str]:
        if len(self._recent) >= RECENT_TEXTS:
            del self._recent[next(iter(self._recent))]
        self._recent[text] = result
        return result


def _strip_words(tokens: list[str]) -> list[str]:
    """datatrove's ``strip_strings``: the stripped tokens, without the blank ones."""
    return [s for s in (t.strip() for t in tokens) if s]


def _aligned_tokens(words: list[str], text: str, space_after: Callable[[int, int], bool]) -> list[str]:
    """The token texts of the spaCy Doc built from ``words`` aligned with ``text``: spaCy's
    ``util.get_words_and_spaces`` (Vietnamese) and datatrove's ``get_dtokens_and_spaces`` (Japanese) walk the text
    the same way: whitespace words are skipped, each other word is found from the current position on
    (``text[pos:].index(word)``, here ``text.index(word, pos)``: the same index without copying the rest of the
    text each time), what it skipped becomes a token of its own, and one space after a word is absorbed where
    ``space_after(i, pos)`` (word ``i`` of ``words``, ``pos`` just after it) says so; what is left of the text is the
    last token. Raises ValueError where they do (words that do not match the text)."""
    if "".join("".join(words).split()) != "".join(text.split()):
        raise ValueError("words do not match the text")
    out: list[str] = []
    pos = 0
    for i, word in enumerate(words):
        if word.isspace():
            continue
        start = text.index(word, pos)
        if start > pos:
            out.append(text[pos:start])
            pos = start
        out.append(word)
        pos += len(word)
        if space_after(i, pos):
            pos += 1
    if pos < len(text):
        out.append(text[pos:])
    return out


class _FastLibrarySplitter(LibrarySplitter):
    """A library tokenizer called more cheaply than through datatrove's object, with the same words.

    ``_fast_words(text)`` computes them; a text containing "IS_ALPHA" (spaCy-based tokenizers: see
    ``filters.words._datatrove``) or on which ``_fast_words`` raises (datatrove would raise too, or an input this
    path was not written for) goes to datatrove's own object, whose answer or error is then datatrove's."""

    spacy_based = False

    def __init__(self, tokenizer_factory: Callable[[], object], name: str):
        super().__init__(tokenizer_factory, name)
        self._loaded = None

    def _tokenizer(self):
        """What ``_load`` returns, loaded on first use (once per process)."""
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    @abstractmethod
    def _load(self):
        """The library objects ``_fast_words`` calls (checked to be those datatrove's object uses)."""

    @abstractmethod
    def _fast_words(self, text: str) -> list[str]:
        """datatrove's words of ``text``, called with the lock held."""

    def words(self, text: str) -> list[str]:
        found = self._recent.get(text)
        if found is not None:
            return found
        if self.spacy_based and "IS_ALPHA" in text:
            return super().words(text)
        with self._lock:
            try:
                result = self._fast_words(text)
            except ImportError as e:
                raise CurationError(f"word tokenizer {self.name!r} is not installed ({e}); run `make install` (the multilingual extra)") from e
            except CurationError:
                raise
            except Exception:  # noqa: BLE001 - datatrove's object decides (its own answer, or its own error)
                result = None
        if result is None:
            return super().words(text)
        return self._remember(text, result)


class JiebaSplitter(_FastLibrarySplitter):
    """datatrove's ``SpaCyTokenizer("zh")`` words (spaCy's Chinese pipeline, jieba segmenter), without spaCy's Doc,
    with a per-process cache of jieba's blocks.

    spaCy's ``ChineseTokenizer`` takes jieba's non-empty pieces (``jieba.cut(text, cut_all=False)``), aligns them
    with the text (whitespace between them becomes whitespace tokens) and datatrove keeps the stripped non-empty
    token texts: jieba's pieces, stripped, without the blank ones. ``jieba.cut`` splits the text with its regex
    ``re_han_default`` into blocks and segments each block alone (dictionary graph plus HMM for a Han block,
    character by character otherwise), so a block's pieces do not depend on the rest of the text: they are
    cached by block. A new Han block is cut by ``JiebaBlockCutter`` (jieba's own route and HMM with fewer
    Python steps: the same pieces, twice as fast).
    """

    spacy_based = True
    MAX_CACHED_BLOCKS = 200_000

    def __init__(self, tokenizer_factory: Callable[[], object], name: str):
        super().__init__(tokenizer_factory, name)
        self._blocks: dict[str, tuple[str, ...]] = {}

    def _load(self):
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading lines would be printed by every worker
        spacy_tokenizer = self._factory().tokenizer.tokenizer  # the pipeline datatrove builds: jieba must be its segmenter
        segmenter = getattr(spacy_tokenizer, "segmenter", None)
        if getattr(segmenter, "value", segmenter) != "jieba":
            raise CurationError(f"spaCy's Chinese pipeline does not segment with jieba ({spacy_tokenizer.segmenter!r})")
        seg = spacy_tokenizer.jieba_seg
        from jieba import finalseg

        return seg, JiebaBlockCutter(seg.dt, finalseg)

    def _fast_words(self, text: str) -> list[str]:
        seg, cutter = self._tokenizer()
        blocks = self._blocks
        if len(blocks) > self.MAX_CACHED_BLOCKS:
            blocks.clear()
        result: list[str] = []
        # the split's capturing group puts the blocks re_han_default matches at the odd places: jieba cuts
        # those with its dictionary and HMM (JiebaBlockCutter, the same pieces), the rest by its skip regex
        for i, block in enumerate(seg.re_han_default.split(text)):
            if not block:
                continue
            pieces = blocks.get(block)
            if pieces is None:
                cut = cutter.cut(block) if i % 2 else seg.cut(block, cut_all=False)
                pieces = blocks[block] = tuple(p.strip() for p in cut if p and p.strip())
            result.extend(pieces)
        return result


class SudachiSplitter(_FastLibrarySplitter):
    """datatrove's ``SpaCyTokenizer("ja")`` words (spaCy's Japanese pipeline with datatrove's ``JapaneseTokenizer``
    over SudachiPy), from SudachiPy's surfaces alone: no DetailedToken (part of speech, dictionary, normalized and
    reading forms), no spaCy Doc.

    datatrove cuts the text with ``chunk_text_on_bytes(text, 40000)`` (the same function is called here); for each
    chunk its tokenizer takes SudachiPy's morphemes (the same ``sudachipy`` Tokenizer object, split mode A), drops
    the empty surfaces, drops a whitespace morpheme tagged 空白 that follows another one (the tag is computed here
    only for whitespace surfaces), aligns the rest with the chunk (``_aligned_tokens``; a space morpheme " " after a
    word is absorbed), builds a Doc of these tokens and keeps their stripped non-empty texts. A chunk of whitespace
    words only is one whitespace token (no word). No per-block cache: SudachiPy's lattice path is chosen over the
    whole chunk (connection costs link neighbouring morphemes), so a block's morphemes are not known to be local.
    """

    spacy_based = True

    def _load(self):
        from datatrove.utils.japanese_tokenizer import JapaneseTokenizer
        from datatrove.utils.word_tokenizers import chunk_text_on_bytes

        ja = self._factory().tokenizer.tokenizer  # the pipeline datatrove builds
        if type(ja) is not JapaneseTokenizer or ja.need_subtokens or ja.split_mode not in (None, "A"):
            raise CurationError(f"spaCy's Japanese pipeline is not datatrove's split-mode-A JapaneseTokenizer ({ja!r})")
        return ja.tokenizer, chunk_text_on_bytes

    def _fast_words(self, text: str) -> list[str]:
        sudachi, chunk_text_on_bytes = self._tokenizer()
        result: list[str] = []
        for chunk in chunk_text_on_bytes(text, 40000):
            result.extend(_strip_words(self._chunk_tokens(sudachi, chunk)))
        return result

    @staticmethod
    def _chunk_tokens(sudachi, chunk: str) -> list[str]:
        kept: list[str] = []
        previous_blank = False
        for m in sudachi.tokenize(chunk):
            surface = m.surface()
            if not surface:
                continue
            blank = surface.isspace() and "-".join(x for x in m.part_of_speech()[:4] if x != "*") == "空白"
            if not (kept and blank and previous_blank):
                kept.append(surface)
            previous_blank = blank
        if not kept:
            if "".join(chunk.split()):
                raise ValueError("no morphemes for a text with words")
            return []
        if all(w.isspace() for w in kept):
            if "".join(chunk.split()) or not chunk.isspace():
                raise ValueError("whitespace morphemes for a text with words")
            return [chunk]
        n = len(kept)
        return _aligned_tokens(kept, chunk, lambda i, pos: i + 1 < n and kept[i + 1] == " ")


class PyviSplitter(_FastLibrarySplitter):
    """datatrove's ``SpaCyTokenizer("vi")`` words (spaCy's Vietnamese pipeline, pyvi's CRF), without spaCy's Doc,
    with pyvi's CRF features built faster.

    spaCy's ``VietnameseTokenizer.pyvi_tokenize`` is followed step by step: its syllable regex (the same method is
    called), pyvi's CRF (the same ``sklearn_crfsuite`` model, ``predict_single``) on features equal to pyvi's
    ``sent2features`` (the same dicts, keys in the same order: each lowercased word, bigram and trigram is computed
    once instead of up to five times), the same merge of syllables; then ``util.get_words_and_spaces``
    (``_aligned_tokens``) and datatrove's stripping. No per-block cache: the CRF labels come from a Viterbi pass over
    the whole text."""

    spacy_based = True

    def _load(self):
        from spacy.lang.vi import VietnameseTokenizer

        vi = self._factory().tokenizer.tokenizer  # the pipeline datatrove builds
        if type(vi) is not VietnameseTokenizer or not vi.use_pyvi:
            raise CurationError(f"spaCy's Vietnamese pipeline does not use pyvi ({vi!r})")
        return vi, vi.ViTokenizer.ViTokenizer

    @staticmethod
    def features(words: list[str], vit) -> list[dict]:
        """pyvi's ``ViTokenizer.sent2features(words, False)``: the same dicts."""
        bi_grams, tri_grams = vit.bi_grams, vit.tri_grams
        n = len(words)
        low = [w.lower() for w in words]
        upper = [w.isupper() for w in words]
        title = [w.istitle() for w in words]
        digit = [w.isdigit() for w in words]
        bi = [False] + [" ".join([words[i - 1], words[i]]).lower() in bi_grams for i in range(1, n)]  # pair ending at i
        tri = [False, False] + [" ".join([words[i - 2], words[i - 1], words[i]]).lower() in tri_grams for i in range(2, n)]
        out = []
        for i in range(n):
            f = {"bias": 1.0, "word.lower()": low[i], "word.isupper()": upper[i], "word.istitle()": title[i], "word.isdigit()": digit[i]}
            if i > 0:
                f["-1:word.lower()"] = low[i - 1]
                f["-1:word.istitle()"] = title[i - 1]
                f["-1:word.isupper()"] = upper[i - 1]
                f["-1:word.bi_gram()"] = bi[i]
                if i > 1:
                    f["-2:word.tri_gram()"] = tri[i]
            if i < n - 1:
                f["+1:word.lower()"] = low[i + 1]
                f["+1:word.istitle()"] = title[i + 1]
                f["+1:word.isupper()"] = upper[i + 1]
                f["+1:word.bi_gram()"] = bi[i + 1]
                if i < n - 2:
                    f["+2:word.tri_gram()"] = tri[i + 2]
            out.append(f)
        return out

    def pyvi_words(self, text: str) -> list[str]:
        """spaCy's ``VietnameseTokenizer.pyvi_tokenize(text)``."""
        import string

        vi, vit = self._tokenizer()
        if len(text) == 0:
            return []
        if text.isspace():
            return [text]
        segs = vi.pyvi_sylabelize_with_ws(text)
        words: list[str] = []
        preceding_ws: list[str] = []
        for i, token in enumerate(segs):
            if not token.isspace():
                words.append(token)
                preceding_ws.append("" if (i == 0 or not segs[i - 1].isspace()) else segs[i - 1])
        labels = vit.model.predict_single(self.features(words, vit))
        if len(labels) != len(words):
            raise ValueError("one CRF label per syllable expected")
        punctuation = string.punctuation
        token = words[0]
        tokens = []
        for i in range(1, len(labels)):
            if (
                labels[i] == "I_W"
                and words[i] not in punctuation
                and words[i - 1] not in punctuation
                and not words[i][0].isdigit()
                and not words[i - 1][0].isdigit()
                and not (words[i][0].istitle() and not words[i - 1][0].istitle())
            ):
                token = token + preceding_ws[i] + words[i]
            else:
                tokens.append(token)
                token = words[i]
        tokens.append(token)
        return tokens

    def _fast_words(self, text: str) -> list[str]:
        words = self.pyvi_words(text)
        n = len(text)
        return _strip_words(_aligned_tokens(words, text, lambda i, pos: pos < n and text[pos] == " "))


class BurmeseSplitter(_FastLibrarySplitter):
    """datatrove's ``BurmeseTokenizer`` words (``pyidaungsu.tokenize(text, form="word")``: a character CRF), with the
    CRF model opened once (pyidaungsu opens it for every text) and its character features built faster.

    pyidaungsu removes the spaces " ", tags each character with its CRF (features: the character n-grams around
    it, ``Tokenize.create_char_features``; here the same strings in the same order, from n-gram lists sliced
    once), puts a space before each character tagged "1" and splits on whitespace. No per-block cache: the labels
    come from a Viterbi pass over the whole text."""

    def _load(self):
        import os

        import pycrfsuite

        pds_tokenize = importlib.import_module("pyidaungsu.tokenize")  # the module (the package's ``tokenize`` is a function)
        tagger = pycrfsuite.Tagger()
        tagger.open(os.path.join(os.path.abspath(os.path.dirname(pds_tokenize.__file__)), "model/tokenizer.crfsuite"))
        return tagger

    @staticmethod
    def _edge_features(s: str, i: int) -> list[str]:
        """pyidaungsu's ``Tokenize.create_char_features(s, i)``, as written there (for the first and last positions)."""
        n = len(s)
        f = ["bias", "char=" + s[i]]
        if i >= 1:
            f += ["char-1=" + s[i - 1], "char-1:0=" + s[i - 1] + s[i]]
        else:
            f.append("BOS")
        if i >= 2:
            f += ["char-2=" + s[i - 2], "char-2:0=" + s[i - 2] + s[i - 1] + s[i], "char-2:-1=" + s[i - 2] + s[i - 1]]
        if i >= 3:
            f += ["char-3:0=" + s[i - 3] + s[i - 2] + s[i - 1] + s[i], "char-3:-1=" + s[i - 3] + s[i - 2] + s[i - 1]]
        if i + 1 < n:
            f += ["char+1=" + s[i + 1], "char:+1=" + s[i] + s[i + 1]]
        else:
            f.append("EOS")
        if i + 2 < n:
            f += ["char+2=" + s[i + 2], "char:+2=" + s[i] + s[i + 1] + s[i + 2], "char+1:+2=" + s[i + 1] + s[i + 2]]
        if i + 3 < n:
            f += ["char:+3=" + s[i] + s[i + 1] + s[i + 2] + s[i + 3], "char+1:+3=" + s[i + 1] + s[i + 2] + s[i + 3]]
        return f

    @classmethod
    def features(cls, s: str) -> list:
        """``Tokenize().create_sentence_features(s)``: for each character the same feature strings in the same order
        (lists at the edges, tuples inside: pycrfsuite reads both as lists of attribute names)."""
        n = len(s)
        if n < 7:
            return [cls._edge_features(s, i) for i in range(n)]
        b = [s[i : i + 2] for i in range(n - 1)]  # b[i]: the bigram starting at i
        t = [s[i : i + 3] for i in range(n - 2)]
        q = [s[i : i + 4] for i in range(n - 3)]
        m = n - 3  # the middle positions: 3 <= i < n - 3
        middle = zip(
            ["bias"] * (m - 3),
            ["char=" + x for x in s[3:m]],
            ["char-1=" + x for x in s[2 : m - 1]],
            ["char-1:0=" + x for x in b[2 : m - 1]],
            ["char-2=" + x for x in s[1 : m - 2]],
            ["char-2:0=" + x for x in t[1 : m - 2]],
            ["char-2:-1=" + x for x in b[1 : m - 2]],
            ["char-3:0=" + x for x in q[0 : m - 3]],
            ["char-3:-1=" + x for x in t[0 : m - 3]],
            ["char+1=" + x for x in s[4 : m + 1]],
            ["char:+1=" + x for x in b[3:m]],
            ["char+2=" + x for x in s[5 : m + 2]],
            ["char:+2=" + x for x in t[3:m]],
            ["char+1:+2=" + x for x in b[4 : m + 1]],
            ["char:+3=" + x for x in q[3:m]],
            ["char+1:+3=" + x for x in t[4 : m + 1]],
        )
        return [cls._edge_features(s, i) for i in range(3)] + list(middle) + [cls._edge_features(s, i) for i in range(m, n)]

    def _fast_words(self, text: str) -> list[str]:
        sent = text.replace(" ", "")
        labels = self._tokenizer().tag(self.features(sent))
        if len(labels) != len(sent):
            raise ValueError("one CRF label per character expected")
        complete = "".join([" " + c if p == "1" else c for c, p in zip(sent, labels)])
        return _strip_words(complete.strip().split())


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
    fast = {"jieba": JiebaSplitter, "sudachipy": SudachiSplitter, "pyvi": PyviSplitter, "pyidaungsu": BurmeseSplitter}
    return fast.get(a.used, LibrarySplitter)(factory, a.used)


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
