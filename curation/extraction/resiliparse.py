"""A fast extractor: resiliparse's main-content plain text, as DCLM extracts Common Crawl.

DCLM (DataComp-LM, ``tools/commoncrawl/process_common_crawl_w_ray.py``) calls
``resiliparse.extract.html2text.extract_plain_text(html, main_content=True)`` with every other
option at its default; so does this step unless told otherwise. resiliparse parses with lexbor (C)
and its main-content rules are simple, so it costs a few percent of trafilatura's CPU time per page,
with somewhat more boilerplate left in (``curation eval`` reports its word-level F1 next to
trafilatura's on the real test pages). ``pipelines/fineweb-fast.yaml`` uses it with FineWeb's filters.
"""

from __future__ import annotations

from curation.extraction.base import ExtractorParams, ExtractorStep


class ResiliparseParams(ExtractorParams):
    main_content: bool = True  # DCLM's setting; false: all visible text
    # resiliparse's own defaults from here on (DCLM leaves them as they are)
    list_bullets: bool = True
    alt_texts: bool = True
    links: bool = False
    form_fields: bool = False
    noscript: bool = False
    comments: bool = True


def resiliparse_options(p: ResiliparseParams) -> dict[str, bool]:
    """The keyword arguments of ``extract_plain_text`` these settings stand for (all but the budget's)."""
    return p.model_dump(exclude=set(ExtractorParams.model_fields))


class ResiliparseExtractor(ExtractorStep):
    """HTML in ``doc.text`` -> main text (resiliparse). Drops: ``empty``, ``cpu_timeout``, ``wall_timeout``, ``error``."""

    name = "resiliparse"
    Params = ResiliparseParams

    def __init__(self, params=None, label=None):
        super().__init__(params, label)
        self._options = resiliparse_options(self.params)

    def extract(self, html: str) -> str | None:
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, **self._options)
