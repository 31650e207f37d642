"""Extraction: HTML documents -> main text, and the cheap screens that run before it.

- ``trafilatura``: FineWeb's extractor and settings (``TrafilaturaExtractor``);
- ``resiliparse``: a fast extractor, DCLM's main-content plain text (``ResiliparseExtractor``);
- ``screens``: drop pages whose fate is settled before extraction (``ExtractionScreen``);
- ``budget``: the per-document CPU-time budget and wall-clock hang guard every extractor runs under;
- ``base``: what the extractor steps share (``ExtractorStep``).
"""
