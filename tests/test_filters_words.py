"""filters.words (cached spaCy words and sentence counts) against datatrove's tokenizer."""

from __future__ import annotations

import random
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datatrove.utils.text import split_into_sentences

from bench import real_texts as corpus
from filters import words as W
from bench.datatrove_filters import corpus_outcomes, reference_tokenizer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ref_words(text: str) -> list[str]:
    return reference_tokenizer().word_tokenize(text)


def ref_sentences(text: str) -> int:
    return len(split_into_sentences(text, "eng"))


def test_whitespace_classes_agree():
    # spaCy cuts chunks with str.isspace(); we use str.split() and re's \s: all three must agree
    ws = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert re.fullmatch(r"\s+", ws)
    assert all(len(f"a{c}b".split()) == 2 for c in ws)
    non_ws = [chr(c) for c in range(sys.maxunicode + 1) if not chr(c).isspace() and not 0xD800 <= c <= 0xDFFF]
    assert not re.search(r"\s", "".join(non_ws))


def test_special_case_analysis():
    sp = W.spacy_objects()
    assert sp.safe and sp.sentence_fast_path
    assert (":", ")") in sp.pairs  # ":)" is a special case whose pattern is ":" ")"
    assert ("'", "s") in sp.effectful  # "'s" is one token in spaCy, two by affixes alone


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n",
        "Hello world, it's me.  U.S.A. e-mail http://x.com/a?b=c",
        "=( :)",  # the ":)" special case is shadowed by "( :" across the space in the whole text
        "a :) b",
        "x:) (:",
        "Don't stop'til you get enough :-) 10a.m. e.g. ",
        "tabs\tand\u00a0nbsp\u3000ideographic space\r\nand CRLF",
        "lorem " * 500,
        "x" * 5000,
    ],
)
def test_words_hand_written(text):
    assert W.words(text) == ref_words(text)
    assert W.count_words(text) == len(ref_words(text))


def _fragments() -> list[str]:
    sp = W.spacy_objects()
    rules = sorted(s for s in sp.rules if not any(c.isspace() for c in s))
    pieces = sorted({t for pair in sp.pairs for t in pair})
    return rules + pieces + ["a", "b", "the", "x", "(", ")", ":", "'", ".", "-", "8", "...", "U.S.", "é"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_words_special_case_soup(data):
    """Texts made of special-case strings and their pieces: where boundaries matter."""
    frags = _fragments()
    chunks = data.draw(
        st.lists(st.lists(st.sampled_from(frags), min_size=1, max_size=3).map("".join), min_size=1, max_size=8)
    )
    seps = data.draw(st.lists(st.sampled_from([" ", " ", " ", "  ", "\n", " \n", "\t"]), min_size=len(chunks), max_size=len(chunks)))
    text = "".join(c + s for c, s in zip(chunks, seps))
    assert W.words(text) == ref_words(text)
    assert W.count_sentences(text.strip()) == ref_sentences(text.strip())


def test_words_random_soup_finds_the_shadowing_case():
    """Many seeded texts: our words equal datatrove's, although chunk-by-chunk words do not always."""
    rng = random.Random(0)
    frags = _fragments()
    naive_differs = 0
    for _ in range(1500):
        text = " ".join("".join(rng.choice(frags) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(2, 8)))
        expected = ref_words(text)
        assert W.words(text) == expected, text
        if _ % 3 == 0:  # and the sentences of a third of them, other whitespace between some chunks
            spaced = re.sub(r" ", lambda m: rng.choice([" ", " ", "\n", "  "]), text)
            assert W.count_sentences(spaced) == ref_sentences(spaced), spaced
        naive = [w for chunk in text.split() for w in ref_words(chunk)]
        naive_differs += naive != expected
    # the boundary check is needed: splitting chunk by chunk alone would get some of these wrong
    assert naive_differs > 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_words_any_text(text):
    assert W.words(text) == ref_words(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Hello", "world", ".", "!", "?", "...", "U.S.", "e.g.", '"', "'", ")", "(", ":)", "\u3002", "a"]),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.sampled_from(["", " ", "  ", "\n", "\t", " \u00a0"]), min_size=20, max_size=20),
)
def test_count_sentences_generated(tokens, seps):
    text = "".join(t + s for t, s in zip(tokens, seps))
    assert W.count_sentences(text) == ref_sentences(text)
    assert W.split_sentences(text) == split_into_sentences(text, "eng")


@pytest.fixture(scope="module")
def real_samples():
    samples = corpus.all_texts()
    if not samples:
        pytest.skip(f"no shared data at {corpus.shared_data_dir()} (set CURATION_SHARED_DATA)")
    return samples


@pytest.fixture(scope="module")
def real_texts(real_samples):
    return [s.text for s in real_samples]


@pytest.mark.real_data
@pytest.mark.slow
def test_words_real_pages(real_samples):
    expected = corpus_outcomes()
    before = dict(W.counters)
    for sample in real_samples:
        assert W.words(sample.text) == expected[sample.id]["words"], sample.id
    # the whole-text fallback stays rare
    assert W.counters["fallbacks"] - before["fallbacks"] <= len(real_samples) // 50


