"""The library splitters that call a tokenizer more cheaply than datatrove's object (SudachiPy without spaCy's
Doc, pyvi without spaCy's Doc and with faster CRF features, pyidaungsu with its CRF opened once and faster
features) give datatrove's words: on every real text of their languages, on random and hostile texts, and again
from their cache."""

from __future__ import annotations

import random
import warnings

import pytest

from bench import fineweb2_reference as R
from filters.fineweb2 import language_codes
from filters.fineweb2 import word_tokenizers as wt

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# what runs here -> (its splitter class, a module it needs)
FAST = {
    "sudachipy": (wt.SudachiSplitter, "sudachipy"),
    "pyvi": (wt.PyviSplitter, "pyvi"),
    "pyidaungsu": (wt.BurmeseSplitter, "pyidaungsu"),
}

HOSTILE = [
    "",
    " ",
    "  ",
    "\n\n\t",
    "\u3000",
    " \u3000 \n",
    "IS_ALPHA and more IS_ALPHA",
    "ＩＳ＿ＡＬＰＨＡ ＡＤＪ ＮＯＵＮ",
    "1234567890123456789012345678901234567890",
    "Ünïcödé — 中文混合 English текст العربية ภาษาไทย 한국어 日本語のテキスト ๑๒๓ tiếng Việt မြန်မာစာ ၁၂၃",
    "🙂🙃 ‍ \u200b\u200d\ufeff \x00\x07 ",
    "a" * 5000,
    "あ" * 15000,  # 45,000 bytes: two of datatrove's 40,000-byte Japanese chunks
    "日本語 " * 7000,
    "…" * 50 + "‥‥ ・・・",
    "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ＡＢＣ１２３",
    "က" * 3000,
    "မြန်မာ " * 2000,
    "Hôm nay " * 2000,
    "。。。！！！???",
    "line one\r\nline two\u2028line three\x0bend",
    "==> -> ... >> Tp. Mr. Mrs. ThS. Dr. http://a.vn/x?y=1 a.b+c@d-e.vn 1.000,5 3_4",
    " leading and trailing spaces  \n",
    "\x1c\x1d\x1e\x1f\x85\xa0\u2000\u2001\u205f",
]

_POOLS = {
    "sudachipy": list("日本語のテキストを形態素解析するための文章です東京都に住んでいる")
    + list("ァィゥカタカナーヴｶﾞｷﾞｸﾞﾟ")
    + list("ＡＢＣ１２３abcXYZ019")
    + list("、。「」『』（）()…‥・！？!?〜ー—")
    + [" ", "  ", "\n", "\r\n", "\t", "\u3000", "\xa0", "\u200b", "🙂"],
    "pyvi": ["Hôm", "nay", "tôi", "đi", "học", "Việt", "Nam", "Hà", "Nội", "người", "quyền", "tự", "do", "bình", "đẳng", "TP", "Tp.", "Mr.", "ĐH."]
    + list("aeiouđươăâ0123456789")
    + ["...", "==>", "->", ">>", "1.000", "2,5", "3_4", "http://x.vn/a", "a@b.vn", ",", ".", "!", "?", "(", ")", "-", "_", "'", '"']
    + [" ", "  ", "\n", "\r\n", "\t", "\u3000", "\xa0", "\u200b"],
    "pyidaungsu": list("ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအ")
    + list("ါာိီုူေဲံ့း္်ျြွှဿ၌၍၏ဣဤဥဦဧဩဪ")
    + list("၀၁၂၃၄၅၆၇၈၉၊။")
    + list("abcXYZ019+.,!-")
    + [" ", "  ", "\n", "\r\n", "\t", "\u200b", "\xa0"],
}


def _random_texts(used: str, rng: random.Random, count: int = 120) -> list[str]:
    pool = _POOLS[used]
    joiner = " " if used == "pyvi" else ""
    return [joiner.join(rng.choice(pool) for _ in range(rng.randint(0, 150))) for _ in range(count)]


def _code(used: str) -> str:
    return next(c for c in language_codes() if wt.assignment(c).used == used and not wt.assignment(c).fallback)


def _datatrove(text: str, code: str):
    """datatrove's ``split_into_words(text, code)``, or the type of the error it raises."""
    from datatrove.utils.text import split_into_words

    try:
        return list(split_into_words(text, code))
    except Exception as e:  # noqa: BLE001
        return type(e)


def _ours(split: wt.Splitter, text: str):
    try:
        return split.words(text)
    except Exception as e:  # noqa: BLE001
        return type(e)


