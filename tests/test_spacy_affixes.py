"""filters.spacy_affixes (spaCy's affix rules without spaCy) against spaCy's own tokenizer, in every spaCy
language FineWeb-2 uses: on random chunks full of the characters the rules name, and on the real texts."""

from __future__ import annotations

import bisect
import functools
import random
import re
import sys
import warnings

import pytest

from filters import words as W
from filters.fineweb2 import word_tokenizers as wt

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _spacy_languages() -> list[str]:
    langs = {a.used.split(":", 1)[1] for a in wt.assignments().values() if a.used.startswith("spacy:")}
    return sorted(langs | {"en"})


LANGUAGES = _spacy_languages()


def _group(doc, chunks: list[str]) -> list[tuple[str, ...]]:
    """The non-whitespace tokens of ``doc`` (spaCy's tokens of ``chunks`` joined by newlines) by chunk."""
    starts = W._starts(chunks)
    per_chunk: list[list[str]] = [[] for _ in chunks]
    for t in doc:
        if not t.text.isspace():  # the newlines between the chunks
            per_chunk[bisect.bisect_right(starts, t.idx) - 1].append(t.text)
    return [tuple(t) for t in per_chunk]


@functools.cache
def _reference(lang: str):
    """spaCy's blank tokenizer of ``lang`` and the same rules without matcher patterns (its special cases
    applied, the matcher not: the tokens the matcher sees). add_special_case asks find_prefix/find_infix/
    find_suffix whether to add a pattern; a subclass answers "no" while the rules are loaded."""
    import spacy
    from spacy.tokenizer import Tokenizer

    class NoMatcher(Tokenizer):
        loading = False

        def find_prefix(self, string):
            return None if NoMatcher.loading else super().find_prefix(string)

        def find_suffix(self, string):
            return None if NoMatcher.loading else super().find_suffix(string)

        def find_infix(self, string):
            return [] if NoMatcher.loading else super().find_infix(string)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = spacy.blank(lang).tokenizer
    regexes = {name: getattr(tok, name) for name in ("prefix_search", "suffix_search", "infix_finditer", "token_match", "url_match")}
    NoMatcher.loading = True
    try:
        pre = NoMatcher(tok.vocab, rules={k: v for k, v in tok.rules.items() if " " not in k}, **regexes)
    finally:
        NoMatcher.loading = False
    return tok, pre


def _spacy_tokens(sp: W._Spacy, chunks: list[str]) -> list[tuple[str, ...]]:
    """spaCy's tokens of each chunk before the special-case matcher (the tokenizer without matcher patterns)."""
    return _group(_reference(sp.lang)[1]("\n".join(chunks)), chunks)


def _spacy_final_tokens(sp: W._Spacy, chunks: list[str]) -> list[tuple[str, ...]]:
    """spaCy's tokens of each chunk, its special-case matcher applied."""
    return _group(_reference(sp.lang)[0]("\n".join(chunks)), chunks)


def _named_chars(sp: W._Spacy) -> list[str]:
    """Every character the language's special cases and affix regexes name (written as themselves or as \\u escapes with four hex digits)."""
    chars = {ch for rule in sp.rules for ch in rule}
    tok = _reference(sp.lang)[0]
    for method in (tok.prefix_search, tok.suffix_search, tok.infix_finditer, tok.token_match, tok.url_match):
        pattern = getattr(method, "__self__", None)
        if isinstance(pattern, re.Pattern):
            chars.update(pattern.pattern)
            chars.update(chr(int(h, 16)) for h in re.findall(r"\\u([0-9A-Fa-f]{4})", pattern.pattern))
    return sorted(ch for ch in chars if not ch.isspace())


def _random_chunks(rng: random.Random, named: list[str], n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éßøçñЖжبمअकক中ひ한ไ"
    out = set()
    while len(out) < n:
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(named))
            elif r < 0.8:
                parts.append(rng.choice(letters))
            else:
                ch = chr(rng.randrange(0x21, sys.maxunicode))
                if not ch.isspace() and not 0xD800 <= ord(ch) <= 0xDFFF:
                    parts.append(ch)
        chunk = "".join(parts)
        if chunk:
            out.add(chunk)
    return sorted(out)


QUICK = {"en", "fr", "de", "ru"}  # `make test-fast` runs these; `make test` every language


def _special_chunks(sp: W._Spacy, rng: random.Random) -> list[str]:
    """Every special case of the language alone and with affixes around it: one or two of the characters
    its rules name before it, after it, or both (spaCy's affix loop stops at a special case it uncovers)."""
    edges = [ch for ch in _named_chars(sp) if not ch.isalnum()] or ["."]
    chunks = []
    for rule in sorted(sp.rules):
        a, b = rng.choice(edges), rng.choice(edges) + rng.choice(["", rng.choice(edges)])
        chunks += [rule, a + rule, rule + b, a + rule + b, rule + rule[-1:] + b]
    return chunks


