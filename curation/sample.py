"""Deterministic generator of the bundled sample crawl (``make demo`` input and test fixture).

Writes a small set of Common-Crawl-like WARC files (WARC/1.0, one gzip member per record)
plus a ``manifest.json`` that labels every response record with the case it plants and the
step of the FineWeb recipe expected to drop it (or ``kept``)::

    python -m curation.sample --output sample_data [--seed 0] [--files 6]

All text is generated from word lists and templates written for this module: no web page is
copied.  The same seed gives byte-identical files (gzip mtime 0, dates derived from the seed,
never from the clock).  The labels come from the design of each case; ``tests/test_sample.py``
proves them against datatrove's reference extractor and filters.

Planted cases (``case`` in the manifest) and their ``expected`` outcome:

========================  =======================================================  ==============================
case                      what                                                     expected
========================  =======================================================  ==============================
good_article              long English prose inside realistic page furniture       kept
chunked, gzip_encoded     good articles sent with Transfer-/Content-Encoding       kept
exact_duplicate           byte-identical HTTP body of a good article, other URL    kept (+ duplicate_of)
near_duplicate            a good article with a few words or one or two sentences  kept (+ near_duplicate_of,
                          edited, on a sister site (5-gram Jaccard >= 0.86)        jaccard)
similar_article           a good article half rewritten or followed up             kept (+ similar_to, jaccard)
                          (5-gram Jaccard 0.3-0.6: not a near duplicate)
foreign_article           de/fr/es/it/pt/ru/zh/ja prose                            language
spam                      keyword-stuffed commerce pages                           quality/gopher_repetition
boilerplate_only          login pages, soft 404s, tag listings, no article         extraction or quality/...
short_page                an English article of one or two sentences               quality/gopher_quality
c4_lorem_ipsum            a good article with leftover "Lorem ipsum" filler        quality/c4_quality
c4_curly_bracket          a good article with an unrendered {placeholder} or code  quality/c4_quality
c4_javascript             two sentences of prose and "enable JavaScript" notices   quality/c4_quality
fineweb_no_punctuation    photo captions / verse lines without final punctuation   quality/fineweb_quality
fineweb_short_lines       a one-sentence intro and a list of short news items      quality/fineweb_quality
fineweb_duplicate_lines   a good article with an ad marker or pull quote repeated  quality/fineweb_quality
fineweb_list              an index of three-word entries, one per line             quality/fineweb_quality
blocked_url               good article on a UT1-listed domain / banned URL word    url_filter
non_html                  png, pdf, plain text, javascript payloads                reader:non_html
redirect                  301/302 with Location and a one-line "moved" body        quality/gopher_repetition
not_found                 404 with a soft-404 HTML page                            quality/gopher_quality
damaged_record            one response whose gzip member is corrupt                reader:damaged_record
========================  =======================================================  ==============================

FineWeb's reader (datatrove's WarcReader) reads every HTTP status, and so does
``pipelines/fineweb.yaml`` (``statuses: any``): the redirects and 404s are read and dropped by the
filters, like any short page. A reader with ``statuses: [200]`` (the warc_reader's default) drops
them instead, as ``non_200``: the cases of ``NON_200_CASES``, whose ``http_status`` is not 200.
Every record carries WARC-Identified-Payload-Type, so the reader's ``mime_fallback`` never applies.

The C4 and FineWeb pages pass the URL filter, language identification and both Gopher filters;
C4 (``filter_no_terminal_punct=False``) drops ``c4_lorem_ipsum`` and ``c4_curly_bracket`` as a
whole and ``c4_javascript`` for the fewer than 5 sentences left once its JavaScript lines are
removed; FineWeb quality (on the lines C4 kept) drops the others by ``line_punct_ratio``,
``short_line_ratio``, ``char_dup_ratio`` and ``list_ratio`` respectively.

``jaccard`` (near duplicates and similar articles) is the Jaccard similarity of the sets of
word 5-grams of the copy and of its original, on the article text (headings and paragraphs)
normalised as datatrove's ``simplify_text`` does: the measure MinHash deduplication estimates
(FineWeb: 5-grams, 14 bands x 8 rows, threshold 0.8).

Generation does not import datatrove or trafilatura.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import gzip
import hashlib
import html as _html
import json
import os
import random
import re
import string
import struct
import sys
import time
import unicodedata
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CASES",
    "EXPECTED_VALUES",
    "NON_200_CASES",
    "QUALITY_CASES",
    "article_text",
    "shingle_jaccard",
    "english_article",
    "foreign_paragraphs",
    "generate_sample",
    "iter_gzip_members",
    "main",
]

GENERATOR = "curation.sample"
FILE_TEMPLATE = "sample-{:04d}.warc.gz"
MANIFEST_NAME = "manifest.json"

CASES = (
    "good_article", "chunked", "gzip_encoded", "exact_duplicate", "near_duplicate", "similar_article",
    "foreign_article", "spam", "boilerplate_only", "short_page",
    "c4_lorem_ipsum", "c4_curly_bracket", "c4_javascript",
    "fineweb_no_punctuation", "fineweb_short_lines", "fineweb_duplicate_lines", "fineweb_list",
    "blocked_url", "non_html", "redirect", "not_found", "damaged_record",
)
# The cases served with an HTTP status other than 200 (a status-200-only reader drops them as non_200).
NON_200_CASES = ("redirect", "not_found")
# The quality filter that drops each planted C4 / FineWeb case.
QUALITY_CASES = {
    "c4_lorem_ipsum": "c4_quality", "c4_curly_bracket": "c4_quality", "c4_javascript": "c4_quality",
    "fineweb_no_punctuation": "fineweb_quality", "fineweb_short_lines": "fineweb_quality",
    "fineweb_duplicate_lines": "fineweb_quality", "fineweb_list": "fineweb_quality",
}
# Word 5-gram Jaccard with the original: near duplicates at or above NEAR_DUPLICATE_MIN_JACCARD,
# similar articles within SIMILAR_JACCARD (MinHash dedup's threshold, 0.8, lies between).
SHINGLE_WORDS = 5
NEAR_DUPLICATE_MIN_JACCARD = 0.86
SIMILAR_JACCARD = (0.3, 0.6)
EXPECTED_VALUES = (
    "kept", "reader:non_html", "reader:damaged_record",
    "url_filter", "language", "extraction", "quality",
)

# How many pages of each kind a default sample (files=6) holds; ~400 HTML pages in all.
_COUNTS = {
    "good_article": 222,
    "chunked": 2,
    "gzip_encoded": 1,
    "exact_duplicate": 12,
    "near_duplicate": 12,
    "similar_article": 6,
    "foreign_article": 64,   # 8 languages x 8
    "spam": 18,
    "boilerplate_only": 20,  # 5 each: login, soft 404, tag listing, client-side app shell
    "short_page": 14,
    "c4_lorem_ipsum": 2,
    "c4_curly_bracket": 2,
    "c4_javascript": 2,
    "fineweb_no_punctuation": 2,
    "fineweb_short_lines": 2,
    "fineweb_duplicate_lines": 2,
    "fineweb_list": 2,
    "blocked_url": 10,       # 8 UT1 domains + 2 banned URL words
    "non_html": 16,          # 4 each: png, pdf, text, js
    "redirect": 9,
    "not_found": 6,
}

# ======================================================================================
# English vocabulary (written for this module).  Nouns: "singular/plural" entries separated
# by commas (plural defaults to singular + "s").  Verbs: "base/3rd-person/past/participle".
# ======================================================================================

_TOPICS: dict[str, dict[str, str]] = {
    "transport": {
        "agents": "commuter, driver, engineer, planner, cyclist, conductor, passenger, inspector, "
        "council, bus operator, mechanic, dispatcher",
        "things": "bus/buses, tram, timetable, platform, ticket, junction, bridge, bike lane, depot, route, "
        "crossing, signal, carriage, fare, shelter, tunnel, roundabout, night service",
        "places": "station, terminal, ring road, interchange, high street",
        "adjectives": "punctual electric overcrowded late-night suburban underground elevated "
        "accessible congested frequent",
        "verbs": "reroute/reroutes/rerouted/rerouted schedule/schedules/scheduled/scheduled "
        "widen/widens/widened/widened electrify/electrifies/electrified/electrified "
        "resurface/resurfaces/resurfaced/resurfaced extend/extends/extended/extended",
        "field": "public transport",
        "section": "city",
    },
    "gardening": {
        "agents": "gardener, grower, beekeeper, allotment holder, botanist, volunteer, nursery owner, "
        "landscaper, horticulturist",
        "things": "seedling, tomato/tomatoes, raised bed, compost heap, hedge, greenhouse, bulb, "
        "trellis/trellises, rose bush/rose bushes, watering can, orchard, herb border, pond, cutting, "
        "shrub, vine, seed packet",
        "places": "allotment, walled garden, meadow, kitchen garden",
        "adjectives": "perennial drought-tolerant shaded fertile sheltered frost-hardy fragrant "
        "overgrown leafy waterlogged",
        "verbs": "prune/prunes/pruned/pruned mulch/mulches/mulched/mulched "
        "transplant/transplants/transplanted/transplanted harvest/harvests/harvested/harvested "
        "water/waters/watered/watered sow/sows/sowed/sown",
        "field": "gardening",
        "section": "home-garden",
    },
    "cooking": {
        "agents": "chef, baker, cook, food writer, butcher, fishmonger, caterer, restaurant owner, "
        "home cook, critic",
        "things": "recipe, loaf/loaves, sauce, broth, pastry/pastries, spice blend, casserole, dumpling, "
        "pantry/pantries, oven, skillet, cheese, menu, stew, pickle, sourdough starter",
        "places": "kitchen, bakery/bakeries, food hall, farmers market",
        "adjectives": "savory crisp tender smoky homemade seasonal aromatic hearty buttery tangy",
        "verbs": "simmer/simmers/simmered/simmered roast/roasts/roasted/roasted "
        "knead/kneads/kneaded/kneaded season/seasons/seasoned/seasoned "
        "ferment/ferments/fermented/fermented bake/bakes/baked/baked",
        "field": "home cooking",
        "section": "food",
    },
    "astronomy": {
        "agents": "astronomer, stargazer, physicist, observer, technician, student, amateur astronomer, "
        "researcher, navigator",
        "things": "telescope, comet, eclipse, nebula/nebulae, star chart, lens/lenses, mirror, "
        "meteor shower, galaxy/galaxies, moon, orbit, satellite, spectrum/spectra, observation log",
        "places": "observatory/observatories, dark-sky park, planetarium, hilltop",
        "adjectives": "faint distant luminous clear cloudless orbital lunar solar infrared rare",
        "verbs": "observe/observes/observed/observed photograph/photographs/photographed/photographed "
        "calibrate/calibrates/calibrated/calibrated catalogue/catalogues/catalogued/catalogued "
        "track/tracks/tracked/tracked align/aligns/aligned/aligned",
        "field": "astronomy",
        "section": "science",
    },
    "history": {
        "agents": "historian, archivist, curator, archaeologist, librarian, guide, local historian, "
        "conservator, genealogist, collector",
        "things": "manuscript, letter, photograph, map, parish record, coin, mill, chapel, diary/diaries, "
        "tapestry/tapestries, ledger, monument, shipwreck, excavation",
        "places": "museum, archive, castle, town hall",
        "adjectives": "medieval forgotten restored handwritten Victorian weathered ornate original "
        "early-modern ceremonial",
        "verbs": "restore/restores/restored/restored catalogue/catalogues/catalogued/catalogued "
        "transcribe/transcribes/transcribed/transcribed digitize/digitizes/digitized/digitized "
        "excavate/excavates/excavated/excavated preserve/preserves/preserved/preserved",
        "field": "local history",
        "section": "history",
    },
    "software": {
        "agents": "developer, programmer, designer, maintainer, tester, administrator, contributor, "
        "architect, analyst, support engineer",
        "things": "library/libraries, release, database, server, interface, bug report, test suite, "
        "backup, spreadsheet, laptop, keyboard, password manager, update, module",
        "places": "data centre, office, workshop, lab",
        "adjectives": "reliable outdated secure open-source lightweight experimental modular automated "
        "responsive legacy",
        "verbs": "debug/debugs/debugged/debugged deploy/deploys/deployed/deployed "
        "refactor/refactors/refactored/refactored install/installs/installed/installed "
        "configure/configures/configured/configured document/documents/documented/documented",
        "field": "software",
        "section": "tech",
    },
    "health": {
        "agents": "nurse, doctor, physiotherapist, coach, runner, swimmer, pharmacist, dietitian, "
        "patient, trainer",
        "things": "exercise, stretch/stretches, injury/injuries, diet, sleep schedule, vaccine, "
        "clinic visit, walking route, heart rate, posture, breakfast, training plan",
        "places": "clinic, gym, swimming pool, health centre",
        "adjectives": "healthy gentle strenuous balanced restful chronic preventive aerobic nutritious "
        "mindful",
        "verbs": "stretch/stretches/stretched/stretched strengthen/strengthens/strengthened/strengthened "
        "exercise/exercises/exercised/exercised diagnose/diagnoses/diagnosed/diagnosed "
        "monitor/monitors/monitored/monitored treat/treats/treated/treated",
        "field": "health",
        "section": "health",
    },
    "travel": {
        "agents": "traveller, hiker, tour guide, ferry operator, photographer, innkeeper, backpacker, "
        "ranger, tourist",
        "things": "trail, ferry/ferries, guidebook, backpack, campsite, lighthouse, waterfall, hostel, "
        "viewpoint, itinerary/itineraries, cable car, harbour wall, picnic spot",
        "places": "valley, island, coast, mountain pass/mountain passes",
        "adjectives": "remote scenic rugged windswept peaceful coastal alpine off-season picturesque "
        "sunlit",
        "verbs": "explore/explores/explored/explored hike/hikes/hiked/hiked "
        "cross/crosses/crossed/crossed photograph/photographs/photographed/photographed "
        "book/books/booked/booked map/maps/mapped/mapped",
        "field": "travel",
        "section": "travel",
    },
    "education": {
        "agents": "teacher, pupil, headteacher, tutor, parent, lecturer, librarian, school governor, "
        "classroom assistant, inspector",
        "things": "lesson, textbook, curriculum/curricula, exam, reading list, timetable, "
        "science project, scholarship, playground, school trip, report card, essay",
        "places": "school, classroom, campus/campuses, library/libraries",
        "adjectives": "bilingual hands-on rigorous inclusive after-school primary secondary part-time "
        "vocational well-funded",
        "verbs": "teach/teaches/taught/taught mark/marks/marked/marked "
        "assess/assesses/assessed/assessed mentor/mentors/mentored/mentored "
        "revise/revises/revised/revised enrol/enrols/enrolled/enrolled",
        "field": "education",
        "section": "education",
    },
    "environment": {
        "agents": "ecologist, ranger, fisherman/fishermen, conservationist, volunteer, farmer, "
        "climate scientist, surveyor, warden, forester",
        "things": "wetland, river bank, hedgerow, nesting site, wind turbine, solar panel, flood barrier, "
        "woodland, rainfall record, salmon run, tree nursery/tree nurseries, recycling scheme",
        "places": "estuary/estuaries, nature reserve, watershed, moorland",
        "adjectives": "endangered native invasive sustainable polluted renewable coastal biodiverse "
        "degraded protected",
        "verbs": "replant/replants/replanted/replanted survey/surveys/surveyed/surveyed "
        "protect/protects/protected/protected restore/restores/restored/restored "
        "recycle/recycles/recycled/recycled monitor/monitors/monitored/monitored",
        "field": "the environment",
        "section": "environment",
    },
}

_GENERAL_AGENTS = (
    "resident, neighbour, family/families, visitor, official, volunteer, organizer, researcher, "
    "shop owner, journalist, committee, charity/charities, reader, local business/local businesses, "
    "expert, newcomer, student"
)
_GENERAL_THINGS = (
    "plan, project, budget, report, survey, proposal, meeting, schedule, decision, idea, question, "
    "problem, result, change, program, workshop, guideline, grant, price, record, habit, method, "
    "season, effort, experiment, approach/approaches"
)
_GENERAL_PLACES = (
    "town, village, neighbourhood, district, market square, harbour, city centre, county/counties, "
    "community hall, riverside"
)
_GENERAL_ADJECTIVES = (
    "careful modest practical quiet recent local popular expensive simple difficult useful "
    "ambitious detailed reliable narrow ancient modern surprising familiar regional public "
    "private temporary permanent gradual sudden generous strict flexible crowded bright "
    "fragile sturdy steady efficient thoughtful unusual ordinary valuable affordable complex "
    "fresh small large new old young rural urban annual weekly historic independent shared "
    "lively cautious patient honest uneven hopeful costly obvious minor major"
)
_DEGREE = "very quite rather surprisingly remarkably fairly increasingly unusually especially noticeably"
_MANNER = (
    "carefully quickly slowly quietly openly gradually steadily eventually recently already "
    "clearly rarely usually frequently finally largely simply directly regularly successfully "
    "patiently properly together efficiently cautiously"
)
_GENERAL_VERBS = (
    "approve/approves/approved/approved build/builds/built/built test/tests/tested/tested "
    "study/studies/studied/studied improve/improves/improved/improved describe/describes/described/described "
    "plan/plans/planned/planned review/reviews/reviewed/reviewed share/shares/shared/shared "
    "repair/repairs/repaired/repaired design/designs/designed/designed measure/measures/measured/measured "
    "collect/collects/collected/collected support/supports/supported/supported "
    "explain/explains/explained/explained publish/publishes/published/published "
    "visit/visits/visited/visited organize/organizes/organized/organized "
    "prepare/prepares/prepared/prepared discuss/discusses/discussed/discussed "
    "replace/replaces/replaced/replaced compare/compares/compared/compared "
    "record/records/recorded/recorded choose/chooses/chose/chosen follow/follows/followed/followed "
    "examine/examines/examined/examined expand/expands/expanded/expanded reduce/reduces/reduced/reduced "
    "manage/manages/managed/managed deliver/delivers/delivered/delivered offer/offers/offered/offered "
    "present/presents/presented/presented update/updates/updated/updated adopt/adopts/adopted/adopted "
    "take/takes/took/taken find/finds/found/found bring/brings/brought/brought write/writes/wrote/written "
    "give/gives/gave/given make/makes/made/made keep/keeps/kept/kept show/shows/showed/shown "
    "see/sees/saw/seen begin/begins/began/begun lead/leads/led/led hold/holds/held/held "
    "draw/draws/drew/drawn spend/spends/spent/spent leave/leaves/left/left "
    "question/questions/questioned/questioned welcome/welcomes/welcomed/welcomed "
    "rebuild/rebuilds/rebuilt/rebuilt finance/finances/financed/financed rethink/rethinks/rethought/rethought"
)
_INTRANSITIVE = (
    "improve/improves/improved/improved grow/grows/grew/grown change/changes/changed/changed "
    "return/returns/returned/returned gather/gathers/gathered/gathered struggle/struggles/struggled/struggled "
    "continue/continues/continued/continued wait/waits/waited/waited recover/recovers/recovered/recovered "
    "succeed/succeeds/succeeded/succeeded arrive/arrives/arrived/arrived adapt/adapts/adapted/adapted "
    "disagree/disagrees/disagreed/disagreed settle/settles/settled/settled"
)
_OPENERS = (
    "In recent years|For many people|At the same time|On the other hand|In many cases|As a result|"
    "For this reason|In the meantime|By contrast|In practice|According to the organizers|Not surprisingly|"
    "Even so|In the end|Over time|Later that year|At first|Most of the time|For example|In fact|"
    "Meanwhile|Still|However|Instead|Afterwards|Eventually|Years later|Today|Nevertheless|Fortunately|"
    "Unfortunately|To be fair|Looking back|Until recently|Before long|By the spring|Since then|"
    "Within a few weeks|During the winter|Once again|In the long run|Above all|Curiously|"
    "With that in mind|Despite the delays|Put simply|In other words|On balance|By midsummer"
)
_TIMES = (
    "last year|in 2019|in 2021|every morning|this autumn|over the past decade|for several weeks|"
    "by the end of the season|on weekends|before the winter|after the storm|in the early evening|"
    "during the summer months|for almost a year|twice a month|at the start of the year|"
    "since the spring|on most days|in the following months|late at night|after the holidays|"
    "early in the morning|three years ago|at the weekend|once a week|throughout the year|"
    "in the first week of March|until the end of October|after a long delay|within two years"
)
_IT_IS = "clear|likely|hardly surprising|no secret|worth remembering|striking|true|fair to say"
_MODALS = "can could should will may might would must"
_PREPS_SG = "in near across behind beyond around along outside inside toward past opposite"
_PREPS_PL = "among between around across near beside"
_REPORT_VERBS = "said|explained|noted|argued|told us|pointed out|admitted|suggested|added|recalled"
_FIRST_NAMES = (
    "Maria Tom Aisha Daniel Elena Samuel Priya Jonas Clara Marcus Nadia Oliver Helen Victor "
    "Rosa Ibrahim Grace Leon Martha Felix Ingrid Tobias Leila Arthur Sofia Patrick Yuki Amara "
    "Hugo Beatrice Omar Lucy Frank Irene Callum Mei"
)
_LAST_NAMES = (
    "Lindqvist Okafor Brennan Castellano Whitfield Moreau Haddad Petrov Nakamura Ellison "
    "Sandoval Kowalski Fairbairn Adeyemi Thornton Vasquez Holloway Reinholt Marsh Gallagher "
    "Achterberg Quinlan Delacroix Osei Lachlan Abernathy Fitzroy Szabo Mendel Carrow"
)
_ROLES = (
    "a local teacher|a retired engineer|a volunteer at the centre|a member of the council|"
    "who has lived here for twenty years|a researcher at the university|the project coordinator|"
    "a spokesperson for the group|a parent of two|one of the organizers|a shop owner on the main road|"
    "who runs a small business nearby|a long-time resident|the head of the committee"
)
_PLACE_A = "Ash Bel Cal Dun Elm Fair Glen Hol Kings Lin Mar Nor Oak Pen Red Stan Thorn Wil Bram Cro"
_PLACE_B = "brook field haven ford ridge wood dale ton bury mere worth stead combe ley wick"
_SITE_A = (
    "harbor valley civic green northern daily open field river maple summit lantern compass "
    "beacon meadow granite copper willow orchard tidewater hillside juniper"
)
_SITE_B = "gazette journal notes review post digest chronicle herald weekly report dispatch courier"
_TLDS = ".com .org .net .co.uk .info .news .blog .io"
_HEADINGS = (
    "What changed|Why it matters|Looking ahead|The background|A closer look|What people say|"
    "How it works|The next steps|Lessons learned|Costs and benefits|A slow start|Early results|"
    "Questions that remain|The bigger picture|Where it began|On the ground"
)

# Domains from the UT1 blacklist (adult category) bundled with datatrove's URLFilter.
_BLOCKED_DOMAINS = (
    "xhamster.com", "redtube.com", "livejasmin.com", "adultfriendfinder.com",
    "tube8.com", "beeg.com", "eporner.com", "txxx.com",
)
# Words of datatrove's banned_words.txt, put in URL paths on otherwise clean domains.
_BANNED_URL_WORDS = ("nsfw", "xxx")


def _bar(s: str) -> list[str]:
    return [x.strip() for x in s.split("|") if x.strip()]


def _nouns(s: str) -> list[tuple[str, str]]:
    out = []
    for entry in s.split(","):
        entry = entry.strip()
        if not entry:
            continue
        if "/" in entry:
            sg, pl = entry.split("/", 1)
        else:
            sg, pl = entry, entry + "s"
        out.append((sg, pl))
    return out


def _verbs(s: str) -> list[tuple[str, ...]]:
    return [tuple(e.split("/")) for e in s.split()]


@dataclass(frozen=True)
class _Vocab:
    agents: list
    things: list
    places: list
    adjectives: list
    verbs: list
    field: str
    section: str


def _build_vocab() -> dict[str, _Vocab]:
    gen_agents, gen_things = _nouns(_GENERAL_AGENTS), _nouns(_GENERAL_THINGS)
    gen_places, gen_adj, gen_verbs = _nouns(_GENERAL_PLACES), _GENERAL_ADJECTIVES.split(), _verbs(_GENERAL_VERBS)
    out = {}
    for name, t in _TOPICS.items():
        out[name] = _Vocab(
            agents=_nouns(t["agents"]) * 2 + gen_agents,   # topic words weigh more
            things=_nouns(t["things"]) * 2 + gen_things,
            places=_nouns(t["places"]) * 2 + gen_places,
            adjectives=t["adjectives"].split() * 2 + gen_adj,
            verbs=_verbs(t["verbs"]) * 3 + gen_verbs,
            field=t["field"],
            section=t["section"],
        )
    return out


_VOCAB = _build_vocab()
_INTRANS = _verbs(_INTRANSITIVE)
_ALL_ADJECTIVES = sorted({a for v in _VOCAB.values() for a in v.adjectives})


def _article(word: str) -> str:
    w = word.lower()
    if w.startswith(("uni", "use", "one", "euro", "u-")):
        return "a"
    if w.startswith(("hour", "honest", "heir")):
        return "an"
    return "an" if w[:1] in "aeiou" else "a"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


class _Cycle:
    """Draw items without replacement, reshuffling once exhausted (keeps texts varied)."""

    def __init__(self, rng: random.Random, items):
        self.rng, self.items, self.pool = rng, list(items), []

    def next(self):
        if not self.pool:
            self.pool = self.items[:]
            self.rng.shuffle(self.pool)
        return self.pool.pop()


class _English:
    """A small probabilistic grammar of English prose on one topic."""

    def __init__(self, rng: random.Random, topic: str):
        self.rng = rng
        self.topic = topic
        self.v = _VOCAB[topic]
        self.place_name = rng.choice(_PLACE_A.split()) + rng.choice(_PLACE_B.split())
        self.openers = _Cycle(rng, _bar(_OPENERS))
        self.times = _Cycle(rng, _bar(_TIMES))
        self.names = _Cycle(rng, [f"{f} {l}" for f in _FIRST_NAMES.split() for l in _LAST_NAMES.split()])
        self.roles = _Cycle(rng, _bar(_ROLES))
        self.headings = _Cycle(rng, _bar(_HEADINGS))

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
                adj = r.choice(_DEGREE.split()) + " " + adj
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
            return r.choice(_PREPS_PL.split()) + " " + np
        np, _ = self.np("places", plural=False, tail=False)
        return r.choice(_PREPS_SG.split()) + " " + np

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
        k = r.randrange(22)
        s, pl = self.subj()
        o, _ = self.np()
        v = self.verb()
        if k == 0:
            out = f"{s} {v[2]} {o} {self.pp()}"
        elif k == 1:
            out = f"{self.openers.next()}, {s} {self.pres(v, pl)} {o}"
        elif k == 2:
            out = f"{s} {r.choice(_MODALS.split())} {v[0]} {o} {self.times.next()}"
        elif k == 3:
            adv = r.choice(_MANNER.split()) + " " if r.random() < 0.4 else ""
            out = f"{s} {'have' if pl else 'has'} {adv}{v[3]} {o} {self.pp()}"
        elif k == 4:
            out = f"It is {r.choice(_bar(_IT_IS))} that {s} {self.pres(v, pl)} {o}"
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
            out = f"{s} {be} {r.choice(_DEGREE.split())} {adj} {self.pp()}"
        elif k == 8:
            np, npl = self.np()
            be = r.choice(["are", "were"]) if npl else r.choice(["is", "was"])
            out = f"There {be} {np} {self.pp()} that {s} {v[2]}"
        elif k == 9:
            agents = self.rng.choice(self.v.agents)[1]
            out = (f"{r.choice(['Many', 'Some', 'Most', 'A few'])} {agents} "
                   f"{r.choice(['believe', 'think', 'agree', 'suspect', 'worry'])} that "
                   f"{s} {r.choice(_MODALS.split())} {v[0]} {o}")
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
            out = (f"{self.names.next()}, {self.roles.next()}, {r.choice(_bar(_REPORT_VERBS))} "
                   f"that {s} {v[2]} {o} {self.times.next()}")
        elif k == 14:
            s, pl = self.any_subj()
            iv = r.choice(_INTRANS)
            out = f"{s} {iv[2]} {r.choice(_MANNER.split())} {self.pp()}"
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
            out = f"{self.openers.next()}, {s} {r.choice(_MODALS.split())} {v[0]} {o} {self.pp()}"
        else:
            o2, _ = self.np()
            out = f"When {s} {v[2]} {o}, {self.subj()[0]} {self.verb()[2]} {o2}"
        return _cap(out) + "."

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
        return _cap(t)

    def heading(self) -> str:
        return self.headings.next()


def english_article(rng: random.Random, topic: str | None = None, min_words: int = 300,
                    max_words: int = 900) -> dict[str, Any]:
    """A long English article: {"topic", "title", "blocks": [("h2"|"p", text), ...]}."""
    topic = topic or rng.choice(sorted(_TOPICS))
    en = _English(rng, topic)
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
    return {"topic": topic, "title": en.title(), "blocks": blocks, "place": en.place_name,
            "author": en.names.next()}


def _count_words(text: str) -> int:
    """Words as datatrove's English tokenizer counts them (hyphenated words count as several)."""
    return sum(len([p for p in w.split("-") if any(c.isalnum() for c in p)]) for w in text.split())