def _splitter(used: str):
    cls, module = FAST[used]
    pytest.importorskip(module)
    split = wt.splitter(_code(used))
    assert type(split) is cls
    return split


def _check(split: wt.Splitter, code: str, texts: list[str]) -> None:
    for _ in range(2):  # the second time the last texts come from the cache
        for text in texts:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert _ours(split, text) == _datatrove(text, code), (code, text[:60])


@pytest.mark.parametrize("used", sorted(FAST))
def test_fast_splitter_equals_datatrove_on_hostile_and_random_texts(used):
    split = _splitter(used)
    code = _code(used)
    texts = HOSTILE + _random_texts(used, random.Random(21))
    _check(split, code, texts)
    # the fast path itself (no fallback to datatrove's object) on the texts without "IS_ALPHA"
    fast = [t for t in texts if "IS_ALPHA" not in t]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [split._fast_words(t) for t in fast] == [_datatrove(t, code) for t in fast]


@pytest.mark.real_data
@pytest.mark.parametrize("used", sorted(FAST))
def test_fast_splitter_equals_datatrove_on_every_real_text(used, shared_data):
    """Every real text checked with this tokenizer (in any of its languages), and a UDHR text of every script."""
    split = _splitter(used)
    code = _code(used)
    real = sorted({c.text for c in R.cases(R.multilingual_samples()) if wt.assignment(c.code).used == used})
    assert real
    scripts = {}
    for s in R.langid_texts_udhr():
        for c in R.labelled_codes(s):
            scripts.setdefault(c.split("_")[1], s.text)
    texts = real + sorted(scripts.values())
    _check(split, code, texts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [split._fast_words(t) for t in real] == [_datatrove(t, code) for t in real]


def test_pyvi_features_are_pyvis():
    split = _splitter("pyvi")
    vi, vit = split._tokenizer()
    rng = random.Random(5)
    for text in HOSTILE + _random_texts("pyvi", rng, 200):
        words = [t for t in vi.pyvi_sylabelize_with_ws(text) if not t.isspace()]
        ours, theirs = split.features(words, vit), vit.sent2features(words, False)
        assert ours == theirs and [list(f) for f in ours] == [list(f) for f in theirs]  # same keys, same order
        assert [[type(v) for v in f.values()] for f in ours] == [[type(v) for v in f.values()] for f in theirs]


def test_burmese_features_are_pyidaungsus():
    import importlib

    split = _splitter("pyidaungsu")
    tokenize = importlib.import_module("pyidaungsu.tokenize").Tokenize()
    rng = random.Random(6)
    for text in HOSTILE + _random_texts("pyidaungsu", rng, 200) + ["abcdefg"[:n] for n in range(8)]:
        sent = text.replace(" ", "")
        assert [list(f) for f in split.features(sent)] == tokenize.create_sentence_features(sent), sent[:40]


def test_a_failing_fast_path_falls_back_to_datatrove(monkeypatch):
    split = _splitter("sudachipy")
    code = _code("sudachipy")

    def broken(text):
        raise ValueError("broken")

    monkeypatch.setattr(split, "_fast_words", broken)
    split._recent.clear()
    text = "今日は良い天気です。"
    assert split.words(text) == _datatrove(text, code)
    split._recent.clear()


def test_jieba_block_cutter_gives_jiebas_pieces():
    """JiebaBlockCutter is jieba's own cut of a block (its dictionary route and HMM): on random blocks from
    common characters (many dictionary words, and runs of single characters that go to the HMM), Latin,
    digits and jieba's block punctuation, and after a user adds a word to the tokenizer's dictionary."""
    jieba = pytest.importorskip("jieba")
    from jieba import finalseg

    from filters.fineweb2.jieba_cut import JiebaBlockCutter

    common = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事"
    rare = "龘靐齉爩鱻麤龖鬱纞驫灪籱"  # characters with little or no dictionary entry
    pool = list(common * 3 + rare + "abcXYZ019+#&._%-")
    rng = random.Random(15)
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 150))) for _ in range(1500)]
    tokenizer = jieba.Tokenizer()  # a tokenizer of our own: the word added below stays out of the default one
    cutter = JiebaBlockCutter(tokenizer, finalseg)
    blocks = [b for t in texts for i, b in enumerate(jieba.re_han_default.split(t)) if i % 2]
    assert len(blocks) > 1000
    for b in blocks:
        assert cutter.cut(b) == list(tokenizer.cut(b, cut_all=False)), b
    tokenizer.add_word("龘靐齉", freq=1_000_000)
    for b in blocks + ["龘靐齉爩"]:
        assert cutter.cut(b) == list(tokenizer.cut(b, cut_all=False)), b