def _lookbehind_chunks(rng: random.Random) -> list[str]:
    """Words ending in a unit or a letter a suffix takes only after a digit (``(?<=[0-9])km$``), with and
    without a digit anywhere in them: a chunk without one is a single token without the regexes."""
    words = ["km", "kg", "mm", "m", "s", "h", "min", "a", "ya", "paz", "Punda", "cm²", "°C", "$", "€", "US$", "%"]
    out = []
    for w in words:
        out += [w, "5" + w, "x5" + w, "5x" + w, "a" + w, w + ".", "5" + w + ".", "(" + w + ")", "(5" + w + ")", "٣" + w, rng.choice("0123456789") + w + ","]
    return out


@pytest.mark.parametrize("lang", [lang if lang in QUICK else pytest.param(lang, marks=pytest.mark.slow) for lang in LANGUAGES])
def test_affix_tokens_are_spacys_on_random_chunks(lang):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp = W.spacy_pipeline(lang)
    rng = random.Random(lang)
    chunks = _random_chunks(rng, _named_chars(sp), 4000) + _special_chunks(sp, rng) + _lookbehind_chunks(rng)
    chunks = [c for c in dict.fromkeys(chunks) if c and not any(ch.isspace() for ch in c)]
    specials = changed = 0
    for chunk, expected, final in zip(chunks, _spacy_tokens(sp, chunks), _spacy_final_tokens(sp, chunks)):
        got = sp.affixes.tokens(chunk)
        assert got == expected, (lang, chunk)
        specials += any(t in sp.rules for t in got) and got != (chunk,)
        assert sp.matched(got) == final, (lang, chunk)  # spaCy's matcher, without spaCy
        changed += final != got
    assert specials > 0 or not any(len(p) > 1 for p in sp.affixes.rules.values())  # special cases were met
    assert changed > 0 or lang not in ("en", "fr")  # and the matcher changed tokens (in these two at least)


def test_affix_regex_analysis_is_conservative():
    """Constructs the analysis does not know make the real regex run (``.``, backreferences, local flags)."""
    from filters.spacy_affixes import _RegexChars

    for pattern, text in [(r"^.", "a"), (r"(a)\1$", "aa"), (r"(?i:A)$", "a"), (r"^(?:x|[^a])", "b"), (r"(?<=x)(?=y)", "xy")]:
        rc = _RegexChars(re.compile(pattern), "start" if pattern.startswith("^") else "end" if pattern.endswith("$") else None)
        assert re.search(pattern, text) is not None
        assert not rc.cannot_match(text, text[0] if pattern.startswith("^") else text[-1]), pattern
    rc = _RegexChars(re.compile(r"(?<=[0-9])km$|,$"), "end")
    assert rc.cannot_match("kilokm", "m")  # no digit: the unit rule cannot match
    assert not rc.cannot_match("5km", "m") and not rc.cannot_match("a,", ",")


def test_a_suffix_match_is_found_in_the_window_of_last_characters():
    """``_RegexChars.window``: searching only the string's last k characters gives the match the whole
    string gives (the suffixes are then remembered by those characters), on random strings; where the
    match could reach further (an unbounded repeat, a word boundary) there is no window."""
    from filters.spacy_affixes import _RegexChars

    patterns = [
        r"(?<=[0-9])(?:km|kg|m)$|,$|(?<=[a-z]\))\.$|(?:ab|b)c$|'s$",
        r"(?<=[0-9a-z])\.$|x{2,3}$|(?<=x)y$",
        r"\.\.+$|,$|(?<=[a-z])\.$",
        r"\bx$|,$",
    ]
    rng = random.Random(5)
    alphabet = "ab0c.,xy)'skm"
    for pattern in patterns:
        regex = re.compile(pattern)
        rc = _RegexChars(regex, "end")
        windows = set()
        for _ in range(20_000):
            s = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
            k = rc.window(s[-1])
            windows.add(k)
            if k is None:
                continue
            whole = regex.search(s)
            whole_len = whole.end() - whole.start() if whole else 0
            part = regex.search(s[-k:]) if k else None
            assert (part.end() - part.start() if part else 0) == whole_len, (pattern, s, k)
        assert any(k for k in windows if k is not None), pattern
    assert _RegexChars(re.compile(patterns[0]), "end").window("m") == 3  # a digit and "km"
    assert _RegexChars(re.compile(patterns[0]), "end").window("q") == 0  # no alternative ends with it
    assert _RegexChars(re.compile(patterns[2]), "end").window(".") is None  # "\.\.+" may reach any length
    assert _RegexChars(re.compile(patterns[2]), "end").window(",") == 1
    assert _RegexChars(re.compile(patterns[3]), "end").window("x") is None  # \b looks before the match