def _short_article(rng: random.Random, topic: str) -> dict[str, Any]:
    """One or two sentences: at least 250 characters, so that trafilatura keeps the article
    itself (shorter texts send it to its fallbacks, which add page furniture), yet fewer than
    50 words with the title, so that Gopher quality drops it as too short."""
    en = _English(rng, topic)
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
    return {"topic": topic, "title": title, "blocks": [("p", para)], "place": en.place_name,
            "author": en.names.next()}


# --------------------------------------------------------------------------------------
# Word 5-gram Jaccard, as MinHash deduplication sees a text (no datatrove needed)
# --------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
# datatrove's PUNCTUATION restricted to ASCII: every ASCII punctuation mark and control character
_ASCII_PUNCT = str.maketrans({c: " " for c in string.punctuation + "".join(
    map(chr, [*range(0, 9), *range(11, 32), *range(127, 160)]))})


def _simple_words(text: str) -> list[str]:
    """The words of ``datatrove.utils.text.simplify_text(text)`` (default config).

    Exact for ASCII text (every generated English article is ASCII): lowercase, numbers -> "0",
    punctuation -> space, whitespace collapsed.  Other text is approximated (Unicode
    punctuation and symbols -> space, diacritics removed).
    """
    low = text.lower()
    if not low.isascii():
        low = "".join(" " if unicodedata.category(c)[0] in "PSC" and not c.isspace() else c
                      for c in unicodedata.normalize("NFD", low) if unicodedata.category(c) != "Mn")
    return _NUMBER.sub("0", low).translate(_ASCII_PUNCT).split()


