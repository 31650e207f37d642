"""Deterministic generator of the bundled sample crawl (``make demo`` input and test fixture).

Writes a small set of Common-Crawl-like WARC files (WARC/1.0, one gzip member per record)
plus a ``manifest.json`` that labels every response record with the case it plants and the
step of the FineWeb recipe expected to drop it (or ``kept``)::

    python -m curation.sample --output sample_data [--seed 0] [--files 6]

All text is generated from word lists and templates written for this package (``data/``, one
JSON file per kind): no web page is copied.  The same seed gives byte-identical files (gzip
mtime 0, dates derived from the seed, never from the clock); ``tests/test_sample.py`` pins the
bytes of seed 0.  The labels come from the design of each case; ``tests/test_sample.py`` proves
them against datatrove's reference extractor and filters.

The modules, in the order a sample is made: ``cases`` (the labels and counts of the table
below), ``english`` and ``foreign`` (generated prose), ``copies`` (near duplicates, similar
articles), ``quality_pages`` (C4, FineWeb and spam pages), ``pages`` (HTML), ``payloads``
(non-HTML bodies), ``planner`` (every page of a sample), ``warc`` (HTTP and WARC records),
``generate`` (files, manifest, command line); ``similarity`` is the 5-gram Jaccard they report.

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
foreign_article           de/fr/es/it/pt/ru/zh/ja local news (FineWeb-2's filters  language
                          keep every one, in its language)
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

from curation.sample.cases import (
    CASES,
    EXPECTED_VALUES,
    NEAR_DUPLICATE_MIN_JACCARD,
    NON_200_CASES,
    QUALITY_CASES,
    SIMILAR_JACCARD,
)
from curation.sample.english import english_article
from curation.sample.foreign import foreign_paragraphs
from curation.sample.generate import generate_sample, main
from curation.sample.similarity import _simple_words, article_text, shingle_jaccard  # noqa: F401 (tests check _simple_words)
from curation.sample.warc import iter_gzip_members

__all__ = [
    "CASES",
    "EXPECTED_VALUES",
    "NEAR_DUPLICATE_MIN_JACCARD",
    "NON_200_CASES",
    "QUALITY_CASES",
    "SIMILAR_JACCARD",
    "article_text",
    "english_article",
    "foreign_paragraphs",
    "generate_sample",
    "iter_gzip_members",
    "main",
    "shingle_jaccard",
]
