"""spaCy's affix tokenization of one chunk, in Python, without spaCy's per-token costs.

spaCy's rule-based ``Tokenizer`` splits a whitespace-free chunk with ``_split_affixes`` and
``_attach_tokens`` (spaCy 3.8, ``tokenizer.pyx``): a chunk that is a special case (``tokenizer.rules``)
gets that case's pieces; otherwise strip prefixes and suffixes in a loop (stopping at ``token_match``
or a special case, which keeps the affix just stripped), then give what is left its special case's
pieces or split it at its infixes. ``AffixTokenizer.tokens`` is that code, calling the pipeline's own
``prefix_search``, ``suffix_search``, ``infix_finditer``, ``token_match`` and ``url_match``. What it
leaves to spaCy is the matcher that applies special cases across tokens (``filters.words`` sends the
few chunks where it changes anything to spaCy).

What makes it fast is that most regex calls are skipped where their answer is known: the three
regexes are big alternations (~2.5 µs a call for the suffixes, which are searched at every
position), yet a chunk whose first character cannot start a prefix match, whose last character
cannot end a suffix match and none of whose characters can start an infix match meets none of them.
Which characters can do so is read from each regex's parse tree (``_edge_chars``: the characters a
match can consume first, or last), conservatively: any construct the analysis does not know
(backreferences, local flags, ``.``) counts as "any character", and then the real regex is called.
A character's class is worked out once per process (``_CharClass``), so the check is a set lookup.
Where the suffix regex must run, it runs on the few last characters that decide its match (the widest
alternative that can end with the chunk's last character, with its lookbehind: ``_RegexChars.window``),
and its answer is remembered by those characters: "word," and "city," ask it once.

tests/test_spacy_affixes.py compares it with spaCy's own tokenizer (before its matcher) on every chunk of
the real texts in every spaCy language FineWeb-2 uses, on every special case with affixes around it, and
on random chunks made of every character those regexes and special cases name.
"""

from __future__ import annotations

import re
import threading

try:  # the stdlib's regex parser (Python 3.11+: re._parser; before: sre_parse)
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

ANY = None  # "any character" in the character sets below

_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)
_REPEATS = tuple(op for op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) if op is not None)
_ATOMIC = getattr(_c, "ATOMIC_GROUP", None)


def _char(v: int) -> str:
    return "\\U%08X" % v


def _class_text(items) -> str | None:
    """A parsed character class (``IN``'s items) back as regex text; None for an item not known here."""
    parts = []
    for op, av in items:
        if op is _c.NEGATE:
            parts.insert(0, "^")
        elif op is _c.LITERAL:
            parts.append(_char(av))
        elif op is _c.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is _c.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            return None
    return "[" + "".join(parts) + "]"


def _edge_chars(seq, last: bool) -> tuple[list[str] | None, bool]:
    """(character classes, as regex text, of the first (``last``: the last) character a non-empty match
    of the parsed sequence ``seq`` consumes, or ANY; whether it can match the empty string)."""
    classes: list[str] = []
    for op, av in reversed(list(seq)) if last else seq:
        if op in _ZERO_WIDTH:  # anchors and lookarounds consume nothing
            continue
        if op is _c.LITERAL:
            found, nullable = [_char(av)], False
        elif op is _c.IN:
            text = _class_text(av)
            found, nullable = ([text] if text else ANY), False
        elif op is _c.BRANCH:
            found, nullable = [], False
            for alt in av[1]:
                f, n = _edge_chars(alt, last)
                if f is ANY:
                    return ANY, True
                found += f
                nullable = nullable or n
        elif op is _c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return ANY, True
            found, nullable = _edge_chars(sub, last)
        elif op in _REPEATS:
            lo, _hi, sub = av
            found, nullable = _edge_chars(sub, last)
            nullable = nullable or lo == 0
        elif _ATOMIC is not None and op is _ATOMIC:
            found, nullable = _edge_chars(av, last)
        else:  # ANY ("."), NOT_LITERAL, backreferences, conditionals, ...: not analysed
            return ANY, True
        if found is ANY:
            return ANY, True
        classes += found
        if not nullable:
            return classes, False
    return classes, True