def _shingles(text: str, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    w = _simple_words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def shingle_jaccard(a: str, b: str, n: int = SHINGLE_WORDS) -> float:
    """Jaccard similarity of the sets of word ``n``-grams of two texts (after simplify_text)."""
    sa, sb = _shingles(a, n), _shingles(b, n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def article_text(blocks) -> str:
    """The text of an article's blocks (headings, paragraphs, list items), one per line."""
    lines = []
    for kind, content in blocks:
        if kind in ("p", "h2"):
            lines.append(content)
        elif kind == "ul":
            lines.extend(content)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Near duplicates and similar articles
# --------------------------------------------------------------------------------------

def _split_sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?]) (?=[A-Z])", paragraph)


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
            toks.insert(j + 1, rng.choice(_MANNER.split()))
            continue
        op = rng.random()
        if op < 0.45:
            toks[j] = rng.choice([a for a in _ALL_ADJECTIVES if a != tok])
        elif op < 0.75:
            toks.insert(j, rng.choice(_DEGREE.split() + _MANNER.split()))
        else:
            del toks[j]
    out = [(kind, " ".join(toks) if toks else text) for (kind, text), toks in zip(blocks, paras)]
    return out, n_edits


def _sentence_edits(rng: random.Random, blocks, en: "_English", n_ops: int) -> tuple[list, int]:
    """Replace, drop or add ``n_ops`` sentences (a correction, a cut, an added line)."""
    out = [(kind, _split_sentences(text) if kind == "p" else text) for kind, text in blocks]
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


def _topic_english(rng: random.Random, art: dict) -> "_English":
    en = _English(rng, art["topic"])
    en.place_name = art["place"]  # the same town as the original
    return en


def _near_duplicate_article(rng: random.Random, art: dict, variant: str) -> tuple[dict, float, float]:
    """A copy of ``art`` with a few words ("word_edits", ~0.4-1.2%) or one or two sentences
    ("sentence_edits") changed, whose 5-gram Jaccard with the original is at least
    NEAR_DUPLICATE_MIN_JACCARD.  Returns (article, fraction of words edited, jaccard)."""
    base = article_text(art["blocks"])
    total = sum(len(t.split()) for k, t in art["blocks"] if k == "p")
    en = _topic_english(rng, art)
    for attempt in range(50):
        if variant == "word_edits":
            blocks, edited = _word_edits(rng, art["blocks"], round(total * rng.uniform(0.004, 0.012)))
        else:
            blocks, edited = _sentence_edits(rng, art["blocks"], en, rng.randint(1, 2))
        j = shingle_jaccard(base, article_text(blocks))
        if NEAR_DUPLICATE_MIN_JACCARD <= j < 1.0:
            return dict(art, blocks=blocks), edited / total, j
    raise RuntimeError("no near duplicate close enough")  # pragma: no cover


def _similar_article(rng: random.Random, art: dict, variant: str) -> tuple[dict, float]:
    """An article on the same story that is *not* a near duplicate: the first part kept and the
    rest written anew ("follow_up"), or every sentence reworded here and there ("rewrite").
    Its 5-gram Jaccard with the original lies within SIMILAR_JACCARD.  Returns (article, jaccard)."""
    lo, hi = SIMILAR_JACCARD
    base = article_text(art["blocks"])
    total = sum(len(t.split()) for k, t in art["blocks"] if k == "p")
    en = _topic_english(rng, art)
    paras = [i for i, (kind, _) in enumerate(art["blocks"]) if kind == "p"]
    for attempt in range(50):
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


# --------------------------------------------------------------------------------------
# Pages for C4's and FineWeb's quality filters (they pass URL, language and both Gopher filters)
# --------------------------------------------------------------------------------------

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
)
_TEMPLATE_SENTENCES = (
    "Dear {{first_name}}, thank you for reading {site}. Your weekly round-up of {field} news arrives "
    "every {{delivery_day}}.",
    "Hello {{ reader.name }}, this story was saved to your reading list on {{ saved_at }}. You can "
    "find more {field} stories from {site} in your account.",
)
_CODE_SENTENCES = (
    'The settings file for the booking system is now short: {{"retries": 3, "timeout": 30}} replaced '
    "forty lines of options.",
    "A volunteer shared the rule the sensor now follows, if (level > 40) {{ send_alert(); }}, and "
    "nobody has missed a warning since.",
)
_JS_NOTICES = (
    "This interactive map of {things} needs JavaScript to load in your browser.",
    "Please enable JavaScript to see the full list of {things} near {place}.",
    "The reader comments below are shown by a JavaScript widget that your browser has blocked.",
    "To browse the photo gallery, switch JavaScript on and reload this page.",
    "Our {field} calculator only works when JavaScript is enabled.",
    "Live updates on this page rely on JavaScript, which appears to be turned off.",
)
_AD_MARKERS = ("Story continues below advertisement", "Article continues after this advertisement")


def _plain(words: str) -> bool:
    return "-" not in words and words.replace(" ", "").isalpha()


def _c4_article(rng: random.Random, case: str, i: int, topic: str, site_name: str) -> tuple[dict, str]:
    """(article, variant) for one of the C4 cases."""
    field = _TOPICS[topic]["field"]
    if case == "c4_javascript":
        # two sentences of prose; everything else is a JavaScript notice, which C4 removes line by line
        en = _English(rng, topic)
        things = rng.choice(en.v.things)[1]
        notices = [n.format(things=things, place=en.place_name, field=field)
                   for n in rng.sample(_JS_NOTICES, rng.randint(4, 5))]
        blocks = [("p", en.paragraph(2))] + [("p", n) for n in notices]
        return {"topic": topic, "title": en.title(), "blocks": blocks, "place": en.place_name,
                "author": en.names.next()}, "javascript_notices"
    art = english_article(rng, topic)
    blocks = list(art["blocks"])
    paras = [k for k, (kind, _) in enumerate(blocks) if kind == "p"]
    at = rng.choice(paras[1:-1]) + 1
    if case == "c4_lorem_ipsum":
        variant = ("filler_paragraph", "filler_caption")[i % 2]
        text = _LOREM[i % 2] if variant == "filler_paragraph" else "Image caption: " + _LOREM[0]
        blocks.insert(at, ("p", text))
    else:  # c4_curly_bracket
        variant = ("template_placeholder", "inline_code")[i % 2]
        pool = _TEMPLATE_SENTENCES if variant == "template_placeholder" else _CODE_SENTENCES
        text = rng.choice(pool).format(site=site_name, field=field)
        blocks[at - 1] = ("p", blocks[at - 1][1] + " " + text)  # at the end of a paragraph
    return dict(art, blocks=blocks), variant


def _short_items(en: "_English", n: int) -> list[str]:
    """``n`` distinct news items of 3-5 words and at most 30 characters, each a sentence."""
    r = en.rng
    out: list[str] = []
    for _ in range(2000):
        k = r.randrange(4)
        agent_pl = r.choice(en.v.agents)[1]
        thing_sg, thing_pl = r.choice(en.v.things)
        v = en.verb()
        if k == 0:
            s = f"{_cap(agent_pl)} {v[2]} the {thing_sg}."
        elif k == 1:
            s = f"The {thing_sg} {r.choice(_INTRANS)[2]} {r.choice(_MANNER.split())}."
        elif k == 2:
            s = f"{en.place_name} {v[2]} {thing_pl}."
        else:
            s = f"New {thing_pl} {r.choice(['open', 'arrive', 'return', 'close'])} {r.choice(['today', 'soon', 'early', 'again'])}."
        if len(s) <= 30 and 3 <= len(s.split()) and "-" not in s and s not in out:
            out.append(s)
            if len(out) == n:
                return out
    raise RuntimeError("not enough short items")  # pragma: no cover


