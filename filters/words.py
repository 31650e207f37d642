"""Word and sentence splitting identical to datatrove's spaCy tokenizers (``load_word_tokenizer("eng")`` and
every other language whose tokenizer is a spaCy blank pipeline), with a per-process chunk cache.

datatrove splits words with spaCy's blank English pipeline (``spacy.blank("en")`` plus a
sentencizer), inside a memory zone, and drops whitespace tokens (``strip_strings``). That is the
largest cost of the FineWeb filters (~25 µs per whitespace-separated chunk, every time: the
memory zone turns spaCy's own cache off, and every new string gets a lexeme with ~20 attributes
computed in Python). Here the same spaCy tokenizer splits each distinct chunk once per process
(on a vocabulary without lexeme attributes, which the token texts do not depend on) and the
words of each chunk are cached.

Why the words of a text are the words of its chunks
---------------------------------------------------
spaCy's tokenizer (``Tokenizer._tokenize_affixes``) cuts the text into runs of whitespace and
non-whitespace characters (``str.isspace``, the same test as ``str.split()`` and re's ``\\s``)
and splits each non-whitespace run (a "chunk") by prefix/suffix/infix rules and special cases
that look at the chunk alone; whitespace runs become whitespace tokens, which datatrove drops.
The one step that looks across chunks is ``_apply_special_cases``: a PhraseMatcher over the
whole token sequence, with a pattern per special case whose string has an affix (``":)"`` ->
``":" ")"``). A match across a chunk boundary is never applied (its text has a space, no special
case has), but it can shadow an overlapping match inside a chunk (``"=( :)"`` keeps ``":" ")"``
although ``":)"`` alone is one token). That needs (1) a boundary whose two edge tokens, as the
matcher sees them, are adjacent in some pattern (``_Spacy.pairs``; edge tokens from a second
tokenizer with the same rules and no matcher patterns) and (2) next to it, a chunk holding a
match that changes tokens (``_ACTIVE``). Only then is the run of chunks joined by such boundaries
tokenized by spaCy as one piece (a match can only extend over such boundaries, so the run's
tokens do not depend on the rest of the text). Multi-token patterns never contain whitespace
tokens (checked at load), so chunks can be tokenized together, joined by newlines.

The cache lives in a ``SpacyWords`` per spaCy language (``spacy_words(lang)``; English is
``ENGLISH``, behind the module-level ``words``/``count_words``/``count_sentences``). Everything above
holds for any spaCy language whose tokenizer is spaCy's rule-based ``Tokenizer`` (every one datatrove's
FineWeb-2 assignment uses but ``zh``, ``ja`` and ``vi``): only the rules differ, and they are read
from the pipeline. The plain-word shortcut (``_plain_tokens``: no spaCy call for a word with one
English punctuation mark) was checked for English's rules only, so other languages do without it.
Every language's new chunks are given to ``filters.spacy_affixes.AffixTokenizer`` (spaCy's affix loop
and special cases in Python, on the pipeline's own regexes and rules): the tokens spaCy's matcher sees. Where
it can change them (an effectful pattern among them) ``_Spacy.matched`` does what the matcher does, and so
for a run of chunks tokenized as one piece. With the rules kept by an earlier process
(``filters.spacy_spec``), spaCy is imported only for the whole-text paths (texts containing "IS_ALPHA",
languages where ``safe`` or ``sentence_fast_path`` is false) and for a language whose rules are not plain data.

Sentences (C4's count) replay spaCy's Sentencizer on the cached words plus the whitespace tokens
spaCy makes; texts containing ``"IS_ALPHA"`` go to datatrove itself (see ``_datatrove``).

``tests/test_filters_words.py`` checks all this against datatrove on real pages and on generated
text made of special-case strings (where chunk-by-chunk words alone would be wrong).
"""

from __future__ import annotations

import bisect
import re
import threading
import types
from collections.abc import Callable
from itertools import chain, compress, islice
from typing import Any

from curation.resources import worker_resource
from filters import spacy_spec
from filters.spacy_affixes import AffixTokenizer

# The chunk cache of a language is cleared when it grows past either bound (~300 bytes a chunk:
# ~75 MB), and every language's when all of them together hold more than MAX_TOTAL_CACHED_CHARS.
MAX_CACHED_CHUNKS = 250_000
MAX_CACHED_CHARS = 5_000_000
MAX_TOTAL_CACHED_CHARS = 12_000_000