def _alternatives(pattern: re.Pattern):
    parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    data = list(parsed)
    if len(data) == 1 and data[0][0] is _c.BRANCH:
        return list(data[0][1][1])
    return [data]


def _width(seq) -> tuple[int, int] | None:
    """(fewest, most) characters a match of the parsed sequence consumes; None for an unbounded repeat or
    any construct other than characters, classes, groups, alternations and repeats (whose match could
    depend on text outside it: anchors, lookarounds, backreferences, local flags)."""
    lo = hi = 0
    for op, av in seq:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY):
            w = (1, 1)
        elif op is _c.BRANCH:
            ws = [_width(alt) for alt in av[1]]
            if any(x is None for x in ws):
                return None
            w = (min(x[0] for x in ws), max(x[1] for x in ws))
        elif op is _c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            w = None if add_flags or del_flags else _width(sub)
        elif op in _REPEATS:
            least, most, sub = av
            inner = None if most == _c.MAXREPEAT else _width(sub)
            w = None if inner is None else (least * inner[0], most * inner[1])
        else:
            return None
        if w is None:
            return None
        lo, hi = lo + w[0], hi + w[1]
    return lo, hi


def _suffix_reach(alt) -> int | None:
    """How many characters from the string's end decide whether the anchored alternative ``alt`` (its
    ``$`` taken off) matches, and how much: its widest match plus a lookbehind it starts with. None
    when that is unbounded or not understood."""
    behind = 0
    if alt and alt[0][0] is _c.ASSERT and alt[0][1][0] == -1:  # (?<=...) first
        w = _width(alt[0][1][1])
        if w is None or w[0] != w[1]:
            return None
        behind, alt = w[1], alt[1:]
    w = _width(alt)
    return None if w is None else w[1] + behind


class _CharClass:
    """Characters that can (``bad``) or cannot (``ok``) be an edge of a match, found once per character."""

    def __init__(self, classes: list[str] | None, flags: int):
        self.anything = classes is ANY
        self.regex = None if self.anything or not classes else re.compile("|".join(classes), flags)
        self.ok: set[str] = set()
        self.bad: set[str] = set()
        self._lock = threading.Lock()

    def _learn(self, chars) -> None:
        with self._lock:
            for ch in set(chars) - self.ok - self.bad:
                (self.bad if self.regex is not None and self.regex.fullmatch(ch) else self.ok).add(ch)

    def allows(self, ch: str) -> bool:
        """``ch`` can never be the edge character of a match."""
        if ch in self.ok:
            return True
        if self.anything or ch in self.bad:
            return False
        self._learn(ch)
        return ch in self.ok

    def allows_all(self, s: str) -> bool:
        """No character of ``s`` can be the edge character of a match."""
        if self.ok.issuperset(s):
            return True
        if self.anything or not self.bad.isdisjoint(s):
            return False
        self._learn(s)
        return self.ok.issuperset(s)


class _Never:
    """A regex that cannot match anything non-empty, as seen by the checks."""

    @staticmethod
    def allows(ch: str) -> bool:
        return True

    allows_all = allows