@pytest.mark.real_data
@pytest.mark.slow
def test_count_sentences_real_lines(real_texts):
    lines = [line.strip() for text in real_texts[::3] for line in text.splitlines() if line.strip()]
    for line in lines[:4000]:
        assert W.count_sentences(line) == ref_sentences(line), line


def test_cache_bounds_keep_answers(monkeypatch):
    monkeypatch.setattr(W, "MAX_CACHED_CHUNKS", 40)
    texts = [f"Sentence number {i} is here, with :) and U.S. words {i * 7}. " * 3 for i in range(30)]
    before = W.counters["cache_clears"]
    for text in texts:
        assert W.words(text) == ref_words(text)
        assert W.count_words(text + " extra") == len(ref_words(text + " extra"))
        assert W.count_sentences(text) == ref_sentences(text)
    assert W.counters["cache_clears"] > before
    assert len(W._TOK) < 200


def _spacy_tokens(chunk: str) -> tuple[str, ...]:
    """The chunk's tokens from spaCy itself (datatrove's pipeline, whitespace tokens dropped)."""
    return tuple(ref_words(chunk))


_LETTERS = [chr(c) for c in range(0x20000) if chr(c).isalpha()]
_ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _plain_candidates(rng: random.Random, n: int) -> list[str]:
    """Words of letters (all of Unicode, and ASCII) and digits, bare or with each mark the fast path
    knows before or after them, plus special-case words ("cannot", "Mr") the fast path must refuse."""
    specials = [s for s in W.spacy_objects().rules if s.strip(".'’").isalpha()][:300]
    out = []
    for _ in range(n):
        core = "".join(rng.choice(_LETTERS if rng.random() < 0.4 else _ASCII) for _ in range(rng.randint(1, 9)))
        if rng.random() < 0.15:
            core = rng.choice(specials).strip(".'’") or core
        if rng.random() < 0.05:
            core = str(rng.randint(0, 10**6))
        if rng.random() < 0.05:  # clock times, alone (kind < 0.25) or with marks (refused)
            core = ":".join(str(rng.randint(0, 99)) for _ in range(rng.randint(2, 3))) + rng.choice(["", "am", "PM"])
        kind = rng.random()
        if kind < 0.25:
            out.append(core)
        elif kind < 0.65:
            out.append(core + rng.choice(sorted(W.PLAIN_TAILS) + ["."] * 8))
        elif kind < 0.75:
            out.append(core + rng.choice(W.PLAIN_POSSESSIVES))
        elif kind < 0.9:
            out.append(core + "-" + "".join(rng.choice(_ASCII if rng.random() < 0.8 else _LETTERS) for _ in range(rng.randint(1, 6))))
        else:
            out.append(rng.choice(sorted(W.PLAIN_HEADS)) + core)
    return out


def test_plain_chunks_take_spacys_tokens():
    """The fast path for plain words (no spaCy call) gives spaCy's tokens, and refuses what it must."""
    sp = W.spacy_objects()
    chunks = _plain_candidates(random.Random(7), 20_000)
    taken = refused = 0
    for chunk in chunks:
        toks = W._plain_tokens(sp, chunk)
        if toks is None:
            refused += 1
            continue
        taken += 1
        assert toks == _spacy_tokens(chunk), chunk
    assert taken > 12_000 and refused > 1_000  # both branches are exercised
    for chunk in ["cannot", "cannot,", "Mr.", "e.", "gonna!", "(cannot", "don't", "can't", "a-b-c", "é-a"]:
        assert W._plain_tokens(sp, chunk) is None, chunk  # special cases and other marks: spaCy decides


@pytest.mark.real_data
@pytest.mark.slow
def test_plain_chunks_of_the_real_pages(real_samples):
    sp = W.spacy_objects()
    chunks = sorted({c for s in real_samples for c in s.text.split()})
    taken = 0
    for chunk in chunks:
        toks = W._plain_tokens(sp, chunk)
        if toks is not None:
            taken += 1
            assert toks == _spacy_tokens(chunk), chunk
    assert taken > len(chunks) // 2


IMPORT_SPACY_ALONE = """
import sys
from filters.words import _Spacy, _import_spacy
spacy = _import_spacy()
assert "spacy.cli" not in sys.modules and "spacy.cli.info" not in sys.modules
assert "torch" not in sys.modules  # neither imported nor left blocked
sp = _Spacy("en")
assert sp._nlp is None  # datatrove's whole pipeline waits for its first use
assert sp.nlp.pipe_names == ["sentencizer"] and sp.nlp is sp.nlp
assert sp.punct_chars == frozenset(sp.nlp.get_pipe("sentencizer").punct_chars)
import spacy.cli  # the real command-line interface, still there for whoever wants it
assert callable(spacy.cli.download) and spacy.info()["spacy_version"] == spacy.__version__
print("ok")
"""


def test_spacy_is_imported_without_its_command_line_interface_and_torch():
    """``_import_spacy`` leaves out spacy.cli and torch while spaCy imports (0.2 s and ~360 modules
    less per worker) and no stand-in behind; datatrove's own pipeline is built on first use."""
    import subprocess
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-c", IMPORT_SPACY_ALONE], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