_lock = threading.Lock()


def _import_spacy():
    """``import spacy`` without two things tokenizing never touches. torch: where the trainer extra
    installs it, spaCy's thinc imports it, a second per worker process. spaCy's command-line
    interface: ``spacy/__init__`` imports ``spacy.cli`` for one function, ``info``, and with it typer,
    weasel and every command (0.2 s and ~360 modules per worker). Both stand-ins are gone once spaCy
    is in: a later ``import torch`` or ``import spacy.cli`` gets the real module, and ``spacy.info``
    calls the real function."""
    import sys

    if "spacy" in sys.modules:
        import spacy

        return spacy

    def info(*args, **kwargs):
        from spacy.cli.info import info as real

        return real(*args, **kwargs)

    cli = types.ModuleType("spacy.cli")
    cli.__path__ = []  # a package, so that spacy.cli.info can be its module
    cli_info = types.ModuleType("spacy.cli.info")
    cli_info.info = info  # type: ignore[attr-defined]
    stand_ins = {"torch": None, "spacy.cli": cli, "spacy.cli.info": cli_info}  # None: `import torch` raises ImportError
    added = [name for name in stand_ins if name not in sys.modules]
    sys.modules.update({name: stand_ins[name] for name in added})  # type: ignore[misc]
    try:
        import spacy
    finally:
        for name in added:
            if sys.modules.get(name, 0) is stand_ins[name]:
                del sys.modules[name]
    return spacy