class _RegexChars:
    """For one of the tokenizer's regexes: when is a (non-empty) match impossible?

    ``edge``: which end of the string an anchored alternative (``^...`` / ``...$``) must consume. Anchored
    alternatives are grouped by the lookbehind they start with, if any (``(?<=[0-9])km$``: a unit after a
    number): such a match needs one of the lookbehind's characters in the string too. Alternatives without
    the anchor may match anywhere, so every character of the string is checked against their first characters.
    """

    def __init__(self, pattern: re.Pattern | None, edge: str | None, absent: bool = False):
        self.usable = pattern is not None or absent  # absent: the tokenizer has no such regex (it never matches)
        self.groups: list[tuple[_CharClass, _CharClass | None]] = []  # (edge characters, lookbehind characters)
        self.floating = _Never
        self.reaches: list[tuple[_CharClass, int | None]] = []  # (edge characters, reach) of the anchored alternatives
        self._windows: dict[str, int | None] = {}
        if pattern is None:
            return
        flags = pattern.flags
        anchored: dict[str | None, list[str] | None] = {}  # lookbehind class (None: none) -> edge classes
        floating: list[str] | None = []
        by_reach: dict[int | None, list[str] | None] = {}  # reach (see window) -> edge classes
        begin = (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING)
        end = (_c.AT_END, _c.AT_END_STRING)
        multiline = flags & re.MULTILINE
        for alt in _alternatives(pattern):
            alt = list(alt)
            if edge == "start" and not multiline and alt and alt[0][0] is _c.AT and alt[0][1] in begin:
                found, _ = _edge_chars(alt[1:], False)
                needs = None
            elif edge == "end" and not multiline and alt and alt[-1][0] is _c.AT and alt[-1][1] in end:
                found, _ = _edge_chars(alt[:-1], True)
                needs = _lookbehind_chars(alt[0])
                reach = _suffix_reach(alt[:-1])
                before = by_reach.get(reach, [])
                by_reach[reach] = ANY if found is ANY or before is ANY else before + found
            else:
                found, can_be_empty = _edge_chars(alt, False)
                if can_be_empty and found is not ANY:
                    # an empty match splits an infix too, and still needs its lookarounds: one of their
                    # characters is in the string
                    needed = _lookaround_chars(alt)
                    found = ANY if needed is ANY else found + needed
                floating = ANY if found is ANY or floating is ANY else floating + found
                continue
            before = anchored.get(needs, [])
            anchored[needs] = ANY if found is ANY or before is ANY else before + found
        self.groups = [(_CharClass(found, flags), None if needs is None else _CharClass([needs], flags)) for needs, found in anchored.items()]
        self.floating = _CharClass(floating, flags) if floating is ANY or floating else _Never
        self.reaches = [(_CharClass(found, flags), reach) for reach, found in by_reach.items()]

    def cannot_match(self, s: str, edge_char: str) -> bool:
        """True only when no match of the regex in ``s`` is possible (empty ones: only for unanchored alternatives) (``edge_char``: ``s``'s
        first or last character, the one an anchored match would consume)."""
        if not self.usable:
            return False
        for found, needs in self.groups:
            if not found.allows(edge_char) and (needs is None or not needs.allows_all(s)):
                return False
        return self.floating.allows_all(s)

    def window(self, ch: str) -> int | None:
        """For an end-anchored regex with no other alternatives: how many of a string's last characters
        decide its match when the string ends with ``ch`` (0: it cannot match). A match ending there is
        at most that long with its lookbehind, so searching those characters alone finds the same one.
        None: not known (search the whole string)."""
        try:
            return self._windows[ch]
        except KeyError:
            pass
        k: int | None = None
        if self.usable and self.floating is _Never and self.reaches:
            k = 0
            for found, reach in self.reaches:
                if not found.allows(ch):
                    if reach is None:
                        k = None
                        break
                    k = max(k, reach)
        self._windows[ch] = k
        return k

    def edge_ok(self, ch: str) -> bool:
        """No anchored match can consume ``ch`` at the string's edge (whatever the rest of the string)."""
        return self.usable and all(found.allows(ch) for found, _ in self.groups)

    def lookbehinds_for(self, ch: str) -> tuple[_CharClass, ...] | None:
        """The lookbehinds of the anchored alternatives that can consume ``ch`` at the string's edge: with
        none of their characters in the string, none of them matches. None when one has no lookbehind."""
        if not self.usable:
            return None
        rejecting = [needs for found, needs in self.groups if not found.allows(ch)]
        return None if any(needs is None for needs in rejecting) else tuple(rejecting)

    def body_ok(self, ch: str) -> bool:
        """No unanchored match can start with ``ch``."""
        return self.usable and self.floating.allows(ch)


