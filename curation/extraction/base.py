"""What every extractor step shares: the per-document budget, and counting what does not come out.

An extractor subclasses ``ExtractorStep`` and implements ``extract(html) -> text``; the base runs it
under ``budget`` and drops, each under its own reason: ``empty`` (no text), ``cpu_timeout`` (the CPU
budget), ``wall_timeout`` (the hang guard: no CPU progress), ``error`` (the extractor raised: hostile HTML). Where no
timer can be set (a thread other than the main one) documents are extracted without a limit and
counted under ``no_timeout``.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Iterable, Iterator

from curation.document import Document
from curation.extraction.budget import ExtractionTimeout, budget
from curation.stats import StepStats
from curation.step import DocumentStep, StepParams

log = logging.getLogger(__name__)

# The CPU budget per document, in CPU seconds of the extracting thread. The slowest real page we
# have (a 1.2 MB archive.org forum page) takes 1.8 s of trafilatura on an idle machine (2.1 s at a
# load average of 11: cache and core sharing slow a CPU second down too), and the steepest rate over
# the real pages is 1.5 s per MB (1.7 loaded): at the reader's 5 MB cap (max_html_bytes) an ordinary
# page needs up to ~8.5 s. 20 s leaves twice that, so only pages that are slow for their size
# (pathological markup) reach it. Measured with bench/bench_extraction.py; see BENCHMARKS.md.
DEFAULT_CPU_TIMEOUT_S = 20.0
# The hang guard: a document that uses (almost) no CPU for this long is waiting on something, not working.
DEFAULT_WALL_TIMEOUT_S = 120.0


class ExtractorParams(StepParams):
    cpu_timeout: float = DEFAULT_CPU_TIMEOUT_S  # CPU seconds per document; 0 disables
    wall_timeout: float = DEFAULT_WALL_TIMEOUT_S  # wall-clock seconds without CPU progress (hang guard); 0 disables


class ExtractorStep(DocumentStep):
    """HTML in ``doc.text`` -> main text, one document at a time, within the budget."""

    Params = ExtractorParams

    @abstractmethod
    def extract(self, html: str) -> str | None:
        """The main text of one page (None or empty: nothing to keep)."""

    def warm_up(self) -> None:
        self.extract("<html><body><p>Warm-up.</p></body></html>")  # imports the extractor and its parser

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        p: ExtractorParams = self.params
        wants_limit = p.cpu_timeout > 0 or p.wall_timeout > 0
        warned = False
        for doc in docs:
            try:
                with budget(p.cpu_timeout, p.wall_timeout) as limited:
                    text = self.extract(doc.text)
            except ExtractionTimeout as e:
                stats.drop(doc, e.reason)
                continue
            except Exception as e:  # noqa: BLE001 - extractors fail on some hostile pages: count, never crash
                if not warned:
                    log.warning("%s failed for %s (%s: %s); further failures are only counted", self.name, doc.id, type(e).__name__, e)
                    warned = True
                stats.drop(doc, "error")
                continue
            if wants_limit and not limited:
                stats.count("no_timeout")
            if not text:
                stats.drop(doc, "empty")
                continue
            doc.text = text
            yield doc