class _Spacy:
    """One language's tokenizer rules, built once per process by ``spacy_objects()`` / ``spacy_pipeline(lang)``.

    The rules (``rules``, ``affixes``, ``pairs``, ``effectful``, ``patterns``, ...) come from the blank
    pipeline, or from what an earlier process kept of it (``filters.spacy_spec``): then spaCy is imported
    only when a text needs datatrove's whole pipeline (``nlp``).
    """

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self._lock = threading.RLock()
        self._nlp = None  # datatrove's own pipeline, built on first use (``nlp``)
        self.from_spacy = True  # False: the rules were read from what an earlier process kept
        kept = spacy_spec.load(lang)
        if kept is not None:
            regexes = {name: spacy_spec.compiled(kept["regexes"][name]) for name in spacy_spec.REGEXES}
            self._apply(kept, types.SimpleNamespace(**regexes), spacy_spec.is_punct)
            self.from_spacy = False
            return
        data, tokenizer, is_punct = self._derive()
        self._apply(data, tokenizer, is_punct)
        if data["regexes"] is not None and is_punct is _lex_attr_is_punct():
            spacy_spec.save(lang, {**data, "is_punct": spacy_spec.DEFAULT_IS_PUNCT})

    def _derive(self) -> tuple[dict, Any, Callable[[str], bool]]:
        """The rules from spaCy's blank pipeline (as ``spacy_spec`` keeps them), its tokenizer and its
        ``is_punct``."""
        spacy = _import_spacy()
        from spacy.attrs import IS_PUNCT, ORTH
        from spacy.pipeline import Sentencizer
        from spacy.tokenizer import Tokenizer

        # The blank pipeline's tokenizer on a vocabulary that computes no lexeme attributes (is_alpha,
        # like_num, shape, ...): the token texts do not depend on them, and computing them for
        # every new string is half the cost of tokenizing. Used for the chunks.
        fast = spacy.blank(self.lang)
        tok = fast.tokenizer
        if type(tok) is not Tokenizer:
            raise ValueError(f"spaCy {self.lang!r} has its own tokenizer ({type(tok).__name__}), not the rule-based one this cache reproduces")
        # The sentencizer's inputs: its punctuation characters and the lexeme attribute is_punct.
        punct_chars = sorted(Sentencizer(punct_chars=None).punct_chars)  # the "sentencizer" pipe's default
        is_punct = fast.vocab.lex_attr_getters[IS_PUNCT]
        fast.vocab.lex_attr_getters = {}
        rules = dict(tok.rules)
        # Tokenizer.add_special_case adds a matcher pattern when the string has an affix (or a
        # space); the pattern is the string's tokenization by affixes alone (no special cases).
        bare = Tokenizer(fast.vocab, rules={}, **_regexes_of(tok))
        in_matcher = [
            s
            for s in rules
            if not tok.faster_heuristics or tok.find_prefix(s) or tok.find_infix(s) or tok.find_suffix(s) or " " in s
        ]
        pairs = set()
        patterns = {}  # the matcher's pattern -> its rule string
        effectful = {}  # pattern -> its rule string, for patterns whose rule changes the tokens
        # each special case's tokens: the texts of its pieces
        pieces_of = {s: [spec[ORTH] if ORTH in spec else spec["ORTH"] for spec in rule] for s, rule in rules.items()}
        safe = True
        with fast.vocab.memory_zone():
            for s in in_matcher:
                pattern = tuple(t.text for t in bare(s))
                if len(pattern) > 1:
                    if any(not t.strip() or any(c.isspace() for c in t) for t in pattern):
                        safe = False  # a multi-token pattern with whitespace: never take the fast path
                    pairs.update(zip(pattern, pattern[1:]))
                patterns[pattern] = s
                if tuple(pieces_of[s]) != pattern:
                    effectful[pattern] = s
        regexes = {name: spacy_spec.regex_data(getattr(tok, name)) for name in spacy_spec.REGEXES}
        storable = all(data is not None or getattr(tok, name) is None for name, data in regexes.items())
        data = {
            "regexes": regexes if storable else None,
            "rules": pieces_of,
            "pairs": sorted(pairs),
            "effectful": sorted([list(p), s] for p, s in effectful.items()),
            "patterns": sorted([list(p), s] for p, s in patterns.items()),
            "safe": safe,
            "punct_chars": punct_chars,
        }
        return data, tok, is_punct

    def _apply(self, data: dict, tokenizer: Any, is_punct: Callable[[str], bool]) -> None:
        """Set the rules from ``data`` (``_derive``'s form); ``tokenizer``: the regexes' bound methods."""
        import ahocorasick

        pieces_of = {s: tuple(p) for s, p in data["rules"].items()}
        pairs = {tuple(pair) for pair in data["pairs"]}
        effectful = {tuple(p): s for p, s in data["effectful"]}
        self.patterns = {tuple(p): s for p, s in data["patterns"]}
        self.pattern_lengths = sorted({len(p) for p in self.patterns})
        self.safe = data["safe"]
        self.pairs = frozenset(pairs)
        self.pair_left = frozenset(a for a, _ in pairs)
        self.pair_right = frozenset(b for _, b in pairs)
        self.effectful = frozenset(effectful)
        self.effectful_lengths = sorted({len(p) for p in effectful})
        # Chunks that contain the string of an effectful pattern are the only ones that can hold
        # a match that changes tokens; an Aho-Corasick automaton finds them.
        self.effectful_automaton = ahocorasick.Automaton()
        for i, s in enumerate(sorted(set(effectful.values()))):
            if not any(c.isspace() for c in s):  # a chunk has no whitespace
                self.effectful_automaton.add_word(s, i)
        if len(self.effectful_automaton):
            self.effectful_automaton.make_automaton()
        # Plain words are tokenized without asking spaCy (_plain_tokens): that holds only for English's
        # rules (checked in the tests), and only while no matcher pattern that changes tokens is made of
        # letters or digits alone.
        self.plain_words = self.lang == "en" and all(not (s.isalpha() or s.isdigit()) for s in effectful.values())
        self.rules = frozenset(pieces_of)
        self.pieces = pieces_of
        # spaCy's affix rules and special cases in Python (filters/spacy_affixes.py)
        self.affixes = AffixTokenizer(tokenizer, {s: p for s, p in pieces_of.items() if not any(c.isspace() for c in s)})
        self.punct_chars = frozenset(data["punct_chars"])
        self.is_punct = is_punct
        # whitespace tokens are plain for the sentencizer only if no punct char is whitespace
        self.sentence_fast_path = self.safe and not any(c.isspace() for p in self.punct_chars for c in p)

    @property
    def nlp(self):
        """Exactly datatrove's SpaCyTokenizer(lang) pipeline (blank, with a sentencizer), for the
        whole-text paths: built when first asked for, as most processes never take them."""
        if self._nlp is None:
            with self._lock:
                if self._nlp is None:
                    nlp = _import_spacy().blank(self.lang)
                    nlp.add_pipe("sentencizer")
                    self._nlp = nlp
        return self._nlp

    def matched(self, toks: tuple[str, ...], space_after: frozenset[int] = frozenset()) -> tuple[str, ...]:
        """``Tokenizer._apply_special_cases`` on the tokens of one chunk (its affix rules' and special
        cases'), or of chunks joined by single spaces (``space_after``: the tokens a space follows):
        every matcher pattern found in them; kept, the longest first (then the leftmost), where neither
        its first nor its last token is in a match met before, kept or not; each kept one replaced by
        the pieces of the special case its text is (a match across a space seldom is one: then its
        tokens stay)."""
        patterns, n = self.patterns, len(toks)
        found = [(a, a + k) for a in range(n) for k in self.pattern_lengths if a + k <= n and tuple(toks[a : a + k]) in patterns]
        if not found:
            return toks
        found.sort(key=lambda m: (m[1] - m[0], -m[0]))  # spaCy's len_start_cmp, walked from the end
        seen: set[int] = set()
        kept = []
        for a, b in reversed(found):
            if a not in seen and b - 1 not in seen:
                kept.append((a, b))
            seen.update(range(a, b))
        out: list[str] = []
        at = 0
        for a, b in sorted(kept):
            out += toks[at:a]
            text = "".join(t + " " if i in space_after and i < b - 1 else t for i, t in enumerate(toks[a:b], a))
            out += self.pieces.get(text, toks[a:b])
            at = b
        out += toks[at:]
        return tuple(out)

    def has_effectful_match(self, pre: list[str]) -> bool:
        eff = self.effectful
        for i in range(len(pre)):
            for n in self.effectful_lengths:
                if i + n <= len(pre) and tuple(pre[i : i + n]) in eff:
                    return True
        return False