@pytest.mark.real_data
@pytest.mark.slow
def test_affix_tokens_are_spacys_on_the_real_texts(shared_data):
    """Every chunk of the texts checked in each spaCy language (as the benchmark and the decision test
    check them), plus a sample of every other script's chunks."""
    from bench import fineweb2_reference as R

    cases = R.cases(R.multilingual_samples())
    by_lang: dict[str, set[str]] = {}
    for case in cases:
        used = wt.assignment(case.code).used
        if used.startswith("spacy:"):
            by_lang.setdefault(used.split(":", 1)[1], set()).update(case.text.split())
    pool = sorted({c for case in cases for c in case.text.split()})
    rng = random.Random(14)
    total = 0
    for lang in LANGUAGES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sp = W.spacy_pipeline(lang)
        chunks = sorted(by_lang.get(lang, set()) | set(rng.sample(pool, 1500)))
        for chunk, expected, final in zip(chunks, _spacy_tokens(sp, chunks), _spacy_final_tokens(sp, chunks)):
            assert sp.affixes.tokens(chunk) == expected, (lang, chunk)
            assert sp.matched(expected) == final, (lang, chunk)
            total += 1
    assert total > 100_000


@pytest.mark.parametrize("lang", [lang if lang in QUICK else pytest.param(lang, marks=pytest.mark.slow) for lang in LANGUAGES])
def test_kept_tokenizer_rules_are_spacys(lang, tmp_path, monkeypatch):
    """What a process keeps of a spaCy tokenizer (``filters.spacy_spec``) gives the next one the same rules,
    regexes and tokens, without spaCy's objects until they are asked for."""
    from filters import spacy_spec

    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = W._Spacy(lang)  # no file yet: from spaCy, then kept
    assert built.from_spacy and len(list(tmp_path.glob(f"spacy-tokenizer-{lang}-*.json"))) == 1
    kept = W._Spacy(lang)
    assert not kept.from_spacy  # read from the file
    for attr in ("rules", "pairs", "pair_left", "pair_right", "effectful", "effectful_lengths", "safe", "plain_words",
                 "punct_chars", "sentence_fast_path"):
        assert getattr(kept, attr) == getattr(built, attr), attr
    assert kept.affixes.rules == built.affixes.rules
    for name in spacy_spec.REGEXES:
        ours, theirs = getattr(kept.affixes, name), getattr(_reference(lang)[0], name)
        assert spacy_spec.regex_data(ours) == spacy_spec.regex_data(theirs), name
    rng = random.Random(lang)
    chars = [chr(c) for c in rng.sample(range(0x21, 0x3000), 3000)] + [ch for ch in _named_chars(built)]
    assert [kept.is_punct(c) for c in chars] == [built.is_punct(c) for c in chars]
    chunks = _random_chunks(rng, _named_chars(built), 1000) + _special_chunks(built, rng)[:1000]
    assert [kept.matched(kept.affixes.tokens(c)) for c in chunks] == [built.matched(built.affixes.tokens(c)) for c in chunks]
    assert kept.patterns == built.patterns


def test_a_damaged_kept_file_is_ignored_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path))
    W._Spacy("en")
    (path,) = tmp_path.glob("spacy-tokenizer-en-*.json")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut off
    again = W._Spacy("en")
    assert again.from_spacy  # built from spaCy
    assert path.read_bytes() == good  # and kept whole again
    monkeypatch.setenv("CURATION_CACHE_DIR", "off")
    assert W._Spacy("en").from_spacy and not list(tmp_path.glob("*.tmp"))


WORDS_WITHOUT_SPACY = """
import sys
from filters import words as W
W.spacy_objects()  # the rules kept by the process before: spaCy is not imported
text = "Hello, world! I don't think (it's) fine: e.g. U.S.A. costs $5.00 today. Mr. Smith can't go."
got = W.words(text), W.count_sentences(text)
assert "spacy" not in sys.modules, "spaCy was imported"
print(got)
"""


def test_words_are_split_without_importing_spacy_once_its_rules_are_kept(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    from bench.datatrove_filters import reference_tokenizer

    env = {**os.environ, "CURATION_CACHE_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[1]
    first = subprocess.run([sys.executable, "-c", "from filters import words as W; W.spacy_objects()"], env=env, cwd=root, timeout=300)
    assert first.returncode == 0
    proc = subprocess.run([sys.executable, "-c", WORDS_WITHOUT_SPACY], env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = "Hello, world! I don't think (it's) fine: e.g. U.S.A. costs $5.00 today. Mr. Smith can't go."
    from datatrove.utils.text import split_into_sentences

    assert proc.stdout.strip() == str((reference_tokenizer().word_tokenize(text), len(split_into_sentences(text, "eng"))))