def _lookaround_chars(alt) -> list[str] | None:
    """Characters one of which any match of the alternative ``alt`` needs in the string, from a positive
    lookaround at its top level: the last character of a lookbehind's match, the first of a lookahead's.
    ANY when it has none that is understood."""
    for op, av in alt:
        if op is _c.ASSERT:
            direction, sub = av
            found, can_be_empty = _edge_chars(sub, direction == -1)
            if found is not ANY and found and not can_be_empty:
                return found
    return ANY


def _lookbehind_chars(node) -> str | None:
    """The character class a leading one-character lookbehind ``(?<=[...])`` asks for, as regex text (None: none)."""
    op, av = node
    if op is not _c.ASSERT or av[0] != -1:
        return None
    found, nullable = _edge_chars(av[1], False)
    if found is ANY or nullable or not found or av[1].getwidth() != (1, 1):
        return None
    return "|".join(sorted(found))


def _pattern_of(method) -> re.Pattern | None:
    owner = getattr(method, "__self__", None)
    return owner if isinstance(owner, re.Pattern) else None


MAX_REMEMBERED_TAILS = 100_000


class AffixTokenizer:
    """The tokens spaCy's ``Tokenizer`` gives one chunk by its affix rules and special cases (before its matcher).

    ``rules``: each special-case string and its tokens (the ORTH of its pieces), ``tokenizer.rules`` as
    ``{string: tuple of piece texts}``.
    """

    def __init__(self, tokenizer, rules: dict[str, tuple[str, ...]]):
        self.rules = rules
        self.token_match = tokenizer.token_match
        self.url_match = tokenizer.url_match
        self.prefix_search = tokenizer.prefix_search
        self.suffix_search = tokenizer.suffix_search
        self.infix_finditer = tokenizer.infix_finditer
        self.prefix_chars = _RegexChars(_pattern_of(self.prefix_search), "start", absent=self.prefix_search is None)
        self.suffix_chars = _RegexChars(_pattern_of(self.suffix_search), "end", absent=self.suffix_search is None)
        self.infix_chars = _RegexChars(_pattern_of(self.infix_finditer), None, absent=self.infix_finditer is None)
        # Characters sorted once each: a chunk starting with a head_ok one, ending with a tail_ok one and
        # made of body_ok ones meets no affix rule and is one token (unless it is a special case).
        self.known: set[str] = set()
        self.head_ok: set[str] = set()
        self.tail_ok: set[str] = set()
        self.body_ok: set[str] = set()
        # A chunk may also end with a character only a suffix behind a lookbehind can take, when none of
        # the chunk's characters is one that lookbehind asks for (``(?<=[0-9])km$``: "km" after a digit).
        self.tail_weak: dict[str, tuple[_CharClass, ...]] = {}
        self._suffix_lens: dict[str, int] = {}  # a string's last characters -> its suffix match's length
        self._lock = threading.Lock()

    def _learn(self, chunk: str) -> None:
        with self._lock:
            for ch in set(chunk) - self.known:
                if self.prefix_chars.edge_ok(ch):
                    self.head_ok.add(ch)
                if self.suffix_chars.edge_ok(ch):
                    self.tail_ok.add(ch)
                else:
                    needs = self.suffix_chars.lookbehinds_for(ch)
                    if needs is not None:
                        self.tail_weak[ch] = needs
                if self.prefix_chars.body_ok(ch) and self.suffix_chars.body_ok(ch) and self.infix_chars.body_ok(ch):
                    self.body_ok.add(ch)
                self.known.add(ch)

    def _meets_no_affix(self, s: str) -> bool:
        """No prefix, suffix or infix rule can match ``s`` (non-empty, its characters learned). Its last
        character may also be one only suffixes behind lookbehinds take, when ``s`` has none of the
        characters those lookbehinds ask for."""
        if s[0] not in self.head_ok or not self.body_ok.issuperset(s):
            return False
        if s[-1] in self.tail_ok:
            return True
        needs = self.tail_weak.get(s[-1])
        if needs is None:
            return False
        for lookbehind in needs:
            if not lookbehind.allows_all(s):
                return False
        return True

    # Tokenizer.find_prefix / find_suffix / find_infix, skipping the regex where it cannot match

    def _prefix_len(self, s: str) -> int:
        if self.prefix_search is None or self.prefix_chars.cannot_match(s, s[0]):
            return 0
        m = self.prefix_search(s)
        return m.end() - m.start() if m is not None else 0

    def _suffix_len(self, s: str) -> int:
        if not s or self.suffix_search is None:
            return 0
        k = self.suffix_chars.window(s[-1])
        if k is None:
            if self.suffix_chars.cannot_match(s, s[-1]):
                return 0
            m = self.suffix_search(s)
            return m.end() - m.start() if m is not None else 0
        if not k:
            return 0
        tail = s[-k:]  # the match's length depends on these characters alone: remembered by them
        n = self._suffix_lens.get(tail)
        if n is None:
            m = self.suffix_search(tail)
            n = m.end() - m.start() if m is not None else 0
            if len(self._suffix_lens) >= MAX_REMEMBERED_TAILS:
                self._suffix_lens.clear()
            self._suffix_lens[tail] = n
        return n

    def _infixes(self, s: str) -> list:
        if self.infix_finditer is None or self.infix_chars.cannot_match(s, s[0]):
            return []
        return list(self.infix_finditer(s))

    def tokens(self, chunk: str) -> tuple[str, ...]:
        """spaCy's tokens of ``chunk`` (no whitespace, not empty) before its special-case matcher."""
        rules = self.rules
        special = rules.get(chunk)
        if special is not None:  # Tokenizer._try_specials_and_cache on the whole chunk
            return special
        if not self.known.issuperset(chunk):
            self._learn(chunk)
        if self._meets_no_affix(chunk):
            return (chunk,)
        token_match = self.token_match
        string = chunk
        prefixes: list[str] = []
        suffixes: list[str] = []
        last_size = 0
        plain = False  # string meets no affix rule (as the test above): no prefix, suffix or infix
        # Tokenizer._split_affixes. Its checks come in another order where the outcome is the same: with
        # neither a prefix nor a suffix, its loop ends on this string whatever token_match and the special
        # cases say, so those are asked only when there is an affix.
        while string and len(string) != last_size:
            if string is not chunk and self._meets_no_affix(string):  # the chunk itself failed the test above
                plain = True  # pre_len and suf_len would be 0: spaCy's loop ends here
                break
            pre_len = self._prefix_len(string)
            suf_len = self._suffix_len(string[pre_len:])
            if not pre_len and not suf_len:
                break
            if token_match is not None and token_match(string):
                break
            if string in rules:
                break
            last_size = len(string)
            if pre_len:
                prefix = string[:pre_len]
                minus_pre = string[pre_len:]
                if minus_pre and minus_pre in rules:
                    string = minus_pre
                    prefixes.append(prefix)
                    break
            if suf_len:
                suffix = string[-suf_len:]
                minus_suf = string[:-suf_len]
                if minus_suf and minus_suf in rules:
                    string = minus_suf
                    suffixes.append(suffix)
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        # Tokenizer._attach_tokens
        tokens = prefixes
        if string:
            special = rules.get(string)
            if special is not None:
                tokens.extend(special)
            else:
                matches = [] if plain else self._infixes(string)
                if not matches or (token_match is not None and token_match(string)) or (self.url_match is not None and self.url_match(string)):
                    tokens.append(string)
                else:
                    start = 0
                    for match in matches:
                        infix_start, infix_end = match.start(), match.end()
                        if infix_start == 0:  # spaCy's `infix_start == start_before_infixes`
                            continue
                        if infix_start != start:
                            tokens.append(string[start:infix_start])
                        if infix_start != infix_end:
                            tokens.append(string[infix_start:infix_end])
                        start = infix_end
                    if string[start:]:
                        tokens.append(string[start:])
        tokens.extend(reversed(suffixes))
        return tuple(tokens)