def _regexes_of(tok) -> dict[str, Any]:
    return {name: getattr(tok, name) for name in spacy_spec.REGEXES}


def _lex_attr_is_punct():
    from spacy.lang.lex_attrs import is_punct

    return is_punct


@worker_resource
def spacy_objects() -> _Spacy:
    """spaCy's blank English pipeline and helpers, loaded once per process."""
    return _Spacy("en")


@worker_resource
def spacy_pipeline(lang: str) -> _Spacy:
    """spaCy's blank pipeline of another language and its helpers, loaded once per process."""
    if lang == "en":
        return spacy_objects()
    return _Spacy(lang)


# ---------------------------------------------------------------------------------------------
# The reference behaviour (datatrove SpaCyTokenizer), used as the fallback.


def _do_tokenize(sp: _Spacy, text: str):
    # datatrove SpaCyTokenizer._do_tokenize, for a non-Japanese language (its retry without
    # "IS_ALPHA" is left out: such texts go to datatrove itself, see ``_datatrove``)
    sp.nlp.max_length = len(text)
    return [sp.nlp(text, disable=["parser", "tagger", "ner"])]


def _datatrove():
    """datatrove's own split functions, for texts that contain "IS_ALPHA".

    With spaCy 3.8, the first text containing the string "IS_ALPHA" (a spaCy symbol name)
    tokenized inside a memory zone works, and every later one makes the tokenizer fail
    (datatrove then retries without "IS_ALPHA", and the tokenizer is left in an odd state for such
    texts). datatrove's answer for these texts thus depends on the texts its tokenizer saw
    before, so they are sent to datatrove's own tokenizer (one per process, with its
    ``lru_cache``), which has seen the same such texts as it would in datatrove's pipeline.
    """
    from datatrove.utils import text as dt_text

    return dt_text


def reference_words(text: str, sp: _Spacy | None = None, key: str = "eng") -> list[str]:
    """datatrove ``split_into_words(text, key)`` (``sp``: the spaCy pipeline of ``key``; English by
    default), without the chunk cache."""
    if "IS_ALPHA" in text:
        return list(_datatrove().split_into_words(text, key))
    sp = sp or spacy_objects()
    with sp.nlp.memory_zone():
        sp.nlp.max_length = len(text) + 10
        tokens = [token.text for doc in _do_tokenize(sp, text) for token in doc]
        return [t.strip() for t in tokens if len(t.strip()) > 0]


def split_sentences(text: str, sp: _Spacy | None = None, key: str = "eng") -> list[str]:
    """datatrove ``split_into_sentences(text, key)`` (spaCy sentencizer spans; English by default)."""
    if "IS_ALPHA" in text:
        return list(_datatrove().split_into_sentences(text, key))
    sp = sp or spacy_objects()
    spans = []
    with sp.nlp.memory_zone():
        for doc in _do_tokenize(sp, text):
            start = spans[-1][1] if spans else 0
            for sent in doc.sents:
                spans.append((start + sent.start_char, start + sent.end_char))
    ends = [b for _, b in spans]
    return [text[a:b] for a, b in zip([0] + ends[:-1], ends[:-1] + [len(text)])]


