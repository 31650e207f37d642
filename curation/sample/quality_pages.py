"""Pages that a quality filter drops: the C4 and FineWeb cases (which pass the URL filter,
language identification and both Gopher filters) and keyword spam (Gopher repetition).
Their planted sentences are in ``data/quality_cases.json``, the spam phrases in ``data/spam.json``."""

from __future__ import annotations

import random

from curation.sample.datafiles import load
from curation.sample.english import DEGREE, INTRANSITIVE, MANNER, VOCAB, English, cap, english_article, split_sentences
from curation.sample.pages import esc

_PLANTED: dict[str, list[str]] = load("quality_cases.json")
_SPAM: dict[str, list[str]] = load("spam.json")


def _plain(words: str) -> bool:
    return "-" not in words and words.replace(" ", "").isalpha()


def c4_article(rng: random.Random, case: str, i: int, topic: str, site_name: str) -> tuple[dict, str]:
    """(article, variant) for one of the C4 cases."""
    field = VOCAB[topic].field
    if case == "c4_javascript":
        # two sentences of prose; everything else is a JavaScript notice, which C4 removes line by line
        en = English(rng, topic)
        things = rng.choice(en.v.things)[1]
        notices = [n.format(things=things, place=en.place_name, field=field)
                   for n in rng.sample(_PLANTED["javascript_notices"], rng.randint(4, 5))]
        blocks = [("p", en.paragraph(2))] + [("p", n) for n in notices]
        return en.article(en.title(), blocks), "javascript_notices"
    art = english_article(rng, topic)
    blocks = list(art["blocks"])
    paras = [k for k, (kind, _) in enumerate(blocks) if kind == "p"]
    at = rng.choice(paras[1:-1]) + 1
    if case == "c4_lorem_ipsum":
        variant = ("filler_paragraph", "filler_caption")[i % 2]
        lorem = _PLANTED["lorem_ipsum"]
        text = lorem[i % 2] if variant == "filler_paragraph" else "Image caption: " + lorem[0]
        blocks.insert(at, ("p", text))
    else:  # c4_curly_bracket
        variant = ("template_placeholder", "inline_code")[i % 2]
        pool = _PLANTED["template_sentences" if variant == "template_placeholder" else "code_sentences"]
        text = rng.choice(pool).format(site=site_name, field=field)
        blocks[at - 1] = ("p", blocks[at - 1][1] + " " + text)  # at the end of a paragraph
    return dict(art, blocks=blocks), variant


def _short_items(en: English, n: int) -> list[str]:
    """``n`` distinct news items of 3-5 words and at most 30 characters, each a sentence."""
    r = en.rng
    out: list[str] = []
    for _ in range(2000):
        k = r.randrange(4)
        agent_pl = r.choice(en.v.agents)[1]
        thing_sg, thing_pl = r.choice(en.v.things)
        v = en.verb()
        if k == 0:
            s = f"{cap(agent_pl)} {v[2]} the {thing_sg}."
        elif k == 1:
            s = f"The {thing_sg} {r.choice(INTRANSITIVE)[2]} {r.choice(MANNER)}."
        elif k == 2:
            s = f"{en.place_name} {v[2]} {thing_pl}."
        else:
            s = f"New {thing_pl} {r.choice(['open', 'arrive', 'return', 'close'])} {r.choice(['today', 'soon', 'early', 'again'])}."
        if len(s) <= 30 and 3 <= len(s.split()) and "-" not in s and s not in out:
            out.append(s)
            if len(out) == n:
                return out
    raise RuntimeError("not enough short items")  # pragma: no cover


