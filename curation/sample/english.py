"""Generated English prose: a small probabilistic grammar over the word lists of ``data/``.

``topics.json`` holds each topic's own words, ``english.json`` the words and phrases every topic
shares, ``names.json`` people and towns.  Nouns are "singular/plural" entries (the plural
defaults to singular + "s"); verbs are "base/3rd-person/past/participle".
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from curation.sample.datafiles import load

_TOPICS: dict[str, dict[str, Any]] = load("topics.json")
_WORDS: dict[str, list[str]] = load("english.json")
_NAMES: dict[str, list[str]] = load("names.json")

DEGREE: list[str] = _WORDS["degree_adverbs"]
MANNER: list[str] = _WORDS["manner_adverbs"]


def _nouns(entries: list[str]) -> list[tuple[str, str]]:
    return [tuple(e.split("/", 1)) if "/" in e else (e, e + "s") for e in entries]


def _verbs(entries: list[str]) -> list[tuple[str, ...]]:
    return [tuple(e.split("/")) for e in entries]


@dataclass(frozen=True)
class Vocab:
    """The words of one topic, the shared words appended (topic words repeated so that they weigh more)."""

    agents: list[tuple[str, str]]
    things: list[tuple[str, str]]
    places: list[tuple[str, str]]
    adjectives: list[str]
    verbs: list[tuple[str, ...]]
    field: str    # "public transport", "gardening": the topic in running text
    section: str  # the URL section of the topic's articles


def _build_vocab() -> dict[str, Vocab]:
    w = _WORDS
    gen_agents, gen_things, gen_places = _nouns(w["agents"]), _nouns(w["things"]), _nouns(w["places"])
    out = {}
    for name, t in _TOPICS.items():
        out[name] = Vocab(
            agents=_nouns(t["agents"]) * 2 + gen_agents,
            things=_nouns(t["things"]) * 2 + gen_things,
            places=_nouns(t["places"]) * 2 + gen_places,
            adjectives=t["adjectives"] * 2 + w["adjectives"],
            verbs=_verbs(t["verbs"]) * 3 + _verbs(w["verbs"]),
            field=t["field"],
            section=t["section"],
        )
    return out


VOCAB = _build_vocab()
TOPICS = sorted(VOCAB)
INTRANSITIVE = _verbs(_WORDS["intransitive_verbs"])
ALL_ADJECTIVES = sorted({a for v in VOCAB.values() for a in v.adjectives})


def _article(word: str) -> str:
    w = word.lower()
    if w.startswith(("uni", "use", "one", "euro", "u-")):
        return "a"
    if w.startswith(("hour", "honest", "heir")):
        return "an"
    return "an" if w[:1] in "aeiou" else "a"


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def split_sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?]) (?=[A-Z])", paragraph)


class _Cycle:
    """Draw items without replacement, reshuffling once exhausted (keeps texts varied)."""

    def __init__(self, rng: random.Random, items):
        self.rng, self.items, self.pool = rng, list(items), []

    def next(self):
        if not self.pool:
            self.pool = self.items[:]
            self.rng.shuffle(self.pool)
        return self.pool.pop()


class English:
    """A small probabilistic grammar of English prose on one topic."""

    def __init__(self, rng: random.Random, topic: str):
        self.rng = rng
        self.topic = topic
        self.v = VOCAB[topic]
        self.place_name = rng.choice(_NAMES["town_starts"]) + rng.choice(_NAMES["town_ends"])
        self.openers = _Cycle(rng, _WORDS["openers"])
        self.times = _Cycle(rng, _WORDS["times"])
        self.names = _Cycle(rng, [f"{f} {last}" for f in _NAMES["first_names"] for last in _NAMES["last_names"]])
        self.roles = _Cycle(rng, _NAMES["roles"])
        self.headings = _Cycle(rng, _WORDS["headings"])

    # -- phrases ------------------------------------------------------------------------
    def np(self, kind: str = "things", plural: bool | None = None, tail: bool = True) -> tuple[str, bool]:
        r = self.rng
        if plural is None:
            plural = r.random() < 0.42
        sg, pl = r.choice(getattr(self.v, kind))
        noun = pl if plural else sg
        words = []
        if r.random() < 0.45:
            adj = r.choice(self.v.adjectives)
            if r.random() < 0.12:
                adj = r.choice(DEGREE) + " " + adj
            words.append(adj)
        words.append(noun)
        core = " ".join(words)
        if plural:
            det = r.choice(["the", "the", "many", "some", "several", "these", "those", "most", "a few",
                            "our", "their", "", "", "two", "dozens of"])
        else:
            det = r.choice(["the", "the", "the", "a", "a", "this", "that", "every", "one", "our", "their",
                            "each", "another"])
            if det == "a":
                det = _article(core)
        phrase = (det + " " + core).strip()
        if tail and r.random() < 0.16:
            if r.random() < 0.5:
                psg, ppl = r.choice(self.v.places)
                phrase += " of the " + (ppl if r.random() < 0.3 else psg)
            else:
                phrase += " in " + self.place_name
        return phrase, plural

    def pp(self) -> str:
        r = self.rng
        if r.random() < 0.35:
            return self.times.next()
        if r.random() < 0.25:
            np, _ = self.np("places", plural=True, tail=False)
            return r.choice(_WORDS["prepositions_plural"]) + " " + np
        np, _ = self.np("places", plural=False, tail=False)
        return r.choice(_WORDS["prepositions_singular"]) + " " + np

    def verb(self) -> tuple[str, ...]:
        return self.rng.choice(self.v.verbs)

    def subj(self) -> tuple[str, bool]:
        """Subjects of transitive verbs are people and organisations."""
        return self.np("agents")

    def any_subj(self) -> tuple[str, bool]:
        return self.np("agents" if self.rng.random() < 0.5 else "things")

    def pres(self, v, plural: bool) -> str:
        return v[0] if plural else v[1]

    # -- sentences ----------------------------------------------------------------------
    def sentence(self) -> str:
        r = self.rng
        modals = _WORDS["modals"]
        k = r.randrange(22)
        s, pl = self.subj()
        o, _ = self.np()
        v = self.verb()
        if k == 0:
            out = f"{s} {v[2]} {o} {self.pp()}"
        elif k == 1:
            out = f"{self.openers.next()}, {s} {self.pres(v, pl)} {o}"
        elif k == 2:
            out = f"{s} {r.choice(modals)} {v[0]} {o} {self.times.next()}"
        elif k == 3:
            adv = r.choice(MANNER) + " " if r.random() < 0.4 else ""
            out = f"{s} {'have' if pl else 'has'} {adv}{v[3]} {o} {self.pp()}"
        elif k == 4:
            out = f"It is {r.choice(_WORDS['it_is'])} that {s} {self.pres(v, pl)} {o}"
        elif k == 5:
            s2, _ = self.subj()
            o2, _ = self.np()
            out = f"{s} {v[2]} {o}, and {s2} {self.verb()[2]} {o2}"
        elif k == 6:
            s2, _ = self.subj()
            o2, _ = self.np()
            out = f"Because {s} {v[2]} {o}, {s2} {self.verb()[2]} {o2} {self.times.next()}"
        elif k == 7:
            s, pl = self.any_subj()
            be = r.choice(["are", "were"]) if pl else r.choice(["is", "was"])
            adj = r.choice(self.v.adjectives)
            out = f"{s} {be} {r.choice(DEGREE)} {adj} {self.pp()}"
        elif k == 8:
            np, npl = self.np()
            be = r.choice(["are", "were"]) if npl else r.choice(["is", "was"])
            out = f"There {be} {np} {self.pp()} that {s} {v[2]}"
        elif k == 9:
            agents = self.rng.choice(self.v.agents)[1]
            out = (f"{r.choice(['Many', 'Some', 'Most', 'A few'])} {agents} "
                   f"{r.choice(['believe', 'think', 'agree', 'suspect', 'worry'])} that "
                   f"{s} {r.choice(modals)} {v[0]} {o}")
        elif k == 10:
            o2, _ = self.np()
            out = f"{s} {v[2]} {o} to {self.verb()[0]} {o2}"
        elif k == 11:
            s2, _ = self.subj()
            o2, _ = self.np()
            out = f"If {s} {self.pres(v, pl)} {o}, {s2} will {self.verb()[0]} {o2}"
        elif k == 12:
            np, _ = self.np()
            out = f"{s} {'tend' if pl else 'tends'} to {v[0]} {o} with {np}"
        elif k == 13:
            out = (f"{self.names.next()}, {self.roles.next()}, {r.choice(_WORDS['report_verbs'])} "
                   f"that {s} {v[2]} {o} {self.times.next()}")
        elif k == 14:
            s, pl = self.any_subj()
            iv = r.choice(INTRANSITIVE)
            out = f"{s} {iv[2]} {r.choice(MANNER)} {self.pp()}"
        elif k == 15:
            o2, _ = self.np()
            out = f"{s} {v[2]} not only {o} but also {o2}"
        elif k == 16:
            o2, _ = self.np()
            out = f"{s} {v[2]} {o}, which {r.choice(['meant', 'explained why', 'showed that'])} {self.np()[0]} " \
                  f"{self.verb()[2]} {o2}"
        elif k == 17:
            out = f"{s}, {r.choice(['however', 'though', 'in fairness', 'for their part'])}, {v[2]} {o}"
        elif k == 18:
            s2, _ = self.subj()
            o2, _ = self.np()
            out = f"{s} {v[2]} {o} while {s2} {self.verb()[2]} {o2}"
        elif k == 19:
            o, opl = self.np()
            out = f"{o} {'were' if opl else 'was'} {v[3]} by {self.np('agents')[0]} {self.pp()}"
        elif k == 20:
            out = f"{self.openers.next()}, {s} {r.choice(modals)} {v[0]} {o} {self.pp()}"
        else:
            o2, _ = self.np()
            out = f"When {s} {v[2]} {o}, {self.subj()[0]} {self.verb()[2]} {o2}"
        return cap(out) + "."

    def paragraph(self, n: int | None = None) -> str:
        n = n or self.rng.randint(3, 6)
        return " ".join(self.sentence() for _ in range(n))

    def title(self, k: int | None = None) -> str:
        r = self.rng
        k = r.randrange(6) if k is None else k
        thing_sg, thing_pl = r.choice(self.v.things)
        agent_pl = r.choice(self.v.agents)[1]
        adj = r.choice(self.v.adjectives)
        if k == 0:
            t = f"How {agent_pl} in {self.place_name} are rethinking the {thing_sg}"
        elif k == 1:
            t = f"The {adj} {thing_pl} of {self.place_name}"
        elif k == 2:
            t = f"Why {thing_pl} matter to {agent_pl}"
        elif k == 3:
            t = f"{_article(adj).capitalize()} {adj} guide to {thing_pl} and {r.choice(self.v.things)[1]}"
        elif k == 4:
            t = f"{self.place_name} {agent_pl} {self.verb()[2]} {_article(adj)} {adj} {thing_sg}"
        else:
            t = f"What we learned from a year of {self.v.field} in {self.place_name}"
        return cap(t)

    def heading(self) -> str:
        return self.headings.next()

    def article(self, title: str, blocks: list) -> dict[str, Any]:
        """An article dict of this grammar's topic and town, signed by its next name."""
        return {"topic": self.topic, "title": title, "blocks": blocks, "place": self.place_name,
                "author": self.names.next()}