def _index_entries(en: "_English", n: int) -> list[str]:
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
    short: list[str] = [f"{_cap(a)} and {b}", f"{_cap(r.choice(one))} of {en.place_name}"]
    for _ in range(5000):
        k = r.randrange(5)
        if k == 0:
            deg, adj = r.choice(_DEGREE.split()), r.choice(adjs)
            if adj[:5] == deg[:5]:
                continue
            s = f"{_cap(deg)} {adj} {r.choice(one)}"
        elif k == 1 and two:
            s = f"{_cap(r.choice(adjs))} {r.choice(two)}"
        elif k == 2:
            a, b = r.sample(one, 2)
            s = f"{_cap(a)} and {b}"
        elif k == 3:
            s = f"{_cap(r.choice(one))} {r.choice(['of', 'in', 'near'])} {en.place_name}"
        else:
            s = f"{_cap(r.choice(agents))} {r.choice(verbs)[2]} {r.choice(one)}."
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
        out.append(("raw", "<p>" + "<br>\n".join(_esc(x) for x in lines[i:i + k]) + "</p>"))
        i += k
    return out, "line_breaks"


def _fineweb_article(rng: random.Random, case: str, i: int, topic: str) -> tuple[dict, str]:
    """(article, variant) for one of the FineWeb cases."""
    if case == "fineweb_duplicate_lines":
        art = english_article(rng, topic)
        blocks = list(art["blocks"])
        paras = [k for k, (kind, _) in enumerate(blocks) if kind == "p"]
        if i % 2 == 0:  # an advertisement slot's label, three times
            marker = rng.choice(_AD_MARKERS)
            for k in sorted(rng.sample(paras[1:-1], 3), reverse=True):
                blocks.insert(k + 1, ("p", marker))
            return dict(art, blocks=blocks), "ad_marker"
        # a pull quote (a sentence of the article) rendered twice, for desktop and for mobile
        sents = [s for k in paras for s in _split_sentences(blocks[k][1]) if 70 <= len(s) <= 140]
        quote = rng.choice(sents)
        for k in sorted(rng.sample(paras[1:-1], 2), reverse=True):
            blocks.insert(k + 1, ("p", quote))
        return dict(art, blocks=blocks), "pull_quote"
    en = _English(rng, topic)
    title = en.title()
    if case == "fineweb_no_punctuation":
        # photo captions or lines of a notice, none ending with a full stop
        lines = [en.sentence().rstrip(".") for _ in range(rng.randint(12, 16))]
        blocks, variant = _lines_block(lines, rng)
    elif case == "fineweb_short_lines":
        intro = f"These are the latest {_TOPICS[topic]['field']} notes from {en.place_name} and the district around it."
        blocks = [("p", f"{en.sentence()} {intro}")]
        more, variant = _lines_block(_short_items(en, rng.randint(16, 20)), rng)
        blocks += more
    else:  # fineweb_list
        title = f"Topics from {en.place_name}"  # three words too, should the title be extracted
        blocks, variant = _lines_block(_index_entries(en, rng.randint(52, 60)), rng)
    return {"topic": topic, "title": title, "blocks": blocks, "place": en.place_name,
            "author": en.names.next()}, variant


# ======================================================================================
# Foreign languages: phrase tables (subject / verb / object / adverbial / connector) written
# for this module; the frames put them together in a plausible word order.
# ======================================================================================

_FOREIGN: dict[str, dict[str, Any]] = {
    "de": {
        "S": "die Stadt|der Gemeinderat|die neue Schule|das Museum|der Verein|die Landesregierung|"
        "unsere Familie|der Bürgermeister|die Universität|das kleine Dorf|die Bibliothek|"
        "die Firma|das Team|die Nachbarschaft|der Gärtner|die Lehrerin|der Hausarzt|die Feuerwehr",
        "V": "plant|eröffnet|unterstützt|organisiert|verbessert|baut|zeigt|braucht|bietet|erklärt|"
        "untersucht|renoviert|fördert|sucht|beschreibt|entwickelt",
        "O": "einen neuen Spielplatz|mehr Wohnungen für junge Familien|eine große Ausstellung|"
        "das alte Rathaus|bessere Verbindungen in die Nachbarorte|einen kleinen Garten hinter der Kirche|"
        "die Sicherheit auf den Straßen|neue Arbeitsplätze in der Region|eine öffentliche Diskussion|"
        "die Geschichte der Region|frisches Gemüse aus der Umgebung|einen Kurs für Anfänger|"
        "die Ergebnisse der Studie|den Ausbau der Radwege|eine bessere Betreuung der Kinder",
        "A": "im nächsten Jahr|seit einigen Monaten|in der Innenstadt|nach langen Gesprächen|"
        "trotz der hohen Kosten|gemeinsam mit den Bürgern|am Wochenende|jeden Morgen|im Sommer|"
        "ohne große Probleme|mit viel Geduld|in diesem Herbst|schon seit Jahren",
        "C": "Außerdem|Deshalb|Trotzdem|Zum Beispiel|Inzwischen|Danach|Allerdings|Schließlich",
        "frames": ["{S} {V} {O} {A}.", "{C} {V} {s} {O} {A}.", "Viele Menschen glauben, dass {s} {O} {V}.",
                   "{A_cap} {V} {s} {O}.", "Nach Angaben der Verwaltung {V} {s} {O} {A}.",
                   "Es ist wichtig, dass {s} {O} {A} {V}."],
        "title": "{S} {V} {O}",
    },
    "fr": {
        "S": "la ville|le conseil municipal|la nouvelle école|le musée|l'association|le gouvernement|"
        "notre famille|le maire|l'université|le petit village|la bibliothèque|l'entreprise|"
        "l'équipe|le jardinier|l'enseignante|le médecin|la mairie",
        "V": "prépare|ouvre|soutient|organise|améliore|construit|présente|propose|explique|étudie|"
        "rénove|encourage|cherche|décrit|développe",
        "O": "un nouveau parc pour les enfants|plus de logements pour les jeunes familles|"
        "une grande exposition|l'ancienne mairie|de meilleures liaisons avec les villages voisins|"
        "un petit jardin partagé|la sécurité dans les rues|de nouveaux emplois dans la région|"
        "un débat public|l'histoire de la région|des légumes frais de la région|"
        "un cours pour les débutants|les résultats de l'étude|le développement des pistes cyclables",
        "A": "l'année prochaine|depuis quelques mois|dans le centre-ville|après de longues discussions|"
        "malgré les coûts élevés|avec les habitants|pendant le week-end|chaque matin|en été|"
        "sans grandes difficultés|avec beaucoup de patience|cet automne|depuis des années",
        "C": "De plus,|C'est pourquoi|Pourtant,|Par exemple,|Entre-temps,|Ensuite,|Cependant,|Enfin,",
        "frames": ["{S} {V} {O} {A}.", "{C} {s} {V} {O}.", "Beaucoup de gens pensent que {s} {V} {O}.",
                   "Selon les habitants, {s} {V} {O} {A}.", "{A_cap}, {s} {V} {O}.",
                   "Il faut dire que {s} {V} {O} {A}."],
        "title": "{S} {V} {O}",
    },
    "es": {
        "S": "la ciudad|el ayuntamiento|la nueva escuela|el museo|la asociación de vecinos|el gobierno|"
        "nuestra familia|el alcalde|la universidad|el pequeño pueblo|la biblioteca|la empresa|"
        "el equipo|el jardinero|la profesora|el médico|la cooperativa",
        "V": "prepara|abre|apoya|organiza|mejora|construye|presenta|propone|explica|estudia|renueva|"
        "busca|describe|desarrolla",
        "O": "un nuevo parque para los niños|más viviendas para las familias jóvenes|una gran exposición|"
        "el antiguo edificio del ayuntamiento|mejores conexiones de transporte|"
        "un pequeño huerto comunitario|la seguridad en las calles|nuevos puestos de trabajo|"
        "un debate público|la historia de la región|verduras frescas de la zona|"
        "un curso para principiantes|los resultados del estudio|la ampliación de los carriles bici",
        "A": "el próximo año|desde hace algunos meses|en el centro de la ciudad|"
        "después de largas conversaciones|a pesar de los altos costes|junto con los vecinos|"
        "durante el fin de semana|cada mañana|en verano|sin grandes problemas|con mucha paciencia|"
        "este otoño|desde hace años",
        "C": "Además,|Por eso,|Sin embargo,|Por ejemplo,|Mientras tanto,|Después,|No obstante,|Finalmente,",
        "frames": ["{S} {V} {O} {A}.", "{C} {s} {V} {O}.", "Muchas personas creen que {s} {V} {O}.",
                   "Según los vecinos, {s} {V} {O} {A}.", "{A_cap}, {s} {V} {O}.",
                   "Hay que decir que {s} {V} {O} {A}."],
        "title": "{S} {V} {O}",
    },
    "it": {
        "S": "la città|il consiglio comunale|la nuova scuola|il museo|l'associazione|il governo|"
        "la nostra famiglia|il sindaco|l'università|il piccolo paese|la biblioteca|l'azienda|"
        "la squadra|il giardiniere|l'insegnante|il medico|la parrocchia",
        "V": "prepara|apre|sostiene|organizza|migliora|costruisce|presenta|propone|spiega|studia|"
        "rinnova|cerca|descrive|sviluppa",
        "O": "un nuovo parco per i bambini|più case per le giovani famiglie|una grande mostra|"
        "il vecchio municipio|collegamenti migliori con i paesi vicini|un piccolo orto condiviso|"
        "la sicurezza nelle strade|nuovi posti di lavoro|un dibattito pubblico|la storia della regione|"
        "verdure fresche della zona|un corso per principianti|i risultati dello studio|"
        "l'ampliamento delle piste ciclabili",
        "A": "l'anno prossimo|da alcuni mesi|nel centro della città|dopo lunghe discussioni|"
        "nonostante i costi elevati|insieme ai cittadini|durante il fine settimana|ogni mattina|"
        "in estate|senza grandi problemi|con molta pazienza|questo autunno|da molti anni",
        "C": "Inoltre,|Per questo|Tuttavia,|Per esempio,|Nel frattempo,|Poi|Comunque,|Infine,",
        "frames": ["{S} {V} {O} {A}.", "{C} {s} {V} {O}.", "Secondo i cittadini, {s} {V} {O}.",
                   "Come spiegano gli esperti, {s} {V} {O} {A}.", "{A_cap}, {s} {V} {O}.",
                   "Bisogna dire che {s} {V} {O} {A}."],
        "title": "{S} {V} {O}",
    },
    "pt": {
        "S": "a cidade|a câmara municipal|a nova escola|o museu|a associação de moradores|o governo|"
        "a nossa família|o presidente da câmara|a universidade|a pequena aldeia|a biblioteca|"
        "a empresa|a equipa|o jardineiro|a professora|o médico de família",
        "V": "prepara|abre|apoia|organiza|melhora|constrói|apresenta|propõe|explica|estuda|renova|"
        "procura|descreve|desenvolve",
        "O": "um novo parque para as crianças|mais habitação para as famílias jovens|"
        "uma grande exposição|o antigo edifício da câmara|melhores ligações de transporte|"
        "uma pequena horta comunitária|a segurança nas ruas|novos postos de trabalho|um debate público|"
        "a história da região|legumes frescos da zona|um curso para principiantes|"
        "os resultados do estudo|o alargamento das ciclovias",
        "A": "no próximo ano|há alguns meses|no centro da cidade|depois de longas conversas|"
        "apesar dos custos elevados|em conjunto com os moradores|durante o fim de semana|"
        "todas as manhãs|no verão|sem grandes problemas|com muita paciência|neste outono|há muitos anos",
        "C": "Além disso,|Por isso,|No entanto,|Por exemplo,|Entretanto,|Depois,|Contudo,|Finalmente,",
        "frames": ["{S} {V} {O} {A}.", "{C} {s} {V} {O}.", "Muitas pessoas acham que {s} {V} {O}.",
                   "Segundo os moradores, {s} {V} {O} {A}.", "{A_cap}, {s} {V} {O}.",
                   "É preciso dizer que {s} {V} {O} {A}."],
        "title": "{S} {V} {O}",
    },
    "ru": {
        "S": "город|городской совет|новая школа|музей|местное общество|правительство|наша семья|мэр|"
        "университет|маленькая деревня|библиотека|компания|команда|садовник|учительница|врач|"
        "районная администрация",
        "V": "планирует|открывает|поддерживает|организует|улучшает|строит|представляет|предлагает|"
        "объясняет|изучает|ремонтирует|ищет|описывает|развивает",
        "O": "новый парк для детей|больше жилья для молодых семей|большую выставку|"
        "старое здание ратуши|лучшее транспортное сообщение|небольшой общий сад|безопасность на улицах|"
        "новые рабочие места|открытое обсуждение|историю региона|свежие овощи из окрестностей|"
        "курс для начинающих|результаты исследования|расширение велосипедных дорожек",
        "A": "в следующем году|уже несколько месяцев|в центре города|после долгих обсуждений|"
        "несмотря на высокие расходы|вместе с жителями|в выходные дни|каждое утро|летом|"
        "без больших проблем|с большим терпением|этой осенью|уже много лет",
        "C": "Кроме того,|Поэтому|Однако|Например,|Тем временем|Затем|Тем не менее|Наконец,",
        "frames": ["{S} {V} {O} {A}.", "{C} {s} {V} {O}.", "Многие люди считают, что {s} {V} {O}.",
                   "По словам жителей, {s} {V} {O} {A}.", "{A_cap} {s} {V} {O}.",
                   "Стоит сказать, что {s} {V} {O} {A}."],
        "title": "{S} {V} {O}",
    },
    "zh": {
        "S": "市政府|当地居民|这所新学校|博物馆|社区协会|我们的家庭|市长|这所大学|小村庄|图书馆|"
        "这家公司|研究团队|园艺师|老师们|医生们|志愿者们",
        "V": "计划建设一个新的儿童公园|为年轻家庭提供更多住房|举办了一场大型展览|修复了老市政厅|"
        "改善了公共交通|开辟了一个小型社区菜园|加强了街道的安全|创造了新的就业机会|"
        "组织了一次公开讨论|研究本地区的历史|出售新鲜的本地蔬菜|开设了初学者课程|公布了研究结果|"
        "扩建了自行车道|整理了老照片和信件",
        "O": "",
        "A": "明年|最近几个月|在市中心|经过长时间的讨论|尽管成本很高|和居民一起|在周末|每天早上|"
        "今年夏天|今年秋天|多年来|在过去的一年里",
        "C": "此外，|因此，|不过，|例如，|与此同时，|后来，|然而，|最后，",
        "frames": ["{S}{A}{V}。", "{C}{S}{V}。", "很多人认为{S}{A}{V}是一件好事。", "据{S}介绍，他们{A}{V}。",
                   "{A}，{S}{V}。"],
        "title": "{S}{V}",
    },
    "ja": {
        "S": "市役所|地元の住民|新しい学校|博物館|地域の協会|私たちの家族|市長|大学|小さな村|図書館|"
        "その会社|研究チーム|庭師|先生たち|医師たち|ボランティアの人たち",
        "V": "新しい公園を作る予定です|若い家族のために住宅を増やしています|大きな展覧会を開きました|"
        "古い市庁舎を修理しました|公共交通を改善しました|小さな菜園を始めました|道路の安全を高めています|"
        "新しい仕事を生み出しました|公開の話し合いを行いました|地域の歴史を調べています|"
        "新鮮な地元の野菜を売っています|初心者向けの講座を開いています|研究の結果を発表しました|"
        "自転車道を広げています|古い写真や手紙を整理しています",
        "O": "",
        "A": "来年|ここ数か月|市の中心部で|長い話し合いの後で|費用が高いにもかかわらず|住民と一緒に|"
        "週末に|毎朝|今年の夏|この秋|何年も前から|この一年の間に",
        "C": "また、|そのため、|しかし、|例えば、|その間に、|その後、|ところが、|最後に、",
        "frames": ["{S}は{A}{V}。", "{C}{S}は{V}。", "{S}によると、{A}{V}。", "{A}、{S}は{V}。",
                   "多くの人が言うように、{S}は{V}。"],
        "title": "{S}は{V}",
    },
}

