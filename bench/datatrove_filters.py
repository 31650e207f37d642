"""datatrove 0.10.1's filters, set up to run offline: the reference our filters must agree with.

Used by the tests (tests/test_filters*.py) and the benchmark (bench/bench_filters.py); the
pipeline never imports it.

- ``LanguageFilter`` downloads ``lid.176.bin`` on first use: its model is given the local
  ``lid.176.ftz`` instead (``FastTextLID.model`` returns ``_model`` once set).
- ``URLFilter`` is offline already for its lists (the blocklist archive ships with datatrove; it
  is extracted once to the Hugging Face assets cache), but its ``TLDExtract()`` would try to
  download the public suffix list: it gets the same offline extractor as ours.
- ``C4QualityFilter`` gets FineWeb's ``filter_no_terminal_punct=False`` (our default).
"""

from __future__ import annotations

import functools
from typing import Any


def reference_filter(name: str, **kwargs: Any):
    """A datatrove filter configured like our step ``name`` with default parameters."""
    if name == "language":
        from datatrove.pipeline.filters import LanguageFilter
        from fasttext.FastText import _FastText

        from curation.assets import lid176_path

        f = LanguageFilter(**{"languages": ["en"], **kwargs})
        f.model._model = _FastText(str(lid176_path()))
        return f
    if name == "url_filter":
        from datatrove.pipeline.filters import URLFilter

        from filters.url import tld_extractor

        f = URLFilter(**kwargs)
        f.tldextractor = tld_extractor()
        return f
    if name == "gopher_repetition":
        from datatrove.pipeline.filters import GopherRepetitionFilter

        return GopherRepetitionFilter(**kwargs)
    if name == "gopher_quality":
        from datatrove.pipeline.filters import GopherQualityFilter

        return GopherQualityFilter(**kwargs)
    if name == "c4_quality":
        from datatrove.pipeline.filters import C4QualityFilter

        return C4QualityFilter(**{"filter_no_terminal_punct": False, **kwargs})
    if name == "fineweb_quality":
        from datatrove.pipeline.filters import FineWebQualityFilter

        return FineWebQualityFilter(**kwargs)
    if name == "pii_formatter":
        from datatrove.pipeline.formatters import PIIFormatter

        return PIIFormatter(**kwargs)
    raise KeyError(name)


def verdict(result: Any) -> tuple[bool, str | None]:
    """A filter's answer as (keep, reason): datatrove's ``get_filter_result``."""
    if isinstance(result, tuple):
        return bool(result[0]), result[1]
    return bool(result), None


def reference_document(text: str, doc_id: str = "doc", url: str = ""):
    from datatrove.data import Document

    return Document(text=text, id=doc_id, metadata={"url": url} if url else {})


def run_reference(f, text: str, url: str = "") -> tuple[tuple[bool, str | None], str, dict]:
    """(verdict, text after the filter, metadata) of datatrove filter ``f`` on one text."""
    doc = reference_document(text, url=url)
    result = verdict(f.filter(doc))
    return result, doc.text, doc.metadata


@functools.cache
def reference_tokenizer():
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    return load_word_tokenizer("eng")


STAGE = ("language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def our_filters() -> dict:
    """Our filter class for each step of STAGE, from the step registry."""
    from curation.registry import step_class

    return {name: step_class(name) for name in STAGE}


def _outcomes_key(samples) -> str:
    import hashlib
    import importlib.metadata as md

    from curation.assets import lid176_path

    h = hashlib.sha256()
    for pkg in ("datatrove", "spacy", "fasttext-numpy2-wheel", "tldextract"):
        try:
            h.update(f"{pkg}={md.version(pkg)};".encode())
        except md.PackageNotFoundError:
            h.update(f"{pkg}=?;".encode())
    model = lid176_path()
    h.update(f"{model}|{model.stat().st_size}|{model.stat().st_mtime_ns};".encode())
    for sample in samples:
        h.update(f"{sample.id}\0{sample.url}\0{sample.text}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:20]


def _outcomes_of(samples) -> dict[str, dict[str, Any]]:
    from datatrove.utils.text import split_into_words

    refs = {name: reference_filter(name) for name in STAGE}
    out: dict[str, dict[str, Any]] = {}
    for sample in samples:
        row: dict[str, Any] = {"words": split_into_words(sample.text, "eng")}
        for name in ("gopher_repetition", "gopher_quality", "fineweb_quality", "language", "c4_quality"):
            row[name] = run_reference(refs[name], sample.text, sample.url)
        (c4_keep, _), c4_text, _ = row["c4_quality"]
        if c4_keep:  # in the pipeline, fineweb_quality sees the text that c4_quality left
            row["fineweb_quality_after_c4"] = run_reference(refs["fineweb_quality"], c4_text, sample.url)
        out[sample.id] = row
    return out


def _in_parallel(function, items: list, workers: int | None = None) -> dict:
    """``function(items)`` (a dict) computed on parts of ``items`` in fresh processes (one per CPU,
    at most 4), merged; serially when processes cannot be started."""
    import concurrent.futures
    import multiprocessing
    import os

    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or len(items) < 2 * workers:
        return function(items)
    parts = [items[i::workers] for i in range(workers)]
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(function, parts))
    except (OSError, concurrent.futures.process.BrokenProcessPool):
        return function(items)
    merged: dict = {}
    for result in results:
        merged.update(result)
    return merged


@functools.cache
def corpus_outcomes() -> dict[str, dict[str, Any]]:
    """datatrove's answers on every corpus text (``bench.real_texts.all_texts()``), computed once.

    For each text id: ``words`` (datatrove's split_into_words), and for each filter of
    ``STAGE`` applied alone to the original text: (verdict, text after, metadata), plus
    ``fineweb_quality_after_c4``: fineweb_quality on c4_quality's text, when c4 kept it. The
    filters that split words run right after ``words`` on the same text, so datatrove's own
    ``lru_cache`` on the split serves them all. The answers take ~20 s, so they are kept in the
    temporary directory, keyed by the texts and the versions of datatrove, spaCy, fastText,
    tldextract and the model file.
    """
    import os
    import pickle
    import tempfile
    from pathlib import Path

    from bench.real_texts import all_texts

    samples = all_texts()
    if not samples:
        return {}
    cache = Path(tempfile.gettempdir()) / f"curation-filter-reference-{_outcomes_key(samples)}.pickle"
    try:
        with open(cache, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    out = _in_parallel(_outcomes_of, samples)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return out
