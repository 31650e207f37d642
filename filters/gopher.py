"""Gopher's repetition and quality rules (Rae et al. 2021, table A1), as datatrove 0.10.1 applies them.

``gopher_repetition`` and ``gopher_quality`` take the same decisions, with the same reasons, as
datatrove's ``GopherRepetitionFilter`` and ``GopherQualityFilter`` with the same settings
(FineWeb uses the defaults). What changed is only how the quantities are computed:

- words come from ``filters.words`` (datatrove's spaCy tokenizer, cached per chunk);
- ``find_duplicates`` (duplicate elements and their characters) is ``len(x) - len(set(x))`` and
  ``sum(len) - sum(len over the distinct elements)``: a first occurrence is never a duplicate,
  every later one is;
- the top n-gram is counted on word tuples (words never contain spaces, so a tuple and its
  ``" ".join`` identify each other) and the first most common one is taken, as
  ``Counter.most_common(1)`` does; long documents (``NGrams``) count n-grams of word numbers
  with numpy instead;
- the duplicated n-gram characters keep datatrove's exact greedy scan (an n-gram seen before
  counts its characters and the scan jumps n words; the jumped-over n-grams are not recorded),
  on datatrove's ``"".join`` keys (which, unlike tuples, can make two different n-grams equal),
  but the scan is skipped when no key repeats and visits only the positions of keys that may
  repeat (found by sorting the keys, or for long documents their hashes).
- the paragraph/line/n-gram quantities are stored in ``doc.metadata`` under the reason names
  (``dup_line_frac``, ``top_2_gram``, ``duplicated_5_n_grams``, ...), as far as they were computed
  (the filter stops at the first rule a document fails, as datatrove's does).
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate, compress, islice
from operator import itemgetter, methodcaller
from typing import ClassVar

from datatrove.utils.text import PUNCTUATION_SET

from curation.document import Document
from curation.step import Score, StepParams, Threshold
from filters.base import BaseFilter
from filters.fineweb2.per_language import NO_LANGUAGE_CONFIG, LanguageSettings, PerLanguage

# "w has a character outside PUNCTUATION_SET" is "w.strip(PUNCTUATION_CHARS) is not empty"
assert all(len(c) == 1 for c in PUNCTUATION_SET)
PUNCTUATION_CHARS = "".join(sorted(PUNCTUATION_SET))

# ---------------------------------------------------------------------------------------------
# Repetition


def find_duplicates(x: list[str]) -> tuple[int, int]:
    """datatrove ``find_duplicates``: (number of repeated elements, their characters)."""
    distinct = set(x)
    return len(x) - len(distinct), sum(map(len, x)) - sum(map(len, distinct))


def top_ngram_chars(words: list[str], n: int) -> int | None:
    """datatrove ``find_top_duplicate(get_n_grams(words, n))``, or None when there is no n-gram."""
    if len(words) < n:
        return None
    counts = Counter(zip(*(islice(words, i, None) for i in range(n))))
    gram, count = max(counts.items(), key=itemgetter(1))  # the first most common, as most_common(1)
    return (sum(map(len, gram)) + n - 1) * count


def joined_top_ngram_chars(words: list[str], n: int) -> int:
    """datatrove ``find_top_duplicate(get_n_grams(words, n))`` itself, on ``" ".join`` keys (for words with spaces)."""
    counts = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = max(counts.items(), key=itemgetter(1))
    return len(gram) * count


def all_duplicate_chars(words: list[str], n: int, joined: str | None = None, offsets: list[int] | None = None) -> int:
    """datatrove ``find_all_duplicate(words, n)``."""
    m = len(words) - n + 1
    if m <= 0:
        return 0
    if joined is None:
        joined = "".join(words)
    if offsets is None:
        offsets = [0, *accumulate(map(len, words))]
    keys = list(map(joined.__getitem__, map(slice, offsets, islice(offsets, n, None))))
    if len(set(keys)) == m:
        return 0
    repeated_keys = {key for key, count in Counter(keys).items() if count > 1}
    # The scan visits positions left to right: a key seen before adds its length and the scan
    # jumps n positions, else the key is recorded and the scan moves on by one. A key that
    # occurs once is never "seen before" and recording it changes nothing, so only the
    # positions of repeated keys need visiting, those the jumps do not skip.
    seen = set()
    add = seen.add
    repeated = 0
    resume = 0  # the scan's next position
    for idx in compress(range(m), map(repeated_keys.__contains__, keys)):
        if idx < resume:
            continue
        key = keys[idx]
        if key in seen:
            repeated += len(key)
            resume = idx + n
        else:
            add(key)
    return repeated


_P = 0x9E3779B97F4A7C15  # odd: invertible modulo 2**64
_P_INV = pow(_P, -1, 1 << 64)


class NGrams:
    """The n-gram quantities of one word list, with numpy for long lists.

    A filter asks for several n (Gopher: 2, 3, 4 for the top n-gram, 5 to 10 for the duplicated
    ones). On the numpy path each of the two quantities is computed for all the n it is given
    (``top_ns``, ``dup_ns``) at once, in 2-D arrays with a row per n, the first time one of them is
    asked for: at a few hundred words numpy's fixed cost per call is most of the time.

    - ``top_chars(n)``: the words are numbered, an n-gram becomes one exact integer (base: the
      number of distinct words plus one, the extra number padding the end so that all rows have
      the length of the shortest n's; a padded n-gram is unlike every other and counts once),
      sorting gives each n-gram's count, and of the most common ones the one that occurs first is
      the one ``Counter.most_common(1)`` picks.
    - ``duplicate_chars(n)``: every n-gram's ``"".join`` key gets a polynomial hash modulo 2**64,
      from prefix sums over the characters of the joined words; a key whose hash occurs once
      occurs once (equal keys have equal hashes), so only positions with a repeated hash go to
      the scan, which compares the keys themselves. The low bits of each hash are replaced by the
      n-gram's position, so that one plain sort (several times cheaper than an argsort) both
      groups equal hashes and says where they are. Hashes equal in their high bits only, like
      hash collisions, cost time in the scan, never exactness.
    """

    NUMPY_FROM = 300  # words; below this the plain Python versions are faster

    def __init__(self, words: list[str], spaced: bool = False, top_ns: tuple[int, ...] = (), dup_ns: tuple[int, ...] = ()):
        self.words = words
        # Words with spaces (pyvi's "Hôm nay"): two word tuples can share a " ".join, which is datatrove's key
        self.spaced = spaced and any(" " in w for w in words)
        self.use_numpy = len(words) >= self.NUMPY_FROM and not self.spaced
        self.top_ns = tuple(top_ns)
        self.dup_ns = tuple(dup_ns)
        self._top: dict[int, int] = {}  # n -> top_chars(n), computed
        self._repeats: dict[int, list[int]] = {}  # n -> positions whose key may repeat, in order
        self._ids = None
        self._starts = None
        self._chars = None

    def _batch(self, n: int, ns: tuple[int, ...], done: dict) -> list[int]:
        """The n to compute now along with ``n``: those of ``ns`` not done yet, or ``n`` alone."""
        if n not in ns:
            return [n]
        return [k for k in ns if k not in done and k <= len(self.words)]

    # -- top n-gram

    def top_chars(self, n: int) -> int | None:
        words = self.words
        if len(words) < n:
            return None
        if self.spaced:
            return joined_top_ngram_chars(words, n)
        if not self.use_numpy:
            return top_ngram_chars(words, n)
        if n not in self._top:
            self._top.update(self._top_ngrams(self._batch(n, self.top_ns, self._top)))
        return self._top[n]

    def _word_ids(self):
        import numpy as np

        if self._ids is None:
            words = self.words
            first = dict.fromkeys(words)  # distinct words, by first occurrence
            number = dict(zip(first, range(len(first))))
            self._ids = np.fromiter(map(number.__getitem__, words), dtype=np.int64, count=len(words))
            self._vocab = len(first)
        return self._ids

    def _offsets(self):
        """Where each word starts in the joined words (and, last, their total length)."""
        import numpy as np

        if self._starts is None:
            words = self.words
            self._starts = np.zeros(len(words) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=self._starts[1:])
        return self._starts

    def _top_ngrams(self, ns: list[int]) -> dict[int, int]:
        """``top_chars(n)`` for each n of ``ns`` (each at most the number of words)."""
        import numpy as np

        words = self.words
        ids = self._word_ids()
        pad = self._vocab  # a number no word has
        base = pad + 1
        exact = [n for n in ns if base**n < 1 << 63]
        out = {n: top_ngram_chars(words, n) for n in ns if n not in exact}
        if not exact:
            return out
        m = len(words) - min(exact) + 1
        padded = np.concatenate((ids, np.full(max(exact) - 1, pad, dtype=np.int64)))
        keys = np.empty((len(exact), m), dtype=np.int64)
        for row, n in enumerate(exact):
            key = keys[row]
            key[:] = padded[:m]
            for k in range(1, n):
                key *= base
                key += padded[k : k + m]
        ordered = np.sort(keys, axis=1)
        new = np.ones(keys.shape, dtype=bool)  # where a run of equal n-grams starts (each row starts one)
        np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new[:, 1:])
        run_starts = np.flatnonzero(new)  # row after row
        counts = np.diff(run_starts, append=new.size)
        row_runs = np.append(np.searchsorted(run_starts, np.arange(len(exact)) * m), len(run_starts))
        tops = np.maximum.reduceat(counts, row_runs[:-1])
        flat = ordered.ravel()
        starts = self._offsets()
        for row, n in enumerate(exact):
            top = int(tops[row])
            if top == 1:
                pos = 0  # every n-gram occurs once: the first one
            else:
                runs = slice(row_runs[row], row_runs[row + 1])
                top_keys = flat[run_starts[runs][counts[runs] == top]]
                key = keys[row]
                if len(top_keys) <= 16:
                    pos = min(int(np.argmax(key == k)) for k in top_keys)
                else:
                    pos = int(np.argmax(np.isin(key, top_keys)))
            out[n] = (int(starts[pos + n] - starts[pos]) + n - 1) * top
        return out

    # -- duplicated n-grams

    def _prepare_chars(self):
        import numpy as np

        words = self.words
        joined = "".join(words)
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
        size = len(codes)
        with np.errstate(over="ignore"):
            inv_pows = np.empty(size + 1, dtype=np.uint64)
            inv_pows[0] = 1
            inv_pows[1:] = _P_INV
            np.cumprod(inv_pows, out=inv_pows)
            pows = np.empty(size + 1, dtype=np.uint64)
            pows[0] = 1
            pows[1:] = _P
            np.cumprod(pows, out=pows)
            prefix = np.zeros(size + 1, dtype=np.uint64)
            np.cumsum(codes * inv_pows[:size], out=prefix[1:])
        offsets = self._offsets()
        self._chars = (joined, offsets, offsets.tolist(), prefix, pows)

    def _repeat_candidates(self, ns: list[int]) -> dict[int, list[int]]:
        """For each n of ``ns`` (each at most the number of words): the positions whose key's hash is
        shared with another position's (high bits only), in order."""
        import numpy as np

        if self._chars is None:
            self._prepare_chars()
        _, offsets, _, prefix, pows = self._chars
        n_words = len(self.words)
        m = n_words - min(ns) + 1
        sizes = np.array(ns)[:, None]
        pos = np.arange(m)
        starts = offsets[:m]
        ends = offsets[np.minimum(pos + sizes, n_words)]  # the longer n-grams are cut at the end: dropped below
        with np.errstate(over="ignore"):
            hashes = (prefix[ends] - prefix[starts]) * pows[starts]  # sum of code * P**-(i - start)
        bits = max(int(m - 1).bit_length(), 1)
        low = np.uint64((1 << bits) - 1)
        packed = (hashes & ~low) | pos.astype(np.uint64)
        packed.sort(axis=1)
        high = packed >> np.uint64(bits)
        same = high[:, 1:] == high[:, :-1]
        grouped = np.zeros(packed.shape, dtype=bool)  # in sorted order: next to an equal high part
        grouped[:, 1:] = same
        grouped[:, :-1] |= same
        where = (packed & low).astype(np.int64)
        grouped &= where <= n_words - sizes  # a real n-gram, not one cut at the end
        where[~grouped] = m
        where.sort(axis=1)
        found = grouped.sum(axis=1).tolist()
        return {n: where[row, : found[row]].tolist() for row, n in enumerate(ns)}

    def duplicate_chars(self, n: int) -> int:
        words = self.words
        m = len(words) - n + 1
        if m <= 0:
            return 0
        if not self.use_numpy:
            return all_duplicate_chars(words, n)
        if n not in self._repeats:
            self._repeats.update(self._repeat_candidates(self._batch(n, self.dup_ns, self._repeats)))
        # datatrove's scan over the positions whose key may repeat (see all_duplicate_chars)
        joined, _, offsets, _, _ = self._chars
        seen = set()
        add = seen.add
        total = 0
        resume = 0
        for idx in self._repeats[n]:
            if idx < resume:
                continue
            key = joined[offsets[idx] : offsets[idx + n]]
            if key in seen:
                total += len(key)
                resume = idx + n
            else:
                add(key)
        return total


class GopherRepetitionParams(StepParams):
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_n_grams: tuple[tuple[int, float], ...] = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
    per_language: PerLanguage = None  # fineweb2: FineWeb-2's settings and words of each document's language


def split_paragraphs(text: str) -> list[str]:
    """datatrove's paragraphs, ``re.split(r"\\n{2,}", text.strip())``, by ``str.split``.

    The stripped text neither starts nor ends with a newline. Split on "\\n\\n", a run of exactly two
    newlines is one cut; a longer run leaves empty pieces (four or more) and its odd newline at the start
    of the next piece: those are dropped, as the regex's one cut per run does."""
    s = text.strip()
    if "\n\n\n" not in s:
        return s.split("\n\n")
    return [p[1:] if p[0] == "\n" else p for p in s.split("\n\n") if p]


def split_lines(text: str) -> list[str]:
    """datatrove's lines, ``re.split(r"\\n+", text)``, by ``str.split``: the pieces between runs of
    newlines, so the empty ones inside are dropped; the first and last stay (empty when the text starts
    or ends with a newline)."""
    parts = text.split("\n")
    if len(parts) < 3 or "\n\n" not in text:
        return parts
    return [parts[0], *filter(None, parts[1:-1]), parts[-1]]


class GopherRepetitionFilter(BaseFilter):
    """Drop documents with too many repeated lines, paragraphs or n-grams (datatrove GopherRepetitionFilter)."""

    name = "gopher_repetition"
    Params = GopherRepetitionParams
    scores: ClassVar[tuple[Score, ...]] = (
        *(Score(m, thresholds=(Threshold(m, "max"),)) for m in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")),
        *(Score(f"top_{n}_gram", thresholds=(Threshold(f"top_n_grams[{n}]", "max"),), note=f"share of characters in the most frequent word {n}-gram")
          for n in (2, 3, 4)),
        *(Score(f"duplicated_{n}_n_grams", thresholds=(Threshold(f"dup_n_grams[{n}]", "max"),), explains=(f"duplicated_{n}_n_grams",),
                note=f"share of characters in repeated word {n}-grams") for n in range(5, 11)),
    )

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
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
        if not text:
            return False, "empty"
        n_chars = len(text)

        paragraphs = split_paragraphs(text)
        dups, dup_chars = find_duplicates(paragraphs)
        frac = dups / len(paragraphs)
        self.score(doc, "dup_para_frac", frac)
        if p.dup_para_frac and frac > p.dup_para_frac:
            return False, "dup_para_frac"
        frac = dup_chars / n_chars
        self.score(doc, "dup_para_char_frac", frac)
        if p.dup_para_char_frac and frac > p.dup_para_char_frac:
            return False, "dup_para_char_frac"

        lines = split_lines(text)
        dups, dup_chars = find_duplicates(lines)
        frac = dups / len(lines)
        self.score(doc, "dup_line_frac", frac)
        if p.dup_line_frac and frac > p.dup_line_frac:
            return False, "dup_line_frac"
        frac = dup_chars / n_chars
        self.score(doc, "dup_line_char_frac", frac)
        if p.dup_line_char_frac and frac > p.dup_line_char_frac:
            return False, "dup_line_char_frac"

        split = setting.splitter
        words = split.words(text)
        grams = NGrams(words, split.spaced, tuple(n for n, _ in p.top_n_grams), tuple(n for n, _ in p.dup_n_grams))

        for n, n_frac in p.top_n_grams:
            chars = grams.top_chars(n)
            if chars is None:
                continue
            frac = chars / n_chars
            self.score(doc, f"top_{n}_gram", frac)
            if frac > n_frac:
                return False, f"top_{n}_gram"

        for n, n_frac in p.dup_n_grams:
            frac = grams.duplicate_chars(n) / n_chars
            self.score(doc, f"duplicated_{n}_n_grams", frac)
            if frac > n_frac:
                return False, f"duplicated_{n}_n_grams"
        return True


# ---------------------------------------------------------------------------------------------
# Quality

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityParams(StepParams):
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100000
    min_avg_word_length: int | None = 3
    max_avg_word_length: int | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    max_non_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    stop_words: tuple[str, ...] | None = None  # None: datatrove's STOP_WORDS
    per_language: PerLanguage = None  # fineweb2: FineWeb-2's settings, stop words and words of each document's language


def _stop_word_set(p: GopherQualityParams) -> frozenset[str]:
    return frozenset(STOP_WORDS if p.stop_words is None else p.stop_words)


_BULLETS = ("•", "-")
_ELLIPSES = ("...", "…")
_starts_with_bullet = methodcaller("startswith", _BULLETS)  # with map and sum: no Python step per line
_ends_with_ellipsis = methodcaller("endswith", _ELLIPSES)


class GopherQualityFilter(BaseFilter):
    """Gopher's quality heuristics (datatrove GopherQualityFilter)."""

    name = "gopher_quality"
    Params = GopherQualityParams
    scores: ClassVar[tuple[Score, ...]] = (
        Score("n_words", 0.0, 5000.0, 50, thresholds=(Threshold("min_doc_words", "min"), Threshold("max_doc_words", "max")), unit="words",
              explains=("gopher_short_doc", "gopher_long_doc")),
        Score("mean_word_length", 0.0, 20.0, 40, thresholds=(Threshold("min_avg_word_length", "min"), Threshold("max_avg_word_length", "max")),
              unit="characters per word", explains=("gopher_below_avg_threshold", "gopher_above_avg_threshold")),
        Score("hash_word_ratio", thresholds=(Threshold("max_symbol_word_ratio", "max"),), explains=("gopher_too_many_hashes",)),
        Score("ellipsis_word_ratio", thresholds=(Threshold("max_symbol_word_ratio", "max"),), explains=("gopher_too_many_ellipsis",)),
        Score("bullet_lines_ratio", thresholds=(Threshold("max_bullet_lines_ratio", "max"),), explains=("gopher_too_many_bullets",)),
        Score("end_ellipsis_lines_ratio", thresholds=(Threshold("max_ellipsis_lines_ratio", "max"),), explains=("gopher_too_many_end_ellipsis",)),
        # datatrove's name for a minimum share of words with a letter
        Score("alpha_words_ratio", thresholds=(Threshold("max_non_alpha_words_ratio", "min"),), explains=("gopher_below_alpha_threshold",),
              note="share of words with a letter"),
        Score("stop_words", 0.0, 10.0, 10, thresholds=(Threshold("min_stop_words", "min"),), unit="stop words", explains=("gopher_enough_stop_words",)),
    )

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
        self.settings = LanguageSettings(self.name, self.params, _stop_word_set)

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
        words = setting.splitter.words(text)
        n_words = len(words)
        counts = Counter(words)

        # words made of punctuation only do not count as words
        n_non_symbol = 0
        non_symbol_chars = 0
        n_alpha = 0
        strip = str.strip
        for w, c in counts.items():
            if strip(w, PUNCTUATION_CHARS):
                n_non_symbol += c
                non_symbol_chars += len(w) * c
            if w.isalpha() or any(map(str.isalpha, w)):
                n_alpha += c

        self.score(doc, "n_words", n_non_symbol)
        if p.min_doc_words and n_non_symbol < p.min_doc_words:
            return False, "gopher_short_doc"
        if p.max_doc_words and n_non_symbol > p.max_doc_words:
            return False, "gopher_long_doc"

        # np.mean of the word lengths: the sum of integers is exact, so this is the same float
        if n_non_symbol:
            avg = non_symbol_chars / n_non_symbol
            self.score(doc, "mean_word_length", avg)
        else:
            avg = float("nan")  # np.mean([]): every comparison below is False
        if p.min_avg_word_length and avg < p.min_avg_word_length:
            return False, "gopher_below_avg_threshold"
        if p.max_avg_word_length and avg > p.max_avg_word_length:
            return False, "gopher_above_avg_threshold"

        if p.max_symbol_word_ratio:
            ratio = text.count("#") / n_words
            self.score(doc, "hash_word_ratio", ratio)
            if ratio > p.max_symbol_word_ratio:
                return False, "gopher_too_many_hashes"
            ratio = (text.count("...") + text.count("…")) / n_words
            self.score(doc, "ellipsis_word_ratio", ratio)
            if ratio > p.max_symbol_word_ratio:
                return False, "gopher_too_many_ellipsis"

        lines = text.splitlines()
        if p.max_bullet_lines_ratio:
            ratio = sum(map(_starts_with_bullet, map(str.lstrip, lines))) / len(lines)
            self.score(doc, "bullet_lines_ratio", ratio)
            if ratio > p.max_bullet_lines_ratio:
                return False, "gopher_too_many_bullets"
        if p.max_ellipsis_lines_ratio:
            ratio = sum(map(_ends_with_ellipsis, map(str.rstrip, lines))) / len(lines)
            self.score(doc, "end_ellipsis_lines_ratio", ratio)
            if ratio > p.max_ellipsis_lines_ratio:
                return False, "gopher_too_many_end_ellipsis"

        if p.max_non_alpha_words_ratio:
            ratio = n_alpha / n_words
            self.score(doc, "alpha_words_ratio", ratio)
            if ratio < p.max_non_alpha_words_ratio:
                return False, "gopher_below_alpha_threshold"

        if p.min_stop_words:
            n_stop = len(setting.derived.intersection(counts))
            self.score(doc, "stop_words", n_stop)
            if n_stop < p.min_stop_words:
                return False, "gopher_enough_stop_words"
        return True