_UI: dict[str, dict[str, str]] = {
    "en": {"nav": "Home|News|Local|Opinion|Features|Events|About us|Contact",
           "cookie": "We use cookies to improve your experience on our website. By continuing to browse, "
                     "you agree to our use of cookies.",
           "accept": "Accept all", "settings": "Cookie settings", "related": "Related articles",
           "rights": "All rights reserved.", "by": "By", "privacy": "Privacy policy",
           "terms": "Terms of use", "newsletter": "Sign up for our weekly newsletter",
           "search": "Search", "share": "Share this article", "more": "Read more"},
    "de": {"nav": "Startseite|Nachrichten|Region|Meinung|Kultur|Termine|Über uns|Kontakt",
           "cookie": "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten.",
           "accept": "Alle akzeptieren", "settings": "Einstellungen",
           "related": "Das könnte Sie auch interessieren", "rights": "Alle Rechte vorbehalten.",
           "by": "Von", "privacy": "Datenschutz", "terms": "Impressum",
           "newsletter": "Newsletter abonnieren", "search": "Suche", "share": "Artikel teilen",
           "more": "Weiterlesen"},
    "fr": {"nav": "Accueil|Actualités|Région|Opinions|Culture|Agenda|À propos|Contact",
           "cookie": "Nous utilisons des cookies pour améliorer votre expérience sur notre site.",
           "accept": "Tout accepter", "settings": "Paramètres", "related": "À lire aussi",
           "rights": "Tous droits réservés.", "by": "Par", "privacy": "Confidentialité",
           "terms": "Mentions légales", "newsletter": "S'abonner à la lettre d'information",
           "search": "Rechercher", "share": "Partager cet article", "more": "Lire la suite"},
    "es": {"nav": "Inicio|Noticias|Región|Opinión|Cultura|Agenda|Quiénes somos|Contacto",
           "cookie": "Utilizamos cookies para mejorar su experiencia en nuestro sitio web.",
           "accept": "Aceptar todo", "settings": "Configuración", "related": "Artículos relacionados",
           "rights": "Todos los derechos reservados.", "by": "Por", "privacy": "Privacidad",
           "terms": "Aviso legal", "newsletter": "Suscríbete al boletín", "search": "Buscar",
           "share": "Compartir este artículo", "more": "Leer más"},
    "it": {"nav": "Home|Notizie|Territorio|Opinioni|Cultura|Eventi|Chi siamo|Contatti",
           "cookie": "Utilizziamo i cookie per migliorare la tua esperienza sul nostro sito.",
           "accept": "Accetta tutto", "settings": "Impostazioni", "related": "Articoli correlati",
           "rights": "Tutti i diritti riservati.", "by": "Di", "privacy": "Privacy",
           "terms": "Note legali", "newsletter": "Iscriviti alla newsletter", "search": "Cerca",
           "share": "Condividi questo articolo", "more": "Leggi tutto"},
    "pt": {"nav": "Início|Notícias|Região|Opinião|Cultura|Agenda|Sobre nós|Contacto",
           "cookie": "Utilizamos cookies para melhorar a sua experiência no nosso site.",
           "accept": "Aceitar tudo", "settings": "Definições", "related": "Artigos relacionados",
           "rights": "Todos os direitos reservados.", "by": "Por", "privacy": "Privacidade",
           "terms": "Termos de utilização", "newsletter": "Subscrever a newsletter", "search": "Pesquisar",
           "share": "Partilhar este artigo", "more": "Ler mais"},
    "ru": {"nav": "Главная|Новости|Регион|Мнения|Культура|Афиша|О нас|Контакты",
           "cookie": "Мы используем файлы cookie, чтобы сделать сайт удобнее.",
           "accept": "Принять все", "settings": "Настройки", "related": "Читайте также",
           "rights": "Все права защищены.", "by": "Автор:", "privacy": "Конфиденциальность",
           "terms": "Условия использования", "newsletter": "Подписаться на рассылку", "search": "Поиск",
           "share": "Поделиться", "more": "Читать далее"},
    "zh": {"nav": "首页|新闻|本地|评论|文化|活动|关于我们|联系我们",
           "cookie": "我们使用Cookie来改善您的浏览体验。", "accept": "全部接受", "settings": "设置",
           "related": "相关文章", "rights": "版权所有。", "by": "作者：", "privacy": "隐私政策",
           "terms": "使用条款", "newsletter": "订阅新闻邮件", "search": "搜索", "share": "分享",
           "more": "阅读全文"},
    "ja": {"nav": "ホーム|ニュース|地域|オピニオン|文化|イベント|会社概要|お問い合わせ",
           "cookie": "当サイトでは、利便性向上のためにクッキーを使用しています。", "accept": "すべて同意する",
           "settings": "設定", "related": "関連記事", "rights": "無断転載を禁じます。", "by": "文：",
           "privacy": "プライバシーポリシー", "terms": "利用規約", "newsletter": "ニュースレターに登録",
           "search": "検索", "share": "共有する", "more": "続きを読む"},
}

_FOREIGN_SITES = {
    "de": ["stadtanzeiger-{}.de", "{}-nachrichten.de", "heimatblatt-{}.de"],
    "fr": ["journal-{}.fr", "{}-actu.fr", "la-gazette-{}.fr"],
    "es": ["diario-{}.es", "noticias-{}.es", "{}-hoy.es"],
    "it": ["gazzetta-{}.it", "notizie-{}.it", "{}-oggi.it"],
    "pt": ["jornal-{}.pt", "noticias-{}.pt", "{}-hoje.pt"],
    "ru": ["{}-novosti.ru", "gazeta-{}.ru", "{}-vesti.ru"],
    "zh": ["{}-news.cn", "{}ribao.cn", "{}-xinwen.com.cn"],
    "ja": ["{}-shimbun.jp", "{}-news.jp", "{}-times.co.jp"],
}
_FOREIGN_PATHS = {"de": "artikel", "fr": "article", "es": "noticia", "it": "notizia", "pt": "noticia",
                  "ru": "statya", "zh": "wenzhang", "ja": "kiji"}
_FOREIGN_TOWNS = "lindenau bergheim rocca valmont serrano almeida sosnovka qinghe hanamura kastell " \
                 "fontaine miravalle castelo ozersk minami"


def foreign_paragraphs(rng: random.Random, lang: str, n_paragraphs: int) -> tuple[str, list[str]]:
    """A title and paragraphs of generated prose in ``lang``."""
    t = _FOREIGN[lang]
    S, V, A, C = (_bar(t[k]) for k in ("S", "V", "A", "C"))
    O = _bar(t["O"]) if t["O"] else [""]
    cjk = lang in ("zh", "ja")

    def fill(frame: str) -> str:
        s = rng.choice(S)
        a = rng.choice(A)
        out = frame.format(S=_cap(s), s=s, V=rng.choice(V), O=rng.choice(O), A=a, A_cap=_cap(a),
                           C=rng.choice(C))
        return " ".join(out.split()) if not cjk else out

    paragraphs = []
    for _ in range(n_paragraphs):
        k = rng.randint(3, 6)
        sents = [fill(rng.choice(t["frames"])) for _ in range(k)]
        paragraphs.append(("" if cjk else " ").join(sents))
    title = fill(t["title"])
    return title, paragraphs


# ======================================================================================
# Spam and boilerplate
# ======================================================================================

_SPAM_PRODUCTS = (
    "watches|sneakers|handbags|sunglasses|phone cases|headphones|perfume|jerseys|car parts|"
    "vitamins|gift cards|fitness trackers|hoverboards|designer belts|laptop chargers"
)
_SPAM_HOOKS = (
    "Buy cheap {p} online|Best cheap {p} deals|Cheap {p} for sale|Discount {p} free shipping|"
    "Order {p} now and save|Top rated {p} at the lowest price|Cheap {p} outlet store|"
    "Wholesale {p} best price guaranteed"
)
_SPAM_CITIES = (
    "London|Manchester|Dallas|Toronto|Sydney|Dublin|Chicago|Leeds|Houston|Melbourne|Glasgow|"
    "Denver|Boston|Seattle|Phoenix|Bristol|Atlanta|Calgary|Perth|Cardiff|Austin|Ottawa|Miami|"
    "Portland|Auckland|Liverpool|Detroit|Vancouver|Brisbane|Nashville"
)


def _spam_blocks(rng: random.Random, variant: str) -> tuple[str, list]:
    product = rng.choice(_bar(_SPAM_PRODUCTS))
    hooks = [h.format(p=product) for h in _bar(_SPAM_HOOKS)]
    title = _cap(f"Cheap {product} online - best {product} deals")
    if variant == "repeat":
        core = rng.sample(hooks, 3)
        para = ". ".join(core) + ". " + f"Buy {product} today and get the best price on {product}."
        n = rng.randint(8, 12)
        return title, [("p", para)] * n
    # "list": one line per city, the same two-word hook over and over
    cities = rng.sample(_bar(_SPAM_CITIES), rng.randint(22, 28))
    lines = [f"Buy cheap {product} in {c} - {rng.choice([20, 30, 40, 50, 60, 70])}% off" for c in cities]
    return title, [("p", f"Buy cheap {product} online. Cheap {product} for sale in every city."),
                   ("ul", lines)]


# ======================================================================================
# HTML rendering
# ======================================================================================

def _esc(s: str) -> str:
    return _html.escape(s, quote=True)


def _slug(text: str, max_words: int = 8) -> str:
    keep = []
    for w in text.lower().replace("'", "").split():
        w = "".join(ch if ch.isalnum() else "-" for ch in w).strip("-")
        if w and w.isascii():
            keep.append(w)
    return "-".join(keep[:max_words]) or "page"


@dataclass
class _Site:
    host: str
    name: str
    lang: str
    theme: str
    topics: list[str]


def _render_blocks(blocks) -> str:
    out = []
    for kind, content in blocks:
        if kind == "p":
            out.append(f"<p>{_esc(content)}</p>")
        elif kind == "h2":
            out.append(f"<h2>{_esc(content)}</h2>")
        elif kind == "ul":
            items = "".join(f"<li>{_esc(x)}</li>" for x in content)
            out.append(f"<ul>{items}</ul>")
        elif kind == "raw":
            out.append(content)
        else:  # pragma: no cover
            raise ValueError(kind)
    return "\n".join(out)


