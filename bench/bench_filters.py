"""Micro-benchmark: our FineWeb filters against datatrove 0.10.1's, on the real pages.

    .venv/bin/python bench/bench_filters.py [--limit N] [--skip-url]

Texts: ``bench.real_texts.all_texts()`` (main text of every HTML page of the shared WARCs and the
readability test pages, plus the langid passages). Every document goes through both
implementations, one right after the other (alternating which goes first), so a busy machine
slows both alike; the decisions are compared on the way (``mismatches`` should be 0).

- the stage (language -> gopher_repetition -> gopher_quality -> c4_quality -> fineweb_quality,
  each document through the chain until a filter drops it, as in a pipeline), three ways: our word
  cache empty (``cold``: every distinct chunk of the corpus is new); primed by the other half of the
  texts and timed on this half (a worker some way into a run over new pages); warm (every chunk of
  the corpus seen: an upper bound);
- each filter alone on every document (datatrove's split cache cleared before each of its
  calls, so each filter pays for its own words, as when run alone; our word cache warm);
- url_filter on ~2,000 URLs (after loading the lists, whose load times are shown apart);
- pii_formatter.

No number here is asserted anywhere; the tests check the decisions.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.simplefilter("ignore")

from bench import real_texts as corpus  # noqa: E402
from bench.datatrove_filters import STAGE, our_filters, reference_document, reference_filter, verdict  # noqa: E402
from curation.document import Document  # noqa: E402
from filters import pii, url, words  # noqa: E402

OURS = our_filters()


def same(name: str, mine, theirs) -> bool:
    mine, theirs = verdict(mine), verdict(theirs)
    return mine[0] == theirs[0] if name == "language" else mine == theirs


class Row:
    def __init__(self, name: str, n: int, t_ref: float, t_ours: float, mismatches: int, note: str = ""):
        self.name, self.n, self.t_ref, self.t_ours, self.mismatches, self.note = name, n, t_ref, t_ours, mismatches, note

    def cells(self) -> list[str]:
        return [
            self.name,
            str(self.n),
            f"{self.n / self.t_ref:,.0f}",
            f"{self.n / self.t_ours:,.0f}",
            f"{self.t_ref / self.t_ours:.1f}x",
            str(self.mismatches),
            self.note,
        ]


def bench_stage(samples, refs, ours, label: str) -> Row:
    t_ref = t_ours = 0.0
    mismatches = 0
    for i, s in enumerate(samples):
        runs = []
        for impl in ("datatrove", "ours") if i % 2 == 0 else ("ours", "datatrove"):
            if impl == "datatrove":
                doc, steps = reference_document(s.text, s.id, s.url), [refs[n] for n in STAGE]
            else:
                doc, steps = Document(id=s.id, text=s.text, url=s.url), [ours[n] for n in STAGE]
            start = time.perf_counter()
            outcome = None
            for name, step in zip(STAGE, steps):
                keep, reason = verdict(step.filter(doc))
                if not keep:
                    outcome = (name, reason if name != "language" else None)
                    break
            elapsed = time.perf_counter() - start
            runs.append((impl, outcome, doc.text, elapsed))
        for impl, _, _, elapsed in runs:
            if impl == "datatrove":
                t_ref += elapsed
            else:
                t_ours += elapsed
        (_, o1, x1, _), (_, o2, x2, _) = runs
        mismatches += (o1, x1) != (o2, x2)
    return Row(f"stage ({label})", len(samples), t_ref, t_ours, mismatches)


def bench_filter(name: str, samples, ref, ours) -> Row:
    from datatrove.utils import text as dt_text

    t_ref = t_ours = 0.0
    mismatches = 0
    for i, s in enumerate(samples):
        results = {}
        for impl in ("datatrove", "ours") if i % 2 == 0 else ("ours", "datatrove"):
            if impl == "datatrove":
                dt_text.split_into_parts.cache_clear()
                doc = reference_document(s.text, s.id, s.url)
                start = time.perf_counter()
                results[impl] = (ref.filter(doc), doc.text)
                t_ref += time.perf_counter() - start
            else:
                doc = Document(id=s.id, text=s.text, url=s.url)
                start = time.perf_counter()
                results[impl] = (ours.filter(doc), doc.text)
                t_ours += time.perf_counter() - start
        (r1, x1), (r2, x2) = results["datatrove"], results["ours"]
        mismatches += not same(name, r2, r1) or x1 != x2
    return Row(name, len(samples), t_ref, t_ours, mismatches)


def url_list(samples) -> list[str]:
    rng = random.Random(0)
    urls = [s.url for s in samples if s.url]
    bl = url.load_blocklist()
    data = bl.domains.data if isinstance(bl.domains, url.SortedLines) else "\n".join(sorted(bl.domains)).encode()
    for _ in range(600):
        at = rng.randrange(len(data))
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", start)
        d = data[start : end if end >= 0 else len(data)].decode()
        urls.append(rng.choice([f"http://{d}/", f"https://www.{d}/page", f"http://{d}.example.org/x"]))
    banned, subwords, soft = url.load_word_lists()
    vocabulary = sorted(banned)[:30] + sorted(soft)[:30] + sorted(subwords)[:30] + ["news", "blog", "page"] * 30
    for _ in range(600):
        urls.append("https://example.com/" + "-".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 4))))
    return urls


def bench_url(samples) -> tuple[Row, str]:
    start = time.perf_counter()
    url.load_blocklist()
    url.load_word_lists()
    url.tld_extractor()("http://example.com")
    ours_load = time.perf_counter() - start
    ref = reference_filter("url_filter")
    start = time.perf_counter()
    ref.download_data()  # per task in datatrove (the archive is extracted once, to a cache folder)
    ref_load = time.perf_counter() - start
    ours = url.URLFilter()
    urls = url_list(samples)
    ref.filter(reference_document("t", url=urls[0]))  # first calls build lazy state: not timed
    ours.filter(Document(id="d", text="t", url=urls[0]))
    t_ref = t_ours = 0.0
    mismatches = 0
    for u in urls:
        d1, d2 = reference_document("t", url=u), Document(id="d", text="t", url=u)
        start = time.perf_counter()
        r1 = ref.filter(d1)
        t_ref += time.perf_counter() - start
        start = time.perf_counter()
        r2 = ours.filter(d2)
        t_ours += time.perf_counter() - start
        mismatches += verdict(r1) != verdict(r2)
    note = f"lists load: datatrove {ref_load:.2f} s per task, ours {ours_load:.2f} s per process"
    return Row("url_filter", len(urls), t_ref, t_ours, mismatches), note


def bench_pii(samples) -> Row:
    ref = reference_filter("pii_formatter")
    ours = pii.PIIFormatter()
    t_ref = t_ours = 0.0
    mismatches = 0
    for s in samples:
        start = time.perf_counter()
        a = ref.format(s.text)
        t_ref += time.perf_counter() - start
        start = time.perf_counter()
        b, _, _ = ours.apply(s.text)
        t_ours += time.perf_counter() - start
        mismatches += a != b
    return Row("pii_formatter", len(samples), t_ref, t_ours, mismatches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts")
    parser.add_argument("--skip-url", action="store_true", help="leave out url_filter (its lists take seconds to load)")
    args = parser.parse_args(argv)

    samples = corpus.all_texts()
    if not samples:
        print(f"no shared data at {corpus.shared_data_dir()} (set CURATION_SHARED_DATA)", file=sys.stderr)
        return 1
    if args.limit:
        samples = samples[: args.limit]
    print(f"{len(samples)} texts, {sum(len(s.text) for s in samples) / 1e6:.1f} M characters", flush=True)

    refs = {name: reference_filter(name) for name in STAGE}
    ours = {name: OURS[name]() for name in STAGE}
    # load the models and tokenizers of both before timing
    warm = "This is a sentence to load the models. And another one."
    for name in STAGE:
        refs[name].filter(reference_document(warm))
        ours[name].filter(Document(id="w", text=warm))
    words.clear_cache()

    # A worker that has run for a while: our word cache filled by other documents (every other text,
    # not timed), then the stage timed on the rest. Between cold (every chunk new) and warm (every
    # chunk seen), this is the one that speaks for a long run over new pages.
    for s in samples[0::2]:
        doc = Document(id=s.id, text=s.text, url=s.url)
        for name in STAGE:
            if not verdict(ours[name].filter(doc))[0]:
                break
    primed = bench_stage(samples[1::2], refs, ours, "cache primed on other pages")
    # The web pages alone (FineWeb's input; the langid passages are mostly not English, so the
    # language step, the same fastText on both sides, is nearly all their cost)
    pages = [s for s in samples if s.source not in ("udhr", "whatlang")]
    words.clear_cache()
    pages_cold = bench_stage(pages, refs, ours, "web pages only, cold")
    pages_warm = bench_stage(pages, refs, ours, "web pages only, warm")
    words.clear_cache()
    rows = [bench_stage(samples, refs, ours, "cold word cache"), primed]
    print(f"our word cache after the cold pass: {words.counters}", flush=True)
    rows.append(bench_stage(samples, refs, ours, "warm word cache"))
    rows += [pages_cold, pages_warm]
    for name in STAGE:
        rows.append(bench_filter(name, samples, refs[name], ours[name]))
    if not args.skip_url:
        row, note = bench_url(samples)
        rows.append(row)
    else:
        note = ""
    rows.append(bench_pii(samples))

    header = ["filter", "docs", "datatrove docs/s", "ours docs/s", "speedup", "mismatches", ""]
    table = [header] + [r.cells() for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        print("  ".join(cell.rjust(w) if 0 < i < 6 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    if note:
        print(note)
    return 1 if any(r.mismatches for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
