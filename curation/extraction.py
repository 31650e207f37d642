"""Main-text extraction with trafilatura, using FineWeb's settings.

FineWeb calls ``trafilatura.extract(html, favor_precision=True, include_comments=False,
deduplicate=True)`` with a per-document timeout. We default to ``deduplicate: false``: trafilatura's
deduplication is an LRU cache in each process, so its decisions depend on which worker saw which
page first, and two runs with different worker counts would keep different documents. Global
de-duplication is the job of the dedup stage.

The timeout uses SIGALRM, which costs nothing per document (datatrove ships every page through a
pipe to a sandbox process instead). Where no alarm can be set (a thread other than the main one),
documents are extracted without a time limit and counted under ``no_timeout``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from curation.document import Document
from curation.stats import StepStats
from curation.step import DocumentStep, StepParams

log = logging.getLogger(__name__)


class ExtractionTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[bool]:
    """Raise ExtractionTimeout after ``seconds``; yields False where no alarm can be set."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield False
        return

    def on_alarm(signum, frame):
        raise ExtractionTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class TrafilaturaParams(StepParams):
    favour_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    deduplicate: bool = False
    timeout: float = 1.0  # seconds per document (datatrove's default); 0 disables


class TrafilaturaExtractor(DocumentStep):
    """HTML in ``doc.text`` -> main text. Drops: ``empty`` (nothing extracted), ``timeout``, ``error``."""

    name = "trafilatura"
    Params = TrafilaturaParams

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        from trafilatura import extract

        p: TrafilaturaParams = self.params
        warned = False
        for doc in docs:
            try:
                with time_limit(p.timeout) as limited:
                    text = extract(
                        doc.text,
                        favor_precision=p.favour_precision,
                        include_comments=p.include_comments,
                        include_tables=p.include_tables,
                        deduplicate=p.deduplicate,
                    )
                if not limited and p.timeout > 0:
                    stats.count("no_timeout")
            except ExtractionTimeout:
                stats.drop(doc, "timeout")
                continue
            except Exception as e:  # trafilatura/lxml fail on some hostile pages: count, never crash
                if not warned:
                    log.warning("extraction failed for %s (%s: %s); further failures are only counted", doc.id, type(e).__name__, e)
                    warned = True
                stats.drop(doc, "error")
                continue
            if not text:
                stats.drop(doc, "empty")
                continue
            doc.text = text
            yield doc