def _render_page(rng: random.Random, site: _Site, title: str, main_html: str, *, related: list[str],
                 meta_charset: str | None, date_text: str, author: str | None,
                 with_article: bool = True) -> str:
    """A full HTML document: header + nav + cookie banner + main content + sidebar + footer."""
    ui = _UI[site.lang]
    nav_items = _bar(ui["nav"])
    nav = "".join(f'<li><a href="/{_slug(x, 2) if site.lang == "en" else "s" + str(i)}/">{_esc(x)}</a></li>'
                  for i, x in enumerate(nav_items))
    rel = "".join(f'<li><a href="/{_slug(t, 6) or "a"}-{rng.randrange(1000, 9999)}.html">{_esc(t)}</a></li>'
                  for t in related)
    head_meta = ""
    if meta_charset == "html5":
        head_meta = '<meta charset="utf-8">\n'
    elif meta_charset == "http-equiv":
        head_meta = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    elif meta_charset:
        head_meta = f'<meta charset="{meta_charset}">\n'
    year = "2024"
    cookie = (f'<div id="cookie-banner" class="cookie-consent" role="dialog"><p>{_esc(ui["cookie"])}</p>'
              f'<button class="accept">{_esc(ui["accept"])}</button>'
              f'<button class="settings">{_esc(ui["settings"])}</button></div>')
    footer = (f'<footer class="site-footer"><div class="footer-links"><ul>'
              f'<li><a href="/privacy">{_esc(ui["privacy"])}</a></li>'
              f'<li><a href="/terms">{_esc(ui["terms"])}</a></li>'
              f'<li><a href="/contact">{_esc(nav_items[-1])}</a></li></ul></div>'
              f'<p class="copyright">&copy; {year} {_esc(site.name)}. {_esc(ui["rights"])}</p></footer>')
    byline = ""
    if author:
        byline = (f'<p class="byline"><span class="author">{_esc(ui["by"])} {_esc(author)}</span> '
                  f'<time datetime="{date_text}">{date_text}</time></p>')
    share = (f'<div class="share-buttons"><span>{_esc(ui["share"])}</span> <a href="#">Facebook</a> '
             f'<a href="#">X</a> <a href="#">Email</a></div>')
    sidebar = (f'<aside class="sidebar"><div class="widget related"><h3>{_esc(ui["related"])}</h3>'
               f'<ul>{rel}</ul></div><div class="widget newsletter"><h3>{_esc(ui["newsletter"])}</h3>'
               f'<form action="/subscribe" method="post"><input type="email" name="email">'
               f'<button type="submit">OK</button></form></div></aside>')
    scripts = ('<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}'
               '</script>\n')
    head = (f'<!DOCTYPE html>\n<html lang="{site.lang}">\n<head>\n{head_meta}'
            f'<title>{_esc(title)} | {_esc(site.name)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/css/site.css">\n{scripts}</head>\n')
    header = (f'<header class="site-header"><a class="logo" href="/">{_esc(site.name)}</a>'
              f'<nav class="main-nav"><ul>{nav}</ul></nav>'
              f'<form class="search" action="/search"><input type="text" name="q" '
              f'placeholder="{_esc(ui["search"])}"></form></header>')
    if site.theme == "news":
        body_main = (f'<main id="main"><article class="story">\n<h1>{_esc(title)}</h1>\n{byline}\n'
                     f'{main_html}\n{share}\n</article>\n{sidebar}</main>') if with_article else \
                    f'<main id="main">{main_html}\n{sidebar}</main>'
    elif site.theme == "blog":
        body_main = (f'<div id="content" class="wrapper"><div class="post">\n'
                     f'<h1 class="entry-title">{_esc(title)}</h1>\n<div class="entry-meta">{byline}</div>\n'
                     f'<div class="entry-content">\n{main_html}\n</div>\n{share}</div>\n'
                     f'<div id="sidebar">{sidebar}</div></div>') if with_article else \
                    f'<div id="content" class="wrapper">{main_html}<div id="sidebar">{sidebar}</div></div>'
    else:  # magazine
        body_main = (f'<div class="layout"><main><div class="article-header"><h1>{_esc(title)}</h1>'
                     f'{byline}</div>\n<div class="article-body">\n{main_html}\n</div>{share}</main>\n'
                     f'{sidebar}</div>') if with_article else \
                    f'<div class="layout"><main>{main_html}</main>{sidebar}</div>'
    return (f'{head}<body>\n{cookie}\n{header}\n<div class="breadcrumbs"><a href="/">{_esc(nav_items[0])}</a>'
            f' &raquo; <a href="/{site.lang}/">{_esc(nav_items[1])}</a></div>\n{body_main}\n{footer}\n'
            f'<script src="/static/js/app.js" async></script>\n</body>\n</html>\n')


def _login_main(rng: random.Random) -> str:
    heading = rng.choice(["Sign in to your account", "Log in", "Member login", "Welcome back"])
    return (f'<div class="auth-box"><h1>{heading}</h1>'
            '<form action="/login" method="post">'
            '<label for="email">Email address</label><input id="email" type="email" name="email">'
            '<label for="pw">Password</label><input id="pw" type="password" name="password">'
            '<label><input type="checkbox" name="remember"> Remember me</label>'
            '<button type="submit">Sign in</button></form>'
            '<p><a href="/forgot">Forgot your password?</a></p>'
            '<p><a href="/register">Create an account</a></p></div>')


def _soft404_main(rng: random.Random) -> str:
    heading = rng.choice(["Page not found", "We could not find that page", "This page has moved"])
    sorry = rng.choice(["Sorry, this page does not exist.", "Sorry, the page you asked for is not here.",
                        "The link you followed may be broken."])
    return (f'<div class="error-page"><h1>{heading}</h1>'
            f'<p>{sorry}</p>'
            '<form action="/search"><input type="text" name="q"><button>Search</button></form>'
            '<p><a href="/">Back to the homepage</a></p></div>')


def _tag_main(rng: random.Random, topic: str) -> str:
    """A tag archive: a heading and a few short link lines (different headline patterns)."""
    en = _English(rng, topic)
    kinds = rng.sample(range(6), rng.randint(4, 5))
    items = []
    for k in kinds:
        t = en.title(k)
        items.append(f'<li><a href="/{_slug(t)}.html">{_esc(t)}</a></li>')
    return (f'<div class="tag-archive"><h1>Tag: {_esc(_TOPICS[topic]["field"])}</h1><ul class="post-list">'
            + "".join(items) + '</ul><div class="pagination"><a href="?page=2">Older posts</a></div></div>')


def _app_shell(rng: random.Random, site: "_Site", route: str) -> str:
    """A client-side rendered page: icon-only navigation, an empty mount point, the cookie
    banner as an <aside> and a footer.  No text outside <aside>/<footer>/<script>."""
    ui = _UI["en"]
    icons = "".join(f'<a href="/{x}" aria-label="{x}"><svg width="20" height="20" viewBox="0 0 20 20">'
                    f'<path d="M2 10h16"/></svg></a>' for x in ("home", "search", "account", "menu"))
    state = json.dumps({"route": route, "site": site.host, "build": rng.randrange(10**6, 10**7)})
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<title>{_esc(site.name)}</title>\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/css/app.css">\n'
            f'<script>window.__INITIAL_STATE__ = {state};</script>\n</head>\n<body>\n'
            f'<header class="topbar"><a class="logo" href="/"><img src="/static/img/logo.svg" alt="{_esc(site.name)}"></a>'
            f'<nav class="icons">{icons}</nav></header>\n'
            f'<div id="app" data-route="{_esc(route)}"></div>\n'
            f'<aside id="cookie-banner" class="cookie-consent"><p>{_esc(ui["cookie"])}</p>'
            f'<button class="accept">{_esc(ui["accept"])}</button></aside>\n'
            f'<footer class="site-footer"><ul><li><a href="/privacy">{_esc(ui["privacy"])}</a></li>'
            f'<li><a href="/terms">{_esc(ui["terms"])}</a></li></ul>'
            f'<p>&copy; 2024 {_esc(site.name)}. {_esc(ui["rights"])}</p></footer>\n'
            f'<script src="/static/js/app.{rng.randrange(16**8):08x}.js" defer></script>\n</body>\n</html>\n')


# ======================================================================================
# Non-HTML payloads
# ======================================================================================

def _png(rng: random.Random, w: int = 24, h: int = 16) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(w * 3)) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _pdf(rng: random.Random) -> bytes:
    text = _English(rng, rng.choice(sorted(_TOPICS))).sentence().replace("(", "").replace(")", "")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _plain_text(rng: random.Random) -> bytes:
    en = _English(rng, rng.choice(sorted(_TOPICS)))
    lines = [en.title(), "=" * 40, ""] + [en.paragraph(3) for _ in range(3)]
    return ("\n\n".join(lines) + "\n").encode("utf-8")


def _javascript(rng: random.Random) -> bytes:
    name = rng.choice(["menu", "carousel", "consent", "search", "lazyload", "analytics"])
    n = rng.randint(100, 900)
    return (f"(function () {{\n  'use strict';\n  var {name} = {{ delay: {n}, open: false }};\n"
            f"  function toggle() {{ {name}.open = !{name}.open; }}\n"
            f"  document.addEventListener('DOMContentLoaded', function () {{\n"
            f"    var el = document.querySelector('.{name}');\n"
            f"    if (el) {{ el.addEventListener('click', toggle); }}\n  }});\n}})();\n").encode()


_NON_HTML_KINDS = (
    ("image/png", ".png", "images/photo-{}"),
    ("application/pdf", ".pdf", "files/report-{}"),
    ("text/plain", ".txt", "notes/readme-{}"),
    ("application/javascript", ".js", "static/js/{}"),
)

# ======================================================================================
# HTTP and WARC serialisation
# ======================================================================================

_STATUS_TEXT = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found"}
_SERVERS = ("nginx/1.24.0", "Apache/2.4.58 (Ubuntu)", "cloudflare", "LiteSpeed", "nginx", "Microsoft-IIS/10.0")


def _http_date(t: _dt.datetime) -> str:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{days[t.weekday()]}, {t.day:02d} {months[t.month - 1]} {t.year} {t:%H:%M:%S} GMT"


