"""Micro-benchmark: FineWeb-2's filter stage per document, ours (per_language: fineweb2) against datatrove's.

    .venv/bin/python bench/bench_multilingual.py [--passes 2] [--limit N]

Texts: the non-English real texts (``bench.fineweb2_reference.multilingual_samples``: UDHR translations,
whatlang passages, and the shared WARC/readability pages lid.176 does not call English), each checked in
each FineWeb-2 language it is labelled with (``cases``): ~1,000 documents in ~430 languages.

``filters`` rows: FineWeb-2's filters, Gopher repetition, FineWeb quality, Gopher quality, each document
through the chain until a filter drops it. ``stage`` rows (``--stage``): language ID first (lid.176 for
both: datatrove's ``LanguageFilter`` then FineWeb-2's per-language ``language_score`` rule; ours
``language``), the same fastText call on both sides, which is most of the time when lid.176 drops the
many UDHR languages it does not know. datatrove's filters are built per
language exactly as fineweb-2-pipeline.py builds them (``bench.fineweb2_reference``); ours are one instance
of each step. Every document goes through both, one right after the other (alternating which goes first),
so a busy machine slows both alike; the decisions are compared on the way (``mismatches`` should be 0).
``stage`` passes run after the ``filters`` passes, again cold then warm. ``cpu speed-up`` compares process CPU
time (both sides run in this one process), less sensitive to a loaded machine than wall time.
The quality filters use the document's own code (as FineWeb-2, which filters each language's documents
with that language's filters), whatever lid.176 said, so that every language is timed.

Every tokenizer is loaded before timing (both sides). Pass 1 starts with our word caches empty (``cold``);
later passes see the same texts again (``warm``: the chunk caches hold every chunk; an upper bound). A cold pass
still hits the caches where a text is checked in several languages sharing a tokenizer (many languages share
spaCy's ``xx``) or where a chunk recurs across documents, as in a real stage.
Rows are split by tokenizer family: ``spacy`` (rule-based spaCy pipelines, cached chunk by chunk) and
``library`` (jieba, SudachiPy, kiwipiepy, pythainlp, pyvi, indic-nlp-library, ...: datatrove's own class).

No number here is asserted anywhere; tests/test_fineweb2.py checks the decisions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.simplefilter("ignore")

from bench import fineweb2_reference as R  # noqa: E402
from bench.datatrove_filters import reference_document, verdict  # noqa: E402
from curation.document import Document  # noqa: E402
from filters.fineweb2 import word_tokenizers as wt  # noqa: E402


def _family(code: str) -> str:
    return "spacy" if wt.assignment(code).used.startswith("spacy:") else "library"


def run_datatrove(case: R.Case, with_lid: bool) -> tuple:
    from datatrove.utils.text import split_into_parts

    split_into_parts.cache_clear()  # a new document: no word list cached yet (datatrove's lru_cache(5))
    if with_lid and R.reference_language(case.text)[2] is not True:
        return ("language", None)
    filters = R.reference_filters(case.code)
    doc = reference_document(case.text)
    for name in R.FILTERS:
        keep, reason = verdict(filters[name].filter(doc))
        if not keep:
            return (name, reason)
    return ("kept", None)


def run_ours(case: R.Case, language, filters, lid_time: list[float] | None = None) -> tuple:
    doc = Document(id=case.sample_id, text=case.text)
    if language is not None:
        start = time.perf_counter()
        keep = language.filter(doc)
        if lid_time is not None:
            lid_time[0] += time.perf_counter() - start
        if keep is not True:
            return ("language", None)
    doc.metadata["language"] = case.code
    for name in R.FILTERS:
        keep, reason = verdict(filters[name].filter(doc))
        if not keep:
            return (name, reason)
    return ("kept", None)


def clear_our_caches(codes) -> None:
    """Empty every cache of our word splitters (chunks, blocks, recent texts): the next pass is cold."""
    for cache in list(wt._spacy_words._CACHES.values()):
        cache.clear_cache()
    for code in codes:
        split = wt.splitter(code)
        for name in ("_recent", "_blocks"):
            if hasattr(split, name):
                getattr(split, name).clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="at most this many documents (0: all)")
    parser.add_argument("--stage", action="store_true", help="also time the stage with language ID first (same fastText call on both sides)")
    args = parser.parse_args(argv)
    if not R.shared_data_present():
        print("no shared data (set CURATION_SHARED_DATA)")
        return 1
    from filters.language import LanguageFilter, LanguageParams

    cases = R.cases(R.multilingual_samples())
    if args.limit:
        cases = cases[: args.limit]
    language = LanguageFilter(LanguageParams(per_language="fineweb2"))
    ours = R.our_filters()
    # load every tokenizer and filter on both sides before timing
    for code in sorted({c.code for c in cases}):
        R.reference_outcome("warm up", code)
        R.our_outcome("warm up", code)
    language.filter(Document(id="w", text="warm up"))
    R.reference_language("warm up")
    codes = sorted({c.code for c in cases})
    load = os.getloadavg()
    print(f"{len(cases)} documents, {len(codes)} languages; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'mode':<9}{'pass':<6}{'family':<9}{'docs':>6}{'datatrove doc/s':>17}{'ours doc/s':>12}{'speed-up':>10}{'cpu speed-up':>14}{'mismatches':>12}")
    runs = [("filters", p) for p in range(args.passes)] + ([("stage", p) for p in range(args.passes)] if args.stage else [])
    for mode, p in runs:
        with_lid = mode == "stage"
        if p == 0:
            clear_our_caches(codes)
        t_ref: dict[str, float] = defaultdict(float)
        t_ours: dict[str, float] = defaultdict(float)
        c_ref: dict[str, float] = defaultdict(float)
        c_ours: dict[str, float] = defaultdict(float)
        n: dict[str, int] = defaultdict(int)
        mismatches: dict[str, int] = defaultdict(int)
        lid_time = [0.0]
        for i, case in enumerate(cases):
            fam = _family(case.code)
            results = {}
            for impl in ("datatrove", "ours") if i % 2 == 0 else ("ours", "datatrove"):
                start, cpu = time.perf_counter(), time.process_time()
                if impl == "datatrove":
                    results[impl] = run_datatrove(case, with_lid)
                    t_ref[fam] += time.perf_counter() - start
                    c_ref[fam] += time.process_time() - cpu
                else:
                    results[impl] = run_ours(case, language if with_lid else None, ours, lid_time)
                    t_ours[fam] += time.perf_counter() - start
                    c_ours[fam] += time.process_time() - cpu
            n[fam] += 1
            mismatches[fam] += results["datatrove"] != results["ours"]
        label = "cold" if p == 0 else "warm"
        for fam in sorted(n) + ["all"]:
            pick = (lambda d: sum(d.values())) if fam == "all" else (lambda d, fam=fam: d[fam])
            docs, tr, to, cr, co, mm = pick(n), pick(t_ref), pick(t_ours), pick(c_ref), pick(c_ours), pick(mismatches)
            print(f"{mode:<9}{label:<6}{fam:<9}{docs:>6}{docs / tr:>17,.0f}{docs / to:>12,.0f}{tr / to:>9.1f}x{cr / co:>13.1f}x{mm:>12}")
        if with_lid:
            total_ref, total_ours = sum(t_ref.values()), sum(t_ours.values())
            print(f"{'':<9}{label:<6}language ID (fastText, ours): {lid_time[0] / total_ours:.0%} of our stage time; "
                  f"with filters taking no time at all the stage speed-up would be {total_ref / lid_time[0]:.1f}x")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