def english_article(rng: random.Random, topic: str | None = None, min_words: int = 300,
                    max_words: int = 900) -> dict[str, Any]:
    """A long English article: {"topic", "title", "blocks": [("h2"|"p", text), ...], "place", "author"}."""
    topic = topic or rng.choice(TOPICS)
    en = English(rng, topic)
    target = rng.randint(min_words + 40, max_words - 120)
    n_para_max = rng.randint(7, 15)
    blocks: list[tuple[str, str]] = []
    words = 0
    n_para = 0
    heading_at = set(rng.sample(range(2, 12), k=rng.randint(0, 3)))
    while (words < target or n_para < 6) and n_para < n_para_max:
        if n_para in heading_at:
            blocks.append(("h2", en.heading()))
        p = en.paragraph()
        blocks.append(("p", p))
        words += len(p.split())
        n_para += 1
    return en.article(en.title(), blocks)


def _count_words(text: str) -> int:
    """Words as datatrove's English tokenizer counts them (hyphenated words count as several)."""
    return sum(len([p for p in w.split("-") if any(c.isalnum() for c in p)]) for w in text.split())


def short_article(rng: random.Random, topic: str) -> dict[str, Any]:
    """One or two sentences: at least 250 characters, so that trafilatura keeps the article
    itself (shorter texts send it to its fallbacks, which add page furniture), yet fewer than
    50 words with the title, so that Gopher quality drops it as too short."""
    en = English(rng, topic)
    title = en.title(rng.choice([1, 2]))  # "The <adj> <things> of <Place>" / "Why <things> matter to <agents>"
    for _ in range(50):
        sents = [en.sentence() for _ in range(24)]
        options = [s for s in sents if len(s) >= 255 and _count_words(s) <= 40]
        options += [f"{a} {b}" for a in sents for b in sents
                    if a != b and len(a) + len(b) >= 254 and _count_words(a) + _count_words(b) <= 40]
        if options and _count_words(title) <= 8:
            para = rng.choice(options)
            break
        title = en.title(rng.choice([1, 2]))
    else:  # pragma: no cover - a few hundred sentences always hold such a pair
        raise RuntimeError("no short paragraph found")
    return en.article(title, [("p", para)])
