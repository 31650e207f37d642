"""Generated local-news prose in German, French, Spanish, Italian, Portuguese, Russian, Chinese and Japanese.

``data/foreign.json`` holds, per language, phrase tables written for this module: ``S`` subjects
(singular noun phrases), ``VP`` verb phrases as [verb, object] (in Chinese and Japanese one
string, the verb carrying its object), ``A`` adverbials, ``C`` sentence connectors, ``people`` and
``roles`` (a role names a group, so that it fits any name), and the ``frames`` and ``titles`` that
put them together in the language's word order. A frame names its slots: ``{S}``/``{s}`` a subject
(capitalised or not), ``{V} {O}`` a verb phrase, ``{s2} {V2} {O2}`` a second clause's, ``{A}``/
``{A_cap}``, ``{C}``, ``{P}`` a person, ``{R}`` a role, ``{N}`` a number; ``[a|b|c]`` is one of a, b, c.

A real article seldom repeats a run of five words; FineWeb-2's Gopher repetition filter drops a page
whose repeated word 5-grams cover more than 14-24 % of its characters (by language). So every table
is drawn without replacement (reshuffled only once all its entries were used), the frames' fixed
words are short runs, and a page (at most ~55 sentences) uses each verb phrase about once.
"""

from __future__ import annotations

import random
import re
from string import Formatter

from curation.sample.datafiles import load
from curation.sample.english import _Cycle, cap

_TABLES: dict[str, dict[str, list]] = load("foreign.json")
LANGUAGES = sorted(_TABLES)
_CJK = ("zh", "ja")
_CHOICE = re.compile(r"\[([^\[\]]*)\]")  # "[hoffen|glauben]": one of the words, so that a frame's own words vary too


def _slots(frame: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(frame) if name}


class Foreign:
    """A small grammar of local-news prose in one language; every table a deck drawn without replacement."""

    def __init__(self, rng: random.Random, lang: str):
        t = _TABLES[lang]
        self.rng = rng
        self.cjk = lang in _CJK
        self.decks = {k: _Cycle(rng, t[k]) for k in ("S", "VP", "A", "C", "people", "roles", "frames", "titles")}

    def _verb_phrase(self) -> tuple[str, str]:
        vp = self.decks["VP"].next()
        return (vp, "") if isinstance(vp, str) else (vp[0], vp[1])

    def fill(self, frame: str) -> str:
        """``frame`` with its choices made and its slots drawn (only the slots it names, so unused slots leave the decks alone)."""
        frame = _CHOICE.sub(lambda m: self.rng.choice(m.group(1).split("|")), frame)
        slots = _slots(frame)
        d = self.decks
        values: dict[str, str] = {}
        if slots & {"S", "s"}:
            subject = d["S"].next()
            values.update(S=cap(subject), s=subject)
        if slots & {"V", "O"}:
            values["V"], values["O"] = self._verb_phrase()
        if "s2" in slots:
            values["s2"] = d["S"].next()
        if slots & {"V2", "O2"}:
            values["V2"], values["O2"] = self._verb_phrase()
        if slots & {"A", "A_cap"}:
            adverbial = d["A"].next()
            values.update(A=adverbial, A_cap=cap(adverbial))
        if "C" in slots:
            values["C"] = d["C"].next()
        if "P" in slots:
            values["P"] = d["people"].next()
        if "R" in slots:
            values["R"] = d["roles"].next()
        if "N" in slots:
            values["N"] = str(self.rng.randint(4, 95) * 10)
        text = frame.format(**values)
        return text if self.cjk else " ".join(text.split())

    def sentence(self) -> str:
        return self.fill(self.decks["frames"].next())

    def title(self) -> str:
        return self.fill(self.decks["titles"].next())

    def paragraph(self) -> str:
        sents = [self.sentence() for _ in range(self.rng.randint(2, 5))]
        return ("" if self.cjk else " ").join(sents)


def foreign_paragraphs(rng: random.Random, lang: str, n_paragraphs: int) -> tuple[str, list[str]]:
    """A title and paragraphs of generated prose in ``lang``.

    The text comes from a generator of its own, seeded by one draw of ``rng``: how many words the tables
    spend does not move the caller's later draws (a page's URL and markup)."""
    gen = Foreign(random.Random(rng.getrandbits(64)), lang)
    title = gen.title()
    return title, [gen.paragraph() for _ in range(n_paragraphs)]
