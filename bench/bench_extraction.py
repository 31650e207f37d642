"""CPU time of each extractor per real page: where the CPU budget's default comes from.

    python -m bench.bench_extraction [--top 10] [--json OUT.json]

Every real HTML page available (``bench/real_pages.py``: the shared WARC documents as the reader makes
them, and the readability test pages) is extracted by the ``trafilatura`` step's call (FineWeb's
settings) and by the ``resiliparse`` step's call (DCLM's), in this thread, timed in CPU seconds of the
thread (``time.thread_time``: the clock the budget counts). Printed: documents per CPU-second of each,
the distribution of trafilatura's CPU time per page, the slowest pages, and the steepest rate in CPU
seconds per MB of HTML among pages of 20 KB or more (the rate that, times the reader's
``max_html_bytes``, bounds what an ordinary page may need).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def measure(pages) -> list[dict]:
    from curation.extraction.resiliparse import ResiliparseExtractor
    from curation.extraction.trafilatura import TrafilaturaExtractor

    extractors = {"trafilatura": TrafilaturaExtractor(), "resiliparse": ResiliparseExtractor()}
    for ex in extractors.values():  # imports and first-call set-up are not extraction time
        ex.extract(pages[0].text)
    rows = []
    for page in pages:
        row = {"id": page.id, "url": page.url, "bytes": len(page.text.encode("utf-8", "surrogatepass"))}
        for name, ex in extractors.items():
            t0 = time.thread_time()
            try:
                text = ex.extract(page.text)
            except Exception:  # noqa: BLE001 - the step counts it as an error; the time still counts
                text = None
            row[name] = time.thread_time() - t0
            row[f"{name}_chars"] = len(text or "")
        rows.append(row)
    return rows


def summary(rows: list[dict], top: int = 10) -> dict:
    n = len(rows)
    out: dict = {"pages": n}
    for name in ("trafilatura", "resiliparse"):
        total = sum(r[name] for r in rows)
        out[name] = {"cpu_seconds": total, "docs_per_cpu_second": n / total if total else None}
    times = sorted(r["trafilatura"] for r in rows)
    out["trafilatura_percentiles"] = {p: times[min(n - 1, int(p / 100 * n))] for p in (50, 90, 99)} | {100: times[-1]}
    out["slowest"] = sorted(rows, key=lambda r: -r["trafilatura"])[:top]
    rates = [(r["trafilatura"] / (r["bytes"] / 1e6), r) for r in rows if r["bytes"] >= 20_000]
    rate, page = max(rates, key=lambda x: x[0])
    out["steepest_s_per_mb"] = {"rate": rate, "id": page["id"], "url": page["url"], "bytes": page["bytes"]}
    return out


def report(s: dict, max_html_bytes: int) -> None:
    t, r = s["trafilatura"], s["resiliparse"]
    print(f"pages: {s['pages']} (shared WARC documents + readability test pages), CPU seconds of this thread")
    print(f"trafilatura (FineWeb's settings): {t['cpu_seconds']:.2f} s, {t['docs_per_cpu_second']:.1f} docs per CPU-second")
    print(f"resiliparse (DCLM's call):        {r['cpu_seconds']:.2f} s, {r['docs_per_cpu_second']:.1f} docs per CPU-second"
          f" ({r['docs_per_cpu_second'] / t['docs_per_cpu_second']:.1f}x)")
    pct = s["trafilatura_percentiles"]
    print("trafilatura per page: " + ", ".join(f"p{p} {v * 1000:.0f} ms" for p, v in pct.items()))
    print("slowest pages (trafilatura CPU s, resiliparse CPU s, HTML bytes):")
    for row in s["slowest"]:
        print(f"  {row['trafilatura']:6.2f} {row['resiliparse']:6.3f} {row['bytes']:>10,}  {row['id']} {row['url'][:70]}")
    st = s["steepest_s_per_mb"]
    print(f"steepest rate (pages of 20 KB or more): {st['rate']:.2f} CPU s per MB ({st['id']}, {st['bytes']:,} bytes); "
          f"at the reader's max_html_bytes ({max_html_bytes:,}): {st['rate'] * max_html_bytes / 1e6:.1f} s")


def main(argv: list[str] | None = None) -> int:
    from bench.real_pages import all_pages
    from curation.config import load_pipeline

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", help="write every page's figures to this file")
    args = p.parse_args(argv)
    rows = measure(all_pages())
    s = summary(rows, args.top)
    cap = load_pipeline(str(REPO_ROOT / "pipelines" / "fineweb.yaml")).stage("extract").steps[0].params.max_html_bytes
    report(s, cap)
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "pages": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
