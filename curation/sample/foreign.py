"""Generated prose in German, French, Spanish, Italian, Portuguese, Russian, Chinese and Japanese.

``data/foreign.json`` holds, per language, phrase tables written for this module (S subject,
V verb, O object, A adverbial, C connector) and the frames that put them together in a
plausible word order; in Chinese and Japanese the verb phrase carries its object.
"""

from __future__ import annotations

import random

from curation.sample.datafiles import load
from curation.sample.english import cap

_TABLES: dict[str, dict[str, list[str] | str]] = load("foreign.json")
LANGUAGES = sorted(_TABLES)


def foreign_paragraphs(rng: random.Random, lang: str, n_paragraphs: int) -> tuple[str, list[str]]:
    """A title and paragraphs of generated prose in ``lang``."""
    t = _TABLES[lang]
    S, V, A, C = (t[k] for k in ("S", "V", "A", "C"))
    objects = t["O"] or [""]  # zh/ja frames have no object, yet one is drawn: the draw moves the random stream
    cjk = lang in ("zh", "ja")

    def fill(frame: str) -> str:
        s = rng.choice(S)
        a = rng.choice(A)
        out = frame.format(S=cap(s), s=s, V=rng.choice(V), O=rng.choice(objects), A=a, A_cap=cap(a),
                           C=rng.choice(C))
        return " ".join(out.split()) if not cjk else out

    paragraphs = []
    for _ in range(n_paragraphs):
        k = rng.randint(3, 6)
        sents = [fill(rng.choice(t["frames"])) for _ in range(k)]
        paragraphs.append(("" if cjk else " ").join(sents))
    title = fill(t["title"])
    return title, paragraphs