def reference_count_sentences(text: str, sp: _Spacy | None = None, key: str = "eng") -> int:
    """``len(split_sentences(text, sp, key))``."""
    if "IS_ALPHA" in text:
        return len(_datatrove().split_into_sentences(text, key))
    sp = sp or spacy_objects()
    n = 0
    with sp.nlp.memory_zone():
        for doc in _do_tokenize(sp, text):
            n += sum(1 for _ in doc.sents)
    return max(n, 1)


# ---------------------------------------------------------------------------------------------
# The cached path.


def _starts(chunks: list[str]) -> list[int]:
    starts = []
    pos = 0
    for c in chunks:
        starts.append(pos)
        pos += len(c) + 1
    return starts


def _effectful_candidates(sp: _Spacy, joined: str, starts: list[int]) -> set[int]:
    """The chunks (by index) holding the string of an effectful pattern: only their tokens before the
    matcher can differ from their final tokens."""
    if not len(sp.effectful_automaton):
        return set()
    return {bisect.bisect_right(starts, end) - 1 for end, _ in sp.effectful_automaton.iter(joined)}


# A mark after a word of letters that spaCy's English suffix rules always split off, and one before
# it that its prefix rules always split off. "." only after an ASCII lowercase letter and the hyphen
# infix only between ASCII letters: for other letters those rules depend on the script. Checked
# against spaCy on every chunk of the real pages and on random words of letters from all of
# Unicode (tests/test_filters_words.py).
PLAIN_TAILS = frozenset(',;:\'?)!’"،。”，]۔…')
PLAIN_HEADS = frozenset('"(\'“’‘[,')
PLAIN_POSSESSIVES = ("'s", "’s", "'S", "’S")
_CLOCK = re.compile(r"[0-9]{1,2}(?::[0-9]{1,2}){1,2}(?:am|pm|AM|PM)?")  # 10:30, 10:19:42pm: one token


def _is_ascii_word(s: str) -> bool:
    return s.isascii() and s.isalpha()


def _plain_tokens(sp: _Spacy, chunk: str) -> tuple[str, ...] | None:
    """spaCy's tokens of a plain chunk, without asking spaCy; None for any other chunk. Plain: a
    word of letters (or ASCII digits) alone; a word of letters with one mark from PLAIN_TAILS after it,
    one from PLAIN_HEADS before it, or a possessive 's after it; two ASCII words joined by a hyphen;
    a clock time (10:30, 10:19:42pm).

    Such a chunk meets no other prefix, suffix or infix rule, so only special cases ("cannot",
    "gonna", "Mr.") and matcher patterns can change its tokens: those chunks get None too."""
    if chunk in sp.rules:
        return None
    if chunk.isalpha() or (chunk.isascii() and (chunk.isdigit() or _CLOCK.fullmatch(chunk))):
        return (chunk,)
    if len(chunk) < 2:
        return None
    last = chunk[-1]
    if chunk.endswith(PLAIN_POSSESSIVES) and len(chunk) > 2:
        cores, toks = (chunk[:-2],), (chunk[:-2], chunk[-2:])
    elif last in PLAIN_TAILS or (last == "." and "a" <= chunk[-2] <= "z"):
        cores, toks = (chunk[:-1],), (chunk[:-1], last)
    elif chunk[0] in PLAIN_HEADS:
        cores, toks = (chunk[1:],), (chunk[0], chunk[1:])
    elif chunk.count("-") == 1:
        a, _, b = chunk.partition("-")
        if not (_is_ascii_word(a) and _is_ascii_word(b)):
            return None
        cores, toks = (a, b), (a, "-", b)
    else:
        return None
    if not all(c.isalpha() and c not in sp.rules for c in cores):
        return None
    if sp.has_effectful_match(list(toks)):
        return None  # the tokens hold a matcher pattern that changes them
    return toks


_CHUNK = re.compile(r"\S+")  # str.split()'s pieces, with their positions
RECENT_TEXTS = 4
_WS_RUNS = re.compile(r"(\s+)")  # \s of a str pattern is str.isspace(), as in spaCy and str.split()
_PLAIN, _PUNCT, _STOP = 0, 1, 2  # token kinds for the sentencizer


def _flatten(seqs) -> list[str]:
    return list(chain.from_iterable(seqs))


