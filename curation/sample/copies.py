"""Copies of good articles: near duplicates (MinHash dedup should find them) and similar articles
(the same story, too different for it)."""

from __future__ import annotations

import random

from curation.sample.cases import NEAR_DUPLICATE_MIN_JACCARD, SIMILAR_JACCARD
from curation.sample.english import ALL_ADJECTIVES, DEGREE, MANNER, English, split_sentences
from curation.sample.similarity import article_text, shingle_jaccard


def _word_edits(rng: random.Random, blocks, n_edits: int) -> tuple[list, int]:
    """Substitute, insert or delete ``n_edits`` words of the paragraphs, spread over the text."""
    paras = [list(text.split(" ")) if kind == "p" else None for kind, text in blocks]
    positions = [(i, j) for i, toks in enumerate(paras) if toks for j in range(len(toks))]
    n_edits = min(max(1, n_edits), len(positions))
    for i, j in sorted(rng.sample(positions, n_edits), reverse=True):
        toks = paras[i]
        tok = toks[j]
        if tok.endswith((".", ",")) or j == 0 or not tok.islower():
            # keep sentence boundaries and capitals: insert an adverb after this token instead
            toks.insert(j + 1, rng.choice(MANNER))
            continue
        op = rng.random()
        if op < 0.45:
            toks[j] = rng.choice([a for a in ALL_ADJECTIVES if a != tok])
        elif op < 0.75:
            toks.insert(j, rng.choice(DEGREE + MANNER))
        else:
            del toks[j]
    out = [(kind, " ".join(toks) if toks else text) for (kind, text), toks in zip(blocks, paras)]
    return out, n_edits


def _sentence_edits(rng: random.Random, blocks, en: English, n_ops: int) -> tuple[list, int]:
    """Replace, drop or add ``n_ops`` sentences (a correction, a cut, an added line)."""
    out = [(kind, split_sentences(text) if kind == "p" else text) for kind, text in blocks]
    paras = [i for i, (kind, _) in enumerate(out) if kind == "p"]
    edited = 0
    for _ in range(n_ops):
        sents = out[rng.choice(paras)][1]
        op = rng.random()
        k = rng.randrange(len(sents))
        if op < 0.5:
            edited += len(sents[k].split())
            sents[k] = en.sentence()
        elif op < 0.75 and len(sents) > 2:
            edited += len(sents.pop(k).split())
        else:
            new = en.sentence()
            edited += len(new.split())
            sents.insert(k + 1, new)
    return [(kind, " ".join(c) if kind == "p" else c) for kind, c in out], edited


def _topic_english(rng: random.Random, art: dict) -> English:
    en = English(rng, art["topic"])
    en.place_name = art["place"]  # the same town as the original
    return en


def near_duplicate_article(rng: random.Random, art: dict, variant: str) -> tuple[dict, float, float]:
    """A copy of ``art`` with a few words ("word_edits", ~0.4-1.2%) or one or two sentences
    ("sentence_edits") changed, whose 5-gram Jaccard with the original is at least
    NEAR_DUPLICATE_MIN_JACCARD.  Returns (article, fraction of words edited, jaccard)."""
    base = article_text(art["blocks"])
    total = sum(len(t.split()) for k, t in art["blocks"] if k == "p")
    en = _topic_english(rng, art)
    for _attempt in range(50):
        if variant == "word_edits":
            blocks, edited = _word_edits(rng, art["blocks"], round(total * rng.uniform(0.004, 0.012)))
        else:
            blocks, edited = _sentence_edits(rng, art["blocks"], en, rng.randint(1, 2))
        j = shingle_jaccard(base, article_text(blocks))
        if NEAR_DUPLICATE_MIN_JACCARD <= j < 1.0:
            return dict(art, blocks=blocks), edited / total, j
    raise RuntimeError("no near duplicate close enough")  # pragma: no cover


def similar_article(rng: random.Random, art: dict, variant: str) -> tuple[dict, float]:
    """An article on the same story that is *not* a near duplicate: the first part kept and the
    rest written anew ("follow_up"), or every sentence reworded here and there ("rewrite").
    Its 5-gram Jaccard with the original lies within SIMILAR_JACCARD.  Returns (article, jaccard)."""
    lo, hi = SIMILAR_JACCARD
    base = article_text(art["blocks"])
    total = sum(len(t.split()) for k, t in art["blocks"] if k == "p")
    en = _topic_english(rng, art)
    paras = [i for i, (kind, _) in enumerate(art["blocks"]) if kind == "p"]
    for _attempt in range(50):
        if variant == "follow_up":
            keep = max(1, round(len(paras) * rng.uniform(0.6, 0.8)))
            cut = paras[keep]
            blocks = list(art["blocks"][:cut]) + [("h2", en.heading())]
            blocks += [("p", en.paragraph()) for _ in range(len(paras) - keep + rng.randint(0, 1))]
            title = en.title()
        else:
            blocks, _ = _word_edits(rng, art["blocks"], round(total * rng.uniform(0.07, 0.12)))
            title = art["title"]
        j = shingle_jaccard(base, article_text(blocks))
        if lo <= j <= hi:
            return dict(art, blocks=blocks, title=title), j
    raise RuntimeError("no similar article within range")  # pragma: no cover
