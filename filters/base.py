"""The base of every document filter: a filter answers one question, the base does the counting."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator

from curation.document import Document
from curation.stats import StepStats
from curation.step import DocumentStep


class BaseFilter(DocumentStep):
    """Keep or drop each document.

    Subclasses implement ``filter(doc)``, returning ``True`` to keep, or ``False`` / ``(False,
    reason)`` to drop. They may write scores into ``doc.metadata`` and call ``stats.observe``
    for the histograms of the ``scores`` they declare (``self.stats`` is the current shard's ``StepStats``). The base counts every
    drop under its reason and keeps a bounded sample of dropped documents per reason.
    """

    stats: StepStats

    @abstractmethod
    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        """Keep (True) or drop (False, or (False, reason)) one document."""

    def score(self, doc: Document, metric: str, value: float) -> None:
        """Keep a computed quantity with the document and in the step's histogram of it."""
        doc.metadata[metric] = value
        stats = getattr(self, "stats", None)  # unset when a filter is called outside a stage
        if stats is not None:
            stats.observe(metric, value)

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        self.stats = stats
        for doc in docs:
            verdict = self.filter(doc)
            if verdict is True:
                yield doc
                continue
            if isinstance(verdict, tuple):
                keep, reason = verdict
                if keep:
                    yield doc
                    continue
            else:
                reason = self.name
            stats.drop(doc, reason)