def _warc_date(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunked(body: bytes, rng: random.Random) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        n = rng.randint(700, 2600)
        piece = body[i:i + n]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        i += n
    out += b"0\r\n\r\n"
    return bytes(out)


def _http_response(rng: random.Random, status: int, content_type: str, body: bytes, when: _dt.datetime, *,
                   location: str | None = None, chunked: bool = False, gzip_body: bool = False) -> bytes:
    headers = [f"HTTP/1.1 {status} {_STATUS_TEXT[status]}",
               f"Date: {_http_date(when)}",
               f"Server: {rng.choice(_SERVERS)}",
               f"Content-Type: {content_type}"]
    if gzip_body:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append("Content-Encoding: gzip")
        headers.append("Vary: Accept-Encoding")
    if chunked:
        headers.append("Transfer-Encoding: chunked")
        body = _chunked(body, rng)
    else:
        headers.append(f"Content-Length: {len(body)}")
    if location:
        headers.append(f"Location: {location}")
    if status == 200:
        headers.append(f"Cache-Control: max-age={rng.choice([0, 60, 300, 600, 3600])}")
        lm = when - _dt.timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86399))
        headers.append(f"Last-Modified: {_http_date(lm)}")
    headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    lines = ["WARC/1.0"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"


def _gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _corrupt_member(member: bytes) -> bytes:
    """Flip bytes inside the deflate data of a gzip member so that zlib fails mid-stream.

    The damage sits early in the compressed data (after the 10-byte gzip header), so zlib
    raises ("invalid distance too far back" and the like) long before the CRC check, and a
    reader has to skip to the next member.
    """
    for start in range(10 + (len(member) - 18) // 20, len(member) - 16, 3):
        bad = bytearray(member)
        for k in range(start, start + 6):
            bad[k] ^= 0xA5
        bad = bytes(bad)
        try:
            d = zlib.decompressobj(zlib.MAX_WBITS | 16)
            d.decompress(bad)
            d.flush()
        except zlib.error as e:
            if "data check" not in str(e):
                return bad
    raise RuntimeError("could not corrupt the gzip member")  # pragma: no cover


def iter_gzip_members(data: bytes):
    """Yield (offset, decompressed bytes or None) for each gzip member of ``data``.

    A member that does not decompress yields None; reading resumes at the next gzip magic.
    """
    pos = 0
    n = len(data)
    while pos < n:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            out = d.decompress(data[pos:])
            out += d.flush()
            if not d.eof:
                raise zlib.error("truncated member")
        except zlib.error:
            yield pos, None
            nxt = data.find(b"\x1f\x8b\x08", pos + 1)
            if nxt < 0:
                return
            pos = nxt
            continue
        yield pos, out
        pos = n - len(d.unused_data)


# ======================================================================================
# Planning
# ======================================================================================

@dataclass
class _Page:
    case: str
    url: str = ""
    lang: str = "en"
    status: int = 200
    content_type: str = "text/html"      # WARC-Identified-Payload-Type
    http_content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    expected: str = "kept"
    expected_step: str | None = None
    charset: str | None = "utf-8"
    charset_source: str | None = "http+meta"
    chunked: bool = False
    gzip_body: bool = False
    location: str | None = None
    variant: str | None = None
    key: int = 0                         # identity used to link copies to their original
    duplicate_of: int | None = None
    near_duplicate_of: int | None = None
    similar_to: int | None = None
    edit_fraction: float | None = None
    jaccard: float | None = None
    record_id: str = ""
    extra: dict = field(default_factory=dict)


def _uuid(rng: random.Random) -> str:
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def _scale(n: int, files: int) -> int:
    return n if files >= 6 else max(1, round(n * files / 6))


class _Planner:
    def __init__(self, seed: int, files: int):
        self.seed = seed
        self.files = files
        self.rng = random.Random(f"curation.sample:{seed}")
        self.sites = self._make_sites()
        self.pages: list[_Page] = []
        self._key = 0

    # -- sites ------------------------------------------------------------------------
    def _make_sites(self) -> list[_Site]:
        r = self.rng
        combos = [(a, b) for a in _SITE_A.split() for b in _SITE_B.split()]
        r.shuffle(combos)
        sites = []
        topics = sorted(_TOPICS)
        for i, (a, b) in enumerate(combos[:36]):
            tld = r.choice(_TLDS.split())
            host = r.choice(["www.", "www.", "", "news.", "blog."]) + f"{a}{b}{tld}"
            name = f"The {a.capitalize()} {b.capitalize()}"
            sites.append(_Site(host=host, name=name, lang="en", theme=("news", "blog", "magazine")[i % 3],
                               topics=r.sample(topics, 3)))
        return sites

    def _foreign_site(self, lang: str) -> _Site:
        r = self.rng
        town = r.choice(_FOREIGN_TOWNS.split())
        host = "www." + r.choice(_FOREIGN_SITES[lang]).format(town)
        return _Site(host=host, name=town.capitalize() + " " + lang.upper(), lang=lang,
                     theme=r.choice(["news", "blog", "magazine"]), topics=[])

    def _next_key(self) -> int:
        self._key += 1
        return self._key

    def _url(self, site: _Site, section: str, title: str, r: random.Random) -> str:
        d = _dt.date(2024, 1, 1) + _dt.timedelta(days=r.randrange(366))
        style = r.randrange(4)
        slug = _slug(title)
        if style == 0:
            path = f"/{section}/{d:%Y/%m/%d}/{slug}"
        elif style == 1:
            path = f"/{section}/{slug}-{r.randrange(10000, 99999)}.html"
        elif style == 2:
            path = f"/{d:%Y/%m}/{slug}/"
        else:
            path = f"/articles/{r.randrange(100000, 999999)}/{slug}"
        return f"https://{site.host}{path}"

    def _charset_mode(self, r: random.Random) -> tuple[str, str | None, str]:
        """(HTTP Content-Type, meta charset kind, charset_source)."""
        x = r.random()
        if x < 0.74:
            return "text/html; charset=utf-8", r.choice(["html5", "http-equiv"]), "http+meta"
        if x < 0.92:
            return "text/html", r.choice(["html5", "http-equiv"]), "meta"
        return "text/html", None, "none"

    def _related(self, r: random.Random, topic: str | None, lang: str) -> list[str]:
        if lang != "en":
            return [foreign_paragraphs(r, lang, 0)[0] for _ in range(r.randint(3, 5))]
        en = _English(r, topic or r.choice(sorted(_TOPICS)))
        return [en.title() for _ in range(r.randint(3, 6))]

    # -- page factories -----------------------------------------------------------------
    def _article_page(self, case: str, r: random.Random, site: _Site | None = None, url: str | None = None,
                      art: dict | None = None, encoding: str | None = None) -> tuple[_Page, dict, _Site]:
        site = site or r.choice(self.sites)
        topic = r.choice(site.topics)
        art = art or english_article(r, topic)
        when = _dt.date(2024, 1, 1) + _dt.timedelta(days=r.randrange(366))
        main = _render_blocks(art["blocks"])
        if encoding:
            http_ct, meta, source = f"text/html; charset={encoding}", None, "http"
        else:
            http_ct, meta, source = self._charset_mode(r)
        page_html = _render_page(r, site, art["title"], main, related=self._related(r, art["topic"], "en"),
                                 meta_charset=meta, date_text=when.isoformat(), author=art["author"])
        body = page_html.encode(encoding or "utf-8")
        url = url or self._url(site, _TOPICS[art["topic"]]["section"], art["title"], r)
        page = _Page(case=case, url=url, body=body, http_content_type=http_ct, charset=encoding or "utf-8",
                     charset_source=source, key=self._next_key())
        return page, art, site

    def plan(self) -> list[_Page]:
        r = self.rng
        f = self.files
        n = {k: _scale(v, f) for k, v in _COUNTS.items()}
        originals: list[tuple[_Page, dict, _Site]] = []

        # 1. good articles (two of them in windows-1252, one in iso-8859-1 is German below)
        for i in range(n["good_article"]):
            pr = random.Random(f"{self.seed}:good:{i}")
            encoding = "windows-1252" if i in (5, 17) else None
            page, art, site = self._article_page("good_article", pr, encoding=encoding)
            if encoding:
                art = dict(art)
                page = self._legacy_english(pr, page, art, site, encoding)
            originals.append((page, art, site))
            self.pages.append(page)

        # 2. encodings on the wire
        for i in range(n["chunked"] + n["gzip_encoded"]):
            pr = random.Random(f"{self.seed}:enc:{i}")
            case = "chunked" if i < n["chunked"] else "gzip_encoded"
            page, _, _ = self._article_page(case, pr)
            page.chunked = case == "chunked"
            page.gzip_body = case == "gzip_encoded"
            self.pages.append(page)

        # 3. duplicates of good articles
        cand = [o for o in originals if o[0].charset == "utf-8"]
        exact_src = r.sample(cand, n["exact_duplicate"])
        for i, (orig, art, site) in enumerate(exact_src):
            pr = random.Random(f"{self.seed}:exact:{i}")
            other = pr.choice([s for s in self.sites if s.host != site.host])
            style = pr.randrange(3)
            path = orig.url.split("/", 3)[3]
            if style == 0:
                url = f"https://{other.host}/syndicated/{path}"
            elif style == 1:
                url = f"https://{site.host}/amp/{path}"
            else:
                url = f"http://{site.host.removeprefix('www.')}/{path}?utm_source=feed&utm_medium=rss"
            page = _Page(case="exact_duplicate", url=url, body=orig.body, http_content_type=orig.http_content_type,
                         charset=orig.charset, charset_source=orig.charset_source, key=self._next_key(),
                         duplicate_of=orig.key)
            self.pages.append(page)
        rest = [o for o in cand if o not in exact_src]
        near_src = r.sample(rest, n["near_duplicate"])
        for i, (orig, art, site) in enumerate(near_src):
            pr = random.Random(f"{self.seed}:near:{i}")
            variant = ("word_edits", "sentence_edits")[i % 2]
            art2, frac, jac = _near_duplicate_article(pr, art, variant)
            # a sister site with the same layout, so that the same parts of the page are extracted
            other = pr.choice([s for s in self.sites if s.host != site.host and s.theme == site.theme])
            page, _, _ = self._article_page("near_duplicate", pr, site=other, art=art2)
            page.near_duplicate_of = orig.key
            page.variant = variant
            page.edit_fraction = round(frac, 4)
            page.jaccard = round(jac, 4)
            self.pages.append(page)

        # 3b. similar articles: the same story, too different to be near duplicates
        rest = [o for o in rest if o not in near_src]
        similar_src = random.Random(f"{self.seed}:similar").sample(rest, n["similar_article"])
        for i, (orig, art, site) in enumerate(similar_src):
            pr = random.Random(f"{self.seed}:similar:{i}")
            variant = ("follow_up", "rewrite")[i % 2]
            art2, jac = _similar_article(pr, art, variant)
            other = pr.choice([s for s in self.sites if s.host != site.host and s.theme == site.theme])
            page, _, _ = self._article_page("similar_article", pr, site=other, art=art2)
            page.similar_to = orig.key
            page.variant = variant
            page.jaccard = round(jac, 4)
            self.pages.append(page)

        # 4. foreign articles
        langs = sorted(_FOREIGN)
        for i in range(n["foreign_article"]):
            lang = langs[i % len(langs)]
            pr = random.Random(f"{self.seed}:foreign:{i}")
            encoding = None
            if lang == "de" and i // len(langs) == 1:
                encoding = "iso-8859-1"
            if lang == "ja" and i // len(langs) == 1:
                encoding = "shift_jis"
            self.pages.append(self._foreign_page(pr, lang, encoding))

        # 5. spam
        for i in range(n["spam"]):
            pr = random.Random(f"{self.seed}:spam:{i}")
            variant = "repeat" if i % 2 == 0 else "list"
            title, blocks = _spam_blocks(pr, variant)
            host = f"www.{pr.choice(['best', 'top', 'mega', 'super'])}-{pr.choice(['deals', 'shop', 'outlet', 'store'])}" \
                   f"-{pr.randrange(10, 99)}.{pr.choice(['com', 'net', 'biz', 'shop'])}"
            site = _Site(host=host, name=host.split(".")[1].replace("-", " ").title(), lang="en",
                         theme=pr.choice(["news", "blog", "magazine"]), topics=[])
            html_text = _render_page(pr, site, title, _render_blocks(blocks), related=[title] * 3,
                                     meta_charset="html5", date_text="2024-06-01", author=None)
            self.pages.append(_Page(case="spam", url=f"https://{host}/{_slug(title)}.html", body=html_text.encode(),
                                    expected="quality", expected_step="gopher_repetition", variant=variant,
                                    key=self._next_key()))

        # 6. boilerplate only
        kinds = ["app_shell", "login", "soft_404", "tag_listing"]
        for i in range(n["boilerplate_only"]):
            pr = random.Random(f"{self.seed}:boiler:{i}")
            kind = kinds[i % len(kinds)]
            site = pr.choice(self.sites)
            topic = pr.choice(site.topics)
            if kind == "login":
                main, title, url = _login_main(pr), "Sign in", f"https://{site.host}/account/login?next=%2F"
            elif kind == "soft_404":
                main, title = _soft404_main(pr), "Page not found"
                url = f"https://{site.host}/{_slug(_English(pr, topic).title())}-{pr.randrange(100, 999)}"
            elif kind == "tag_listing":
                main, title = _tag_main(pr, topic), f"Tag: {_TOPICS[topic]['field']}"
                url = f"https://{site.host}/tag/{_slug(_TOPICS[topic]['field'])}/"
            else:
                route = pr.choice(["/account", "/search", "/saved", "/notifications", "/settings"])
                main, title, url = "", site.name, f"https://{site.host}{route}"
            if kind == "app_shell":
                html_text = _app_shell(pr, site, url.split("/", 3)[3])
            else:
                html_text = _render_page(pr, site, title, main, related=self._related(pr, topic, "en"),
                                         meta_charset="html5", date_text="2024-01-01", author=None,
                                         with_article=False)
            expected, step = _BOILERPLATE_EXPECTED[kind]
            self.pages.append(_Page(case="boilerplate_only", url=url, body=html_text.encode(), expected=expected,
                                    expected_step=step, variant=kind, key=self._next_key()))

        # 7. short pages
        for i in range(n["short_page"]):
            pr = random.Random(f"{self.seed}:short:{i}")
            site = pr.choice(self.sites)
            art = _short_article(pr, pr.choice(site.topics))
            page, _, _ = self._article_page("short_page", pr, site=site, art=art)
            page.expected, page.expected_step = "quality", "gopher_quality"
            self.pages.append(page)

        # 7b. pages that only C4's or FineWeb's quality filter drops
        for case, step in QUALITY_CASES.items():
            for i in range(n[case]):
                pr = random.Random(f"{self.seed}:{case}:{i}")
                site = pr.choice(self.sites)
                topic = pr.choice(site.topics)
                if step == "c4_quality":
                    art, variant = _c4_article(pr, case, i, topic, site.name)
                else:
                    art, variant = _fineweb_article(pr, case, i, topic)
                page, _, _ = self._article_page(case, pr, site=site, art=art)
                page.expected, page.expected_step, page.variant = "quality", step, variant
                self.pages.append(page)

        # 8. blocked URLs
        for i in range(n["blocked_url"]):
            pr = random.Random(f"{self.seed}:blocked:{i}")
            page, art, site = self._article_page("blocked_url", pr)
            if i < len(_BLOCKED_DOMAINS) and i < n["blocked_url"] - min(2, n["blocked_url"] // 2):
                dom = _BLOCKED_DOMAINS[i]
                page.url = f"https://{pr.choice(['www.', ''])}{dom}/{_slug(art['title'])}"
                page.variant = "blocklisted_domain"
            else:
                word = _BANNED_URL_WORDS[i % len(_BANNED_URL_WORDS)]
                page.url = f"https://{site.host}/{word}/{_slug(art['title'])}"
                page.variant = "banned_url_word"
            page.expected = "url_filter"
            self.pages.append(page)

        # 9. non-HTML
        for i in range(n["non_html"]):
            pr = random.Random(f"{self.seed}:nonhtml:{i}")
            ctype, ext, pattern = _NON_HTML_KINDS[i % len(_NON_HTML_KINDS)]
            body = {"image/png": _png, "application/pdf": _pdf, "text/plain": _plain_text,
                    "application/javascript": _javascript}[ctype](pr)
            site = pr.choice(self.sites)
            url = f"https://{site.host}/{pattern.format(pr.randrange(1000, 9999))}{ext}"
            http_ct = ctype + ("; charset=utf-8" if ctype.startswith("text/") or "javascript" in ctype else "")
            self.pages.append(_Page(case="non_html", url=url, body=body, content_type=ctype, http_content_type=http_ct,
                                    expected="reader:non_html", charset=None, charset_source=None, lang=None,
                                    key=self._next_key()))

        # 10. redirects and 404s
        for i in range(n["redirect"] + n["not_found"]):
            pr = random.Random(f"{self.seed}:non200:{i}")
            site = pr.choice(self.sites)
            title = _English(pr, pr.choice(site.topics)).title()
            if i < n["redirect"]:
                status = 301 if i % 2 == 0 else 302
                target = f"https://{site.host}/{_slug(title)}/"
                text = _STATUS_TEXT[status]
                body = (f'<html><head><title>{status} {text}</title></head><body><h1>{text}</h1>'
                        f'<p>The document has moved <a href="{target}">here</a>.</p></body></html>\n')
                page = _Page(case="redirect", url=f"http://{site.host}/{_slug(title)}", status=status,
                             body=body.encode(), location=target, expected="quality",
                             # so few words that its top 2-gram is over 20% of the characters (Gopher top_2_gram)
                             expected_step="gopher_repetition",
                             key=self._next_key())
            else:
                html_text = _render_page(pr, site, "Page not found", _soft404_main(pr),
                                         related=self._related(pr, None, "en"), meta_charset="html5",
                                         date_text="2024-01-01", author=None, with_article=False)
                page = _Page(case="not_found", url=f"https://{site.host}/{_slug(title)}-{pr.randrange(10, 99)}",
                             status=404, body=html_text.encode(), expected="quality", expected_step="gopher_quality",
                             key=self._next_key())  # like the soft 404s of boilerplate_only
            self.pages.append(page)

        seen: set[str] = set()
        for p in self.pages:  # every URL once
            while p.url in seen:
                p.url += "-2" if "?" not in p.url else "&v=2"
            seen.add(p.url)
        return self.pages

    def _legacy_english(self, r: random.Random, page: _Page, art: dict, site: _Site, encoding: str) -> _Page:
        """Re-render a good article with typographic characters, served as windows-1252."""
        blocks = list(art["blocks"])
        for idx, (kind, text) in enumerate(blocks):
            if kind == "p":
                name = r.choice(["José Núñez", "Zoë Brontë", "André Côté", "Renée Müller"])
                quote = (f"{name}, who runs the café by the square, put it plainly: "
                         f"“It’s not perfect – but it works.”")
                first, _, others = text.partition(". ")
                blocks[idx] = (kind, f"{first}. {quote} {others}".strip())
                break
        art["blocks"] = blocks
        when = _dt.date(2024, 1, 1) + _dt.timedelta(days=r.randrange(366))
        html_text = _render_page(r, site, art["title"], _render_blocks(blocks),
                                 related=self._related(r, art["topic"], "en"), meta_charset=None,
                                 date_text=when.isoformat(), author=art["author"])
        page.body = html_text.encode(encoding)
        page.http_content_type = f"text/html; charset={encoding}"
        page.charset, page.charset_source = encoding, "http"
        return page

    def _foreign_page(self, r: random.Random, lang: str, encoding: str | None) -> _Page:
        site = self._foreign_site(lang)
        title, paras = foreign_paragraphs(r, lang, r.randint(5, 9))
        main = _render_blocks([("p", p) for p in paras])
        if encoding:
            http_ct, meta, source = f"text/html; charset={encoding}", None, "http"
        else:
            http_ct, meta, source = self._charset_mode(r)
        html_text = _render_page(r, site, title, main, related=self._related(r, None, lang), meta_charset=meta,
                                 date_text="2024-05-01", author=None)
        body = html_text.encode(encoding or "utf-8")
        url = f"https://{site.host}/{_FOREIGN_PATHS[lang]}/{r.randrange(100000, 999999)}.html"
        return _Page(case="foreign_article", url=url, lang=lang, body=body, http_content_type=http_ct,
                     expected="language", charset=encoding or "utf-8", charset_source=source,
                     key=self._next_key())


# Boilerplate-only pages: the outcome of datatrove's reference steps for each kind of page
# (what trafilatura extracts from it, and which filter drops that), proved by the tests.
_BOILERPLATE_EXPECTED = {
    # form labels, links and the cookie notice come out: far fewer than 50 words
    "login": ("quality", "gopher_quality"),
    # "Page not found" and a line or two of apology
    "soft_404": ("quality", "gopher_quality"),
    # a heading and four or five headline links
    "tag_listing": ("quality", "gopher_quality"),
    # no text outside <aside>, <footer> and <script>: trafilatura returns nothing
    "app_shell": ("extraction", None),
}


# ======================================================================================
# Writing
# ======================================================================================

def _order(pages: list[_Page], rng: random.Random) -> list[_Page]:
    """Shuffle, keeping every copy after the page it copies."""
    copies = [p for p in pages if p.duplicate_of or p.near_duplicate_of or p.similar_to]
    rest = [p for p in pages if not (p.duplicate_of or p.near_duplicate_of or p.similar_to)]
    rng.shuffle(rest)
    order = rest[:]
    for c in sorted(copies, key=lambda p: p.key):
        src = c.duplicate_of or c.near_duplicate_of or c.similar_to
        pos = next(i for i, p in enumerate(order) if p.key == src)
        order.insert(rng.randint(pos + 1, len(order)), c)
    return order


def generate_sample(output_dir: str | os.PathLike, seed: int = 0, files: int = 6) -> dict:
    """Write sample-0000.warc.gz ... and manifest.json into output_dir; return the manifest dict."""
    if files < 1:
        raise ValueError("files must be >= 1")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    planner = _Planner(seed, files)
    pages = planner.plan()
    rng = random.Random(f"curation.sample:order:{seed}")
    order = _order(pages, rng)
    ids = random.Random(f"curation.sample:ids:{seed}")
    for p in order:
        p.record_id = _uuid(ids)
    by_key = {p.key: p for p in order}

    # the damaged record: a good English article in the middle of a middle file
    dr = random.Random(f"{seed}:damaged")
    damaged, _, _ = planner._article_page("damaged_record", dr)
    damaged.expected = "reader:damaged_record"
    damaged.record_id = _uuid(ids)
    damaged_file = min(2, files - 1)

    chunks = [order[i * len(order) // files:(i + 1) * len(order) // files] for i in range(files)]
    chunk = chunks[damaged_file]
    chunk.insert(max(1, len(chunk) // 2), damaged)

    names = [FILE_TEMPLATE.format(i) for i in range(files)]
    records: list[dict] = []
    year_start = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
    for fi, (name, chunk) in enumerate(zip(names, chunks)):
        frng = random.Random(f"curation.sample:file:{seed}:{fi}")
        when = year_start + _dt.timedelta(days=fi * 366 / files, seconds=frng.randrange(3600))
        buf = bytearray()
        info_id = _uuid(ids)
        info = (f"isPartOf: CURATION-SAMPLE-2024\r\npublisher: curation.sample (synthetic, generated text)\r\n"
                f"description: Synthetic crawl written by curation.sample with seed {seed}\r\n"
                f"operator: curation project\r\nsoftware: curation.sample/1.0\r\n"
                f"format: WARC File Format 1.0\r\n"
                f"conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
                ).encode()
        buf += _gzip_member(_warc_record([
            ("WARC-Type", "warcinfo"), ("WARC-Date", _warc_date(when)), ("WARC-Filename", name),
            ("WARC-Record-ID", info_id), ("Content-Type", "application/warc-fields"),
            ("Content-Length", str(len(info)))], info))
        for p in chunk:
            when += _dt.timedelta(seconds=frng.randint(1, 90))
            host = p.url.split("/")[2]
            path = "/" + p.url.split("/", 3)[3] if p.url.count("/") >= 3 else "/"
            req_id = _uuid(ids)
            req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                   f"User-Agent: CurationSampleBot/1.0 (synthetic)\r\nAccept: text/html,application/xhtml+xml,"
                   f"application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
                   f"Accept-Encoding: br,gzip\r\nConnection: Keep-Alive\r\n\r\n").encode()
            buf += _gzip_member(_warc_record([
                ("WARC-Type", "request"), ("WARC-Date", _warc_date(when)), ("WARC-Record-ID", req_id),
                ("Content-Length", str(len(req))), ("Content-Type", "application/http; msgtype=request"),
                ("WARC-Warcinfo-ID", info_id), ("WARC-IP-Address", f"203.0.113.{frng.randrange(1, 255)}"),
                ("WARC-Target-URI", p.url)], req))
            ct = p.http_content_type
            http = _http_response(frng, p.status, ct, p.body, when, location=p.location, chunked=p.chunked,
                                  gzip_body=p.gzip_body)
            payload = http.split(b"\r\n\r\n", 1)[1]
            headers = [("WARC-Type", "response"), ("WARC-Date", _warc_date(when)),
                       ("WARC-Record-ID", p.record_id), ("Content-Length", str(len(http))),
                       ("Content-Type", "application/http; msgtype=response"), ("WARC-Warcinfo-ID", info_id),
                       ("WARC-Concurrent-To", req_id),
                       ("WARC-IP-Address", f"203.0.113.{frng.randrange(1, 255)}"),
                       ("WARC-Target-URI", p.url), ("WARC-Payload-Digest", _sha1_b32(payload)),
                       ("WARC-Block-Digest", _sha1_b32(http)),
                       ("WARC-Identified-Payload-Type", p.content_type)]
            member = _gzip_member(_warc_record(headers, http))
            if p.case == "damaged_record":
                member = _corrupt_member(member)
            offset = len(buf)
            buf += member
            records.append(_manifest_entry(p, name, offset, len(member), by_key))
            if p.case != "damaged_record" and frng.random() < 0.4:
                meta = (f"fetchTimeMs: {frng.randint(40, 2400)}\r\n"
                        f"charset-detected: {(p.charset or 'binary').upper()}\r\n").encode()
                buf += _gzip_member(_warc_record([
                    ("WARC-Type", "metadata"), ("WARC-Date", _warc_date(when)), ("WARC-Record-ID", _uuid(ids)),
                    ("Content-Length", str(len(meta))), ("Content-Type", "application/warc-fields"),
                    ("WARC-Warcinfo-ID", info_id), ("WARC-Concurrent-To", p.record_id),
                    ("WARC-Target-URI", p.url)], meta))
        (out / name).write_bytes(bytes(buf))

    manifest = {"seed": seed, "generator": GENERATOR, "files": names, "records": records,
                "counts": _counts(records)}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _manifest_entry(p: _Page, name: str, offset: int, length: int, by_key: dict) -> dict:
    entry = {
        "id": p.record_id, "file": name, "offset": offset, "length": length, "url": p.url, "case": p.case,
        "lang": p.lang, "http_status": p.status, "content_type": p.content_type, "expected": p.expected,
        "expected_step": p.expected_step,
        "duplicate_of": by_key[p.duplicate_of].record_id if p.duplicate_of else None,
        "near_duplicate_of": by_key[p.near_duplicate_of].record_id if p.near_duplicate_of else None,
        "similar_to": by_key[p.similar_to].record_id if p.similar_to else None,
        "charset": p.charset, "charset_source": p.charset_source,
        "transfer_encoding": "chunked" if p.chunked else None,
        "content_encoding": "gzip" if p.gzip_body else None,
    }
    if p.variant:
        entry["variant"] = p.variant
    if p.edit_fraction is not None:
        entry["edit_fraction"] = p.edit_fraction
    if p.jaccard is not None:
        entry["jaccard"] = p.jaccard
    return entry


def _counts(records: list[dict]) -> dict:
    out: dict[str, int] = {}
    for r in records:
        out[r["case"]] = out.get(r["case"], 0) + 1
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m curation.sample",
                                 description="Write the bundled synthetic WARC sample and its manifest.")
    ap.add_argument("--output", "-o", required=True, help="directory to write into")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--files", type=int, default=6)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = generate_sample(args.output, seed=args.seed, files=args.files)
    dt = time.perf_counter() - t0
    counts = ", ".join(f"{k}={v}" for k, v in manifest["counts"].items())
    print(f"wrote {len(manifest['files'])} WARC files, {len(manifest['records'])} responses "
          f"to {args.output} in {dt:.2f}s ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
