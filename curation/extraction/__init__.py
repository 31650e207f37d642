"""Extraction: HTML documents -> main text, and the cheap screens that run before it.

- ``trafilatura``: FineWeb's extractor and settings (``TrafilaturaExtractor``);
- ``resiliparse``: a fast extractor, DCLM's main-content plain text (``ResiliparseExtractor``);
- ``screens``: drop pages whose fate is settled before extraction (``ExtractionScreen``);
- ``budget``: the per-document CPU-time budget and wall-clock hang guard every extractor runs under;
- ``base``: what the extractor steps share (``ExtractorStep``).
"""

from curation.extraction.base import ExtractorParams, ExtractorStep
from curation.extraction.budget import (
    CpuTimeout,
    ExtractionTimeout,
    WallTimeout,
    budget,
)
from curation.extraction.resiliparse import ResiliparseExtractor, ResiliparseParams
from curation.extraction.screens import ExtractionScreen, ScreenParams
from curation.extraction.trafilatura import TrafilaturaExtractor, TrafilaturaParams

__all__ = [
    "CpuTimeout",
    "ExtractionScreen",
    "ExtractionTimeout",
    "ExtractorParams",
    "ExtractorStep",
    "ResiliparseExtractor",
    "ResiliparseParams",
    "ScreenParams",
    "TrafilaturaExtractor",
    "TrafilaturaParams",
    "WallTimeout",
    "budget",
]
