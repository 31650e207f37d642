"""Main-text extraction with trafilatura, using FineWeb's settings, within a CPU-time budget.

FineWeb calls ``trafilatura.extract(html, favor_precision=True, include_comments=False,
deduplicate=True)`` with a per-document timeout. Two changes, both so that two runs of the same
command on the same data keep the same documents:

- ``deduplicate: false`` by default: trafilatura's deduplication is an LRU cache in each process, so
  its decisions depend on which worker saw which page first. Global de-duplication is the job of the
  dedup stage.
- **The time limit is CPU time, not wall-clock time.** FineWeb drops a page after 1 s of wall-clock
  time (datatrove's ``timeout=1``), so what it keeps depends on how busy the machine is: next to
  two CPU-bound processes on the same two cores, 57 of 181 real pages that all come out on an idle
  machine were dropped. Here a page may use ``cpu_timeout`` seconds of the worker thread's CPU
  (default 20 s): the slowest real page we have takes 1.8 s, the steepest rate is 1.5-1.7 s per MB,
  so an ordinary page up to the reader's 5 MB cap needs at most ~8.5 s and only pathological markup
  reaches the budget. Wall-clock time only guards against hangs: a page that uses (almost) no CPU for
  ``wall_timeout`` seconds (default 120) is dropped as ``wall_timeout`` (``budget.py`` says why a
  plain wall-clock limit would not do: Ray runs its workers at niceness 15).

On an idle machine the two rules differ only on pages that take between 1 s and 20 s of CPU: FineWeb
drops them as ``timeout``, we extract them (on the real WARCs: 2 archive.org forum pages, which the
Gopher repetition filter drops afterwards).

Not a change of results, only of cost: ``compiled_rules`` (on by default) evaluates trafilatura's
attribute rules (``.//*[contains(@class, "footer") or ...]``) with ``xpath_rules``, the same elements
in the same order for about a quarter of libxml2's time: trafilatura needs about 40% less CPU, its
output byte-identical on every real page (tested).
"""

from __future__ import annotations

from curation.extraction.base import ExtractorParams, ExtractorStep


class TrafilaturaParams(ExtractorParams):
    favour_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    deduplicate: bool = False
    # trafilatura's attribute XPath rules evaluated by curation.extraction.xpath_rules: identical
    # output (tested on every real page), about 40% less CPU; false: libxml2 evaluates them
    compiled_rules: bool = True


def trafilatura_options(p: TrafilaturaParams) -> dict[str, bool]:
    """The keyword arguments of ``trafilatura.extract`` these settings stand for."""
    return {
        "favor_precision": p.favour_precision,
        "include_comments": p.include_comments,
        "include_tables": p.include_tables,
        "deduplicate": p.deduplicate,
    }


class TrafilaturaExtractor(ExtractorStep):
    """HTML in ``doc.text`` -> main text (trafilatura). Drops: ``empty``, ``cpu_timeout``, ``wall_timeout``, ``error``."""

    name = "trafilatura"
    Params = TrafilaturaParams

    def __init__(self, params=None, label=None):
        super().__init__(params, label)
        self._options = trafilatura_options(self.params)

    def extract(self, html: str) -> str | None:
        from trafilatura import extract

        from curation.extraction import xpath_rules

        if self.params.compiled_rules != xpath_rules.installed():  # once per process (the rules are trafilatura's, global)
            xpath_rules.install() if self.params.compiled_rules else xpath_rules.uninstall()
        return extract(html, **self._options)