def _count(seqs) -> int:
    return sum(map(len, seqs))


class SpacyWords:
    """The words of texts as one spaCy blank pipeline splits them, with a per-process chunk cache.

    ``key`` is the language datatrove is asked for texts containing "IS_ALPHA" (see ``_datatrove``);
    ``words(text, key)`` may name another key that uses the same spaCy pipeline.
    """

    def __init__(self, lang: str, key: str):
        self.lang = lang
        self.key = key
        self.tok: dict[str, tuple[str, ...]] = {}  # chunk -> its words
        self.first: dict[str, str] = {}  # chunk -> first pre-matcher token, only when it starts a matcher pair
        self.last: dict[str, str] = {}  # chunk -> last pre-matcher token, only when it ends a matcher pair
        self.active: set[str] = set()  # chunks holding a matcher match that changes their tokens
        self.kind: dict[str, int] = {}  # word -> its kind for the sentencizer
        self.recent: dict[str, list[str]] = {}  # the last few texts' words (the filters of a stage share them)
        self.cached_chars = 0
        self.counters = {"texts": 0, "fallbacks": 0, "runs_retokenized": 0, "chunk_misses": 0, "cache_clears": 0}

    @property
    def sp(self) -> _Spacy:
        return spacy_objects() if self.lang == "en" else spacy_pipeline(self.lang)

    def _fill(self, sp: _Spacy, missing: list[str]) -> None:
        """Tokenize the chunks in ``missing`` (distinct, not cached) and cache them."""
        tok, first, last = self.tok, self.first, self.last
        self.counters["chunk_misses"] += len(missing)
        added = 0
        if sp.plain_words:  # most chunks are a word, alone or with one punctuation mark (see _plain_tokens)
            rest = []
            for chunk in missing:
                toks = _plain_tokens(sp, chunk)
                if toks is None:
                    rest.append(chunk)
                    continue
                tok[chunk] = toks
                added += len(chunk)
                if toks[0] in sp.pair_right:
                    first[chunk] = toks[0]
                if toks[-1] in sp.pair_left:
                    last[chunk] = toks[-1]
            missing = rest
        if missing:
            candidates = _effectful_candidates(sp, "\n".join(missing), _starts(missing))
            # Every chunk gets spaCy's affix rules and special cases without spaCy (exact, see
            # filters/spacy_affixes.py): the tokens spaCy's matcher sees. The matcher changes them only where
            # they hold an effectful pattern (possible only in a candidate); there ``sp.matched`` does what it does.
            affix_tokens, pair_left, pair_right = sp.affixes.tokens, sp.pair_left, sp.pair_right
            for i, chunk in enumerate(missing):
                edges = toks = affix_tokens(chunk)
                if i in candidates and sp.has_effectful_match(edges):
                    toks = sp.matched(edges)
                    self.active.add(chunk)
                elif len(toks) == 1 and toks[0] is not chunk and toks[0] == chunk:
                    toks = (chunk,)  # share the string
                tok[chunk] = toks
                if edges[0] in pair_right:
                    first[chunk] = edges[0]
                if edges[-1] in pair_left:
                    last[chunk] = edges[-1]
            added += sum(map(len, missing))
        self.cached_chars += added
        _cached_chars[self.lang] = self.cached_chars

    def _clear(self) -> None:
        self.recent.clear()
        self.tok.clear()
        self.first.clear()
        self.last.clear()
        self.active.clear()
        self.cached_chars = 0
        _cached_chars[self.lang] = 0

    def _chunks(self, text: str) -> list[str] | None:
        """The chunks of ``text``; None: the text needs the whole-text path."""
        sp = self.sp
        if not sp.safe or "IS_ALPHA" in text:
            return None
        chunks = text.split()
        with _lock:
            if len(self.tok) > MAX_CACHED_CHUNKS or self.cached_chars > MAX_CACHED_CHARS:
                self._clear()
                self.counters["cache_clears"] += 1
            elif sum(_cached_chars.values()) > MAX_TOTAL_CACHED_CHARS:
                for cache in _CACHES.values():
                    cache._clear()
                    cache.counters["cache_clears"] += 1
        return chunks

    def _over_chunks(self, chunks: list[str], build):
        """``build(words of each chunk, in order)``, tokenizing the chunks the cache misses first."""
        tok = self.tok
        try:
            return build(map(tok.__getitem__, chunks))
        except KeyError:
            with _lock:
                self._fill(self.sp, [c for c in dict.fromkeys(chunks) if c not in tok])
            return build(map(tok.__getitem__, chunks))

    def _runs(self, chunks: list[str]) -> list[tuple[int, int]]:
        """The runs of chunks that must be tokenized as one piece (usually none)."""
        if len(chunks) < 2 or not self.active or self.active.isdisjoint(chunks):
            return []
        sp = self.sp
        if sp.pairs.isdisjoint(zip(map(self.last.get, chunks), map(self.first.get, islice(chunks, 1, None)))):
            return []
        # A matcher pattern may cross a boundary; that matters only when one of the two chunks
        # holds a token-changing match of its own, which the crossing one could shadow.
        runs = self._risky_runs(sp, chunks)
        self.counters["runs_retokenized"] += len(runs)
        return runs

    def _chunk_tokens(self, text: str) -> list[tuple[str, ...]] | None:
        """The words of each chunk of ``text`` (None: use the whole-text path).

        Where a matcher pattern may cross a chunk boundary and shadow a token-changing match (see
        the module docstring), the run of chunks joined by such boundaries is tokenized as one piece
        (``_retokenize_runs``).
        """
        chunks = self._chunks(text)
        if chunks is None:
            return None
        seqs = self._over_chunks(chunks, list)
        runs = self._runs(chunks)
        if runs:
            seqs = self._retokenize_runs(text, seqs, runs)
        return seqs

    def _risky_runs(self, sp: _Spacy, chunks: list[str]) -> list[tuple[int, int]]:
        """(first, last) chunk of each maximal run of chunks joined by crossable boundaries (whose
        edge tokens are an adjacent pair of a matcher pattern) that has a risky boundary (a crossable
        one next to a chunk with a token-changing match)."""
        pairs = sp.pairs
        end_of = len(chunks) - 1
        first_tok, last_tok = self.first, self.last

        def crossable(i: int) -> bool:  # the boundary between chunks i and i + 1
            return 0 <= i < end_of and (last_tok.get(chunks[i]), first_tok.get(chunks[i + 1])) in pairs

        runs: list[tuple[int, int]] = []
        for i in compress(range(len(chunks)), map(self.active.__contains__, chunks)):
            if runs and runs[-1][0] <= i <= runs[-1][1]:
                continue  # inside a run already found
            if not (crossable(i - 1) or crossable(i)):
                continue
            first, end = i, i
            while crossable(first - 1):
                first -= 1
            while crossable(end):
                end += 1
            runs.append((first, end))
        return runs

    def _retokenize_runs(self, text: str, seqs: list, runs: list[tuple[int, int]]) -> list:
        """Tokenize each run of chunks as one piece; its words go to its first chunk (those after a
        whitespace token in it, to the first chunk after that token: the order of words and whitespace
        tokens stays spaCy's, for the sentencizer).

        A match can only cross crossable boundaries, so every match that involves a run's tokens
        lies within the run, and the run's substring tokenized alone gives the run's tokens: the
        matcher (``_Spacy.matched``) over its chunks' tokens before it. Between two chunks, whitespace
        other than one space is a token of its own, which no pattern holds: matches stop there.
        """
        sp = self.sp
        spans = [m.span() for m in _CHUNK.finditer(text)]
        seqs = list(seqs)
        for first, end in runs:
            at = first  # the first chunk of the piece since the last whitespace token: it gets the piece's words
            piece: list[str] = []  # that piece's pre-matcher tokens
            spaced: set[int] = set()  # those a single space follows
            for k in range(first, end + 1):
                if k > first:
                    if text[spans[k - 1][1] : spans[k][0]] == " ":
                        spaced.add(len(piece) - 1)
                    else:
                        seqs[at] = sp.matched(tuple(piece), frozenset(spaced))
                        at, piece, spaced = k, [], set()
                    seqs[k] = ()
                piece += sp.affixes.tokens(text[spans[k][0] : spans[k][1]])
            seqs[at] = sp.matched(tuple(piece), frozenset(spaced))
        return seqs

    def words(self, text: str, key: str | None = None) -> list[str]:
        """``datatrove.utils.text.split_into_words(text, key)``: spaCy's tokens, whitespace dropped.

        The list is shared with later calls for the same text: do not modify it.
        """
        found = self.recent.get(text)
        if found is not None:
            return found
        self.counters["texts"] += 1
        chunks = self._chunks(text)
        if chunks is None:
            self.counters["fallbacks"] += 1
            result = reference_words(text, self.sp, key or self.key)
            if "IS_ALPHA" in text:
                return result  # datatrove's own cache decides whether it is split again
        else:
            result = self._over_chunks(chunks, _flatten)
            runs = self._runs(chunks)
            if runs:
                result = _flatten(self._retokenize_runs(text, list(map(self.tok.__getitem__, chunks)), runs))
        recent = self.recent
        if len(recent) >= RECENT_TEXTS:
            del recent[next(iter(recent))]
        recent[text] = result
        return result

    def count_words(self, text: str, key: str | None = None) -> int:
        """``len(words(text))``."""
        found = self.recent.get(text)
        if found is not None:
            return len(found)
        self.counters["texts"] += 1
        chunks = self._chunks(text)
        if chunks is None:
            self.counters["fallbacks"] += 1
            return len(reference_words(text, self.sp, key or self.key))
        n = self._over_chunks(chunks, _count)
        runs = self._runs(chunks)
        if runs:
            return _count(self._retokenize_runs(text, list(map(self.tok.__getitem__, chunks)), runs))
        return n

    def _token_kind(self, sp: _Spacy, token: str) -> int:
        kind = self.kind.get(token)
        if kind is None:
            if token in sp.punct_chars:
                kind = _STOP
            elif sp.is_punct(token):
                kind = _PUNCT
            else:
                kind = _PLAIN
            if len(self.kind) > MAX_CACHED_CHUNKS:
                self.kind.clear()
            self.kind[token] = kind
        return kind

    def count_sentences(self, text: str) -> int:
        """``len(split_sentences(text))``: the number of sentences spaCy's sentencizer finds (at least 1).

        The sentencizer (``spacy.pipeline.Sentencizer.predict``) starts a sentence at the first token
        after one in ``punct_chars`` that is neither punctuation (``is_punct``) nor in
        ``punct_chars``. It is replayed here on the cached words, with the whitespace tokens spaCy
        makes between them (for every whitespace run but a single space after a word).
        """
        sp = self.sp
        if not text or not sp.sentence_fast_path:
            return reference_count_sentences(text, sp, self.key)
        seqs = self._chunk_tokens(text)
        if seqs is None:
            return reference_count_sentences(text, sp, self.key)
        # runs: chunk, whitespace, chunk, ..., chunk (the first and last may be "")
        runs = _WS_RUNS.split(text)
        kinds = []
        k = 0
        for j in range(0, len(runs), 2):
            if runs[j]:
                kinds.extend(self._token_kind(sp, t) for t in seqs[k])
                k += 1
            # whitespace makes a token unless it is the single space after a chunk
            if j + 1 < len(runs) and (j == 0 and not runs[0] or runs[j + 1] != " "):
                kinds.append(_PLAIN)
        n = 1
        seen_period = False
        for kind in kinds:
            if kind == _STOP:
                seen_period = True
            elif seen_period and kind == _PLAIN:
                n += 1
                seen_period = False
        return n

    def clear_cache(self) -> None:
        with _lock:
            self._clear()


