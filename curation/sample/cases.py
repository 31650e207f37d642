"""The planted cases, their labels and how many of each a sample holds (the table of ``curation.sample``)."""

from __future__ import annotations

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
NEAR_DUPLICATE_MIN_JACCARD = 0.86
SIMILAR_JACCARD = (0.3, 0.6)
EXPECTED_VALUES = (
    "kept", "reader:non_html", "reader:damaged_record",
    "url_filter", "language", "extraction", "quality",
)

# How many pages of each kind a default sample (files=6) holds; ~400 HTML pages in all.
COUNTS = {
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

# Boilerplate-only pages: the outcome of datatrove's reference steps for each kind of page
# (what trafilatura extracts from it, and which filter drops that), proved by the tests.
BOILERPLATE_EXPECTED = {
    # form labels, links and the cookie notice come out: far fewer than 50 words
    "login": ("quality", "gopher_quality"),
    # "Page not found" and a line or two of apology
    "soft_404": ("quality", "gopher_quality"),
    # a heading and four or five headline links
    "tag_listing": ("quality", "gopher_quality"),
    # no text outside <aside>, <footer> and <script>: trafilatura returns nothing
    "app_shell": ("extraction", None),
}