def _index_entries(en: English, n: int) -> list[str]:
    """``n`` distinct three-word index entries without hyphens: ~40% longer than 30 characters,
    one in eight (with a title line: at least 12% of the lines) a short headline ending with a
    full stop, the rest short phrases.  Three words a line leave more than 0.3 line breaks per word."""
    r = en.rng
    adjs = [a for a in en.v.adjectives if _plain(a)]
    things = [(sg, pl) for sg, pl in en.v.things if _plain(pl)]
    agents = [pl for _, pl in en.v.agents if _plain(pl) and " " not in pl]
    verbs = [v for v in en.v.verbs if _plain(v[2])]
    one = [pl for sg, pl in things if " " not in pl]
    two = [pl for sg, pl in things if pl.count(" ") == 1]
    n_long, n_punct = round(n * 0.4), (n + 8) // 8
    long_: list[str] = []
    punct: list[str] = []
    a, b = r.sample(one, 2)  # Gopher quality wants two stop words ("and", "of")
    short: list[str] = [f"{cap(a)} and {b}", f"{cap(r.choice(one))} of {en.place_name}"]
    for _ in range(5000):
        k = r.randrange(5)
        if k == 0:
            deg, adj = r.choice(DEGREE), r.choice(adjs)
            if adj[:5] == deg[:5]:
                continue
            s = f"{cap(deg)} {adj} {r.choice(one)}"
        elif k == 1 and two:
            s = f"{cap(r.choice(adjs))} {r.choice(two)}"
        elif k == 2:
            a, b = r.sample(one, 2)
            s = f"{cap(a)} and {b}"
        elif k == 3:
            s = f"{cap(r.choice(one))} {r.choice(['of', 'in', 'near'])} {en.place_name}"
        else:
            s = f"{cap(r.choice(agents))} {r.choice(verbs)[2]} {r.choice(one)}."
        if len(s.split()) != 3 or s in long_ + punct + short:
            continue
        if s.endswith("."):
            if len(punct) < n_punct:
                punct.append(s)
        elif len(s) > 30:
            if len(long_) < n_long:
                long_.append(s)
        elif len(short) < n - n_long - n_punct:
            short.append(s)
        if len(long_) + len(punct) + len(short) == n:
            out = long_ + punct + short
            r.shuffle(out)
            return out
    raise RuntimeError("not enough index entries")  # pragma: no cover


def _lines_block(lines: list[str], r: random.Random) -> tuple[list, str]:
    """Lines as paragraphs, or as <br>-separated lines of a few paragraphs."""
    if r.random() < 0.5:
        return [("p", x) for x in lines], "paragraphs"
    out, i = [], 0
    while i < len(lines):
        k = r.randint(3, 6)
        out.append(("raw", "<p>" + "<br>\n".join(esc(x) for x in lines[i:i + k]) + "</p>"))
        i += k
    return out, "line_breaks"


def fineweb_article(rng: random.Random, case: str, i: int, topic: str) -> tuple[dict, str]:
    """(article, variant) for one of the FineWeb cases."""
    if case == "fineweb_duplicate_lines":
        art = english_article(rng, topic)
        blocks = list(art["blocks"])
        paras = [k for k, (kind, _) in enumerate(blocks) if kind == "p"]
        if i % 2 == 0:  # an advertisement slot's label, three times
            marker = rng.choice(_PLANTED["ad_markers"])
            for k in sorted(rng.sample(paras[1:-1], 3), reverse=True):
                blocks.insert(k + 1, ("p", marker))
            return dict(art, blocks=blocks), "ad_marker"
        # a pull quote (a sentence of the article) rendered twice, for desktop and for mobile
        sents = [s for k in paras for s in split_sentences(blocks[k][1]) if 70 <= len(s) <= 140]
        quote = rng.choice(sents)
        for k in sorted(rng.sample(paras[1:-1], 2), reverse=True):
            blocks.insert(k + 1, ("p", quote))
        return dict(art, blocks=blocks), "pull_quote"
    en = English(rng, topic)
    title = en.title()
    if case == "fineweb_no_punctuation":
        # photo captions or lines of a notice, none ending with a full stop
        lines = [en.sentence().rstrip(".") for _ in range(rng.randint(12, 16))]
        blocks, variant = _lines_block(lines, rng)
    elif case == "fineweb_short_lines":
        intro = f"These are the latest {VOCAB[topic].field} notes from {en.place_name} and the district around it."
        blocks = [("p", f"{en.sentence()} {intro}")]
        more, variant = _lines_block(_short_items(en, rng.randint(16, 20)), rng)
        blocks += more
    else:  # fineweb_list
        title = f"Topics from {en.place_name}"  # three words too, should the title be extracted
        blocks, variant = _lines_block(_index_entries(en, rng.randint(52, 60)), rng)
    return en.article(title, blocks), variant


def spam_blocks(rng: random.Random, variant: str) -> tuple[str, list]:
    """(title, blocks) of a keyword-stuffed commerce page: one paragraph repeated, or one line per city."""
    product = rng.choice(_SPAM["products"])
    hooks = [h.format(p=product) for h in _SPAM["hooks"]]
    title = cap(f"Cheap {product} online - best {product} deals")
    if variant == "repeat":
        core = rng.sample(hooks, 3)
        para = ". ".join(core) + ". " + f"Buy {product} today and get the best price on {product}."
        n = rng.randint(8, 12)
        return title, [("p", para)] * n
    # "list": one line per city, the same two-word hook over and over
    cities = rng.sample(_SPAM["cities"], rng.randint(22, 28))
    lines = [f"Buy cheap {product} in {c} - {rng.choice([20, 30, 40, 50, 60, 70])}% off" for c in cities]
    return title, [("p", f"Buy cheap {product} online. Cheap {product} for sale in every city."),
                   ("ul", lines)]