_CACHES: dict[str, SpacyWords] = {}  # spaCy language -> its cache, one per process
_cached_chars: dict[str, int] = {}  # spaCy language -> characters of its cached chunks


def spacy_words(lang: str, key: str | None = None) -> SpacyWords:
    """The cached word splitter of spaCy language ``lang`` (one per process; nothing loads until first use)."""
    cache = _CACHES.get(lang)
    if cache is None:
        with _lock:
            cache = _CACHES.setdefault(lang, SpacyWords(lang, key or lang))
    return cache


# English, datatrove's default language: the FineWeb filters' words.
ENGLISH = spacy_words("en", "eng")
counters = ENGLISH.counters
_TOK = ENGLISH.tok


def words(text: str) -> list[str]:
    """``datatrove.utils.text.split_into_words(text, "eng")``: spaCy's tokens, whitespace dropped.

    The list is shared with later calls for the same text: do not modify it.
    """
    return ENGLISH.words(text)


def count_words(text: str) -> int:
    """``len(words(text))``."""
    return ENGLISH.count_words(text)


def count_sentences(text: str) -> int:
    """``len(split_sentences(text))`` for English (see ``SpacyWords.count_sentences``)."""
    return ENGLISH.count_sentences(text)


def clear_cache() -> None:
    ENGLISH.clear_cache()
